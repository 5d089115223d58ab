"""The command line: exit codes, one-line errors, written files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from proofs.cli import main


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "proofs.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["critical-beta", "--n", "1"],
        ["critical-beta", "--n", "four"],
        ["critical-beta", "--n", "8", "--digits", "10"],
        ["simulate", "--beta", "-1"],
        ["simulate", "--n", "1"],
        ["simulate", "--kernel", "__import__('os').system('touch pwned')"],
        ["equiangular", "--n", "8", "--rho0", "0.1"],
        ["verify", "--only", "C99"],
        ["derive", "C99"],
        ["report", "does-not-exist.json", "--out", "x"],
        ["no-such-command"],
    ],
)
def test_invalid_arguments_exit_2_with_one_line(args, tmp_path):
    """Every invalid argument ends with exit code 2 and one line, no traceback."""
    result = _run(*args, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "name",
    ["verify", "derive", "simulate", "critical-beta", "equiangular", "sweep", "report"],
)
def test_every_subcommand_has_help(name, capsys):
    """--help of each subcommand prints usage and exits 0."""
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])

    assert info.value.code == 0
    assert "usage: headflow" in capsys.readouterr().out


def test_simulate_writes_summary_and_plot(tmp_path, capsys):
    """simulate --out writes a JSON summary over time and a PNG plot."""
    code = main(
        [
            "simulate",
            "--n",
            "6",
            "--d",
            "4",
            "--heads",
            "2",
            "--beta",
            "2",
            "--t",
            "3",
            "--samples",
            "7",
            "--seed",
            "1",
            "--out",
            str(tmp_path),
        ]
    )

    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["t"]) == len(summary["energy"]) == 7
    assert len(summary["mean_inner_product"]) == len(summary["attention_entropy"]) == 7
    assert (tmp_path / "simulation.png").read_bytes()[:4] == b"\x89PNG"


def test_simulate_is_reproducible_from_the_seed(capsys):
    """The same seed gives the same JSON summary."""
    args = [
        "simulate",
        "--n",
        "5",
        "--d",
        "3",
        "--heads",
        "2",
        "--t",
        "1",
        "--samples",
        "3",
        "--seed",
        "4",
        "--json",
    ]
    main(args)
    first = capsys.readouterr().out
    main(args)

    assert capsys.readouterr().out == first
