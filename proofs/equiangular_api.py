"""Equiangular configurations of scalar heads: critical values and rho(t).

Library behind the ``critical-beta`` and ``equiangular`` commands and the claims
C4-C6.  The reduced rate ``rho' = F(rho)`` is derived in
:mod:`symbolic.equiangular` and generated for numpy or mpmath; this module adds
what the claims and the command line need around it:

- :func:`critical_beta`: the inverse temperature at which one softmax exp head
  weighs a token and each other token equally, with a ball-arithmetic
  enclosure and a check that the self weight crosses 1/2 inside it;
- :func:`equiangular`: ``rho(t)`` from the reduced equation at high precision,
  optionally against the particle system started exactly equiangular;
- clustering times by quadrature (:func:`clustering_time`) and by particle
  simulation (:func:`particle_clustering_time`), equiangular starts
  (:func:`equiangular_tokens`, :func:`equiangular_tokens_mp`) and
  :func:`flint_evaluate`, which evaluates a SymPy expression in ``arb``/``acb``.

Symbols follow Geshkovski, Letrouit, Polyanskiy and Rigollet (arXiv:2312.10794,
section 6): ``rho`` the common inner product, ``n`` the number of tokens, ``beta``
the inverse temperature, ``m_h`` the head scalars (``M_h = m_h I``).

Numbers may be ints, floats (read as the decimal they print as, so ``0.1``
means 1/10), fractions or decimal strings; they are used exactly.

python-flint keeps one process-wide precision; functions here set it for the
duration of a call and restore it, so they must not run in threads that share
the process.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import flint
import mpmath
import numpy as np
import sympy as sp
from flint import acb, arb, arb_mat

import numeric
from numeric._mpode import solve_ivp_mp
from symbolic import codegen
from symbolic import equiangular as eq
from symbolic.errors import InvalidArgumentError, UnsupportedError
from symbolic.model import n as n_sym

from ._arb import to_decimal_interval

__all__ = [
    "critical_beta",
    "equiangular",
    "flint_evaluate",
    "reduced_rate",
    "reduced_trajectory",
    "reduced_solution",
    "particle_solution",
    "clustering_time",
    "particle_clustering_time",
    "equiangular_tokens",
    "equiangular_tokens_mp",
    "scalar_heads",
    "MAX_PARTICLE_TOKENS",
    "MAX_STIFFNESS_TIME",
]

#: Largest ``n`` for which :func:`equiangular` integrates the particle system.
MAX_PARTICLE_TOKENS = 24
_MIN_DIGITS, _MAX_DIGITS = 15, 1000
_GUARD = 10


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------


#: Largest decimal exponent accepted in a number given as a string.
_MAX_EXPONENT = 1000


def _exact(value, name: str) -> Fraction:
    """A number or decimal string as an exact fraction."""
    if isinstance(value, bool):
        raise InvalidArgumentError(name, value, "must be a real number")
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise InvalidArgumentError(name, value, "must be finite")
        # the decimal the float prints as: 0.1 means 1/10
        return Fraction(repr(float(value)))
    if isinstance(value, (Fraction, sp.Rational)):
        return (
            Fraction(int(sp.numer(value)), int(sp.denom(value)))
            if isinstance(value, sp.Rational)
            else value
        )
    if isinstance(value, str):
        # bound the decimal exponent before Fraction builds 10**exponent
        text = value.strip()
        match = re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text)
        ratio = re.fullmatch(r"[+-]?\d+\s*/\s*\d+", text)
        if (match is None and ratio is None) or len(text) > 200:
            raise InvalidArgumentError(
                name,
                value,
                "must be a decimal number such as 0.25 or 1e-3, or a ratio such as 1/3",
            )
        if (
            match is not None
            and match.group(2)
            and abs(int(match.group(2)[1:])) > _MAX_EXPONENT
        ):
            raise InvalidArgumentError(
                name, value, f"decimal exponents must lie within +-{_MAX_EXPONENT}"
            )
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise InvalidArgumentError(
                name, value, "must be a decimal number such as 0.25 or 1e-3"
            ) from None
    if isinstance(value, mpmath.mpf):
        if not mpmath.isfinite(value):
            raise InvalidArgumentError(name, value, "must be finite")
        sign, man, exp, _ = value._mpf_
        return (-1) ** sign * Fraction(man) * Fraction(2) ** exp
    raise InvalidArgumentError(name, value, "must be a real number or decimal string")


def _tokens(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InvalidArgumentError("n", n, "must be an int (the number of tokens)")
    if n < 2:
        raise InvalidArgumentError("n", n, "must be >= 2")
    return int(n)


def _digits(digits) -> int:
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)):
        raise InvalidArgumentError("digits", digits, "must be an int")
    if not _MIN_DIGITS <= digits <= _MAX_DIGITS:
        raise InvalidArgumentError(
            "digits", digits, f"must be in [{_MIN_DIGITS}, {_MAX_DIGITS}]"
        )
    return int(digits)


def _inner(value, n: int, name: str, *, below_one: bool = False) -> Fraction:
    r = _exact(value, name)
    low = Fraction(-1, n - 1)
    if r < low or r > 1 or (below_one and r == 1):
        top = "1)" if below_one else "1]"
        raise InvalidArgumentError(
            name,
            value,
            f"must lie in [-1/(n-1), {top} = [{float(low):.6g}, {top} for n = {n}",
        )
    return r


def _positive(value, name: str) -> Fraction:
    v = _exact(value, name)
    if v <= 0:
        raise InvalidArgumentError(name, value, "must be > 0")
    return v


def _time(value) -> Fraction:
    t = _exact(value, "t")
    if t < 0:
        raise InvalidArgumentError("t", value, "must be >= 0")
    return t


def _variant(kernel, norm) -> tuple[str, str]:
    if kernel not in ("exp", "relu"):
        raise InvalidArgumentError("kernel", kernel, "must be 'exp' or 'relu'")
    if norm not in ("usa", "sa"):
        raise InvalidArgumentError("norm", norm, "must be 'usa' or 'sa'")
    return kernel, norm


def _scalars(m, kernel: str) -> list[Fraction]:
    items = [m] if isinstance(m, (str, int, float, Fraction, np.number)) else m
    try:
        items = list(items)
    except TypeError:
        raise InvalidArgumentError("m", m, "must be a list of head scalars") from None
    if not items:
        raise InvalidArgumentError("m", m, "needs at least one head scalar")
    values = [_exact(v, "m") for v in items]
    if kernel == "relu" and any(v <= 0 for v in values):
        raise InvalidArgumentError(
            "m",
            m,
            "relu heads need positive scalars m_h > 0",
            "use kernel='exp' for heads of either sign",
        )
    return values


def _arb_of(x: mpmath.mpf) -> arb:
    """The exact ball of an mpf (``man_exp`` drops the sign; ``_mpf_`` keeps it)."""
    sign, man, exp, _ = x._mpf_
    return arb((-man if sign else man, exp))


def _list(m) -> list:
    return list(m) if isinstance(m, (list, tuple, np.ndarray)) else [m]


def _mpf(q: Fraction) -> mpmath.mpf:
    return mpmath.mpf(q.numerator) / q.denominator


def _decimal(x: mpmath.mpf, digits: int) -> str:
    return mpmath.nstr(x, digits, strip_zeros=False, min_fixed=-5, max_fixed=8)


@contextlib.contextmanager
def _flint_bits(bits: int):
    old = flint.ctx.prec
    flint.ctx.prec = int(bits)
    try:
        yield
    finally:
        flint.ctx.prec = old


def _bits(digits: int) -> int:
    return int(math.ceil(digits * math.log2(10))) + 16


# ---------------------------------------------------------------------------
# SymPy expressions in ball arithmetic
# ---------------------------------------------------------------------------


def _ball(q: Fraction, complex_: bool):
    b = arb(flint.fmpq(q.numerator, q.denominator))
    return acb(b) if complex_ else b


def flint_evaluate(expr, values: dict, *, complex: bool = False):
    """Evaluate a SymPy expression in python-flint ball arithmetic.

    Parameters
    ----------
    expr : sympy.Expr
        Built from numbers, symbols, ``+``, ``*``, powers, ``exp``, ``log`` and
        ``sqrt``.
    values : dict
        Symbol -> ``arb``/``acb`` ball, int, ``Fraction`` or decimal string
        (strings and fractions become tight balls at the current precision).
    complex : bool
        Evaluate in ``acb`` (needed to integrate with ``acb.integral``).

    Returns
    -------
    flint.arb or flint.acb
        A ball containing the value for every point of the input balls.

    Examples
    --------
    >>> from symbolic.equiangular import critical_beta
    >>> from symbolic.model import n
    >>> from symbolic.equiangular import m, rho
    >>> ball = flint_evaluate(critical_beta(), {n: 16, m: 1, rho: 0})
    >>> ball.contains(arb(15).log())
    True
    """

    def lift(v):
        if isinstance(v, (arb, acb)):
            return acb(v) if complex and isinstance(v, arb) else v
        return _ball(_exact(v, "values"), complex)

    table = {sp.sympify(k): lift(v) for k, v in values.items()}

    def walk(e):
        if e in table:
            return table[e]
        if e.is_Integer or e.is_Rational:
            return _ball(Fraction(int(e.p), int(e.q)), complex)
        if e is sp.pi:
            return acb.pi() if complex else arb.pi()
        if e is sp.E:
            return walk(sp.exp(1))
        if e.is_Add:
            out = walk(e.args[0])
            for a in e.args[1:]:
                out = out + walk(a)
            return out
        if e.is_Mul:
            out = walk(e.args[0])
            for a in e.args[1:]:
                out = out * walk(a)
            return out
        if e.is_Pow:
            base, power = e.args
            if power == sp.Rational(1, 2):
                return walk(base).sqrt()
            if power == -sp.Rational(1, 2):
                return 1 / walk(base).sqrt()
            if power.is_Integer:
                return walk(base) ** int(power)
            return walk(base) ** walk(power)
        if isinstance(e, sp.exp):
            return walk(e.args[0]).exp()
        if isinstance(e, sp.log):
            return walk(e.args[0]).log()
        raise InvalidArgumentError(
            "expr",
            e,
            "has a node flint_evaluate cannot evaluate",
            "use numbers, symbols, +, *, powers, exp, log, sqrt",
        )

    return walk(sp.sympify(expr))


# ---------------------------------------------------------------------------
# the reduced equation
# ---------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _head_rate(kernel: str, norm: str, backend: str):
    return eq.head_rate_function(kernel, norm, backend)


def reduced_rate(kernel: str, norm: str, n: int, m, beta, *, backend: str = "mpmath"):
    """``F(rho) = sum_h F_h(rho)``, the reduced rate, as a callable.

    With ``backend="mpmath"`` the parameters are read at the caller's working
    precision each call (pass them as decimal strings to keep them exact);
    with ``"numpy"`` the callable takes floats or arrays.

    Examples
    --------
    >>> F = reduced_rate("relu", "sa", 4, [1, 2], 1.0, backend="numpy")
    >>> float(F(0.5))
    1.5
    """
    kernel, norm = _variant(kernel, norm)
    f = _head_rate(kernel, norm, backend)
    if backend == "numpy":
        ms = [float(_exact(v, "m")) for v in _list(m)]
        b = float(_exact(beta, "beta"))

        def F(r):
            return sum(f(r, b, n, mh) for mh in ms)

        return F
    ms = [_exact(v, "m") for v in _list(m)]
    b = _exact(beta, "beta")

    def F_mp(r):
        bb = _mpf(b)
        return mpmath.fsum(f(r, bb, n, _mpf(mh)) for mh in ms)

    return F_mp


def reduced_trajectory(
    kernel: str, norm: str, n: int, m, beta, rho0, times, *, rtol=1e-12, atol=1e-14
) -> np.ndarray:
    """``rho`` at the increasing ``times`` (from 0) by the reduced equation in
    float64, DOP853; where the solver fails, the values up to that time only.

    Examples
    --------
    >>> rho = reduced_trajectory("relu", "sa", 4, [1], 1.0, 0.5, [0.0, 1.0])
    >>> round(float(rho[-1]), 10)
    0.880797078
    """
    from scipy.integrate import solve_ivp

    F = reduced_rate(kernel, norm, n, m, beta, backend="numpy")
    times = np.asarray(times, dtype=np.float64)
    sol = solve_ivp(
        lambda _, y: [float(F(y[0]))],
        (0.0, float(times[-1])),
        [float(rho0)],
        method="DOP853",
        rtol=rtol,
        atol=atol,
        t_eval=times,
    )
    return sol.y[0]


def reduced_solution(
    kernel: str, norm: str, n: int, m, beta, rho0, t, *, digits: int = 30
) -> dict:
    """``rho(t)`` from the reduced equation with :func:`solve_ivp_mp`.

    The result is checked independently: the quadrature
    ``int_{rho0}^{rho(t)} d rho / F`` must return ``t``; the residual times
    ``|F(rho(t))|`` bounds the error of ``rho(t)`` to first order.

    Returns
    -------
    dict
        ``rho`` (mpf at ``digits + 10``), ``digits`` (the smaller of the
        solver's estimate and the quadrature check), ``solver_digits``,
        ``quadrature_digits`` (``None`` where the check does not apply: a
        stationary start) and ``message``.

    Examples
    --------
    >>> out = reduced_solution("relu", "sa", 5, ["1"], "1", "0.5", "1", digits=20)
    >>> out["digits"] >= 20
    True
    """
    F = reduced_rate(kernel, norm, n, m, beta)
    work = digits + _GUARD
    with mpmath.workdps(work):
        r0 = _mpf(_exact(rho0, "rho0"))
        t_end = _mpf(_exact(t, "t"))
        if t_end == 0 or F(r0) == 0:
            return dict(
                rho=r0,
                digits=work,
                solver_digits=work,
                quadrature_digits=None,
                message="stationary start: rho stays at rho0",
            )
    _check_work(F, n, t_end, kernel, norm)

    def rhs(_, y):
        # stages of a diverging implicit step may leave [-1, 1] far behind; a
        # NaN makes the integrator retry with smaller steps
        return [F(y[0]) if abs(y[0]) <= 2 else mpmath.nan]

    sol = solve_ivp_mp(rhs, (0, _exact(t, "t")), [_exact(rho0, "rho0")], digits=digits)
    with mpmath.workdps(work):
        r_t = sol.y[-1][0]
        quad_digits = _quadrature_digits(
            F,
            r0,
            r_t,
            t_end,
            work,
            _singular_points(kernel, n),
            _pieces(beta, m, r_t - r0),
        )
    found = [sol.digits_achieved] + ([quad_digits] if quad_digits is not None else [])
    return dict(
        rho=r_t,
        digits=min(found),
        solver_digits=sol.digits_achieved,
        quadrature_digits=quad_digits,
        message=sol.message,
    )


#: Largest stiffness x time for which the high-precision integrations run.
MAX_STIFFNESS_TIME = 400.0


def _check_work(F, n: int, t_end, kernel: str, norm: str) -> None:
    """Refuse integrations whose cost grows with ``max |F'| t`` beyond reason.

    The slope of the reduced rate is sampled on the whole range
    ``[-1/(n-1), 1]``; both integrators need a number of steps proportional to
    it times ``t``.
    """
    with mpmath.workdps(15):
        grid = mpmath.linspace(mpmath.mpf(-1) / (n - 1), 1, 65)
        values = [F(r) for r in grid]
        L = max(abs(b - a) / (grid[1] - grid[0]) for a, b in zip(values, values[1:]))
        work = float(L * t_end)
    if work > MAX_STIFFNESS_TIME:
        raise UnsupportedError(
            f"the {kernel}/{norm} reduced equation is too stiff for a "
            f"high-precision integration over this time (max |F'| t = {work:.3g} > "
            f"{MAX_STIFFNESS_TIME:g}); use a smaller t or beta"
        )


def _quadrature_digits(F, r0, r_t, t_end, work: int, singular, pieces) -> int | None:
    """Digits of ``rho(t)`` confirmed by ``int d rho / F = t``."""
    if r_t == r0:
        return None
    with mpmath.workdps(work + 10):
        points = _breakpoints(r0, r_t, singular, pieces)
        value, error = mpmath.quad(lambda r: 1 / F(r), points, error=True)
        slope = abs(F(r_t))
        bound = (abs(value - t_end) + abs(error)) * slope / max(1, abs(r_t))
    if bound == 0:
        return work
    return max(0, min(work, int(mpmath.floor(-mpmath.log10(bound)))))


def _breakpoints(a, b, singular: Sequence = (), pieces: int = 1) -> list:
    """Points splitting ``[a, b]`` for the quadrature of ``1 / F``.

    ``pieces`` equal parts, refined geometrically (ratio 8) towards each end
    down to the distance of that end from the nearest point of ``singular``
    (the zeros of ``F``), so that every part sees an integrand of bounded
    variation relative to its length.
    """
    w = b - a
    points = {a + w * k / pieces for k in range(pieces + 1)}
    for end, sign in ((a, 1), (b, -1)):
        near = min([abs(end - z) for z in singular] + [abs(w)])
        levels = 2 + (
            int(mpmath.ceil(mpmath.log(abs(w) / near, 8))) if 0 < near < abs(w) else 0
        )
        for k in range(1, min(levels, 400)):
            points.add(end + sign * w * mpmath.mpf(8) ** -k)
    return sorted(points) if w > 0 else sorted(points, reverse=True)


def _singular_points(kernel: str, n: int) -> list:
    """Zeros of the reduced rate: ``rho = 1``, the simplex, and 0 for relu."""
    zeros = [mpmath.mpf(1), mpmath.mpf(-1) / (n - 1)]
    return zeros + [mpmath.mpf(0)] if kernel == "relu" else zeros


def _pieces(beta, m, width) -> int:
    """Equal parts so that ``e^{beta m rho}`` varies by a bounded factor on each."""
    scale = float(_exact(beta, "beta")) * sum(abs(float(_exact(v, "m"))) for v in m)
    return max(1, min(200, math.ceil(scale * abs(float(width)) / 4)))


def clustering_time(
    kernel: str, norm: str, n: int, m, beta, rho0, rho1, *, digits: int = 30, F=None
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``T = int_{rho0}^{rho1} d rho / F(rho)`` by mpmath quadrature.

    ``F`` may be given (any mpmath callable, e.g. one head's rate); by default
    it is :func:`reduced_rate`.  Near-zero starts are handled by breakpoints
    that crowd geometrically towards both ends.

    Returns
    -------
    (T, error) : mpf, mpf
        The quadrature and its error estimate, at ``digits + 10``.

    Examples
    --------
    >>> T, err = clustering_time("relu", "sa", 4, [1], 1, "0.25", "0.75")
    >>> mpmath.nstr(T, 12), err < 1e-30
    ('1.09861228867', True)
    """
    F = F or reduced_rate(kernel, norm, n, m, beta)
    with mpmath.workdps(digits + _GUARD):
        a, b = _mpf(_exact(rho0, "rho0")), _mpf(_exact(rho1, "rho1"))
        points = _breakpoints(
            a, b, _singular_points(kernel, n), _pieces(beta, _list(m), b - a)
        )
        value, error = mpmath.quad(lambda r: 1 / F(r), points, error=True)
        return +value, +error


# ---------------------------------------------------------------------------
# equiangular starts
# ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _root_functions(backend: str):
    R = eq.gram_root()
    args = (eq.rho, n_sym)
    return (
        codegen.generate(R.alpha, args, backend),
        codegen.generate(R.gamma, args, backend),
    )


def equiangular_tokens(n: int, rho: float, d: int | None = None) -> np.ndarray:
    """``n`` unit rows with pairwise inner products ``rho``, shape (n, d).

    Rows of the square root ``alpha I + gamma 1 1^T`` of the Gram matrix
    (:func:`symbolic.equiangular.gram_root`), padded with zeros to ``d >= n``;
    the coefficients are evaluated in mpmath and rounded once.

    Examples
    --------
    >>> X = equiangular_tokens(3, 0.25)
    >>> np.allclose(X @ X.T, 0.75 * np.eye(3) + 0.25)
    True
    """
    n = _tokens(n)
    d = n if d is None else int(d)
    # the root's coefficients in mpmath: sqrt(1 + (n-1) rho) - sqrt(1 - rho)
    # loses digits in float64 when rho is small
    with mpmath.workdps(40):
        R = equiangular_tokens_mp(n, rho)
        alpha, gamma = float(R[0][0] - R[0][1]), float(R[0][1])
    X = np.zeros((n, d))
    X[:, :n] = gamma + alpha * np.eye(n)
    return X


def equiangular_tokens_mp(n: int, rho, d: int | None = None) -> list[list]:
    """:func:`equiangular_tokens` in mpmath at the caller's working precision.

    Examples
    --------
    >>> with mpmath.workdps(40):
    ...     X = equiangular_tokens_mp(3, "-0.25")
    ...     mpmath.nstr(mpmath.fdot(X[0], X[1]), 35)
    '-0.25'
    """
    n = _tokens(n)
    d = n if d is None else int(d)
    if d < n:
        raise InvalidArgumentError("d", d, f"must be >= n = {n}")
    alpha, gamma = _root_functions("mpmath")
    r = _mpf(_inner(rho, n, "rho"))
    a, g = alpha(r, n), gamma(r, n)
    return [
        [(a + g if i == j else g) if j < n else mpmath.mpf(0) for j in range(d)]
        for i in range(n)
    ]


def scalar_heads(m, d: int) -> np.ndarray:
    """Score matrices ``m_h I_d``, shape (H, d, d).

    Examples
    --------
    >>> scalar_heads([1, -2], 2)[1]
    array([[-2., -0.],
           [-0., -2.]])
    """
    ms = np.array([float(_exact(v, "m")) for v in m])
    return ms[:, None, None] * np.eye(d)[None]


# ---------------------------------------------------------------------------
# the particle system at high precision
# ---------------------------------------------------------------------------


def _velocity_arb(X: arb_mat, ms, b, n: int, kernel: str, norm: str) -> arb_mat:
    """Sphere velocity of scalar heads ``M_h = m_h I``; midpoints of the balls.

    Scores ``m_h <x_i, x_j>``, weights ``phi(score)`` divided by ``n`` or by the
    row sum, ``v_i = sum_h m_h sum_j w^h_ij x_j``, then ``v_i - <v_i, x_i> x_i``.
    """
    G = X * X.transpose()
    C = [[arb(0)] * n for _ in range(n)]
    for mh in ms:
        for i in range(n):
            if kernel == "exp":
                w = [(b * mh * G[i, j]).exp() for j in range(n)]
            else:
                w = [(mh * G[i, j]).max(arb(0)) for j in range(n)]
            Z = sum(w, arb(0)) if norm == "sa" else arb(n)
            scale = mh / Z if Z != 0 else arb(0)
            C[i] = [c + scale * wj for c, wj in zip(C[i], w)]
    V = arb_mat(C) * X
    R = V * X.transpose()
    D = arb_mat([[R[i, i] if i == k else 0 for k in range(n)] for i in range(n)])
    return (V - D * X).mid()


def _max_abs(A: arb_mat) -> float:
    return max(
        abs(float(A[i, k].mid())) for i in range(A.nrows()) for k in range(A.ncols())
    )


def _extrapolation_step(f, y: arb_mat, H, K: int):
    """One Gragg-Bulirsch-Stoer step: midpoint rule with 2, 4, ..., 2K substeps
    and Aitken-Neville extrapolation in ``h^2``.  Returns (y_new, error)."""
    f0 = f(y)
    seq = [2 * (j + 1) for j in range(K)]
    table: list[list] = []
    for j, nj in enumerate(seq):
        h = H / nj
        z_prev, z = y, y + f0 * h
        for _ in range(1, nj):
            z_prev, z = z, z_prev + f(z) * (2 * h)
        row = [z]
        for k in range(1, j + 1):
            ratio = arb(nj) / seq[j - k]
            row.append(
                row[k - 1]
                + (row[k - 1] - table[j - 1][k - 1]) * (1 / (ratio * ratio - 1))
            )
        table.append(row)
    return table[-1][-1].mid(), _max_abs(table[-1][-1] - table[-1][-2])


def particle_solution(
    kernel: str,
    norm: str,
    n: int,
    m,
    beta,
    rho0,
    t,
    *,
    digits: int = 30,
    max_steps: int = 10_000,
) -> dict:
    """Integrate the particle system started exactly equiangular, ``d = n``.

    The start is :func:`equiangular_tokens_mp`; the velocity is evaluated from
    the model's definition in python-flint arithmetic at ``digits + 20``
    digits, and the flow is advanced by Gragg-Bulirsch-Stoer extrapolation
    (order ``2K``) with a step-size control on the last two extrapolants.

    Returns
    -------
    dict
        ``rho`` (mpf: ``<x_1, x_2>`` at time ``t``), ``spread`` (largest
        ``|<x_i, x_j> - <x_1, x_2>|``, a measure of how equiangular the state
        stayed), ``drift`` (largest ``| |x_i|^2 - 1 |``), ``error`` (sum of the
        accepted steps' error estimates), ``steps``, ``evaluations``.

    Examples
    --------
    >>> out = particle_solution("relu", "sa", 3, [1], 1, "0.5", "0.5", digits=20)
    >>> out["error"] < 1e-20 and out["spread"] < 1e-25
    True
    >>> out = particle_solution("exp", "usa", 3, [1], 1, "-0.25", "0", digits=20)
    >>> mpmath.nstr(out["rho"], 10)
    '-0.25'
    """
    kernel, norm = _variant(kernel, norm)
    n = _tokens(n)
    work = digits + 20
    K = max(8, min(24, math.ceil(0.4 * digits) + 2))
    tol = 10.0 ** -(digits + 3)
    counter = [0]
    with mpmath.workdps(work), _flint_bits(_bits(work)):
        ms = [_ball(_exact(v, "m"), False) for v in m]
        b = _ball(_exact(beta, "beta"), False)
        X0 = equiangular_tokens_mp(n, rho0)
        y = arb_mat([[_arb_of(x) for x in row] for row in X0])
        T = _ball(_exact(t, "t"), False)

        def f(X):
            counter[0] += 1
            return _velocity_arb(X, ms, b, n, kernel, norm)

        T = T.mid()
        now, H, steps, error = arb(0), min(0.25, float(T)), 0, 0.0
        done = T * arb(10) ** -(digits + 5)
        while (T - now).mid() > done:
            if counter[0] > max_steps * (1 + K * K):
                raise RuntimeError(
                    f"the particle integration took more than {max_steps} steps"
                )
            remaining = (T - now).mid()
            h = arb(H) if H < float(remaining) else remaining
            y_new, err = _extrapolation_step(f, y, h, K)
            scale = max(1.0, _max_abs(y_new))
            if err <= tol * scale:
                y, now, steps, error = y_new, (now + h).mid(), steps + 1, error + err
            grow = 4.0 if err == 0 else 0.9 * (tol * scale / err) ** (1 / (2 * K - 1))
            H = float(h) * min(4.0, max(0.2, grow))
        G = y * y.transpose()
        pair = G[0, 1].mid()
        spread = max(
            abs(float((G[i, k] - pair).mid()))
            for i in range(n)
            for k in range(n)
            if i != k
        )
        drift = max(abs(float((G[i, i] - 1).mid())) for i in range(n))
        man, exp = pair.man_exp()
        rho_t = mpmath.mpf((int(man), int(exp)))
    return dict(
        rho=rho_t,
        spread=spread,
        drift=drift,
        error=error,
        steps=steps,
        evaluations=counter[0],
    )


# ---------------------------------------------------------------------------
# the particle system in float64
# ---------------------------------------------------------------------------


def _pair_rate(X, M, beta, kernel, norm) -> float:
    V = numeric.velocity(X, M, beta, kernel=kernel, norm=norm, geometry="sphere")
    return float(V[0] @ X[1] + X[0] @ V[1])


def particle_clustering_time(
    kernel: str,
    norm: str,
    n: int,
    m,
    beta,
    rho0,
    rho1,
    *,
    t_max: float,
    d: int | None = None,
    samples: int = 64,
    rtol: float = 1e-11,
    atol: float = 1e-14,
) -> dict:
    """First time ``<x_1, x_2>`` reaches ``rho1``, from a particle simulation.

    The tokens start at :func:`equiangular_tokens`; :func:`numeric.integrate`
    (DOP853) runs on a grid of ``samples`` times up to ``t_max``; the crossing
    is then located by Newton steps ``t += (rho1 - rho) / rho'``, with ``rho'``
    taken from the particle velocity and each step a short integration from
    the last state.  No reduced formula enters.

    Returns
    -------
    dict
        ``T`` (``inf`` if ``rho1`` is not reached by ``t_max``), ``t`` and
        ``rho`` (the coarse trajectory of ``<x_1, x_2>``), ``spread`` and
        ``drift`` over the grid, ``status``.

    Examples
    --------
    >>> out = particle_clustering_time("relu", "sa", 3, [1], 1, 0.25, 0.75, t_max=2)
    >>> round(out["T"], 8)
    1.09861229
    """
    M = scalar_heads(m, d or n)
    X0 = equiangular_tokens(n, float(rho0), d)
    grid = np.linspace(0.0, float(t_max), samples)
    traj = numeric.integrate(
        X0, M, beta, t_max, kernel=kernel, norm=norm, rtol=rtol, atol=atol, t_eval=grid
    )
    G = np.einsum("tid,tjd->tij", traj.X, traj.X)
    r = G[:, 0, 1]
    off = ~np.eye(n, dtype=bool)
    spread = float(np.max(np.abs(G[:, off] - r[:, None])))
    out = dict(
        t=traj.t,
        rho=r,
        spread=spread,
        drift=traj.sphere_drift,
        status=traj.status,
        T=math.inf,
    )
    rising = r[0] < rho1
    hit = np.nonzero(r >= rho1 if rising else r <= rho1)[0]
    if traj.status != 0 or hit.size == 0:
        return out
    k = max(int(hit[0]) - 1, 0)
    t_now, X = float(traj.t[k]), traj.X[k]
    for _ in range(8):
        rho_now = float(X[0] @ X[1])
        step = (rho1 - rho_now) / _pair_rate(X, M, beta, kernel, norm)
        if abs(step) <= 1e-15 * max(1.0, t_now):
            break
        if step > 0:
            X = numeric.integrate(
                X / np.linalg.norm(X, axis=1, keepdims=True),
                M,
                beta,
                step,
                kernel=kernel,
                norm=norm,
                rtol=rtol,
                atol=atol,
            ).X[-1]
            t_now += step
        else:
            # step back: restart from the grid point before the crossing
            t_now += step
            X = numeric.integrate(
                X0, M, beta, t_now, kernel=kernel, norm=norm, rtol=rtol, atol=atol
            ).X[-1]
    out["T"] = t_now
    return out


# ---------------------------------------------------------------------------
# the two commands
# ---------------------------------------------------------------------------


def _self_weight_minus_half(n: int, m: arb, r: arb, b: arb) -> arb:
    """Softmax weight on the token itself, less 1/2, from the scores.

    The row holds the score ``m`` once and ``m rho`` ``n - 1`` times.
    """
    own = (b * m).exp()
    return own / (own + (n - 1) * (b * m * r).exp()) - arb(1) / 2


def critical_beta(n, m, rho, *, digits: int = 30, certify: bool = False) -> dict:
    """Critical inverse temperature of one softmax exp head, equiangular tokens.

    ``beta_c`` solves ``a(beta) = 1/2`` for the self weight
    ``a = e^{beta m} / (e^{beta m} + (n - 1) e^{beta m rho})``; the closed form
    comes from :func:`symbolic.equiangular.critical_beta`.

    Parameters
    ----------
    n : int
        Number of tokens, >= 2.
    m : float or str
        Head scalar, > 0.
    rho : float or str
        Common inner product in ``[-1/(n-1), 1)``.
    digits : int
        Significant digits of the value, 15..1000.
    certify : bool
        Add ``enclosure`` (decimal strings ``[lo, hi]``): a python-flint ball of
        the closed form, rounded outward; ``certified`` is True when in
        addition the self weight, evaluated from the softmax definition in ball
        arithmetic, is certainly below 1/2 at ``lo`` and above it at ``hi``
        (``a`` increases with ``beta``, so the crossing is unique and inside).

    Returns
    -------
    dict
        ``beta_c``, ``digits``, ``n``, ``m``, ``rho``; with ``certify`` also
        ``enclosure``, ``width`` and ``certified``.

    Raises
    ------
    InvalidArgumentError
        For a bad ``n``, ``m``, ``rho`` or ``digits``.

    Examples
    --------
    >>> out = critical_beta(16, 1, 0, digits=20, certify=True)
    >>> out["beta_c"], out["certified"]
    ('2.7080502011022100660', True)
    """
    n = _tokens(n)
    digits = _digits(digits)
    mq = _positive(m, "m")
    rq = _inner(rho, n, "rho", below_one=True)
    expr = eq.critical_beta()
    symbols = {n_sym: n, eq.m: mq, eq.rho: rq}

    # the closed form in ball arithmetic, with precision raised until the ball
    # is narrow enough (1 - rho may cancel many digits)
    bits = _bits(digits + 20)
    while True:
        with _flint_bits(bits):
            ball = flint_evaluate(expr, symbols)
            if ball == 0 or ball.rel_accuracy_bits() >= _bits(digits + 8):
                break
        if bits > 64 * _bits(_MAX_DIGITS):
            raise RuntimeError(f"no accurate enclosure of beta_c at {bits} bits")
        bits *= 2
    with mpmath.workdps(digits + _GUARD), _flint_bits(bits):
        man, exp = ball.mid().man_exp()
        value = mpmath.mpf((int(man), int(exp)))
        out = dict(
            beta_c=_decimal(value, digits), digits=digits, n=n, m=str(m), rho=str(rho)
        )
    if not certify:
        return out

    # enclosure rounded outward; criticality from the softmax definition
    magnitude = max(0, int(mpmath.log10(abs(value))) + 1) if value != 0 else 0
    places = digits + magnitude + 2
    with _flint_bits(bits):
        lo, hi = to_decimal_interval(ball, places)
        width = Fraction(hi) - Fraction(lo)
        mb, rb = _ball(mq, False), _ball(rq, False)
        if width == 0:
            at = _self_weight_minus_half(n, mb, rb, _ball(Fraction(lo), False))
            certified = bool(at == 0)
        else:
            below = _self_weight_minus_half(n, mb, rb, _ball(Fraction(lo), False))
            above = _self_weight_minus_half(n, mb, rb, _ball(Fraction(hi), False))
            certified = bool(below < 0 and above > 0)
    out.update(
        enclosure=[lo, hi],
        width=_decimal(mpmath.mpf(width.numerator) / width.denominator, 3)
        if width
        else "0",
        certified=certified,
    )
    return out


def equiangular(
    kernel, norm, n, m, beta, rho0, t, *, digits: int = 30, particles: bool = False
) -> dict:
    """``rho(t)`` for scalar heads at an equiangular start, to ``digits`` digits.

    Parameters
    ----------
    kernel : {"exp", "relu"}
    norm : {"usa", "sa"}
    n : int
        Number of tokens, >= 2 (<= :data:`MAX_PARTICLE_TOKENS` with
        ``particles``).
    m : list of float or str
        Head scalars ``m_h`` (``M_h = m_h I``); positive for relu.
    beta : float or str
        Inverse temperature, > 0.
    rho0 : float or str
        Initial common inner product in ``[-1/(n-1), 1]``.
    t : float or str
        Time, >= 0.
    digits : int
        Target significant digits, 15..1000.
    particles : bool
        Also integrate the particle system (``d = n``) started exactly
        equiangular (:func:`particle_solution`) and report the agreement.

    Returns
    -------
    dict
        ``rho`` (decimal string), ``digits`` (digits the reduced solution is
        estimated to carry, see :func:`reduced_solution`), and the inputs
        ``kernel``, ``norm``, ``n``, ``m``, ``beta``, ``rho0``, ``t``; with
        ``particles`` also ``rho_particles``, ``agreement_digits``,
        ``particle_spread`` and ``particle_error``.

    Raises
    ------
    InvalidArgumentError
        For an unknown kernel or norm, or a value outside its range.
    UnsupportedError
        When ``max |F'| t`` exceeds :data:`MAX_STIFFNESS_TIME` (large ``beta``
        with ``usa`` weights, or long times), which would take hours.

    Examples
    --------
    >>> out = equiangular("relu", "sa", 4, [1], 1, "0.5", "1", digits=20)
    >>> out["rho"], out["digits"] >= 20
    ('0.88079707797788244406', True)
    """
    kernel, norm = _variant(kernel, norm)
    n = _tokens(n)
    digits = _digits(digits)
    ms = _scalars(m, kernel)
    _positive(beta, "beta")
    _inner(rho0, n, "rho0")
    _time(t)
    if particles and n > MAX_PARTICLE_TOKENS:
        raise InvalidArgumentError(
            "n",
            n,
            f"the particle check supports n <= {MAX_PARTICLE_TOKENS}",
            "drop particles=True for larger n",
        )
    m_text = [str(v) for v in _list(m)]
    ms_str = [str(v) for v in ms]
    beta_s, rho0_s, t_s = (
        str(_exact(v, name)) for v, name in ((beta, "beta"), (rho0, "rho0"), (t, "t"))
    )

    reduced = reduced_solution(
        kernel, norm, n, ms_str, beta_s, rho0_s, t_s, digits=digits
    )
    with mpmath.workdps(digits + _GUARD):
        out = dict(
            rho=_decimal(reduced["rho"], digits),
            digits=min(reduced["digits"], digits + _GUARD),
            kernel=kernel,
            norm=norm,
            n=n,
            m=m_text,
            beta=str(beta),
            rho0=str(rho0),
            t=str(t),
        )
    if not particles:
        return out

    part = particle_solution(
        kernel, norm, n, ms_str, beta_s, rho0_s, t_s, digits=digits
    )
    with mpmath.workdps(digits + _GUARD):
        gap = abs(part["rho"] - reduced["rho"]) / max(1, abs(reduced["rho"]))
        agree = digits + _GUARD if gap == 0 else int(mpmath.floor(-mpmath.log10(gap)))
        out.update(
            rho_particles=_decimal(part["rho"], digits),
            agreement_digits=min(agree, digits + _GUARD),
            particle_spread=float(part["spread"]),
            particle_error=float(part["error"]),
        )
    return out
