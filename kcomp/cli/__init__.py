"""The ``kcomp`` command line: a thin layer over the public API.

Each feature lives in its own module exposing ``add_parser(subparsers)``; the parser it adds
sets ``func=handler(args) -> int``. Compressor choices come from the registry.

Errors a user can cause never end in a traceback: :func:`main` turns them into one line
``kcomp: error: ...`` with exit status 2, and Ctrl-C into ``kcomp: interrupted`` with exit
status 130 (commands remove their partial output files themselves). Set ``KCOMP_DEBUG=1`` to
see the traceback of a ValueError/OSError instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from kcomp.errors import KcompError

#: feature modules under kcomp.cli, each adding its own subcommands
_COMMAND_MODULES = ("core", "classify", "score", "lm", "demo", "axioms")
#: exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells report it
EXIT_INTERRUPTED = 130
#: exit status of a user error (bad input, missing file), as argparse uses
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the subcommand parsers inherit it)."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kcomp",
        description="Compression-based learning: K(x), NCD, classifiers and dataset scoring. "
        "Sizes are in bits. Use 'kcomp COMMAND --help' for details.",
    )
    from kcomp import __version__

    parser.add_argument("--version", action="version", version=f"kcomp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"kcomp.cli.{name}").add_parser(sub)
    return parser


def _error_line(exc: BaseException) -> str:
    """One line for the user: the message, with the file for OS errors."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return f"{where}{exc.strerror}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, KcompError) else f"{text} ({type(exc).__name__})"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    from kcomp.cli.common import warn

    warn(" ".join(str(message).split()))


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (0 ok, 2 user error, 130 interrupted)."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "func", None):
                parser.print_help()
                return EXIT_USAGE
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("kcomp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. 'kcomp matrix ... | head': stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except (KcompError, OSError, ValueError) as exc:  # KcompError first: user errors by design
        if not isinstance(exc, KcompError) and os.environ.get("KCOMP_DEBUG"):
            raise
        print(f"kcomp: error: {_error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
