"""headflow verify end to end: statuses, JSON contract, counterexamples, reruns."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import mpmath
import pytest

import reference

EXPECTED = {
    "C1": "holds-in-regime",
    "C2": "proved",
    "C3": "verified",
    "C4": "proved",
    "C5": "proved",
    "C6": "proved",
    "C7": "holds-in-regime",
}


def _verify(tmp, *extra):
    path = tmp / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "proofs.cli",
            "verify",
            "--quiet",
            "--json",
            str(path),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc, path


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    proc, path = _verify(tmp_path_factory.mktemp("verify"))
    return proc, json.loads(path.read_text())


def test_quick_profile_gives_the_expected_statuses(quick):
    """Every built-in claim comes out with the status its evidence supports."""
    proc, document = quick
    statuses = {c["id"]: c["status"] for c in document["claims"]}

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert statuses == EXPECTED


def test_result_document_follows_the_contract(quick):
    """Top level and per-claim fields other tools rely on are present."""
    _, document = quick

    assert {"claims", "seed", "profile", "versions"} <= set(document)
    for claim in document["claims"]:
        assert {
            "id",
            "title",
            "status",
            "hypotheses",
            "evidence",
            "counterexamples",
        } <= set(claim)
        for evidence in claim["evidence"]:
            assert {"kind", "passed", "summary"} <= set(evidence)
        for cex in claim["counterexamples"]:
            assert {
                "quantity",
                "X",
                "M",
                "beta",
                "kernel",
                "norm",
                "geometry",
                "value",
            } <= set(cex)


def _certified(document):
    return [
        (c["id"], cex)
        for c in document["claims"]
        for cex in c["counterexamples"]
        if cex.get("certified")
    ]


def test_every_certified_counterexample_has_its_sign_when_recomputed(quick):
    """An independent mpmath implementation reproduces each certified sign and value."""
    _, document = quick
    found = _certified(document)

    assert {cid for cid, _ in found} >= {"C1", "C2", "C7"}
    for cid, cex in found:
        with mpmath.workdps(40):
            value = reference.rate_mp(cex, mpmath.mp)
            lo, hi = (Decimal(v) for v in cex["enclosure"])

            assert value < 0, (cid, cex["quantity"], value)
            assert Decimal(mpmath.nstr(value, 35)) >= lo - abs(lo) * Decimal("1e-25")
            assert Decimal(mpmath.nstr(value, 35)) <= hi + abs(hi) * Decimal("1e-25")


def test_same_inputs_give_the_same_json(tmp_path):
    """Two runs with the same seed write byte-identical result documents."""
    first, path_a = _verify(tmp_path / "a", "--only", "C3,C6", "--seed", "5")
    second, path_b = _verify(tmp_path / "b", "--only", "C3,C6", "--seed", "5")

    assert first.returncode == second.returncode == 0
    text_a, text_b = path_a.read_text(), path_b.read_text()
    assert text_a == text_b.replace(str(tmp_path / "b"), str(tmp_path / "a"))
