"""``kcomp compress`` / ``kcomp decompress``: files of any size through any compressor.

Classical codecs stream in constant memory; ``lm`` goes through its own ``decompress_stream``.
Output is written to a temporary file beside the target and renamed only on success.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from kcomp.cli.common import add_compressor_arg
from kcomp.errors import InputError, OutputLimitError

#: default cap on what ``decompress`` writes. Streaming keeps memory constant, so the cap
#: guards the disk: a 1 MB bz2/zstd bomb can expand to terabytes. 4 GiB is far above what
#: kcomp's own workflows produce (texts and datasets of MBs; lm codes at kB/s) and lets a
#: 2 GB file through; ``--max-output 0`` lifts it.
DEFAULT_MAX_OUTPUT = 4 << 30

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """'100M' -> 104857600 (K/M/G/T and KiB.. are powers of 1024, KB/MB.. of 1000, as GNU
    tools read them); '0' or 'none' -> None (no limit). argparse type."""
    import argparse

    value = text.strip()
    if value.lower() in ("0", "none", "unlimited"):
        return None
    m = _SIZE.fullmatch(value)
    if not m or (m.group(3) and not m.group(2)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; use e.g. 100M, 1.5G, 4GiB, 500MB, or 0 for no limit")
    number, unit, tail = m.groups()
    base = 1000 if tail.lower() == "b" else 1024
    return int(float(number) * base ** ("kmgt".find(unit.lower()) + 1) + 0.5) if unit else int(float(number))


def _human(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} bytes"


def _stdin_or(path: str):
    return sys.stdin.buffer if path == "-" else path


def _stdout_or(path: str):
    return sys.stdout.buffer if path == "-" else path


def cmd_compress(args) -> int:
    from kcomp.files import compress_file

    target = args.output or (args.file + ".kc" if args.file != "-" else "-")
    t0 = time.perf_counter()
    n_in, n_out = compress_file(_stdin_or(args.file), _stdout_or(target), args.compressor, overwrite=args.force)
    if not args.quiet and target != "-":
        bpb = 8 * n_out / n_in if n_in else float("nan")
        print(f"{args.file}: {n_in} -> {n_out} bytes ({bpb:.3f} bits/byte, {args.compressor}, "
              f"{time.perf_counter() - t0:.2f}s) -> {target}", file=sys.stderr)
    return 0


def cmd_decompress(args) -> int:
    from kcomp.files import decompress_file

    if args.output:
        target = args.output
    elif args.file == "-":
        target = "-"
    elif args.file.endswith(".kc"):
        target = args.file[:-3]
    elif not Path(args.file).exists():
        raise InputError(f"{args.file}: no such file")
    else:
        raise InputError(f"{args.file}: does not end in .kc; give the output file with -o OUT ('-o -' = stdout)")
    try:
        decompress_file(_stdin_or(args.file), _stdout_or(target), args.compressor,
                        max_output=args.max_output, overwrite=args.force)
    except OutputLimitError:
        left = "output stopped there" if target == "-" else "no file written"
        raise OutputLimitError(f"{args.file}: decompresses to more than --max-output {_human(args.max_output)} "
                               f"({left}); raise it with --max-output SIZE, or 0 for no limit") from None
    return 0


def _add_file_args(p, default_output: str) -> None:
    p.add_argument("file", metavar="FILE", help="input file ('-' = stdin)")
    p.add_argument("-o", "--output", default=None, help=f"output file (default {default_output}; '-' = stdout)")
    p.add_argument("-f", "--force", action="store_true", help="replace an existing output file")


def add_parser(sub) -> None:
    p = sub.add_parser("compress", help="compress FILE with any compressor (lm included) to FILE.kc",
                       description="Write FILE ('-' = stdin) as a .kc file: a short header naming the "
                       "compressor, then its stream. Classical codecs stream in constant memory.")
    _add_file_args(p, "FILE.kc")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the size summary")
    add_compressor_arg(p, default="lm")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decompress a .kc file written by 'kcomp compress'",
                       description="Invert 'kcomp compress' in constant memory. The .kc header names the "
                       "compressor; streams without one (older files, plain .gz/.zst/...) need --compressor.")
    _add_file_args(p, "FILE without .kc")
    p.add_argument("--max-output", type=parse_size, default=DEFAULT_MAX_OUTPUT, metavar="SIZE",
                   help=f"stop with an error past SIZE of output, e.g. 100M, 2G (default {_human(DEFAULT_MAX_OUTPUT)}, "
                   "against decompression bombs; 0 = no limit)")
    add_compressor_arg(p, default=None)
    p.set_defaults(func=cmd_decompress)
