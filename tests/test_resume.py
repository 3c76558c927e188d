"""Resumable runs: checkpoint_dir on ncd_matrix / ncd_topk, and `kcomp matrix --checkpoint`.

The central test runs a checkpointed run in a subprocess that SIGKILLs itself at a fixed block
(an injected fault, not a timing race), resumes it here, and checks that the output is
identical to an uninterrupted run and that only the missing blocks were computed.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from engine_testkit import random_lm

import kcomp.engine as engine
from kcomp.engine import CheckpointMismatchError, ncd_matrix, ncd_topk

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def count_blocks(monkeypatch):
    """Count the blocks (and size chunks) computed in this process (n_jobs=1 runs in-process)."""
    calls = {"blocks": [], "sizes": 0}
    real_block, real_sizes = engine._task_block, engine._task_sizes

    def block(r0, r1, c0, c1, *rest):
        calls["blocks"].append((r0, c0))
        return real_block(r0, r1, c0, c1, *rest)

    def sizes(*args):
        calls["sizes"] += 1
        return real_sizes(*args)

    monkeypatch.setattr(engine, "_task_block", block)
    monkeypatch.setattr(engine, "_task_sizes", sizes)
    return calls


def _block_files(ck: Path) -> dict[str, tuple[int, int]]:
    """Block file name -> (inode, mtime_ns): a rewritten file changes both."""
    [d] = [p for p in ck.iterdir() if p.name.startswith("blocks-")]
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in d.iterdir() if not p.name.startswith(".")}


def test_killed_run_resumes_identically_computing_only_missing_blocks(tmp_path, debian_texts_or_bundled,
                                                                     count_blocks, monkeypatch):
    texts = debian_texts_or_bundled[:36]
    bs, n_total = 2, 18
    data = tmp_path / "texts.pkl"
    data.write_bytes(pickle.dumps(texts))
    ck = tmp_path / "ck"
    # the run SIGKILLs itself when it reaches the row block of query 10: a deterministic crash
    script = textwrap.dedent(f"""
        import pickle
        from engine_testkit import PoisonedGzip
        from kcomp.engine import ncd_matrix
        texts = pickle.load(open({str(data)!r}, "rb"))
        ncd_matrix(texts, compressor=PoisonedGzip(texts[10].encode()), block_size={bs}, checkpoint_dir={str(ck)!r},
                   progress=False)
        print("finished")
    """)
    path = os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": path},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, (proc.stdout, proc.stderr)
    before = _block_files(ck)
    assert len(before) == texts.index(texts[10]) // bs  # every row block before the poisoned one

    resumed = ncd_matrix(texts, compressor="gzip", block_size=bs, checkpoint_dir=ck, progress=False)
    # only the missing blocks were computed, and the finished ones were loaded, not rewritten
    assert len(count_blocks["blocks"]) == n_total - len(before)
    assert {f"r{r0}-c{c0}.npy" for r0, c0 in count_blocks["blocks"]}.isdisjoint(before)
    assert count_blocks["sizes"] == 0  # C(x) came from the checkpoint too
    after = _block_files(ck)
    assert len(after) == n_total
    assert all(after[name] == stamp for name, stamp in before.items())
    assert json.loads((ck / "manifest.json").read_text())["complete"] is True

    monkeypatch.undo()  # the counting wrappers cannot be pickled to worker processes
    fresh = ncd_matrix(texts, compressor="gzip", n_jobs=2, progress=False)  # other blocking, other processes
    np.testing.assert_array_equal(resumed, fresh)


def test_resume_with_other_lm_weights_is_refused(tmp_path, count_blocks):
    pytest.importorskip("torch")
    texts = ["one small text", "another small text", "a third one"]
    first = ncd_matrix(texts, compressor=random_lm(seed=0), checkpoint_dir=tmp_path, progress=False)
    n = len(count_blocks["blocks"])
    with pytest.raises(CheckpointMismatchError, match="compressor_fingerprint"):  # same spec, other weights
        ncd_matrix(texts, compressor=random_lm(seed=1), checkpoint_dir=tmp_path, progress=False)
    again = ncd_matrix(texts, compressor=random_lm(seed=0), checkpoint_dir=tmp_path, progress=False)
    assert len(count_blocks["blocks"]) == n
    np.testing.assert_array_equal(first, again)


def test_topk_resume_after_losing_blocks(tmp_path, debian_texts_or_bundled, count_blocks):
    q, r = debian_texts_or_bundled[:20], debian_texts_or_bundled[20:70]
    ck = tmp_path / "ck"
    first = ncd_topk(q, r, 5, "zstd:3", block_size=4, checkpoint_dir=ck, progress=False)
    assert len(count_blocks["blocks"]) == 5
    [d] = ck.glob("blocks-*")
    lost = sorted(d.glob("r*.npz"))[1::2]
    for p in lost:
        p.unlink()
    count_blocks["blocks"].clear()
    again = ncd_topk(q, r, 5, "zstd:3", block_size=4, checkpoint_dir=ck, progress=False)
    assert sorted(f"r{r0}-c{c0}.npz" for r0, c0 in count_blocks["blocks"]) == sorted(p.name for p in lost)
    plain = ncd_topk(q, r, 5, "zstd:3", progress=False)
    for a, b, c in zip(first, again, plain):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_finished_checkpoint_computes_nothing(tmp_path, debian_texts_or_bundled, count_blocks):
    texts = debian_texts_or_bundled[:25]
    ck = tmp_path / "ck"
    a = ncd_topk(texts, texts, 3, "gzip", exclude_self=True, checkpoint_dir=ck, progress=False)
    count_blocks["blocks"].clear()
    count_blocks["sizes"] = 0
    b = ncd_topk(texts, texts, 3, "gzip", exclude_self=True, checkpoint_dir=ck, n_jobs=2, progress=False)
    assert count_blocks == {"blocks": [], "sizes": 0}
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_resume_with_other_n_jobs_keeps_the_stored_blocking(tmp_path, debian_texts_or_bundled):
    texts = debian_texts_or_bundled[:30]
    ck = tmp_path / "ck"
    full = ncd_matrix(texts, compressor="bz2", n_jobs=1, checkpoint_dir=ck, progress=False)
    manifest = json.loads((ck / "manifest.json").read_text())
    [d] = ck.glob("blocks-*")
    next(d.glob("r*.npy")).unlink()
    again = ncd_matrix(texts, compressor="bz2", n_jobs=2, checkpoint_dir=ck, progress=False)
    np.testing.assert_array_equal(full, again)
    assert json.loads((ck / "manifest.json").read_text())["blocking"] == manifest["blocking"]
    assert [p.name for p in ck.glob("blocks-*")] == [d.name]


@pytest.mark.parametrize("change, field", [
    ({"compressor": "zstd"}, "compressor"),
    ({"symmetric": True}, "symmetric"),
    ({"separator": "\n"}, "separator"),
    ({"texts": "reversed"}, "input texts differ"),
    ({"kind": "topk"}, "kind"),
])
def test_mismatched_resume_is_refused(tmp_path, debian_texts_or_bundled, change, field):
    texts = debian_texts_or_bundled[:12]
    ck = tmp_path / "ck"
    ncd_matrix(texts, compressor="gzip", checkpoint_dir=ck, progress=False)
    kw = {"compressor": "gzip", "checkpoint_dir": ck, "progress": False}
    if change.get("texts") == "reversed":
        texts = texts[::-1]
    elif "kind" not in change:
        kw.update(change)
    with pytest.raises(CheckpointMismatchError, match=field):
        if "kind" in change:
            ncd_topk(texts, texts, 2, **kw)
        else:
            ncd_matrix(texts, **kw)


def test_explicit_block_size_mismatch_is_refused(tmp_path, debian_texts_or_bundled):
    texts = debian_texts_or_bundled[:12]
    ncd_matrix(texts, compressor="gzip", block_size=3, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointMismatchError, match="block_size"):
        ncd_matrix(texts, compressor="gzip", block_size=4, checkpoint_dir=tmp_path, progress=False)
    # unset block_size adopts the stored one
    ncd_matrix(texts, compressor="gzip", checkpoint_dir=tmp_path, progress=False)


def test_damaged_block_is_recomputed(tmp_path, debian_texts_or_bundled, caplog, count_blocks):
    texts = debian_texts_or_bundled[:16]
    ck = tmp_path / "ck"
    good = ncd_matrix(texts, compressor="lz4", block_size=4, checkpoint_dir=ck, progress=False)
    [d] = ck.glob("blocks-*")
    victim = d / "r8-c0.npy"
    victim.write_bytes(victim.read_bytes()[:40])  # a damaged file (e.g. disk full, copied in part)
    count_blocks["blocks"].clear()
    with caplog.at_level("WARNING", logger="kcomp.engine"):
        again = ncd_matrix(texts, compressor="lz4", block_size=4, checkpoint_dir=ck, progress=False)
    assert count_blocks["blocks"] == [(8, 0)]
    assert "recomputing" in caplog.text
    np.testing.assert_array_equal(good, again)
    np.testing.assert_array_equal(np.load(victim), good[8:12])


def test_unreadable_manifest_is_a_clear_error(tmp_path, debian_texts_or_bundled):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointMismatchError, match="manifest"):
        ncd_matrix(debian_texts_or_bundled[:5], checkpoint_dir=tmp_path, progress=False)


def test_checkpoint_dir_that_is_a_file(tmp_path, debian_texts_or_bundled):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(engine.InputError, match="not a directory"):
        ncd_matrix(debian_texts_or_bundled[:5], checkpoint_dir=f, progress=False)


def test_cli_matrix_checkpoint(tmp_path, debian_texts_or_bundled, capsys, count_blocks):
    from kcomp.cli import main

    src = tmp_path / "texts.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in debian_texts_or_bundled[:24]))
    ck = tmp_path / "ck"
    args = ["matrix", str(src), "--field", "text", "-c", "bz2", "--checkpoint", str(ck)]
    assert main(args + ["-o", str(tmp_path / "a.npy")]) == 0
    n_first = len(count_blocks["blocks"])
    assert n_first > 0 and (ck / "manifest.json").exists()
    assert main(args + ["-o", str(tmp_path / "b.npy")]) == 0
    assert len(count_blocks["blocks"]) == n_first  # nothing recomputed
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    plain = ncd_matrix(debian_texts_or_bundled[:24], compressor="bz2")
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), plain)
    capsys.readouterr()
    assert main(["matrix", str(src), "--field", "text", "-c", "gzip", "--checkpoint", str(ck)]) == 2
    assert "another run" in capsys.readouterr().err


def test_knn_classifier_checkpoint_resumes_without_recomputing(tmp_path, debian_rows_or_bundled, count_blocks):
    import warnings

    from kcomp.classifiers import NCDKNNClassifier

    rows = debian_rows_or_bundled[:80]
    X, y = [r["text"] for r in rows], [r["section"] for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # leakage audit: the sample has near-duplicate packages
        a = NCDKNNClassifier(k="auto", k_max=4, checkpoint_dir=tmp_path).fit(X[:60], y[:60])
        pred_a = a.predict(X[60:])
        n = len(count_blocks["blocks"])
        assert n > 0 and len(list(tmp_path.iterdir())) == 2  # one directory per NCD pass (LOO, predict)
        b = NCDKNNClassifier(k="auto", k_max=4, checkpoint_dir=tmp_path).fit(X[:60], y[:60])
        pred_b = b.predict(X[60:])
        assert len(count_blocks["blocks"]) == n  # everything came from the checkpoint
        assert a.loo_accuracy_ == b.loo_accuracy_ and pred_a.tolist() == pred_b.tolist()
        b.predict(X[50:])  # other queries: their own directory, no mismatch error
    assert len(list(tmp_path.iterdir())) == 3
    plain = NCDKNNClassifier(k=a.k_).fit(X[:60], y[:60])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert plain.predict(X[60:]).tolist() == pred_a.tolist()


def test_cli_classify_checkpoint(tmp_path, debian_rows_or_bundled, capsys, count_blocks):
    from kcomp.cli import main

    rows = debian_rows_or_bundled[:70]
    for name, part in (("train", rows[:50]), ("test", rows[50:])):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps({"text": r["text"], "label": r["section"]}) + "\n" for r in part))
    ck = tmp_path / "ck"
    args = ["classify", "--train", str(tmp_path / "train.jsonl"), "--test", str(tmp_path / "test.jsonl"),
            "--k", "3", "--checkpoint", str(ck), "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    n = len(count_blocks["blocks"])
    assert n > 0 and any(ck.iterdir())
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert len(count_blocks["blocks"]) == n
    assert first["accuracy"] == second["accuracy"] and first["confusion_matrix"] == second["confusion_matrix"]
