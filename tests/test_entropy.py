"""Tests of the entropy-production claim C7 and of ``symbolic.entropy``.

Runtime: about 20 s, most of it one quick run of the claim shared by the last
tests through a module fixture.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings

import numeric
from numeric import strategies
from proofs import c7_entropy as c7
from proofs.framework import Context, Status, run_claim
from symbolic import entropy as ent
from symbolic.model import beta, s
from symbolic.model import n as n_sym

EPS = float(np.finfo(np.float64).eps)
VARIANTS = [
    (k, m, g)
    for k in ("exp", "relu")
    for m in ("usa", "sa")
    for g in ("flat", "sphere")
]


# ---------------------------------------------------------------------------
# symbolic identities, and that wrong candidates are rejected
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_entropy_rate_is_minus_beta_squared_covariance(k):
    result = ent.prove_entropy_identity(k)

    assert result.holds and result.residual == 0


@pytest.mark.parametrize("k", [2, 3, 5])
def test_weight_rate_identity(k):
    assert ent.prove_weight_identity(k).holds


def _uncentred(row):
    """-beta^2 <s s'>: the covariance with its mean term dropped."""
    return row.covariance_rate(-(beta**2) * ent.p * s * ent.s_dot)


def _first_power(row):
    return row.covariance_rate(ent.covariance_density() / beta)


@pytest.mark.parametrize(
    "candidate",
    [_uncentred, _first_power],
    ids=["mean-term-dropped", "beta-not-squared"],
)
@pytest.mark.parametrize("k", [2, 4])
def test_wrong_entropy_rates_are_not_proved(k, candidate):
    result = ent.prove_entropy_identity(k, candidate)

    assert not result.holds and result.terms > 0


def test_weight_rate_without_mean_is_not_proved():
    def wrong(row, j):
        return beta * row.weights[j] * row.score_rates[j]

    assert not ent.prove_weight_identity(3, wrong).holds


def test_equiangular_formula_and_its_perturbations():
    right = ent.claimed_equiangular_rate()

    assert ent.prove_equiangular_rate().holds
    assert not ent.prove_equiangular_rate(right / beta).holds
    assert not ent.prove_equiangular_rate(right / (1 - ent.rho)).holds


def test_equiangular_sign_limit_and_critical_beta():
    a_star, curvature = ent.self_weight_variance_peak()

    assert ent.equiangular_rate_nonnegative()
    assert ent.sa_exp_rate_nonnegative()
    assert ent.entropy_limit_at_cluster() == sp.log(n_sym)
    assert (a_star, curvature) == (sp.Rational(1, 2), -2)


def test_critical_beta_halves_the_self_weight_of_the_model():
    """At beta_c the float64 model's self attention weight is 1/2."""
    n, m, rho = 6, 0.8, 0.3
    f = c7._critical_beta_piece()
    b_c = float(f(rho, m, n))
    X = c7._equiangular(n, rho, n)
    a = numeric.attention(X, m * np.eye(n)[None], b_c)[0, 0, 0]

    assert abs(a - 0.5) <= 16 * EPS


def test_entropy_tends_to_log_n_on_the_model():
    n, m, gap = 7, 1.3, 1e-9
    X = c7._equiangular(n, 1 - gap, n + 2)
    S = numeric.attention_entropy(X, m * np.eye(n + 2)[None], 2.0)

    assert np.all(np.abs(S - math.log(n)) <= 1e-12)


@pytest.mark.parametrize(
    "variant", [("exp", "usa"), ("exp", "sa"), ("relu", "usa"), ("relu", "sa")]
)
def test_rho_rate_matches_the_particle_velocity(variant):
    """rho' used by the entropy formula equals 2 <x_i', x_k> of the particle flow."""
    kernel, norm = variant
    rate = sp.lambdify(
        (ent.rho, beta, n_sym, ent.m), ent._equiangular_rho_rate(*variant)
    )

    for rho, b, n, m in [(0.3, 2.0, 5, 0.7), (0.9, 0.5, 3, 1.4), (0.05, 7.0, 8, 0.2)]:
        X = c7._equiangular(n, rho, n)
        V = numeric.velocity(X, m * np.eye(n)[None], b, kernel=kernel, norm=norm)
        particle = 2 * float(V[0] @ X[1])

        assert abs(rate(rho, b, n, m) - particle) <= 1e-12 * max(1, abs(particle))


