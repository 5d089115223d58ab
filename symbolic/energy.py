"""Exact energy-rate identities for explicit small systems.

A :class:`SymbolicSystem` has ``n`` tokens in dimension ``d`` with ``H`` heads,
every coordinate and matrix entry a symbol, and an undefined kernel ``phi_h`` per
head with energy density ``Phi_h`` (``Phi_h' = phi_h``).  The energy is
differentiated in time by SymPy's chain rule on ``x_i(t)``; the resulting rate is
compared with a claimed closed form, and the difference is reduced to zero
exactly: kernel values become opaque symbols and, on the sphere, the remainder
is taken modulo the ideal of the constraints ``|x_i|^2 = 1``.

An identity proved here holds for every kernel, every symmetric (or, where
stated, orthogonal) choice of the matrices and every configuration of that size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

__all__ = ["SymbolicSystem", "IdentityResult", "reduce_identity"]

_t = sp.Symbol("t", real=True)


@dataclass(frozen=True)
class IdentityResult:
    """Outcome of :func:`reduce_identity`: ``holds`` and the reduced residual."""

    holds: bool
    residual: sp.Expr
    terms: int

    def __bool__(self) -> bool:
        return self.holds


@dataclass
class SymbolicSystem:
    """``n`` symbolic tokens in ``R^d`` with ``H`` symbolic heads.

    Parameters
    ----------
    n, d, H : int
        Sizes.
    heads : {"symmetric", "general", "orthogonal"}
        ``symmetric``: each ``M_h`` a symmetric matrix of symbols; ``general``:
        unconstrained entries; ``orthogonal``: symmetric heads acting on
        disjoint blocks of coordinates, so that ``M_h M_h' = 0`` for ``h != h'``
        (needs ``d >= H``).

    Examples
    --------
    >>> sys = SymbolicSystem(2, 2, 1)
    >>> bool(reduce_identity(sys.energy_rate("flat"), sys.claimed_total_rate("flat"),
    ...                      sys, sphere=False))
    True
    """

    n: int
    d: int
    H: int
    heads: str = "symmetric"
    _cache: dict = field(default_factory=dict, repr=False)

    # -- symbols -------------------------------------------------------------

    @cached_property
    def X(self) -> sp.Matrix:
        """Token coordinates ``x_{i a}``, shape (n, d)."""
        return sp.Matrix(self.n, self.d, lambda i, a: sp.Symbol(f"x_{i}{a}", real=True))

    @cached_property
    def M(self) -> list[sp.Matrix]:
        """Score matrices, one per head."""
        return [self._matrix(h) for h in range(self.H)]

    def _matrix(self, h: int) -> sp.Matrix:
        def entry(a, b):
            if self.heads == "general":
                return sp.Symbol(f"m_{h}{a}{b}", real=True)
            lo, hi = sorted((a, b))
            return sp.Symbol(f"m_{h}{lo}{hi}", real=True)

        full = sp.Matrix(self.d, self.d, entry)
        if self.heads != "orthogonal":
            return full
        if self.d < self.H:
            raise ValueError(
                f"orthogonal heads need d >= H, got d={self.d}, H={self.H}"
            )
        blocks = [list(range(self.d))[k :: self.H] for k in range(self.H)]
        mask = sp.Matrix(
            self.d, self.d, lambda a, b: int(a in blocks[h] and b in blocks[h])
        )
        return full.multiply_elementwise(mask)

    @cached_property
    def phi(self) -> list[sp.Function]:
        """Undefined kernel of each head."""
        return [sp.Function(f"phi_{h}") for h in range(self.H)]

    @cached_property
    def Phi(self) -> list[sp.Function]:
        """Undefined energy density of each head, ``Phi_h' = phi_h``."""
        return [sp.Function(f"Phi_{h}") for h in range(self.H)]

    def x(self, i: int) -> sp.Matrix:
        return self.X[i, :].T

    def score(self, h: int, i: int, j: int, X: sp.Matrix | None = None) -> sp.Expr:
        """``s^h_ij = <x_i, M_h x_j>``, expanded (canonical for symmetric M)."""
        X = self.X if X is None else X
        return sp.expand((X[i, :] * self.M[h] * X[j, :].T)[0, 0])

    # -- the model -----------------------------------------------------------

    def weight(self, h: int, i: int, j: int) -> sp.Expr:
        """``usa`` weight ``phi_h(s^h_ij) / n``."""
        return self.phi[h](self.score(h, i, j)) / self.n

    def head_output(self, h: int, i: int) -> sp.Matrix:
        """``f_i^h = sum_j w^h_ij M_h x_j``."""
        return sum(
            (self.weight(h, i, j) * self.M[h] * self.x(j) for j in range(self.n)),
            sp.zeros(self.d, 1),
        )

    def velocity(self, i: int, geometry: str) -> sp.Matrix:
        v = sum((self.head_output(h, i) for h in range(self.H)), sp.zeros(self.d, 1))
        return self.project(i, v) if geometry == "sphere" else v

    def project(self, i: int, v: sp.Matrix) -> sp.Matrix:
        """``P_i v = v - <v, x_i> x_i``."""
        x = self.x(i)
        return v - (v.T * x)[0, 0] * x

    def energy(self, h: int, X: sp.Matrix | None = None) -> sp.Expr:
        """``E_h = 1/(2 n^2) sum_ij Phi_h(s^h_ij)``."""
        return sum(
            self.Phi[h](self.score(h, i, j, X))
            for i in range(self.n)
            for j in range(self.n)
        ) / (2 * self.n**2)

    # -- time derivatives ----------------------------------------------------

    def energy_rate(self, geometry: str, head: int | None = None) -> sp.Expr:
        """``dE_h/dt`` (or ``dE/dt``) by the chain rule along the flow.

        The tokens become functions of ``t``, SymPy differentiates the energy,
        ``Phi_h'`` is replaced by ``phi_h`` and ``x_i'`` by the velocity.
        """
        heads = range(self.H) if head is None else [head]
        Xt = sp.Matrix(self.n, self.d, lambda i, a: sp.Function(f"x_{i}{a}")(_t))
        E = sum(self.energy(h, Xt) for h in heads)
        dE = sp.diff(E, _t)

        # Phi_h'(u) -> phi_h(u): the defining property of the energy density
        for h in heads:
            dE = dE.replace(
                lambda e: (
                    isinstance(e, sp.Subs)
                    and e.expr.func == sp.Derivative
                    and e.expr.args[0].func == self.Phi[h]
                ),
                lambda e, h=h: self.phi[h](*e.point),
            )
            dE = dE.replace(
                lambda e: (
                    isinstance(e, sp.Derivative) and e.args[0].func == self.Phi[h]
                ),
                lambda e, h=h: self.phi[h](*e.args[0].args),
            )

        # x_i'(t) -> velocity, then x_i(t) -> x_i
        velocity = {i: self.velocity(i, geometry) for i in range(self.n)}
        rates = {
            sp.Derivative(Xt[i, a], _t): velocity[i][a]
            for i in range(self.n)
            for a in range(self.d)
        }
        points = {Xt[i, a]: self.X[i, a] for i in range(self.n) for a in range(self.d)}
        dE = dE.subs(rates).subs(points)
        return _canonical_kernels(dE)

    # -- the claimed closed forms -------------------------------------------

    def claimed_total_rate(self, geometry: str) -> sp.Expr:
        """``(1/n) sum_i |v_i|^2`` (flat) or ``(1/n) sum_i |P_i v_i|^2`` (sphere)."""
        total = 0
        for i in range(self.n):
            v = self.velocity(i, geometry)
            total += (v.T * v)[0, 0]
        return total / self.n

    def claimed_head_rate(self, geometry: str, h: int) -> sp.Expr:
        """Per-head rate with its cross-head and radial-shadow terms."""
        total = 0
        for i in range(self.n):
            x = self.x(i)
            f = [self.head_output(k, i) for k in range(self.H)]
            r = [(fk.T * x)[0, 0] for fk in f]
            if geometry == "sphere":
                Pf = self.project(i, f[h])
                total += (Pf.T * Pf)[0, 0]
                total += sum(
                    (f[h].T * f[k])[0, 0] - r[h] * r[k] for k in range(self.H) if k != h
                )
            else:
                total += (f[h].T * f[h])[0, 0]
                total += sum((f[h].T * f[k])[0, 0] for k in range(self.H) if k != h)
        return total / self.n

    def flat_head_square_part(self, h: int) -> sp.Expr:
        """``(1/n) sum_i |f_i^h|^2``, the non-negative part of the flat rate."""
        return (
            sum(((f := self.head_output(h, i)).T * f)[0, 0] for i in range(self.n))
            / self.n
        )

    def sphere_constraints(self) -> list[sp.Expr]:
        """``|x_i|^2 - 1`` for every token."""
        return [sp.expand((self.x(i).T * self.x(i))[0, 0] - 1) for i in range(self.n)]


