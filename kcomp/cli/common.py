"""Shared CLI pieces: the --compressor choice (from the registry), input options, -j/--n-jobs,
progress, --json output, tables and number formats."""

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


# -- inputs ---------------------------------------------------------------------------------
def add_directory_args(parser: argparse.ArgumentParser) -> None:
    """--include/--exclude globs for directory inputs (hidden and cache folders are always skipped)."""
    parser.add_argument("--include", action="append", default=[], metavar="GLOB",
                        help="directory input: read only files whose path or name matches GLOB (repeatable), "
                        "e.g. '*.py'; hidden files and cache folders (.git, __pycache__) are always skipped")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="directory input: skip files whose path, name or a parent folder matches GLOB "
                        "(repeatable), e.g. tests or '*.min.js'")


def add_input_args(parser: argparse.ArgumentParser, *, name_field: bool = False) -> None:
    """Options of a DIR_OR_FILE input read by :class:`kcomp.io.TextSource`."""
    parser.add_argument("--field", help="text field of a .jsonl/.json/.csv input (default: text, content, ...)")
    if name_field:
        parser.add_argument("--name-field", metavar="FIELD", help="field of a .jsonl/.json/.csv input naming "
                            "each sample in the output (default: #0, #1, ...)")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="skip rows whose text field is missing, null or not a string (they are counted and "
                        "reported) instead of stopping at the first")
    add_directory_args(parser)


def text_source(args: argparse.Namespace, path: str):
    """The :class:`kcomp.io.TextSource` that :func:`add_input_args`' options describe."""
    from kcomp.io import TextSource

    return TextSource(path, args.field, name_field=getattr(args, "name_field", None), include=args.include,
                      exclude=args.exclude, skip_bad_rows=args.skip_bad_rows)


def report_skipped(source) -> None:
    """Say on stderr what a pass over ``source`` skipped (bad rows), if anything."""
    if source.stats.bad_rows:
        note(source.stats.summary())


# -- workers and progress ---------------------------------------------------------------------
def add_n_jobs_arg(parser: argparse.ArgumentParser, what: str = "NCD") -> None:
    """The shared -j/--n-jobs option (worker processes; -1: all cores)."""
    parser.add_argument("--n-jobs", "-j", type=int, default=1, metavar="N",
                        help=f"worker processes for the {what} computation (-1: all cores; default 1)")


def add_progress_arg(parser: argparse.ArgumentParser) -> None:
    """-q/--quiet; without it long commands show progress on stderr: a bar on a terminal, one line
    every few seconds otherwise (logs, pipes)."""
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output on stderr")


def progress_setting(args: argparse.Namespace) -> bool:
    """The API's ``progress=`` value for these arguments (see :func:`kcomp._progress.progress_bar`)."""
    return not getattr(args, "quiet", False)


def progress_bar(args: argparse.Namespace, total: int | None, desc: str, unit: str = "it"):
    """A progress bar for a command's own loop, following -q/--quiet."""
    from kcomp._progress import progress_bar as make

    return make(total, desc=desc, unit=unit, progress=progress_setting(args))


# -- output ---------------------------------------------------------------------------------
def note(message: str) -> None:
    print(f"kcomp: note: {message}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"kcomp: warning: {message}", file=sys.stderr)


def format_bits(bits: float) -> str:
    """A size in bits as a whole number with thousands separators: 96,990."""
    return f"{round(bits):,}"


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
