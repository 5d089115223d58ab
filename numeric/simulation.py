"""Random particle systems and the summary of one simulated trajectory."""

from __future__ import annotations

import numpy as np

from symbolic.errors import InvalidArgumentError, RangeError

from .attention import attention_entropy, head_energies, mean_inner_product
from .integrate import integrate

__all__ = ["random_system", "simulate"]


def random_system(
    n: int,
    d: int,
    H: int,
    *,
    seed: int = 0,
    symmetric: bool = True,
    sphere: bool = True,
):
    """Gaussian tokens (unit rows on the sphere) and heads scaled by ``1/sqrt(d)``.

    Returns
    -------
    X : ndarray, shape (n, d)
    M : ndarray, shape (H, d, d)
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if sphere:
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    A = rng.standard_normal((H, d, d)) / np.sqrt(d)
    M = (A + A.transpose(0, 2, 1)) / 2 if symmetric else A
    return X, M


def simulate(
    X0,
    M,
    beta,
    t: float,
    *,
    samples: int = 101,
    kernel="exp",
    norm="sa",
    geometry="sphere",
    rtol=1e-9,
    atol=1e-11,
    max_nfev: int | None = None,
) -> dict:
    """Integrate and record energy, mean inner product and entropy over time.

    Returns
    -------
    dict
        JSON-ready: ``t``, ``energy`` (``None`` where it overflows float64),
        ``log_energy`` (``None`` where the energy is negative),
        ``mean_inner_product``, ``attention_entropy``
        (mean over heads and tokens), ``status``, ``message``, ``sphere_drift``
        and the model options.  ``max_nfev`` is passed to
        :func:`numeric.integrate`; a run that spends it ends early with
        ``status`` -1.
    """
    times = np.linspace(0.0, float(t), samples)
    traj = integrate(
        X0,
        M,
        beta,
        t,
        kernel=kernel,
        norm=norm,
        geometry=geometry,
        rtol=rtol,
        atol=atol,
        t_eval=times,
        max_nfev=max_nfev,
    )
    try:
        log_E = [
            float(
                np.logaddexp.reduce(head_energies(x, M, beta, kernel=kernel, log=True))
            )
            for x in traj.X
        ]
    except InvalidArgumentError:
        # a kernel taking negative values may have a negative energy, which has
        # no logarithm; the energy itself is then recorded
        log_E = None
    try:
        energy = [
            float(np.sum(head_energies(x, M, beta, kernel=kernel))) for x in traj.X
        ]
    except RangeError:
        if log_E is None:
            raise RangeError(
                "the energy is negative and beyond the float64 range, so neither "
                "it nor its logarithm can be recorded; use a smaller beta"
            ) from None
        energy = None
    n, d = np.shape(X0)
    return {
        "n": int(n),
        "d": int(d),
        "heads": int(np.shape(M)[0]) if np.ndim(M) == 3 else 1,
        "beta": float(beta),
        "kernel": str(kernel),
        "norm": norm,
        "geometry": geometry,
        "t": traj.t.tolist(),
        "energy": energy,
        "log_energy": log_E,
        "mean_inner_product": [mean_inner_product(x) for x in traj.X],
        "attention_entropy": [
            float(attention_entropy(x, M, beta).mean()) for x in traj.X
        ],
        "status": traj.status,
        "message": traj.message,
        "sphere_drift": traj.sphere_drift,
        "nfev": traj.nfev,
    }
