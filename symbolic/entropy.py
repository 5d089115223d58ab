"""Entropy production of attention rows, derived and proved in SymPy.

One attention row of length ``k`` has scores ``s_j(t)`` that are arbitrary
differentiable functions of time, so every statement here holds for any
dynamics of the tokens.  The row's weights are the exp softmax
``p_j = exp(beta s_j) / sum_l exp(beta s_l)`` and its entropy
``S = -sum_j p_j log p_j``.  SymPy differentiates ``S`` and ``p_j`` in ``t``;
the results are compared with closed forms built from

.. math:: \\dot p_j = \\beta p_j (\\dot s_j - \\langle \\dot s\\rangle_p), \\qquad
          \\dot S = -\\beta^2 \\operatorname{Cov}_p(s, \\dot s),

and the differences are reduced to zero exactly: ``exp(beta s_j)`` and
``s_j'`` become independent symbols, and the exact change of variables
``exp(beta s_j) = Z q_j`` with ``sum_j q_j = 1`` turns each difference into a
polynomial that expands to 0 (:meth:`EntropyRow.reduce`).

The equiangular part follows Geshkovski, Letrouit, Polyanskiy and Rigollet
(arXiv:2312.10794, section 6): with a scalar head ``M = m I`` on the sphere and
all pairwise inner products equal to ``rho``, a row has the self score ``m`` and
``n - 1`` scores ``m rho``, so its self weight is ``a`` and the other weights are
``(1 - a) / (n - 1)``.  The entropy becomes a function ``S(rho)`` and its rate
``S'(rho) rho'``.

Symbols: :data:`beta` and :data:`n` are those of :mod:`symbolic.model`;
:data:`m`, :data:`rho`, :data:`rho_dot` and the row symbols are defined here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import sympy as sp

from .energy import IdentityResult
from .equiangular import m, rho, rho_rate
from .errors import InvalidArgumentError
from .model import beta, n, pair_densities, s

__all__ = [
    "t",
    "m",
    "rho",
    "rho_dot",
    "p",
    "s_mean",
    "s_dot",
    "s_dot_mean",
    "COVARIANCE_ARGS",
    "covariance_density",
    "EntropyRow",
    "prove_entropy_identity",
    "prove_weight_identity",
    "equiangular_self_weight",
    "equiangular_entropy",
    "equiangular_entropy_rate",
    "claimed_equiangular_rate",
    "prove_equiangular_rate",
    "equiangular_rate_nonnegative",
    "sa_exp_rate_nonnegative",
    "entropy_limit_at_cluster",
    "self_weight_variance_peak",
    "critical_beta",
]

#: Time.
t = sp.Symbol("t", real=True)
#: Its time derivative, an independent symbol.
rho_dot = sp.Symbol("rho_dot", real=True)

#: One attention weight, the row's mean score, one score rate, their mean.
p = sp.Symbol("p", nonnegative=True)
s_mean = sp.Symbol("s_mean", real=True)
s_dot = sp.Symbol("s_dot", real=True)
s_dot_mean = sp.Symbol("s_dot_mean", real=True)

#: Argument order of :func:`covariance_density` for code generation.
COVARIANCE_ARGS = (p, s, s_mean, s_dot, s_dot_mean, beta)


def covariance_density() -> sp.Expr:
    """One entry's share of ``-beta^2 Cov_p(s, s')``, in centred form.

    Summed over a row, ``p_j (s_j - <s>)(s_j' - <s'>)`` is the covariance; the
    centred form avoids the cancellation of ``<s s'> - <s><s'>`` in floats.
    :func:`prove_entropy_identity` proves that the row sum equals ``dS/dt``.

    Returns
    -------
    sympy.Expr
        An expression in :data:`COVARIANCE_ARGS`.

    Examples
    --------
    >>> covariance_density()
    -beta**2*p*(s - s_mean)*(s_dot - s_dot_mean)
    """
    return -(beta**2) * p * (s - s_mean) * (s_dot - s_dot_mean)


# ---------------------------------------------------------------------------
# one attention row with time-dependent scores
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EntropyRow:
    """An attention row of ``k`` scores ``s_j(t)``, differentiated by SymPy.

    After differentiation every ``s_j(t)`` becomes the symbol ``s_j``, every
    ``s_j'(t)`` the symbol ``s_dot_j`` and every ``exp(beta s_j)`` the positive
    symbol ``e_j``; the weights are then ``p_j = e_j / sum_l e_l``.

    Parameters
    ----------
    k : int
        Row length, at least 2.

    Examples
    --------
    >>> row = EntropyRow(2)
    >>> row.weights[0]
    e_0/(e_0 + e_1)
    >>> row.mean(row.score_rates)
    e_0*s_dot_0/(e_0 + e_1) + e_1*s_dot_1/(e_0 + e_1)
    """

    k: int

    def __post_init__(self):
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 2:
            raise InvalidArgumentError(
                "k",
                self.k,
                "a row needs an integer length >= 2",
                "pass a small explicit length such as 2..5",
            )

    # -- symbols -------------------------------------------------------------

    @cached_property
    def scores(self) -> tuple[sp.Symbol, ...]:
        """``s_0 ... s_{k-1}``."""
        return sp.symbols(f"s_0:{self.k}", real=True)

    @cached_property
    def score_rates(self) -> tuple[sp.Symbol, ...]:
        """``s_dot_0 ... s_dot_{k-1}``, standing for ``s_j'(t)``."""
        return sp.symbols(f"s_dot_0:{self.k}", real=True)

    @cached_property
    def exps(self) -> tuple[sp.Symbol, ...]:
        """``e_0 ... e_{k-1}``, standing for ``exp(beta s_j)``."""
        return sp.symbols(f"e_0:{self.k}", positive=True)

    @cached_property
    def weights(self) -> tuple[sp.Expr, ...]:
        """``p_j = e_j / sum_l e_l``."""
        Z = sp.Add(*self.exps)
        return tuple(e / Z for e in self.exps)

    def mean(self, values) -> sp.Expr:
        """``<f>_p = sum_j p_j f_j``."""
        return sp.Add(*(pj * fj for pj, fj in zip(self.weights, values)))

    # -- the row as functions of time ----------------------------------------

    @cached_property
    def _paths(self) -> tuple[sp.Expr, ...]:
        return tuple(sp.Function(f"s_{j}", real=True)(t) for j in range(self.k))

    def _timed_weights(self) -> list[sp.Expr]:
        phis = [sp.exp(beta * sj) for sj in self._paths]
        Z = sp.Add(*phis)
        return [phi / Z for phi in phis]

    def _freeze(self, expr: sp.Expr) -> sp.Expr:
        """Replace ``s_j'(t)``, ``s_j(t)`` and ``exp(beta s_j)`` by symbols."""
        rates = {
            sp.Derivative(sj, t): dj for sj, dj in zip(self._paths, self.score_rates)
        }
        expr = expr.xreplace(rates).xreplace(dict(zip(self._paths, self.scores)))
        # log(exp(beta s_j) / Z) = beta s_j - log Z for real scores
        expr = sp.expand_log(expr, force=True)
        exps = {sp.exp(beta * sj): ej for sj, ej in zip(self.scores, self.exps)}
        frozen = expr.xreplace(exps)
        # subs also matches powers such as exp(2 beta s_j)
        return frozen.subs(exps) if frozen.has(sp.exp) else frozen

    def reduce(self, difference: sp.Expr) -> IdentityResult:
        """Decide ``difference == 0`` for an expression in the row's symbols.

        The change of variables ``e_j = Z q_j`` with ``Z = sum_l e_l`` and
        ``q_{k-1} = 1 - sum_{j<k-1} q_j`` is exact; every expression built from
        the weights is homogeneous of degree 0 in the ``e_j``, so ``Z`` cancels
        in the expansion and what is left is a polynomial (with ``log Z`` as one
        more variable) that vanishes exactly when it expands to 0.
        """
        Z = sp.Symbol("Z", positive=True)
        q = sp.symbols(f"q_0:{self.k}", positive=True)
        expr = difference.xreplace({sp.Add(*self.exps): Z})
        expr = sp.expand(expr.xreplace({e: Z * qj for e, qj in zip(self.exps, q)}))
        expr = sp.expand(expr.xreplace({q[-1]: 1 - sp.Add(*q[:-1])}))
        if expr != 0:
            # a normaliser left in a denominator: fall back to cancellation
            return _reduce(expr)
        return IdentityResult(True, sp.Integer(0), 0)

    @cached_property
    def entropy_rate(self) -> sp.Expr:
        """``dS/dt`` of ``S = -sum_j p_j log p_j``, by SymPy's chain rule."""
        S = -sp.Add(*(pj * sp.log(pj) for pj in self._timed_weights()))
        return self._freeze(sp.diff(S, t))

    @cached_property
    def weight_rates(self) -> tuple[sp.Expr, ...]:
        """``dp_j/dt`` for every ``j``, by SymPy's chain rule."""
        return tuple(self._freeze(sp.diff(pj, t)) for pj in self._timed_weights())

    # -- closed forms ----------------------------------------------------------

    def covariance_rate(self, density: sp.Expr | None = None) -> sp.Expr:
        """The row sum of ``density`` (default :func:`covariance_density`)."""
        density = covariance_density() if density is None else density
        sbar = self.mean(self.scores)
        dbar = self.mean(self.score_rates)
        return sp.Add(
            *(
                density.subs(
                    {p: pj, s: sj, s_mean: sbar, s_dot: dj, s_dot_mean: dbar},
                    simultaneous=True,
                )
                for pj, sj, dj in zip(self.weights, self.scores, self.score_rates)
            )
        )

    def claimed_weight_rate(self, j: int) -> sp.Expr:
        """``beta p_j (s_j' - <s'>_p)``."""
        return (
            beta * self.weights[j] * (self.score_rates[j] - self.mean(self.score_rates))
        )


