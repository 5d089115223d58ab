"""Extreme parameters and hostile arguments of the float64 kernels.

Every public quantity either returns finite values that agree with the mpmath
evaluation of :mod:`numeric.highprec`, or raises :class:`RangeError` (only when
the true value is far outside float64) or :class:`InvalidArgumentError`.  The
test configuration turns numpy floating-point errors and warnings into errors,
so a silent NaN, an overflow or a ``RuntimeWarning`` fails here.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import numeric
from numeric import highprec
from symbolic.errors import InvalidArgumentError, RangeError

SIGMOID = "1/(1+exp(-beta*s))"
KERNELS = ("exp", "relu", SIGMOID)
NORMS = ("usa", "sa")
GEOMETRIES = ("sphere", "flat")
BETAS = (1e-8, 1.0, 40.0, 1e3)

#: Accuracy claimed against 30-digit references, relative to the largest value.
RTOL = 1e-10
#: A RangeError is legitimate only for a true value beyond exp(LOG_HUGE).
LOG_HUGE = 600.0


# ---------------------------------------------------------------------------
# configurations
# ---------------------------------------------------------------------------


def _unit(V):
    return V / np.linalg.norm(V, axis=-1, keepdims=True)


def _configuration(kind: str):
    """Tokens ``X`` (n, d) on the sphere and general heads ``M`` (H, d, d)."""
    n, d, H = {"one-head": (5, 3, 1), "many-heads": (3, 2, 64), "line": (5, 1, 2)}.get(
        kind, (5, 3, 2)
    )
    rng = np.random.default_rng(sum(map(ord, kind)))
    M = rng.standard_normal((H, d, d)) / math.sqrt(d)
    if kind == "line":
        # d = 1: coincident and antipodal tokens at once
        return np.array([[1.0], [-1.0], [1.0], [1.0], [-1.0]]), M
    X = _unit(rng.standard_normal((n, d)))
    if kind == "coincident":
        # x_1 at distance 1e-12 from x_0 along a tangent direction
        t = rng.standard_normal(d)
        t = _unit(t - (t @ X[0]) * X[0])
        X[1] = _unit(X[0] + 1e-12 * t)
        assert 0 < np.linalg.norm(X[1] - X[0]) < 2e-12
    elif kind == "antipodal":
        X[1] = -X[0]
    return X, M


CONFIGURATIONS = ("random", "coincident", "antipodal", "line", "one-head", "many-heads")


# ---------------------------------------------------------------------------
# comparison helpers
# ---------------------------------------------------------------------------


def _as_float(values) -> np.ndarray:
    return np.vectorize(float, otypes=[float])(values)


def _log_max_abs(values) -> float:
    """``log max |v|`` of an mpf array, without leaving mpmath."""
    top = max((abs(v) for v in np.ravel(values)), default=mpmath.mpf(0))
    return float(mpmath.log(top)) if top else -math.inf


def _agrees(value, reference) -> None:
    """Finite float64 ``value`` within RTOL of the mpf ``reference``.

    The error is measured in units of ``RTOL * max |reference|``, the scale of
    the quantity; an identically zero reference must be matched exactly.
    """
    assert np.isfinite(value).all(), value
    ref = _as_float(reference)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    error = float(np.max(np.abs(value - ref))) if ref.size else 0.0
    if scale == 0.0:
        assert error == 0.0, (value, ref)
    else:
        assert error / (RTOL * scale) <= 1.0, (error / scale, value, ref)


def _finite_or_range_error(compute, reference, what: str) -> None:
    """``compute()`` agrees with ``reference()``, or overflows where it truly must."""
    try:
        value = compute()
    except RangeError as exc:
        ref = reference()
        assert _log_max_abs(ref) > LOG_HUGE, f"{what}: spurious RangeError {exc}"
        assert what.split()[0] in str(exc) or "float64" in str(exc)
        return
    _agrees(value, reference())


# ---------------------------------------------------------------------------
# agreement with 30-digit references
# ---------------------------------------------------------------------------

_CASES = [
    pytest.param(c, b, k, id=f"{c}-beta{b:g}-{'sigmoid' if k == SIGMOID else k}")
    for c in CONFIGURATIONS
    for b in BETAS
    for k in KERNELS
]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize(("kind", "beta", "kernel"), _CASES)
def test_velocity_is_accurate_or_overflows(kind, beta, kernel, norm, geometry):
    """velocity agrees with mpmath to 1e-10, or raises RangeError on true overflow."""
    X, M = _configuration(kind)
    options = dict(kernel=kernel, norm=norm, geometry=geometry)

    _finite_or_range_error(
        lambda: numeric.velocity(X, M, beta, **options),
        lambda: highprec.velocity_mp(X, M, beta, **options),
        "velocity",
    )


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize(("kind", "beta", "kernel"), _CASES)
def test_energy_rates_are_accurate_or_overflow(kind, beta, kernel, norm, geometry):
    """energy_rates agree with mpmath to 1e-10, or raise RangeError on true overflow."""
    X, M = _configuration(kind)
    options = dict(kernel=kernel, norm=norm, geometry=geometry)

    _finite_or_range_error(
        lambda: numeric.energy_rates(X, M, beta, **options),
        lambda: highprec.energy_rates_mp(X, M, beta, **options),
        "energy rate",
    )


@pytest.mark.parametrize(("kind", "beta", "kernel"), _CASES)
def test_log_head_energies_are_accurate(kind, beta, kernel):
    """head_energies(log=True) is finite (or -inf for a zero energy) and accurate.

    The error of ``log E`` is the relative error of ``E``; it is measured in
    units of ``RTOL * max(1, |log E|)``.
    """
    X, M = _configuration(kind)
    value = numeric.head_energies(X, M, beta, kernel=kernel, log=True)
    reference = highprec.head_energies_mp(X, M, beta, kernel=kernel)

    assert not np.isnan(value).any()
    for got, ref in zip(value, reference):
        if ref == 0:
            assert got == -math.inf
            continue
        want = float(mpmath.log(ref))
        assert math.isfinite(got)
        assert abs(got - want) <= RTOL * max(1.0, abs(want)), (got, want)


@pytest.mark.parametrize("kind", CONFIGURATIONS)
@pytest.mark.parametrize("beta", BETAS)
def test_attention_entropy_is_accurate(kind, beta):
    """attention_entropy agrees with mpmath in units of its range ``log n``.

    Near a one-hot row the entropy is a sum of terms ``p log p`` with tiny
    ``p``; its absolute accuracy, not its relative one, is what float64 (and a
    30-digit reference) can deliver, so the scale is the entropy's range.
    """
    X, M = _configuration(kind)
    value = numeric.attention_entropy(X, M, beta)
    reference = _as_float(highprec.attention_entropy_mp(X, M, beta))

    assert np.isfinite(value).all()
    assert (value >= -RTOL).all()
    assert np.max(np.abs(value - reference)) <= RTOL * math.log(X.shape[0])


@pytest.mark.parametrize("beta", [1e-8, 1.0, 1e3])
def test_sigmoid_energy_stays_finite_at_any_beta(beta):
    """The sigmoid's energy ``log(1 + e^{beta s}) / beta`` is finite where it fits.

    Its closed form overflows in float64 once ``beta s > 709`` although the
    value itself is about ``s``.
    """
    X, M = _configuration("random")
    value = numeric.head_energies(X, M, beta, kernel=SIGMOID)
    reference = highprec.head_energies_mp(X, M, beta, kernel=SIGMOID)

    _agrees(value, reference)


_USER_KERNELS = [
    "cosh(beta*s)",
    "sqrt(s)",
    "log(s)",
    "-exp(beta*s)",
    "erf(beta*s)",
    "tanh(beta*s)",
    "s**3",
    "1/s",
    "exp(beta*s)*s**2",
]
#: What a kernel without a usable float64 form may raise instead of a value.
_REFUSALS = (RangeError, InvalidArgumentError, NotImplementedError)


@pytest.mark.parametrize("beta", [1.0, 1e3])
@pytest.mark.parametrize("kernel", _USER_KERNELS)
def test_user_kernels_are_accurate_or_refused(kernel, beta):
    """A user kernel gives accurate values or a clear error, never NaN or a warning.

    Refusals cover overflow (``cosh`` at large ``beta``), kernels undefined at
    negative scores (``sqrt``, ``log``), missing closed forms (``1/s``) and
    special functions without a float64 implementation.
    """
    X, M = _configuration("random")
    quantities = [
        (
            lambda: numeric.velocity(X, M, beta, kernel=kernel, norm="sa"),
            lambda: highprec.velocity_mp(X, M, beta, kernel=kernel, norm="sa"),
        ),
        (
            lambda: numeric.head_energies(X, M, beta, kernel=kernel),
            lambda: highprec.head_energies_mp(X, M, beta, kernel=kernel),
        ),
        (
            lambda: numeric.energy_rates(X, M, beta, kernel=kernel, norm="usa"),
            lambda: highprec.energy_rates_mp(X, M, beta, kernel=kernel, norm="usa"),
        ),
    ]
    for compute, reference in quantities:
        try:
            value = compute()
        except _REFUSALS as exc:
            assert str(exc)
            continue
        _agrees(value, reference())


# ---------------------------------------------------------------------------
# large sizes
# ---------------------------------------------------------------------------


def _softmax_velocity_row(X, M, beta, i: int) -> np.ndarray:
    """Row ``i`` of the flat softmax velocity at 30 digits, from the definition."""
    with mpmath.workdps(30):
        v = [mpmath.mpf(0)] * X.shape[1]
        for Mh in M:
            keys = X @ Mh.T  # M_h x_j (exact enough: compared at 1e-10)
            s_i = [
                mpmath.fsum(mpmath.mpf(a) * mpmath.mpf(b) for a, b in zip(X[i], k))
                for k in keys
            ]
            top = max(s_i)
            w = [mpmath.exp(beta * (s - top)) for s in s_i]
            Z = mpmath.fsum(w)
            for a in range(X.shape[1]):
                v[a] += mpmath.fsum(wj * kj[a] for wj, kj in zip(w, keys)) / Z
        return _as_float(v)


def test_velocity_at_4096_tokens_is_finite_and_accurate():
    """One n=4096, d=8, H=2 velocity: finite, and three rows match the definition."""
    rng = np.random.default_rng(4096)
    X = _unit(rng.standard_normal((4096, 8)))
    M = rng.standard_normal((2, 8, 8)) / math.sqrt(8)

    V = numeric.velocity(X, M, 3.0, norm="sa", geometry="flat")

    assert V.shape == (4096, 8) and np.isfinite(V).all()
    for i in (0, 1234, 4095):
        ref = _softmax_velocity_row(X, M, 3.0, i)
        assert np.max(np.abs(V[i] - ref)) <= RTOL * np.max(np.abs(ref))


# ---------------------------------------------------------------------------
# hostile arguments
# ---------------------------------------------------------------------------

_X, _M = _configuration("random")

_BAD = [
    ("beta", dict(beta=float("nan"))),
    ("beta", dict(beta=float("inf"))),
    ("beta", dict(beta=-1.0)),
    ("beta", dict(beta=0.0)),
    ("beta", dict(beta=1e309)),
    ("beta", dict(beta=1 + 1j)),
    ("beta", dict(beta="1")),
    ("beta", dict(beta=[1.0, 2.0, 3.0])),
    ("X", dict(X=np.full((5, 3), np.nan))),
    ("X", dict(X=_X[:1])),
    ("X", dict(X=_X[0])),
    ("X", dict(X=2 * _X)),
    ("X", dict(X=[["a", "b", "c"]] * 5)),
    ("M", dict(M=np.full((2, 3, 3), np.inf))),
    ("M", dict(M=np.ones((2, 3, 4)))),
    ("M", dict(M=np.ones((2, 4, 4)))),
    ("M", dict(M=np.ones((0, 3, 3)))),
    ("kernel", dict(kernel="__import__('os').system('touch pwned')")),
    ("kernel", dict(kernel="().__class__")),
    ("kernel", dict(kernel="lambda: 0")),
    ("kernel", dict(kernel="")),
    ("kernel", dict(kernel="s" * 100_000)),
    ("kernel", dict(kernel="s**10**10")),
    ("kernel", dict(kernel="exp(" * 200 + "s" + ")" * 200)),
    ("kernel", dict(kernel="x + s")),
    ("norm", dict(norm="softmax")),
    ("geometry", dict(geometry="torus")),
]


@pytest.mark.parametrize(
    ("argument", "change"), _BAD, ids=[f"{a}-{i}" for i, (a, _) in enumerate(_BAD)]
)
def test_hostile_arguments_raise_invalid_argument(
    argument, change, tmp_path, monkeypatch
):
    """Each bad argument raises InvalidArgumentError naming it, and runs nothing."""
    monkeypatch.chdir(tmp_path)
    args = dict(X=_X, M=_M, beta=1.0, kernel="exp", norm="sa", geometry="sphere")
    args.update(change)

    with pytest.raises(InvalidArgumentError) as info:
        numeric.velocity(args.pop("X"), args.pop("M"), args.pop("beta"), **args)

    assert info.value.argument == argument
    assert not (tmp_path / "pwned").exists()
