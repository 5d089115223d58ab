"""Vectorised attention kernels: scores, weights, head outputs, energies, rates.

Symbols follow Geshkovski, Letrouit, Polyanskiy and Rigollet (arXiv:2312.10794):
``X`` is the ``(n, d)`` token matrix with rows ``x_i``, ``M`` the ``(H, d, d)`` score
matrices, ``S[h, i, j] = <x_i, M_h x_j>`` the scores and ``beta`` the inverse
temperature (one per head).  Every scalar function of a score comes from
:func:`symbolic.model.pair_densities` through :func:`symbolic.codegen.generate`; this
module only contracts those functions over token indices with ``matmul``.

Exponential kernels are evaluated in the log domain: weights are kept as
``W = W_scaled * exp(c)`` with ``c`` the row maximum of the log-weights, so softmax
rows never overflow and unnormalised quantities overflow only when their true value
exceeds the float64 range, in which case :class:`~symbolic.errors.RangeError` is
raised (or the log scale is returned on request).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import sympy as sp
from numpy.typing import NDArray
from sympy.codegen.numpy_nodes import logaddexp

from symbolic import codegen
from symbolic.errors import InvalidArgumentError, RangeError, UnsupportedError
from symbolic.model import KERNELS, Kernel, beta, get_kernel, n, pair_densities, s

from . import _validate as check

__all__ = [
    "scores",
    "velocity",
    "head_outputs",
    "radial_shadows",
    "energy",
    "head_energies",
    "energy_rates",
    "attention",
    "attention_entropy",
    "entropy_rate",
    "mean_inner_product",
]

KernelArg = str | Kernel
Norm = Literal["usa", "sa"]
Geometry = Literal["flat", "sphere"]

#: log of the largest float64, less a margin for the sums that follow.
_LOG_MAX = float(np.log(np.finfo(np.float64).max)) - 8.0
_ARGS = (s, beta, n)


# ---------------------------------------------------------------------------
# generated scalar pieces
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pieces:
    """Generated numpy functions of ``(s, beta, n)`` for one model variant."""

    exponential: bool
    normalised: bool
    weight: codegen.GeneratedFunction
    log_weight: codegen.GeneratedFunction | None
    energy: codegen.GeneratedFunction
    log_energy: codegen.GeneratedFunction | None
    slope: codegen.GeneratedFunction
    log_slope: codegen.GeneratedFunction | None
    #: ``(a, b)`` with ``log_weight = a(beta, n) s + b(beta, n)``, else ``None``
    log_weight_affine: tuple[codegen.GeneratedFunction, ...] | None = None


def _exp_split(expr):
    """``(v, r)`` with ``expr = exp(v) + r`` and ``r > 0``, else ``None``."""
    if isinstance(expr, sp.Add):
        for term in expr.args:
            if isinstance(term, sp.exp) and (expr - term).is_positive:
                return term.args[0], expr - term
    return None


def _is_log_of_exp_sum(expr) -> bool:
    return isinstance(expr, sp.log) and _exp_split(expr.args[0]) is not None


def _log_of_exp_sum(expr):
    # log(exp(v) + r) = logaddexp(v, log r): no overflow for large v
    v, r = _exp_split(expr.args[0])
    return logaddexp(v, sp.log(r))


def _exp_ratio_factors(expr):
    """Factors ``exp(v)`` and ``(exp(v) + r)**-1`` of a product, else ``None``."""
    if not isinstance(expr, sp.Mul):
        return None
    for den in expr.args:
        if isinstance(den, sp.Pow) and den.exp == -1:
            split = _exp_split(den.base)
            if split is not None and sp.exp(split[0]) in expr.args:
                return sp.exp(split[0]), den, split[1]
    return None


def _exp_ratio(expr):
    # exp(v) / (exp(v) + r) = 1 / (1 + r exp(-v)): no inf/inf for large v
    num, den, r = _exp_ratio_factors(expr)
    return expr / (num * den) / (1 + r * sp.exp(-num.args[0]))


def _float64_form(expr):
    """``expr`` rewritten so that float64 evaluation neither overflows nor
    divides infinities where the value itself is moderate.

    The rewrites are identities (``log(e^v + r) = logaddexp(v, log r)``,
    ``e^v / (e^v + r) = 1 / (1 + r e^{-v})``); expressions without these
    patterns, such as those of the exponential and relu kernels, are unchanged.
    """
    expr = expr.replace(_is_log_of_exp_sum, _log_of_exp_sum)
    return expr.replace(lambda e: _exp_ratio_factors(e) is not None, _exp_ratio)


def _gen(expr):
    if expr is None:
        return None
    return codegen.generate(_float64_form(expr), _ARGS, "numpy")


@lru_cache(maxsize=64)
def _pieces(kernel: Kernel, norm: str) -> _Pieces:
    dens = pair_densities(kernel, norm)
    # each piece is evaluated in the log domain where its logarithm is a real
    # polynomial in s (pair_densities gives None otherwise), else directly
    exponential = dens.log_weight is not None
    return _Pieces(
        exponential=exponential,
        normalised=dens.normalised,
        weight=_gen(dens.weight),
        log_weight=_gen(dens.log_weight),
        energy=_gen(dens.energy),
        log_energy=_gen(dens.log_energy),
        slope=_gen(dens.energy_slope),
        log_slope=_gen(dens.log_energy_slope),
        log_weight_affine=_affine_in_s(dens.log_weight) if exponential else None,
    )


def _affine_in_s(expr):
    """Generated coefficients ``(a, b)`` of ``expr = a s + b``, else ``None``.

    An affine log-weight (``beta s`` for softmax attention) is applied to the
    score matrix in place, one multiplication, instead of through a new array.
    """
    poly = sp.Poly(expr, s) if expr.is_polynomial(s) else None
    if poly is None or poly.degree() > 1:
        return None
    a, b = (poly.coeff_monomial(s), poly.coeff_monomial(1))
    return _gen(a), _gen(b)


def _eval(fn, S, b, n_tok):
    """Evaluate a generated piece on scores ``S`` (H, n, n) with ``b`` (H,)."""
    return _eval_head(fn, S, b[:, None, None], n_tok)


def _eval_head(fn, S, b, n_tok):
    """Evaluate a generated piece on scores ``S`` of any shape, ``b`` broadcastable.

    Raises RangeError where the piece overflows float64 and InvalidArgumentError
    where it is undefined (NaN), naming the score and inverse temperature.
    """
    flags = set()
    try:
        with np.errstate(
            all="call", under="ignore", call=lambda kind, _: flags.add(kind)
        ):
            out = fn(S, b, n_tok)
    except NameError as exc:
        raise UnsupportedError(
            f"{fn.expr} needs the function {exc.name!r}, which has no float64 "
            "implementation in the generated code"
        ) from None
    out = np.asarray(out)
    if out.shape != S.shape:
        # a constant piece: a read-only broadcast, copied by callers that write
        out = np.broadcast_to(out, S.shape)
    out = out.astype(S.dtype, copy=False)
    if flags and not np.isfinite(out).all():
        _not_finite(fn, out, S, b, overflow="overflow" in flags)
    return out


def _not_finite(fn, out, S, b, *, overflow: bool):
    idx = tuple(np.argwhere(~np.isfinite(out))[0])
    where = (
        f"s = {complex(S[idx]).real:.6g}, "
        f"beta = {float(np.broadcast_to(b, S.shape)[idx].real):.6g}"
    )
    if overflow or np.isinf(out[idx]):
        raise RangeError(
            f"{fn.expr} overflows float64 at {where}; use a smaller beta or a "
            "kernel whose logarithm is a polynomial in s (evaluated in log form)"
        )
    raise InvalidArgumentError("kernel", str(fn.expr), f"is undefined (NaN) at {where}")


def _finite(values, what: str):
    """``values`` if finite; a sum or product of finite pieces may still overflow."""
    if not np.isfinite(values).all():
        raise RangeError(f"{what} overflows float64; use a smaller beta")
    return values


# ---------------------------------------------------------------------------
# validated inputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    X: NDArray
    M: NDArray
    beta: NDArray
    kernel: Kernel

    @property
    def n(self) -> int:
        return self.X.shape[0]


def _inputs(X, M, beta_, kernel, *, sphere, symmetric=False) -> _Inputs:
    X = check.tokens(X, sphere=sphere)
    M = check.score_matrices(M, X.shape[1], symmetric=symmetric)
    b = check.inverse_temperature(beta_, M.shape[0])
    return _Inputs(X, M, b, get_kernel(kernel))


# ---------------------------------------------------------------------------
# tensor templates
# ---------------------------------------------------------------------------


def _keys(X, M):
    """``MX[h, j] = M_h x_j`` and ``S[h, i, j] = <x_i, M_h x_j>``."""
    MX = np.matmul(X[None], M.transpose(0, 2, 1))
    S = np.matmul(X[None], MX.transpose(0, 2, 1))
    return MX, S


def _head_weights(p: _Pieces, inp: _Inputs, S, h: int):
    """Weights of head ``h``: ``w_ij = W[i, j] exp(c_i) / Z_i``.

    ``S`` is the ``(n, n)`` score matrix of the head; it is overwritten and may
    be returned as ``W``, so the memory of the velocity grows like ``n^2``, not
    ``H n^2``.  ``Z`` is the row normaliser (``None`` for unnormalised weights);
    dividing by it is left to the caller, who can do it after contracting with
    the values, on ``n d`` numbers instead of ``n^2``.  Runs with float64
    overflow warnings off: every result is checked where it can overflow.
    """
    n_tok = S.shape[0]
    b = inp.beta[h]
    if not p.exponential:
        W = _own(_eval_head(p.weight, S, b, n_tok), S)
        c = np.zeros(n_tok, dtype=S.dtype)
        if not p.normalised:
            return W, c, None
        return W, c, _finite(W.sum(axis=1), "a softmax normaliser")

    if p.log_weight_affine is not None:
        # a s + b: the row shift b goes into the log scale
        slope, offset = p.log_weight_affine
        W = S
        W *= slope(0.0, b, n_tok)
        c = W.max(axis=1)
        if not np.isfinite(c).all():
            raise RangeError(
                f"{p.log_weight.expr} overflows float64 at beta = {float(b):.6g}; "
                "use a smaller beta"
            )
    else:
        W = _own(_eval_head(p.log_weight, S, b, n_tok), S)
        c = W.max(axis=1)
    # shift each row by its largest log-weight: entries in [0, 1], the largest 1
    W -= c[:, None]
    np.exp(W, out=W)
    if not p.normalised:
        if p.log_weight_affine is not None:
            c += offset(0.0, b, n_tok)
        return W, c, None
    # a shifted softmax row sums to a number in [1, n]
    c[:] = 0.0
    return W, c, W.sum(axis=1)


def _normalise_rows(F, Z):
    """Divide the rows of ``F`` by ``Z``; a row with ``Z = 0`` (all scores off a
    relu's support) is frozen."""
    if Z.all():
        F /= Z[:, None]
    else:
        nonzero = Z != 0
        F[nonzero] /= Z[nonzero, None]
        F[~nonzero] = 0.0


def _own(values, S):
    """``values`` as a writable array that shares no memory with ``S``."""
    if values.flags.writeable and not np.shares_memory(values, S):
        return values
    return np.array(values, copy=True)


def _head_output(p: _Pieces, inp: _Inputs, h: int):
    """Output of head ``h`` as ``F_h * exp(c_h)[:, None]``: ``F_h`` (n, d), ``c_h`` (n,).

    Call with float64 overflow warnings off; the caller checks the result.
    """
    X = inp.X
    # values K[j] = M_h x_j and scores S[i, j] = <x_i, M_h x_j>
    K = X @ inp.M[h].T
    W, c, Z = _head_weights(p, inp, X @ K.T, h)
    F = W @ K
    if Z is not None and p.exponential:
        F /= Z[:, None]  # a shifted exponential row sums to at least 1
    elif Z is not None:
        _normalise_rows(F, Z)
    return F, c


def _scaled_outputs(inp: _Inputs, norm: str):
    """Head outputs ``F = F_scaled * exp(c)``, ``F_scaled`` (H, n, d), ``c`` (H, n)."""
    H = inp.M.shape[0]
    F = np.empty((H,) + inp.X.shape, dtype=inp.X.dtype)
    c = np.empty((H, inp.n), dtype=inp.X.dtype)
    p = _pieces(inp.kernel, norm)
    with np.errstate(over="ignore", invalid="ignore"):
        for h in range(H):
            F[h], c[h] = _head_output(p, inp, h)
    return _finite(F, "a head output"), c


def _project(X, V):
    """Tangent projection ``P_i v_i`` of each row of ``V`` at ``x_i``."""
    radial = np.einsum("...id,id->...i", V, X)
    return V - radial[..., None] * X


def _unscale(values, log_scale, what: str, hint: str):
    """Multiply ``values`` by ``exp(log_scale)`` or raise if a product overflows.

    The test is on ``log |values| + log_scale`` entry by entry, so a zero value
    stays zero under any scale and a small one may carry a scale past the range.
    """
    values = np.asarray(values)
    if not np.any(log_scale) and np.isfinite(values).all():
        return values
    scale = np.broadcast_to(log_scale, values.shape)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_size = np.log(np.abs(values)) + scale
    top = float(np.max(log_size)) if log_size.size else -np.inf
    if not top <= _LOG_MAX:
        raise RangeError(
            f"{what} reaches exp({top:.6g}), beyond the float64 range; {hint}"
        )
    if not np.size(scale) or np.max(scale) <= _LOG_MAX:
        return values * np.exp(log_scale)
    return np.sign(values) * np.exp(log_size)


_OVERFLOW_HINT = (
    "use norm='sa', a smaller beta, or ask for log_scale=True to get the scaled "
    "values and their log scale"
)


def _scaled_velocity(inp: _Inputs, norm: str, geometry: str):
    """Velocity as ``V_scaled * exp(C[:, None])``; ``C`` (n,).

    Heads are summed as they are computed, with a running row scale ``C``
    (the largest ``c_h`` so far), so no ``(H, n, d)`` array is formed.
    """
    p = _pieces(inp.kernel, norm)
    # only unnormalised exponential weights carry a log scale
    scaled = p.exponential and not p.normalised
    with np.errstate(over="ignore", invalid="ignore"):
        V, C = _head_output(p, inp, 0)
        for h in range(1, inp.M.shape[0]):
            F, c = _head_output(p, inp, h)
            if not scaled:
                V += F
                continue
            top = np.maximum(C, c)
            V *= np.exp(C - top)[:, None]
            F *= np.exp(c - top)[:, None]
            V += F
            C = top
        V = _finite(V, "the velocity")
    if geometry == "sphere":
        V = _project(inp.X, V)
    return V, C


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def scores(X, M) -> NDArray[np.float64]:
    """Scores ``S[h, i, j] = <x_i, M_h x_j>``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    M : array_like, shape (H, d, d) or (d, d)

    Returns
    -------
    ndarray, shape (H, n, n)
    """
    X = check.tokens(X, sphere=False)
    M = check.score_matrices(M, X.shape[1])
    return _keys(X, M)[1]


def velocity(
    X,
    M,
    beta,
    *,
    kernel: KernelArg = "exp",
    norm: Norm = "usa",
    geometry: Geometry = "sphere",
    log_scale: bool = False,
):
    """Velocity field of the attention dynamics.

    .. math:: v_i = \\sum_h \\sum_j w^h_{ij} M_h x_j, \\qquad
              \\dot x_i = v_i \\ (\\text{flat}) \\text{ or } P_i v_i \\ (\\text{sphere})

    Parameters
    ----------
    X : array_like, shape (n, d)
        Tokens; unit rows when ``geometry="sphere"``.
    M : array_like, shape (H, d, d)
        Score matrices (a single ``(d, d)`` matrix is one head).
    beta : float or array_like, shape (H,)
        Inverse temperature, one value or one per head; > 0.
    kernel : {"exp", "relu"} or Kernel or str
        Attention kernel ``phi``; a string other than the names is parsed as an
        expression in ``s`` and ``beta``.
    norm : {"usa", "sa"}
        Unnormalised weights ``phi / n`` or per-head softmax rows.
    geometry : {"flat", "sphere"}
        Free velocity or its projection onto the tangent space of the sphere.
    log_scale : bool
        Return ``(V_scaled, C)`` with ``V = V_scaled * exp(C)[:, None]``, for
        ``usa`` velocities that overflow float64.

    Returns
    -------
    ndarray, shape (n, d)
        ``dX/dt`` (or the pair described under ``log_scale``).

    Raises
    ------
    ValueError
        Invalid ``X``, ``M``, ``beta`` or option.
    symbolic.errors.RangeError
        The velocity exceeds the float64 range and ``log_scale`` is False.
    """
    norm = check.norm(norm)
    geometry = check.geometry(geometry)
    inp = _inputs(X, M, beta, kernel, sphere=geometry == "sphere")
    V, C = _scaled_velocity(inp, norm, geometry)
    if log_scale:
        return V, C
    return _unscale(V, C[:, None], "the velocity", _OVERFLOW_HINT)


def head_outputs(
    X, M, beta, *, kernel: KernelArg = "exp", norm: Norm = "usa", log_scale=False
):
    """Per-head outputs ``f_i^h = sum_j w^h_ij M_h x_j``.

    Parameters are those of :func:`velocity`.

    Returns
    -------
    ndarray, shape (H, n, d)
        Or ``(F_scaled, c)`` with ``c`` of shape (H, n) when ``log_scale``.
    """
    norm = check.norm(norm)
    inp = _inputs(X, M, beta, kernel, sphere=False)
    F, c = _scaled_outputs(inp, norm)
    if log_scale:
        return F, c
    return _unscale(F, c[..., None], "a head output", _OVERFLOW_HINT)


def radial_shadows(
    X, M, beta, *, kernel: KernelArg = "exp", norm: Norm = "usa"
) -> NDArray[np.float64]:
    """Radial shadows ``r_i^h = <x_i, f_i^h>``.

    Returns
    -------
    ndarray, shape (H, n)
    """
    norm = check.norm(norm)
    inp = _inputs(X, M, beta, kernel, sphere=False)
    F, c = _scaled_outputs(inp, norm)
    r = np.einsum("hid,id->hi", F, inp.X)
    return _unscale(r, c, "a radial shadow", _OVERFLOW_HINT)


def _log_head_energies(inp: _Inputs) -> NDArray:
    p = _pieces(inp.kernel, "usa")
    _, S = _keys(inp.X, inp.M)
    H = S.shape[0]
    if p.log_energy is not None:
        LE = _eval(p.log_energy, S, inp.beta, inp.n).reshape(H, -1)
        top = LE.max(axis=1)
        return top + np.log(np.exp(LE - top[:, None]).sum(axis=1))
    E = _eval(p.energy, S, inp.beta, inp.n).reshape(H, -1)
    # log of a sum of finite terms, scaled by the largest so the sum cannot overflow
    top = np.abs(E).max(axis=1)
    total = np.divide(
        E, top[:, None], out=np.zeros_like(E), where=top[:, None] > 0
    ).sum(axis=1)
    if (total < 0).any():
        h = int(np.argmax(total < 0))
        raise InvalidArgumentError(
            "log",
            True,
            f"head {h} has a negative energy, whose logarithm is "
            f"undefined (kernel {inp.kernel.name!r})",
            "ask for log=False",
        )
    with np.errstate(divide="ignore"):
        return np.log(top) + np.log(total)


def head_energies(
    X, M, beta, *, kernel: KernelArg = "exp", log: bool = False
) -> NDArray[np.float64]:
    """Per-head energies ``E_h = 1/(2 n^2) sum_ij Phi(s^h_ij)``.

    Parameters
    ----------
    X, M, beta, kernel
        As in :func:`velocity`.
    log : bool
        Return ``log E_h`` (finite at any ``beta`` for exponential kernels).

    Returns
    -------
    ndarray, shape (H,)
    """
    inp = _inputs(X, M, beta, kernel, sphere=False)
    if log:
        return _log_head_energies(inp)
    p = _pieces(inp.kernel, "usa")
    if p.log_energy is not None:
        logE = _log_head_energies(inp)
        return _unscale(np.ones_like(logE), logE, "the energy", "ask for log=True")
    _, S = _keys(inp.X, inp.M)
    E = _eval(p.energy, S, inp.beta, inp.n).reshape(S.shape[0], -1)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite(E.sum(axis=1), "the energy")


def energy(X, M, beta, *, kernel: KernelArg = "exp") -> float:
    """Total energy ``E = sum_h E_h`` (see :func:`head_energies`)."""
    return float(np.sum(head_energies(X, M, beta, kernel=kernel)))


def energy_rates(
    X,
    M,
    beta,
    *,
    kernel: KernelArg = "exp",
    norm: Norm = "usa",
    geometry: Geometry = "sphere",
    V=None,
) -> NDArray[np.float64]:
    """Per-head rates ``dE_h/dt`` along the flow (or along a given ``V``).

    Computed by the chain rule on the energy density,
    ``dE_h/dt = sum_ij Phi'(s_ij)/(2 n^2) ds_ij/dt`` with
    ``ds_ij/dt = <v_i, M_h x_j> + <x_i, M_h v_j>``; no closed form of the rate is
    used, which makes this the reference the claims are checked against.

    Parameters
    ----------
    X, M, beta, kernel, norm, geometry
        As in :func:`velocity`.
    V : array_like, shape (n, d), optional
        Tangent field ``dX/dt``; defaults to the model's own velocity.

    Returns
    -------
    ndarray, shape (H,)
    """
    norm = check.norm(norm)
    geometry = check.geometry(geometry)
    inp = _inputs(X, M, beta, kernel, sphere=geometry == "sphere")
    if V is None:
        V, C = _scaled_velocity(inp, norm, geometry)
    else:
        V = check.velocities(V, inp.X.shape)
        C = np.zeros(inp.n)

    p = _pieces(inp.kernel, "usa")
    if p.log_slope is None:
        # the direct chain rule needs the velocity itself, not a row-scaled one
        V = _unscale(V, C[:, None], "the velocity", _OVERFLOW_HINT)
    MX, S = _keys(inp.X, inp.M)
    MV = np.matmul(V[None], inp.M.transpose(0, 2, 1))
    # ds/dt = <v_i, M x_j> + <x_i, M v_j>, each term with its row scale
    dS_left = np.matmul(V[None], MX.transpose(0, 2, 1))
    dS_right = np.matmul(inp.X[None], MV.transpose(0, 2, 1))

    if p.log_slope is not None:
        LS = _eval(p.log_slope, S, inp.beta, inp.n)
        A = LS + C[None, :, None]
        B = LS + C[None, None, :]
        top = np.maximum(A.max(axis=(1, 2)), B.max(axis=(1, 2)))
        T = top[:, None, None]
        terms = np.exp(A - T) * dS_left + np.exp(B - T) * dS_right
        rates = terms.sum(axis=(1, 2))
        return _unscale(
            rates,
            top,
            "an energy rate",
            "the energy itself leaves "
            "float64 here; use a smaller beta, or head_energies(log=True)",
        )

    slope = _eval(p.slope, S, inp.beta, inp.n)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite(
            (slope * (dS_left + dS_right)).sum(axis=(1, 2)), "an energy rate"
        )


def _log_attention(X, M, b):
    """``log p[h, i, j]`` for the exponential softmax; accepts complex ``X``."""
    p = _pieces(KERNELS["exp"], "sa")
    _, S = _keys(X, M)
    L = _eval(p.log_weight, S, b, X.shape[0])
    c = L.real.max(axis=2, keepdims=True)
    lse = c + np.log(np.exp(L - c).sum(axis=2, keepdims=True))
    return L - lse


def attention(X, M, beta) -> NDArray[np.float64]:
    """Softmax attention rows ``p[h, i, j]`` of the exponential kernel.

    Returns
    -------
    ndarray, shape (H, n, n)
        Each row sums to one.
    """
    inp = _inputs(X, M, beta, "exp", sphere=False)
    return np.exp(_log_attention(inp.X, inp.M, inp.beta))


def _entropy(logp):
    return -(np.exp(logp) * logp).sum(axis=-1)


def attention_entropy(X, M, beta) -> NDArray[np.float64]:
    """Row entropies ``S_i^h = -sum_j p_ij log p_ij``.

    Returns
    -------
    ndarray, shape (H, n)
    """
    inp = _inputs(X, M, beta, "exp", sphere=False)
    return _entropy(_log_attention(inp.X, inp.M, inp.beta))


#: Step of the complex-step derivative: the error is O(h^2), far below rounding.
_COMPLEX_STEP = 1e-30


def entropy_rate(
    X,
    M,
    beta,
    *,
    kernel: KernelArg = "exp",
    norm: Norm = "usa",
    geometry: Geometry = "sphere",
    V=None,
) -> NDArray[np.float64]:
    """Rates ``dS_i^h/dt`` of the row entropies along the flow (or ``V``).

    Computed by complex-step differentiation of the entropy along ``X + t V``,
    accurate to rounding and independent of any formula for the rate.

    Returns
    -------
    ndarray, shape (H, n)
    """
    norm = check.norm(norm)
    geometry = check.geometry(geometry)
    inp = _inputs(X, M, beta, kernel, sphere=geometry == "sphere")
    if V is None:
        Vs, C = _scaled_velocity(inp, norm, geometry)
        V = _unscale(Vs, C[:, None], "the velocity", _OVERFLOW_HINT)
    else:
        V = check.velocities(V, inp.X.shape)
    # the O(h^2) error stays negligible while h beta |ds/dt| << 1
    size = (
        float(np.max(np.abs(V)))
        * float(np.max(inp.beta))
        * max(1.0, float(np.max(np.abs(inp.M))) * inp.X.shape[1])
    )
    h = _COMPLEX_STEP / max(1.0, size)
    Xc = inp.X + 1j * h * V
    return _entropy(_log_attention(Xc, inp.M, inp.beta)).imag / h


def mean_inner_product(X) -> float:
    """Mean of ``<x_i, x_j>`` over ordered pairs ``i != j``."""
    X = check.tokens(X, sphere=False)
    n_tok = X.shape[0]
    total = np.sum(X.sum(axis=0) ** 2) - np.einsum("id,id->", X, X)
    return float(total / (n_tok * (n_tok - 1)))
