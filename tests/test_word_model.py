"""The word-level adaptive class models ("word", "word-vs-rest"): code lengths, and as classifiers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from kcomp.classifiers import CompressionClassifier
from kcomp.classifiers.class_models import make_class_model
from kcomp.classifiers.word_model import SpellingModel, WordClassModel, _level, _pitman_yor, tokens
from kcomp.errors import InputError

PENGUINS = [b"The penguin swims in cold water.", b"A penguin eats fish; penguins dive deep.",
            b"Emperor penguins huddle in the cold."]
COMPILERS = [b"The compiler emits machine code.", b"A compiler parses the source code.",
             b"Optimising compilers inline small functions."]


def fitted(by_class=(PENGUINS, COMPILERS), **kw) -> WordClassModel:
    return WordClassModel(**kw).fit([list(texts) for texts in by_class])


def test_tokens_are_case_folded_words_and_punctuation_without_spaces():
    assert tokens(b"Hello,  WORLD!\nhello") == ["hello", ",", "world", "!", "hello"]
    assert tokens("Größe ÉTÉ".encode()) == ["grösse", "été"]
    assert tokens(b"ab\xffcd") == ["ab", "\udcff", "cd"]  # an invalid byte stays apart, never dropped
    assert tokens(b"   ") == []


def test_code_lengths_are_positive_finite_bits_one_column_per_class():
    model = fitted()
    texts = [b"penguin", b"a compiler for penguins", "\u263a unseen \u00e9moji".encode(), b"\xff\xfe", b"x" * 5000]
    bits = model.code_lengths(texts)
    assert bits.shape == (len(texts), 2)
    assert np.all(np.isfinite(bits)) and np.all(bits > 0)
    assert model.code_lengths([b"  "]).tolist() == [[0.0, 0.0]]  # no token, nothing to code
    np.testing.assert_array_equal(bits, fitted().code_lengths(texts))  # deterministic


def test_the_class_that_saw_the_words_prices_them_cheaper():
    bits = fitted().code_lengths([b"penguins dive in cold water", b"the compiler inlines code"])
    assert bits[0, 0] < bits[0, 1] and bits[1, 1] < bits[1, 0]


def test_a_repeated_text_costs_less_the_second_time():
    model = fitted()
    once = model.code_lengths([b"zebras graze quietly"])[0]
    twice = model.code_lengths([b"zebras graze quietly zebras graze quietly"])[0]
    assert np.all(twice - once < 0.5 * once)  # the second copy: well under half the first's bits


def test_adding_class_text_makes_its_words_cheaper_for_that_class():
    query = [b"zebras graze on the savanna"]
    before = fitted().code_lengths(query)[0]
    after = fitted((PENGUINS + [b"Zebras graze on the open savanna."], COMPILERS)).code_lengths(query)[0]
    # both get cheaper (the shared background now knows the words, no spelling to pay), the class
    # that got the text by more, and the query now prefers it
    assert after[1] < before[1] and before[0] - after[0] > before[1] - after[1] + 5
    assert after[0] < after[1]


def test_a_pitman_yor_level_is_a_probability_distribution():
    rng = np.random.default_rng(0)
    trained = rng.integers(0, 4, (3, 6)).astype(float)  # 3 models over a 6-token vocabulary
    base = rng.dirichlet(np.ones(6))
    for d, s in ((0.0, 1.0), (0.75, 1.0), (0.5, 10.0)):
        # the next token after the history [2, 2]: every candidate w in turn
        log2_p = [_pitman_yor(_level(trained), np.array([2, 2, w]), np.array([0.0, 1.0, 2.0 * (w == 2)]),
                              np.log2([base[2], base[2], base[w]]), d, s)[:, 2] for w in range(6)]
        np.testing.assert_allclose(np.sum(np.exp2(log2_p), axis=0), 1.0)


def test_spelling_model_prices_unseen_characters_higher():
    spell = SpellingModel(["abc", "abd", "bad"])
    assert 0 < spell.bits("ab") < spell.bits("abz") < spell.bits("ab\u263a")


def test_word_vs_rest_with_two_classes_is_the_difference_of_the_two_class_models():
    texts = [b"cold penguin code", b"the compiler swims", b"fish"]
    word, vs_rest = fitted().code_lengths(texts), fitted(vs_rest=True).code_lengths(texts)
    np.testing.assert_allclose(vs_rest[:, 0], word[:, 0] - word[:, 1])
    np.testing.assert_allclose(vs_rest[:, 1], word[:, 1] - word[:, 0])


def test_specs_and_bad_parameters():
    assert make_class_model("word", separator=b" ").name == "word"
    assert make_class_model("word-vs-rest", separator=b" ").params == {"method": "word-vs-rest"}
    with pytest.raises(InputError, match="discount"):
        WordClassModel(discount=1.0)
    with pytest.raises(InputError, match="strength"):
        WordClassModel(discount=0.5, strength=0.0)
    with pytest.raises(InputError, match="method"):
        CompressionClassifier(method="words").fit(["a b", "c d"], [0, 1])


# ---------------------------------------------------------------------------------------
# as a CompressionClassifier method
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["word", "word-vs-rest"])
def test_word_methods_learn_topics(debian_topics_medium, method):
    Xtr, ytr, Xte, yte = debian_topics_medium  # 12 classes: chance is 1/12
    clf = CompressionClassifier(method=method).fit(Xtr, ytr)
    assert clf.method_ == method and clf.compressor_ is None
    assert clf.score(Xte, yte) > 0.6
    np.testing.assert_array_equal(clf.decision_function(Xte[:5]), -clf.code_lengths(Xte[:5]))
    np.testing.assert_allclose(clf.predict_proba(Xte[:5]).sum(axis=1), 1.0)


@pytest.mark.parametrize("method", ["word", "word-vs-rest"])
def test_word_methods_follow_the_sklearn_contract(debian_topics_small, method):
    Xtr, ytr, Xte, _ = debian_topics_small
    est = CompressionClassifier(method=method)
    assert clone(est).get_params() == est.get_params()
    assert CompressionClassifier().set_params(**est.get_params()).get_params() == est.get_params()
    pipe = Pipeline([("clf", clone(est))]).fit(Xtr, ytr)
    assert pipe.predict(Xte).shape == (len(Xte),)
    grid = GridSearchCV(est, {"method": [method, "dict"]}, cv=StratifiedKFold(2, shuffle=True, random_state=0))
    assert grid.fit(Xtr, ytr).best_params_["method"] in (method, "dict")
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.predict_proba(Xte), pipe.predict_proba(Xte))


def test_word_models_in_the_stack(debian_topics_small):
    Xtr, ytr, Xte, _ = debian_topics_small
    clf = CompressionClassifier(method="stack", class_models=("gzip", "word", "word-vs-rest"), cv=2,
                                random_state=0).fit(Xtr, ytr)
    assert [m.name for m in clf.class_models_] == ["gzip:9", "word", "word-vs-rest"]
    assert len(clf.stack_feature_names_) == 6 and clf.predict(Xte).shape == (len(Xte),)


def test_cli_methods_are_the_classifier_methods():
    from kcomp.classifiers.compression import METHODS
    from kcomp.cli.classify import METHODS as CLI_METHODS

    assert CLI_METHODS == ("knn",) + METHODS


def test_cli_classify_with_the_word_model(tmp_path, capsys):
    import json

    from kcomp.cli import main

    rows = [(t.decode(), "penguin") for t in PENGUINS] + [(t.decode(), "compiler") for t in COMPILERS]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps({"text": t, "label": c}) + "\n" for t, c in rows))
    (tmp_path / "test.jsonl").write_text(json.dumps({"text": "penguins in cold water", "label": "penguin"}) + "\n")
    argv = ["classify", "--train", str(tmp_path / "train.jsonl"), "--test", str(tmp_path / "test.jsonl"),
            "--method", "word", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accuracy"] == 1.0 and out["compressor"] == "word"


def test_training_texts_without_tokens_still_give_finite_bits():
    model = WordClassModel().fit([[b"   "], [b"\n"]])
    bits = model.code_lengths([b"hello there", b"x"])
    assert np.all(np.isfinite(bits)) and np.all(bits > 0)
    np.testing.assert_array_equal(bits[:, 0], bits[:, 1])  # nothing tells the classes apart