def _reduce(difference: sp.Expr) -> IdentityResult:
    """Decide ``difference == 0`` by rational cancellation."""
    residual = sp.cancel(sp.together(difference))
    terms = 0 if residual == 0 else len(sp.Add.make_args(sp.expand(residual)))
    return IdentityResult(residual == 0, residual, terms)


Candidate = sp.Expr | Callable[[EntropyRow], sp.Expr] | None


def prove_entropy_identity(k: int, candidate: Candidate = None) -> IdentityResult:
    """Decide whether ``dS/dt`` of a row of length ``k`` equals ``candidate``.

    Parameters
    ----------
    k : int
        Row length, at least 2.
    candidate : sympy.Expr or callable, optional
        The claimed rate in the symbols of :class:`EntropyRow` ``(k)``, or a
        function of the row returning it.  Defaults to the row sum of
        :func:`covariance_density`, i.e. ``-beta^2 Cov_p(s, s')``.

    Returns
    -------
    IdentityResult
        ``holds`` is true exactly when the difference cancels to 0.

    Examples
    --------
    >>> prove_entropy_identity(3).holds
    True
    >>> wrong = lambda r: r.covariance_rate(covariance_density() / beta)
    >>> prove_entropy_identity(3, wrong).holds
    False
    """
    row = EntropyRow(k)
    if candidate is None:
        claimed = row.covariance_rate()
    elif callable(candidate) and not isinstance(candidate, sp.Basic):
        claimed = candidate(row)
    else:
        claimed = sp.sympify(candidate)
    return row.reduce(row.entropy_rate - claimed)


