"""Tests for the ball-arithmetic certifier ``proofs/_arb.py``.

The module is loaded from its file path so that these tests depend neither on
the package ``__init__`` nor on any other module of the project.
"""

from __future__ import annotations

import doctest
import importlib.util
import pathlib
import sys
from decimal import Decimal
from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
from flint import arb

_PATH = pathlib.Path(__file__).resolve().parents[1] / "proofs" / "_arb.py"
_SPEC = importlib.util.spec_from_file_location("headflow_proofs_arb_under_test", _PATH)
A = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = A
_SPEC.loader.exec_module(A)

KERNELS = ("exp", "relu")
NORMS = ("usa", "sa")
GEOMETRIES = ("flat", "sphere")
COMBOS = [(k, m, g) for k in KERNELS for m in NORMS for g in GEOMETRIES]


# ----------------------------------------------------------------------------------
# Independent float64 reference, loops straight from the definitions. It accepts
# complex arrays so that derivatives can be taken by the complex-step method.
# ----------------------------------------------------------------------------------


def _ref_scores(X, M):
    n, d = X.shape
    s = np.zeros((n, n), dtype=X.dtype)
    for i in range(n):
        for j in range(n):
            for a in range(d):
                for b in range(d):
                    s[i, j] += X[i, a] * M[a, b] * X[j, b]
    return s


def _ref_relu(s):
    return np.where(np.real(s) > 0, s, 0.0 * s)


def ref_velocity(X, Ms, betas, kernel, norm, geometry):
    n, d = X.shape
    V = np.zeros((n, d))
    for M, beta in zip(Ms, betas):
        s = _ref_scores(X, M)
        phi = np.exp(beta * s) if kernel == "exp" else _ref_relu(s)
        for i in range(n):
            z = phi[i].sum() if norm == "sa" else n
            w = phi[i] / z if z != 0 else 0.0 * phi[i]
            for j in range(n):
                V[i] += w[j] * (M @ X[j])
    if geometry == "sphere":
        for i in range(n):
            V[i] = V[i] - X[i] * (X[i] @ V[i])
    return V


def ref_head_energies(X, Ms, betas, kernel):
    n = X.shape[0]
    out = []
    for M, beta in zip(Ms, betas):
        s = _ref_scores(X, M)
        if kernel == "exp":
            big_phi = np.exp(beta * s) / beta
        else:
            r = _ref_relu(s)
            big_phi = r * r / 2
        out.append(big_phi.sum() / (2 * n * n))
    return out


def ref_mean_entropy(X, Ms, betas):
    n = X.shape[0]
    total = 0.0
    for M, beta in zip(Ms, betas):
        s = _ref_scores(X, M)
        for i in range(n):
            a = beta * (s[i] - np.max(np.real(s[i])))
            p = np.exp(a) / np.exp(a).sum()
            total = total - np.sum(p * np.log(p))
    return total / (len(Ms) * n)


def ref_rates(X, Ms, betas, kernel, norm, geometry):
    """Complex-step derivatives along X + t V: exact to float64 rounding."""
    V = ref_velocity(X, Ms, betas, kernel, norm, geometry)
    h = 1e-100
    Xc = X + 1j * h * V
    dE_h = [np.imag(e) / h for e in ref_head_energies(Xc, Ms, betas, kernel)]
    dS = np.imag(ref_mean_entropy(Xc, Ms, betas)) / h
    return {"dE/dt": sum(dE_h), "dE_h/dt": dE_h, "dS_mean/dt": dS}


