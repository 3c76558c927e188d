"""Cost of the ``ppmd`` codec's guard (per-block CRC32s checked before pyppmd sees the code):
bytes per stream and encode/decode speed against the unguarded frame kcomp used before
(varint length + PPMd code + CRC32 of the data, decoded without any check before pyppmd),
rebuilt here from the same pyppmd calls as the baseline and timed in the same run.

    python bench/ppmd_guard.py
"""

from __future__ import annotations

import random
import sys
import sysconfig
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import debian_texts, save_results  # noqa: E402
from kcomp import get_compressor  # noqa: E402
from kcomp.compressors import ppmd  # noqa: E402

ORDER, MEMORY = 6, 16 << 20
REPEATS = 5


def old_compress(data: bytes) -> bytes:
    import pyppmd

    encoder = pyppmd.Ppmd7Encoder(ORDER, MEMORY)
    code = ppmd.encode_in_pieces(encoder, data) + encoder.flush()
    return ppmd._varint(len(data)) + code + zlib.crc32(data).to_bytes(4, "little")


def old_decompress(stream: bytes, length: int) -> bytes:
    """The old decode: the code goes to pyppmd unchecked; only the output's CRC32 is compared."""
    import pyppmd

    code = stream[len(ppmd._varint(length)) : -4]
    decoder = pyppmd.Ppmd7Decoder(ORDER, MEMORY)
    out = b"".join(ppmd.run_decoder(decoder, ppmd.in_pieces(code), length, 1 << 20, "old"))
    assert zlib.crc32(out) == int.from_bytes(stream[-4:], "little")
    return out


def best_seconds(fn, *args) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def inputs() -> dict[str, list[bytes]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    source = b"".join(p.read_bytes() for p in sorted(stdlib.glob("*.py")))[:2_000_000]
    return {"debian descriptions (NCD-sized)": [t.encode() for t in debian_texts(300)],
            "Python stdlib, 2 MB": [source],
            "random bytes, 1 MB": [random.Random(0).randbytes(1_000_000)]}


def main() -> None:
    codec, headerless = get_compressor(f"ppmd:{ORDER}"), get_compressor(f"ppmd:{ORDER}:headerless")
    empty_old, empty_new = len(old_compress(b"")), len(codec.compress(b""))
    rows, raw = [], {}
    for name, items in inputs().items():
        total = sum(map(len, items))
        old = [old_compress(x) for x in items]
        new = [codec.compress(x) for x in items]
        assert all(codec.decompress(s) == x for s, x in zip(new, items))
        old_bytes, new_bytes = sum(map(len, old)), sum(map(len, new))
        old_headerless = sum(len(s) - empty_old for s in old)
        new_headerless = sum(headerless.size_bits(x) for x in items) / 8
        t = {"old_encode": best_seconds(lambda: [old_compress(x) for x in items]),
             "new_encode": best_seconds(lambda: [codec.compress(x) for x in items]),
             "old_decode": best_seconds(lambda: [old_decompress(s, len(x)) for s, x in zip(old, items)]),
             "new_decode": best_seconds(lambda: [codec.decompress(s) for s in new])}
        raw[name] = {"items": len(items), "input_bytes": total, "old_bytes": old_bytes, "new_bytes": new_bytes,
                     "old_headerless_bytes": old_headerless, "new_headerless_bytes": new_headerless, **t}
        rows.append([name, len(items), f"{total:,}", f"{(new_bytes - old_bytes) / len(items):+.1f}",
                     f"{(new_headerless - old_headerless) / len(items):+.2f}",
                     f"{total / t['old_encode'] / 1e6:.2f} / {total / t['new_encode'] / 1e6:.2f}",
                     f"{total / t['old_decode'] / 1e6:.2f} / {total / t['new_decode'] / 1e6:.2f}"])
        print(rows[-1], flush=True)
    save_results(
        "ppmd_guard", command="python bench/ppmd_guard.py",
        tables=[{"title": f"ppmd:{ORDER}: guarded frame (v1) vs the old unguarded frame, same run",
                 "columns": ["input", "streams", "input bytes", "bytes/stream (full)", "bytes/stream (headerless)",
                             "encode MB/s old / new", "decode MB/s old / new"],
                 "rows": rows}],
        notes=(f"Empty-input stream: {empty_old} bytes old, {empty_new} new (headerless subtracts it). "
               f"Speeds: best of {REPEATS}; the machine (2 cores) is shared with other engineers, so "
               "absolute MB/s may be low; old and new ran back to back in one process."),
        **raw)


if __name__ == "__main__":
    main()
