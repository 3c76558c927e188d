"""Compressors behind one protocol (:class:`Compressor`) and one registry.

>>> from kcomp.compressors import get_compressor
>>> get_compressor("gzip").size_bits(b"")   # 20-byte gzip stream
160.0
"""

from kcomp.compressors.base import Compressor
from kcomp.compressors.registry import (
    describe_compressors,
    get_compressor,
    list_compressors,
    parse_spec,
    register,
)

# one module per codec; importing registers it
from kcomp.compressors import deflate, gzip, bz2, lzma, zstd, brotli, lz4, ppmd, lm  # noqa: E402,F401

__all__ = ["Compressor", "describe_compressors", "get_compressor", "list_compressors", "parse_spec", "register"]
