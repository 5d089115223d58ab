"""Checkable lemmas about the tangent projection ``P = I - x x^T``.

Each lemma is an exact statement about a symbolic unit vector ``x`` in ``R^d``
(``d`` explicit); :meth:`Lemma.check` reduces it modulo ``|x|^2 = 1`` and returns
whether the residual vanishes.  The energy identities on the sphere rest on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

__all__ = ["Lemma", "projection_lemmas", "projector"]


def _vector(name: str, d: int) -> sp.Matrix:
    return sp.Matrix(d, 1, lambda a, _: sp.Symbol(f"{name}_{a}", real=True))


def projector(x: sp.Matrix) -> sp.Matrix:
    """``P = I - x x^T`` for a column vector ``x``."""
    return sp.eye(x.shape[0]) - x * x.T


@dataclass(frozen=True)
class Lemma:
    """A named matrix identity ``lhs(x, u, w) == rhs(x, u, w)`` for ``|x| = 1``."""

    name: str
    statement: str
    build: Callable[[sp.Matrix, sp.Matrix, sp.Matrix], tuple[sp.Matrix, sp.Matrix]]

    def residual(self, d: int = 3) -> sp.Matrix:
        """``lhs - rhs`` reduced modulo ``|x|^2 - 1``, entry by entry."""
        x, u, w = _vector("x", d), _vector("u", d), _vector("w", d)
        lhs, rhs = self.build(x, u, w)
        constraint = sp.expand((x.T * x)[0, 0] - 1)
        gens = list(x) + list(u) + list(w)

        def reduce(e):
            return sp.reduced(sp.expand(e), [constraint], *gens, order="lex")[1]

        return sp.Matrix(lhs - rhs).applyfunc(reduce)

    def check(self, d: int = 3) -> bool:
        """Whether the lemma holds exactly in dimension ``d``.

        Examples
        --------
        >>> all(lemma.check(3) for lemma in projection_lemmas())
        True
        """
        return self.residual(d).is_zero_matrix


def projection_lemmas() -> list[Lemma]:
    """The identities of ``P``: symmetric, idempotent, ``P x = 0``, inner products."""
    return [
        Lemma("symmetric", "P^T = P", lambda x, u, w: (projector(x).T, projector(x))),
        Lemma(
            "idempotent", "P^2 = P", lambda x, u, w: (projector(x) ** 2, projector(x))
        ),
        Lemma(
            "annihilates x",
            "P x = 0",
            lambda x, u, w: (projector(x) * x, sp.zeros(x.shape[0], 1)),
        ),
        Lemma(
            "inner product",
            "<P u, w> = <u, w> - <u, x><x, w>",
            lambda x, u, w: ((projector(x) * u).T * w, u.T * w - (u.T * x) * (x.T * w)),
        ),
        Lemma(
            "squared norm",
            "<P u, u> = |P u|^2",
            lambda x, u, w: (
                (projector(x) * u).T * u,
                (projector(x) * u).T * (projector(x) * u),
            ),
        ),
    ]
