"""Class models: per-class compressors that price a text given the class's training text.

A class model is named by a short spec (``class_models`` of the estimators):

``"dict"`` or ``"dict:zstd:LEVEL"``
    FTCC-style: one zstd dictionary per class, the class's text itself (raw content) or a
    trained dictionary; the cost of x is the size of x compressed with the class dictionary.
    The dictionaries are digested once (``ZstdCompressionDict.precompute_compress``).
``"word"`` / ``"word-vs-rest"``
    a word-level adaptive model per class (:mod:`kcomp.classifiers.word_model`): the cost of x
    is the bits of its word tokens under the class's counts (``word-vs-rest``: minus the bits
    under the other classes' counts). No codec: milliseconds for a thousand texts.
any other compressor spec, or a :class:`~kcomp.compressors.Compressor` object
    ``concat``: the cost of x is C(tail_c + sep + x) - C(tail_c), tail_c the class's text
    (its last ``max_class_bytes`` bytes), priced with the compressor's ``joint_size_bits``
    (the class text as prefix: exact prefix reuse where the codec has it, e.g. gzip or ``lm``).

Code lengths are in bits, one column per class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from joblib import Parallel, delayed

from kcomp.classifiers._base import as_compressor
from kcomp.classifiers.word_model import WORD_MODELS, WordClassModel
from kcomp.compressors import Compressor
from kcomp.errors import InputError

#: concat tails are capped here when the codec's window is larger (or unbounded)
MAX_TAIL_BYTES = 65536
DEFAULT_DICT_LEVEL = 19


def texts_by_class(Xb: Sequence[bytes], y_idx: np.ndarray, n_classes: int) -> list[list[bytes]]:
    by_class: list[list[bytes]] = [[] for _ in range(n_classes)]
    for text, c in zip(Xb, y_idx.tolist()):
        by_class[c].append(text)
    return by_class


def _chunks(items: Sequence, n: int) -> list[Sequence]:
    size = max(1, -(-len(items) // n))
    return [items[i:i + size] for i in range(0, len(items), size)]


class DictClassModel:
    """One zstd dictionary per class (raw class text or ``zstandard.train_dictionary``)."""

    def __init__(self, compressor: Compressor, *, dict_type: str = "raw", dict_size: int = 262144,
                 separator: bytes = b" ") -> None:
        if compressor.family != "zstd":
            raise InputError(f"method='dict' needs a zstd compressor (e.g. 'zstd:19'); got {compressor.spec!r}. "
                             "Use method='concat' for other compressors.")
        self.compressor = compressor
        self.dict_type = dict_type
        self.dict_size = int(dict_size)
        self.separator = separator

    @property
    def name(self) -> str:
        return f"dict:{self.compressor.spec}"

    @property
    def params(self) -> dict:
        """The ``CompressionClassifier`` parameters of this model alone."""
        return {"method": "dict", "compressor": self.compressor.spec}

    def fit(self, by_class: list[list[bytes]]) -> "DictClassModel":
        made = [self._make_dict(texts) for texts in by_class]
        self.dicts = [data for data, _ in made]
        self.dict_types = [kind for _, kind in made]
        self.class_bytes = [len(d) for d in self.dicts]
        self._contexts = None
        return self

    def _make_dict(self, texts: list[bytes]) -> tuple[bytes, str]:
        import zstandard

        if self.dict_type == "trained":
            try:
                return zstandard.train_dictionary(self.dict_size, texts, level=self.compressor.level).as_bytes(), \
                    "trained"
            except zstandard.ZstdError:
                pass  # too little data to train on: fall back to the raw text
        return self.separator.join(texts)[-self.dict_size:], "raw"

    def __getstate__(self):  # zstd contexts are rebuilt lazily after unpickling
        state = self.__dict__.copy()
        state["_contexts"] = None
        return state

    def contexts(self) -> list:
        """One compressor per class; each dictionary digested once for the level."""
        if self._contexts is None:
            import zstandard

            level = self.compressor.level
            self._contexts = []
            for data, kind in zip(self.dicts, self.dict_types):
                dtype = zstandard.DICT_TYPE_RAWCONTENT if kind == "raw" else zstandard.DICT_TYPE_FULLDICT
                digested = zstandard.ZstdCompressionDict(data, dict_type=dtype)
                digested.precompute_compress(level=level)
                # no dict id / checksum in the frame: every class pays the same framing
                self._contexts.append(zstandard.ZstdCompressor(level=level, dict_data=digested, write_dict_id=False,
                                                               write_checksum=False, write_content_size=True))
        return self._contexts

    def code_lengths(self, Xb: Sequence[bytes], n_jobs: int | None = 1) -> np.ndarray:
        """Bits of each text under each class dictionary, shape (n, n_classes). Serial: one
        compression takes microseconds, less than shipping the dictionaries to a worker."""
        out = np.empty((len(Xb), len(self.dicts)))
        for j, cctx in enumerate(self.contexts()):
            out[:, j] = [8.0 * len(cctx.compress(x)) for x in Xb]
        return out


def _concat_block(compressor: Compressor, tails: list[bytes], tail_bits: np.ndarray, texts) -> np.ndarray:
    out = np.empty((len(texts), len(tails)))
    for j, tail in enumerate(tails):
        out[:, j] = compressor.joint_size_bits(tail, list(texts)) - tail_bits[j]
    return out


class ConcatClassModel:
    """C(tail_c + sep + x) - C(tail_c + sep) with any compressor: the class text as prefix."""

    def __init__(self, compressor: Compressor, *, max_class_bytes: int | None = None,
                 separator: bytes = b" ") -> None:
        self.compressor = compressor
        self.max_class_bytes = max_class_bytes
        self.separator = separator

    @property
    def name(self) -> str:
        return self.compressor.spec

    @property
    def params(self) -> dict:
        """The ``CompressionClassifier`` parameters of this model alone."""
        return {"method": "concat", "compressor": self.compressor.spec}

    def _tail_bytes(self, by_class: list[list[bytes]]) -> int:
        """``max_class_bytes``, or by default the codec's window (at most 64 KiB) less room for a
        query as long as most training texts (95th percentile; at least half the window), so
        that class text and query fit in the window together (e.g. one ``lm`` context)."""
        if self.max_class_bytes is not None:
            return int(self.max_class_bytes)
        window = min(self.compressor.window or MAX_TAIL_BYTES, MAX_TAIL_BYTES)
        room = int(np.percentile([len(t) for texts in by_class for t in texts] or [0], 95)) + len(self.separator)
        return max(window - room, window // 2, 1)

    def fit(self, by_class: list[list[bytes]]) -> "ConcatClassModel":
        sep = self.separator
        cap = self._tail_bytes(by_class)
        self.tails = [sep.join(texts)[-cap:] + sep for texts in by_class]
        self.tail_bits = np.array([self.compressor.size_bits(t) for t in self.tails])
        self.class_bytes = [len(t) for t in self.tails]
        return self

    def code_lengths(self, Xb: Sequence[bytes], n_jobs: int | None = 1) -> np.ndarray:
        """Bits of each text given each class text, shape (n, n_classes); texts are split
        over ``n_jobs`` joblib workers (the compressor object travels to them)."""
        if n_jobs in (None, 1) or len(Xb) < 2:
            return _concat_block(self.compressor, self.tails, self.tail_bits, Xb)
        parallel = Parallel(n_jobs=n_jobs)
        n_workers = parallel._effective_n_jobs()
        parts = parallel(delayed(_concat_block)(self.compressor, self.tails, self.tail_bits, chunk)
                         for chunk in _chunks(list(Xb), 4 * n_workers))
        return np.vstack(parts)


def make_class_model(spec, *, separator: bytes, dict_type: str = "raw", dict_size: int = 262144,
                     max_class_bytes: int | None = None):
    """A class model from its spec: ``"dict"``/``"dict:zstd:L"``, ``"word"``, ``"word-vs-rest"``,
    a compressor spec or object."""
    if isinstance(spec, str) and spec in WORD_MODELS:
        return WordClassModel(vs_rest=spec == "word-vs-rest")
    if isinstance(spec, str) and (spec == "dict" or spec.startswith("dict:")):
        zspec = spec.partition(":")[2] or f"zstd:{DEFAULT_DICT_LEVEL}"
        return DictClassModel(as_compressor(zspec, "class model"), dict_type=dict_type, dict_size=dict_size,
                              separator=separator)
    return ConcatClassModel(as_compressor(spec, "class model"), max_class_bytes=max_class_bytes,
                            separator=separator)


def cross_fit_code_lengths(model, Xb: Sequence[bytes], y_idx: np.ndarray, n_classes: int, folds,
                           n_jobs: int | None = 1) -> np.ndarray:
    """Out-of-fold code lengths (n, n_classes): each text priced by class models built
    without its fold, so a text never sees itself. ``model`` is refitted per fold."""
    out = np.empty((len(Xb), n_classes))
    for train, held_out in folds:
        model.fit(texts_by_class([Xb[i] for i in train], y_idx[train], n_classes))
        out[held_out] = model.code_lengths([Xb[i] for i in held_out], n_jobs)
    return out


def stratified_folds(y_idx: np.ndarray, cv: int, random_state) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled stratified folds; fewer than ``cv`` when the smallest class is smaller."""
    from sklearn.model_selection import StratifiedKFold

    smallest = int(np.bincount(y_idx).min())
    n_splits = min(int(cv), smallest)
    if n_splits < 2:
        raise InputError(f"cross-fitting needs at least 2 training texts in every class; the smallest class has "
                         f"{smallest}")
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(y_idx)), y_idx))
