"""Hand-written baselines the generated kernels are measured against.

``velocity_blas`` is the practical limit of numpy for the softmax sphere velocity:
one Gram product per head by BLAS, one exp pass in place, one matmul.
``velocity_naive`` evaluates a lambdified weight pair by pair in Python, the way
a first script would.  ``euler_renormalise`` is the integrator of the field's own
scripts: explicit Euler steps, each followed by projection back onto the sphere.
"""

from __future__ import annotations

import numpy as np
import sympy as sp


def velocity_blas(X, M, beta):
    """Softmax (sa) exp sphere velocity; ``X`` (n, d), ``M`` (H, d, d)."""
    V = np.zeros_like(X)
    for Mh in M:
        K = X @ Mh.T
        L = X @ K.T
        L *= beta
        L -= L.max(axis=1, keepdims=True)
        np.exp(L, out=L)
        L /= L.sum(axis=1, keepdims=True)
        V += L @ K
    V -= np.einsum("id,id->i", V, X)[:, None] * X
    return V


_s, _b = sp.symbols("s beta")
_weight = sp.lambdify((_s, _b), sp.exp(_b * _s))


def velocity_naive(X, M, beta):
    """The same velocity with a per-pair Python loop over a lambdified weight."""
    n, d = X.shape
    V = np.zeros_like(X)
    for Mh in M:
        K = X @ Mh.T
        for i in range(n):
            w = np.array([_weight(float(X[i] @ K[j]), beta) for j in range(n)])
            V[i] += (w / w.sum()) @ K
    V -= np.einsum("id,id->i", V, X)[:, None] * X
    return V


def euler_renormalise(X0, velocity, t: float, dt: float):
    """Explicit Euler with renormalisation after every step."""
    X = np.array(X0, dtype=float)
    steps = int(round(t / dt))
    for _ in range(steps):
        X = X + dt * velocity(X)
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X
