"""The equiangular reduction of the sphere flow for scalar heads, derived in SymPy.

With scalar score matrices ``M_h = m_h I`` and tokens on the sphere whose pairwise
inner products all equal ``rho``, every score is ``m_h`` (a token with itself) or
``m_h rho`` (two distinct tokens).  The velocity of token ``i`` is then a
combination ``A x_i + B sum_{j != i} x_j`` and, after projection onto the tangent
space, the Gram matrix moves by a rate that depends on ``rho`` alone.  This module
builds that rate from the weights of :func:`symbolic.model.pair_densities` (no rate
is typed in), proves that the equiangular set is invariant, and derives the
quantities read off the reduced equation: linearisations, the critical inverse
temperature of one softmax head, the interior equilibrium of mixed-sign heads and
the clustering time of softmax-normalised relu heads.

Notation follows Geshkovski, Letrouit, Polyanskiy and Rigollet (arXiv:2312.10794,
section 6): ``rho`` is the common inner product, ``n`` the number of tokens,
``beta`` the inverse temperature and ``m`` (or ``m_1, ..., m_H``) the head scalars.
Relu heads are taken with positive scalars, for which ``max(m s, 0) = m max(s, 0)``.

Every function returns SymPy expressions; :func:`head_rate_function` hands the
per-head rate to :func:`symbolic.codegen.generate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from . import codegen
from .errors import InvalidArgumentError
from .model import beta, get_kernel, n, pair_densities, s

__all__ = [
    "rho",
    "m",
    "rho_0",
    "rho_1",
    "m_plus",
    "mu",
    "VARIANTS",
    "head_scalars",
    "token_weights",
    "pair_rate_from_coefficients",
    "rho_rate",
    "head_rate",
    "head_rate_function",
    "gram_rates",
    "invariance_residuals",
    "is_identity",
    "linearisation",
    "self_weight",
    "critical_beta",
    "mixed_sign_rate",
    "mixed_equilibrium",
    "mixed_threshold",
    "relu_softmax_clustering_time",
    "gram_root",
]

#: The common inner product of the equiangular configuration.
rho = sp.Symbol("rho", real=True)
#: The scalar of one head, ``M = m I``.
m = sp.Symbol("m", real=True)
#: Start and end of a clustering interval.
rho_0 = sp.Symbol("rho_0", positive=True)
rho_1 = sp.Symbol("rho_1", positive=True)
#: Mixed-sign pair of heads: scalars ``m_plus > 0`` and ``-mu < 0``.
m_plus = sp.Symbol("m_+", positive=True)
mu = sp.Symbol("mu", positive=True)

#: The four model variants the reduction covers, as ``(kernel, norm)``.
VARIANTS = (("exp", "usa"), ("exp", "sa"), ("relu", "usa"), ("relu", "sa"))

# Branch symbols for the relu kernel: rho > 0 and rho <= 0.
_rho_pos = sp.Symbol("rho", positive=True)
_rho_neg = sp.Symbol("rho", nonpositive=True)
_m_pos = sp.Symbol("m", positive=True)


def _variant(kernel: str, norm: str) -> tuple[str, str]:
    if (kernel, norm) not in VARIANTS:
        raise InvalidArgumentError(
            "kernel, norm",
            (kernel, norm),
            f"must be one of {list(VARIANTS)}",
        )
    return kernel, norm


def head_scalars(H: int, *, positive: bool = False) -> tuple[sp.Symbol, ...]:
    """Symbols ``m_1, ..., m_H`` for the head scalars.

    Examples
    --------
    >>> head_scalars(2)
    (m_1, m_2)
    >>> head_scalars(1, positive=True)[0].is_positive
    True
    """
    if isinstance(H, bool) or not isinstance(H, int) or H < 1:
        raise InvalidArgumentError("H", H, "must be an integer >= 1")
    kind = dict(positive=True) if positive else dict(real=True)
    return tuple(sp.Symbol(f"m_{h + 1}", **kind) for h in range(H))


# ---------------------------------------------------------------------------
# weights and the pair rate
# ---------------------------------------------------------------------------


def token_weights(kernel: str, norm: str, scalar, inner) -> tuple[sp.Expr, sp.Expr]:
    """Weights of one head on the token itself and on one other token.

    The scores are ``<x_i, m x_i> = m`` and ``<x_i, m x_j> = m inner``; the
    weights are the model's pair weights at these scores, divided by the row sum
    ``w_self + (n - 1) w_other`` for softmax heads.

    Returns
    -------
    (w_self, w_other) : tuple of sympy.Expr

    Examples
    --------
    >>> token_weights("exp", "usa", m, rho)
    (exp(beta*m)/n, exp(beta*m*rho)/n)
    >>> token_weights("relu", "sa", _m_pos, _rho_pos)
    (m/(m*rho*(n - 1) + m), m*rho/(m*rho*(n - 1) + m))
    """
    _variant(kernel, norm)
    dens = pair_densities(get_kernel(kernel), norm)
    w_self = dens.weight.subs(s, scalar)
    w_other = dens.weight.subs(s, scalar * inner)
    if dens.normalised:
        Z = w_self + (n - 1) * w_other
        w_self, w_other = w_self / Z, w_other / Z
    return w_self, w_other


def pair_rate_from_coefficients(A, B, inner=rho, n_tokens=n) -> sp.Expr:
    """``d <x_i, x_k> / dt`` when ``v_i = A x_i + B sum_{j != i} x_j`` for every i.

    Works through the Gram entries seen from the pair ``(i, k)``:
    ``G_ii = G_kk = 1`` and every other entry equals ``inner``.  The sphere flow
    is ``x_i' = v_i - <v_i, x_i> x_i``, and the rate is
    ``<x_i', x_k> + <x_i, x_k'>``.

    Examples
    --------
    >>> A, B = sp.symbols("A B")
    >>> sp.factor(pair_rate_from_coefficients(A, B))
    -2*B*(rho - 1)*(n*rho - rho + 1)
    """

    def tangent_dot(c_self, c_other):
        # <x_i', x_k> = sum_j c_ij G_jk - (sum_j c_ij G_ij) G_ik
        towards = c_self * inner + c_other * 1 + (n_tokens - 2) * c_other * inner
        radial = c_self * 1 + (n_tokens - 1) * c_other * inner
        return towards - radial * inner

    # the two halves of the product rule, token i moving and token k moving
    return sp.expand(tangent_dot(A, B) + tangent_dot(A, B))


def _u(inner=rho) -> sp.Expr:
    """The factor the pair rate carries, read off by factoring it."""
    A, B = sp.symbols("A B")
    return sp.factor(pair_rate_from_coefficients(A, B, inner) / (2 * B))


def _log_safe(w: sp.Expr, scalar) -> sp.Expr:
    """Divide numerator and denominator by their largest exponential factor.

    Softmax weights ``e^{beta m rho} / (e^{beta m} + (n-1) e^{beta m rho})``
    become ``1 / (e^{beta m (1 - rho)} + n - 1)``, which neither overflows nor
    loses digits at large ``beta m``.
    """
    num, den = sp.fraction(sp.together(w))
    if not den.has(sp.exp):
        return w
    scale = sp.exp(-beta * scalar * rho)
    num = sp.powsimp(sp.expand(num * scale))
    den = sp.powsimp(sp.expand(den * scale))
    den = den.replace(sp.exp, lambda a: sp.exp(sp.factor(a)))
    return num / den


@lru_cache(maxsize=None)
def _branch_rate(kernel: str, norm: str, scalars: tuple, inner) -> sp.Expr:
    """The reduced rate on one branch of the relu kernel (or for exp).

    The pair rate is computed for abstract coefficients ``A`` (self) and ``B``
    (others) first: it equals ``2 B u(rho)``, so ``A`` drops out, and the
    kernel enters only through ``B = sum_h m_h w_h``.
    """
    A, B = sp.symbols("A B")
    u = _u(inner)
    if not is_identity(pair_rate_from_coefficients(A, B, inner), 2 * B * u):
        raise RuntimeError("the pair rate is not 2 B u(rho)")
    B_kernel = sp.Add(
        *[sp.cancel(h * token_weights(kernel, norm, h, inner)[1]) for h in scalars]
    )
    return 2 * B_kernel * u


def rho_rate(kernel: str, norm: str, scalars: Sequence | None = None) -> sp.Expr:
    """The reduced equation ``rho' = F(rho)`` derived from the particle model.

    Parameters
    ----------
    kernel, norm : str
        One of :data:`VARIANTS`.
    scalars : sequence of sympy.Symbol, optional
        Head scalars; default one head with scalar :data:`m` (positive for relu).

    Returns
    -------
    sympy.Expr
        An expression in :data:`rho`, ``beta``, ``n`` and the scalars; a
        ``Piecewise`` in ``rho`` for relu (zero for ``rho <= 0``).

    Examples
    --------
    >>> rho_rate("exp", "usa")
    -2*m*(rho - 1)*(n*rho - rho + 1)*exp(beta*m*rho)/n
    >>> rho_rate("relu", "sa", head_scalars(2, positive=True))
    Piecewise((-2*rho*(m_1 + m_2)*(rho - 1), rho > 0), (0, True))
    """
    kernel, norm = _variant(kernel, norm)
    if scalars is None:
        scalars = (_m_pos,) if kernel == "relu" else (m,)
    scalars = tuple(scalars)
    if kernel == "exp":
        return _exp_rate(kernel, norm, scalars)
    if not all(h.is_positive for h in scalars):
        raise InvalidArgumentError(
            "scalars",
            scalars,
            "relu heads need positive scalars",
            "declare the symbols with positive=True",
        )
    up = sp.factor(_branch_rate(kernel, norm, scalars, _rho_pos))
    down = sp.simplify(_branch_rate(kernel, norm, scalars, _rho_neg))
    up = up.subs(_rho_pos, rho)
    down = down.subs(_rho_neg, rho)
    return sp.Piecewise((up, rho > 0), (down, True))


def _exp_rate(kernel: str, norm: str, scalars: tuple) -> sp.Expr:
    """Sum over heads of ``2 u(rho) m_h w_h`` with log-safe softmax weights."""
    terms = []
    for h in scalars:
        w = sp.cancel(token_weights(kernel, norm, h, rho)[1])
        safe = _log_safe(w, h)
        if not is_identity(w, safe):
            raise RuntimeError(f"log-safe form {safe} differs from {w}")
        terms.append(2 * h * safe * _u())
    return sp.Add(*terms)


def head_rate(kernel: str, norm: str) -> sp.Expr:
    """The rate of one head with scalar :data:`m`: the per-head term ``F_h``.

    For every variant the reduced rate of several heads is the sum of these
    terms (each head is normalised on its own).

    Examples
    --------
    >>> head_rate("exp", "sa")
    -2*m*(rho - 1)*(n*rho - rho + 1)/(n - 1 + exp(-beta*m*(rho - 1)))
    """
    rate = rho_rate(kernel, norm)
    return rate.subs(_m_pos, m) if kernel == "relu" else rate


def head_rate_function(kernel: str, norm: str, backend: str = "numpy"):
    """Generated ``F(rho, beta, n, m)`` of :func:`head_rate`.

    Examples
    --------
    >>> f = head_rate_function("relu", "sa")
    >>> float(f(0.5, 1.0, 4, 1.0))
    0.5
    """
    return codegen.generate(head_rate(kernel, norm), (rho, beta, n, m), backend)


# ---------------------------------------------------------------------------
# invariance of the equiangular set
# ---------------------------------------------------------------------------


def gram_rates(G: sp.Matrix, C: sp.Matrix) -> sp.Matrix:
    """``dG/dt`` for the sphere flow with velocities ``v_i = sum_j C_ij x_j``.

    Only Gram entries enter: ``<x_i', x_k> = (C G)_ik - r_i G_ik`` with
    ``r_i = (C G)_ii``, and ``dG_ik/dt = <x_i', x_k> + <x_k', x_i>``.

    Examples
    --------
    >>> gram_rates(sp.eye(2), sp.Matrix([[1, 2], [3, 4]]))
    Matrix([
    [0, 5],
    [5, 0]])
    """
    CG = C * G
    size = G.shape[0]
    T = sp.Matrix(size, size, lambda i, k: CG[i, k] - CG[i, i] * G[i, k])
    return T + T.T


def _explicit_coefficients(kernel, norm, scalars, G: sp.Matrix) -> sp.Matrix:
    """``C_ij = sum_h m_h w^h_ij`` with the weights taken from the scores."""
    dens = pair_densities(get_kernel(kernel), norm)
    size = G.shape[0]
    C = sp.zeros(size, size)
    for h in scalars:
        W = G.applyfunc(lambda g, h=h: dens.weight.subs(s, h * g)).subs(n, size)
        if dens.normalised:
            for i in range(size):
                Z = sum(W[i, :])
                W[i, :] = W[i, :] / Z
        C += h * W
    return C


def invariance_residuals(
    kernel: str, norm: str, n_tokens: int, H: int = 2
) -> list[sp.Expr]:
    """Residuals whose vanishing proves the equiangular set invariant at size n.

    Builds the Gram matrix ``(1 - rho) I + rho 1 1^T`` of ``n_tokens`` tokens,
    the velocity coefficients from the scores entry by entry, and ``dG/dt`` by
    :func:`gram_rates`.  The residuals are the diagonal rates (the flow stays on
    the sphere) and, for every pair ``i < k``, the pair rate minus
    :func:`rho_rate` at ``n = n_tokens``.  All vanish identically, so the vector
    field is tangent to the equiangular set; the Gram matrix obeys an
    autonomous equation, and uniqueness of its solutions keeps a solution that
    starts equiangular equiangular.

    Examples
    --------
    >>> res = invariance_residuals("exp", "sa", 3, H=1)
    >>> len(res), all(is_identity(r, 0) for r in res)
    (6, True)
    """
    kernel, norm = _variant(kernel, norm)
    scalars = head_scalars(H, positive=kernel == "relu")
    inner = _rho_pos if kernel == "relu" else rho
    G = sp.Matrix(n_tokens, n_tokens, lambda i, k: 1 if i == k else inner)
    Gdot = gram_rates(G, _explicit_coefficients(kernel, norm, scalars, G))
    reduced = _branch_rate(kernel, norm, scalars, inner).subs(n, n_tokens)
    out = [Gdot[i, i] for i in range(n_tokens)]
    out += [
        Gdot[i, k] - reduced for i in range(n_tokens) for k in range(i + 1, n_tokens)
    ]
    if kernel == "relu":
        # the frozen branch: every rate vanishes when rho <= 0
        G0 = G.subs(_rho_pos, _rho_neg)
        Gdot0 = gram_rates(G0, _explicit_coefficients(kernel, norm, scalars, G0))
        out += [Gdot0[i, k] for i in range(n_tokens) for k in range(i, n_tokens)]
    return out


def _rational(expr: sp.Expr) -> sp.Expr:
    """Replace exponentials by independent symbols, making ``expr`` rational."""
    expr = sp.expand(sp.sympify(expr), power_exp=True, mul=False, multinomial=False)
    table: dict = {}

    def symbol(arg):
        arg = sp.expand(arg)
        if arg.could_extract_minus_sign():
            return 1 / symbol(-arg)
        if arg not in table:
            table[arg] = sp.Dummy("E")
        return table[arg]

    return expr.replace(lambda e: isinstance(e, sp.exp), lambda e: symbol(e.args[0]))


def is_identity(lhs, rhs) -> bool:
    """Whether ``lhs == rhs`` holds identically.

    Exponentials are first replaced by independent symbols; the difference then
    is a rational function, and ``cancel`` reducing it to zero proves the
    identity (a zero rational function stays zero under any substitution).
    Falls back to :func:`sympy.simplify`.

    Examples
    --------
    >>> is_identity(sp.exp(beta * (1 - rho)), sp.exp(beta) / sp.exp(beta * rho))
    True
    >>> is_identity(rho**2, rho)
    False
    """
    diff = sp.sympify(lhs) - sp.sympify(rhs)
    rational = _rational(diff)
    # num / den with den a nonzero rational function: num = 0 proves it
    if sp.expand(sp.numer(sp.together(rational))) == 0:
        return True
    if sp.cancel(rational) == 0:
        return True
    return sp.simplify(diff) == 0


# ---------------------------------------------------------------------------
# quantities read off the reduced equation
# ---------------------------------------------------------------------------


def linearisation(expr: sp.Expr, at) -> tuple[sp.Expr, sp.Expr]:
    """Value and slope of a rate ``F(rho)`` at ``rho = at``.

    For a relu ``Piecewise`` the branch holding at ``at`` is used (probed at
    ``n = 3`` for points that depend on ``n``), except at ``rho = 0`` where the
    branch ``rho > 0`` gives the right derivative.

    Examples
    --------
    >>> linearisation(rho_rate("exp", "sa"), 1)
    (0, -2*m)
    >>> linearisation(rho_rate("relu", "sa"), 0)
    (0, 2*m)
    >>> linearisation(rho_rate("relu", "sa"), -1 / (n - 1))
    (0, 0)
    """
    if isinstance(expr, sp.Piecewise):
        at = sp.sympify(at)
        if at == 0:
            expr = expr.args[0][0]
        else:
            probe = {rho: at.subs(n, 3)}
            expr = next(
                piece for piece, cond in expr.args if bool(sp.sympify(cond).subs(probe))
            )
    value = sp.simplify(expr.subs(rho, at))
    slope = sp.simplify(sp.diff(expr, rho).subs(rho, at))
    return value, slope


def self_weight(kernel: str = "exp", norm: str = "sa", scalar=m) -> sp.Expr:
    """Weight a head puts on the token itself at the equiangular configuration.

    Examples
    --------
    >>> self_weight()
    exp(beta*m)/((n - 1)*exp(beta*m*rho) + exp(beta*m))
    """
    return token_weights(kernel, norm, scalar, rho)[0]


@lru_cache(maxsize=None)
def critical_beta() -> sp.Expr:
    """The inverse temperature at which a softmax exp head weighs itself 1/2.

    Solves ``a = 1/2`` for ``beta``, ``a`` the self weight of
    :func:`self_weight` with a positive scalar; the row sum is positive, so the
    equation is equivalent to its cross-multiplied numerator.

    Examples
    --------
    >>> critical_beta()
    -log(n - 1)/(m*(rho - 1))
    """
    a = self_weight(scalar=_m_pos)
    numerator, _ = sp.fraction(sp.together(a - sp.Rational(1, 2)))
    roots = sp.solve(numerator, beta)
    if len(roots) != 1:
        raise RuntimeError(f"expected one critical inverse temperature, got {roots}")
    return roots[0].subs(_m_pos, m)


def mixed_sign_rate() -> sp.Expr:
    """The usa exp rate of two heads with scalars ``m_plus`` and ``-mu``.

    Examples
    --------
    >>> rate = mixed_sign_rate()
    >>> sp.Add.make_args(rate)[0]
    -2*m_+*(rho - 1)*(n*rho - rho + 1)*exp(beta*m_+*rho)/n
    >>> sp.Add.make_args(rate)[1]
    2*mu*(rho - 1)*(n*rho - rho + 1)*exp(-beta*mu*rho)/n
    """
    return rho_rate("exp", "usa", (m_plus, -mu))


@lru_cache(maxsize=None)
def mixed_equilibrium() -> sp.Expr:
    """The interior zero ``rho*`` of :func:`mixed_sign_rate`.

    The zeros ``rho = 1`` and ``rho = -1/(n-1)`` of the factor ``u`` are set
    aside by dividing it out before solving.

    Examples
    --------
    >>> mixed_equilibrium()
    (-log(m_+) + log(mu))/(beta*(m_+ + mu))
    """
    bracket = sp.cancel(mixed_sign_rate() / (2 * _u() / n))
    roots = sp.solve(bracket, rho)
    real = [r for r in roots if r.is_real is not False and not r.has(sp.I)]
    if len(real) != 1:
        raise RuntimeError(f"expected one interior equilibrium, got {roots}")
    return real[0]


@lru_cache(maxsize=None)
def mixed_threshold() -> sp.Expr:
    """Inverse temperature at which ``rho*`` reaches the start ``rho_0``.

    Above it ``rho* < rho_0`` and the tokens cluster (when ``mu > m_plus``).

    Examples
    --------
    >>> mixed_threshold()
    (-log(m_+) + log(mu))/(rho_0*(m_+ + mu))
    """
    roots = sp.solve(mixed_equilibrium() - rho_0, beta)
    if len(roots) != 1:
        raise RuntimeError(f"expected one threshold, got {roots}")
    return roots[0]


@lru_cache(maxsize=None)
def relu_softmax_clustering_time(scalars: tuple | None = None) -> sp.Expr:
    """Time for softmax relu heads to go from ``rho_0`` to ``rho_1`` in (0, 1).

    Integrates ``1 / rho'`` on the branch ``rho > 0``.  SymPy's antiderivative
    contains ``log(rho - 1)``; for ``rho < 1`` it equals ``log(1 - rho) + i pi``
    and the two constants cancel in the difference.

    Examples
    --------
    >>> relu_softmax_clustering_time()
    log(rho_1*(1 - rho_0)/(rho_0*(1 - rho_1)))/(2*m)
    >>> relu_softmax_clustering_time(head_scalars(2, positive=True))
    log(rho_1*(1 - rho_0)/(rho_0*(1 - rho_1)))/(2*(m_1 + m_2))
    """
    scalars = (_m_pos,) if scalars is None else tuple(scalars)
    rate = rho_rate("relu", "sa", scalars).args[0][0]
    # the heads enter through their sum only: integrate with one symbol for it
    K = sp.Symbol("K", positive=True)
    rate = sp.factor(rate.subs(scalars[0], K - sp.Add(*scalars[1:])))
    if rate.has(*scalars[1:]):
        raise RuntimeError(f"the sa relu rate {rate} is not a function of sum m_h")
    r = sp.Symbol("r", positive=True)
    T = sp.integrate(1 / rate.subs(rho, r), (r, rho_0, rho_1))
    T = T.replace(
        lambda e: isinstance(e, sp.log) and e.args[0] in (rho_0 - 1, rho_1 - 1),
        lambda e: sp.log(-e.args[0]) + sp.I * sp.pi,
    )
    # one common factor in front of a single logarithm
    factor, logs = sp.factor_terms(sp.expand(T)).as_independent(sp.log)
    T = (factor * sp.logcombine(sp.expand(logs), force=True)).subs(K, sp.Add(*scalars))
    return T.subs(_m_pos, m) if scalars == (_m_pos,) else T


@dataclass(frozen=True)
class GramRoot:
    """``R = alpha I + gamma 1 1^T`` with ``R^2 = (1 - rho) I + rho 1 1^T``."""

    alpha: sp.Expr
    gamma: sp.Expr


@lru_cache(maxsize=None)
def gram_root() -> GramRoot:
    """The positive square root of the equiangular Gram matrix.

    With ``J = 1 1^T`` and ``J^2 = n J``, ``(alpha I + gamma J)^2`` has
    coefficients ``alpha^2`` and ``2 alpha gamma + n gamma^2``; solving against
    ``1 - rho`` and ``rho`` and keeping the root with positive eigenvalues
    ``alpha`` and ``alpha + n gamma`` gives the rows of an equiangular start.

    Examples
    --------
    >>> R = gram_root()
    >>> R.alpha
    sqrt(1 - rho)
    >>> sp.simplify(R.alpha + n * R.gamma)
    sqrt(n*rho - rho + 1)
    >>> I, J = sp.eye(3), sp.ones(3, 3)
    >>> root = (R.alpha * I + R.gamma * J).subs(n, 3)
    >>> sp.simplify(root**2 - ((1 - rho) * I + rho * J))
    Matrix([
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0]])
    """
    alpha, gamma = sp.symbols("alpha gamma")
    probe = {rho: sp.Rational(1, 3), n: 5}
    # the eigenvalue 1 - rho on the complement of 1: alpha = +sqrt(1 - rho)
    alphas = [a for a in sp.solve(alpha**2 - (1 - rho), alpha) if a.subs(probe) > 0]
    roots = sp.solve(2 * alphas[0] * gamma + n * gamma**2 - rho, gamma)
    for g in roots:
        # the eigenvalue on 1 is alpha + n gamma, which must be positive
        if (alphas[0] + n * g).subs(probe) > 0:
            return GramRoot(alphas[0], sp.simplify(g))
    raise RuntimeError(f"no positive square root among {roots}")
