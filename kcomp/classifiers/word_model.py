"""Word-level adaptive class models (word-based compression, Moffat 1989; the hierarchical
Pitman-Yor unigram of Teh 2006 in its one-table-per-type form, i.e. interpolated absolute
discounting with the counts of an adaptive coder).

A text is cut into tokens: words (``\\w+`` of the UTF-8 decoded text, case-folded) and single
punctuation characters; whitespace is dropped. The model codes that token sequence (the
case-folded text without its spacing, a deterministic function of the text) with the ideal
code length, in bits, of an adaptive coder whose counts start from the training text and
grow with every token it has coded, the query's own included (a word repeated in the query
costs less the second time). Three levels, each backing off to the one below::

    P_c(w)  = (max(n_c(w) - d, 0) + (s + d T_c) P_bg(w)) / (N_c + s)    class c's text
    P_bg(w) = same with the counts of all classes' text, backing off to P0
    P0(w)   = the spelling of w under an order-0 character model of the training words

``n(w)`` is the count of w so far, ``N`` all tokens so far, ``T`` the distinct tokens so far,
``d`` the discount and ``s`` the strength. P0 uses Krichevsky-Trofimov counts of the
characters of the training word types plus an end mark; a character never seen costs an
escape plus 8 bits per UTF-8 byte. Every level is a proper distribution over the next token,
so every text has a finite code length. A word every class uses is cheap under the shared
background and costs about the same under every class; a word frequent in one class and
rare in the others decides: the IDF effect of TF-IDF, from counting.

``word-vs-rest`` gives, per class, the bits under class c's model minus the bits under the
model of all the other classes' text (same hierarchy): a log-likelihood ratio in bits,
negative where the text favours c (the compression form of complement naive Bayes).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from kcomp.errors import InputError

TOKEN = re.compile(r"\w+|[^\w\s]")
#: class-model specs of the two word models
WORD_MODELS = ("word", "word-vs-rest")
DEFAULT_DISCOUNT = 0.75
DEFAULT_STRENGTH = 1.0


def tokens(text: bytes) -> list[str]:
    """The case-folded word and punctuation tokens of a UTF-8 text (invalid bytes kept apart)."""
    return [t.casefold() for t in TOKEN.findall(text.decode("utf-8", "surrogateescape"))]


class SpellingModel:
    """P0: an order-0 character model (KT counts over the characters seen, plus an end mark and
    an escape for characters never seen, then 8 bits per UTF-8 byte) of the training word types."""

    END = "\x00"

    def __init__(self, words) -> None:
        counts = Counter({self.END: 0})
        for w in words:
            counts.update(w)
            counts[self.END] += 1
        total = sum(counts.values()) + 0.5 * (len(counts) + 1)
        self._bits = {ch: -np.log2((c + 0.5) / total) for ch, c in counts.items()}
        self._escape_bits = -np.log2(0.5 / total)

    def bits(self, word: str) -> float:
        """Bits to spell ``word`` (with its end mark)."""
        cost = self._bits[self.END]
        for ch in word:
            b = self._bits.get(ch)
            cost += b if b is not None else self._escape_bits + 8 * len(ch.encode("utf-8", "surrogateescape"))
        return cost


class WordClassModel:
    """Per-class adaptive word models; code lengths in bits, one column per class.

    ``vs_rest=False`` (``"word"``): the bits of a text under each class's model.
    ``vs_rest=True`` (``"word-vs-rest"``): those bits minus the bits under the model of the
    other classes' text. ``discount`` in [0, 1) and ``strength`` > 0 are the
    Pitman-Yor parameters of every level (defaults 0.75 and 1)."""

    def __init__(self, *, vs_rest: bool = False, discount: float = DEFAULT_DISCOUNT,
                 strength: float = DEFAULT_STRENGTH) -> None:
        if not 0 <= discount < 1 or not strength > 0:
            raise InputError(f"word model needs 0 <= discount < 1 and strength > 0; got discount="
                             f"{discount}, strength={strength}")
        self.vs_rest = bool(vs_rest)
        self.discount = float(discount)
        self.strength = float(strength)
        self.compressor = None

    @property
    def name(self) -> str:
        return "word-vs-rest" if self.vs_rest else "word"

    @property
    def params(self) -> dict:
        """The ``CompressionClassifier`` parameters of this model alone."""
        return {"method": self.name}

    def fit(self, by_class: list[list[bytes]]) -> "WordClassModel":
        """Count the tokens of every class's training texts."""
        toks = [[w for text in texts for w in tokens(text)] for texts in by_class]
        self.vocab_ = {w: i for i, w in enumerate(sorted({w for ts in toks for w in ts}))}
        self.spelling_ = SpellingModel(self.vocab_)
        self.vocab_spelling_bits_ = np.array([self.spelling_.bits(w) for w in self.vocab_] + [np.nan])
        # one more column, all zero, for the tokens no training text holds (id -1)
        self.counts_ = np.zeros((len(by_class), len(self.vocab_) + 1), dtype=np.int32)
        for c, ts in enumerate(toks):
            np.add.at(self.counts_[c], [self.vocab_[w] for w in ts], 1)
        background = self.counts_.sum(axis=0)
        self.levels_ = {"class": _level(self.counts_), "background": _level(background),
                        "rest": _level(background - self.counts_)}
        self.class_bytes = [sum(len(t) for t in texts) for texts in by_class]
        return self

    def code_lengths(self, Xb: Sequence[bytes], n_jobs: int | None = 1) -> np.ndarray:
        """Bits of each text's token sequence under each class (``vs_rest``: minus under the
        other classes), shape (n, n_classes). ``n_jobs`` is unused (microseconds per text)."""
        return np.array([self._bits(tokens(x)) for x in Xb]).reshape(len(Xb), self.counts_.shape[0])

    def _bits(self, ts: list[str]) -> np.ndarray:
        if not ts:
            return np.zeros(self.counts_.shape[0])
        ids = np.array([self.vocab_.get(w, -1) for w in ts])
        earlier = _previous_occurrences(ts)
        spelling_bits = self.vocab_spelling_bits_[ids]  # id -1 (not in the vocabulary): spelled here
        for i in np.flatnonzero(ids < 0):
            spelling_bits[i] = self.spelling_.bits(ts[i])
        d, s = self.discount, self.strength
        background = _pitman_yor(self.levels_["background"], ids, earlier, -spelling_bits, d, s)
        bits = -_pitman_yor(self.levels_["class"], ids, earlier, background, d, s).sum(axis=1)
        if self.vs_rest:
            bits += _pitman_yor(self.levels_["rest"], ids, earlier, background, d, s).sum(axis=1)
        return bits


