"""Defaults shared by the API, the CLI and the bench scripts: one place, read everywhere.

>>> from kcomp.constants import DEFAULT_COMPRESSOR, DEFAULT_SEPARATOR
>>> DEFAULT_COMPRESSOR, DEFAULT_SEPARATOR
('gzip', b' ')
"""

from __future__ import annotations

#: bytes between x and y in every joint size C(x . sep . y): a single space, as in Jiang et al.
#: (2023) and npc-gzip, so gzip NCD values match theirs exactly
DEFAULT_SEPARATOR = b" "

#: compressor of K, NCD, the NCD engine and the kNN classifier when none is named
DEFAULT_COMPRESSOR = "gzip"

#: the classical codecs that the dataset scorer and the subadditivity check compare by default
DEFAULT_COMPRESSORS = ("gzip", "zstd:19", "brotli:11", "lzma")

#: entry-point group under which installed packages register extra compressor families
ENTRY_POINT_GROUP = "kcomp.compressors"
