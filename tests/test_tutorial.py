"""The tutorial docs/writing-a-claim.md runs as written, from a package outside."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "writing-a-claim.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The tutorial's package ``mysigmoid`` in a directory of its own."""
    root = tmp_path_factory.mktemp("user")
    pkg = root / "mysigmoid"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "claims.py").write_text("\n\n".join(_python_blocks()))
    return root


def _headflow(*args, root, cwd):
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run(
        [sys.executable, "-m", "proofs.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def run(package, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = _headflow(
        "verify",
        "--claims",
        "mysigmoid.claims",
        "--only",
        "SIG1,SIG2,SIG3,C3",
        "--out",
        str(out),
        "--quiet",
        root=package,
        cwd=out,
    )
    return result, out


def test_tutorial_claims_get_their_statuses(run):
    """SIG1 holds in its regime, SIG2 is refuted, SIG3's raising check is an error."""
    result, out = run
    claims = {
        c["id"]: c for c in json.loads((out / "results.json").read_text())["claims"]
    }

    assert result.returncode == 1, result.stderr
    assert claims["SIG1"]["status"] == "holds-in-regime"
    assert claims["SIG2"]["status"] == "refuted"
    assert claims["SIG3"]["status"] == "error"
    assert "ZeroDivisionError" in claims["SIG3"]["error"]
    assert claims["C3"]["status"] == "verified"


def test_tutorial_counterexample_is_certified(run):
    """The boundary counterexample carries a certified negative enclosure."""
    _, out = run
    claims = {
        c["id"]: c for c in json.loads((out / "results.json").read_text())["claims"]
    }
    (cex,) = claims["SIG1"]["counterexamples"]

    assert cex["certified"] and float(cex["enclosure"][1]) < 0
    assert cex["kernel"] == "1/(1+exp(-beta*s))"


def test_tutorial_report_renders_with_the_built_in_claims(run):
    """The HTML report holds the user's claims beside C3."""
    _, out = run
    html = (out / "report.html").read_text()

    for claim_id in ("SIG1", "SIG2", "SIG3", "C3"):
        assert claim_id in html


def test_entry_point_claims_are_listed(package, tmp_path):
    """A distribution registering headflow.claims is found by verify --list."""
    dist = package / "mysigmoid-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mysigmoid\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[headflow.claims]\nmysigmoid = mysigmoid.claims\n"
    )

    result = _headflow("verify", "--list", root=package, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "SIG1" in result.stdout and "C1" in result.stdout