def _config(seed, symmetric, n=3, d=2, H=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Ms = rng.normal(size=(H, d, d))
    if symmetric:
        Ms = (Ms + np.transpose(Ms, (0, 2, 1))) / 2
    betas = [0.7, 1.3]
    return X, Ms, betas


def _assert_close(ball, value, scale):
    """Midpoint within 1e-12 relative of value; value within the ball up to that."""
    mid = float(ball.mid())
    tol = 1e-12 * max(abs(value), scale)
    assert abs(mid - value) <= tol, (ball, value)
    assert ball.overlaps(arb(value) + arb(0, tol)), (ball, value)


# ----------------------------------------------------------------------------------
# Agreement with float64
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("kernel,norm,geometry", COMBOS)
def test_matches_float64_reference(kernel, norm, geometry, symmetric):
    X, Ms, betas = _config(7 if symmetric else 11, symmetric)
    args = (X.tolist(), Ms.tolist(), betas)

    V = A.velocity(*args, kernel=kernel, norm=norm, geometry=geometry)
    V_ref = ref_velocity(X, Ms, betas, kernel, norm, geometry)
    scale = float(np.abs(V_ref).max())
    for i in range(X.shape[0]):
        for a in range(X.shape[1]):
            _assert_close(V[i][a], V_ref[i, a], scale)

    E = A.head_energies(*args, kernel=kernel)
    for ball, value in zip(E, ref_head_energies(X, Ms, betas, kernel)):
        _assert_close(ball, value, abs(value))

    _assert_close(A.mean_entropy(*args), ref_mean_entropy(X, Ms, betas), 1.0)

    r = A.rates(*args, kernel=kernel, norm=norm, geometry=geometry)
    r_ref = ref_rates(X, Ms, betas, kernel, norm, geometry)
    rate_scale = max(abs(v) for v in r_ref["dE_h/dt"] + [r_ref["dS_mean/dt"]])
    _assert_close(r["dE/dt"], r_ref["dE/dt"], rate_scale)
    _assert_close(r["dS_mean/dt"], r_ref["dS_mean/dt"], rate_scale)
    assert len(r["dE_h/dt"]) == len(Ms)
    for ball, value in zip(r["dE_h/dt"], r_ref["dE_h/dt"]):
        _assert_close(ball, value, rate_scale)
    for key in ("dE/dt", "dS_mean/dt"):
        assert r[key].rad() < arb("1e-60")


def test_single_matrix_and_per_head_beta():
    X, Ms, _ = _config(3, False)
    one = A.rates(
        X.tolist(), Ms[0].tolist(), 0.9, kernel="exp", norm="sa", geometry="sphere"
    )
    stacked = A.rates(
        X.tolist(), [Ms[0].tolist()], [0.9], kernel="exp", norm="sa", geometry="sphere"
    )
    assert one["dE/dt"].overlaps(stacked["dE/dt"])
    per_head = A.head_energies(X.tolist(), Ms.tolist(), [0.5, 2], kernel="exp")
    ref = ref_head_energies(X, Ms, [0.5, 2], "exp")
    for ball, value in zip(per_head, ref):
        _assert_close(ball, value, abs(value))


# ----------------------------------------------------------------------------------
# Jet derivatives against centred finite differences in ball arithmetic
# ----------------------------------------------------------------------------------


def _shifted(X, V, t):
    return [[arb(x) + t * v for x, v in zip(xr, vr)] for xr, vr in zip(X, V)]


@pytest.mark.parametrize("kernel,norm,geometry", COMBOS)
def test_jet_matches_centred_difference(kernel, norm, geometry):
    X, Ms, betas = _config(5, False)
    Xl, Ml = X.tolist(), Ms.tolist()
    kw = dict(kernel=kernel, norm=norm, geometry=geometry)
    V = A.velocity(Xl, Ml, betas, **kw)
    r = A.rates(Xl, Ml, betas, **kw)

    def centred(fun, h):
        plus = fun(_shifted(Xl, V, arb(h)))
        minus = fun(_shifted(Xl, V, -arb(h)))
        return (plus - minus) / (2 * arb(h))

    def energy(Y):
        return sum(A.head_energies(Y, Ml, betas, kernel=kernel), arb(0))

    def entropy(Y):
        return A.mean_entropy(Y, Ml, betas)

    old_prec = flint.ctx.prec
    try:
        flint.ctx.prec = 256  # the differences themselves need the precision too
        for fun, key in ((energy, "dE/dt"), (entropy, "dS_mean/dt")):
            errors = [abs(centred(fun, h) - r[key]) for h in (2.0**-40, 2.0**-41)]
            # Second-order accuracy: the error is O(h^2) and shrinks by about 4.
            assert errors[0] < arb(2.0**-60), (key, errors)
            ratio = float((errors[0] / errors[1]).mid())
            assert 3.9 < ratio < 4.1, (key, ratio)
    finally:
        flint.ctx.prec = old_prec


# ----------------------------------------------------------------------------------
# Closed form: all tokens equal on the circle, two axis-aligned heads
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 5])
def test_closed_form_equal_tokens_on_circle(n):
    mpmath.mp.dps = 60
    angle = mpmath.mpf("1.2")
    c, s = mpmath.cos(angle), mpmath.sin(angle)
    token = [mpmath.nstr(c, 55, strip_zeros=False), mpmath.nstr(s, 55)]
    X = [token] * n
    M = [[[1, 0], [0, 0]], [[0, 0], [0, 1]]]
    r = A.rates(X, M, 2, kernel="exp", norm="usa", geometry="sphere")

    e1, e2 = mpmath.exp(2 * c**2), mpmath.exp(2 * s**2)
    expected = [
        e1 * c**2 * s**2 * (e1 - e2),
        e2 * c**2 * s**2 * (e2 - e1),
    ]
    for ball, value in zip(r["dE_h/dt"], expected):
        assert ball.overlaps(arb(mpmath.nstr(value, 50)) + arb(0, 1e-45))
        assert ball.rad() < arb("1e-45")
    total = c**2 * s**2 * (e1 - e2) ** 2
    assert r["dE/dt"].overlaps(arb(mpmath.nstr(total, 50)) + arb(0, 1e-45))
    assert A.certify_sign(r["dE_h/dt"][0]) == -1
    assert A.certify_sign(r["dE_h/dt"][1]) == 1
    assert A.certify_sign(r["dE/dt"]) == 1


