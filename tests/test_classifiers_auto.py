"""method="auto"/"stack", CodeLengthFeatures and NCDPrototypeFeatures: sklearn contract, cross-fitting, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import zstandard
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline

from kcomp import get_compressor
from kcomp.classifiers import CodeLengthFeatures, CompressionClassifier, NCDPrototypeFeatures
from kcomp.classifiers.class_models import stratified_folds
from kcomp.errors import InputError, KcompError

FAST_MODELS = ("dict", "gzip", "ppmd:2")


ESTIMATORS = [
    CompressionClassifier(method="auto", class_models=FAST_MODELS, cv=3, random_state=0),
    CompressionClassifier(method="stack", class_models=("dict", "gzip"), cv=3, random_state=0),
    CodeLengthFeatures(class_models=("dict", "gzip"), cv=3, random_state=0),
    NCDPrototypeFeatures(n_per_class=2, random_state=0),
]


# ---------------------------------------------------------------------------------------
# the scikit-learn contract, for every new estimator
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__ + "-" + str(getattr(e, "method", "")))
def test_clone_and_get_params_round_trip(est):
    params = est.get_params()
    again = clone(est)
    assert again is not est and again.get_params() == params
    assert type(est)().set_params(**params).get_params() == params
    pickle.loads(pickle.dumps(est))


@pytest.mark.parametrize("est", ESTIMATORS[2:], ids=lambda e: type(e).__name__)
def test_transformers_in_a_pipeline_and_grid_search(debian_topics_small, est):
    Xtr, ytr, Xte, yte = debian_topics_small
    pipe = make_pipeline(clone(est), LogisticRegression(max_iter=2000)).fit(Xtr, ytr)
    assert pipe.predict(Xte).shape == (len(Xte),)
    step = type(est).__name__.lower()
    key = f"{step}__random_state"
    grid = GridSearchCV(make_pipeline(clone(est), LogisticRegression(max_iter=2000)), {key: [0, 1]},
                        cv=StratifiedKFold(2, shuffle=True, random_state=0)).fit(Xtr, ytr)
    assert grid.best_params_[key] in (0, 1) and len(grid.cv_results_["params"]) == 2


@pytest.mark.parametrize("method", ["stack", "auto"])
def test_classifier_in_a_pipeline_and_grid_search(debian_topics_small, method):
    Xtr, ytr, Xte, _ = debian_topics_small
    est = CompressionClassifier(method=method, class_models=("dict", "gzip"), cv=2, random_state=0)
    assert Pipeline([("clf", est)]).fit(Xtr, ytr).predict(Xte).shape == (len(Xte),)
    grid = GridSearchCV(est, {"C": [0.1, 1.0]}, cv=StratifiedKFold(2, shuffle=True, random_state=0)).fit(Xtr, ytr)
    assert grid.best_params_["C"] in (0.1, 1.0)


# ---------------------------------------------------------------------------------------
# method="auto"
# ---------------------------------------------------------------------------------------
def test_auto_chooses_by_cross_validation_and_refits_the_winner(debian_topics_small):
    Xtr, ytr, Xte, _ = debian_topics_small
    clf = CompressionClassifier(method="auto", class_models=FAST_MODELS, cv=4, random_state=0).fit(Xtr, ytr)
    res = clf.cv_results_
    n = len(FAST_MODELS) + 2  # each model alone, and the stack at two C values
    assert len(res["params"]) == n and res["mean_test_score"].shape == (n,)
    scores = np.stack([res[f"split{i}_test_score"] for i in range(4)], axis=1)
    np.testing.assert_allclose(scores.mean(axis=1), res["mean_test_score"])
    best = int(np.argmax(res["mean_test_score"]))
    assert clf.best_params_ == res["params"][best] and res["rank_test_score"][best] == 1
    assert clf.best_score_ == res["mean_test_score"][best]
    # the refitted winner predicts exactly like the chosen configuration fitted directly
    direct = CompressionClassifier(**clf.best_params_, cv=4, random_state=0).fit(Xtr, ytr)
    assert clf.predict(Xte).tolist() == direct.predict(Xte).tolist()


def test_auto_single_model_scores_are_out_of_fold_argmin(debian_topics_small):
    Xtr, ytr, _, _ = debian_topics_small
    clf = CompressionClassifier(method="auto", class_models=("gzip",), cv=2, random_state=3).fit(Xtr, ytr)
    y = np.array(ytr)
    expect = []
    for tr, va in stratified_folds(np.searchsorted(clf.classes_, y), 2, 3):
        fold = CompressionClassifier(method="concat", compressor="gzip").fit([Xtr[i] for i in tr], y[tr])
        expect.append(np.mean(fold.predict([Xtr[i] for i in va]) == y[va]))
    assert clf.cv_results_["mean_test_score"][0] == pytest.approx(np.mean(expect))


def test_auto_is_deterministic_with_random_state(debian_topics_small):
    Xtr, ytr, Xte, _ = debian_topics_small
    runs = [CompressionClassifier(method="auto", class_models=FAST_MODELS, cv=3, random_state=5).fit(Xtr, ytr)
            for _ in range(2)]
    assert runs[0].best_params_ == runs[1].best_params_
    np.testing.assert_array_equal(runs[0].cv_results_["mean_test_score"], runs[1].cv_results_["mean_test_score"])
    assert runs[0].predict(Xte).tolist() == runs[1].predict(Xte).tolist()


def test_auto_and_stack_learn_topics(debian_topics_medium):
    Xtr, ytr, Xte, yte = debian_topics_medium  # 12 classes: chance is 1/12
    auto = CompressionClassifier(method="auto", class_models=("dict", "gzip"), cv=3, random_state=0).fit(Xtr, ytr)
    assert auto.score(Xte, yte) > 0.5 and auto.best_score_ > 0.5
    stack = CompressionClassifier(method="stack", class_models=("dict", "gzip"), cv=3, random_state=0)
    assert stack.fit(Xtr, ytr).score(Xte, yte) > 0.5
    p = stack.predict_proba(Xte)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (stack.classes_[p.argmax(axis=1)] == stack.predict(Xte)).all()


def test_stack_learns_class_priors(debian_topics_small):
    # one class holds most of the training texts: the learned intercepts favour it
    Xtr, ytr, _, _ = debian_topics_small
    y = ["big" if c in ("sound", "games", "science", "math", "video") else "small" for c in ytr]
    clf = CompressionClassifier(method="stack", class_models=("gzip",), cv=3, random_state=0).fit(Xtr, y)
    lr = clf.stack_[-1]
    assert lr.intercept_.shape == (1,) and lr.intercept_[0] != 0.0


# ---------------------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------------------
def test_code_length_features_are_cross_fitted(debian_topics_small):
    Xtr, ytr, _, _ = debian_topics_small
    feats = CodeLengthFeatures(class_models=("gzip",), cv=2, random_state=0, max_class_bytes=4096)
    crossed = feats.fit_transform(Xtr, ytr)
    plain = feats.transform(Xtr)  # class models on all of Xtr: every text is in its own class text
    assert crossed.shape == plain.shape == (48, 12)
    assert not np.allclose(crossed, plain)
    y = np.array(ytr)
    own = np.searchsorted(feats.classes_, y)
    # priced with itself in the class model, a text's own class is the cheapest far more often
    assert np.mean(plain.argmin(axis=1) == own) > np.mean(crossed.argmin(axis=1) == own)
    # one fold by hand: bits per byte under class models built without that fold, centred
    tr, va = stratified_folds(own, 2, 0)[0]
    gz = get_compressor("gzip")
    j = int(va[0])
    tails = [b" ".join(Xtr[i].encode() for i in tr if y[i] == c)[-4096:] + b" " for c in feats.classes_]
    bits = np.array([gz.size_bits(t + Xtr[j].encode()) - gz.size_bits(t) for t in tails])
    bpb = bits / len(Xtr[j].encode())
    np.testing.assert_allclose(crossed[j], bpb - bpb.mean())
    names = feats.get_feature_names_out()
    assert len(names) == 12 and names[0] == f"gzip:9|{feats.classes_[0]}"


def test_ncd_prototype_features(debian_topics_small):
    Xtr, ytr, Xte, _ = debian_topics_small
    feats = NCDPrototypeFeatures(n_per_class=2, random_state=0)
    train = feats.fit_transform(Xtr, ytr)
    assert train.shape == (48, 24) and feats.prototype_labels_.tolist().count(ytr[0]) == 2
    rows = feats.prototype_indices_
    assert np.all(train[rows, np.arange(24)] > 0.5)  # self-distance 0 replaced by the column mean
    test = feats.transform(Xte)
    from kcomp import ncd

    assert test[0, 0] == pytest.approx(ncd(Xtr[rows[0]], Xte[0], "gzip"))


def test_dictionaries_digested_once_give_identical_sizes(debian_topics_small):
    Xtr, ytr, Xte, _ = debian_topics_small
    zstd = get_compressor("zstd:19")
    clf = CompressionClassifier(method="dict", compressor=zstd).fit(Xtr, ytr)
    assert clf.compressor_ is zstd  # the object itself is kept
    model = clf.class_models_[0]
    for j, data in enumerate(model.dicts):
        plain = zstandard.ZstdCompressor(level=19, dict_data=zstandard.ZstdCompressionDict(
            data, dict_type=zstandard.DICT_TYPE_RAWCONTENT), write_dict_id=False, write_checksum=False)
        expect = [8.0 * len(plain.compress(x.encode())) for x in Xte]
        np.testing.assert_array_equal(clf.code_lengths(Xte)[:, j], expect)


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("est,match", [
    (CompressionClassifier(method="best"), "'method' parameter"),
    (CompressionClassifier(method="stack", C=0), "'C' parameter"),
    (CompressionClassifier(method="auto", cv=1), "'cv' parameter"),
    (CompressionClassifier(temperature=-1), "'temperature' parameter"),
    (CompressionClassifier(method="auto", class_models=("nope",)), "unknown compressor 'nope'"),
    (CompressionClassifier(method="stack", class_models=()), "non-empty"),
    (CompressionClassifier(method="concat", compressor=3), "'compressor' parameter"),
    (CodeLengthFeatures(class_models="gzip"), "'class_models' parameter"),
    (CodeLengthFeatures(cv=0), "'cv' parameter"),
    (NCDPrototypeFeatures(n_per_class=0), "'n_per_class' parameter"),
])
def test_bad_parameters_are_clear_errors(debian_topics_small, est, match):
    Xtr, ytr, _, _ = debian_topics_small
    with pytest.raises(KcompError, match=match):  # InputError or UnknownCompressorError
        est.fit(Xtr, ytr)


def test_auto_needs_two_texts_per_class(debian_topics_small):
    Xtr, ytr, _, _ = debian_topics_small
    with pytest.raises(InputError, match="at least 2 training texts in every class"):
        CompressionClassifier(method="auto").fit(Xtr[:13], ytr[:12] + ["lonely"])


def test_fitted_stack_pickles(debian_topics_small):
    Xtr, ytr, Xte, _ = debian_topics_small
    clf = CompressionClassifier(method="stack", class_models=("dict", "gzip"), cv=2, random_state=0).fit(Xtr, ytr)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(Xte), clf.predict_proba(Xte))


def test_default_class_text_leaves_room_for_a_query_in_the_window(debian_topics_small):
    from kcomp.classifiers.class_models import ConcatClassModel, texts_by_class

    Xtr, ytr, _, _ = debian_topics_small
    Xb = [x.encode() * 8 for x in Xtr]  # long texts: a class holds more than a gzip window
    y = np.searchsorted(sorted(set(ytr)), ytr)
    model = ConcatClassModel(get_compressor("gzip")).fit(texts_by_class(Xb, y, 12))
    p95 = np.percentile([len(x) for x in Xb], 95)
    window = get_compressor("gzip").window
    assert max(model.class_bytes) - 1 == max(window - int(p95) - 1, window // 2)
    assert max(model.class_bytes) + p95 <= window + 1
