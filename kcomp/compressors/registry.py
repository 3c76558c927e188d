"""One registry of compressor families, addressed by spec strings.

A spec is ``family[:level][:flag...]``, e.g. ``gzip``, ``zstd:19:long``, ``brotli:11``,
``gzip:headerless``, ``lm:weights=PATH``. Flags are family-specific except ``headerless`` (every
family); specs are case-insensitive except the value of a ``key=value`` flag.

Families register themselves: every module of :mod:`kcomp.compressors` calls :func:`register`
on import (the package finds its modules with :mod:`pkgutil`), and installed packages add
families through the ``kcomp.compressors`` entry-point group (name = family, object = a
factory ``factory(level=None, flags=(), headerless=False) -> Compressor``), looked up on the
first registry query and imported only when used.

:func:`get_compressor` builds one instance per spec and hands out that same instance again
(``K(x, "lm")`` loads the weights once). Compressors are not changed by use: everything that
changes a size (level, flags, ``headerless``) is part of the spec.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Callable

from kcomp.compressors.base import Compressor
from kcomp.constants import ENTRY_POINT_GROUP
from kcomp.errors import UnknownCompressorError

#: family name -> factory(level, flags, headerless) -> Compressor
_FAMILIES: dict[str, Callable[..., Compressor]] = {}
#: family name -> short human description (for --help and list_compressors)
_DESCRIPTIONS: dict[str, str] = {}
#: family names whose factory needs an optional dependency that may be missing
_AVAILABILITY: dict[str, Callable[[], str | None]] = {}


def register(
    family: str,
    factory: Callable[..., Compressor],
    description: str = "",
    *,
    availability: Callable[[], str | None] | None = None,
    replace: bool = False,
) -> None:
    """Register ``factory(level=None, flags=(), headerless=False)`` under ``family``.

    ``availability`` returns None when usable, else a message saying what to install.
    """
    if not replace and family in _FAMILIES:
        raise ValueError(f"compressor family {family!r} is already registered")
    _FAMILIES[family] = factory
    _DESCRIPTIONS[family] = description
    if availability is not None:
        _AVAILABILITY[family] = availability
    else:
        _AVAILABILITY.pop(family, None)
    _build.cache_clear()


@functools.cache
def _load_plugins() -> None:
    """Register the families of installed plugins (entry-point group ``kcomp.compressors``),
    once. Built-in families win a name clash; a plugin is imported only when first used."""
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _FAMILIES:
            register(ep.name, functools.partial(_call_plugin, ep), f"plugin {ep.value}",
                     availability=functools.partial(_plugin_problem, ep))


def _call_plugin(ep: importlib.metadata.EntryPoint, **kwargs) -> Compressor:
    return ep.load()(**kwargs)


def _plugin_problem(ep: importlib.metadata.EntryPoint) -> str | None:
    try:
        ep.load()
    except Exception as exc:  # a broken plugin must not break kcomp: report it when asked for
        return f"plugin {ep.value} failed to load ({type(exc).__name__}: {exc})"
    return None


def list_compressors(*, available_only: bool = False) -> list[str]:
    """Registered family names (sorted); ``available_only`` drops those missing a dependency."""
    _load_plugins()
    names = sorted(_FAMILIES)
    if available_only:
        names = [n for n in names if _AVAILABILITY.get(n, lambda: None)() is None]
    return names


def describe_compressors() -> dict[str, str]:
    """Family name -> one-line description."""
    _load_plugins()
    return {n: _DESCRIPTIONS[n] for n in sorted(_FAMILIES)}


def parse_spec(spec: str) -> tuple[str, int | None, tuple[str, ...], bool]:
    """Split ``family[:level][:flag...]`` into (family, level, flags, headerless)."""
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownCompressorError(
            f"compressor must be a non-empty spec string such as 'gzip' or 'zstd:19'; got {spec!r}; "
            f"available: {', '.join(list_compressors())}"
        )
    family, *rest = spec.strip().split(":")
    family = family.lower()
    level: int | None = None
    flags: list[str] = []
    headerless = False
    for token in rest:
        key, eq, value = token.partition("=")
        token = key.lower() + eq + value  # a ``key=value`` flag keeps its value's case (paths)
        if token.lstrip("-").isdigit():
            if level is not None:
                raise UnknownCompressorError(f"{spec!r}: more than one level given")
            level = int(token)
        elif token == "headerless":
            headerless = True
        elif token:
            flags.append(token)
    return family, level, tuple(flags), headerless


def get_compressor(spec: str | Compressor) -> Compressor:
    """The compressor for ``spec``, built once per spec and shared (a Compressor passes through
    unchanged)."""
    if isinstance(spec, Compressor):
        return spec
    _load_plugins()
    return _build(*parse_spec(spec))


@functools.lru_cache(maxsize=128)
def _build(family: str, level: int | None, flags: tuple[str, ...], headerless: bool) -> Compressor:
    factory = _FAMILIES.get(family)
    if factory is None:
        raise UnknownCompressorError(
            f"unknown compressor {family!r}; available: {', '.join(list_compressors())}"
        )
    missing = _AVAILABILITY.get(family, lambda: None)()
    if missing is not None:
        raise UnknownCompressorError(f"compressor {family!r} is not usable here: {missing}")
    return factory(level=level, flags=flags, headerless=headerless)


def refuse_flags(family: str, flags: tuple[str, ...], allowed: tuple[str, ...] = ()) -> None:
    """Raise a clear error for flags a family does not understand."""
    bad = [f for f in flags if f not in allowed]
    if bad:
        extra = f"; allowed: {', '.join(allowed)}" if allowed else ""
        raise UnknownCompressorError(f"{family}: unknown option(s) {', '.join(bad)}{extra}, plus 'headerless'")