def _canonical_kernels(expr: sp.Expr) -> sp.Expr:
    """Expand the argument of every kernel application, making them canonical."""
    return expr.replace(
        lambda e: isinstance(e, sp.core.function.AppliedUndef),
        lambda e: e.func(*[sp.expand(a) for a in e.args]),
    )


def reduce_identity(
    lhs, rhs, system: SymbolicSystem, *, sphere: bool
) -> IdentityResult:
    """Decide ``lhs == rhs`` exactly.

    Kernel values ``phi_h(...)`` are replaced by independent symbols, the
    difference is expanded, and on the sphere its remainder modulo the
    constraints ``|x_i|^2 - 1`` is computed (those polynomials have pairwise
    coprime leading terms in lex order, so they form a Groebner basis and the
    remainder is zero exactly when the difference lies in the ideal).
    """
    diff = _canonical_kernels(sp.expand(lhs - rhs))
    apps = sorted(diff.atoms(sp.core.function.AppliedUndef), key=sp.default_sort_key)
    opaque = {a: sp.Symbol(f"K{k}") for k, a in enumerate(apps)}
    poly_expr = sp.expand(diff.xreplace(opaque))
    if poly_expr == 0:
        return IdentityResult(True, sp.Integer(0), 0)
    if not sphere:
        return IdentityResult(False, poly_expr, len(sp.Add.make_args(poly_expr)))

    coords = [system.X[i, a] for i in range(system.n) for a in range(system.d)]
    others = sorted(poly_expr.free_symbols - set(coords), key=sp.default_sort_key)
    gens = coords + others
    _, remainder = sp.reduced(
        poly_expr, system.sphere_constraints(), *gens, order="lex"
    )
    remainder = sp.expand(remainder)
    return IdentityResult(remainder == 0, remainder, len(sp.Add.make_args(remainder)))
