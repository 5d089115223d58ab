"""Claims C4-C6 run to proved or verified, with the evidence they promise."""

from __future__ import annotations

import json

import pytest

from proofs import c4_equiangular, c5_superadditive, c6_relu_softmax
from proofs.framework import Context, Status, run_claim

_MODULES = {"C4": c4_equiangular, "C5": c5_superadditive, "C6": c6_relu_softmax}


@pytest.fixture(scope="module")
def results():
    """Each claim run once in the quick profile (about 25 s together)."""
    out = {}
    for cid, module in _MODULES.items():
        (claim,) = module.CLAIMS
        out[cid] = run_claim(claim, Context(profile="quick", digits=30))
    return out


def _evidence(result, name):
    return next(e for e in result.evidence if e.name == name)


@pytest.mark.parametrize("cid", sorted(_MODULES))
def test_claim_is_proved_or_verified(results, cid):
    """No check errors or fails; the status is proved or verified."""
    result = results[cid]

    assert result.error is None, result.error
    assert result.status in (Status.PROVED, Status.VERIFIED)
    assert all(e.passed for e in result.evidence if e.expected)


@pytest.mark.parametrize("cid", sorted(_MODULES))
def test_claim_json_is_plain_and_has_a_derivation(results, cid):
    """The result serialises to JSON and carries derivation steps and figures."""
    doc = results[cid].to_json()
    text = json.dumps(doc)

    assert doc["id"] == cid and doc["derivation"] and doc["figures"]
    assert "NaN" not in text


def test_c4_evidence_has_thirty_digits_enclosures_and_quadrature(results):
    """C4: 30-digit pointwise agreement, certified enclosures, quadrature checks."""
    c4 = results["C4"]
    pointwise = _evidence(c4, "pointwise_high_precision")
    certified = _evidence(c4, "certified_critical_values")
    quadrature = _evidence(c4, "clustering_bound_quadrature")

    assert pointwise.figures["digits"] >= 30
    assert all(r["certified"] for r in certified.figures["enclosure"])
    assert {r["quantity"] for r in certified.figures["enclosure"]} == {
        "beta_c",
        "rho*",
        "mixed threshold",
    }
    assert quadrature.figures["max_ratio_over_bound"] <= 1
    assert _evidence(c4, "trajectories_high_precision").figures["digits"] >= 30


def test_c4_figures_are_data(results):
    """C4 figures: trajectories, T(beta) with beta_c marked, a (t, beta) heatmap."""
    figures = {f["id"]: f for f in results["C4"].figures}
    heat = figures["C4-heatmap"]

    assert set(figures) == {"C4-rho-t", "C4-clustering-time", "C4-heatmap"}
    assert len(figures["C4-rho-t"]["series"]) == 8
    assert figures["C4-clustering-time"]["marks"][0]["label"].startswith("beta_c")
    assert heat["kind"] == "heatmap"
    assert len(heat["grid"]["z"]) == len(heat["grid"]["y"])
    assert all(len(row) == len(heat["grid"]["x"]) for row in heat["grid"]["z"])


def test_c5_margin_is_certified_positive(results):
    """C5: the strict margin of heterogeneous exp heads is a certified ball > 0."""
    rows = _evidence(results["C5"], "certified_margin").figures["enclosure"]

    assert [r["certified_positive"] for r in rows] == [True, True, False]
    assert float(rows[0]["margin_enclosure"][0]) > 0


def test_c6_fit_and_closed_form(results):
    """C6: the log(1/rho_0) slope matches its prediction; the closed form holds."""
    fit = _evidence(results["C6"], "log_growth_fit")
    quad = _evidence(results["C6"], "times_by_quadrature")

    assert abs(fit.figures["slope"] / fit.figures["predicted_slope"] - 1) < 1e-3
    assert quad.figures["digits"] >= 30
    assert quad.figures["cases"][-1]["rho0"] == "1e-8"