# ----------------------------------------------------------------------------------
# Large beta
# ----------------------------------------------------------------------------------


def _rel_radius(ball):
    return ball.rad() / abs(ball.mid())


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_beta_1000_gives_tight_balls(geometry):
    X, Ms, _ = _config(13, False)
    args = (X.tolist(), Ms.tolist(), 1000)
    V = A.velocity(*args, kernel="exp", norm="sa", geometry=geometry)
    r = A.rates(*args, kernel="exp", norm="sa", geometry=geometry)
    balls = [v for row in V for v in row] + r["dE_h/dt"]
    balls += [r["dE/dt"], r["dS_mean/dt"], r["S_mean"]]
    for ball in balls:
        assert ball.is_finite()
        assert _rel_radius(ball) < arb("1e-30"), ball
    # Same configuration in float64 for the velocity (softmax shifted by row max).
    V_ref = ref_velocity_shifted(X, Ms, [1000] * len(Ms), geometry)
    for i in range(X.shape[0]):
        for a in range(X.shape[1]):
            _assert_close(V[i][a], V_ref[i, a], float(np.abs(V_ref).max()))


def ref_velocity_shifted(X, Ms, betas, geometry):
    n, d = X.shape
    V = np.zeros((n, d))
    for M, beta in zip(Ms, betas):
        s = _ref_scores(X, M)
        for i in range(n):
            e = np.exp(beta * (s[i] - s[i].max()))
            w = e / e.sum()
            for j in range(n):
                V[i] += w[j] * (M @ X[j])
    if geometry == "sphere":
        for i in range(n):
            V[i] = V[i] - X[i] * (X[i] @ V[i])
    return V


def test_beta_1000_saturated_entropy_rate_is_tight():
    # Well separated tokens: the softmax is one-hot to within exp(-hundreds).
    X = [[1, 0], [0.6, 0.8], [0, 1]]
    M = [[2, 0.5], [0, 1]]
    r = A.rates(X, M, 1000, kernel="exp", norm="sa", geometry="sphere")
    S, dS = r["S_mean"], r["dS_mean/dt"]
    assert 0 < S < arb("1e-50") and abs(dS) < arb("1e-50")
    assert _rel_radius(S) < arb("1e-30")
    assert _rel_radius(dS) < arb("1e-30")
    # x_1 = (1, 0) is an eigenvector of M and nearly attends only to itself, so its
    # velocity is exponentially small; the energy rate must not inherit a
    # cancellation error from the projection onto the sphere.
    assert _rel_radius(r["dE/dt"]) < arb("1e-30")
    r_hi = A.rates(X, M, 1000, kernel="exp", norm="sa", geometry="sphere", prec=2048)
    assert r_hi["S_mean"].overlaps(S) and r_hi["dS_mean/dt"].overlaps(dS)
    assert r_hi["dE/dt"].overlaps(r["dE/dt"])
    assert A.certify_sign(dS) != 0


