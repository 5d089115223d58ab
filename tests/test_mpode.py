"""The mpmath Gauss-Legendre integrator against closed forms and its own order."""

from __future__ import annotations

import dataclasses
import math
import time

import mpmath
import pytest
from mpmath import mpf

from numeric._mpode import MPSolution, _gauss_tableau, solve_ivp_mp

GUARD = 10  # guard digits the integrator adds; used to set the reference precision


def _growth(t, y):
    return [y[0]]


def _rotation(t, y):
    return [-y[1], y[0]]


def _exact_growth(t):
    return [mpmath.exp(t)]


def _exact_rotation(t):
    return [mpmath.cos(t), mpmath.sin(t)]


def _max_error(state, exact):
    return max(abs(u - v) for u, v in zip(state, exact))


# ---------------------------------------------------------------------------
# Tableau
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("stages", [1, 2, 5, 12])
def test_tableau_satisfies_the_gauss_order_conditions(stages):
    """B(2s): sum_j b_j c_j^k = 1/(k+1) for k < 2s.

    C(s): sum_j a_ij c_j^k = c_i^(k+1)/(k+1) for k < s.
    """
    dps = 40
    tab = _gauss_tableau(stages, dps)
    with mpmath.workdps(dps + GUARD):
        tol = mpf(10) ** (5 - dps)
        for k in range(2 * stages):
            moment = mpmath.fsum(b * c**k for b, c in zip(tab.b, tab.c))
            assert abs(moment - mpf(1) / (k + 1)) < tol
        for i, ci in enumerate(tab.c):
            for k in range(stages):
                moment = mpmath.fsum(a * c**k for a, c in zip(tab.a[i], tab.c))
                assert abs(moment - ci ** (k + 1) / (k + 1)) < tol
    assert list(tab.c) == sorted(tab.c) and 0 < tab.c[0] and tab.c[-1] < 1


def test_tableau_is_cached_per_stages_and_precision():
    assert _gauss_tableau(3, 40) is _gauss_tableau(3, 40)
    assert _gauss_tableau(3, 40) is not _gauss_tableau(3, 41)


# ---------------------------------------------------------------------------
# Accuracy against closed forms
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("digits", [30, 50])
@pytest.mark.parametrize(
    "fun, exact, y0, t1",
    [(_growth, _exact_growth, [1], 1), (_rotation, _exact_rotation, [1, 0], "2.5")],
    ids=["growth", "rotation"],
)
def test_matches_closed_form(digits, fun, exact, y0, t1):
    """The error is below 10^-digits and within a digit of the reported estimate."""
    sol = solve_ivp_mp(fun, (0, t1), y0, digits=digits)

    assert sol.status == 0, sol.message
    assert sol.digits_requested == digits
    assert digits <= sol.digits_achieved <= digits + GUARD
    with mpmath.workdps(digits + 2 * GUARD):
        t_end = mpf(t1)
        error = _max_error(sol.y[-1], exact(t_end))
        scale = max(1, max(abs(v) for v in exact(t_end)))
        assert error / scale < mpf(10) ** -digits
        assert error / scale < mpf(10) ** (1 - sol.digits_achieved)
    assert sol.t[0] == 0 and sol.t[-1] == t_end
    assert sol.y[0] == [mpf(v) for v in y0]


def test_result_is_a_frozen_dataclass():
    sol = solve_ivp_mp(_growth, (0, "0.5"), [1])
    assert isinstance(sol, MPSolution)
    assert sol.stages >= 1 and sol.steps >= 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        sol.status = 1


def test_empty_span_returns_the_initial_state():
    sol = solve_ivp_mp(_rotation, ("1.5", "1.5"), ["0.1", 2])
    assert sol.status == 0 and sol.steps == 0
    with mpmath.workdps(30 + GUARD):
        assert sol.t == [mpf("1.5")]
        assert sol.y == [[mpf("0.1"), mpf(2)]]


# ---------------------------------------------------------------------------
# Convergence order
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("stages", [2, 3])
def test_observed_order_is_2s(stages):
    """Fixed-step errors for y' = y cos t fall like N^(-2s) on a log-log fit."""
    counts = [4, 8, 16, 32]
    errors = []
    for count in counts:
        sol = solve_ivp_mp(
            lambda t, y: [y[0] * mpmath.cos(t)],
            (0, 1),
            [1],
            digits=30,
            stages=stages,
            steps=count,
            max_doublings=0,
        )
        assert sol.steps == count
        with mpmath.workdps(30 + 2 * GUARD):
            errors.append(float(abs(sol.y[-1][0] - mpmath.exp(mpmath.sin(1)))))

    x = [math.log(v) for v in counts]
    y = [math.log(v) for v in errors]
    x_mean, y_mean = sum(x) / len(x), sum(y) / len(y)
    slope = sum((u - x_mean) * (v - y_mean) for u, v in zip(x, y)) / sum(
        (u - x_mean) ** 2 for u in x
    )
    assert abs(slope + 2 * stages) < 0.25, (slope, errors)


# ---------------------------------------------------------------------------
# Output times
# ---------------------------------------------------------------------------


