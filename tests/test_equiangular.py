"""The equiangular reduction: derivation, generated rates, critical values, API."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import numeric
from numeric import strategies
from numeric._mpode import solve_ivp_mp
from numeric.highprec import flow_function
from proofs import equiangular_api as api
from proofs.c4_equiangular import pointwise_agreement, stated_weight
from proofs.c5_superadditive import clustering_rates
from symbolic import equiangular as eq
from symbolic.errors import InvalidArgumentError, UnsupportedError
from symbolic.model import beta, n

N, D, H = 7, 11, 3


# ---------------------------------------------------------------------------
# symbolic derivation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, norm", eq.VARIANTS)
def test_derived_rate_is_the_stated_one(kernel, norm):
    """rho' from the particle model equals 2 u(rho) sum_h m_h w_h, branch by branch."""
    ms = eq.head_scalars(2, positive=kernel == "relu")
    derived = eq.rho_rate(kernel, norm, ms)
    r = sp.Symbol("rho", positive=True) if kernel == "relu" else eq.rho
    u = (1 - r) * (1 + (n - 1) * r)
    stated = 2 * u * sum(h * stated_weight(kernel, norm, h, r) for h in ms)
    branch = derived.args[0][0].subs(eq.rho, r) if kernel == "relu" else derived

    assert eq.is_identity(branch, stated)


@pytest.mark.parametrize("kernel, norm", eq.VARIANTS)
def test_equiangular_set_is_invariant_for_three_tokens(kernel, norm):
    """Explicit Gram model: diagonal rates vanish and every pair moves alike."""
    residuals = eq.invariance_residuals(kernel, norm, 3, H=2)

    assert residuals and all(eq.is_identity(r, 0) for r in residuals)


def test_identity_prover_sees_a_perturbed_rate():
    """A rate off by a factor 1 + 10^-6 is not an identity."""
    F = eq.head_rate("exp", "sa")

    assert not eq.is_identity(F, F * (1 + sp.Rational(1, 10**6)))


def test_critical_beta_is_where_the_self_weight_is_one_half():
    """Substituting beta_c into the self weight gives exactly 1/2."""
    inverse = sp.powsimp(sp.expand(1 / eq.self_weight()))
    at = inverse.subs(beta, eq.critical_beta()).replace(
        sp.exp, lambda e: sp.exp(sp.simplify(e))
    )

    assert sp.simplify(1 / at) == sp.Rational(1, 2)


def test_gram_root_squares_to_the_gram_matrix():
    """(alpha I + gamma J)^2 = (1 - rho) I + rho J for n = 5."""
    R = eq.gram_root()
    root = (R.alpha * sp.eye(5) + R.gamma * sp.ones(5, 5)).subs(n, 5)

    assert sp.simplify(
        root**2 - ((1 - eq.rho) * sp.eye(5) + eq.rho * sp.ones(5, 5))
    ) == sp.zeros(5, 5)


def test_linear_rates_at_one():
    """The stated slopes at rho = 1: -2 m e^{beta m} (usa exp), -2 m (sa exp)."""
    usa = eq.linearisation(eq.head_rate("exp", "usa"), 1)
    sa = eq.linearisation(eq.head_rate("exp", "sa"), 1)

    assert usa[0] == 0 and eq.is_identity(usa[1], -2 * eq.m * sp.exp(beta * eq.m))
    assert sa == (0, -2 * eq.m)


# ---------------------------------------------------------------------------
# generated rates against the particle velocity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, norm", eq.VARIANTS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_rate_matches_particle_velocity(kernel, norm, data):
    """Generated rho' equals 2<x_i', x_k> from numeric.velocity, n=7, d=11, H=3."""
    low = -1 / (N - 1)
    X = data.draw(strategies.equiangular_configurations(N, (low + 1e-9, 1.0), D))
    M, ms = data.draw(strategies.scalar_heads(H, D, positive=kernel == "relu"))
    b = data.draw(strategies.inverse_temperatures(0.1, 6.0))
    V = numeric.velocity(X, M, b, kernel=kernel, norm=norm)
    rho = float(X[0] @ X[1])
    F = api.reduced_rate(kernel, norm, N, list(ms), b, backend="numpy")
    pair = float(V[0] @ X[1] + X[0] @ V[1])
    ref = float(F(rho))
    scale = float(np.sum(np.abs(ms))) * np.exp(b * np.max(np.abs(ms)))

    assert abs(pair - ref) / (1e-13 * scale + 1e-12 * abs(ref)) <= 1


def _perturbed(kernel, norm, factor):
    f = eq.head_rate_function(kernel, norm, "mpmath")
    return lambda r, b, n_, ms: factor * mpmath.fsum(f(r, b, n_, m) for m in ms)