# ----------------------------------------------------------------------------------
# relu edge cases
# ----------------------------------------------------------------------------------


def test_relu_kink_gives_finite_enclosure():
    # Orthogonal tokens with M = I: the off-diagonal scores are exactly 0.
    X = [[1, 0], [0, 1]]
    r = A.rates(X, [[1, 0], [0, 1]], 1, kernel="relu", norm="sa", geometry="sphere")
    assert r["dE/dt"].is_finite() and r["dE/dt"].rad() < arb("1e-60")
    # A score whose ball straddles 0 (0.1 * 0.2 - 0.02 is not exactly representable).
    X = [["0.1", "0.2"], ["0.2", "-0.1"]]
    r = A.rates(X, [[1, 0], [0, 1]], 1, kernel="relu", norm="usa", geometry="flat")
    for ball in r["dE_h/dt"] + [r["dE/dt"], r["dS_mean/dt"]]:
        assert ball.is_finite()


def test_relu_sa_zero_row_gets_zero_weights():
    X = [[1, 0], [-1, 0]]
    M = [[-1, 0], [0, 0]]
    # Row scores: s_11 = -1, s_12 = 1; s_21 = 1, s_22 = -1 -> nonzero rows.
    V = A.velocity(X, M, 1, kernel="relu", norm="sa", geometry="flat")
    assert all(v.is_finite() for row in V for v in row)
    M0 = [[0, 0], [0, 0]]
    V0 = A.velocity(X, M0, 1, kernel="relu", norm="sa", geometry="flat")
    assert all(v.is_zero() for row in V0 for v in row)
    # Row 0 has scores -0.05 and a ball around the exact value 0: the normaliser
    # ball contains 0 and the weights are enclosed, not divided by zero.
    X = [["0.1", "0.2"], ["-0.2", "0.1"]]
    V = A.velocity(X, [[-1, 0], [0, -1]], 1, kernel="relu", norm="sa", geometry="flat")
    assert all(v.is_finite() and v.contains(0) for v in V[0])


# ----------------------------------------------------------------------------------
# Sign and decimal helpers
# ----------------------------------------------------------------------------------


def test_certify_sign():
    assert A.certify_sign(arb("1e-100")) == 1
    assert A.certify_sign(-arb("1e-100")) == -1
    assert A.certify_sign(arb(0)) == 0
    assert A.certify_sign(arb(0.5, 1)) == 0
    assert A.certify_sign(arb("nan")) == 0
    with pytest.raises(TypeError):
        A.certify_sign(1.0)


def _exact_endpoints(ball):
    def frac(x):
        m, e = x.man_exp()
        m, e = int(m), int(e)
        return Fraction(m * 2**e) if e >= 0 else Fraction(m, 2**-e)

    centre, radius = frac(ball.mid()), frac(ball.rad())
    return centre - radius, centre + radius


@pytest.mark.parametrize(
    "ball",
    [
        arb(1) / 3,
        -arb(2).sqrt(),
        arb("1e-300") * arb(7).sqrt(),
        arb(1000).exp(),
        -arb(1000).exp(),
        arb("0.5 +/- 0.25"),
        arb("-0.001 +/- 0.01"),
        arb(0),
        arb(123),
        arb(-9.999999),
        arb(2.0**-1074),
    ],
)
@pytest.mark.parametrize("digits", [1, 5, 30])
def test_to_decimal_interval_is_outward(ball, digits):
    lo, hi = A.to_decimal_interval(ball, digits)
    exact_lo, exact_hi = _exact_endpoints(ball)
    assert Fraction(Decimal(lo)) <= exact_lo
    assert Fraction(Decimal(hi)) >= exact_hi
    for text in (lo, hi):
        mantissa = text.lstrip("-").split("e")[0].replace(".", "")
        assert len(mantissa) <= digits
        float(text)
        arb(text)
    # Outward, but each endpoint by less than one unit in its last digit.
    width = exact_hi - exact_lo
    slack = Fraction(Decimal(hi)) - Fraction(Decimal(lo)) - width
    assert slack <= (abs(exact_lo) + abs(exact_hi)) * Fraction(10) ** (1 - digits)


