"""Shared CLI pieces: the --compressor choice (from the registry), --json output, tables."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from kcomp._json import json_safe
from kcomp.compressors import get_compressor, list_compressors


def compressor_spec(value: str) -> str:
    """argparse type: validate a compressor spec against the registry."""
    from kcomp.errors import UnknownCompressorError

    try:
        return get_compressor(value).spec
    except UnknownCompressorError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_compressor_arg(parser: argparse.ArgumentParser, default: str = "gzip", *, multiple: bool = False) -> None:
    names = ", ".join(list_compressors())
    if multiple:
        parser.add_argument("--compressor", "-c", dest="compressors", action="append", type=compressor_spec,
                            metavar="SPEC", help=f"compressor spec, repeatable (default: {default}); families: {names}")
    else:
        parser.add_argument("--compressor", "-c", default=default, type=compressor_spec, metavar="SPEC",
                            help=f"compressor spec FAMILY[:LEVEL][:FLAG] (default: {default}); families: {names}")


def add_json_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")


def print_json(obj) -> None:
    json.dump(json_safe(obj), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def format_table(headers: Sequence[str], rows: Sequence[Sequence], floatfmt: str = ".4g") -> str:
    """A plain aligned text table (Markdown pipe style)."""
    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)
