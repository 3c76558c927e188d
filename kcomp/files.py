"""Whole files through any compressor in constant memory: the ``.kc`` format and safe writing.

A ``.kc`` file is a short header naming the compressor, then that compressor's own stream::

    b"KCMP" | version (1 byte, = 1) | spec length n (1 byte) | spec (n ASCII bytes, e.g. b"zstd:19")

so :func:`decompress_file` needs no compressor. Streams written before the header existed
decode when the compressor is given; old ``lm`` streams name themselves (magic ``KCLM``).
A path given as output is written through a temporary file beside it, renamed only on
success: an error or Ctrl-C leaves no partial file, and an existing file is replaced only
with ``overwrite=True``.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from kcomp.compressors import Compressor, get_compressor
from kcomp.errors import CorruptStreamError, InputError

MAGIC = b"KCMP"
VERSION = 1
#: ``lm`` streams from before the header: they start with their own magic
_LM_MAGIC = b"KCLM"

PathOrFile = str | os.PathLike | BinaryIO


def kc_header(compressor: Compressor) -> bytes:
    """The ``.kc`` header naming ``compressor`` (6 bytes plus its spec)."""
    spec = compressor.spec.encode("ascii")
    if len(spec) > 255:
        raise InputError(f"compressor spec {compressor.spec!r} is too long for a .kc header (255 bytes at most)")
    return MAGIC + bytes([VERSION, len(spec)]) + spec


def compress_file(src: PathOrFile, dst: PathOrFile, compressor: str | Compressor = "gzip", *,
                  overwrite: bool = False) -> tuple[int, int]:
    """Write the ``.kc`` file of ``src`` (a path or binary file) to ``dst``, in constant memory for
    codecs that stream. Returns (bytes read, bytes written, header included)."""
    c = get_compressor(compressor)
    header = kc_header(c)
    with _reading(src) as fin, _writing(dst, overwrite) as fout:
        fout.write(header)
        n_in, n_out = c.compress_stream(fin, fout)
    return n_in, n_out + len(header)


def decompress_file(src: PathOrFile, dst: PathOrFile, compressor: str | Compressor | None = None, *,
                    max_output: int | None = None, overwrite: bool = False) -> int:
    """Decompress the ``.kc`` file ``src`` into ``dst``; returns bytes written.

    ``compressor`` is needed only for streams without a header (with one, it must name the same
    family). ``max_output`` (bytes) stops a
    decompression bomb with :class:`~kcomp.errors.OutputLimitError` (no file is left behind).
    """
    with _reading(src) as fin:
        spec, body = _read_header(fin)
        c = _decoder(spec, compressor, body)
        with _writing(dst, overwrite) as fout:
            return c.decompress_stream(body, fout, max_output=max_output)


def _decoder(spec: str | None, compressor: str | Compressor | None, body: _Peekable) -> Compressor:
    if spec is not None:  # the header decides (e.g. ppmd's model order); a contradicting codec is refused
        recorded = get_compressor(spec)
        if compressor is not None and get_compressor(compressor).family != recorded.family:
            raise InputError(f"the file was written by {recorded.spec}, not {get_compressor(compressor).spec}")
        return recorded
    if compressor is not None:
        return get_compressor(compressor)
    if body.peek(len(_LM_MAGIC)) == _LM_MAGIC:
        return get_compressor("lm")
    raise InputError("the stream has no kcomp header; say which compressor made it (CLI: -c SPEC)")


def _read_header(fin: BinaryIO) -> tuple[str | None, _Peekable]:
    """(spec recorded in the header or None, the stream positioned after the header)."""
    body = _Peekable(fin)
    if body.peek(len(MAGIC)) != MAGIC:
        return None, body
    fixed = body.read(len(MAGIC) + 2)
    if len(fixed) < len(MAGIC) + 2:
        raise CorruptStreamError("truncated .kc header")
    version, n = fixed[len(MAGIC)], fixed[len(MAGIC) + 1]
    if version != VERSION:
        raise CorruptStreamError(f".kc format version {version}; this kcomp reads version {VERSION}")
    raw = body.read(n)
    try:
        spec = raw.decode("ascii")
    except UnicodeDecodeError:
        spec = ""
    if len(raw) != n or not spec.isprintable() or not spec:
        raise CorruptStreamError("damaged .kc header (bad compressor name)")
    return spec, body


class _Peekable(io.RawIOBase):
    """A binary stream whose first bytes can be looked at without consuming them (stdin too)."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._fileobj = fileobj
        self._head = b""

    def peek(self, n: int) -> bytes:
        while len(self._head) < n and (more := self._fileobj.read(n - len(self._head))):
            self._head += more
        return self._head[:n]

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            out, self._head = self._head + self._fileobj.read(), b""
        elif len(self._head) >= n:
            out, self._head = self._head[:n], self._head[n:]
        else:
            out, self._head = self._head + self._fileobj.read(n - len(self._head)), b""
        return out

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        return self._fileobj.seekable()

    def tell(self) -> int:
        return self._fileobj.tell() - len(self._head)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._head = b""
        return self._fileobj.seek(offset, whence)


@contextmanager
def _reading(src: PathOrFile) -> Iterator[BinaryIO]:
    if not isinstance(src, (str, os.PathLike)):
        yield src
        return
    path = Path(src)
    if path.is_dir():
        raise InputError(f"{path}: is a directory")
    try:
        fin = open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with fin:
        yield fin


@contextmanager
def _writing(dst: PathOrFile, overwrite: bool) -> Iterator[BinaryIO]:
    if isinstance(dst, (str, os.PathLike)):
        with atomic_output(dst, overwrite=overwrite) as fout:
            yield fout
    else:
        yield dst


@contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only if the block finishes without an exception
    (Ctrl-C included): written as a hidden ``.NAME.*.part`` file beside it, then renamed."""
    target = Path(path)
    _refuse_existing(target, overwrite)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fout:
            yield fout
        os.chmod(tmp, 0o666 & ~_umask())
        _refuse_existing(target, overwrite)
        os.replace(tmp, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _refuse_existing(target: Path, overwrite: bool) -> None:
    if target.is_dir():
        raise InputError(f"{target}: is a directory")
    if target.exists() and not overwrite:
        raise InputError(f"{target}: already exists (use --force / overwrite=True to replace it)")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