def test_to_decimal_interval_format():
    assert A.to_decimal_interval(arb(1) / 3, 5) == ("3.3333e-1", "3.3334e-1")
    assert A.to_decimal_interval(arb(-2.5), 3) == ("-2.5e0", "-2.5e0")
    assert A.to_decimal_interval(arb(0)) == ("0", "0")
    assert A.to_decimal_interval(arb("inf")) == ("-inf", "inf")
    with pytest.raises(ValueError, match="digits"):
        A.to_decimal_interval(arb(1), 0)
    with pytest.raises(ValueError, match="NaN"):
        A.to_decimal_interval(arb("nan"))


# ----------------------------------------------------------------------------------
# Precision handling and validation
# ----------------------------------------------------------------------------------


GOOD_X = [[1, 0], [0.6, 0.8]]
GOOD_M = [[1, 0], [0, 1]]
MODEL = dict(kernel="exp", norm="sa", geometry="sphere")


def test_precision_is_restored():
    old_prec, old_cap = flint.ctx.prec, flint.ctx.cap
    try:
        flint.ctx.prec = 77
        A.velocity(GOOD_X, GOOD_M, 1, **MODEL, prec=300)
        A.head_energies(GOOD_X, GOOD_M, 1, kernel="relu", prec=128)
        A.mean_entropy(GOOD_X, GOOD_M, 1, prec=200)
        A.rates(GOOD_X, GOOD_M, 1, **MODEL, prec=512)
        assert flint.ctx.prec == 77 and flint.ctx.cap == old_cap
        with pytest.raises(ValueError):
            A.rates(GOOD_X, GOOD_M, -1, **MODEL, prec=512)
        with pytest.raises(ValueError):
            A.velocity([[1, "oops"], [0, 1]], GOOD_M, 1, **MODEL, prec=512)
        with pytest.raises(ValueError):
            A.rates(GOOD_X, GOOD_M, 1, kernel="exp", norm="sa", geometry="torus")
        assert flint.ctx.prec == 77 and flint.ctx.cap == old_cap
    finally:
        flint.ctx.prec, flint.ctx.cap = old_prec, old_cap


