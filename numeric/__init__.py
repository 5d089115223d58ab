"""Numerical layer: generated attention kernels, integrators, high precision.

Holds the vectorised float64 kernels (composed from functions that
:mod:`symbolic` generates), the DOP853 particle integrator, mpmath evaluations of
the same quantities, and the hypothesis strategies the claims sample from.  It may
call :mod:`symbolic`; it never imports :mod:`proofs` or :mod:`reports`.
"""

from .attention import (
    attention,
    attention_entropy,
    energy,
    energy_rates,
    entropy_rate,
    head_energies,
    head_outputs,
    mean_inner_product,
    radial_shadows,
    scores,
    velocity,
)
from .integrate import Trajectory, integrate

__all__ = [
    "Trajectory",
    "integrate",
    "attention",
    "attention_entropy",
    "energy",
    "energy_rates",
    "entropy_rate",
    "head_energies",
    "head_outputs",
    "mean_inner_product",
    "radial_shadows",
    "scores",
    "velocity",
]
