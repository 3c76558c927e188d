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
from kcomp.classifiers.compression import AUTO_STACK_CS, _priced_sample
from kcomp.classifiers.stacking import SharedWeightLogit, code_length_tensor
from kcomp.errors import InputError, KcompError

FAST_MODELS = ("dict", "gzip", "ppmd:2", "word-vs-rest")


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
    n = len(FAST_MODELS) + len(AUTO_STACK_CS)  # each model alone, and the stack at each C
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
    # 7 of the 12 sections form one class: the learned intercepts favour it
    Xtr, ytr, _, _ = debian_topics_small
    y = ["few" if c in ("sound", "games", "science", "math", "video") else "many" for c in ytr]
    assert y.count("many") > y.count("few")
    clf = CompressionClassifier(method="stack", class_models=("gzip",), cv=3, random_state=0).fit(Xtr, y)
    intercept = dict(zip(clf.classes_, clf.stack_.intercept_))
    assert intercept["many"] > intercept["few"]
    assert clf.stack_.coef_.shape == (2,) and len(clf.stack_feature_names_) == 2


def _synthetic_code_lengths(rng, n, n_classes, informative: bool):
    """Bits of n texts of 100 bytes under n_classes class models: the own class is cheaper
    by ~20 bits (informative) or not at all (noise)."""
    y = rng.integers(0, n_classes, n)
    bits = 800 + rng.normal(0, 10, (n, n_classes))
    if informative:
        bits[np.arange(n), y] -= 20
    return bits, y


def test_shared_weight_logit_weights_the_informative_compressor():
    rng = np.random.default_rng(0)
    good, y = _synthetic_code_lengths(rng, 400, 4, True)
    noise = 800 + rng.normal(0, 10, good.shape)
    lengths = np.full(len(y), 100)
    F = code_length_tensor([good, noise], lengths, 100.0)
    logit = SharedWeightLogit(C=1.0).fit(F, y)
    per_model = np.abs(logit.coef_).reshape(2, 2).sum(axis=1)
    assert per_model[0] > 5 * per_model[1]  # trusts the informative model, not the noise
    assert np.mean(logit.predict(F) == y) > 0.8
    # with one model and balanced classes it agrees with the minimum code length
    one = SharedWeightLogit(C=1.0).fit(code_length_tensor([good], lengths, 100.0), y)
    agree = one.predict(code_length_tensor([good], lengths, 100.0)) == good.argmin(axis=1)
    assert agree.mean() > 0.95
    np.testing.assert_allclose(logit.predict_proba(F).sum(axis=1), 1.0)


def test_max_cv_texts_prices_a_stratified_sample(debian_topics_medium):
    Xtr, ytr, _, _ = debian_topics_medium
    y_idx = np.unique(ytr[:600], return_inverse=True)[1]
    sample = _priced_sample(y_idx, 120, 0)
    assert len(sample) == 120 and np.all(np.diff(sample) > 0)
    expected = np.bincount(y_idx) * 120 / 600
    assert np.all(np.abs(np.bincount(y_idx[sample], minlength=len(expected)) - expected) <= 1)
    assert _priced_sample(y_idx, None, 0).tolist() == list(range(600))
    assert _priced_sample(y_idx, 600, 0).tolist() == list(range(600))
    runs = [CompressionClassifier(method="auto", class_models=("dict",), cv=3, max_cv_texts=m,
                                  random_state=0).fit(Xtr[:600], ytr[:600]) for m in (120, None)]
    assert runs[0].cv_results_["mean_test_score"].tolist() != runs[1].cv_results_["mean_test_score"].tolist()


def test_max_cv_texts_below_the_number_of_classes_is_a_clear_error(debian_topics_small):
    Xtr, ytr, _, _ = debian_topics_small
    seen: dict = {}
    y = [f"{c}-{seen.setdefault(c, []).append(c) or len(seen[c]) % 2}" for c in ytr]  # 24 classes of 2 texts
    with pytest.raises(InputError, match="max_cv_texts=20 is fewer than the 24 classes"):
        CompressionClassifier(method="stack", class_models=("dict",), cv=2, max_cv_texts=20).fit(Xtr, y)


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