def test_t_eval_is_hit_exactly_and_in_order():
    t_eval = ["0", "0.1", "0.25", "1.3", "2", "2.75"]
    sol = solve_ivp_mp(_rotation, (0, "3"), [1, 0], digits=30, t_eval=t_eval)

    assert sol.status == 0, sol.message
    with mpmath.workdps(30 + GUARD):
        assert sol.t == [mpf(v) for v in t_eval]
    assert all(u < v for u, v in zip(sol.t, sol.t[1:]))
    assert len(sol.y) == len(t_eval)
    with mpmath.workdps(30 + 2 * GUARD):
        for t, state in zip(sol.t, sol.y):
            assert _max_error(state, _exact_rotation(t)) < mpf(10) ** -30


# ---------------------------------------------------------------------------
# Precision context
# ---------------------------------------------------------------------------


def test_fun_sees_the_working_precision_and_global_precision_is_restored():
    seen = set()

    def fun(t, y):
        seen.add(mpmath.mp.dps)
        return [-y[0]]

    with mpmath.workdps(21):
        solve_ivp_mp(fun, (0, 1), [1], digits=40)
        assert mpmath.mp.dps == 21
    assert seen == {40 + GUARD}


def test_global_precision_is_restored_when_fun_raises():
    calls = []

    def fun(t, y):
        calls.append(t)
        if len(calls) > 5:
            raise RuntimeError("boom")
        return [y[0]]

    before = mpmath.mp.dps
    with pytest.raises(RuntimeError, match="boom"):
        solve_ivp_mp(fun, (0, 1), [1], digits=20)
    assert mpmath.mp.dps == before


# ---------------------------------------------------------------------------
# Invalid arguments
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"digits": 10}, "digits"),
        ({"digits": 1001}, "digits"),
        ({"digits": 30.0}, "digits"),
        ({"t_span": (1, 0)}, "t_span"),
        ({"t_span": (0,)}, "t_span"),
        ({"t_span": ("0", "one")}, "t_span[1]"),
        ({"y0": []}, "y0"),
        ({"y0": [float("nan")]}, "y0[0]"),
        ({"t_eval": ["0.5", "0.2"]}, "t_eval"),
        ({"t_eval": [2]}, "t_eval"),
        ({"stages": 0}, "stages"),
        ({"steps": 0}, "steps"),
        ({"max_doublings": -1}, "max_doublings"),
        ({"fun": lambda t, y: [y[0], y[0]]}, "fun"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_the_argument(kwargs, argument):
    args = {"fun": _growth, "t_span": (0, 1), "y0": [1]}
    args.update(kwargs)
    fun, t_span, y0 = args.pop("fun"), args.pop("t_span"), args.pop("y0")
    before = mpmath.mp.dps

    with pytest.raises(ValueError) as info:
        solve_ivp_mp(fun, t_span, y0, **args)

    assert str(info.value).startswith(f"{argument}=")
    assert mpmath.mp.dps == before


def test_digits_message_states_the_rule():
    with pytest.raises(ValueError, match=r"digits=10: .*15 <= digits <= 1000"):
        solve_ivp_mp(_growth, (0, 1), [1], digits=10)


# ---------------------------------------------------------------------------
# Failures are reported, not raised
# ---------------------------------------------------------------------------


def test_blow_up_returns_failure_status():
    """y' = y^2, y(0) = 1 blows up at t = 1, inside [0, 2]."""
    start = time.perf_counter()
    sol = solve_ivp_mp(lambda t, y: [y[0] ** 2], (0, 2), [1])
    elapsed = time.perf_counter() - start

    assert sol.status == -1
    assert "blow up" in sol.message and "span" in sol.message
    assert elapsed < 60


def test_unreachable_accuracy_returns_failure_with_remedy():
    """Order 2 cannot reach 30 digits in a few doublings: best attempt plus advice."""
    sol = solve_ivp_mp(_growth, (0, 1), [1], stages=1, steps=4, max_doublings=2)

    assert sol.status == -1
    assert "max_doublings" in sol.message
    assert sol.steps == 16 and len(sol.y) == 2
    assert 0 < sol.digits_achieved < 30


def test_non_finite_derivative_returns_failure_status():
    sol = solve_ivp_mp(lambda t, y: [mpmath.inf], (0, 1), [1])
    assert sol.status == -1 and "not finite" in sol.message


def test_non_finite_stage_values_return_failure_status():
    def fun(t, y):
        return [mpmath.inf if t > mpf("0.5") else y[0]]

    sol = solve_ivp_mp(fun, (0, 1), [1], max_doublings=2)
    assert sol.status == -1
    assert "non-finite" in sol.message and "steps" in sol.message


def test_decimal_strings_are_read_at_the_working_precision():
    """y' = 0 keeps y0 = "0.1" exactly as mpf("0.1") at digits + guard digits."""
    sol = solve_ivp_mp(lambda t, y: [0, 0], ("0.1", "0.3"), ["0.1", 7], digits=40)
    assert sol.status == 0, sol.message
    with mpmath.workdps(40 + GUARD):
        assert sol.t == [mpf("0.1"), mpf("0.3")]
        assert sol.y[-1] == [mpf("0.1"), mpf(7)]


def test_output_times_do_not_change_the_end_state():
    """Splitting the span at output times changes the steps, not the answer."""
    plain = solve_ivp_mp(_rotation, (0, 3), [1, 0])
    split = solve_ivp_mp(_rotation, (0, 3), [1, 0], t_eval=["0.5", "1.2", "3"])

    assert plain.status == split.status == 0
    with mpmath.workdps(30 + GUARD):
        assert _max_error(plain.y[-1], split.y[-1]) < mpf(10) ** -30
