"""``kcomp compress``, ``kcomp decompress`` (any registered compressor) and ``kcomp train`` (lm weights)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kcomp.cli.common import add_compressor_arg
from kcomp.errors import InputError

_LM_MAGIC = b"KCLM"


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    return p.read_bytes()


def _write(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(path).write_bytes(data)


def cmd_compress(args) -> int:
    from kcomp.compressors import get_compressor

    data = _read(args.file)
    c = get_compressor(args.compressor)
    t0 = time.perf_counter()
    out = c.compress(data)
    dt = time.perf_counter() - t0
    target = args.output or (args.file + ".kc" if args.file != "-" else "-")
    _write(target, out)
    if not args.quiet and target != "-":
        bpb = 8 * len(out) / len(data) if data else float("nan")
        print(f"{args.file}: {len(data)} -> {len(out)} bytes ({bpb:.3f} bits/byte, {c.spec}, {dt:.2f}s) -> {target}",
              file=sys.stderr)
    return 0


def cmd_decompress(args) -> int:
    from kcomp.compressors import get_compressor

    data = _read(args.file)
    spec = args.compressor
    if spec is None:
        if data.startswith(_LM_MAGIC):
            spec = "lm"  # the lm container names its own mode and model
        else:
            raise InputError(f"{args.file}: not an lm stream; say which codec made it with --compressor SPEC")
    c = get_compressor(spec)
    out = c.decompress(data)
    if args.output:
        target = args.output
    elif args.file.endswith(".kc"):
        target = args.file[:-3]
    else:
        raise InputError("give the output file with -o OUT (or '-o -' for stdout)")
    _write(target, out)
    return 0


def cmd_train(args) -> int:
    """Train weights into the working directory (never into the package): use them with
    ``-c lm:weights=PATH`` in any command."""
    from kcomp.lm_coder.train import run_from_args
    from kcomp.lm_coder.weights import DEFAULT_WEIGHTS

    return run_from_args(args, default_out=str(Path.cwd() / f"{DEFAULT_WEIGHTS}.safetensors"))


def add_parser(sub) -> None:
    p = sub.add_parser("compress", help="compress FILE with any compressor (lm included) to FILE.kc",
                       description="Write the compressed stream of FILE ('-' = stdin).")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", default=None, help="output file (default FILE.kc; '-' = stdout)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the size summary")
    add_compressor_arg(p, default="lm")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decompress a stream written by 'kcomp compress'",
                       description="Invert 'kcomp compress'. lm streams identify themselves; other codecs "
                       "need --compressor.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", default=None, help="output file (default: FILE without .kc; '-' = stdout)")
    add_compressor_arg(p, default=None)
    p.set_defaults(func=cmd_decompress)

    from kcomp.lm_coder.train import add_train_arguments

    p = sub.add_parser("train", help="train lm weights on the offline corpus (the shipped recipe by default)",
                       description="Train the lm coder's byte-level transformer (see kcomp/lm_coder/README.md). "
                       "CPU, 1 thread, about 20 minutes with the defaults. Writes to the working directory "
                       "unless --out says otherwise; any command then uses the weights with "
                       "-c lm:weights=PATH.")
    add_train_arguments(p)
    p.set_defaults(func=cmd_train)
