"""kcomp select: compression-based data selection on real Debian descriptions."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from kcomp.cli import main
from kcomp.datasets import find_shared_data
from kcomp.errors import InputError
from kcomp.select import select, selection_scores


@pytest.fixture(scope="module")
def pool():
    """600 descriptions (60 games, one per source package), a games target of 60 more."""
    path = find_shared_data()
    if path is None:
        pytest.skip("shared/data/debian-descriptions.jsonl.gz not found (set KCOMP_DATA)")
    by_source = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            by_source.setdefault(row["source"], row)
    rows = list(by_source.values())
    np.random.default_rng(1).shuffle(rows)
    games = [r for r in rows if r["section"] == "games"]
    other = [r for r in rows if r["section"] != "games"]
    cands = games[:60] + other[:540]
    np.random.default_rng(2).shuffle(cands)
    return cands, [r["text"] for r in games[60:120]]


def test_cross_entropy_picks_on_target_rows_far_above_chance(pool):
    cands, target = pool
    texts = [r["text"] for r in cands]
    is_game = np.array([r["section"] == "games" for r in cands])
    ce = select(texts, target, 60)
    sim = select(texts, target, 60, method="similarity")
    assert is_game[ce.indices].mean() >= 0.4  # chance: 0.10
    assert is_game[sim.indices].mean() > 0.15
    assert np.all(np.diff(ce.scores) >= 0) and np.array_equal(ce.scores, ce.candidate_scores[ce.indices])
    assert np.array_equal(select(texts, target, 60).indices, ce.indices)  # seeded: reproducible


def test_redundancy_penalty_drops_copies(pool):
    cands, target = pool
    texts = [r["text"] for r in cands]
    best = int(np.argmin(selection_scores(texts, target, method="similarity")))
    padded = texts + [texts[best]] * 5  # five exact copies of the best candidate
    plain = select(padded, target, 20, method="similarity")
    greedy = select(padded, target, 20, method="similarity", redundancy=1.0)
    copies = set(range(len(texts), len(padded))) | {best}
    assert len(copies & set(plain.indices.tolist())) == 6
    assert len(copies & set(greedy.indices.tolist())) <= 2


def test_bad_arguments():
    with pytest.raises(InputError, match="n must be"):
        select(["a", "b"], ["a"], 3)
    with pytest.raises(InputError, match="method"):
        selection_scores(["a"], ["a"], method="nope")
    with pytest.raises(InputError, match="empty"):
        select(["a"], [], 1)


def test_cli_writes_rows_unchanged_with_scores(tmp_path, pool, capsys):
    cands, target = pool
    cpath, tpath, out = tmp_path / "c.jsonl", tmp_path / "t.txt", tmp_path / "picked.jsonl"
    cpath.write_text("".join(json.dumps(r) + "\n" for r in cands))
    tpath.write_text("\n".join(t.replace("\n", " ") for t in target) + "\n")
    assert main(["select", str(cpath), "--target", str(tpath), "-n", "50", "-o", str(out)]) == 0
    picked = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(picked) == 50
    by_package = {r["package"]: r for r in cands}
    for row in picked:
        score = row.pop("kcomp_select_score")
        assert isinstance(score, float) and row == by_package[row["package"]]
    assert sum(r["section"] == "games" for r in picked) >= 15
    capsys.readouterr()
    for args, msg in (([str(cpath), "--target", str(tpath), "-n", "5", "--field", "nope"], "no field"),
                      ([str(tmp_path / "missing.jsonl"), "--target", str(tpath), "-n", "5"], "no such file"),
                      ([str(cpath), "--target", str(tpath), "-n", "100000"], "n must be")):
        bad_out = tmp_path / "bad.jsonl"
        assert main(["select", *args, "-o", str(bad_out)]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and "\n" not in err and not bad_out.exists()
