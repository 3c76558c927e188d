"""Untrusted streams (issue 15): bounded decompression, constant-memory streaming, the CLI.

* every classical codec: round trips through the streaming API (hypothesis, with a tiny read
  size so every chunk/piece boundary is crossed), truncations and trailing bytes refused,
  ``max_output`` exact at the boundary;
* a 128 MB decompression bomb per codec decoded in a subprocess under an address-space cap
  (``RLIMIT_AS``): with ``max_output`` it stops with OutputLimitError, without it the same cap
  is hit (so the cap bites), and ``decompress_stream`` gets through all 200 MB under it;
* the CLI: a gzip of 256 MB of zeros decompresses under 200 MB peak RSS with the exact output;
  ``--max-output 100M`` stops it with one line and leaves no file; a bomb per codec through
  the CLI; headers, overwrite refusal, Ctrl-C.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kcomp
from kcomp import CorruptStreamError, OutputLimitError, get_compressor
from kcomp.compressors import streaming
from kcomp.files import MAGIC, compress_file, decompress_file

REPO = Path(__file__).resolve().parents[1]
CLASSIC = [s for s in ("deflate", "gzip", "bz2", "lzma", "zstd", "brotli", "lz4", "ppmd")
           if s in kcomp.list_compressors(available_only=True)]
#: bombs are made with fast levels (decoding does not depend on the level, except PPMd's
#: model order, which the spec carries)
BOMB_SPECS = {"deflate": "deflate:1", "gzip": "gzip:1", "bz2": "bz2:1", "lzma": "lzma:0", "zstd": "zstd:1",
              "brotli": "brotli:1", "lz4": "lz4", "ppmd": "ppmd:2"}
BOMB_BYTES = 128 << 20
PROPS = dict(deadline=None, database=None,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                    HealthCheck.function_scoped_fixture])
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1"}


class _Pipe(io.RawIOBase):
    """A non-seekable reader (like stdin) returning short reads."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), len(self._data), 7)
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


def _stream_compress(c, data: bytes, src_type=io.BytesIO) -> bytes:
    out = io.BytesIO()
    n_in, n_out = c.compress_stream(src_type(data), out)
    assert (n_in, n_out) == (len(data), len(out.getvalue()))
    return out.getvalue()


def _stream_decompress(c, blob: bytes, **kw) -> bytes:
    out = io.BytesIO()
    assert c.decompress_stream(io.BytesIO(blob), out, **kw) == len(out.getvalue())
    return out.getvalue()


# ---------------------------------------------------------------------------------------
# the streaming API
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", CLASSIC)
def test_every_classical_codec_streams(spec):
    assert get_compressor(spec).streams


@pytest.mark.parametrize("spec", CLASSIC)
def test_stream_round_trips(spec, monkeypatch):
    """Tiny reads (37 bytes) cross every chunk and piece boundary; streams and one-shot
    calls read each other's output, and max_output is exact at the boundary."""
    monkeypatch.setattr(streaming, "CHUNK", 37)
    c = get_compressor(spec)

    @settings(max_examples=12 if spec == "lzma" else 30, **PROPS)
    @given(st.binary(max_size=3000) | st.builds(lambda n, b: b * n, st.integers(0, 3000), st.binary(min_size=1, max_size=5)),
           st.booleans())
    def check(x, pipe):
        blob = _stream_compress(c, x, _Pipe if pipe else io.BytesIO)
        assert c.decompress(blob) == x
        assert _stream_decompress(c, c.compress(x)) == x
        assert _stream_decompress(c, blob, max_output=len(x)) == x
        if x:
            with pytest.raises(OutputLimitError):
                _stream_decompress(c, blob, max_output=len(x) - 1)
            with pytest.raises(OutputLimitError):
                c.decompress(blob, max_output=len(x) - 1)

    check()