def prove_weight_identity(k: int, candidate: Callable | None = None) -> IdentityResult:
    """Decide ``dp_j/dt == candidate(row, j)`` for every ``j`` of a row.

    ``candidate`` defaults to :meth:`EntropyRow.claimed_weight_rate`,
    ``beta p_j (s_j' - <s'>_p)``.  Each ``j`` is reduced on its own;
    ``holds`` is true only if every residual cancels, and the first residual
    that does not is returned.

    Examples
    --------
    >>> prove_weight_identity(4).holds
    True
    >>> prove_weight_identity(2, lambda r, j: beta * r.weights[j] * r.score_rates[j]
    ...                       ).holds
    False
    """
    row = EntropyRow(k)
    claim = candidate or (lambda r, j: r.claimed_weight_rate(j))
    results = [row.reduce(row.weight_rates[j] - claim(row, j)) for j in range(k)]
    failed = [r for r in results if not r.holds]
    if not failed:
        return IdentityResult(True, sp.Integer(0), 0)
    return IdentityResult(False, failed[0].residual, sum(r.terms for r in failed))


# ---------------------------------------------------------------------------
# the equiangular reduction
# ---------------------------------------------------------------------------


def _row_weights(kernel: str, norm: str, head: sp.Expr = m):
    """Self weight and the weight of one other token, from the model's densities.

    A scalar head ``head * I`` on the unit sphere gives the self score ``head``
    and the other scores ``head * rho``.
    """
    w = pair_densities(kernel, norm).weight
    own, other = w.subs(s, head), w.subs(s, head * rho)
    if norm == "sa":
        Z = own + (n - 1) * other
        own, other = own / Z, other / Z
    return own, other


