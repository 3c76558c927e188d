"""Exceptions raised by kcomp. Every error a user can trigger is one of these."""

from __future__ import annotations


class KcompError(Exception):
    """Base class of every error kcomp raises on purpose."""


class UnknownCompressorError(KcompError, ValueError):
    """A compressor spec names no registered compressor, or a bad level/option."""


class InputError(KcompError, ValueError):
    """An input is of the wrong type, empty where that is meaningless, or mixes str and bytes."""


class CorruptStreamError(KcompError, ValueError):
    """A compressed stream is corrupted, truncated, or was made by another model/codec."""


class OutputLimitError(CorruptStreamError):
    """Decompressing would produce more than the caller's ``max_output`` bytes (a bomb, or a
    stream whose header announces more than it can hold); raised before that much is allocated."""
