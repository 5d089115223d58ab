"""A plain-loop implementation of the model, written from its definitions.

It shares nothing with :mod:`numeric` or :mod:`symbolic`: kernels, weights and
energies are typed here directly, so that tests compare two implementations.
"""

from __future__ import annotations

import math

import numpy as np


def phi(kernel, s: float, beta: float) -> float:
    """The kernel named ``kernel``, or ``kernel(s, beta)`` for a callable."""
    if callable(kernel):
        return kernel(s, beta)
    if kernel == "exp":
        return math.exp(beta * s)
    if kernel == "relu":
        return max(s, 0.0)
    raise ValueError(kernel)


def Phi(kernel: str, s: float, beta: float) -> float:
    if kernel == "exp":
        return math.exp(beta * s) / beta
    if kernel == "relu":
        return max(s, 0.0) ** 2 / 2
    raise ValueError(kernel)


def head_outputs(X, M, beta, kernel="exp", norm="usa"):
    n, d = X.shape
    H = M.shape[0]
    F = np.zeros((H, n, d))
    for h in range(H):
        for i in range(n):
            w = [phi(kernel, float(X[i] @ M[h] @ X[j]), beta) for j in range(n)]
            if norm == "usa":
                w = [v / n for v in w]
            else:
                Z = sum(w)
                w = [v / Z if Z != 0 else 0.0 for v in w]
            for j in range(n):
                F[h, i] += w[j] * (M[h] @ X[j])
    return F


def velocity(X, M, beta, kernel="exp", norm="usa", geometry="sphere"):
    V = head_outputs(X, M, beta, kernel, norm).sum(axis=0)
    if geometry == "sphere":
        for i in range(X.shape[0]):
            V[i] = V[i] - (V[i] @ X[i]) * X[i]
    return V


def energy(X, M, beta, kernel="exp"):
    n = X.shape[0]
    total = 0.0
    for h in range(M.shape[0]):
        for i in range(n):
            for j in range(n):
                total += Phi(kernel, float(X[i] @ M[h] @ X[j]), beta)
    return total / (2 * n * n)


def attention_entropy(X, M, beta):
    n = X.shape[0]
    S = np.zeros((M.shape[0], n))
    for h in range(M.shape[0]):
        for i in range(n):
            logits = [beta * float(X[i] @ M[h] @ X[j]) for j in range(n)]
            top = max(logits)
            w = [math.exp(v - top) for v in logits]
            Z = sum(w)
            S[h, i] = -sum((v / Z) * math.log(v / Z) for v in w if v > 0)
    return S


# ---------------------------------------------------------------------------
# the same definitions in mpmath, for recomputing certified counterexamples
# ---------------------------------------------------------------------------

_MP_KERNELS = {
    "exp": (lambda s, b, mp: mp.exp(b * s), lambda s, b, mp: mp.exp(b * s) / b),
    "relu": (lambda s, b, mp: max(s, 0), lambda s, b, mp: max(s, 0) ** 2 / 2),
    "1/(1+exp(-beta*s))": (
        lambda s, b, mp: 1 / (1 + mp.exp(-b * s)),
        lambda s, b, mp: mp.log(1 + mp.exp(b * s)) / b,
    ),
}


def _mp_matrix(rows, mp):
    return [[mp.mpf(v) for v in row] for row in rows]


def _mp_betas(beta, H, mp):
    if isinstance(beta, (list, tuple)):
        return [mp.mpf(b) for b in beta]
    return [mp.mpf(beta)] * H


def velocity_mp(X, M, beta, kernel, norm, geometry, mp):
    """x_i' from the definitions, in mpmath (inputs as nested lists)."""
    phi, _ = _MP_KERNELS[kernel]
    n, d = len(X), len(X[0])
    betas = _mp_betas(beta, len(M), mp)
    V = [[mp.mpf(0)] * d for _ in range(n)]
    for Mh, b in zip(M, betas):
        MX = [
            [mp.fsum(Mh[a][c] * X[j][c] for c in range(d)) for a in range(d)]
            for j in range(n)
        ]
        for i in range(n):
            w = [
                phi(mp.fsum(X[i][a] * MX[j][a] for a in range(d)), b, mp)
                for j in range(n)
            ]
            Z = mp.fsum(w) if norm == "sa" else n
            for a in range(d):
                V[i][a] += mp.fsum(w[j] * MX[j][a] for j in range(n)) / Z
    if geometry == "sphere":
        for i in range(n):
            r = mp.fsum(V[i][a] * X[i][a] for a in range(d))
            V[i] = [V[i][a] - r * X[i][a] for a in range(d)]
    return V


def head_energies_mp(X, M, beta, kernel, mp):
    _, Phi = _MP_KERNELS[kernel]
    n, d = len(X), len(X[0])
    out = []
    for Mh, b in zip(M, _mp_betas(beta, len(M), mp)):
        total = mp.fsum(
            Phi(
                mp.fsum(
                    X[i][a] * Mh[a][c] * X[j][c] for a in range(d) for c in range(d)
                ),
                b,
                mp,
            )
            for i in range(n)
            for j in range(n)
        )
        out.append(total / (2 * n * n))
    return out


def mean_entropy_mp(X, M, beta, mp):
    n, d = len(X), len(X[0])
    total = []
    for Mh, b in zip(M, _mp_betas(beta, len(M), mp)):
        for i in range(n):
            logits = [
                b
                * mp.fsum(
                    X[i][a] * Mh[a][c] * X[j][c] for a in range(d) for c in range(d)
                )
                for j in range(n)
            ]
            Z = mp.fsum(mp.exp(v) for v in logits)
            p = [mp.exp(v) / Z for v in logits]
            total.append(-mp.fsum(q * mp.log(q) for q in p))
    return mp.fsum(total) / (len(M) * n)


def rate_mp(cex: dict, mp):
    """The rate a counterexample names, by mpmath.diff along X + t x'."""
    X = _mp_matrix(cex["X"], mp)
    M = [_mp_matrix(Mh, mp) for Mh in cex["M"]]
    V = velocity_mp(X, M, cex["beta"], cex["kernel"], cex["norm"], cex["geometry"], mp)
    n, d = len(X), len(X[0])

    def moved(t):
        return [[X[i][a] + t * V[i][a] for a in range(d)] for i in range(n)]

    quantity = cex["quantity"]
    if quantity == "dS_mean/dt":
        return mp.diff(lambda t: mean_entropy_mp(moved(t), M, cex["beta"], mp), 0)
    if quantity == "dE_h/dt":
        h = cex["head"]
        return mp.diff(
            lambda t: head_energies_mp(moved(t), M, cex["beta"], cex["kernel"], mp)[h],
            0,
        )
    return mp.diff(
        lambda t: mp.fsum(
            head_energies_mp(moved(t), M, cex["beta"], cex["kernel"], mp)
        ),
        0,
    )