def _equiangular_rho_rate(
    kernel: str = "exp", norm: str = "sa", head: sp.Expr = m
) -> sp.Expr:
    """``rho'`` of one scalar head on an equiangular sphere configuration.

    Derived from the particle model in :func:`symbolic.equiangular.rho_rate`;
    heads add, so the rate of several heads is the sum of theirs.  Relu heads
    are taken positive, as that derivation requires.
    """
    if kernel == "relu" and not head.is_positive:
        positive = sp.Dummy("m", positive=True)
        return sp.factor(rho_rate(kernel, norm, [positive]).subs(positive, head))
    return sp.factor(rho_rate(kernel, norm, [head]))


def equiangular_self_weight(head: sp.Expr = m) -> sp.Expr:
    """Self weight ``a`` of the exp softmax on an equiangular configuration.

    Examples
    --------
    >>> equiangular_self_weight()
    exp(beta*m)/((n - 1)*exp(beta*m*rho) + exp(beta*m))
    """
    return _row_weights("exp", "sa", head)[0]


def equiangular_entropy(head: sp.Expr = m) -> sp.Expr:
    """Row entropy ``S(rho) = -a log a - (n-1) b log b``, ``b = (1 - a)/(n - 1)``.

    Examples
    --------
    >>> sp.simplify(equiangular_entropy().subs(rho, 1))
    log(n)
    """
    a, b = _row_weights("exp", "sa", head)
    return -a * sp.log(a) - (n - 1) * b * sp.log(b)


def equiangular_entropy_rate(head: sp.Expr = m) -> sp.Expr:
    """``dS/dt = S'(rho) rho'`` with ``rho'`` the free symbol :data:`rho_dot`.

    Examples
    --------
    >>> equiangular_entropy_rate().has(rho_dot, sp.log)
    True
    """
    return sp.diff(equiangular_entropy(head), rho) * rho_dot


def claimed_equiangular_rate(head: sp.Expr = m) -> sp.Expr:
    """``beta^2 m^2 a (1 - a)(1 - rho) rho'``.

    Examples
    --------
    >>> claimed_equiangular_rate().has(beta, m, rho, rho_dot)
    True
    """
    a = equiangular_self_weight(head)
    return beta**2 * head**2 * a * (1 - a) * (1 - rho) * rho_dot


def _exp_atoms(expr: sp.Expr) -> dict:
    """Independent positive symbols for the exponentials of ``expr``."""
    atoms = sorted(expr.atoms(sp.exp), key=sp.default_sort_key)
    return {e: sp.Symbol(f"q_{k}", positive=True) for k, e in enumerate(atoms)}


def prove_equiangular_rate(
    candidate: sp.Expr | None = None, head: sp.Expr = m
) -> IdentityResult:
    """Decide ``S'(rho) rho' == candidate`` (default :func:`claimed_equiangular_rate`).

    Logarithms of products are split (all factors are positive), the
    exponentials become independent positive symbols and the difference is
    cancelled as a rational function; ``n`` stays symbolic.

    Examples
    --------
    >>> prove_equiangular_rate().holds
    True
    >>> prove_equiangular_rate(claimed_equiangular_rate() * (1 - rho)).holds
    False
    """
    claimed = claimed_equiangular_rate(head) if candidate is None else candidate
    difference = sp.expand_log(equiangular_entropy_rate(head) - claimed, force=True)
    # subs (not xreplace) also turns exp(2 beta m rho) into q_rho**2
    q_self, q_other = sp.symbols("q_self q_other", positive=True)
    difference = difference.subs(
        {sp.exp(beta * head): q_self, sp.exp(beta * head * rho): q_other}
    )
    if difference.has(sp.exp):
        raise ArithmeticError(f"unexpected exponentials in {difference}")
    return _reduce(difference)


