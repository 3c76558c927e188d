"""The filtering claim, tested: "clean data is more compressible, and a model learns better on it".

Corpus: Debian package descriptions (one per source package). 6,000 training samples; 30% of
them corrupted, a third each by (a) noise: 30% of the characters replaced by random printable
ones, (b) a shuffle of the sample's words, (c) foreign text: a German or Russian fortune of
similar length (Debian's fortunes-de/-ru). Held-out: 400 clean descriptions of other sources.

Filter: ``kcomp score --per-sample`` on the corrupted set, then drop the 30% least compressible
by per-sample score: framing-free bits/byte of ``zstd:19`` (the ranking the per-sample file
gives). Compared: no filter, the filter, and an oracle that drops exactly the corrupted rows.

Learning curve: the model is PPMd order 6 (kcomp's ``ppmd``, an adaptive context model; the
neural ``lm`` is too slow to retrain on a CPU at this size), trained on the first B bytes of
each training stream (same order, same byte budget B for all three) and then coding the
held-out set: held-out bits/byte = (C(train[:B] + held) - C(train[:B])) / |held|.

    PYTHONPATH=$PWD python bench/score_filtering.py
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import save_results, shared_data_dir  # noqa: E402

from kcomp import get_compressor, score_dataset  # noqa: E402

N_TRAIN, N_HELD, CORRUPT, SEED = 6000, 400, 0.30, 0
FORTUNES = Path("/usr/share/games/fortunes")


def fortunes(lang: str) -> list[str]:
    out = []
    for f in sorted((FORTUNES / lang).iterdir()) if (FORTUNES / lang).is_dir() else []:
        if f.is_file() and f.suffix not in (".dat", ".u8"):
            try:
                out += [e.strip("\n") for e in re.split(r"\n%\n", f.read_text(encoding="utf-8")) if e.strip()]
            except UnicodeDecodeError:
                continue
    return out


def corpus() -> tuple[list[str], list[str]]:
    by_source: dict[str, str] = {}
    with gzip.open(shared_data_dir() / "debian-descriptions.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            by_source.setdefault(row["source"], row["text"])
    texts = list(by_source.values())
    np.random.default_rng(SEED).shuffle(texts)
    return texts[:N_TRAIN], texts[N_TRAIN:N_TRAIN + N_HELD]


def corrupt(train: list[str], rng: np.random.Generator) -> tuple[list[str], np.ndarray, list[str]]:
    foreign = fortunes("de") + fortunes("ru")
    if not foreign:
        raise SystemExit("fortunes-de / fortunes-ru are not installed")
    rng.shuffle(foreign)
    out, bad, kind = list(train), np.zeros(len(train), bool), [""] * len(train)
    victims = rng.choice(len(train), int(CORRUPT * len(train)), replace=False)
    printable = np.array([chr(c) for c in range(33, 127)])
    for k, i in enumerate(victims):
        t = train[i]
        if k % 3 == 0:
            chars = np.array(list(t))
            hit = rng.random(chars.size) < 0.3
            chars[hit] = rng.choice(printable, int(hit.sum()))
            out[i], kind[i] = "".join(chars), "noise"
        elif k % 3 == 1:
            words = t.split()
            rng.shuffle(words)
            out[i], kind[i] = " ".join(words), "shuffle"
        else:
            out[i], kind[i] = foreign[k % len(foreign)][: max(len(t), 80)], "foreign"
        bad[i] = True
    return out, bad, kind


def heldout_curve(train: list[str], held: bytes, budgets: list[int]) -> list[float]:
    ppmd = get_compressor("ppmd")
    stream = "\n".join(train).encode()
    return [(ppmd.size_bits(stream[:b] + b"\n" + held) - ppmd.size_bits(stream[:b])) / len(held) for b in budgets]


def main() -> int:
    rng = np.random.default_rng(SEED)
    clean, held = corpus()
    train, bad, kind = corrupt(clean, rng)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "train.jsonl"
        src.write_text("".join(json.dumps({"text": t}) + "\n" for t in train))
        result = score_dataset(src, ["gzip", "zstd:19"], curve_bytes=0, progress=False)
    score = result.per_sample["bits_per_byte.zstd:19"]
    drop = np.argsort(-score, kind="stable")[: int(CORRUPT * len(train))]
    keep = np.ones(len(train), bool)
    keep[drop] = False
    precision = float(bad[~keep].mean())
    caught = {k: float((~keep[np.array(kind) == k]).mean()) for k in ("noise", "shuffle", "foreign")}
    sets = {"no filter": train, "kcomp filter (drop 30% least compressible)": [t for t, k in zip(train, keep) if k],
            "oracle (drop the corrupted)": [t for t, b in zip(train, bad) if not b]}
    common = min(len("\n".join(s).encode()) for s in sets.values())
    budgets = [int(b) for b in np.geomspace(16 << 10, common, 7)]
    held_b = "\n".join(held).encode()
    curves = {name: heldout_curve(s, held_b, budgets) for name, s in sets.items()}
    for name, c in curves.items():
        print(name, [f"{v:.3f}" for v in c], flush=True)
    rows = [[name] + [f"{v:.4f}" for v in c] for name, c in curves.items()]
    save_results(
        "score_filtering", command="PYTHONPATH=$PWD python bench/score_filtering.py",
        tables=[{"title": "Held-out bits/byte of PPMd-6 trained on the first B bytes (lower is better)",
                 "columns": ["training set"] + [f"B = {b / 1024:,.0f} KiB" for b in budgets], "rows": rows},
                {"title": "The filter's picks", "columns": ["dropped that were corrupted", "noise caught",
                                                            "shuffles caught", "foreign caught"],
                 "rows": [[f"{precision:.3f}", f"{caught['noise']:.3f}", f"{caught['shuffle']:.3f}",
                           f"{caught['foreign']:.3f}"]]}],
        notes=(f"{N_TRAIN:,} Debian descriptions (one per source), {int(CORRUPT * 100)}% corrupted (noise / word "
               "shuffle / German or Russian fortunes, a third each); filter = drop the 30% with the highest "
               "per-sample zstd:19 bits/byte from `kcomp score --per-sample`; held-out: "
               f"{N_HELD} clean descriptions of other sources ({len(held_b):,} B). Model: PPMd order 6, an adaptive "
               "compressor (the neural lm is not retrained here: too slow on a CPU). Chance precision of the "
               "filter: 0.30."),
        budgets=budgets, precision=precision, caught=caught)
    return 0


if __name__ == "__main__":
    sys.exit(main())
