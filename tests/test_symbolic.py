"""The symbolic model, the projection lemmas and the generated-code cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from symbolic import codegen
from symbolic.energy import SymbolicSystem, reduce_identity
from symbolic.lemmas import projection_lemmas
from symbolic.model import KERNELS, beta, pair_densities, s


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_energy_density_is_an_antiderivative(name):
    """Phi is derived by integration and satisfies Phi' = phi exactly."""
    kernel = KERNELS[name]

    assert kernel.check_antiderivative()
    assert sp.limit(kernel.Phi, s, -sp.oo) == 0


def test_exp_kernel_has_log_domain_form():
    """The exponential kernel is recognised for log-domain evaluation, relu is not."""
    assert KERNELS["exp"].log_phi == beta * s
    assert KERNELS["relu"].log_phi is None


@pytest.mark.parametrize("d", [2, 3, 4])
def test_projection_lemmas_hold(d):
    """P^T = P, P^2 = P, P x = 0 and the inner-product identities hold for |x| = 1."""
    assert all(lemma.check(d) for lemma in projection_lemmas())


def test_idempotence_needs_the_unit_constraint():
    """Without |x| = 1 the projector is not idempotent: the lemma is not vacuous."""
    x = sp.Matrix(sp.symbols("a b c", real=True))
    P = sp.eye(3) - x * x.T

    assert not sp.expand(P**2 - P).is_zero_matrix


def test_identity_prover_rejects_a_wrong_rate():
    """The exact prover accepts the true energy rate and rejects a perturbed one."""
    system = SymbolicSystem(2, 2, 1)
    rate = system.energy_rate("sphere")
    claimed = system.claimed_total_rate("sphere")

    assert reduce_identity(rate, claimed, system, sphere=True)
    assert not reduce_identity(
        rate, claimed * sp.Rational(101, 100), system, sphere=True
    )
    assert not reduce_identity(
        rate, system.claimed_total_rate("flat"), system, sphere=True
    )


def _entry_paths(root):
    return sorted(p for p in root.rglob("*.json"))


def test_cache_survives_deletion_and_corruption(tmp_path, monkeypatch):
    """A deleted or corrupted cache entry is regenerated, never trusted."""
    monkeypatch.setenv("HEADFLOW_CACHE_DIR", str(tmp_path))
    expr = pair_densities("exp", "usa").energy
    args = (s, beta, sp.Symbol("n", positive=True, integer=True))
    codegen.clear_memory()
    f = codegen.generate(expr, args)
    value = f(np.array([0.3]), 2.0, 5)
    (path,) = _entry_paths(tmp_path)

    # deletion: regenerated and rewritten
    path.unlink()
    codegen.clear_memory()
    assert np.array_equal(codegen.generate(expr, args)(np.array([0.3]), 2.0, 5), value)
    assert path.exists()

    # corruption of the source: the hash check rejects it
    entry = json.loads(path.read_text())
    entry["source"] = entry["source"].replace("exp(", "sin(")
    path.write_text(json.dumps(entry))
    codegen.clear_memory()
    assert np.array_equal(codegen.generate(expr, args)(np.array([0.3]), 2.0, 5), value)
    assert "sin(" not in json.loads(path.read_text())["source"]

    # truncation: unreadable JSON is regenerated as well
    path.write_text(path.read_text()[:20])
    codegen.clear_memory()
    assert np.array_equal(codegen.generate(expr, args)(np.array([0.3]), 2.0, 5), value)
    codegen.clear_memory()


def test_cache_is_safe_under_concurrent_writers(tmp_path):
    """Several processes generating the same functions at once leave valid entries."""
    script = (
        "from symbolic.model import pair_densities, s, beta, n\n"
        "from symbolic import codegen\n"
        "for k in ('exp', 'relu'):\n"
        "    for nm in ('usa', 'sa'):\n"
        "        d = pair_densities(k, nm)\n"
        "        codegen.generate(d.energy, (s, beta, n))\n"
        "        codegen.generate(d.weight, (s, beta, n))\n"
    )
    env = dict(os.environ, HEADFLOW_CACHE_DIR=str(tmp_path))
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(4)
    ]

    assert all(p.wait(timeout=120) == 0 for p in procs)
    entries = _entry_paths(tmp_path)
    assert entries and not list(tmp_path.rglob(".tmp-*"))
    for path in entries:
        entry = json.loads(path.read_text())
        assert entry["sha256"] == codegen._digest(entry["source"])


def test_no_hand_typed_formula_in_kernels():
    """Kernel modules contain no kernel or energy formula: those are generated."""
    import inspect

    import numeric.attention
    import numeric.highprec

    forbidden = [
        "exp(beta",
        "beta * s",
        "beta*s",
        "/ beta",
        "n**2",
        "n ** 2",
        "2 * n",
        "maximum(s",
        "np.maximum(",
        "/ (2",
    ]
    for module in (numeric.attention, numeric.highprec):
        source = inspect.getsource(module)
        for pattern in forbidden:
            assert pattern not in source, f"{module.__name__} contains {pattern!r}"


def test_mathml_keeps_function_names_and_every_sum_index():
    """Phi_h prints as a capital Phi, and a double sum shows both indices."""
    from symbolic.printing import mathml

    i, j, n = sp.symbols("i j n")
    Phi = sp.Function("Phi_h")
    shown = mathml(sp.Sum(Phi(i), (i, 1, n), (j, 1, n)))

    assert "&#934;" in shown and "phi" not in shown
    assert shown.count("&#x2211;") == 2
    assert "<mi>j</mi>" in shown and "<mi>i</mi>" in shown