def _nonnegative_form(expr: sp.Expr) -> sp.Expr:
    """``expr`` with ``rho = 1 - delta``, ``n = 1 + k``, exponentials positive."""
    delta = sp.Symbol("delta", nonnegative=True)
    k = sp.Symbol("k", positive=True)
    expr = sp.together(expr.subs({rho: 1 - delta, n: 1 + k}))
    return sp.factor(expr.xreplace(_exp_atoms(expr)))


def equiangular_rate_nonnegative() -> bool:
    """Whether SymPy's assumptions make ``beta^2 m^2 a(1-a)(1-rho) rho' >= 0``.

    Assumed: ``rho <= 1``, ``n >= 2``, ``rho' >= 0``; ``m`` any real number.
    Every factor of the rate is then a square, a positive exponential, or
    non-negative by assumption.

    Examples
    --------
    >>> equiangular_rate_nonnegative()
    True
    """
    rate = claimed_equiangular_rate().subs(
        rho_dot, sp.Symbol("rho_dot", nonnegative=True)
    )
    return bool(_nonnegative_form(rate).is_nonnegative)


def sa_exp_rate_nonnegative() -> bool:
    """Whether ``dS/dt >= 0`` with the ``sa`` exp ``rho'`` and ``m > 0``.

    On the equiangular range ``-1/(n-1) <= rho <= 1``, written as
    ``rho = (sigma - 1)/(n - 1)`` with ``0 <= sigma <= n``, the rate is a
    product of a positive head, squares, exponentials and ``sigma``.

    Examples
    --------
    >>> sa_exp_rate_nonnegative()
    True
    """
    mp_ = sp.Symbol("m", positive=True)
    rate = claimed_equiangular_rate(mp_).subs(
        rho_dot, _equiangular_rho_rate("exp", "sa", mp_)
    )
    sigma = sp.Symbol("sigma", nonnegative=True)
    k = sp.Symbol("k", positive=True)
    expr = sp.together(rate.subs(rho, (sigma - 1) / (n - 1)).subs(n, 1 + k))
    expr = sp.factor(expr.xreplace(_exp_atoms(expr)))
    return bool(expr.is_nonnegative)


def entropy_limit_at_cluster(head: sp.Expr = m) -> sp.Expr:
    """``lim_{rho -> 1^-} S(rho)``, computed by :func:`sympy.limit`.

    Examples
    --------
    >>> entropy_limit_at_cluster()
    log(n)
    """
    return sp.simplify(sp.limit(equiangular_entropy(head), rho, 1, dir="-"))


def self_weight_variance_peak() -> tuple[sp.Expr, sp.Expr]:
    """Stationary point of ``a (1 - a)`` and the second derivative there.

    Returns
    -------
    (a_star, curvature) : tuple of sympy.Expr
        The unique solution of ``d/da [a (1 - a)] = 0`` and the value of the
        second derivative, negative at a maximum.

    Examples
    --------
    >>> self_weight_variance_peak()
    (1/2, -2)
    """
    a = sp.Symbol("a", real=True)
    f = a * (1 - a)
    (a_star,) = sp.solve(sp.diff(f, a), a)
    return a_star, sp.diff(f, a, 2).subs(a, a_star)


@lru_cache(maxsize=1)
def critical_beta() -> sp.Expr:
    """The inverse temperature at which the self weight ``a`` equals ``1/2``.

    Solved for ``beta`` by :func:`sympy.solve` from ``a(beta) = 1/2`` with the
    self weight of :func:`equiangular_self_weight`.

    Examples
    --------
    >>> inverse = sp.powsimp(sp.expand(1 / equiangular_self_weight()))
    >>> sp.simplify(inverse.subs(beta, critical_beta()))
    2
    """
    a_star, _ = self_weight_variance_peak()
    solutions = sp.solve(sp.Eq(equiangular_self_weight(), a_star), beta)
    if len(solutions) != 1:
        raise ArithmeticError(
            f"a(beta) = {a_star} has {len(solutions)} solutions {solutions}; "
            "expected exactly one"
        )
    return sp.simplify(solutions[0])