@pytest.mark.parametrize("kernel, norm", eq.VARIANTS)
def test_pointwise_check_reaches_thirty_digits(kernel, norm):
    """The 30-digit particle cross-check passes for the derived rate."""
    ms = ["0.7", "1.3"] if kernel == "relu" else ["0.7", "-1.3"]
    out = pointwise_agreement(
        kernel,
        norm,
        n_tokens=5,
        d=7,
        m=ms,
        beta_="1.1",
        rhos=["-0.2", "0.4"],
        digits=30,
    )

    assert out["digits"] >= 30 and out["spread"] <= 1e-30


def test_pointwise_check_detects_a_broken_rate():
    """Multiplying the rate by 1 + 1e-6 drops the agreement to about 6 digits."""
    out = pointwise_agreement(
        "exp",
        "sa",
        n_tokens=5,
        d=7,
        m=["0.7", "-1.3"],
        beta_="1.1",
        rhos=["0.4"],
        digits=30,
        rate=_perturbed("exp", "sa", 1 + mpmath.mpf("1e-6")),
    )

    assert out["digits"] <= 7


# ---------------------------------------------------------------------------
# critical_beta
# ---------------------------------------------------------------------------


def _bisect_self_weight(n_tok, m_text, rho_text, digits):
    """beta where the softmax self weight crosses 1/2, by bisection from the row."""
    # 1 - rho may be tiny: carry enough digits for beta m (1 - rho) to be exact
    with mpmath.workdps(digits + 60):
        m, r = mpmath.mpf(m_text), mpmath.mpf(rho_text)

        def excess(b):
            own = mpmath.exp(b * m)
            return own / (own + (n_tok - 1) * mpmath.exp(b * m * r)) - mpmath.mpf(1) / 2

        lo, hi = mpmath.mpf(0), mpmath.mpf(1)
        while excess(hi) < 0:
            hi *= 2
        for _ in range(int(mpmath.log(hi, 2)) + int((digits + 12) * 3.33) + 8):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if excess(mid) < 0 else (lo, mid)
        return (lo + hi) / 2


@pytest.mark.parametrize(
    "n_tok, m, rho",
    [(16, "1", "0"), (7, "0.5", "0.3"), (3, "2", "-0.4"), (50, "1.25", "0.9")],
)
def test_critical_beta_agrees_with_bisection(n_tok, m, rho):
    """The closed form matches a bisection of the self-weight condition."""
    out = api.critical_beta(n_tok, m, rho, digits=40, certify=True)
    ref = _bisect_self_weight(n_tok, m, rho, 40)
    with mpmath.workdps(60):
        value = mpmath.mpf(out["beta_c"])
        lo, hi = (mpmath.mpf(v) for v in out["enclosure"])

        assert abs(value - ref) / ref <= mpmath.mpf(10) ** -39
        assert lo <= ref <= hi
    assert out["certified"]


def test_critical_beta_fifty_digits():
    """digits=50: a 50-digit value and an enclosure narrower than 1e-40."""
    out = api.critical_beta(16, 1, 0, digits=50, certify=True)

    assert len(out["beta_c"].replace(".", "").lstrip("0")) == 50
    with mpmath.workdps(80):
        lo, hi = (mpmath.mpf(v) for v in out["enclosure"])
        assert hi - lo < mpmath.mpf(10) ** -40 and lo <= mpmath.log(15) <= hi
    assert out["certified"] and out["digits"] == 50


def test_critical_beta_near_one_keeps_its_digits():
    """rho = 1 - 1e-21 cancels 21 digits; the value still carries all 20 asked."""
    out = api.critical_beta(5, "0.3", "0.999999999999999999999", digits=20)
    ref = _bisect_self_weight(5, "0.3", "0.999999999999999999999", 20)
    with mpmath.workdps(60):
        assert abs(mpmath.mpf(out["beta_c"]) / ref - 1) < mpmath.mpf(10) ** -19


# ---------------------------------------------------------------------------
# equiangular
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kernel, norm, ms, b, r0, t",
    [
        ("exp", "sa", [0.5, 1, 1.7], 2, 0.1, 1.5),
        ("exp", "usa", [0.9, -0.4], 1.2, -0.1, 2),
        ("relu", "usa", [0.7, 1.3], 1, 0.3, 1),
        ("relu", "sa", [1.1], 1, 0.05, 1.5),
    ],
)
def test_equiangular_matches_a_float_particle_run(kernel, norm, ms, b, r0, t):
    """rho(t) of the reduced ODE equals <x_1, x_2> of a DOP853 particle run."""
    out = api.equiangular(kernel, norm, N, ms, b, r0, t, digits=15)
    traj = numeric.integrate(
        api.equiangular_tokens(N, r0, D),
        api.scalar_heads(ms, D),
        b,
        t,
        kernel=kernel,
        norm=norm,
        rtol=1e-13,
        atol=1e-15,
    )
    X = traj.X[-1]

    assert abs(float(out["rho"]) - float(X[0] @ X[1])) <= 1e-10
    assert out["digits"] >= 15


