"""The attention model as SymPy objects: kernels, weights, energy densities.

Notation follows Geshkovski, Letrouit, Polyanskiy and Rigollet (arXiv:2312.10794):
``s`` is one score ``<x_i, M_h x_j>``, ``beta`` the inverse temperature and ``n`` the
number of tokens.  Every scalar formula the numerical kernels use is built here and
nowhere else; ``numeric`` only contracts the generated functions over token indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import sympy as sp

from .errors import UnsupportedError

__all__ = [
    "s",
    "beta",
    "n",
    "Kernel",
    "KERNELS",
    "NORMS",
    "GEOMETRIES",
    "get_kernel",
    "PairDensities",
    "pair_densities",
]

#: One attention score ``<x_i, M_h x_j>``.
s = sp.Symbol("s", real=True)
#: The inverse temperature.
beta = sp.Symbol("beta", positive=True)
#: The number of tokens.
n = sp.Symbol("n", positive=True, integer=True)

_u = sp.Dummy("u", real=True)

NORMS = ("usa", "sa")
GEOMETRIES = ("flat", "sphere")

NormName = Literal["usa", "sa"]
GeometryName = Literal["flat", "sphere"]


@dataclass(frozen=True)
class Kernel:
    """An attention kernel ``phi(s)`` and the quantities derived from it.

    Parameters
    ----------
    name : str
        Short name used in reports and on the command line.
    phi : sympy.Expr
        The kernel as an expression in :data:`s` and :data:`beta`.

    Examples
    --------
    >>> k = KERNELS["exp"]
    >>> k.Phi
    exp(beta*s)/beta
    >>> k.log_phi
    beta*s
    >>> KERNELS["relu"].log_phi is None
    True
    """

    name: str
    phi: sp.Expr

    @cached_property
    def dphi(self) -> sp.Expr:
        """The derivative ``phi'(s)``."""
        return sp.diff(self.phi, s)

    @cached_property
    def Phi(self) -> sp.Expr:
        """The energy density, an antiderivative of ``phi``.

        The constant is fixed by ``Phi(-oo) = 0`` where that integral converges,
        and by ``Phi(0) = 0`` otherwise.
        """
        phi_u = _piecewise(self.phi).subs(s, _u)
        Phi = sp.integrate(phi_u, (_u, -sp.oo, s))
        if _is_closed_form(Phi):
            return _tidy(Phi)

        Phi = sp.integrate(phi_u, (_u, 0, s))
        if _is_closed_form(Phi):
            return _tidy(Phi)

        raise UnsupportedError(
            f"kernel {self.name!r}: SymPy found no closed-form antiderivative of "
            f"phi(s) = {self.phi}, so its energy is unavailable"
        )

    @cached_property
    def log_phi(self) -> sp.Expr | None:
        """``log phi(s)`` when it is a polynomial in ``s``, else ``None``.

        Exponential kernels are evaluated in the log domain with a shift by the
        row maximum, which keeps weights finite at any inverse temperature.
        """
        return _real_log_polynomial(self.phi)

    @property
    def exponential(self) -> bool:
        """Whether ``phi = exp(polynomial)``, so log-domain evaluation applies."""
        return self.log_phi is not None

    def check_antiderivative(self) -> bool:
        """Whether ``d Phi / ds = phi`` holds exactly (piecewise-aware)."""
        residual = sp.diff(self.Phi, s) - _piecewise(self.phi)
        residual = sp.piecewise_fold(residual.rewrite(sp.Piecewise))
        return sp.simplify(residual) == 0


def _real_log_polynomial(expr: sp.Expr) -> sp.Expr | None:
    """``log expr`` if it is a real polynomial in ``s``, else ``None``.

    ``-exp(beta s)`` has the complex logarithm ``beta s + i pi`` and
    ``(1 - exp(-beta s)) / beta`` none that is polynomial: both are evaluated
    directly, not in the log domain.
    """
    L = sp.expand(sp.expand_log(sp.log(expr), force=True))
    if not L.is_polynomial(s) or L.has(sp.I, sp.zoo, sp.nan):
        return None
    if any(c.is_real is False for c in sp.Poly(L, s).coeffs()):
        return None
    return L


_PIECEWISE_FUNCTIONS = (sp.Max, sp.Min, sp.Heaviside, sp.Abs, sp.sign)


def _piecewise(expr: sp.Expr) -> sp.Expr:
    """Rewrite ``Max``, ``Min``, ``Heaviside``, ``Abs`` and ``sign`` as
    ``Piecewise``, which SymPy integrates piece by piece."""
    if not expr.has(*_PIECEWISE_FUNCTIONS):
        return expr
    return expr.rewrite(sp.Piecewise)


