"""Ball-arithmetic certifier for multi-head self-attention dynamics.

This module is an independent implementation of the attention flow in
python-flint ball arithmetic (``flint.arb`` and ``flint.arb_series``). It is written
directly from the model definitions and shares no code with the rest of the
package, so that its results can serve as rigorous, machine-checked enclosures
(for instance to certify the sign of a rate at a counterexample configuration).

Model
-----
Tokens ``X`` form an ``n x d`` real matrix with rows ``x_i``. Head ``h`` has a
``d x d`` score matrix ``M_h`` and an inverse temperature ``beta_h > 0``. With
scores ``s^h_ij = <x_i, M_h x_j>`` and kernel ``phi(s) = exp(beta s)`` ("exp") or
``phi(s) = max(s, 0)`` ("relu"), the weights are ``phi(s^h_ij) / n`` ("usa") or
``phi(s^h_ij) / sum_k phi(s^h_ik)`` ("sa"). The head output is
``f_i^h = sum_j w^h_ij M_h x_j``, the velocity ``v_i = sum_h f_i^h``, and the flow is
``x_i' = v_i`` ("flat") or ``x_i' = (I - x_i x_i^T) v_i`` ("sphere"). The head energy
is ``E_h = (1 / (2 n^2)) sum_ij Phi(s^h_ij)`` with ``Phi' = phi``, and the mean
attention entropy ``S_mean`` averages ``-sum_j p_ij log p_ij`` over heads and rows,
where ``p`` is always the exp softmax of ``beta_h s^h``.

Time derivatives are computed by evaluating the quantities on the first-order
jet ``X(t) = X + t V`` (``V`` the velocity) with truncated power series and
reading off the coefficient of ``t``; no derivative formula is written by hand.
On the sphere the jet leaves the sphere only at second order, so the first
derivatives are exact there as well.

Every ball returned contains the exact value for every point of the input
balls (integers and floats are converted exactly, decimal strings to tight
balls). python-flint's working precision is process-global; each public
function sets it for the duration of the call and restores it afterwards.
"""

from __future__ import annotations

import contextlib
import fractions
import math
import numbers
from collections.abc import Iterator
from typing import Any

import flint
from flint import arb, arb_series

__all__ = [
    "certify_sign",
    "head_energies",
    "mean_entropy",
    "rates",
    "to_decimal_interval",
    "velocity",
]

KERNELS = ("exp", "relu")
NORMS = ("usa", "sa")
GEOMETRIES = ("flat", "sphere")

# Series length of a first-order jet: coefficients of t^0 and t^1.
_JET_LENGTH = 2
_MIN_PREC = 16


# ----------------------------------------------------------------------------------
# Precision handling
# ----------------------------------------------------------------------------------


def _check_prec(prec: Any) -> int:
    if isinstance(prec, bool) or not isinstance(prec, numbers.Integral):
        raise ValueError(
            f"prec must be an integer number of bits >= {_MIN_PREC}; got {prec!r}"
        )
    if prec < _MIN_PREC:
        raise ValueError(f"prec must be >= {_MIN_PREC} bits; got {prec!r}")
    return int(prec)


@contextlib.contextmanager
def _working_precision(prec: int) -> Iterator[None]:
    """Set flint's global precision (and series cap) and restore them on exit.

    The series cap matters because python-flint truncates the result of every
    ``arb_series`` operation to ``min(operand length, flint.ctx.cap)``.
    """
    old_prec = flint.ctx.prec
    old_cap = flint.ctx.cap
    try:
        flint.ctx.prec = prec
        flint.ctx.cap = _JET_LENGTH
        yield
    finally:
        flint.ctx.prec = old_prec
        flint.ctx.cap = old_cap


# ----------------------------------------------------------------------------------
# Input conversion and validation
# ----------------------------------------------------------------------------------


def _is_sequence(obj: Any) -> bool:
    if isinstance(obj, (str, bytes, arb)):
        return False
    try:
        iter(obj)
        len(obj)
    except TypeError:
        return False
    return True


