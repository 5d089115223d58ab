"""A plain-loop implementation of the model, written from its definitions.

It shares nothing with :mod:`numeric` or :mod:`symbolic`: kernels, weights and
energies are typed here directly, so that tests compare two implementations.
"""

from __future__ import annotations

import math

import numpy as np


def phi(kernel: str, s: float, beta: float) -> float:
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
