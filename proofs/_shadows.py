"""Per-head energy rates seen through the Gram matrix of the head outputs.

Shared by the radial-shadow claim (C2) and the orthogonal-head robustness claim
(C3).  Notation: tokens ``x_i`` (rows of ``X``, shape ``(n, d)``), head outputs
``f_i^h`` (``F``, shape ``(H, n, d)``), radial shadows ``r_i^h = <x_i, f_i^h>``,
tangent projections ``P_i = I - x_i x_i^T``.  The matrix view of a per-head rate
is the ``h``-th row sum of

.. math:: T_i = \\big(\\langle P_i f_i^h, P_i f_i^{h'} \\rangle\\big)_{h, h'}

averaged over ``i`` (``P_i = I`` in flat geometry).  The functions here contract
head outputs computed by :mod:`numeric`; the only scalar formula they need (the
kernel bound of C3) is generated from :mod:`symbolic.model`.  Rates computed by
the chain rule (:func:`numeric.energy_rates`) are compared with them through
:func:`decomposition_error`, which takes the candidate formula as an argument so
that a wrong formula is rejected by the very same check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import lru_cache

import flint
import mpmath
import numpy as np
import sympy as sp
from hypothesis import strategies as st

import numeric
from numeric import highprec, strategies
from symbolic import codegen
from symbolic.model import beta as beta_symbol
from symbolic.model import get_kernel, pair_densities, s
from symbolic.model import n as n_symbol

__all__ = [
    "cross_bound",
    "decomposition_error",
    "flint_precision",
    "gram_terms",
    "gram_terms_mp",
    "matrix_view_rates",
    "orthogonal_case_rates",
    "orthogonal_models",
    "relative",
    "row_masses",
    "term_scale",
    "unit_rows_mp",
]

#: Formula ``(X, F, geometry) -> (H,)`` for the per-head rates.
Formula = Callable[[np.ndarray, np.ndarray, str], np.ndarray]


# ---------------------------------------------------------------------------
# float64 contractions
# ---------------------------------------------------------------------------


def _projected(X, F, geometry: str) -> np.ndarray:
    """``P_i f_i^h`` (sphere) or ``f_i^h`` (flat), shape (H, n, d)."""
    if geometry == "flat":
        return F
    r = np.einsum("hid,id->hi", F, X)
    return F - r[..., None] * X[None]


def gram_terms(X, F, geometry: str = "sphere") -> np.ndarray:
    """The Gram matrices ``T_i`` of the (projected) head outputs.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    F : ndarray, shape (H, n, d)
        Head outputs ``f_i^h``.
    geometry : {"flat", "sphere"}

    Returns
    -------
    ndarray, shape (n, H, H)

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> F = np.array([[[1.0, 2.0], [0.0, 3.0]]])
    >>> gram_terms(X, F)[:, 0, 0].tolist()
    [4.0, 0.0]
    """
    G = _projected(X, F, geometry)
    return np.einsum("hid,kid->ihk", G, G)


def matrix_view_rates(X, F, geometry: str = "sphere") -> np.ndarray:
    """Per-head rates ``(1/n) sum_i (T_i 1)_h``, the row sums of the Gram view.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> F = np.array([[[0.0, 1.0], [1.0, 0.0]], [[0.0, 2.0], [0.0, 0.0]]])
    >>> matrix_view_rates(X, F, "sphere").tolist()
    [2.0, 3.0]
    """
    return gram_terms(X, F, geometry).sum(axis=2).mean(axis=0)


def orthogonal_case_rates(X, F, geometry: str = "sphere") -> np.ndarray:
    """The per-head rates with every cross product ``<f^h, f^h'>`` set to zero.

    On the sphere ``(1/n) sum_i [|P_i f_i^h|^2 - r_i^h sum_{h' != h} r_i^{h'}]``;
    flat ``(1/n) sum_i |f_i^h|^2``.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [1.0, 0.0]])
    >>> F = np.array([[[1.0, 1.0], [1.0, 1.0]], [[2.0, 0.0], [2.0, 0.0]]])
    >>> orthogonal_case_rates(X, F).tolist()
    [-1.0, -2.0]
    """
    G = _projected(X, F, geometry)
    squares = np.einsum("hid,hid->hi", G, G)
    if geometry == "flat":
        return squares.mean(axis=1)
    r = np.einsum("hid,id->hi", F, X)
    others = r.sum(axis=0)[None] - r
    return (squares - r * others).mean(axis=1)


@lru_cache(maxsize=8)
def _weight_function(kernel: str):
    return codegen.generate(
        pair_densities(kernel, "usa").weight, (s, beta_symbol, n_symbol), "numpy"
    )


def _lengths(Y, axis: int = -1) -> np.ndarray:
    """Euclidean lengths along ``axis`` without underflow of tiny entries."""
    top = np.max(np.abs(Y), axis=axis, keepdims=True)
    safe = np.where(top > 0, top, 1.0)
    return (np.sqrt(np.sum((Y / safe) ** 2, axis=axis, keepdims=True)) * top).squeeze(
        axis
    )


def _absolute_outputs(X, M, beta, kernel: str) -> np.ndarray:
    """``g_i^h = sum_j |w^h_ij| |M_h x_j|`` >= ``|f_i^h|``, shape (H, n)."""
    S = numeric.scores(X, M)
    with np.errstate(over="ignore"):
        W = np.abs(_weight_function(kernel)(S, float(beta), X.shape[0]))
    W = np.broadcast_to(W, S.shape)
    lengths = _lengths(np.einsum("had,jd->hja", M, X))
    return np.einsum("hij,hj->hi", W, lengths)


def relative(values, scale) -> np.ndarray:
    """``values / scale``, with 0 where both vanish (a head that is zero).

    Examples
    --------
    >>> relative(np.array([1.0, 0.0]), np.array([4.0, 0.0])).tolist()
    [0.25, 0.0]
    """
    tiny = np.finfo(np.float64).tiny
    with np.errstate(over="ignore"):
        return np.asarray(values) / np.maximum(np.asarray(scale), tiny)


def term_scale(X, M, beta, F, *, kernel: str = "exp", geometry: str = "sphere"):
    """Size of the terms both sides of a per-head rate add up, shape (H,).

    ``(1/n) sum_i [sum_{h'} |T_i[h, h']| + |v_i| g_i^h]`` with ``v_i`` the
    unprojected velocity and ``g_i^h`` the absolute head output
    ``sum_j |w_ij| |M_h x_j|``: the first part bounds the matrix view, the
    second the chain-rule sum over token pairs.  Rounding errors of both are a
    few units of ``eps`` times this.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> M = np.eye(2)[None]
    >>> F = numeric.head_outputs(X, M, 1.0)
    >>> term_scale(X, M, 1.0, F).round(6).tolist()
    [2.942396]
    """
    T = gram_terms(X, F, geometry)
    v = _lengths(F.sum(axis=0))
    g = _absolute_outputs(X, M, beta, kernel)
    return (np.abs(T).sum(axis=2).T + v[None] * g).mean(axis=1)


def decomposition_error(
    model, geometry: str, *, kernel: str = "exp", formula: Formula = matrix_view_rates
):
    """Chain-rule per-head rates against ``formula``, in units of the term scale.

    Parameters
    ----------
    model : numeric.strategies.Model
    geometry : {"flat", "sphere"}
    kernel : str
    formula : callable ``(X, F, geometry) -> (H,)``
        Candidate per-head rate from the tokens and head outputs.

    Returns
    -------
    per_head : ndarray, shape (H,)
        ``|chain_h - formula_h| / scale_h``.
    total : float
        Same for the sum over heads.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> m = strategies.Model(X, np.stack([np.eye(2), -np.eye(2)]), 1.0)
    >>> per_head, total = decomposition_error(m, "sphere")
    >>> bool(per_head.max() < 1e-14 and total < 1e-14)
    True
    """
    X, M, beta = model.X, model.M, model.beta
    chain = numeric.energy_rates(
        X, M, beta, kernel=kernel, norm="usa", geometry=geometry
    )
    F = numeric.head_outputs(X, M, beta, kernel=kernel, norm="usa")
    claimed = np.asarray(formula(X, F, geometry), dtype=np.float64)
    scale = term_scale(X, M, beta, F, kernel=kernel, geometry=geometry)
    per_head = relative(np.abs(chain - claimed), scale)
    total = relative(abs(chain.sum() - claimed.sum()), scale.sum())
    return per_head, float(total)


# ---------------------------------------------------------------------------
# mpmath contractions
# ---------------------------------------------------------------------------


def gram_terms_mp(X, F, geometry: str = "sphere") -> np.ndarray:
    """:func:`gram_terms` on mpf arrays, at the caller's working precision.

    Examples
    --------
    >>> X = np.array([[mpmath.mpf(1), mpmath.mpf(0)]] * 2, dtype=object)
    >>> F = np.array([[[mpmath.mpf(1), mpmath.mpf(2)]] * 2], dtype=object)
    >>> str(gram_terms_mp(X, F)[0, 0, 0])
    '4.0'
    """
    H, n_tok, d = F.shape
    G = np.empty(F.shape, dtype=object)
    for h in range(H):
        for i in range(n_tok):
            r = mpmath.fdot(F[h, i], X[i]) if geometry == "sphere" else 0
            G[h, i] = [F[h, i, a] - r * X[i, a] for a in range(d)]
    T = np.empty((n_tok, H, H), dtype=object)
    for i in range(n_tok):
        for h in range(H):
            for k in range(H):
                T[i, h, k] = mpmath.fdot(G[h, i], G[k, i])
    return T


def unit_rows_mp(X) -> np.ndarray:
    """The rows of ``X`` as mpf, normalised at the caller's working precision.

    Float rows are unit vectors only up to rounding; the projection identities
    the decomposition rests on need ``|x_i| = 1`` to the working precision.

    Examples
    --------
    >>> with mpmath.workdps(40):
    ...     Y = unit_rows_mp(np.array([[3.0, 4.0]]))
    ...     mpmath.nstr(Y[0, 0], 30)
    '0.6'
    """
    Xm = np.vectorize(highprec.to_mpf, otypes=[object])(X)
    for i in range(Xm.shape[0]):
        length = mpmath.sqrt(mpmath.fdot(Xm[i], Xm[i]))
        Xm[i] = [v / length for v in Xm[i]]
    return Xm


# ---------------------------------------------------------------------------
# C3: the kernel bound of a cross product
# ---------------------------------------------------------------------------

_eps, _a, _b = sp.symbols("epsilon a b", nonnegative=True)


@lru_cache(maxsize=8)
def _cross_bound_function(kernel: str, backend: str):
    """``eps phi(a) phi(b)``: the kernel at the largest score of each head."""
    phi = get_kernel(kernel).phi
    expr = _eps * phi.subs(s, _a) * phi.subs(s, _b)
    return codegen.generate(expr, (_eps, beta_symbol, _a, _b), backend)


def cross_bound(
    eps, beta, norm_h, norm_k, *, kernel: str = "exp", backend: str = "numpy"
):
    """``eps phi(|M_h|) phi(|M_h'|)``, a bound of ``|<f_i^h, f_i^h'>|``.

    With unit tokens every score of head ``h`` lies in ``[-|M_h|, |M_h|]``, so a
    non-decreasing kernel is at most ``phi(|M_h|)`` on it, and
    ``|<M_h x_j, M_h' x_k>| <= |M_h M_h'|_op <= eps`` for symmetric heads.

    Examples
    --------
    >>> float(cross_bound(0.5, 2.0, 1.0, 0.0))
    3.694528049465325
    """
    return _cross_bound_function(kernel, backend)(eps, beta, norm_h, norm_k)


def row_masses(X, M, beta, *, kernel: str = "exp") -> np.ndarray:
    """``(1/n) sum_j phi(s^h_ij)``, the weight mass of each row, shape (H, n).

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> row_masses(X, np.eye(2)[None], 1.0).round(6).tolist()
    [[1.859141, 1.859141]]
    """
    S = numeric.scores(X, M)
    W = np.broadcast_to(_weight_function(kernel)(S, float(beta), X.shape[0]), S.shape)
    return W.sum(axis=2)


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

_unit = st.floats(-1.0, 1.0, allow_nan=False, width=64)


@lru_cache(maxsize=64)
def _vectors(k: int):
    return st.lists(_unit, min_size=k, max_size=k)


def _unit_rows(X: np.ndarray) -> np.ndarray:
    X = np.array(X, dtype=np.float64)
    X[np.linalg.norm(X, axis=1) < 0.1, 0] = 1.0
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@lru_cache(maxsize=64)
def _heads(H: int, d: int, scale):
    return strategies.orthogonal_heads(H, d, scale=scale)


def orthogonal_models(
    n=(2, 4),
    d=(2, 3),
    H=2,
    *,
    beta=(0.5, 8.0),
    scale=1.0,
    spread=(0.0, 1.0),
    coincide: bool = False,
):
    """Tokens clustered around a centre, with orthogonal heads.

    Sizes are drawn first (``n``, then ``d``, then ``H <= d``) so that they
    shrink first.  The tokens are ``centre + spread * offset``, normalised; a
    spread that shrinks to 0 makes them coincide, the regime of the closed-form
    two-head witness.  With ``coincide`` a first boolean, which shrinks to
    False, puts every token at the centre without drawing offsets, so a search
    reaches coincident tokens in one step.  Heads come from
    :func:`numeric.strategies.orthogonal_heads`.

    Examples
    --------
    >>> from proofs.framework import Context
    >>> from proofs.sampling import sample
    >>> (m,) = sample(orthogonal_models(n=3, d=2), 1, Context(), "doc")
    >>> m.X.shape, m.M.shape
    ((3, 2), (2, 2, 2))
    """

    @st.composite
    def build(draw):
        n_ = draw(strategies.sizes(n), label="n")
        d_ = draw(strategies.sizes(d), label="d")
        if isinstance(H, int):
            H_ = H
        else:
            H_ = draw(st.integers(H[0], min(H[1], d_)), label="H")
        spread_out = draw(st.booleans(), label="spread out") if coincide else True
        size = draw(
            st.floats(*spread) if isinstance(spread, tuple) else st.just(float(spread)),
            label="spread",
        )
        centre = _unit_rows(np.array(draw(_vectors(d_)))[None])[0]
        if spread_out:
            offsets = np.array(draw(_vectors(n_ * d_))).reshape(n_, d_)
            X = _unit_rows(centre[None] + size * offsets)
        else:
            X = np.repeat(centre[None], n_, axis=0)
        M = draw(_heads(H_, d_, scale))
        b = draw(strategies.inverse_temperatures(*beta))
        return strategies.Model(X, M, b)

    return build()


# ---------------------------------------------------------------------------
# ball arithmetic
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def flint_precision(bits: int):
    """Set python-flint's (process-global) precision for a block.

    Examples
    --------
    >>> with flint_precision(128):
    ...     flint.ctx.prec
    128
    """
    old = flint.ctx.prec
    flint.ctx.prec = bits
    try:
        yield
    finally:
        flint.ctx.prec = old