def test_precision_is_used():
    lo = A.rates(GOOD_X, GOOD_M, "0.3", **MODEL, prec=64)["dE/dt"]
    hi = A.rates(GOOD_X, GOOD_M, "0.3", **MODEL, prec=512)["dE/dt"]
    assert hi.rad() < lo.rad()
    assert lo.overlaps(hi)


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: A.rates([[1, 0]], GOOD_M, 1, **MODEL), "X"),
        (lambda: A.rates([], GOOD_M, 1, **MODEL), "X"),
        (lambda: A.rates([[1, 0], [1]], GOOD_M, 1, **MODEL), "X"),
        (lambda: A.rates([[1, 0], [0, float("nan")]], GOOD_M, 1, **MODEL), r"X\[1\]"),
        (lambda: A.rates([[1, 0], [0, float("inf")]], GOOD_M, 1, **MODEL), "X"),
        (lambda: A.rates([[1, 0], [0, "1e"]], GOOD_M, 1, **MODEL), "X"),
        (lambda: A.rates(GOOD_X, [[1, 0, 0], [0, 1, 0]], 1, **MODEL), "M"),
        (lambda: A.rates(GOOD_X, [[[1, 0], [0, 1]], [[1]]], 1, **MODEL), "M"),
        (lambda: A.rates(GOOD_X, [[1, 0], [0, float("inf")]], 1, **MODEL), "M"),
        (lambda: A.rates(GOOD_X, GOOD_M, 0, **MODEL), "beta"),
        (lambda: A.rates(GOOD_X, GOOD_M, -2.0, **MODEL), "beta"),
        (lambda: A.rates(GOOD_X, GOOD_M, float("nan"), **MODEL), "beta"),
        (lambda: A.rates(GOOD_X, GOOD_M, [1, 2], **MODEL), "beta"),
        (lambda: A.rates(GOOD_X, GOOD_M, "0 +/- 1", **MODEL), "beta"),
        (
            lambda: A.rates(
                GOOD_X, GOOD_M, 1, kernel="gelu", norm="sa", geometry="flat"
            ),
            "kernel",
        ),
        (
            lambda: A.rates(
                GOOD_X, GOOD_M, 1, kernel="exp", norm="ln", geometry="flat"
            ),
            "norm",
        ),
        (
            lambda: A.velocity(
                GOOD_X, GOOD_M, 1, kernel="exp", norm="sa", geometry="torus"
            ),
            "geometry",
        ),
        (lambda: A.head_energies(GOOD_X, GOOD_M, 1, kernel="tanh"), "kernel"),
        (lambda: A.rates(GOOD_X, GOOD_M, 1, **MODEL, prec=4), "prec"),
    ],
)
def test_invalid_inputs_raise_value_error(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_non_numeric_entry_raises_type_error():
    with pytest.raises(TypeError, match=r"X\[0\]\[1\]"):
        A.velocity([[1, None], [0, 1]], GOOD_M, 1, **MODEL)


def test_inputs_converted_exactly():
    # With M = I and relu: E = (x^4 / 2 + 1 / 2) / 8, i.e. 16 E - 1 = x^4.
    (e_float,) = A.head_energies([[0.1, 0], [0, 1]], GOOD_M, 1, kernel="relu")
    (e_str,) = A.head_energies([["0.1", 0], [0, 1]], GOOD_M, 1, kernel="relu")
    assert e_float.is_exact()
    lo, hi = _exact_endpoints(e_float)
    assert lo == hi and 16 * lo - 1 == Fraction(0.1) ** 4
    # The string is a tight ball around 1/10, which excludes the float 0.1.
    assert not e_str.is_exact() and e_str.rad() < arb("1e-70")
    lo, hi = _exact_endpoints(e_str)
    assert 16 * lo - 1 <= Fraction(1, 10**4) <= 16 * hi - 1
    assert not e_str.overlaps(e_float)


def _mpf_one_plus_ulp(bits):
    with mpmath.workprec(bits + 10):
        return mpmath.mpf(1) + mpmath.mpf(2) ** -bits


@pytest.mark.parametrize(
    "value,exact",
    [
        (Fraction(3, 8), Fraction(3, 8)),
        (np.float32(0.1), Fraction(float(np.float32(0.1)))),
        (np.int64(-7), Fraction(-7)),
        (mpmath.mpf(0.1), Fraction(0.1)),
        (_mpf_one_plus_ulp(60), 1 + Fraction(1, 2**60)),
        (mpmath.mpf(-3) * 2**70, Fraction(-3 * 2**70)),
    ],
)
def test_other_number_types_are_exact(value, exact):
    (e,) = A.head_energies([[value, 0], [0, 0]], [[1, 0], [0, 0]], 1, kernel="relu")
    # Only s_11 = x^2 is nonzero, so E = x^4 / 16.
    lo, hi = _exact_endpoints(e)
    assert lo == hi == exact**4 / 16


def test_decimal_and_string_agree():
    (e_dec,) = A.head_energies([[Decimal("0.1"), 0], [0, 1]], GOOD_M, 1, kernel="relu")
    (e_str,) = A.head_energies([["0.1", 0], [0, 1]], GOOD_M, 1, kernel="relu")
    assert e_dec.overlaps(e_str) and e_dec.rad() < arb("1e-70")
    with pytest.raises(ValueError, match="finite"):
        A.head_energies([[Decimal("inf"), 0], [0, 1]], GOOD_M, 1, kernel="relu")
    with pytest.raises(ValueError, match="finite"):
        A.head_energies([[mpmath.mpf("nan"), 0], [0, 1]], GOOD_M, 1, kernel="relu")


def test_docstring_examples():
    failures, _ = doctest.testmod(A, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_rates_timing_n8_d4_h3():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Ms = rng.normal(size=(3, 4, 4))
    r = A.rates(
        X.tolist(), Ms.tolist(), 1.5, kernel="exp", norm="sa", geometry="sphere"
    )
    assert r["dE/dt"].rad() < arb("1e-60")
