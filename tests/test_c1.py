"""C1: energy monotonicity, its checks, and that they can fail."""

from __future__ import annotations

import numpy as np
from hypothesis import given

import numeric
from numeric.strategies import models
from proofs.c1_energy import EnergyMonotonicity, _rate_scale, sum_of_squares_rate
from proofs.framework import Context


@given(models(n=(2, 6), d=(1, 4), heads=(1, 3), symmetric=True, beta=(0.1, 4.0)))
def test_usa_energy_rate_is_the_sum_of_squares(model):
    """For usa weights and symmetric heads dE/dt = (1/n) sum |x_i'|^2 >= 0."""
    for geometry in ("flat", "sphere"):
        rate = numeric.energy_rates(
            model.X, model.M, model.beta, norm="usa", geometry=geometry
        ).sum()
        claimed = sum_of_squares_rate(model.X, model.M, model.beta, geometry=geometry)
        # the size of the terms that cancel inside the velocity
        scale = _rate_scale(model, "exp", "usa", geometry) + np.finfo(float).tiny

        assert abs(rate - claimed) <= 1e3 * np.finfo(float).eps * scale
        assert rate >= -1e3 * np.finfo(float).eps * scale


def test_numeric_check_detects_a_perturbed_rate(monkeypatch):
    """The sampled check fails when the chain-rule rate is off by one part in 1e6."""
    claim = EnergyMonotonicity()
    ctx = Context(seed=0)
    honest = claim.sampled_configurations(ctx)
    original = numeric.energy_rates

    def broken(*args, **kwargs):
        return original(*args, **kwargs) * (1 + 1e-6)

    monkeypatch.setattr(numeric, "energy_rates", broken)
    perturbed = claim.sampled_configurations(ctx)

    assert honest.passed
    assert not perturbed.passed


def test_high_precision_check_detects_a_perturbed_velocity(monkeypatch):
    """The mpmath check fails when the velocity is off by one part in 1e20."""
    from numeric import highprec

    claim = EnergyMonotonicity()
    ctx = Context(seed=0)
    original = highprec.velocity_mp

    def broken(*args, **kwargs):
        return original(*args, **kwargs) * highprec.to_mpf("1.00000000000000000001")

    monkeypatch.setattr(highprec, "velocity_mp", broken)

    assert not claim.independent_high_precision(ctx).passed


def test_boundary_counterexamples_are_certified():
    """Both boundaries yield minimal certified counterexamples with dE/dt < 0."""
    claim = EnergyMonotonicity()
    ctx = Context(seed=0)

    for evidence in (claim.non_symmetric_scores(ctx), claim.multi_head_softmax(ctx)):
        (cex,) = evidence.counterexamples

        assert evidence.passed and cex.certified
        assert float(cex.enclosure[1]) < 0
        assert len(cex.X) == 2
