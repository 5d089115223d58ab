"""The benchmark runner keeps working (smoke mode: tiny sizes, no timing claims)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_run_writes_its_page(tmp_path):
    """python -m benchmarks --smoke runs every benchmark and writes the page."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stderr
    page = (tmp_path / "benchmarks.md").read_text()
    for heading in (
        "Velocity kernel throughput",
        "Scaling with n",
        "Work-precision",
        "High precision",
        "Sweep backends",
    ):
        assert heading in page
    assert (tmp_path / "benchmarks" / "work_precision.png").exists()
