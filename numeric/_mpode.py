"""Arbitrary-precision initial-value-problem integration over mpmath.

This module holds :func:`solve_ivp_mp`, a fixed-step implicit Gauss-Legendre
collocation Runge-Kutta integrator in mpmath arithmetic, its result type
:class:`MPSolution`, and the private helpers that build the Butcher tableau and
advance the state.  It is meant to cross-check float64 simulations of small
systems (state dimension up to a few dozen) at 30-60 significant digits; the
accuracy is controlled by step doubling with a Richardson error estimate.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from numbers import Integral, Rational, Real

import mpmath
from mpmath import mpf
from mpmath.libmp import from_man_exp

from symbolic.errors import InvalidArgumentError

__all__ = ["MPSolution", "solve_ivp_mp"]

# Decimal digits carried beyond the requested ones.
_GUARD_DIGITS = 10

# Extra digits used while building the tableau, on top of the working ones.
_TABLEAU_GUARD_DIGITS = 20

_MIN_DIGITS = 15
_MAX_DIGITS = 1000
_MAX_DEFAULT_STAGES = 24
_MAX_STAGES = 64
_MAX_STEPS = 10**9
_MAX_DOUBLINGS = 40

# First attempt: this many steps per unit time and per unit of the rate scale
# |f(t0, y0)| / max(1, |y0|), the scale clipped to [_MIN_RATE, _MAX_RATE].
_STEPS_PER_UNIT = 1
_MIN_RATE, _MAX_RATE = 1.0, 1.0e4

# Iterations without a new smallest change after which a stage iteration is
# declared divergent.
_MAX_STALLED_ITERATIONS = 5

# Consecutive failed attempts that must line up before a blow-up is reported.
_BLOW_UP_ATTEMPTS = 4


@dataclass(frozen=True)
class MPSolution:
    """Result of :func:`solve_ivp_mp`.

    Attributes
    ----------
    t : list of mpf
        Output times.
    y : list of list of mpf
        ``y[k]`` is the state at ``t[k]``.
    digits_requested : int
        The ``digits`` argument.
    digits_achieved : int
        Estimated number of correct digits of the worst output time, measured
        relative to ``max(1, |y|)`` in the max-norm.
    steps : int
        Steps over the whole span used by the returned solution.
    stages : int
        Number of Gauss-Legendre stages (the method has order ``2 * stages``).
    status : int
        0 on success, -1 on failure.
    message : str
        What happened; on failure, what to change.
    """

    t: list
    y: list
    digits_requested: int
    digits_achieved: int
    steps: int
    stages: int
    status: int
    message: str


# ---------------------------------------------------------------------------
# Gauss-Legendre tableau
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tableau:
    """Gauss-Legendre collocation tableau at one precision."""

    c: tuple  # nodes in (0, 1), increasing
    b: tuple  # quadrature weights
    a: tuple  # a[i][j] = integral_0^{c_i} l_j
    extrapolation: tuple  # e[i][j] = l_j(1 + c_i), predictor for the next step


def _legendre(s: int, x: mpf) -> tuple[mpf, mpf]:
    """Return ``(P_s(x), P_s'(x))`` for the Legendre polynomial on [-1, 1]."""
    p_previous, p = mpf(1), x

    # Bonnet recursion (k + 1) P_{k+1} = (2k + 1) x P_k - k P_{k-1}.
    for k in range(1, s):
        p_previous, p = p, ((2 * k + 1) * x * p - k * p_previous) / (k + 1)

    # (x^2 - 1) P_s' = s (x P_s - P_{s-1}).
    dp = s * (x * p - p_previous) / (x * x - 1)
    return p, dp


def _lagrange_rows(nodes: Sequence[mpf], points: Sequence[mpf]) -> tuple:
    """Return ``rows[i][j] = l_j(points[i])`` for the Lagrange basis on nodes."""
    s = len(nodes)

    # Barycentric weights 1 / prod_{m != j} (c_j - c_m).
    weights = []
    for j in range(s):
        denominator = mpf(1)
        for m in range(s):
            if m != j:
                denominator *= nodes[j] - nodes[m]
        weights.append(1 / denominator)

    rows = []
    for x in points:
        # l_j(x) = w_j prod_{m != j} (x - c_m) from prefix and suffix products.
        differences = [x - node for node in nodes]
        prefix = [mpf(1)]
        for d in differences[:-1]:
            prefix.append(prefix[-1] * d)
        row = [mpf(0)] * s
        suffix = mpf(1)
        for j in range(s - 1, -1, -1):
            row[j] = weights[j] * prefix[j] * suffix
            suffix *= differences[j]
        rows.append(tuple(row))
    return tuple(rows)


@lru_cache(maxsize=64)
def _gauss_tableau(stages: int, dps: int) -> _Tableau:
    """Build the ``stages``-stage Gauss-Legendre tableau good to ``dps`` digits."""
    with mpmath.workdps(dps + _TABLEAU_GUARD_DIGITS + stages):
        tol = mpf(10) ** (-(dps + _TABLEAU_GUARD_DIGITS))
        xs, ws = [], []

        for i in range(stages):
            # Newton's method on P_s from the asymptotic guess for its i-th root.
            x = mpmath.cos(mpmath.pi * (i + mpf(3) / 4) / (stages + mpf(1) / 2))
            for _ in range(100):
                p, dp = _legendre(stages, x)
                dx = p / dp
                x -= dx
                if abs(dx) < tol:
                    break
            _, dp = _legendre(stages, x)
            xs.append(x)

            # Gauss-Legendre weight 2 / ((1 - x^2) P_s'(x)^2) on [-1, 1].
            ws.append(2 / ((1 - x * x) * dp * dp))

        # Map [-1, 1] -> [0, 1]; the x_i decrease, so the c_i increase.
        c = [(1 - x) / 2 for x in xs]
        b = [w / 2 for w in ws]

        # a_ij = integral_0^{c_i} l_j; the s-point Gauss rule on [0, c_i] is
        # exact for the degree s - 1 polynomial l_j.
        values = _lagrange_rows(c, [ci * ck for ci in c for ck in c])
        a = []
        for i, ci in enumerate(c):
            rows = values[i * stages : (i + 1) * stages]
            a.append(
                [ci * mpmath.fdot(b, [row[j] for row in rows]) for j in range(stages)]
            )

        extrapolation = _lagrange_rows(c, [1 + ci for ci in c])

    # Round everything to the working precision.
    def rounded(matrix):
        return tuple(tuple(+v for v in row) for row in matrix)

    with mpmath.workdps(dps):
        return _Tableau(
            c=tuple(+v for v in c),
            b=tuple(+v for v in b),
            a=rounded(a),
            extrapolation=rounded(extrapolation),
        )


# ---------------------------------------------------------------------------
# Vector helpers
# ---------------------------------------------------------------------------


# Bits carried beyond the working precision in fixed-point linear combinations.
_EXTRA_BITS = 16


class _Coefficients:
    """A constant matrix stored as integers ``rows[i][j] = round(m_ij 2^bits)``.

    ``bits`` is chosen so that the largest entry keeps ``prec + _EXTRA_BITS``
    bits.
    """

    __slots__ = ("bits", "rows")

    def __init__(self, matrix: Sequence[Sequence[mpf]]):
        top = max((mpmath.mag(v) for row in matrix for v in row if v), default=0)
        self.bits = mpmath.mp.prec + _EXTRA_BITS - top
        self.rows = [
            [int(mpmath.nint(mpmath.ldexp(v, self.bits))) for v in row]
            for row in matrix
        ]


def _combine(coefficients: _Coefficients, vectors: Sequence, offset=None):
    """Return ``offset[m] + sum_j m_ij vectors[j][m]`` for all ``i`` and ``m``.

    Each column ``(vectors[j][m])_j`` is aligned to its largest entry and the
    sum is formed exactly in integer arithmetic, then rounded once; the error
    is that of a dot product carried at ``prec + _EXTRA_BITS`` bits.  Columns
    holding an infinity or NaN are summed in mpmath so that these propagate.

    Returns ``(values, raw)``: ``values[i][m]`` is the mpf result and
    ``raw[m]`` is ``(exponent, totals)`` with ``values[i][m]`` the rounding of
    ``totals[i] * 2**exponent``, or None for a column summed in mpmath.
    """
    prec = mpmath.mp.prec
    width = prec + _EXTRA_BITS
    make_mpf = mpmath.mp.make_mpf
    mul = operator.mul
    rows = coefficients.rows
    if offset is None:
        offset = [mpf(0)] * len(vectors[0])
    columns, raw = [], []

    for y_m, column in zip(offset, zip(*vectors)):
        parts = [v._mpf_ for v in column]

        # A zero mantissa with a nonzero bit count marks an infinity or a NaN.
        if any(not man and bc for _, man, _, bc in parts):
            weights = [
                [mpmath.ldexp(w, -coefficients.bits) for w in row] for row in rows
            ]
            columns.append([y_m + mpmath.fdot(w, column) for w in weights])
            raw.append(None)
            continue

        # Fixed point: column entries as integers in units of 2^base.
        y_sign, y_man, y_exp, _ = y_m._mpf_
        top = max((exp + bc for _, man, exp, bc in parts if man), default=None)
        if top is None:
            exponent = y_exp
            integers = [0] * len(parts)
        else:
            base = top - width
            exponent = base - coefficients.bits
            integers = []
            for sign, man, exp, _ in parts:
                shift = exp - base
                value = man << shift if shift >= 0 else man >> -shift
                integers.append(-value if sign else value)

        # The offset in units of 2^exponent, truncated below that unit.
        shift = y_exp - exponent
        y_int = y_man << shift if shift >= 0 else y_man >> -shift
        if y_sign:
            y_int = -y_int

        totals = [sum(map(mul, row, integers)) + y_int for row in rows]
        columns.append([make_mpf(from_man_exp(v, exponent, prec, "n")) for v in totals])
        raw.append((exponent, totals))

    return [list(row) for row in zip(*columns)], raw


def _change(values, raw, old_values, old_raw) -> mpf:
    """Max-norm of the difference of two results of :func:`_combine`.

    Columns with the same exponent are compared exactly on their integer
    totals, the others on the mpf values.  A NaN entry makes the result NaN.
    """
    prec = mpmath.mp.prec
    make_mpf = mpmath.mp.make_mpf
    worst = mpf(0)
    for m, (new, old) in enumerate(zip(raw, old_raw)):
        if new is not None and old is not None and new[0] == old[0]:
            largest = max(abs(u - v) for u, v in zip(new[1], old[1]))
            d = make_mpf(from_man_exp(largest, new[0], prec, "u"))
        else:
            d = _max_norm(
                [row[m] - old_row[m] for row, old_row in zip(values, old_values)]
            )
        if not d <= worst:
            worst = d
    return worst


def _max_norm(values: Sequence[mpf]) -> mpf:
    """Return the max-norm of a vector; a NaN entry makes the result NaN."""
    norm = mpf(0)
    for v in values:
        v = abs(v)
        if not v <= norm:
            norm = v
    return norm


# ---------------------------------------------------------------------------
# Argument conversion
# ---------------------------------------------------------------------------


def _to_mpf(value, name: str) -> mpf:
    """Convert a real number or decimal string to mpf at the current precision."""
    rule = "must be a real number or a decimal string"
    if isinstance(value, mpf):
        result = +value
    elif isinstance(value, str):
        try:
            result = mpf(value.strip())
        except ValueError:
            raise InvalidArgumentError(name, value, rule) from None
    elif isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidArgumentError(name, value, rule)
    elif isinstance(value, Rational):
        result = mpf(int(value.numerator)) / int(value.denominator)
    else:
        result = mpf(float(value))
    if not mpmath.isfinite(result):
        raise InvalidArgumentError(name, value, "must be finite")
    return result


def _check_int(name: str, value, low: int, high: int) -> int:
    """Return ``value`` if it is an integer in [low, high], else raise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, Integral)
        or not (low <= value <= high)
    ):
        raise InvalidArgumentError(
            name, value, f"must be an integer with {low} <= {name} <= {high}"
        )
    return int(value)


def _is_sequence(value) -> bool:
    """True for list-like values (including numpy arrays), False for strings."""
    return (
        not isinstance(value, (str, bytes))
        and hasattr(value, "__len__")
        and hasattr(value, "__getitem__")
    )


def _parse_arguments(t_span, y0, t_eval):
    """Validate and convert the time span, initial state and output times."""
    if not _is_sequence(t_span) or len(t_span) != 2:
        raise InvalidArgumentError("t_span", t_span, "must be a pair (t0, t1)")
    t0 = _to_mpf(t_span[0], "t_span[0]")
    t1 = _to_mpf(t_span[1], "t_span[1]")
    if t1 < t0:
        raise InvalidArgumentError(
            "t_span",
            t_span,
            "must have t1 >= t0",
            "to go backward, integrate -fun(-s, y) over s from -t0 to -t1",
        )

    if not _is_sequence(y0) or len(y0) == 0:
        raise InvalidArgumentError("y0", y0, "must be a non-empty sequence of numbers")
    y_start = [_to_mpf(v, f"y0[{i}]") for i, v in enumerate(y0)]

    if t_eval is None:
        outputs = [t0, t1] if t1 > t0 else [t0]
    else:
        if not _is_sequence(t_eval) or len(t_eval) == 0:
            raise InvalidArgumentError(
                "t_eval", t_eval, "must be a non-empty sequence of times"
            )
        outputs = [_to_mpf(v, f"t_eval[{i}]") for i, v in enumerate(t_eval)]
        if any(u >= v for u, v in pairwise(outputs)):
            raise InvalidArgumentError("t_eval", t_eval, "must be strictly increasing")
        if outputs[0] < t0 or outputs[-1] > t1:
            raise InvalidArgumentError(
                "t_eval", t_eval, f"must lie inside t_span={t_span!r}"
            )
    return t0, t1, y_start, outputs


# ---------------------------------------------------------------------------
# Stepping
# ---------------------------------------------------------------------------


class _StepFailure(Exception):
    """A step could not be completed.

    ``reason`` says what went wrong, ``t`` and ``h`` locate the step and
    ``norm`` is the max-norm of the state at its start.
    """

    def __init__(self, reason: str, t=None, h=None, norm=None):
        super().__init__(reason)
        self.reason, self.t, self.h, self.norm = reason, t, h, norm

    def __str__(self) -> str:
        if self.t is None:
            return self.reason
        return (
            f"{self.reason} in the step from t={mpmath.nstr(self.t, 8)} "
            f"with h={mpmath.nstr(self.h, 3)}"
        )


def _evaluate(fun: Callable, t: mpf, y: list, n: int) -> list:
    """Call ``fun(t, y)`` and return its value as a list of ``n`` mpf."""
    out = fun(t, y)
    if not _is_sequence(out) or len(out) != n:
        got = f"length {len(out)}" if _is_sequence(out) else type(out).__name__
        raise InvalidArgumentError(
            "fun", fun, f"must return a sequence of len(y0) = {n} numbers, got {got}"
        )
    return [v if type(v) is mpf else _to_mpf(v, "fun(t, y) component") for v in out]


def _solve_stages(fun, times, y, ha, k, tol, max_iterations):
    """Solve the collocation equations of one step by fixed-point iteration.

    Iterates ``K_i = f(t + c_i h, Y_i)`` with the stage values
    ``Y_i = y + h sum_j a_ij K_j``, from the guess ``k``, until the stage
    increments ``Y_i - y`` change by at most ``tol`` in the max-norm, and
    returns the stage derivatives ``K``.  ``times[i]`` is ``t + c_i h`` and
    ``ha`` holds the matrix ``h a_ij``.
    """
    n = len(y)
    stage_values, raw = _combine(ha, k, y)
    previous = smallest = None
    stalled = 0

    for _ in range(max_iterations):
        k = [_evaluate(fun, ti, yi, n) for ti, yi in zip(times, stage_values)]
        new_values, new_raw = _combine(ha, k, y)
        change = _change(new_values, new_raw, stage_values, raw)
        stage_values, raw = new_values, new_raw

        if not mpmath.isfinite(change):
            raise _StepFailure("the stage values became non-finite")
        if change <= tol:
            return k

        # Stalled at the rounding level: the iteration has converged.
        if previous is not None and previous <= change <= 1000 * tol:
            return k

        # The contraction is not monotone, so judge it by the smallest change
        # so far: diverged if far above it, stuck if it is not improved on.
        if smallest is None or change < smallest:
            smallest, stalled = change, 0
        else:
            stalled += 1
        if change > 1000 * smallest or stalled >= _MAX_STALLED_ITERATIONS:
            raise _StepFailure(
                "the fixed-point iteration diverged (the step is too large for "
                "the dynamics there)"
            )
        previous = change

    raise _StepFailure(
        f"the fixed-point iteration did not converge in {max_iterations} iterations"
    )


def _integrate(fun, knots, counts, y0, f0, tableau, tol_scale, max_iterations):
    """Integrate through ``knots`` with ``counts[j]`` equal steps on segment j.

    Returns the states at all knots.  Raises :class:`_StepFailure` carrying the
    step's time, size and state norm when a step cannot be completed.
    """
    c, b, a = tableau.c, tableau.b, tableau.a
    extrapolation = _Coefficients(tableau.extrapolation)

    def first_guess(step, k, h, h_previous):
        """Stage derivatives that start the iteration of a step."""
        if k is None:
            return [f0] * len(c)
        if step or h == h_previous:
            # The previous step's polynomial u'(t_n + theta h), theta = 1 + c_i.
            return _combine(extrapolation, k)[0]
        ratio = h / h_previous
        rows = _lagrange_rows(c, [1 + ratio * v for v in c])
        return _combine(_Coefficients(rows), k)[0]

    y = list(y0)
    states = [y]
    k = None
    h_previous = None

    for t_start, t_stop, count in zip(knots[:-1], knots[1:], counts):
        h = (t_stop - t_start) / count
        ha = _Coefficients([[h * v for v in row] for row in a])
        hb = _Coefficients([[h * v for v in b]])
        hc = [h * v for v in c]

        for step in range(count):
            t = t_start + step * h
            k = first_guess(step, k, h, h_previous)
            norm = _max_norm(y)
            tol = tol_scale * max(1, norm)

            try:
                k = _solve_stages(
                    fun, [t + v for v in hc], y, ha, k, tol, max_iterations
                )
            except _StepFailure as failure:
                raise _StepFailure(failure.reason, t, h, norm) from None

            # Gauss quadrature of the collocation polynomial: y + h sum_j b_j K_j.
            y = _combine(hb, k, y)[0][0]
            if not all(mpmath.isfinite(v) for v in y):
                raise _StepFailure("the state became non-finite", t, h, norm)

        states.append(y)
        h_previous = h

    return states


# ---------------------------------------------------------------------------
# Error control
# ---------------------------------------------------------------------------


def _default_stages(digits: int) -> int:
    """Stage count for a target of ``digits`` digits."""
    return min(_MAX_DEFAULT_STAGES, math.ceil(digits / 3) + 4)


def _relative_difference(fine: list, coarse: list) -> mpf:
    """Max over knots of ``|fine - coarse|_inf / max(1, |fine|_inf)``."""
    worst = mpf(0)
    for y_fine, y_coarse in zip(fine, coarse):
        scale = max(1, _max_norm(y_fine))
        difference = _max_norm([u - v for u, v in zip(y_fine, y_coarse)]) / scale
        if not difference <= worst:
            worst = difference
    return worst


def _digits_from_error(error: mpf, work_dps: int) -> int:
    """Return ``floor(-log10(error))`` clipped to ``[0, work_dps]``."""
    if not mpmath.isfinite(error):
        return 0
    if error <= 0:
        return work_dps
    return max(0, min(work_dps, int(mpmath.floor(-mpmath.log10(error)))))


def _looks_like_blow_up(failures: list) -> bool:
    """True if successive failed attempts close in on one time as |y| grows.

    Each attempt halves the step.  For a solution that is finite on the whole
    span the failure point moves on by much more than a step, or stays put
    with the same state; near a singularity it advances by less than the old
    step while the state norm at the failure keeps growing.
    """
    if len(failures) < _BLOW_UP_ATTEMPTS or any(f.t is None for f in failures):
        return False
    recent = failures[-_BLOW_UP_ATTEMPTS:]
    return all(
        old.t < new.t <= old.t + 2 * old.h and new.norm > mpf("1.1") * old.norm
        for old, new in pairwise(recent)
    )


def _solve(
    fun, t0, t1, y_start, outputs, tableau, digits, work_dps, steps, max_doublings
) -> MPSolution:
    """Run the step-doubling loop; called inside the working precision."""
    s = len(tableau.c)
    n = len(y_start)

    def result(status, message, states=None, achieved=0, used=0):
        return MPSolution(
            t=list(outputs) if states else [],
            y=[states[i] for i in output_index] if states else [],
            digits_requested=digits,
            digits_achieved=achieved,
            steps=used,
            stages=s,
            status=status,
            message=message,
        )

    # Knots t0 < (output times) < t1; each segment between knots has fixed steps.
    knots = [t0] + [v for v in outputs if t0 < v < t1] + ([t1] if t1 > t0 else [])
    position = {knot: index for index, knot in enumerate(knots)}
    output_index = [position[v] for v in outputs]

    if t1 == t0:
        states = [list(y_start)]
        return result(0, "empty time span: returned y0", states, achieved=work_dps)

    f0 = _evaluate(fun, t0, list(y_start), n)
    if not all(mpmath.isfinite(v) for v in f0):
        return result(-1, "fun(t0, y0) is not finite: check fun and y0")

    # First attempt: steps per unit time scaled by the rate |f0| / max(1, |y0|).
    span = t1 - t0
    if steps is None:
        rate = float(_max_norm(f0) / max(1, _max_norm(y_start)))
        rate = min(max(rate, _MIN_RATE), _MAX_RATE)
        steps = max(2, math.ceil(_STEPS_PER_UNIT * rate * float(span)))
    counts = [max(1, math.ceil(steps * (v - u) / span)) for u, v in pairwise(knots)]

    tol_scale = mpf(10) ** (-work_dps)
    max_iterations = 10 + 2 * work_dps
    q_theory = mpf(2) ** (-2 * s)

    coarse = None
    previous_difference = None
    best = None
    failures = []

    for _ in range(max_doublings + 1):
        try:
            fine = _integrate(
                fun, knots, counts, y_start, f0, tableau, tol_scale, max_iterations
            )
        except _StepFailure as failure:
            failures.append(failure)
            if _looks_like_blow_up(failures):
                return result(
                    -1,
                    f"the solution appears to blow up near "
                    f"t={mpmath.nstr(failure.t, 8)}: as the step was halved the "
                    f"failing step closed in on that time while |y| grew to "
                    f"{mpmath.nstr(failure.norm, 3)}; end the time span before it",
                )
            coarse = previous_difference = None
            counts = [2 * v for v in counts]
            continue
        failures = []
        used = sum(counts)

        if coarse is not None:
            difference = _relative_difference(fine, coarse)

            # Richardson for order 2s: error(2N) = d q / (1 - q), q = 2^(-2s),
            # or the observed ratio of successive differences if that is larger.
            q = q_theory
            if previous_difference is not None and previous_difference > 0:
                q = max(q, difference / previous_difference)
            estimate = difference if q >= 1 else difference * q / (1 - q)
            estimate += used * s * tol_scale

            achieved = _digits_from_error(estimate, work_dps)
            best = (fine, achieved, used)
            if achieved >= digits:
                return result(
                    0,
                    f"converged: about {achieved} digits with {used} steps of "
                    f"the {s}-stage Gauss-Legendre method (order {2 * s})",
                    fine,
                    achieved,
                    used,
                )
            previous_difference = difference
        elif best is None:
            best = (fine, 0, used)

        coarse = fine
        counts = [2 * v for v in counts]

    remedy = (
        f"pass steps >= {sum(counts)} or a larger max_doublings, or split the time span"
    )
    last = f"; the last attempt failed: {failures[-1]}" if failures else ""
    if best is None:
        return result(-1, f"no attempt completed{last}; {remedy}")
    fine, achieved, used = best
    return result(
        -1,
        f"no convergence to {digits} digits within {max_doublings} step doublings "
        f"(best estimate {achieved} digits with {used} steps){last}; {remedy}",
        fine,
        achieved,
        used,
    )


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------


def solve_ivp_mp(
    fun: Callable,
    t_span: Sequence,
    y0: Sequence,
    *,
    digits: int = 30,
    t_eval: Sequence | None = None,
    stages: int | None = None,
    steps: int | None = None,
    max_doublings: int = 8,
) -> MPSolution:
    """Integrate ``y' = fun(t, y)`` in mpmath arithmetic to ``digits`` digits.

    Parameters
    ----------
    fun : callable
        ``fun(t, y) -> sequence of mpf`` with ``t`` an mpf and ``y`` a list of
        mpf.  It is called while the working precision is in effect, so mpmath
        functions inside it compute at that precision.  Exceptions it raises
        propagate.
    t_span : pair of numbers or decimal strings
        ``(t0, t1)`` with ``t1 >= t0``.  Strings such as ``"1.5"`` are read
        exactly at the working precision.
    y0 : sequence of numbers or decimal strings
        Initial state; must not be empty.
    digits : int, default 30
        Target number of correct digits, relative to ``max(1, |y|)`` in the
        max-norm; an integer in [15, 1000].
    t_eval : sequence of numbers or decimal strings, optional
        Strictly increasing output times inside ``t_span``, each hit exactly.
        Default: ``(t0, t1)``.
    stages : int, optional
        Number ``s`` of Gauss-Legendre stages (order ``2 s``), in [1, 64].
        Default: ``min(24, ceil(digits / 3) + 4)``.
    steps : int, optional
        Steps over the whole span in the first attempt.  Default: one per unit
        time, times the rate scale ``|fun(t0, y0)| / max(1, |y0|)`` clipped to
        [1, 1e4], and at least 2.
    max_doublings : int, default 8
        How many times the step count may be doubled, in [0, 40].

    Returns
    -------
    MPSolution
        ``t`` holds the output times and ``y`` the states there, as mpf at the
        working precision of ``digits + 10`` digits.  On failure
        (``status == -1``) they hold the best completed attempt, or are empty if
        no attempt completed, and ``message`` says what to change.

    Raises
    ------
    symbolic.errors.InvalidArgumentError
        A :class:`ValueError` naming the argument: if an argument is invalid,
        or ``fun`` returns the wrong number of components or a component that
        is not a real number.

    Notes
    -----
    The method is the ``s``-stage Gauss-Legendre collocation Runge-Kutta
    method, of order ``2 s``, with a fixed step on each segment between output
    times.  The nodes ``c_i`` are the roots of the shifted Legendre polynomial
    on [0, 1] (Newton's method on the Legendre recursion), the ``b_i`` are the
    Gauss weights and ``a_ij`` is the integral of the Lagrange basis polynomial
    ``l_j`` over ``[0, c_i]``; the tableau is built with extra guard digits and
    cached per ``(s, precision)``.  The stage equations
    ``K_i = f(t + c_i h, y + h sum_j a_ij K_j)`` are solved by fixed-point
    iteration, started from the previous step's collocation polynomial
    extrapolated, until the stage increments ``h sum_j a_ij K_j`` change by at most the
    working epsilon ``10**-(digits + 10)`` times ``max(1, |y|)``.  The linear
    combinations are formed exactly in integer arithmetic and rounded once.  An
    attempt in which a step's iteration diverges or contracts too slowly fails
    and the step count is doubled; if successive failures close in on one time
    while ``|y|`` grows, a blow-up is reported instead.

    The error is estimated by step doubling.  With ``d`` the largest difference
    between the runs with ``N`` and ``2 N`` steps at the knots (output times
    and ``t1``), relative to ``max(1, |y|)``, Richardson extrapolation for a
    method of order ``2 s`` gives the error of the ``2 N`` run as
    ``d q / (1 - q)`` with ``q = 2**(-2 s)``; when an earlier pair of runs shows
    a larger ratio of successive differences, that ratio is used for ``q``.  A
    rounding allowance of ``steps * s * 10**-(digits + 10)`` is added.  ``N``
    is doubled, the finer run becoming the next coarse one, until the estimate
    is at most ``10**-digits``; ``digits_achieved`` is the floor of ``-log10``
    of the estimate.  The global mpmath precision is restored on return, also
    when ``fun`` raises.

    Examples
    --------
    >>> import mpmath
    >>> sol = solve_ivp_mp(lambda t, y: [y[0]], (0, 1), [1], digits=30)
    >>> sol.status, sol.digits_achieved >= 30
    (0, True)
    >>> with mpmath.workdps(40):
    ...     bool(abs(sol.y[-1][0] - mpmath.e) < mpmath.mpf(10) ** -30)
    True
    """
    digits = _check_int("digits", digits, _MIN_DIGITS, _MAX_DIGITS)
    if stages is not None:
        stages = _check_int("stages", stages, 1, _MAX_STAGES)
    if steps is not None:
        steps = _check_int("steps", steps, 1, _MAX_STEPS)
    max_doublings = _check_int("max_doublings", max_doublings, 0, _MAX_DOUBLINGS)
    if not callable(fun):
        raise InvalidArgumentError("fun", fun, "must be a callable fun(t, y)")

    s = _default_stages(digits) if stages is None else stages
    work_dps = digits + _GUARD_DIGITS

    with mpmath.workdps(work_dps):
        t0, t1, y_start, outputs = _parse_arguments(t_span, y0, t_eval)
        tableau = _gauss_tableau(s, work_dps)
        return _solve(
            fun,
            t0,
            t1,
            y_start,
            outputs,
            tableau,
            digits,
            work_dps,
            steps,
            max_doublings,
        )
