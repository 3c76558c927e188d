"""Input normalisation shared by every estimate: str is UTF-8 encoded, bytes pass through."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kcomp.errors import InputError

Text = str | bytes


def as_bytes(x: object, *, name: str = "input") -> bytes:
    """Return ``x`` as bytes: ``str`` is encoded as UTF-8, bytes-likes are copied."""
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        try:
            return x.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise InputError(f"{name} is a str that cannot be encoded as UTF-8: {exc}") from exc
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    raise InputError(f"{name} must be str or bytes, got {type(x).__name__}")


def as_bytes_list(texts: Iterable[object], *, name: str = "texts", allow_empty_list: bool = False) -> list[bytes]:
    """Encode a sequence of texts that are all ``str`` or all ``bytes`` (never a mix).

    numpy arrays of str/bytes objects are accepted. A bare ``str``/``bytes`` is refused,
    because iterating it would silently treat every character as a sample.
    """
    if isinstance(texts, (str, bytes, bytearray)):
        raise InputError(f"{name} must be a sequence of texts, not a single {type(texts).__name__}")
    try:
        items = list(texts)
    except TypeError as exc:
        raise InputError(f"{name} must be an iterable of str or bytes, got {type(texts).__name__}") from exc
    if not items and not allow_empty_list:
        raise InputError(f"{name} is empty: at least one text is needed")
    kinds = set()
    out = []
    for i, item in enumerate(items):
        if hasattr(item, "item") and not isinstance(item, (str, bytes)):  # numpy scalar
            item = item.item()
        if isinstance(item, str):
            kinds.add("str")
        elif isinstance(item, (bytes, bytearray, memoryview)):
            kinds.add("bytes")
        else:
            raise InputError(f"{name}[{i}] must be str or bytes, got {type(item).__name__}")
        out.append(as_bytes(item, name=f"{name}[{i}]"))
    if len(kinds) > 1:
        raise InputError(f"{name} mixes str and bytes; pass all str (encoded as UTF-8) or all bytes")
    return out


def check_same_kind(*groups: Sequence[object], names: Sequence[str]) -> None:
    """Refuse str in one group and bytes in another (e.g. str train set, bytes test set)."""
    seen: dict[str, str] = {}
    for group, name in zip(groups, names):
        for item in group:
            kind = "str" if isinstance(item, str) else "bytes"
            seen.setdefault(kind, name)
            break
    if len(seen) > 1:
        raise InputError(f"{seen.get('str')} holds str but {seen.get('bytes')} holds bytes; use one type throughout")