def _level(trained: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A level's training counts per vocabulary id (last axis), distinct tokens and all tokens."""
    return trained, (trained > 0).sum(axis=-1, keepdims=True), trained.sum(axis=-1, keepdims=True)


def _pitman_yor(level: tuple, ids: np.ndarray, earlier: np.ndarray, log2_base: np.ndarray, d: float,
                s: float) -> np.ndarray:
    """Sequential Pitman-Yor (one table per type) log2 probabilities of each token of a sequence,
    shape (..., L): ``level`` from :func:`_level`, ``ids`` the tokens' vocabulary ids, ``earlier``
    each token's earlier occurrences in the sequence, ``log2_base`` the log2 probabilities of the
    level below (log space: a long unseen word's spelling underflows a float). The sequence's
    tokens join the counts as they are coded."""
    trained, types, total = level
    counts = trained[..., ids] + earlier
    new_type = counts == 0
    types_so_far = types + np.cumsum(new_type, axis=-1) - new_type
    total_so_far = total + np.arange(len(ids))
    with np.errstate(divide="ignore"):  # log2(0) = -inf: a token this level has not seen
        seen = np.log2(np.maximum(counts - d, 0))
    return np.logaddexp2(seen, np.log2(s + d * types_so_far) + log2_base) - np.log2(total_so_far + s)


def _previous_occurrences(ts: list[str]) -> np.ndarray:
    """How often each token occurred earlier in the same sequence."""
    seen: Counter = Counter()
    out = np.empty(len(ts))
    for i, w in enumerate(ts):
        out[i] = seen[w]
        seen[w] += 1
    return out