def test_equiangular_with_particles_agrees_to_the_digits_asked():
    """particles=True: the particle system agrees to the requested precision."""
    out = api.equiangular(
        "exp", "sa", 4, ["0.5", "1.5"], "2", "0.1", "1", digits=25, particles=True
    )

    assert out["agreement_digits"] >= 25 and out["digits"] >= 25
    assert out["rho"][:20] == out["rho_particles"][:20]


def test_extrapolation_integrator_matches_gauss_legendre():
    """The particle integrator agrees with solve_ivp_mp on highprec's flow."""
    n_tok, ms = 3, ("0.5", "1.5")
    M = [
        [[mpmath.mpf(m) if a == c else 0 for c in range(n_tok)] for a in range(n_tok)]
        for m in ms
    ]
    f = flow_function(
        M, "1", kernel="exp", norm="sa", geometry="sphere", n_tokens=n_tok, dim=n_tok
    )
    with mpmath.workdps(30):
        y0 = [v for row in api.equiangular_tokens_mp(n_tok, "0.2") for v in row]
    sol = solve_ivp_mp(f, (0, "0.5"), y0, digits=16)
    mine = api.particle_solution(
        "exp", "sa", n_tok, list(ms), "1", "0.2", "0.5", digits=16
    )
    with mpmath.workdps(30):
        Y = sol.y[-1]
        gauss = mpmath.fdot(Y[0:n_tok], Y[n_tok : 2 * n_tok])

        assert abs(gauss - mine["rho"]) < mpmath.mpf(10) ** -16


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: api.equiangular("exp", "sa", 4, [1], 1, "-0.5", 1), "rho0"),
        (lambda: api.equiangular("exp", "sa", 4, [1], 1, "1.01", 1), "rho0"),
        (lambda: api.critical_beta(4, 1, 1), "rho"),
        (lambda: api.critical_beta(4, 1, "-0.34"), "rho"),
        (lambda: api.equiangular("exp", "sa", 1, [1], 1, 0, 1), "n"),
        (lambda: api.critical_beta(2.5, 1, 0), "n"),
        (lambda: api.equiangular("relu", "sa", 4, [1, -1], 1, 0.1, 1), "m"),
        (lambda: api.critical_beta(4, -1, 0), "m"),
        (lambda: api.critical_beta(4, 1, 0, digits=14), "digits"),
        (
            lambda: api.equiangular("exp", "sa", 4, [1], 1, 0.1, 1, digits=1001),
            "digits",
        ),
        (lambda: api.equiangular("exp", "sa", 4, [1], 1, 0.1, -1), "t"),
        (lambda: api.equiangular("exp", "sa", 4, [1], 0, 0.1, 1), "beta"),
        (lambda: api.equiangular("tanh", "sa", 4, [1], 1, 0.1, 1), "kernel"),
        (lambda: api.equiangular("exp", "softmax", 4, [1], 1, 0.1, 1), "norm"),
        (lambda: api.equiangular("exp", "sa", 40, [1], 1, 0.1, 1, particles=True), "n"),
    ],
)
def test_invalid_arguments_name_the_argument(call, argument):
    """Each bad argument raises InvalidArgumentError naming it, in one line."""
    with pytest.raises(InvalidArgumentError) as info:
        call()

    assert info.value.argument == argument
    assert "\n" not in str(info.value) and str(info.value).startswith(argument)


# ---------------------------------------------------------------------------
# clustering rates and times
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kernel, norm, ms, strict",
    [
        ("exp", "usa", ["0.5", "2"], True),
        ("exp", "sa", ["0.5", "2"], True),
        ("exp", "sa", ["1.5", "1.5"], False),
        ("relu", "usa", ["0.5", "2"], False),
        ("relu", "sa", ["0.5", "2"], False),
    ],
)
def test_superadditivity_strict_or_equal(kernel, norm, ms, strict):
    """kappa[F_1 + F_2] > kappa_1 + kappa_2 iff the heads are not proportional."""
    out = clustering_rates(kernel, norm, ms, digits=25)
    relative = out["margin"] / out["total"]

    if strict:
        assert relative > 1e-3
    else:
        assert abs(relative) < 1e-22


@settings(max_examples=10, deadline=None)
@given(st.floats(1e-6, 0.4), st.floats(0.5, 0.95), st.floats(0.2, 3.0))
@example(1e-8, 0.9, 1.0)
def test_relu_softmax_time_matches_quadrature(rho0, rho1, m_value):
    """The sa relu closed form equals the quadrature of 1/rho'."""
    T = eq.relu_softmax_clustering_time()
    closed = float(T.subs({eq.rho_0: rho0, eq.rho_1: rho1, eq.m: m_value}))
    quad, _ = api.clustering_time("relu", "sa", 5, [m_value], 1, rho0, rho1, digits=15)

    assert math.isclose(closed, float(quad), rel_tol=1e-13)


def test_stiff_reduced_equation_is_refused():
    """usa exp at beta = 20 would need ~1e8 steps: a clear UnsupportedError."""
    with pytest.raises(UnsupportedError, match="too stiff"):
        api.equiangular("exp", "usa", 4, [1], 20, "0.5", "0.2", digits=20)
