"""Ball-arithmetic certification of counterexamples found in float64.

A configuration found by a float64 search becomes a :class:`Counterexample` whose
value and enclosure come from :mod:`proofs._arb`, an implementation of the model
that shares no code with the kernels that found it.  The floats are converted
exactly, so the certificate is about the very numbers stored in the JSON.
"""

from __future__ import annotations

import numpy as np

from symbolic.model import get_kernel

from . import _arb
from .framework import Counterexample

__all__ = ["certify_rate", "arb_kernel"]


def arb_kernel(kernel: str):
    """The kernel as :mod:`proofs._arb` takes it: ``"exp"`` and ``"relu"`` by
    name (its own independent implementation), any other as its SymPy ``phi``
    and ``Phi``."""
    return kernel if kernel in ("exp", "relu") else get_kernel(kernel)


def certify_rate(
    X,
    M,
    beta,
    *,
    quantity: str,
    kernel: str,
    norm: str,
    geometry: str,
    head: int | None = None,
    expected_sign: int = -1,
    prec: int = 256,
    note: str = "",
) -> Counterexample:
    """Enclose a rate at ``(X, M, beta)`` and record it as a counterexample.

    Parameters
    ----------
    quantity : {"dE/dt", "dE_h/dt", "dS_mean/dt"}
        Which rate of :func:`proofs._arb.rates`; ``head`` selects ``dE_h/dt``.
    expected_sign : {-1, +1}
        The sign that makes the configuration a counterexample; ``certified`` is
        true only if the ball lies strictly on that side of zero.
    """
    X = np.asarray(X, dtype=np.float64)
    M = np.asarray(M, dtype=np.float64)
    if M.ndim == 2:
        M = M[None]
    b = float(beta) if np.ndim(beta) == 0 else [float(v) for v in beta]
    model_kernel = arb_kernel(kernel)
    rates = _arb.rates(
        X.tolist(),
        M.tolist(),
        b,
        kernel=model_kernel,
        norm=norm,
        geometry=geometry,
        prec=prec,
    )
    ball = rates[quantity][head] if quantity == "dE_h/dt" else rates[quantity]

    lo, hi = _arb.to_decimal_interval(ball, digits=30)
    mid = _arb.to_decimal_interval(ball.mid(), digits=20)[0]
    sign = _arb.certify_sign(ball)
    return Counterexample(
        quantity=quantity,
        X=X.tolist(),
        M=M.tolist(),
        beta=b,
        kernel=kernel,
        norm=norm,
        geometry=geometry,
        value=mid,
        enclosure=[lo, hi],
        head=head,
        certified=sign == expected_sign,
        note=note,
    )
