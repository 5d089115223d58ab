"""Hypothesis strategies for attention configurations, and a pytest plugin.

The claims sample their inputs from these strategies, and researchers can use the
same ones in their own property tests::

    from hypothesis import given
    from numeric.strategies import models

    @given(models(n=(2, 6), d=(1, 4), heads=(1, 3), symmetric=True))
    def test_my_bound(model):
        X, M, beta = model.X, model.M, model.beta
        ...

Installed as the ``headflow`` pytest plugin (``pytest11`` entry point), the module
also registers the hypothesis profiles ``headflow-dev`` and ``headflow-ci`` and
offers them through ``HYPOTHESIS_PROFILE``.

Sizes are given as an int or an inclusive ``(lo, hi)`` range; hypothesis shrinks
towards the low end, so a failing property is reported at the fewest tokens and
the smallest dimension it can find.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = [
    "Model",
    "sizes",
    "unit_vectors",
    "sphere_points",
    "symmetric_matrices",
    "general_matrices",
    "score_matrices",
    "orthogonal_heads",
    "near_orthogonal_heads",
    "scalar_heads",
    "inverse_temperatures",
    "equiangular_configurations",
    "models",
]

_coord = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False, width=64)


def sizes(size) -> st.SearchStrategy[int]:
    """An int, or an int drawn from an inclusive ``(lo, hi)`` range."""
    if isinstance(size, (int, np.integer)):
        return st.just(int(size))
    lo, hi = size
    return st.integers(int(lo), int(hi))


@lru_cache(maxsize=256)
def unit_vectors(d: int, *, min_norm: float = 0.1) -> st.SearchStrategy[np.ndarray]:
    """Unit vectors in ``R^d``: a box sample, rejected near 0, normalised."""

    def normalise(v):
        v = np.asarray(v, dtype=np.float64)
        return v / np.linalg.norm(v)

    return (
        st.lists(_coord, min_size=d, max_size=d)
        .filter(lambda v: float(np.linalg.norm(v)) >= min_norm)
        .map(normalise)
    )


def sphere_points(n, d) -> st.SearchStrategy[np.ndarray]:
    """Token matrices ``(n, d)`` with unit rows."""

    @st.composite
    def build(draw):
        n_ = draw(sizes(n), label="n")
        d_ = draw(sizes(d), label="d")
        rows = [draw(unit_vectors(d_)) for _ in range(n_)]
        return np.array(rows)

    return build()


def _scaled(scale):
    return st.floats(*scale) if isinstance(scale, tuple) else st.just(float(scale))


@lru_cache(maxsize=256)
def general_matrices(d: int, *, scale=1.0) -> st.SearchStrategy[np.ndarray]:
    """``d x d`` matrices with entries in ``[-scale, scale]``."""
    return st.tuples(
        st.lists(_coord, min_size=d * d, max_size=d * d), _scaled(scale)
    ).map(lambda t: np.array(t[0]).reshape(d, d) * t[1])


@lru_cache(maxsize=256)
def symmetric_matrices(d: int, *, scale=1.0) -> st.SearchStrategy[np.ndarray]:
    """Symmetric ``d x d`` matrices with entries in ``[-scale, scale]``."""
    return general_matrices(d, scale=scale).map(lambda A: (A + A.T) / 2)


def score_matrices(H, d: int, *, symmetric: bool = True, scale=1.0):
    """``(H, d, d)`` stacks of score matrices."""
    one = symmetric_matrices if symmetric else general_matrices

    @st.composite
    def build(draw):
        H_ = draw(sizes(H), label="H")
        return np.stack([draw(one(d, scale=scale)) for _ in range(H_)])

    return build()


@lru_cache(maxsize=256)
def _orthonormal(d: int):
    """A random orthogonal ``d x d`` matrix (QR of a drawn matrix, signs fixed)."""

    def qr(A):
        Q, R = np.linalg.qr(A + 3.0 * np.eye(d))
        return Q * np.sign(np.where(np.diag(R) == 0, 1.0, np.diag(R)))

    return general_matrices(d).map(qr)


def orthogonal_heads(H: int, d: int, *, scale=1.0):
    """Symmetric heads with mutually orthogonal ranges: ``M_h M_h' = 0``.

    ``M_h = Q_h A_h Q_h^T`` where the ``Q_h`` are disjoint column blocks of one
    orthogonal matrix and ``A_h`` symmetric.  Needs ``d >= H``.
    """
    if d < H:
        raise ValueError(f"orthogonal heads need d >= H, got d={d}, H={H}")

    @st.composite
    def build(draw):
        Q = draw(_orthonormal(d), label="Q")
        blocks = np.array_split(np.arange(d), H)
        heads = []
        for cols in blocks:
            A = draw(symmetric_matrices(len(cols), scale=scale))
            B = Q[:, cols]
            heads.append(B @ A @ B.T)
        return np.stack(heads)

    return build()


def near_orthogonal_heads(H: int, d: int, *, eps=(0.0, 0.1), scale=1.0):
    """Orthogonal heads plus a symmetric perturbation of operator norm ``<= eps``.

    Returns ``(M, eps_actual)`` with ``eps_actual = max_{h != h'} |M_h M_h'|_op``.
    """

    @st.composite
    def build(draw):
        M = draw(orthogonal_heads(H, d, scale=scale))
        size = draw(_scaled(eps), label="eps")
        for h in range(H):
            P = draw(symmetric_matrices(d))
            norm = np.linalg.norm(P, 2)
            if norm > 0:
                M[h] = M[h] + size * P / norm
        actual = max(
            (
                np.linalg.norm(M[a] @ M[b], 2)
                for a in range(H)
                for b in range(H)
                if a != b
            ),
            default=0.0,
        )
        return M, float(actual)

    return build()


def scalar_heads(H, d: int, *, m=(0.1, 2.0), positive: bool = True):
    """Scalar heads ``M_h = m_h I``; returns ``(M, m)``."""

    @st.composite
    def build(draw):
        H_ = draw(sizes(H), label="H")
        lo, hi = m
        ms = [draw(st.floats(lo, hi)) for _ in range(H_)]
        if not positive:
            ms = [v * draw(st.sampled_from([-1.0, 1.0])) for v in ms]
        ms = np.array(ms)
        return ms[:, None, None] * np.eye(d)[None], ms

    return build()


def inverse_temperatures(lo: float = 0.1, hi: float = 8.0):
    """Inverse temperatures in ``[lo, hi]``, log-uniform in spirit."""
    return st.floats(np.log(lo), np.log(hi)).map(lambda u: float(np.exp(u)))


def equiangular_configurations(n: int, rho, d: int | None = None):
    """``n`` unit vectors with every pairwise inner product equal to ``rho``.

    Rows are the symmetric square root of the Gram matrix
    ``(1 - rho) I + rho 1 1^T``, padded with zeros to ``d >= n`` columns.
    ``rho`` is a float or a ``(lo, hi)`` range inside ``[-1/(n-1), 1]``.
    """
    d = n if d is None else d
    if d < n:
        raise ValueError(f"equiangular starts need d >= n, got d={d}, n={n}")

    def build(r):
        G = (1 - r) * np.eye(n) + r * np.ones((n, n))
        w, U = np.linalg.eigh(G)
        root = U @ np.diag(np.sqrt(np.clip(w, 0, None))) @ U.T
        X = np.zeros((n, d))
        X[:, :n] = root
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    low = -1.0 / (n - 1)
    if isinstance(rho, tuple):
        lo, hi = max(rho[0], low), min(rho[1], 1.0)
        return st.floats(lo, hi).map(build)
    return st.just(build(float(rho)))


@dataclass(frozen=True)
class Model:
    """A drawn configuration: tokens, heads and inverse temperature."""

    X: np.ndarray
    M: np.ndarray
    beta: float

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def H(self) -> int:
        return self.M.shape[0]


def models(
    n=(2, 6),
    d=(1, 4),
    heads=(1, 3),
    *,
    symmetric=True,
    beta=(0.1, 8.0),
    scale=1.0,
    sphere=True,
):
    """Whole configurations; sizes are drawn first so that they shrink first."""

    @st.composite
    def build(draw):
        n_ = draw(sizes(n), label="n")
        d_ = draw(sizes(d), label="d")
        H_ = draw(sizes(heads), label="H")
        if sphere:
            X = draw(sphere_points(n_, d_))
        else:
            X = np.array(
                draw(st.lists(_coord, min_size=n_ * d_, max_size=n_ * d_))
            ).reshape(n_, d_)
        M = draw(score_matrices(H_, d_, symmetric=symmetric, scale=scale))
        b = (
            draw(inverse_temperatures(*beta))
            if isinstance(beta, tuple)
            else float(beta)
        )
        return Model(X, M, b)

    return build()


# ---------------------------------------------------------------------------
# pytest plugin
# ---------------------------------------------------------------------------

settings.register_profile(
    "headflow-dev",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "headflow-ci",
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def pytest_configure(config):
    """Load the hypothesis profile named by ``HYPOTHESIS_PROFILE``, if ours."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "")
    if name in ("ci", "dev"):
        name = f"headflow-{name}"
    if name.startswith("headflow-"):
        settings.load_profile(name)
