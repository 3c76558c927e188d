"""The one progress-bar factory of kcomp (the API's long loops and the CLI use it).

``progress``: ``None`` (library default): a bar when stderr is a terminal, else nothing;
``True`` (the CLI default): a bar on a terminal, and one plain line every
:data:`LINE_INTERVAL_S` seconds otherwise (logs, pipes, CI); ``False``: nothing.
"""

from __future__ import annotations

import sys

from tqdm import tqdm as _tqdm

#: seconds between two progress lines when stderr is not a terminal
LINE_INTERVAL_S = 10.0


class _Lines:
    """A stream for :class:`_LineProgress`: drops the carriage returns tqdm writes to redraw."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "")
        if text:
            self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


class _LineProgress(_tqdm):
    """tqdm that writes whole lines (no carriage returns), at most one per ``mininterval``."""

    def display(self, msg=None, pos=None):
        if msg == "":  # tqdm clearing a finished leave=False bar: nothing to clear in a log
            return True
        self.fp.write((msg or self.__str__()) + "\n")
        self.fp.flush()
        return True


def progress_bar(total: int | None = None, *, desc: str, unit: str = "it", progress: bool | None = None,
                 interval_s: float | None = None, **tqdm_kwargs):
    """A tqdm bar (a context manager with ``update(n)``) following the ``progress`` rule above;
    ``interval_s``: seconds between lines off a terminal (default :data:`LINE_INTERVAL_S`)."""
    interval_s = LINE_INTERVAL_S if interval_s is None else interval_s
    is_tty = sys.stderr.isatty()
    if progress is False or (progress is None and not is_tty):
        return _tqdm(total=total, desc=desc, unit=unit, disable=True, **tqdm_kwargs)
    if is_tty:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=False, **tqdm_kwargs)
    return _LineProgress(total=total, desc=desc, unit=unit, leave=False, file=_Lines(sys.stderr), ncols=80,
                         mininterval=interval_s, maxinterval=max(interval_s, 10.0), delay=interval_s,
                         **tqdm_kwargs)
