"""Compressors behind one protocol (:class:`Compressor`) and one registry.

Every module of this package except ``base`` and ``registry`` is a codec that registers its
families on import; they are all imported here, found with :mod:`pkgutil` (adding a codec is
adding a module). Installed plugins come in through the ``kcomp.compressors`` entry points
(see :mod:`kcomp.compressors.registry`).

>>> from kcomp.compressors import get_compressor
>>> get_compressor("gzip").size_bits(b"")   # 20-byte gzip stream
160.0
"""

import importlib
import pkgutil

from kcomp.compressors.base import Compressor
from kcomp.compressors.registry import (
    describe_compressors,
    get_compressor,
    list_compressors,
    parse_spec,
    register,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "registry"):
        importlib.import_module(f"{__name__}.{_module.name}")
del _module

__all__ = ["Compressor", "describe_compressors", "get_compressor", "list_compressors", "parse_spec", "register"]
