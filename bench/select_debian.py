"""``kcomp select`` on a mixed pool of real Debian descriptions: precision of the picks and the
held-out loss of a model trained on them vs on a random subset of the same size.

Pool: 4,000 descriptions, 400 from section ``games`` (10%) and 3,600 from other sections;
target: 150 other ``games`` descriptions; held-out: 150 more ``games`` descriptions. One
description per Debian source package and disjoint sources across pool / target / held-out
(packages of one source repeat each other's text). Pick N = 400.

Held-out loss (bits per byte of the held-out set, lower is better), with the same training
bytes for every subset (each concatenation cut to the shortest one):
* PPMd order 6 (kcomp's ``ppmd``) trained on the subset, then coding the held-out texts:
  ``C(train + held) - C(train)``;
* zstd-19 with the subset as a raw dictionary: ``sum C(h | train)`` over held-out texts.

    PYTHONPATH=$PWD python bench/select_debian.py
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import save_results, shared_data_dir  # noqa: E402

from kcomp import get_compressor  # noqa: E402
from kcomp.select import _DictPricer, select  # noqa: E402

N_POOL_ON, N_POOL_OFF, N_TARGET, N_HELD, N_PICK = 400, 3600, 150, 150, 400


def load(seed: int = 0):
    by_source: dict[str, dict] = {}
    with gzip.open(shared_data_dir() / "debian-descriptions.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            by_source.setdefault(row["source"], row)  # one description per source package
    rows = list(by_source.values())
    rng = np.random.default_rng(seed)
    rng.shuffle(rows)
    games = [r["text"] for r in rows if r["section"] == "games"]
    other = [r["text"] for r in rows if r["section"] != "games"]
    need = N_POOL_ON + N_TARGET + N_HELD
    if len(games) < need:
        raise SystemExit(f"only {len(games)} games sources, need {need}")
    pool = games[:N_POOL_ON] + other[:N_POOL_OFF]
    on = np.array([True] * N_POOL_ON + [False] * N_POOL_OFF)
    perm = rng.permutation(len(pool))
    return ([pool[i] for i in perm], on[perm], games[N_POOL_ON:N_POOL_ON + N_TARGET],
            games[N_POOL_ON + N_TARGET:need])


def heldout_loss(train: list[str], held: list[str], budget: int) -> tuple[float, float]:
    """(PPMd bits/byte, zstd-dictionary bits/byte) of the held-out texts given ``train``."""
    blob = "\n".join(train).encode()[:budget]
    held_b = "\n".join(held).encode()
    ppmd = get_compressor("ppmd")
    ppmd_bits = ppmd.size_bits(blob + b"\n" + held_b) - ppmd.size_bits(blob)
    pricer = _DictPricer(blob, 19)
    zstd_bits = sum(pricer.bits(h.encode()) for h in held)
    n = len(held_b)
    return ppmd_bits / n, zstd_bits / sum(len(h.encode()) for h in held)


def main() -> int:
    pool, on, target, held = load()
    picks: dict[str, tuple[np.ndarray, float]] = {}
    for name, kw in (("similarity: C(x|T)/C(x)", {"method": "similarity"}),
                     ("cross-entropy: (C(x|T) - C(x|R))/|x|", {"method": "cross_entropy"}),
                     ("cross-entropy + redundancy 0.5", {"method": "cross_entropy", "redundancy": 0.5})):
        t0 = time.perf_counter()
        sel = select(pool, target, N_PICK, **kw)
        picks[name] = (sel.indices, time.perf_counter() - t0)
        print(name, on[sel.indices].mean(), f"{picks[name][1]:.1f}s", flush=True)
    randoms = [np.random.default_rng(s).choice(len(pool), N_PICK, replace=False) for s in range(3)]
    subsets = {k: [pool[i] for i in v[0]] for k, v in picks.items()}
    budget = min(len("\n".join(s).encode()) for s in list(subsets.values()) + [[pool[i] for i in r] for r in randoms])
    rows = []
    rand_losses = np.array([heldout_loss([pool[i] for i in r], held, budget) for r in randoms])
    rows.append(["random (mean of 3 seeds)", f"{np.mean([on[r].mean() for r in randoms]):.3f}",
                 f"{rand_losses[:, 0].mean():.4f}", f"{rand_losses[:, 1].mean():.4f}", "-"])
    for name, (idx, secs) in picks.items():
        ppmd_bpb, zstd_bpb = heldout_loss(subsets[name], held, budget)
        rows.append([name, f"{on[idx].mean():.3f}", f"{ppmd_bpb:.4f}", f"{zstd_bpb:.4f}", f"{secs:.1f}"])
        print(rows[-1], flush=True)
    save_results(
        "select_debian", command="PYTHONPATH=$PWD python bench/select_debian.py",
        tables=[{"title": f"kcomp select: pick {N_PICK} of {len(pool):,} Debian descriptions (10% games) for a "
                          f"{N_TARGET}-description games target",
                 "columns": ["method", "precision (share of games)", "held-out games: PPMd-6 bits/byte",
                             "held-out games: zstd-19 dictionary bits/byte", "seconds"],
                 "rows": rows}],
        notes=(f"Chance precision 0.10. Held-out: {N_HELD} further games descriptions (disjoint source packages). "
               f"Each subset's training text is cut to the same {budget:,} bytes. Models: PPMd order 6 trained on the "
               "subset then coding the held-out set; zstd-19 with the subset as a raw dictionary. Seconds: wall time "
               "of the selection on a shared 2-core machine."),
        budget_bytes=budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
