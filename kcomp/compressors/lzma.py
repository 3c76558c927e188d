"""xz / LZMA2 container (CRC64), presets 0-9 (default 9); flag ``extreme``. Empty input: 32 B."""

from __future__ import annotations

import lzma as _lzma

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register

_DICT_SIZE = {0: 256 << 10, 1: 1 << 20, 2: 2 << 20, 3: 4 << 20, 4: 4 << 20, 5: 8 << 20,
              6: 8 << 20, 7: 16 << 20, 8: 32 << 20, 9: 64 << 20}


class LzmaCompressor(ContainerCompressor):
    family = "lzma"

    def __init__(self, level: int | None = None, *, extreme: bool = False, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 0, 9, 9), headerless=headerless)
        self.extreme = extreme
        self._preset = self.level | (_lzma.PRESET_EXTREME if extreme else 0)
        self.window = _DICT_SIZE[self.level]

    def _flags(self) -> list[str]:
        return ["extreme"] if self.extreme else []

    def compress(self, data: bytes) -> bytes:
        return _lzma.compress(data, format=_lzma.FORMAT_XZ, preset=self._preset)

    def _decompress(self, data: bytes) -> bytes:
        d = _lzma.LZMADecompressor(format=_lzma.FORMAT_XZ)
        out = d.decompress(data)
        if not d.eof:
            raise ValueError("truncated xz stream")
        if d.unused_data:
            raise ValueError("trailing bytes after the xz stream")
        return out


def _make(level=None, flags=(), headerless=False):
    refuse_flags("lzma", flags, ("extreme",))
    return LzmaCompressor(level, extreme="extreme" in flags, headerless=headerless)


register("lzma", _make, "xz/LZMA2, presets 0-9 (default 9), flag 'extreme'")
register("xz", _make, "alias of lzma")