# ---------------------------------------------------------------------------
# float64: complex step against the covariance form, every variant
# ---------------------------------------------------------------------------


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


_RNG = np.random.default_rng(11)
_BASE = _unit(_RNG.standard_normal((5, 3)))
_M3 = _RNG.uniform(-1, 1, (3, 3, 3))
_COINCIDENT = _BASE.copy()
_COINCIDENT[1] = _COINCIDENT[2] = _COINCIDENT[0]
_ANTIPODAL = _BASE.copy()
_ANTIPODAL[1] = -_ANTIPODAL[0]


def _rounding_unit(X, M, b, V):
    """eps beta |s'| (1 + beta |s|) per row, with term sizes before cancellation."""
    aX, aV, aM = np.abs(X), np.abs(V), np.abs(M)
    S = np.einsum("ia,hab,jb->hij", aX, aM, aX).max(axis=2)
    D = (
        np.einsum("ia,hab,jb->hij", aV, aM, aX)
        + np.einsum("ia,hab,jb->hij", aX, aM, aV)
    ).max(axis=2)
    # plus the complex step's resolution, the subnormal spacing over its step
    return EPS * b * D * (1 + b * S) + 1e-280


_direction = c7._flow_direction


@pytest.mark.parametrize("variant", VARIANTS, ids=["/".join(v) for v in VARIANTS])
@settings(max_examples=8, deadline=None)
@given(
    model=strategies.models(
        n=(2, 6), d=(1, 4), heads=(1, 3), symmetric=False, beta=(0.1, 8.0)
    )
)
@example(model=strategies.Model(_COINCIDENT, _M3, 1e3))
@example(model=strategies.Model(_ANTIPODAL, _M3, 1e3))
@example(model=strategies.Model(_BASE, _M3, 1e-8))
def test_complex_step_rate_equals_covariance_form(variant, model):
    kernel, norm, geometry = variant
    V = _direction(model, kernel, norm, geometry)
    rate = numeric.entropy_rate(
        model.X, model.M, model.beta, kernel=kernel, norm=norm, geometry=geometry, V=V
    )
    closed = c7.covariance_entropy_rate(model.X, model.M, model.beta, V)
    unit = _rounding_unit(model.X, model.M, model.beta, V)

    assert np.max(np.abs(rate - closed) / unit) <= 64


def _prime_sized(beta_value):
    rng = np.random.default_rng(7)
    X = _unit(rng.standard_normal((7, 11)))
    X[1] = X[2] = X[0]
    return X, rng.uniform(-1, 1, (3, 11, 11)), beta_value


def test_covariance_rate_has_one_value_per_head_and_token():
    X, M, b = _prime_sized(2.0)
    V = numeric.velocity(X, M, b, norm="sa")
    closed = c7.covariance_entropy_rate(X, M, b, V)
    rate = numeric.entropy_rate(X, M, b, norm="sa")

    assert closed.shape == (3, 7)
    assert np.max(np.abs(rate - closed) / _rounding_unit(X, M, b, V)) <= 64


def test_complex_step_rate_along_a_huge_usa_velocity():
    """The complex step scales with the velocity, so a 1e32 usa field is exact too."""
    X, M, b = _prime_sized(50.0)
    V = numeric.velocity(X, M, b, norm="usa", geometry="flat")
    rate = numeric.entropy_rate(X, M, b, norm="usa", geometry="flat")
    closed = c7.covariance_entropy_rate(X, M, b, V)

    assert np.max(np.abs(rate - closed)) <= 1e-10 * np.max(np.abs(closed))


# ---------------------------------------------------------------------------
# equiangular trajectories: the closed form against finite differences
# ---------------------------------------------------------------------------


