"""SIGINT and SIGTERM leave complete files or none, and no temporary files.

``headflow verify --out DIR`` and ``headflow sweep`` run in a subprocess and are
interrupted while they compute or write.  Afterwards every file in the output
directory is either absent or complete, no temporary file of an atomic write is
left over, the exit code is 130 (SIGINT) or 143 (SIGTERM) with one line on
standard error, and an interrupted sweep resumes to the full set of records.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIGNALS = [
    pytest.param(signal.SIGINT, 130, id="SIGINT"),
    pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
]

QUICK_CLAIM = """
import sympy as sp

from proofs.framework import Claim, Figure, check


class Quick(Claim):
    id, title = "Q1", "a claim that takes no time"
    statement = "1 + 1 = 2"

    @check("symbolic")
    def exact(self, ctx):
        return sp.Integer(1) + 1 == 2, "1 + 1 - 2 reduces to 0", {}

    def figures(self, ctx, evidence):
        # many figures: rendering and writing take most of the run
        line = {"label": "y = x", "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 2.0]}
        return [Figure(id=f"Q1-line-{k}", title=f"line {k}", xlabel="x",
                       ylabel="y", series=[line]) for k in range(4)]


CLAIMS = [Quick()]
"""


def _start(args, cwd) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HEADFLOW_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "proofs.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _caught_signals(pid: int) -> int:
    """Bit mask of the signals ``pid`` has handlers for (Linux /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next(x for x in status.splitlines() if x.startswith("SigCgt:"))
    return int(line.split()[1], 16)


def _wait_until_handled(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Block until the CLI has installed its SIGTERM handler (is inside main).

    A program that never installs one is signalled after ``timeout`` seconds.
    """
    if not Path("/proc/self/status").exists():
        time.sleep(2.0)
        return
    deadline = time.monotonic() + timeout
    bit = 1 << (signal.SIGTERM - 1)
    while time.monotonic() < deadline and proc.poll() is None:
        if _caught_signals(proc.pid) & bit:
            return
        time.sleep(0.01)


def _interrupt(proc: subprocess.Popen, sig, delay: float):
    _wait_until_handled(proc)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _temporaries(directory: Path) -> list[Path]:
    return [
        p
        for p in directory.rglob("*")
        if p.name.startswith(".")
        and (p.name.endswith(".tmp") or ".tmp-" in p.name)
        or p.name.startswith(".tmp-")
    ]


def _assert_ended_cleanly(code, err, expected_code) -> None:
    assert "Traceback" not in err, err
    assert code in (0, expected_code), (code, err)
    if code == expected_code:
        lines = [x for x in err.splitlines() if x.strip() and not x.startswith("[")]
        assert lines == [
            "headflow: interrupted" if expected_code == 130 else "headflow: terminated"
        ], err


def _assert_reports_complete(out: Path) -> None:
    """Each report file present in ``out`` is whole; results are valid JSON."""
    from reports.render import validate_results

    assert not _temporaries(out), _temporaries(out)
    if (out / "results.json").exists():
        validate_results(json.loads((out / "results.json").read_text()))
    if (out / "provenance.json").exists():
        json.loads((out / "provenance.json").read_text())
    endings = {
        ".html": "</html>",
        ".tex": "\\end{document}",
        ".svg": "</svg>",
        ".pdf": "%%EOF",
        ".md": "",
    }
    for path in out.rglob("*"):
        if path.suffix in endings:
            data = path.read_bytes()
            assert data.strip(), path
            assert data.rstrip().endswith(endings[path.suffix].encode()), path


# ---------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "code"), SIGNALS)
def test_signal_during_verify_c1_leaves_no_partial_file(sig, code, tmp_path):
    """A signal a second and a half into verify --only C1 ends it with 130/143."""
    out = tmp_path / "out"
    proc = _start(["verify", "--only", "C1", "--out", str(out), "--quiet"], tmp_path)

    returned, _, err = _interrupt(proc, sig, 1.5)

    assert returned == code, err
    _assert_ended_cleanly(returned, err, code)
    if out.exists():
        _assert_reports_complete(out)


@pytest.mark.parametrize(("sig", "code"), SIGNALS)
def test_signal_while_writing_reports_leaves_no_partial_file(sig, code, tmp_path):
    """A claim that spends its run writing reports, signalled at several moments:
    whole files or none each time."""
    (tmp_path / "quick_claim.py").write_text(QUICK_CLAIM)
    args = ["verify", "--claims", "quick_claim.py", "--only", "Q1", "--quiet"]

    # an uninterrupted run gives the time from the handler to the exit
    proc = _start([*args, "--out", "whole"], tmp_path)
    _wait_until_handled(proc)
    began = time.monotonic()
    _, err = proc.communicate(timeout=120)
    length = time.monotonic() - began
    assert proc.returncode == 0, err
    _assert_reports_complete(tmp_path / "whole")

    returned = []
    for k, fraction in enumerate([0.3, 0.6, 0.85]):
        out = tmp_path / f"out{k}"
        proc = _start([*args, "--out", str(out)], tmp_path)
        code_k, _, err = _interrupt(proc, sig, fraction * length)
        if code_k in (-sig, -signal.SIGABRT):
            # main had returned; the signal met the interpreter's exit
            assert (out / "report.html").exists(), (code_k, err)
        else:
            _assert_ended_cleanly(code_k, err, code)
        if out.exists():
            _assert_reports_complete(out)
        returned.append(code_k)

    assert code in returned, returned


# ---------------------------------------------------------------------------
# sweep
# ---------------------------------------------------------------------------

SWEEP = [
    "sweep",
    "--n",
    "5",
    "--d",
    "5",
    "--beta",
    "0.5:4:24",
    "--t",
    "6",
    "--samples",
    "61",
    "--quiet",
]


def _wait_for_records(points: Path, count: int, proc, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(points.glob("*.json"))) >= count:
            return
        time.sleep(0.02)


def _assert_sweep_consistent(out: Path, total: int) -> int:
    """Records present are whole JSON, none temporary; returns how many exist."""
    points = out / "points"
    assert not _temporaries(out), _temporaries(out)
    records = sorted(points.glob("*.json"))
    for path in records:
        assert json.loads(path.read_text())["index"] == int(path.stem)
    if (out / "records.jsonl").exists():
        lines = (out / "records.jsonl").read_text().splitlines()
        assert [json.loads(x)["index"] for x in lines] == list(range(total))
    if (out / "summary.json").exists():
        assert json.loads((out / "summary.json").read_text())["points"] == total
    return len(records)


@pytest.mark.parametrize(
    ("sig", "code", "workers"),
    [
        pytest.param(signal.SIGINT, 130, "1", id="SIGINT-serial"),
        pytest.param(signal.SIGTERM, 143, "1", id="SIGTERM-serial"),
        pytest.param(signal.SIGTERM, 143, "2", id="SIGTERM-processes"),
    ],
)
def test_interrupted_sweep_leaves_whole_records_and_resumes(
    sig, code, workers, tmp_path
):
    """A signal mid-sweep: whole records only, then --resume completes the grid."""
    out = tmp_path / "sweep"
    args = [*SWEEP, "--workers", workers, "--out", str(out)]
    proc = _start(args, tmp_path)
    _wait_for_records(out / "points", 4, proc)

    returned, _, err = _interrupt(proc, sig, 0.0)
    before = _assert_sweep_consistent(out, 24)
    resumed = subprocess.run(
        [sys.executable, "-m", "proofs.cli", *args, "--resume"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    assert returned == code, err
    _assert_ended_cleanly(returned, err, code)
    assert 4 <= before < 24
    assert resumed.returncode == 0, resumed.stderr
    assert f"{24 - before} computed, {before} resumed" in resumed.stdout
    assert _assert_sweep_consistent(out, 24) == 24
    assert (out / "records.jsonl").exists() and (out / "summary.json").exists()


# ---------------------------------------------------------------------------
# the atomic writer itself
# ---------------------------------------------------------------------------


class _Stop(Exception):
    pass


def test_signal_inside_an_atomic_write_is_delivered_after_the_rename(
    tmp_path, monkeypatch
):
    """A SIGTERM raised while the bytes are being synced lands after the rename."""
    import proofs._io as io_module

    def stop(signum, frame):
        raise _Stop

    real_fsync = os.fsync

    def fsync_and_signal(fd):
        os.kill(os.getpid(), signal.SIGTERM)
        real_fsync(fd)

    previous = signal.signal(signal.SIGTERM, stop)
    monkeypatch.setattr(io_module.os, "fsync", fsync_and_signal)
    try:
        with pytest.raises(_Stop):
            io_module.atomic_write_text(tmp_path / "doc.json", '{"whole": true}\n')
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert json.loads((tmp_path / "doc.json").read_text()) == {"whole": True}
    assert not _temporaries(tmp_path)


def test_written_files_get_the_mode_open_would_give(tmp_path):
    """Atomic writes honour the umask instead of the 0600 of a temporary file."""
    from proofs._io import atomic_write_text

    mask = os.umask(0o022)
    os.umask(mask)
    path = atomic_write_text(tmp_path / "report.html", "<html></html>\n")

    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_handled_inside_a_finaliser_still_ends_the_run(sig, capsys):
    """Python discards an exception raised in a finaliser or weakref callback (as
    matplotlib runs during garbage collection); the signal is delivered again."""
    from proofs import cli

    class Finalised:
        def __del__(self):
            # the handler runs at the next bytecode boundary: inside __del__
            os.kill(os.getpid(), sig)

    with pytest.raises(KeyboardInterrupt):
        with cli._sigterm_as_interrupt():
            obj = Finalised()
            del obj
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                pass
    assert "Exception ignored" not in capsys.readouterr().err
