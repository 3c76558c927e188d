"""Every CLI error a user can cause is one line and exit status 2; Ctrl-C is one line and 130.

Each command that ``kcomp --help`` lists is driven with bad input in a real subprocess (the
entry point a user runs), and a long-running ``kcomp matrix`` is interrupted with SIGINT sent
to its whole process group, as a terminal's Ctrl-C does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kcomp.cli import build_parser, main
from kcomp.datasets import BUNDLED_DEBIAN_SAMPLE

MISSING = "no-such-file.jsonl"
#: command -> arguments that are wrong in a way a user would get wrong
BAD_INPUT = {
    "compressors": ["--bogus-option"],
    "k": [MISSING],
    "ncd": [MISSING, MISSING],
    "matrix": [MISSING],
    "classify": ["--train", MISSING, "--test", MISSING],
    "score": [MISSING, "-c", "gzip"],  # without -c the lm default loads torch first (~10 s)
    "subadd": [MISSING, MISSING],
    "compress": [MISSING, "-c", "gzip"],
    "decompress": [MISSING, "-c", "gzip"],
    "train": ["--config", "{not json"],
    "demo": ["--n-jobs", "many"],
    "axioms": [MISSING],
    "select": [MISSING, "--target", MISSING, "-n", "5", "-o", "picked.jsonl"],
}


def _commands() -> set[str]:
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(sub.choices)


def _kcomp(*argv: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kcomp", *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=_env())


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    env.pop("KCOMP_DEBUG", None)
    return env


def _assert_one_error_line(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert len(err.splitlines()) == 1, err
    return err


def test_every_command_has_a_bad_input_case():
    assert _commands() == set(BAD_INPUT)


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
def test_bad_input_is_one_line_exit_2(command, tmp_path):
    err = _assert_one_error_line(_kcomp(command, *BAD_INPUT[command], cwd=tmp_path))
    assert "error:" in err
    if MISSING in BAD_INPUT[command]:
        assert MISSING in err and "no such file" in err


def test_more_bad_inputs_name_what_is_wrong(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    err = _assert_one_error_line(_kcomp("matrix", "latin1.txt", cwd=tmp_path))
    assert "line 1: not UTF-8" in err
    err = _assert_one_error_line(_kcomp("ncd", str(tmp_path), "latin1.txt", cwd=tmp_path))
    assert "is a directory" in err
    (tmp_path / "empty").mkdir()
    err = _assert_one_error_line(_kcomp("k", "empty", cwd=tmp_path))
    assert "holds no files" in err


def test_damaged_ppmd_file_is_one_line_exit_2(tmp_path, python_sources):
    """A damaged ``kcomp compress -c ppmd`` file: one line and exit 2, never a crash (pyppmd 1.3
    segfaults on damaged code; kcomp checks the code's CRC32s before pyppmd sees it)."""
    pytest.importorskip("pyppmd")
    (tmp_path / "code.py").write_bytes(b"".join(python_sources)[:30_000])
    assert _kcomp("compress", "-c", "ppmd", "code.py", cwd=tmp_path).returncode == 0
    stream = (tmp_path / "code.py.kc").read_bytes()
    flipped = bytearray(stream)
    flipped[len(stream) // 2] ^= 0x04
    for name, blob in (("flipped", bytes(flipped)), ("cut", stream[: len(stream) * 2 // 3])):
        (tmp_path / f"{name}.kc").write_bytes(blob)
        err = _assert_one_error_line(_kcomp("decompress", f"{name}.kc", cwd=tmp_path))
        assert "ppmd" in err and ("CRC32" in err or "truncated" in err), err


def test_keyboard_interrupt_in_any_command_is_one_line(monkeypatch, capsys):
    from kcomp.cli import core

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "cmd_compressors", interrupted)
    assert main(["compressors"]) == 130
    assert capsys.readouterr().err == "kcomp: interrupted\n"


def _wait_until_running(proc: subprocess.Popen, ck: Path, n_workers: int) -> None:
    """Until the C(x) sizes are saved (the pairs are being computed) and the workers are up."""
    psutil = pytest.importorskip("psutil")
    deadline = time.monotonic() + 60
    while not ((ck / "sizes.npz").exists() and len(psutil.Process(proc.pid).children()) >= n_workers):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the matrix run did not start"
        time.sleep(0.05)
    time.sleep(0.5)  # the workers' initialiser (which ignores SIGINT) has run


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_on_a_running_matrix(tmp_path, n_jobs, python_sources):
    """SIGINT to the process group (workers too) mid-run: one line, exit 130, no traceback."""
    data = tmp_path / "texts"
    data.mkdir()
    for i in range(40):  # real source files: 1,600 lzma pairs, many seconds of work
        (data / f"f{i:02d}.py").write_bytes(python_sources[i % len(python_sources)] + str(i).encode())
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, "-m", "kcomp", "matrix", str(data), "-c", "lzma", "-j", str(n_jobs),
                             "--checkpoint", str(ck), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(), start_new_session=True)
    try:
        _wait_until_running(proc, ck, n_jobs if n_jobs > 1 else 0)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err == "kcomp: interrupted\n" and out == ""


def test_progress_is_lines_when_not_a_terminal(capsys):
    from kcomp._progress import progress_bar

    with progress_bar(3, desc="pairs", progress=True, interval_s=0) as bar:
        for _ in range(3):
            bar.update(1)
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("\n") >= 3 and "pairs: 100%" in err
    with progress_bar(3, desc="pairs", progress=None) as bar:  # library default: silent off a terminal
        bar.update(3)
    assert capsys.readouterr().err == ""


def test_cli_progress_is_periodic_lines(tmp_path, capsys, monkeypatch):
    """The CLI default (no -q) writes plain progress lines off a terminal; -q silences them."""
    import kcomp._progress as progress

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    shutil.copy(BUNDLED_DEBIAN_SAMPLE, tmp_path / "d.jsonl.gz")
    assert main(["matrix", str(tmp_path / "d.jsonl.gz"), "--limit", "6", "--json"]) == 0
    err = capsys.readouterr().err
    assert "NCD matrix" in err and "\r" not in err
    assert main(["matrix", str(tmp_path / "d.jsonl.gz"), "--limit", "6", "--json", "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_demo_quick_runs_every_classifier_on_the_bundled_sample():
    pytest.importorskip("sklearn")
    from kcomp.cli.demo import run_demo

    rows = run_demo(quick=True)["classification"]
    assert {r["method"].split(" (")[0] for r in rows} >= {"NCD 1-NN, gzip", "class-conditional adaptive word models"}
    chance = 1 / 12
    assert all(r["accuracy"] > 3 * chance and r["predict_s"] >= 0 for r in rows), rows