@pytest.mark.parametrize("spec", CLASSIC)
def test_stream_equals_one_shot_on_real_files(spec, python_sources):
    """From a seekable file the streaming encoder knows the size: byte-identical output, except
    lz4, whose one-shot call codes a single-block frame differently (flags); both decode."""
    c = get_compressor(spec)
    for data in python_sources:
        blob = _stream_compress(c, data)
        assert spec == "lz4" or blob == c.compress(data)
        assert _stream_decompress(c, blob) == data


@pytest.mark.parametrize("spec", CLASSIC)
def test_truncated_and_extended_streams_are_refused_by_the_stream_api(spec, python_sources, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK", 512)
    c = get_compressor(spec)
    blob = c.compress(python_sources[0][:6000])
    cuts = sorted({0, 1, 3, len(blob) // 3, len(blob) // 2, len(blob) - 5, len(blob) - 4, len(blob) - 1}
                  | set(random.Random(0).sample(range(len(blob)), 20)))
    # two gzip members are one gzip file (ppmd's last block, checked before decoding, now
    # refuses a copy of its own stream appended)
    two_streams = [] if spec == "gzip" else [blob + blob]
    for bad in [blob[:k] for k in cuts] + [blob + b"\0junk"] + two_streams:
        with pytest.raises(CorruptStreamError):
            _stream_decompress(c, bad)


def test_max_output_is_validated():
    c = get_compressor("gzip")
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(kcomp.InputError):
            c.decompress_stream(io.BytesIO(c.compress(b"x")), io.BytesIO(), max_output=bad)


def test_gzip_reads_multi_member_files_with_padding():
    data = [b"first member\n", b"second\n" * 100]
    blob = gzip.compress(data[0]) + gzip.compress(data[1]) + b"\0" * 10
    assert get_compressor("gzip").decompress(blob) == b"".join(data)
    with pytest.raises(CorruptStreamError):
        get_compressor("gzip").decompress(blob + b"garbage")


# ---------------------------------------------------------------------------------------
# bombs under an address-space cap
# ---------------------------------------------------------------------------------------
_CHILD = r"""
import io, resource, sys
from kcomp import OutputLimitError, get_compressor
spec, path, mode = sys.argv[1:4]
bomb = open(path, "rb").read()
c = get_compressor(spec)
vm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + (64 << 20), resource.RLIM_INFINITY))

class Sink:
    n = 0
    def write(self, b):
        self.n += len(b)

try:
    if mode == "bounded":
        c.decompress(bomb, max_output=8 << 20)
        print("no limit hit")
    elif mode == "stream":
        sink = Sink()
        c.decompress_stream(io.BytesIO(bomb), sink)
        print("streamed", sink.n)
    else:
        print("decoded", len(c.decompress(bomb)))
except OutputLimitError as exc:
    print("limit:", exc)
except BaseException as exc:
    print("failed:", type(exc).__name__, exc)
"""


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """A 128 MB-of-zeros stream per codec, made by compress_stream from a sparse file."""
    folder = tmp_path_factory.mktemp("bombs")
    zeros = folder / "zeros"
    with open(zeros, "wb") as fh:
        fh.truncate(BOMB_BYTES)
    out = {}
    for family in CLASSIC:
        spec = BOMB_SPECS[family]
        out[family] = folder / f"{family}.bomb"
        with open(zeros, "rb") as src, open(out[family], "wb") as dst:
            get_compressor(spec).compress_stream(src, dst)
    zeros.unlink()
    return out


def _child(spec: str, path: Path, mode: str) -> str:
    proc = subprocess.run([sys.executable, "-c", _CHILD, spec, str(path), mode], env=ENV,
                          capture_output=True, text=True, timeout=300)
    return proc.stdout.strip() + proc.stderr.strip()[-500:]


@pytest.mark.slow
@pytest.mark.parametrize("family", CLASSIC)
def test_bomb_stops_at_max_output_under_a_memory_cap(family, bombs):
    spec = BOMB_SPECS[family]
    assert bombs[family].stat().st_size < BOMB_BYTES // 200  # a real bomb: > 200:1
    assert _child(spec, bombs[family], "bounded").startswith("limit:"), family
    # the cap is real: decoding the whole bomb into memory does not fit under it
    assert "MemoryError" in _child(spec, bombs[family], "unbounded"), family
    # and streaming gets through all of it under the same cap
    assert _child(spec, bombs[family], "stream") == f"streamed {BOMB_BYTES}", family


# ---------------------------------------------------------------------------------------
# the CLI
# ---------------------------------------------------------------------------------------
#: runs the CLI and reports its peak RSS (VmHWM: per process image, unlike ru_maxrss, which
#: on Linux keeps the forking parent's size across exec)
_RUN_CLI = """import atexit, sys
def hwm():
    print(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).strip(), file=sys.stderr)
atexit.register(hwm)
from kcomp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _kcomp(args: list[str]) -> tuple[int, str, int]:
    """Run the CLI with ARGS; returns (exit code, stderr, peak RSS in bytes)."""
    proc = subprocess.run([sys.executable, "-c", _RUN_CLI, *args], env=ENV, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    *lines, hwm = proc.stderr.decode().splitlines(keepends=True)
    assert hwm.startswith("VmHWM:") and hwm.split()[2] == "kB", hwm
    return proc.returncode, "".join(lines), int(hwm.split()[1]) * 1024


def _zeros_gzip(path: Path, n_bytes: int) -> None:
    block = bytes(1 << 20)
    with gzip.GzipFile(path, "wb", compresslevel=6, mtime=0) as fh:
        for _ in range(n_bytes >> 20):
            fh.write(block)


def _is_zeros(path: Path, n_bytes: int) -> bool:
    """``path`` holds exactly ``n_bytes`` zero bytes."""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            if block.count(0) != len(block):
                return False
    return path.stat().st_size == n_bytes


@pytest.mark.slow
def test_cli_decompresses_a_gzip_of_256mb_zeros_in_constant_memory(tmp_path):
    n = 256 << 20
    src, out = tmp_path / "zeros.gz", tmp_path / "zeros"
    _zeros_gzip(src, n)
    code, err, rss = _kcomp(["decompress", "-c", "gzip", str(src), "-o", str(out)])
    assert code == 0, err
    assert rss < 200 << 20, f"peak RSS {rss / 2**20:.0f} MiB"
    assert _is_zeros(out, n)
    out.unlink()
    code, err, rss = _kcomp(["decompress", "-c", "gzip", str(src), "-o", str(out), "--max-output", "100M"])
    assert code == 2 and err.count("\n") == 1 and "--max-output 100 MiB" in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zeros.gz"]  # no output, no temporary file


@pytest.mark.slow
@pytest.mark.parametrize("family", CLASSIC)
def test_cli_stops_every_codecs_bomb(family, bombs, tmp_path):
    out = tmp_path / "out"
    code, err, rss = _kcomp(["decompress", "-c", BOMB_SPECS[family], str(bombs[family]), "-o", str(out),
                             "--max-output", "16M"])
    assert code == 2 and "--max-output 16 MiB" in err and err.count("\n") == 1, err
    assert rss < 200 << 20 and not list(tmp_path.iterdir())


@pytest.mark.parametrize("spec", CLASSIC)
def test_kc_files_name_their_codec(spec, tmp_path, python_sources):
    src = tmp_path / "a.py"
    src.write_bytes(python_sources[1])
    n_in, n_out = compress_file(src, tmp_path / "a.py.kc", spec)
    kc = (tmp_path / "a.py.kc").read_bytes()
    assert (n_in, n_out) == (src.stat().st_size, len(kc)) and kc.startswith(MAGIC)
    assert decompress_file(tmp_path / "a.py.kc", tmp_path / "back") == n_in
    assert (tmp_path / "back").read_bytes() == src.read_bytes()
    # a stream without the header (older .kc files, plain .gz ...) needs the codec
    (tmp_path / "old.kc").write_bytes(get_compressor(spec).compress(src.read_bytes()))
    with pytest.raises(kcomp.InputError, match="no kcomp header"):
        decompress_file(tmp_path / "old.kc", tmp_path / "old")
    decompress_file(tmp_path / "old.kc", tmp_path / "old", spec)
    assert (tmp_path / "old").read_bytes() == src.read_bytes()


def test_kc_header_damage_is_a_clear_error(tmp_path):
    good = MAGIC + bytes([1, 4]) + b"gzip" + gzip.compress(b"x")
    for blob, pattern in ((MAGIC + bytes([9, 4]) + b"gzip", "version 9"), (MAGIC + b"\x01", "truncated"),
                          (MAGIC + bytes([1, 3]) + b"\xff\xfe\x00", "damaged"),
                          (MAGIC + bytes([1, 4]) + b"nope", "unknown compressor")):
        (tmp_path / "bad.kc").write_bytes(blob)
        with pytest.raises(kcomp.KcompError, match=pattern):
            decompress_file(tmp_path / "bad.kc", tmp_path / "out")
    (tmp_path / "good.kc").write_bytes(good)
    with pytest.raises(kcomp.InputError, match="written by gzip:9, not zstd"):
        decompress_file(tmp_path / "good.kc", tmp_path / "out", "zstd")
    assert decompress_file(tmp_path / "good.kc", tmp_path / "out", "gzip:1") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.kc", "good.kc", "out"]


def test_cli_refuses_to_overwrite_without_force(tmp_path):
    from kcomp.cli import main

    src = tmp_path / "t.txt"
    src.write_bytes(b"some text " * 100)
    assert main(["compress", str(src), "-c", "zstd", "-q"]) == 0
    assert main(["compress", str(src), "-c", "zstd", "-q"]) == 2  # t.txt.kc exists
    assert main(["decompress", str(src) + ".kc"]) == 2  # t.txt exists
    src.write_bytes(b"changed")
    assert main(["decompress", str(src) + ".kc", "--force"]) == 0
    assert src.read_bytes() == b"some text " * 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt", "t.txt.kc"]


def test_cli_pipes_and_errors(tmp_path):
    data = b"piped bytes\n" * 1000
    kc = subprocess.run([sys.executable, "-m", "kcomp", "compress", "-c", "ppmd", "-"], input=data, env=ENV,
                        capture_output=True, check=True).stdout
    back = subprocess.run([sys.executable, "-m", "kcomp", "decompress", "-"], input=kc, env=ENV,
                          capture_output=True, check=True).stdout
    assert back == data
    for args, pattern in ((["decompress", str(tmp_path / "none.kc")], "no such file"),
                          (["decompress", str(tmp_path), "-o", str(tmp_path / "o")], "is a directory"),
                          (["decompress", "-c", "gzip", "-"], "cannot decompress"),
                          (["decompress", "--max-output", "12parsecs", "x.kc"], "not a size")):
        proc = subprocess.run([sys.executable, "-m", "kcomp", *args], input=b"not gzip", env=ENV, capture_output=True)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and pattern in err and "Traceback" not in err, (args, err)


@pytest.mark.parametrize("command", ["compress", "decompress"])
def test_ctrl_c_leaves_no_partial_file(command, tmp_path):
    """SIGINT while the input is still arriving: one line, exit 130, nothing left behind."""
    out = tmp_path / "out"
    args = ["compress", "-c", "gzip"] if command == "compress" else ["decompress", "-c", "gzip"]
    proc = subprocess.Popen([sys.executable, "-m", "kcomp", *args, "-", "-o", str(out)], env=ENV,
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    head = gzip.compress(os.urandom(300_000))[:200_000] if command == "decompress" else os.urandom(200_000)
    proc.stdin.write(head)
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.*.part")):  # the command is writing: interrupt it
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and err.decode() == "kcomp: interrupted\n", err
    assert not list(tmp_path.iterdir())