def test_equiangular_rate_matches_finite_differences_of_the_trajectory():
    n, b, m = 5, 2.0, np.array([0.7, 1.3])
    M = m[:, None, None] * np.eye(n)[None]
    dt = 1e-3
    times = np.arange(0.0, 0.6 + dt / 2, dt)
    traj = numeric.integrate(
        c7._equiangular(n, 0.1, n),
        M,
        b,
        times[-1],
        norm="sa",
        t_eval=times,
        rtol=1e-13,
        atol=1e-14,
    )
    X = _unit(traj.X)
    S = np.array([numeric.attention_entropy(x, M, b)[:, 0] for x in X])
    a = np.array([numeric.attention(x, M, b)[:, 0, 0] for x in X])
    rho = np.array([numeric.mean_inner_product(x) for x in X])

    # central differences at interior grid points, error O(dt^2)
    k = slice(1, -1)
    dS = (S[2:] - S[:-2]) / (2 * dt)
    d_rho = (rho[2:] - rho[:-2]) / (2 * dt)
    formula = b**2 * m**2 * a[k] * (1 - a[k]) * ((1 - rho[k]) * d_rho)[:, None]
    derived = np.array([c7.equiangular_rate_closed_form(r, b, m, n) for r in rho[k]])
    scale = np.max(np.abs(dS))

    assert traj.success
    assert np.max(np.abs(dS - formula)) <= 10 * dt**2 * scale
    assert np.max(np.abs(dS - derived)) <= 10 * dt**2 * scale
    assert np.all(dS > 0)


# ---------------------------------------------------------------------------
# the claim, and its counterexample recomputed independently
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_result():
    return run_claim(c7.CLAIMS[0], Context(profile="quick"))


def test_quick_run_holds_in_regime(quick_result):
    assert quick_result.error is None
    assert quick_result.status == Status.HOLDS_IN_REGIME
    assert all(e.passed for e in quick_result.evidence)


def _plain_velocity(X, M, b, norm):
    """x_i' = P_i sum_h sum_j w_ij M_h x_j with exp weights, from the definitions."""
    n, d = X.shape
    V = np.zeros((n, d))
    for Mh in M:
        for i in range(n):
            phi = [
                math.exp(
                    b
                    * sum(
                        X[i, a] * Mh[a, c] * X[j, c] for a in range(d) for c in range(d)
                    )
                )
                for j in range(n)
            ]
            Z = sum(phi) if norm == "sa" else n
            for j in range(n):
                for a in range(d):
                    V[i, a] += phi[j] / Z * sum(Mh[a, c] * X[j, c] for c in range(d))
    for i in range(n):
        radial = sum(V[i, a] * X[i, a] for a in range(d))
        for a in range(d):
            V[i, a] -= radial * X[i, a]
    return V


def _plain_mean_entropy(X, M, b):
    n, d = X.shape
    total = 0.0
    for Mh in M:
        for i in range(n):
            e = [
                math.exp(
                    b
                    * sum(
                        X[i, a] * Mh[a, c] * X[j, c] for a in range(d) for c in range(d)
                    )
                )
                for j in range(n)
            ]
            Z = sum(e)
            total -= sum(v / Z * math.log(v / Z) for v in e)
    return total / (len(M) * n)


def test_counterexamples_recomputed_by_plain_loops_decrease(quick_result):
    cexs = quick_result.counterexamples
    h = 1e-5

    assert len(cexs) >= 3
    for cex in cexs:
        X, M = np.array(cex.X), np.array(cex.M)
        V = _plain_velocity(X, M, cex.beta, cex.norm)
        rate = (
            _plain_mean_entropy(X + h * V, M, cex.beta)
            - _plain_mean_entropy(X - h * V, M, cex.beta)
        ) / (2 * h)
        value = float(cex.value)
        lo, hi = (float(v) for v in cex.enclosure)

        assert cex.certified and cex.quantity == "dS_mean/dt"
        assert (cex.kernel, cex.geometry) == ("exp", "sphere")
        assert hi < 0 and lo <= value <= hi
        assert rate < 0
        assert abs(rate - value) <= 1e-6 * abs(value)


def test_minimal_counterexample_is_two_tokens_in_the_plane(quick_result):
    (boundary,) = [
        e for e in quick_result.evidence if e.name == "general_heads_decrease"
    ]
    minimal = boundary.counterexamples[0]

    assert (len(minimal.X), len(minimal.X[0]), len(minimal.M)) == (2, 2, 1)
