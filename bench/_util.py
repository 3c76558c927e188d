"""Helpers shared by the bench scripts: real data loading, peak-memory sampling, tables."""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The shared data directory ($KCOMP_DATA, then ../shared/data); exits with a hint if absent."""
    from kcomp.datasets import find_shared_data

    path = find_shared_data()
    if path is None:
        raise SystemExit("shared/data/debian-descriptions.jsonl.gz not found: set KCOMP_DATA=/path/to/shared/data")
    return path.parent


def debian_texts(n: int, offset: int = 0) -> list[str]:
    """n real package descriptions, one per distinct source package (no near-copies)."""
    from kcomp.io import iter_records

    out, seen = [], set()
    for row in iter_records(shared_data_dir() / "debian-descriptions.jsonl.gz"):
        if row["source"] in seen:
            continue
        seen.add(row["source"])
        if len(seen) > offset:
            out.append(row["text"])
        if len(out) >= n:
            break
    return out


class PeakRSS:
    """Samples the resident memory of this process and its children every 10 ms."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def _rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.01)

    def __enter__(self):
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def timed(store: dict, key: str):
    t = time.perf_counter()
    yield
    store[key] = time.perf_counter() - t


def timed_call(fn, *args, repeat: int = 1):
    """(value, wall seconds, CPU seconds of this process): the fastest of ``repeat`` calls."""
    best = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn(*args)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = (wall, cpu) if best is None or wall < best[0] else best
    return value, *best


def held_out_english(size: int) -> bytes:
    """``size`` bytes of English that no shipped weights were trained on: *Persuasion*, the GPL-3,
    then held-out fortunes, Revelation, Debian descriptions and dictionary entries as needed."""
    from kcomp.lm_coder.data import load_austen, load_bible, load_descriptions, load_dictionaries, load_fortunes

    text = load_austen().held_out + Path("/usr/share/common-licenses/GPL-3").read_bytes()
    for loader in (load_fortunes, load_bible, load_descriptions, load_dictionaries):
        if len(text) >= size:
            break
        text += loader().held_out
    if len(text) < size:
        raise SystemExit(f"only {len(text):,} held-out bytes, fewer than {size:,}")
    return text[:size]


def machine_info() -> dict:
    import platform

    return {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def save_results(name: str, *, command: str, tables: list[dict], notes: str = "", **raw) -> Path:
    """Write ``bench/results/NAME.json`` in the one shape ``scripts/benchmarks_doc.py`` renders.

    ``command``: the exact command line that made the numbers. ``tables``: a list of
    ``{"title": str, "columns": [str, ...], "rows": [[cell, ...], ...]}`` (cells are numbers or
    already formatted strings). ``notes``: Markdown shown under the tables. ``raw``: any other
    JSON-able data (kept, not rendered).
    """
    import datetime

    out = REPO / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"name": name, "command": command, "date": datetime.date.today().isoformat(),
           "machine": machine_info(), "tables": tables, "notes": notes, **raw}
    out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return out
