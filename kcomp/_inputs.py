"""The one input boundary: every str/bytes a user passes becomes bytes here.

``str`` is encoded as UTF-8 and bytes-likes pass through; a collection is all ``str`` or all
``bytes``, never a mix. Errors name the offending item ("texts[3]", "sample #18") so a bad row
in a large file can be found. Files and JSONL/CSV rows are read by :mod:`kcomp.io`, which hands
its rows to these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from kcomp.errors import InputError

Text = str | bytes


def _label(name: str, index: int | None) -> str:
    return name if index is None else f"{name} #{index}"


def _unwrap(item: object) -> object:
    """A numpy scalar (np.str_, np.bytes_, a 0-d object array element) as its Python value."""
    if isinstance(item, np.generic):
        return item.item()
    return item


def kind_of(item: object, *, name: str = "input", index: int | None = None) -> str:
    """``"str"`` or ``"bytes"``; anything else is an :class:`InputError` naming the item."""
    item = _unwrap(item)
    if isinstance(item, str):
        return "str"
    if isinstance(item, (bytes, bytearray, memoryview)):
        return "bytes"
    what = "null (missing value)" if item is None else type(item).__name__
    raise InputError(f"{_label(name, index)} must be str or bytes, got {what}")


def to_bytes(item: object, *, name: str = "input", index: int | None = None, allow_str: bool = True) -> bytes:
    """``item`` as bytes: ``str`` encoded as UTF-8, bytes-likes copied.

    ``name``/``index`` label the item in errors (``to_bytes(row, name="sample", index=18)`` ->
    "sample #18 ..."). ``allow_str=False`` refuses text (codecs that only take bytes).
    """
    item = _unwrap(item)
    if isinstance(item, bytes):
        return item
    if isinstance(item, (bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str) and allow_str:
        try:
            return item.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise InputError(f"{_label(name, index)} is a str that cannot be encoded as UTF-8: {exc}") from exc
    if isinstance(item, str):
        raise InputError(f"{_label(name, index)} must be bytes (encode text first), got str")
    kind_of(item, name=name, index=index)  # raises with the type named
    raise AssertionError("unreachable")


def as_bytes(x: object, *, name: str = "input") -> bytes:
    """Return ``x`` as bytes: ``str`` is encoded as UTF-8, bytes-likes are copied."""
    return to_bytes(x, name=name)


def _as_list(texts: Iterable[object], name: str) -> list:
    if isinstance(texts, (str, bytes, bytearray)):
        raise InputError(f"{name} must be a sequence of texts, not a single {type(texts).__name__}")
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        if texts.ndim == 2 and texts.shape[1] == 1:  # a single text column (e.g. from a ColumnTransformer)
            texts = texts[:, 0]
        else:
            raise InputError(f"{name} must be a 1-d sequence of texts, got an array of shape {texts.shape}")
    try:
        return list(texts)
    except TypeError as exc:
        raise InputError(f"{name} must be an iterable of str or bytes, got {type(texts).__name__}") from exc


def texts_and_kind(texts: Iterable[object], *, name: str = "texts",
                   allow_empty_list: bool = False) -> tuple[list[bytes], str | None]:
    """Encode texts that are all ``str`` or all ``bytes``; return ``(bytes list, "str"|"bytes")``.

    numpy arrays of str/bytes objects (1-d, or one column) are accepted. A bare ``str``/``bytes``
    is refused, because iterating it would silently treat every character as a sample. The kind
    is None only for an allowed empty list.
    """
    items = _as_list(texts, name)
    if not items and not allow_empty_list:
        raise InputError(f"{name} is empty: at least one text is needed")
    encoder = SameKindEncoder(name=name, numbering="[]")
    return [encoder(item, i) for i, item in enumerate(items)], encoder.kind


def as_bytes_list(texts: Iterable[object], *, name: str = "texts", allow_empty_list: bool = False) -> list[bytes]:
    """Encode a sequence of texts that are all ``str`` or all ``bytes`` (never a mix); see
    :func:`texts_and_kind`."""
    return texts_and_kind(texts, name=name, allow_empty_list=allow_empty_list)[0]


class SameKindEncoder:
    """Encodes a stream of samples one by one and refuses a mix of str and bytes.

    ``encoder(item, i)`` returns bytes; errors name the sample (``samples #i``, or
    ``samples[i]`` with ``numbering="[]"``) and, for a mix, the first sample of the other kind.
    """

    def __init__(self, *, name: str = "sample", numbering: str = "#") -> None:
        self.name = name
        self.numbering = numbering
        self.kind: str | None = None
        self._first: int | None = None

    def _where(self, index: int) -> str:
        return f"{self.name}[{index}]" if self.numbering == "[]" else f"{self.name} #{index}"

    def __call__(self, item: object, index: int) -> bytes:
        kind = kind_of(item, name=self._where(index))
        if self.kind is None:
            self.kind, self._first = kind, index
        elif kind != self.kind:
            raise InputError(f"{self.name} mixes str and bytes ({self._where(index)} is {kind}, "
                             f"{self._where(self._first)} is {self.kind}); pass all str (encoded as UTF-8) or all bytes")
        return to_bytes(item, name=self._where(index))


def check_same_kind(*groups: Sequence[object], names: Sequence[str]) -> None:
    """Refuse str in one group and bytes in another (e.g. str train set, bytes test set)."""
    seen: dict[str, str] = {}
    for group, name in zip(groups, names):
        for item in group:
            seen.setdefault(kind_of(item, name=name), name)
            break
    if len(seen) > 1:
        raise InputError(f"{seen.get('str')} holds str but {seen.get('bytes')} holds bytes; use one type throughout")


def window_warning(compressor: object, lengths: Iterable[int], *, separator: bytes | str = b" ") -> str | None:
    """A one-line warning when a joint ``x + separator + y`` of these input lengths (bytes) reaches
    past the codec's ``window``, else None.

    Past the window the codec no longer sees ``x`` while coding ``y``, so C(xy), K(y|x) and NCD
    overestimate (gzip gives NCD(x, x) = 0.9 on a 50 KB text instead of about 0). The message
    names the registered fast codecs whose window does fit, read from their ``window`` attributes.
    """
    from kcomp.compressors import get_compressor, list_compressors

    comp = get_compressor(compressor)
    longest = max(lengths, default=0)
    needed = longest + len(to_bytes(separator, name="separator"))
    if comp.window is None or needed <= comp.window:
        return None
    fits = []
    for family in list_compressors(available_only=True):
        other = get_compressor(family)
        if other.cost == "fast" and (other.window is None or other.window >= needed) and other.spec not in fits:
            fits.append(other.spec)
    return (f"an input of {longest:,} bytes exceeds {comp.spec}'s {comp.window:,}-byte window: the joint cannot "
            "see x while coding y, so NCD and K(y|x) are overestimated (NCD of a text with itself is far from 0); "
            f"codecs whose window fits: {', '.join(fits) or 'none registered'}")
