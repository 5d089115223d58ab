"""Sweeps: grid parsing, identical records on every backend, resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from proofs.sweep import load_grid, parse_values, run_sweep
from reports.sweep import sweep_plots
from symbolic.errors import InvalidArgumentError


def test_range_and_list_syntax():
    """a:b:k gives k evenly spaced values; a,b,c a list."""
    assert parse_values("beta", "0.5:4:8") == pytest.approx(
        [0.5 + 0.5 * k for k in range(8)]
    )
    assert parse_values("n", "6,12", int) == [6, 12]


@pytest.mark.parametrize(
    "flags, argument",
    [
        ({"n": "1"}, "n"),
        ({"beta": "0"}, "beta"),
        ({"norm": "soft"}, "norm"),
        ({"beta": "1:2:x"}, "beta"),
        ({"n": "2.5"}, "n"),
        ({"max_nfev": "0"}, "max_nfev"),
        ({"start": "simplex"}, "start"),
        ({"start": "equiangular", "n": "5", "rho0": "-0.3"}, "rho0"),
        ({"start": "equiangular", "n": "5", "d": "4"}, "d"),
    ],
)
def test_bad_grid_values_are_rejected(flags, argument):
    """An invalid grid value raises an error naming it."""
    with pytest.raises(InvalidArgumentError) as info:
        load_grid(**flags)

    assert info.value.argument == argument


def test_toml_grid_with_flag_override(tmp_path):
    """A TOML [grid] table is read, and flags override it."""
    config = tmp_path / "grid.toml"
    config.write_text('[grid]\nn = [4, 6]\nbeta = "1:2:3"\nseeds = 2\n')

    grid = load_grid(config, n="5")

    assert grid.n == [5] and grid.beta == [1.0, 1.5, 2.0] and grid.seeds == 2
    assert len(grid.points()) == 6


def _records(out):
    return (out / "records.jsonl").read_text()


@pytest.fixture(scope="module")
def small_grid():
    return load_grid(n="4,6", d="4", beta="0.5:3:3", t="4", samples=41, seed=7)


def test_serial_and_process_pool_give_identical_records(small_grid, tmp_path):
    """Serial and 2-process runs write byte-identical records."""
    serial = run_sweep(small_grid, tmp_path / "serial")
    pooled = run_sweep(small_grid, tmp_path / "pool", workers=2)

    assert serial["points"] == pooled["points"] == 6
    assert _records(tmp_path / "serial") == _records(tmp_path / "pool")


def test_dask_local_cluster_gives_identical_records(small_grid, tmp_path):
    """A Dask LocalCluster on 127.0.0.1 writes the same records as the serial run."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    run_sweep(small_grid, tmp_path / "serial")
    summary = run_sweep(small_grid, tmp_path / "dask", scheduler="local:2")

    assert summary["backend"] == "dask"
    assert _records(tmp_path / "serial") == _records(tmp_path / "dask")


def test_points_over_the_evaluation_budget_are_recorded_as_failures(tmp_path):
    """A per-point budget of velocity evaluations ends long runs as failures."""
    grid = load_grid(n="4", d="4", beta="1,2", t="4", samples=11, max_nfev=40)

    summary = run_sweep(grid, tmp_path)

    records = [json.loads(line) for line in _records(tmp_path).splitlines()]
    assert summary["failed"] == 2
    assert all(r["status"] == -1 and "max_nfev" in r["message"] for r in records)
    assert json.loads((tmp_path / "grid.json").read_text())["max_nfev"] == 40


def test_equiangular_points_carry_the_reduced_equation(tmp_path):
    """At equiangular starts the particle rho(t) follows the reduced equation."""
    grid = load_grid(
        n="5",
        d="5",
        heads="2",
        beta="1,3",
        t="5",
        samples=51,
        start="equiangular,random",
        rho0="0.2",
    )

    summary = run_sweep(grid, tmp_path)

    records = [json.loads(line) for line in _records(tmp_path).splitlines()]
    equi = [r for r in records if r["start"] == "equiangular"]
    rand = [r for r in records if r["start"] == "random"]
    assert len(equi) == len(rand) == 2
    assert all(r["rho_initial"] == pytest.approx(0.2, abs=1e-12) for r in equi)
    assert all(r["reduction_gap"] < 1e-6 for r in equi)
    assert all(
        r["clustering_time_reduced"] == pytest.approx(r["clustering_time"], abs=1e-4)
        for r in equi
    )
    assert all(r["rho_reduced_final"] is None for r in rand)
    assert summary["reduction_gap_max"] == max(r["reduction_gap"] for r in equi)
    paths = sweep_plots(tmp_path)
    assert [p.name for p in paths] == ["phase_diagram.png", "clustering_time.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_existing_records_need_resume(small_grid, tmp_path):
    """A directory with records is not overwritten without --resume."""
    run_sweep(small_grid, tmp_path)

    with pytest.raises(InvalidArgumentError, match="resume"):
        run_sweep(small_grid, tmp_path)
    assert run_sweep(small_grid, tmp_path, resume=True)["computed"] == 0


def test_killed_sweep_resumes_without_recomputing(tmp_path):
    """SIGKILL half-way, then --resume: every point present once, none corrupt."""
    out = tmp_path / "sweep"
    args = [
        sys.executable,
        "-m",
        "proofs.cli",
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
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list((out / "points").glob("*.json"))) >= 8:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(list((out / "points").glob("*.json")))

    resumed = subprocess.run(
        args + ["--resume"], capture_output=True, text=True, timeout=300
    )

    assert resumed.returncode == 0, resumed.stderr
    assert 8 <= before < 24
    assert f"{24 - before} computed, {before} resumed" in resumed.stdout
    lines = _records(out).splitlines()
    indices = [json.loads(line)["index"] for line in lines]
    assert indices == list(range(24))
    assert not list((out / "points").glob(".*"))
