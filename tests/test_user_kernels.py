"""Kernels given as expressions: energies by integration, log domain where it applies.

Each kernel is also typed here as a plain Python function, so the float64 kernels
are compared with the plain-loop reference, and the energy density with numerical
quadrature of the kernel, not with the SymPy expressions they were generated from.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import numeric
from numeric import highprec
from proofs.cli import main
from symbolic.model import beta, get_kernel, pair_densities, s

import reference

#: Expression, the same kernel as Python, and whether it is exp(real polynomial).
KERNELS = {
    "abs(s)": (lambda x, b: abs(x), False),
    "cos(beta*s)": (lambda x, b: math.cos(b * x), False),
    "-exp(beta*s)": (lambda x, b: -math.exp(b * x), False),
    "exp(-beta*s)": (lambda x, b: math.exp(-b * x), True),
    "2*exp(beta*s)": (lambda x, b: 2 * math.exp(b * x), True),
    "erf(beta*s)": (lambda x, b: math.erf(b * x), False),
    "1/(1+exp(-beta*s))": (lambda x, b: 1 / (1 + math.exp(-b * x)), False),
}


def _system(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 3))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    A = rng.standard_normal((2, 3, 3)) / np.sqrt(3)
    return X, (A + A.transpose(0, 2, 1)) / 2


@pytest.mark.parametrize("text", KERNELS)
def test_energy_density_is_an_antiderivative_of_the_kernel(text):
    """Phi(b) - Phi(a) equals the quadrature of phi over [a, b] at beta = 1.3."""
    k = get_kernel(text)
    python_phi = KERNELS[text][0]
    Phi = sp.lambdify((s, beta), k.Phi, "mpmath")

    with mpmath.workdps(30):
        for a, b in [(-1.5, -0.2), (-0.7, 0.9), (0.1, 1.6)]:
            exact = mpmath.quad(lambda u: python_phi(float(u), 1.3), [a, 0, b])
            assert abs(Phi(b, 1.3) - Phi(a, 1.3) - exact) < 1e-12


@pytest.mark.parametrize("text", KERNELS)
def test_log_domain_only_where_the_logarithm_is_a_real_polynomial(text):
    """exp(polynomial) kernels take the log domain; -exp, erf, cos, abs do not."""
    k = get_kernel(text)

    assert k.exponential is KERNELS[text][1]
    for norm in ("usa", "sa"):
        dens = pair_densities(k, norm)
        for log in (dens.log_weight, dens.log_energy, dens.log_energy_slope):
            assert log is None or (log.is_polynomial(s) and not log.has(sp.I))


def test_energy_of_a_kernel_whose_antiderivative_has_a_constant():
    """exp(-beta s): Phi = (1 - exp(-beta s)) / beta is evaluated directly."""
    dens = pair_densities("exp(-beta*s)", "usa")
    X, M = _system(1)

    assert dens.log_weight is not None and dens.log_energy is None
    E = numeric.head_energies(X, M, 0.8, kernel="exp(-beta*s)")
    Em = highprec.head_energies_mp(X, M, 0.8, kernel="exp(-beta*s)", digits=30)
    assert np.allclose(E, np.array(Em, dtype=float), rtol=1e-13, atol=0)


@pytest.mark.parametrize("text", KERNELS)
@pytest.mark.parametrize("norm", ["usa", "sa"])
def test_velocity_matches_the_plain_loop_reference(text, norm):
    """The generated velocity equals the loops over the Python kernel."""
    X, M = _system(2)
    python_phi = KERNELS[text][0]

    V = numeric.velocity(X, M, 1.3, kernel=text, norm=norm)
    V_ref = reference.velocity(X, M, 1.3, python_phi, norm, "sphere")

    assert np.allclose(V, V_ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("text", KERNELS)
def test_energy_rate_matches_central_differences(text):
    """energy_rates is the derivative of the energy along X + tV."""
    X, M = _system(3)
    V = numeric.velocity(X, M, 1.3, kernel=text, norm="usa", geometry="flat")
    h = 1e-6

    fd = (
        numeric.head_energies(X + h * V, M, 1.3, kernel=text)
        - numeric.head_energies(X - h * V, M, 1.3, kernel=text)
    ) / (2 * h)
    rates = numeric.energy_rates(X, M, 1.3, kernel=text, geometry="flat")

    assert np.allclose(rates, fd, rtol=1e-7, atol=1e-9)


def test_a_kernel_value_may_begin_with_a_minus_sign(tmp_path, capsys):
    """--kernel -exp(beta*s) is read as the kernel, not as an unknown option."""
    code = main(
        ["simulate", "--n", "3", "--d", "2", "--t", "0.1", "--samples", "2"]
        + ["--kernel", "-exp(beta*s)", "--out", str(tmp_path / "sim")]
    )

    assert code == 0, capsys.readouterr().err