def _exact_ratio(value: Any, name: str) -> tuple[int, int] | None:
    """Numerator and denominator of a finite real number object, if it has them."""
    if isinstance(value, numbers.Rational):
        return int(value.numerator), int(value.denominator)
    if hasattr(value, "_mpf_"):  # mpmath.mpf: (sign, mantissa, exponent, bits)
        sign, mantissa, exponent, _ = value._mpf_
        if mantissa == 0:
            if value != 0:
                raise ValueError(f"{name} must be finite; got {value!r}")
            return 0, 1
        mantissa = -int(mantissa) if sign else int(mantissa)
        if exponent >= 0:
            return mantissa * 2**exponent, 1
        return mantissa, 2**-exponent
    if hasattr(value, "as_integer_ratio"):  # numpy floats, Decimal
        try:
            numerator, denominator = value.as_integer_ratio()
        except (OverflowError, ValueError):
            raise ValueError(f"{name} must be finite; got {value!r}") from None
        return int(numerator), int(denominator)
    return None


def _to_arb(value: Any, name: str) -> arb:
    """Convert one scalar: exactly if it is a binary number, else to a tight ball.

    Integers and floats (their binary value) are exact. Other rationals (Fraction,
    Decimal, numpy and mpmath floats) are converted through their exact ratio,
    which is exact for binary numbers fitting the precision and a tight ball
    otherwise. Strings are read by ``flint.arb`` at the working precision.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"{name} must be a real number, not a bool; got {value!r}")
    if isinstance(value, arb):
        ball = value
    elif isinstance(value, numbers.Integral):
        ball = arb(int(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite; got {value!r}")
        ball = arb(value)
    elif isinstance(value, str):
        try:
            ball = arb(value.strip())
        except ValueError:
            raise ValueError(
                f"{name} must be a decimal string readable by flint.arb; got {value!r}"
            ) from None
    else:
        ratio = _exact_ratio(value, name)
        if ratio is None:
            raise TypeError(
                f"{name} must be an int, float, Fraction, Decimal, decimal string, "
                f"numpy or mpmath real, or flint.arb; got {type(value).__name__} "
                f"{value!r}"
            )
        ball = arb(ratio[0]) / arb(ratio[1])
    if not ball.is_finite():
        raise ValueError(f"{name} must be finite; got {value!r}")
    return ball


def _shape(obj: Any) -> tuple[int, ...]:
    """Best-effort nested shape for error messages."""
    dims: list[int] = []
    while _is_sequence(obj):
        dims.append(len(obj))
        if len(obj) == 0:
            break
        obj = obj[0]
    return tuple(dims)


def _to_matrix(
    obj: Any, name: str, rows: int | None, cols: int | None
) -> list[list[arb]]:
    if not _is_sequence(obj) or not all(_is_sequence(row) for row in obj):
        raise ValueError(
            f"{name} must be a nested sequence of rows (a 2-d matrix); "
            f"got shape {_shape(obj)}"
        )
    obj = list(obj)
    if rows is not None and len(obj) != rows:
        raise ValueError(f"{name} must have {rows} rows; got shape {_shape(obj)}")
    matrix: list[list[arb]] = []
    for i, row in enumerate(obj):
        row = list(row)
        if cols is not None and len(row) != cols:
            raise ValueError(
                f"{name} must have {cols} columns in every row; row {i} has "
                f"length {len(row)} (shape {_shape(obj)})"
            )
        matrix.append([_to_arb(v, f"{name}[{i}][{k}]") for k, v in enumerate(row)])
    return matrix


def _parse_tokens(X: Any) -> list[list[arb]]:
    if not _is_sequence(X) or len(X) == 0 or not _is_sequence(X[0]):
        raise ValueError(
            f"X must be an n x d matrix (nested sequence) with n >= 2 and d >= 1; "
            f"got shape {_shape(X)}"
        )
    n, d = len(X), len(X[0])
    if n < 2 or d < 1:
        raise ValueError(
            f"X must be an n x d matrix with n >= 2 and d >= 1; got shape {(n, d)}"
        )
    return _to_matrix(X, "X", n, d)


def _parse_heads(M: Any, d: int) -> list[list[list[arb]]]:
    shape = _shape(M)
    rule = (
        f"M must be a single d x d matrix or a sequence of H >= 1 d x d matrices, "
        f"with d = {d} (the number of columns of X)"
    )
    if len(shape) == 2:
        heads = [M]
    elif len(shape) == 3:
        heads = list(M)
    else:
        raise ValueError(f"{rule}; got shape {shape}")
    if len(heads) == 0:
        raise ValueError(f"{rule}; got shape {shape}")
    parsed = []
    for h, matrix in enumerate(heads):
        if _shape(matrix)[:2] != (d, d) or len(_shape(matrix)) != 2:
            raise ValueError(f"{rule}; head {h} has shape {_shape(matrix)}")
        label = "M" if len(shape) == 2 else f"M[{h}]"
        parsed.append(_to_matrix(matrix, label, d, d))
    return parsed


def _parse_betas(beta: Any, n_heads: int) -> list[arb]:
    if _is_sequence(beta):
        values = list(beta)
        if len(values) != n_heads:
            raise ValueError(
                f"beta must be a positive scalar or a sequence of one value per head "
                f"(H = {n_heads}); got a sequence of length {len(values)}"
            )
        names = [f"beta[{h}]" for h in range(n_heads)]
    else:
        values = [beta] * n_heads
        names = ["beta"] * n_heads
    betas = []
    for value, name in zip(values, names):
        ball = _to_arb(value, name)
        if not ball > 0:
            raise ValueError(f"{name} must be > 0 (certainly positive); got {value!r}")
        betas.append(ball)
    return betas


def _kernel(kernel: Any):
    """``"exp"``, ``"relu"``, or an object with SymPy ``phi`` and ``Phi``."""
    if hasattr(kernel, "phi") and hasattr(kernel, "Phi"):
        return _ExpressionKernel(kernel)
    return _check_choice(kernel, "kernel", KERNELS)


def _check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def _parse(X: Any, M: Any, beta: Any):
    tokens = _parse_tokens(X)
    heads = _parse_heads(M, len(tokens[0]))
    betas = _parse_betas(beta, len(heads))
    return tokens, heads, betas


# ----------------------------------------------------------------------------------
# Model primitives; scalars are ``arb`` or first-order jets (``arb_series``)
# ----------------------------------------------------------------------------------


def _total(terms):
    terms = iter(terms)
    acc = next(terms)
    for term in terms:
        acc = acc + term
    return acc


def _dot(x, y):
    return _total(a * b for a, b in zip(x, y))


def _matvec(matrix, x):
    return [_dot(row, x) for row in matrix]


def _value(s) -> arb:
    """The t^0 coefficient of a jet, or the ball itself."""
    return s[0] if isinstance(s, arb_series) else s


def _jet(value: arb, slope: arb) -> arb_series:
    return arb_series([value, slope], prec=_JET_LENGTH)


def _relu(s: arb) -> arb:
    """Enclosure of max(s, 0) for a ball."""
    if s > 0:
        return s
    if s < 0:
        return arb(0)
    return s.nonnegative_part()


def _relu_energy(s):
    """Phi(s) = max(s, 0)^2 / 2 on a ball or a first-order jet.

    Phi is continuously differentiable, so its two branches s^2 / 2 and 0 share the
    same 1-jet at the kink s = 0. When the ball of s straddles 0, the union of the
    two branch jets (coefficientwise) therefore encloses the true jet; no
    indeterminate case arises.
    """
    if not isinstance(s, arb_series):
        r = _relu(s)
        return r * r / 2
    s0 = s[0]
    if s0 > 0:
        return s * s / 2
    if s0 < 0:
        return _jet(arb(0), arb(0))
    branch = s * s / 2
    return _jet(branch[0].union(arb(0)), branch[1].union(arb(0)))


class _ExpressionKernel:
    """A kernel given by SymPy expressions ``phi`` and ``Phi`` in ``s`` and ``beta``.

    Only the expression trees are read (walked node by node below); nothing of
    the project's generated code is used.
    """

    def __init__(self, kernel):
        self.phi = kernel.phi
        self.Phi = kernel.Phi
        self.name = getattr(kernel, "name", str(kernel.phi))


def _series_tanh(x):
    e = (2 * x).exp()
    return (e - 1) / (e + 1)


_UNARY = {
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "atan": lambda x: x.atan(),
    "erf": lambda x: x.erf(),
    "tanh": _series_tanh,
    "sinh": lambda x: (x.exp() - (-x).exp()) / 2,
    "cosh": lambda x: (x.exp() + (-x).exp()) / 2,
}


def _evaluate(expr, s, beta):
    """Evaluate a SymPy tree in ``s`` and ``beta`` on balls or first-order jets."""
    name = type(expr).__name__
    if expr.is_Symbol:
        if expr.name == "s":
            return s
        if expr.name == "beta":
            return beta
        raise ValueError(f"kernel: unknown symbol {expr.name!r}; only s and beta")
    if expr.is_Rational:
        return arb(int(expr.p)) / int(expr.q)
    if expr.is_Float:
        return arb(str(expr))
    if name == "Pi":
        return arb.pi()
    if name == "Exp1":
        return arb(1).exp()
    args = [_evaluate(a, s, beta) for a in expr.args]
    if name == "Add":
        return _total(args)
    if name == "Mul":
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if name == "Pow":
        base, exponent = args
        e = expr.args[1]
        if e.is_Integer:
            k = int(e)
            out = arb(1) if not isinstance(base, arb_series) else base * 0 + 1
            for _ in range(abs(k)):
                out = out * base
            return out if k >= 0 else 1 / out
        if e == 1 / 2 or (e.is_Rational and e.q == 2 and e.p == 1):
            return base.sqrt()
        return (exponent * base.log()).exp()
    if name in _UNARY and len(args) == 1:
        return _UNARY[name](args[0])
    if name in ("Max", "Min", "Abs") and not any(
        isinstance(a, arb_series) for a in args
    ):
        if name == "Abs":
            return abs(args[0])
        out = args[0]
        for a in args[1:]:
            out = out.max(a) if name == "Max" else out.min(a)
        return out
    raise ValueError(
        f"kernel: {name} is not supported by the ball-arithmetic certifier"
    )


def _scores(x_i, MX):
    return [_dot(x_i, mx_j) for mx_j in MX]


def _row_shift(scores) -> arb:
    """An exact constant (the largest score midpoint) to subtract inside exp."""
    return max(_value(s).mid() for s in scores)


def _weights(scores, beta: arb, kernel, norm: str, n: int) -> list[arb]:
    """Attention weights w_ij for one row of scores (balls, not jets)."""
    if isinstance(kernel, _ExpressionKernel):
        phis = [_evaluate(kernel.phi, s, beta) for s in scores]
        if norm == "usa":
            return [p / n for p in phis]
        normaliser = _total(phis)
        if not normaliser > 0 and not normaliser < 0:
            raise ValueError("kernel: the softmax normaliser of a row encloses 0")
        return [p / normaliser for p in phis]
    if kernel == "exp":
        if norm == "usa":
            return [(beta * s).exp() / n for s in scores]
        shift = _row_shift(scores)
        phis = [(beta * (s - shift)).exp() for s in scores]
        normaliser = _total(phis)
        return [p / normaliser for p in phis]
    phis = [_relu(s) for s in scores]
    if norm == "usa":
        return [p / n for p in phis]
    normaliser = _total(phis)
    if normaliser.is_zero():
        return [arb(0) for _ in phis]
    if normaliser > 0:
        return [p / normaliser for p in phis]
    # The normaliser may be zero (all weights 0) or positive (weights in [0, 1]).
    unit = arb(0).union(arb(1))
    return [arb(0) if p.is_zero() else unit for p in phis]


def _velocity(tokens, heads, betas, kernel: str, norm: str, geometry: str):
    """x_i' = sum_h sum_j w^h_ij T_i(M_h x_j), with T_i = I (flat) or P_i (sphere).

    On the sphere the projection is applied to each term before weighting, using
    P_i M_h x_j = M_h x_j - s^h_ij x_i (linearity of P_i). A term that vanishes
    exactly, such as P_i M_h x_i at an eigenvector x_i of M_h, then carries no
    rounding error, whereas projecting the summed velocity would leave a
    cancellation error proportional to the size of the unprojected velocity.
    """
    n, d = len(tokens), len(tokens[0])
    V = [[arb(0) for _ in range(d)] for _ in range(n)]
    for matrix, beta in zip(heads, betas):
        MX = [_matvec(matrix, x_j) for x_j in tokens]
        for i, x_i in enumerate(tokens):
            scores = _scores(x_i, MX)
            w = _weights(scores, beta, kernel, norm, n)
            if geometry == "sphere":
                terms = [
                    [m - s_ij * x for m, x in zip(mx_j, x_i)]
                    for mx_j, s_ij in zip(MX, scores)
                ]
            else:
                terms = MX
            for a in range(d):
                V[i][a] = V[i][a] + _total(w_j * t_j[a] for w_j, t_j in zip(w, terms))
    return V


def _head_energy(tokens, matrix, beta: arb, kernel: str):
    n = len(tokens)
    MX = [_matvec(matrix, x_j) for x_j in tokens]
    if isinstance(kernel, _ExpressionKernel):
        terms = (
            _evaluate(kernel.Phi, s, beta) for x_i in tokens for s in _scores(x_i, MX)
        )
    elif kernel == "exp":
        terms = ((beta * s).exp() / beta for x_i in tokens for s in _scores(x_i, MX))
    else:
        terms = (_relu_energy(s) for x_i in tokens for s in _scores(x_i, MX))
    return _total(terms) / (2 * n * n)


def _head_entropy_total(tokens, matrix, beta: arb):
    """sum_i S_i for one head, with S_i the entropy of the exp softmax row i.

    Row i is shifted by its leading score s_ik (the one with the largest midpoint
    at t = 0), kept as a full jet: the softmax is invariant under subtracting any
    common function of t, and this makes the leading logit exactly zero. The
    normaliser is then 1 + r with r a sum of small terms, so the large cancelling
    contributions of the leading entry never enter the t coefficient, which keeps
    the rate tight even for a nearly one-hot softmax (large beta).
    """
    MX = [_matvec(matrix, x_j) for x_j in tokens]
    is_jet = isinstance(tokens[0][0], arb_series)
    zero = _jet(arb(0), arb(0)) if is_jet else arb(0)
    rows = []
    for x_i in tokens:
        scores = _scores(x_i, MX)
        mids = [_value(s).mid() for s in scores]
        lead = 0
        for j, m in enumerate(mids):
            if m > mids[lead]:
                lead = j
        logits = [
            zero if j == lead else beta * (s - scores[lead])
            for j, s in enumerate(scores)
        ]
        exps = [arb(1) if j == lead else a.exp() for j, a in enumerate(logits)]
        rest = _total(e for j, e in enumerate(exps) if j != lead)
        normaliser = 1 + rest
        log_normaliser = (1 + rest).log() if is_jet else rest.log1p()
        # p_ij = exps_j / normaliser and log p_ij = logits_j - log normaliser.
        rows.append(
            -_total(
                (e / normaliser) * (a - log_normaliser) for e, a in zip(exps, logits)
            )
        )
    return _total(rows)


def _mean_entropy(tokens, heads, betas):
    total = _total(
        _head_entropy_total(tokens, matrix, beta) for matrix, beta in zip(heads, betas)
    )
    return total / (len(heads) * len(tokens))


# ----------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------


def velocity(
    X: Any,
    M: Any,
    beta: Any,
    *,
    kernel: str,
    norm: str,
    geometry: str,
    prec: int = 256,
) -> list[list[arb]]:
    """Enclose the velocity field x_i' of the attention flow.

    Parameters
    ----------
    X : nested sequence, shape (n, d)
        Token matrix, ``n >= 2`` rows ``x_i`` of length ``d >= 1``. Entries are ints
        and floats (converted exactly), decimal strings (tight balls), Fractions,
        Decimals, numpy or mpmath reals (through their exact ratio) or
        ``flint.arb`` balls. All entries must be finite.
    M : nested sequence, shape (H, d, d) or (d, d)
        Score matrices, one per head; a single ``d x d`` matrix is one head.
    beta : scalar or sequence of length H
        Inverse temperature(s), certainly positive.
    kernel : {"exp", "relu"}
        ``phi(s) = exp(beta s)`` or ``phi(s) = max(s, 0)``.
    norm : {"usa", "sa"}
        Weights ``phi / n`` or ``phi`` normalised by its row sum. A relu row whose
        normaliser is exactly zero gets zero weights; if the normaliser ball only
        contains zero, each weight with nonzero ``phi`` is enclosed by ``[0, 1]``.
    geometry : {"flat", "sphere"}
        ``x_i' = v_i`` or ``x_i' = (I - x_i x_i^T) v_i``.
    prec : int, optional
        Working precision in bits (default 256).

    Returns
    -------
    list of list of flint.arb
        ``n x d`` enclosure of ``x_i'``.

    Raises
    ------
    ValueError
        On bad shapes, non-finite entries, unknown options or non-positive beta.

    Examples
    --------
    >>> V = velocity([[1, 0], [0, 1]], [[1, 0], [0, 1]], 1,
    ...              kernel="relu", norm="usa", geometry="flat")
    >>> [[str(v) for v in row] for row in V]
    [['0.500000000000000', '0'], ['0', '0.500000000000000']]
    """
    prec = _check_prec(prec)
    with _working_precision(prec):
        kernel = _kernel(kernel)
        _check_choice(norm, "norm", NORMS)
        _check_choice(geometry, "geometry", GEOMETRIES)
        tokens, heads, betas = _parse(X, M, beta)
        return _velocity(tokens, heads, betas, kernel, norm, geometry)


def head_energies(
    X: Any, M: Any, beta: Any, *, kernel: str, prec: int = 256
) -> list[arb]:
    """Enclose the head energies ``E_h = (1 / (2 n^2)) sum_ij Phi(s^h_ij)``.

    ``Phi(s) = exp(beta s) / beta`` for the exp kernel and ``max(s, 0)^2 / 2`` for
    relu, so that ``Phi' = phi``.

    Parameters
    ----------
    X, M, beta
        As in :func:`velocity`.
    kernel : {"exp", "relu"}
        Kernel whose primitive ``Phi`` defines the energy.
    prec : int, optional
        Working precision in bits (default 256).

    Returns
    -------
    list of flint.arb
        One enclosure per head.

    Examples
    --------
    >>> (E,) = head_energies([[1, 0], [0, 1]], [[1, 0], [0, 1]], 1, kernel="relu")
    >>> print(E)
    0.125000000000000
    """
    prec = _check_prec(prec)
    with _working_precision(prec):
        kernel = _kernel(kernel)
        tokens, heads, betas = _parse(X, M, beta)
        return [
            _head_energy(tokens, matrix, b, kernel) for matrix, b in zip(heads, betas)
        ]


def mean_entropy(X: Any, M: Any, beta: Any, *, prec: int = 256) -> arb:
    """Enclose the mean attention entropy ``S_mean``.

    ``S_mean = (1 / (H n)) sum_h sum_i S_i^h`` with ``S_i^h`` the Shannon entropy of
    the exp softmax row ``p^h_ij = exp(beta_h s^h_ij) / sum_k exp(beta_h s^h_ik)``
    (always the exp softmax, whatever kernel drives the flow).

    Parameters
    ----------
    X, M, beta
        As in :func:`velocity`.
    prec : int, optional
        Working precision in bits (default 256).

    Returns
    -------
    flint.arb
        Enclosure of ``S_mean``.

    Examples
    --------
    >>> S = mean_entropy([[1, 0], [1, 0]], [[1, 0], [0, 1]], 1)
    >>> S.overlaps(arb(2).log())
    True
    """
    prec = _check_prec(prec)
    with _working_precision(prec):
        tokens, heads, betas = _parse(X, M, beta)
        return _mean_entropy(tokens, heads, betas)


def rates(
    X: Any,
    M: Any,
    beta: Any,
    *,
    kernel: str,
    norm: str,
    geometry: str,
    prec: int = 256,
) -> dict[str, Any]:
    """Enclose the first time derivatives of E, E_h and S_mean along the flow.

    The quantities are evaluated on the jet ``X(t) = X + t V`` with ``V`` the
    velocity (:func:`velocity`), using power series truncated after the ``t``
    term; the ``t`` coefficient is the exact derivative at ``t = 0``. For the relu
    kernel the energy primitive ``max(s, 0)^2 / 2`` is continuously
    differentiable, so scores whose ball contains 0 still give a finite (possibly
    wider) enclosure rather than an indeterminate result.

    Parameters
    ----------
    X, M, beta, kernel, norm, geometry
        As in :func:`velocity`.
    prec : int, optional
        Working precision in bits (default 256).

    Returns
    -------
    dict
        ``"dE/dt"`` (arb), ``"dE_h/dt"`` (list of arb, one per head),
        ``"dS_mean/dt"`` (arb), together with the values at ``t = 0``: ``"E"``,
        ``"E_h"`` and ``"S_mean"``.

    Examples
    --------
    Two tokens on the unit circle attract each other, which raises the energy:

    >>> r = rates([[1, 0], [0.6, 0.8]], [[1, 0], [0, 1]], 2,
    ...           kernel="exp", norm="sa", geometry="sphere")
    >>> certify_sign(r["dE/dt"])
    1
    """
    prec = _check_prec(prec)
    with _working_precision(prec):
        kernel = _kernel(kernel)
        _check_choice(norm, "norm", NORMS)
        _check_choice(geometry, "geometry", GEOMETRIES)
        tokens, heads, betas = _parse(X, M, beta)
        V = _velocity(tokens, heads, betas, kernel, norm, geometry)
        jets = [
            [_jet(x, v) for x, v in zip(x_row, v_row)]
            for x_row, v_row in zip(tokens, V)
        ]
        energy_jets = [
            _head_energy(jets, matrix, b, kernel) for matrix, b in zip(heads, betas)
        ]
        entropy_jet = _mean_entropy(jets, heads, betas)
        energy_jet = _total(energy_jets)
        return {
            "dE/dt": energy_jet[1],
            "dE_h/dt": [e[1] for e in energy_jets],
            "dS_mean/dt": entropy_jet[1],
            "E": energy_jet[0],
            "E_h": [e[0] for e in energy_jets],
            # Evaluated without jets, where log1p keeps a near one-hot entropy tight.
            "S_mean": _mean_entropy(tokens, heads, betas),
        }


def certify_sign(ball: arb) -> int:
    """Return the certified sign of a ball.

    Parameters
    ----------
    ball : flint.arb
        The enclosure to inspect.

    Returns
    -------
    int
        ``+1`` if every point of the ball is > 0, ``-1`` if every point is < 0,
        ``0`` otherwise (the ball contains zero, or is NaN).

    Examples
    --------
    >>> certify_sign(arb("0.25 +/- 0.1")), certify_sign(arb(-3)), certify_sign(arb(0))
    (1, -1, 0)
    """
    if not isinstance(ball, arb):
        raise TypeError(f"ball must be a flint.arb; got {type(ball).__name__}")
    if ball > 0:
        return 1
    if ball < 0:
        return -1
    return 0


def _exact_fraction(x: arb) -> fractions.Fraction:
    """The exact rational value of an exact (radius-zero) finite arb."""
    mantissa, exponent = x.man_exp()
    mantissa, exponent = int(mantissa), int(exponent)
    if exponent >= 0:
        return fractions.Fraction(mantissa * 2**exponent)
    return fractions.Fraction(mantissa, 2**-exponent)


def _floor_log10(q: fractions.Fraction) -> int:
    """The integer k with 10**k <= q < 10**(k + 1), for q > 0."""
    bits = q.numerator.bit_length() - q.denominator.bit_length()
    k = math.floor(bits * math.log10(2))
    while fractions.Fraction(10) ** k > q:
        k -= 1
    while fractions.Fraction(10) ** (k + 1) <= q:
        k += 1
    return k


def _round_decimal(q: fractions.Fraction, digits: int, upward: bool) -> str:
    """Round q to ``digits`` significant decimal digits towards +inf or -inf."""
    if q == 0:
        return "0"
    negative = q < 0
    magnitude = -q if negative else q
    scale = digits - 1 - _floor_log10(magnitude)
    scaled = magnitude * fractions.Fraction(10) ** scale
    # Rounding the magnitude up moves away from zero.
    away_from_zero = upward != negative
    integer = math.ceil(scaled) if away_from_zero else math.floor(scaled)
    text = str(integer)
    exponent = len(text) - 1 - scale
    fraction_digits = text[1:].rstrip("0")
    mantissa = text[0] + ("." + fraction_digits if fraction_digits else "")
    return ("-" if negative else "") + f"{mantissa}e{exponent}"


def to_decimal_interval(ball: arb, digits: int = 30) -> tuple[str, str]:
    """Rigorous decimal lower and upper bounds of a ball.

    The endpoints ``mid - rad`` and ``mid + rad`` are formed exactly in rational
    arithmetic and rounded outward to ``digits`` significant digits, so that the
    decimal numbers written in ``lo`` and ``hi`` satisfy ``lo <= x <= hi`` for
    every point ``x`` of the ball. Read them exactly (``decimal.Decimal``,
    ``fractions.Fraction``) or as balls (``flint.arb``); ``float`` parsing rounds
    to nearest and loses the guarantee. A ball with an infinite endpoint gives
    ``("-inf", "inf")``.

    Parameters
    ----------
    ball : flint.arb
        The enclosure to convert; must not be NaN.
    digits : int, optional
        Significant decimal digits of each bound (default 30).

    Returns
    -------
    (str, str)
        Lower and upper bound, e.g. ``("3.14e0", "3.15e0")``.

    Examples
    --------
    >>> to_decimal_interval(arb(1) / 3, digits=5)
    ('3.3333e-1', '3.3334e-1')
    """
    if not isinstance(ball, arb):
        raise TypeError(f"ball must be a flint.arb; got {type(ball).__name__}")
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        raise ValueError(f"digits must be a positive integer; got {digits!r}")
    if digits < 1:
        raise ValueError(f"digits must be >= 1; got {digits!r}")
    if ball.is_nan():
        raise ValueError(f"ball must not be NaN; got {ball!r}")
    if not ball.is_finite():
        return ("-inf", "inf")
    centre = _exact_fraction(ball.mid())
    radius = _exact_fraction(ball.rad())
    return (
        _round_decimal(centre - radius, int(digits), upward=False),
        _round_decimal(centre + radius, int(digits), upward=True),
    )
