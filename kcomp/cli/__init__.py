"""The ``kcomp`` command line: a thin layer over the public API.

Each feature lives in its own module exposing ``add_parser(subparsers)``; the parser it adds
sets ``func=handler(args) -> int``. Compressor choices come from the registry.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from kcomp.errors import KcompError

#: feature modules under kcomp.cli, each adding its own subcommands
_COMMAND_MODULES = ("core", "classify", "score", "codec", "lm", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KcompError as exc:
        print(f"kcomp: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:  # outputs are written atomically: nothing partial is left
        print("kcomp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