def _is_closed_form(expr: sp.Expr) -> bool:
    # an oscillating kernel integrated from -oo gives AccumBounds, not a number
    return not expr.has(sp.Integral, sp.oo, -sp.oo, sp.zoo, sp.nan, sp.AccumBounds)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Simplify an antiderivative, folding a two-piece result into ``Max``."""
    folded = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    as_max = _as_max_power(folded)
    if as_max is not None:
        return as_max
    return sp.simplify(expr)


def _as_max_power(expr: sp.Expr) -> sp.Expr | None:
    """Return ``g(Max(s, 0))`` if ``expr`` equals it, ``g`` one of its pieces."""
    if not isinstance(expr, sp.Piecewise):
        return None
    for piece, _ in reversed(expr.args):
        if piece == 0:
            continue
        candidate = piece.subs(s, sp.Max(s, 0))
        points = (-2, -1, sp.Rational(-1, 2), 0, sp.Rational(1, 2), 1, 2)
        if all(
            sp.simplify(candidate.subs(s, p) - expr.subs(s, p)) == 0 for p in points
        ):
            return candidate
    return None


KERNELS: dict[str, Kernel] = {
    "exp": Kernel("exp", sp.exp(beta * s)),
    "relu": Kernel("relu", sp.Max(s, 0)),
}


def get_kernel(kernel: str | Kernel) -> Kernel:
    """Return the :class:`Kernel` named ``kernel`` (or ``kernel`` itself).

    Raises
    ------
    ValueError
        If the name is not a known kernel.
    """
    if isinstance(kernel, Kernel):
        return kernel
    if isinstance(kernel, str) and kernel in KERNELS:
        return KERNELS[kernel]
    if isinstance(kernel, str):
        from .parsing import parse_kernel

        return parse_kernel(kernel)
    raise ValueError(
        f"kernel={kernel!r}: expected one of {sorted(KERNELS)} or an expression "
        "in s and beta"
    )


@dataclass(frozen=True)
class PairDensities:
    """The scalar functions of one score that the tensor kernels contract.

    Attributes
    ----------
    weight : sympy.Expr
        Unnormalised weight of one pair: ``phi(s) / n`` for ``usa``, ``phi(s)``
        for ``sa`` (whose rows are then divided by their sums).
    log_weight : sympy.Expr or None
        ``log`` of ``weight`` for exponential kernels.
    energy : sympy.Expr
        Energy of one ordered pair, ``Phi(s) / (2 n^2)``.
    log_energy : sympy.Expr or None
        ``log`` of ``energy`` for exponential kernels.
    energy_slope : sympy.Expr
        ``d energy / ds``, the factor of ``ds/dt`` in the chain rule.
    log_energy_slope : sympy.Expr or None
        ``log`` of ``energy_slope`` for exponential kernels.
    normalised : bool
        Whether rows are normalised to sum to one (``sa``).
    """

    kernel: Kernel
    norm: str
    weight: sp.Expr
    log_weight: sp.Expr | None
    energy: sp.Expr
    log_energy: sp.Expr | None
    energy_slope: sp.Expr
    log_energy_slope: sp.Expr | None
    normalised: bool


def _log_or_none(expr: sp.Expr, exponential: bool) -> sp.Expr | None:
    return _real_log_polynomial(expr) if exponential else None


def pair_densities(kernel: str | Kernel, norm: NormName = "usa") -> PairDensities:
    """Build the per-pair weight and energy expressions of a model variant.

    Parameters
    ----------
    kernel : str or Kernel
        ``"exp"``, ``"relu"``, or a :class:`Kernel`.
    norm : {"usa", "sa"}
        Unnormalised weights ``phi / n`` or softmax-normalised rows.

    Examples
    --------
    >>> d = pair_densities("exp", "usa")
    >>> d.weight
    exp(beta*s)/n
    >>> d.energy_slope
    exp(beta*s)/(2*n**2)
    >>> d.log_energy
    beta*s - log(beta) - 2*log(n) - log(2)
    """
    k = get_kernel(kernel)
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r}: expected one of {list(NORMS)}")

    weight = k.phi / n if norm == "usa" else k.phi
    energy = k.Phi / (2 * n**2)
    slope = _tidy(sp.diff(energy, s))

    return PairDensities(
        kernel=k,
        norm=norm,
        weight=weight,
        log_weight=_log_or_none(weight, k.exponential),
        energy=energy,
        log_energy=_log_or_none(energy, k.exponential),
        energy_slope=slope,
        log_energy_slope=_log_or_none(slope, k.exponential),
        normalised=norm == "sa",
    )
