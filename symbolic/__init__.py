"""Symbolic layer: the attention model in SymPy, derivations and code generation.

Holds the kernels, normalisations and energy densities (:mod:`symbolic.model`),
the exact energy-rate identities of small systems (:mod:`symbolic.energy`), the
entropy-production identities (:mod:`symbolic.entropy`), the
projection lemmas (:mod:`symbolic.lemmas`), the printers (:mod:`symbolic.printing`)
and the generator of numpy and mpmath functions (:mod:`symbolic.codegen`).  It is
the bottom layer: it imports nothing else of headflow.
"""

from .codegen import cache_dir, generate
from .errors import InvalidArgumentError, RangeError, UnsupportedError
from .lemmas import Lemma, projection_lemmas
from .model import (
    GEOMETRIES,
    KERNELS,
    NORMS,
    Kernel,
    PairDensities,
    beta,
    get_kernel,
    n,
    pair_densities,
    s,
)
from .printing import render

__all__ = [
    "GEOMETRIES",
    "KERNELS",
    "NORMS",
    "InvalidArgumentError",
    "Kernel",
    "Lemma",
    "PairDensities",
    "RangeError",
    "UnsupportedError",
    "beta",
    "cache_dir",
    "generate",
    "get_kernel",
    "n",
    "pair_densities",
    "projection_lemmas",
    "render",
    "s",
]
