"""NCDKNNClassifier and CompressionClassifier: estimator API, tie rules, exactness, auditing."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from kcomp import get_compressor, ncd
from kcomp.classifiers import CompressionClassifier, LeakageWarning, NCDKNNClassifier
from kcomp.errors import InputError


@pytest.fixture(scope="module")
def small(debian_topics_small):
    return debian_topics_small


@pytest.fixture(scope="module")
def medium(debian_topics_medium):
    return debian_topics_medium


FOX = "the quick brown fox jumps over the lazy dog while the cat sleeps " * 3
LOREM = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod " * 3


# ---------------------------------------------------------------------------------------
# estimator API
# ---------------------------------------------------------------------------------------
def test_clone_and_params():
    clf = NCDKNNClassifier(k=3, compressor="zstd:19", tie_break="random", random_state=7)
    c2 = clone(clf)
    assert c2.get_params() == clf.get_params()
    c2.set_params(k="auto", weights="distance")
    assert c2.k == "auto" and c2.weights == "distance" and clf.k == 3
    cc = CompressionClassifier(method="concat", compressor="ppmd")
    assert clone(cc).get_params() == cc.get_params()


def test_unfitted_raises(small):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        NCDKNNClassifier().predict(small[2])
    with pytest.raises(NotFittedError):
        CompressionClassifier().predict(small[2])


def test_pipeline_and_cross_val(small):
    Xtr, ytr, Xte, _ = small
    lower = FunctionTransformer(lambda xs: [x.lower() for x in xs])
    pipe = Pipeline([("lower", lower), ("knn", NCDKNNClassifier(k=1))]).fit(Xtr, ytr)
    assert len(pipe.predict(Xte[:5])) == 5
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    for est in (NCDKNNClassifier(k=1), CompressionClassifier(), CompressionClassifier(method="concat")):
        scores = cross_val_score(est, Xtr, ytr, cv=cv)
        assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))


def test_grid_search_over_k_and_compressor(small):
    Xtr, ytr, _, _ = small
    grid = GridSearchCV(NCDKNNClassifier(), {"k": [1, 3], "compressor": ["gzip", "zstd"]},
                        cv=StratifiedKFold(3, shuffle=True, random_state=0))
    grid.fit(Xtr, ytr)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_["k"] in (1, 3) and grid.best_params_["compressor"] in ("gzip", "zstd")
    assert grid.best_estimator_.k_ == grid.best_params_["k"]


# ---------------------------------------------------------------------------------------
# exactness against a brute-force NCD reference
# ---------------------------------------------------------------------------------------
def _brute_predict(Xtr, ytr, Xte, k, compressor="gzip"):
    classes = sorted(set(ytr))
    preds, dists = [], []
    for q in Xte:
        d = [ncd(t, q, compressor) for t in Xtr]  # joint C(train + " " + query)
        order = sorted(range(len(Xtr)), key=lambda j: (d[j], j))[:k]
        votes = {c: 0 for c in classes}
        nearest = {c: np.inf for c in classes}
        for j in order:
            votes[ytr[j]] += 1
            nearest[ytr[j]] = min(nearest[ytr[j]], d[j])
        top = max(votes.values())
        tied = [c for c in classes if votes[c] == top]
        preds.append(min(tied, key=lambda c: (nearest[c], classes.index(c))))
        dists.append([d[j] for j in order])
    return preds, np.array(dists)


@pytest.mark.parametrize("k,compressor", [(1, "gzip"), (3, "gzip"), (4, "zstd")])
def test_matches_brute_force_ncd(small, k, compressor):
    Xtr, ytr, Xte, _ = small
    clf = NCDKNNClassifier(k=k, compressor=compressor).fit(Xtr, ytr)
    ref, ref_d = _brute_predict(Xtr, ytr, Xte, k, compressor)
    assert clf.predict(Xte).tolist() == ref
    d, _ = clf.kneighbors(Xte)
    np.testing.assert_allclose(d, ref_d, rtol=0, atol=1e-12)


def test_n_jobs_gives_identical_predictions(small):
    Xtr, ytr, Xte, _ = small
    a = NCDKNNClassifier(k=3).fit(Xtr, ytr).predict(Xte)
    b = NCDKNNClassifier(k=3, n_jobs=2).fit(Xtr, ytr).predict(Xte)
    assert a.tolist() == b.tolist()


def test_auto_k_is_leave_one_out(small):
    Xtr, ytr, _, _ = small
    clf = NCDKNNClassifier(k="auto", k_max=6).fit(Xtr, ytr)
    assert set(clf.loo_accuracy_) == set(range(1, 7))
    d, i = clf.kneighbors(None, n_neighbors=6)
    assert not np.any(i == np.arange(len(Xtr))[:, None])  # self excluded
    y = np.array(ytr)
    for k in range(1, 7):
        assert clf.loo_accuracy_[k] == pytest.approx(np.mean(clf.predict_from_neighbors(d, i, k) == y))
    best = max(clf.loo_accuracy_.values())
    assert clf.k_ == min(k for k, a in clf.loo_accuracy_.items() if a == best)


# ---------------------------------------------------------------------------------------
# ties
# ---------------------------------------------------------------------------------------
def test_tie_rules_on_a_crafted_tie():
    # two training texts, k=2: every query gets one vote for each class, a 1-1 tie.
    # classes_ = ["a", "z"]; the query resembles the "z" text, so nearest != lowest.
    Xtr, ytr = [FOX, LOREM], ["z", "a"]
    queries = ["the quick brown fox jumps over the lazy dog"] * 3
    lowest = NCDKNNClassifier(k=2, tie_break="lowest").fit(Xtr, ytr)
    nearest = NCDKNNClassifier(k=2, tie_break="nearest").fit(Xtr, ytr)
    assert list(lowest.classes_) == ["a", "z"]
    assert lowest.predict(queries).tolist() == ["a"] * 3
    assert nearest.predict(queries).tolist() == ["z"] * 3
    # the tie is never scored as a hit for both labels
    assert lowest.score(queries, ["z"] * 3) == 0.0
    assert nearest.score(queries, ["a"] * 3) == 0.0
    np.testing.assert_allclose(nearest.predict_proba(queries), 0.5)


def test_random_tie_rule_is_seeded_and_uses_both_classes():
    Xtr, ytr = [FOX, LOREM], ["z", "a"]
    queries = [f"query number {i} about nothing in particular" for i in range(40)]
    a = NCDKNNClassifier(k=2, tie_break="random", random_state=3).fit(Xtr, ytr)
    p1, p2 = a.predict(queries), a.predict(queries)
    assert p1.tolist() == p2.tolist()  # same seed, same answers
    assert set(p1.tolist()) == {"a", "z"}  # 40 fair coin flips: both sides occur
    b = NCDKNNClassifier(k=2, tie_break="random", random_state=4).fit(Xtr, ytr)
    assert b.predict(queries).tolist() != p1.tolist()


def test_nearest_rule_equal_distances_falls_back_to_lowest_class():
    # the same text under two labels: both neighbours at the same distance
    Xtr, ytr = [FOX, FOX], ["z", "a"]
    with pytest.warns(LeakageWarning, match="conflicting"):
        clf = NCDKNNClassifier(k=2).fit(Xtr, ytr)
    assert clf.predict([LOREM]).tolist() == ["a"]


def test_vote_majority_beats_nearest():
    Xtr = [FOX, FOX + " and more", LOREM]
    ytr = ["fox", "fox", "lorem"]
    clf = NCDKNNClassifier(k=3).fit(Xtr, ytr)
    q = [LOREM + "magna aliqua"]
    assert clf.predict(q).tolist() == ["fox"]  # 2 votes beat the nearest single vote
    w = NCDKNNClassifier(k=3, weights="distance").fit(Xtr, ytr)
    assert w.predict(q).tolist() == ["lorem"]  # a near neighbour outweighs two far ones


# ---------------------------------------------------------------------------------------
# auditing and errors
# ---------------------------------------------------------------------------------------
def test_leakage_warnings(small):
    Xtr, ytr, Xte, yte = small
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clean data: no warning at all
        clf = NCDKNNClassifier().fit(Xtr, ytr)
        clf.predict(Xte)
    with pytest.warns(LeakageWarning, match=r"4 of 52 texts .*exact duplicates"):
        NCDKNNClassifier().fit(Xtr + Xtr[:4], ytr + ytr[:4])
    with pytest.warns(LeakageWarning, match=r"3 of 12 texts to predict also occur verbatim"):
        clf.score(Xte[:9] + Xtr[:3], yte[:9] + ytr[:3])
    cc = CompressionClassifier().fit(Xtr, ytr)
    with pytest.warns(LeakageWarning, match="verbatim"):
        cc.predict(Xtr[:2])


def test_clear_errors(small):
    Xtr, ytr, Xte, _ = small
    with pytest.raises(InputError, match="larger than the 48 training texts"):
        NCDKNNClassifier(k=49).fit(Xtr, ytr)
    with pytest.raises(InputError, match="empty"):
        NCDKNNClassifier().fit([], [])
    with pytest.raises(InputError, match="same length"):
        NCDKNNClassifier().fit(Xtr, ytr[:-1])
    with pytest.raises(InputError, match="mixes label types"):
        NCDKNNClassifier().fit(Xtr[:4], ["a", 1, "b", 2])
    with pytest.raises(InputError, match="cannot be sorted"):
        NCDKNNClassifier().fit(Xtr[:3], [(1, 2), ("a", "b"), (1, 2)])
    with pytest.raises(InputError, match="mixes str and bytes"):
        NCDKNNClassifier().fit([Xtr[0], Xtr[1].encode()], ["a", "b"])
    with pytest.raises(InputError, match="tie_break"):
        NCDKNNClassifier(tie_break="first").fit(Xtr, ytr)
    with pytest.raises(InputError, match="'k' parameter"):
        NCDKNNClassifier(k=0).fit(Xtr, ytr)
    clf = NCDKNNClassifier().fit(Xtr, ytr)
    with pytest.raises(InputError, match="fitted on str"):
        clf.predict([x.encode() for x in Xte])
    with pytest.raises(InputError, match="fitted on str labels"):
        clf.score(Xte[:2], [1, 2])
    with pytest.raises(InputError, match="zstd"):
        CompressionClassifier(method="dict", compressor="gzip").fit(Xtr, ytr)
    with pytest.raises(InputError, match="method"):
        CompressionClassifier(method="nope").fit(Xtr, ytr)
    with pytest.raises(InputError, match="empty"):
        CompressionClassifier().fit([], [])


def test_bytes_and_int_labels(small):
    Xtr, ytr, Xte, yte = small
    classes = sorted(set(ytr))
    yi = [classes.index(y) for y in ytr]
    a = NCDKNNClassifier(k=3).fit([x.encode() for x in Xtr], np.array(yi))
    b = NCDKNNClassifier(k=3).fit(Xtr, ytr)
    assert a.classes_.tolist() == list(range(12))
    assert [classes[i] for i in a.predict([x.encode() for x in Xte])] == b.predict(Xte).tolist()


# ---------------------------------------------------------------------------------------
# class-conditional compression
# ---------------------------------------------------------------------------------------
def test_concat_code_lengths_are_exact_differences(small):
    Xtr, ytr, Xte, _ = small
    clf = CompressionClassifier(method="concat", compressor="gzip", max_class_bytes=600).fit(Xtr, ytr)
    gz = get_compressor("gzip")
    bits = clf.code_lengths(Xte[:3])
    for j, c in enumerate(clf.classes_):
        tail = " ".join(x for x, y in zip(Xtr, ytr) if y == c).encode()[-600:] + b" "
        for i, q in enumerate(Xte[:3]):
            assert bits[i, j] == gz.size_bits(tail + q.encode()) - gz.size_bits(tail)


def test_dict_classifier_probabilities_and_pickle(small):
    Xtr, ytr, Xte, _ = small
    clf = CompressionClassifier(temperature=8.0).fit(Xtr, ytr)
    p = clf.predict_proba(Xte)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (clf.classes_[p.argmax(axis=1)] == clf.predict(Xte)).all()
    bits = clf.code_lengths(Xte)
    z = -bits * np.log(2) / 8.0
    expect = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p, expect / expect.sum(axis=1, keepdims=True))
    again = pickle.loads(pickle.dumps(clf))
    assert again.predict(Xte).tolist() == clf.predict(Xte).tolist()
    trained = CompressionClassifier(dict_type="trained", dict_size=4096).fit(Xtr, ytr)
    assert set(trained.dict_types_) <= {"raw", "trained"} and len(trained.dict_types_) == 12


def test_compression_classifier_learns_topics(medium):
    # 12 balanced classes: chance is 1/12; both variants are far above it on real text
    Xtr, ytr, Xte, yte = medium
    assert CompressionClassifier().fit(Xtr, ytr).score(Xte, yte) > 0.5
    assert CompressionClassifier(method="concat").fit(Xtr, ytr).score(Xte, yte) > 0.5


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------
def test_cli_classify_files(small, tmp_path, capsys):
    import json

    from kcomp.cli import main

    Xtr, ytr, Xte, yte = small
    for name, X, y in (("train.jsonl", Xtr, ytr), ("test.jsonl", Xte, yte)):
        (tmp_path / name).write_text("".join(json.dumps({"body": t, "topic": c}) + "\n" for t, c in zip(X, y)))
    argv = ["classify", "--train", str(tmp_path / "train.jsonl"), "--test", str(tmp_path / "test.jsonl"),
            "--text-field", "body", "--label-field", "topic", "--k", "3", "--tie-break", "lowest", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    expect = NCDKNNClassifier(k=3, tie_break="lowest").fit(Xtr, ytr).score(Xte, yte)
    assert out["accuracy"] == pytest.approx(expect)
    assert out["tie_rule"] == "k=3, ties: lowest" and sum(map(sum, out["confusion_matrix"])) == len(Xte)
    assert main(argv[:-1] + ["--method", "concat"]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "macro-F1" in text and "confusion matrix" in text
    assert main(["classify", "--train", str(tmp_path / "train.jsonl"), "--test", str(tmp_path / "test.jsonl")]) == 2
    assert "no field 'text'" in capsys.readouterr().err


def test_same_predictions_as_npc_gzip(small):
    """kcomp gzip kNN with the 'lowest' tie rule reproduces the npc-gzip package (k=1, k=2)."""
    pytest.importorskip("npc_gzip")
    from npc_gzip.compressors.gzip_compressor import GZipCompressor
    from npc_gzip.knn_classifier import KnnClassifier

    Xtr, ytr, Xte, _ = small
    classes = sorted(set(ytr))
    model = KnnClassifier(compressor=GZipCompressor(), training_inputs=list(Xtr),
                          training_labels=[classes.index(y) for y in ytr], distance_metric="ncd")
    clf = NCDKNNClassifier(k=2, tie_break="lowest").fit(Xtr, ytr)
    d, i = clf.kneighbors(Xte, n_neighbors=3)
    for k in (1, 2):
        ours = clf.predict_from_neighbors(d, i, k).tolist()
        theirs = [classes[int(v)] for v in model.predict(list(Xte), top_k=k)[1]]
        # npc-gzip's argpartition picks an arbitrary one of equally distant texts: only a
        # distance tie at the k-th neighbour may make the two differ
        for j, (a, b) in enumerate(zip(ours, theirs)):
            assert a == b or d[j, k - 1] == d[j, k], (k, j)


def _write_splits(tmp_path, Xtr, ytr, Xte, yte):
    import json

    for name, X, y in (("train.jsonl", Xtr, ytr), ("test.jsonl", Xte, yte)):
        (tmp_path / name).write_text("".join(json.dumps({"text": t, "label": c}) + "\n" for t, c in zip(X, y)))
    return str(tmp_path / "train.jsonl"), str(tmp_path / "test.jsonl")


def test_cli_classify_auto_with_short_jobs_flag(small, tmp_path, capsys):
    import json

    from kcomp.cli import main

    train, test = _write_splits(tmp_path, *small)
    argv = ["classify", "--train", train, "--test", test, "--method", "auto", "--class-models", "dict", "gzip",
            "-j", "2", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    expect = CompressionClassifier(method="auto", class_models=("dict", "gzip"), random_state=0).fit(*small[:2])
    assert out["chosen"] == expect.best_params_
    assert out["accuracy"] == pytest.approx(expect.score(*small[2:]))
    assert out["params"]["n_jobs"] == 2 and len(out["cv_accuracy"]) == len(expect.cv_results_["params"]) == 5


def test_cli_confusion_matrix_shows_whole_labels(small, tmp_path, capsys):
    from kcomp.cli import main

    Xtr, ytr, Xte, yte = small
    train, test = _write_splits(tmp_path, Xtr, [f"section-{y}" for y in ytr], Xte, [f"section-{y}" for y in yte])
    assert main(["classify", "--train", train, "--test", test, "--method", "dict"]) == 0
    header = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| true")][0]
    assert "| section-electronics |" in header and "| section-hamradio |" in header


def test_cli_missing_training_file_is_one_line(tmp_path, capsys):
    from kcomp.cli import main

    assert main(["classify", "--train", str(tmp_path / "nofile.jsonl"), "--test", str(tmp_path / "x.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "nofile.jsonl" in err and "no such file" in err.lower() and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_window_warning_when_texts_exceed_the_codec_window(tmp_path, capsys):
    from kcomp.cli import main

    long_texts = [FOX * 600, LOREM * 600]  # ~40 KB each: past gzip's 32 KiB window
    with pytest.warns(UserWarning, match="exceeds gzip:9's 32,506-byte window"):
        NCDKNNClassifier().fit(long_texts, ["fox", "lorem"])
    with pytest.warns(UserWarning, match="window"):
        CompressionClassifier(method="concat").fit(long_texts, ["fox", "lorem"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ppmd: no window problem at this size
        CompressionClassifier(method="concat", compressor="ppmd").fit(long_texts, ["fox", "lorem"])
    train, test = _write_splits(tmp_path, long_texts, ["fox", "lorem"], [FOX], ["fox"])
    assert main(["classify", "--train", train, "--test", test]) == 0
    assert "32,506-byte window" in capsys.readouterr().err
