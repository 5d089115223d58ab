"""Tests of the radial-shadow claim (C2) and the orthogonal-head robustness claim (C3).

The counterexample and the closed-form witness are recomputed here by a plain
loop implementation written from the model's definitions, with the rate taken
by a central finite difference of the head energy along the velocity.  Runtime
is dominated by one quick run of each claim (about 25 s together).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from numeric import strategies
from proofs import c2_shadows, c3_robustness
from proofs._shadows import (
    decomposition_error,
    gram_terms,
    matrix_view_rates,
    orthogonal_case_rates,
    orthogonal_models,
)
from proofs.framework import Context, run_claim

import reference

EPS = float(np.finfo(np.float64).eps)
#: Disagreement allowed between two float64 evaluations, in eps of the term scale.
ULPS = 256


# ----------------------------------------------------------------------------
# an independent implementation: loops over the definitions
# ----------------------------------------------------------------------------


def loop_velocity(X, M, beta, geometry):
    n, d = X.shape
    V = np.zeros((n, d))
    for Mh in M:
        for i in range(n):
            for j in range(n):
                s_ij = sum(
                    X[i, a] * Mh[a, b] * X[j, b] for a in range(d) for b in range(d)
                )
                w = math.exp(beta * s_ij) / n
                for a in range(d):
                    V[i, a] += w * sum(Mh[a, b] * X[j, b] for b in range(d))
    if geometry == "sphere":
        for i in range(n):
            radial = sum(V[i, a] * X[i, a] for a in range(d))
            V[i] -= radial * X[i]
    return V


def loop_head_energy(X, Mh, beta):
    n, d = X.shape
    total = 0.0
    for i in range(n):
        for j in range(n):
            s_ij = sum(X[i, a] * Mh[a, b] * X[j, b] for a in range(d) for b in range(d))
            total += math.exp(beta * s_ij) / beta
    return total / (2 * n * n)


def finite_difference_rate(X, M, beta, h, geometry, step=1e-5):
    """dE_h/dt by a central difference of E_h along the velocity."""
    V = loop_velocity(X, M, beta, geometry)
    up = loop_head_energy(X + step * V, M[h], beta)
    down = loop_head_energy(X - step * V, M[h], beta)
    return (up - down) / (2 * step)


def _prime_model(symmetric_heads=True):
    """n = 7, d = 11, H = 3: distinct primes so that axis mix-ups fail."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((7, 11))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    A = rng.standard_normal((3, 11, 11)) / 11
    M = (A + A.transpose(0, 2, 1)) / 2 if symmetric_heads else A
    return strategies.Model(X, M, 1.5)


# ----------------------------------------------------------------------------
# one quick run of each claim, shared
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def c2_result():
    return run_claim(c2_shadows.CLAIMS[0], Context(profile="quick"))


@pytest.fixture(scope="module")
def c3_result():
    return run_claim(c3_robustness.CLAIMS[0], Context(profile="quick"))


def test_c2_is_proved(c2_result):
    """C2 comes out proved, with no check in error."""
    assert c2_result.error is None
    assert c2_result.status.value == "proved"


def test_c3_is_verified_with_tightness_figures(c3_result):
    """C3 comes out verified and reports how tight the bound is."""
    figures = next(
        e.figures for e in c3_result.evidence if e.name == "robustness_bound"
    )

    assert c3_result.error is None
    assert c3_result.status.value == "verified"
    assert {"max_ratio", "median_ratio", "samples"} <= set(figures)
    assert 0 < figures["median_ratio"] <= figures["max_ratio"] <= 1


# ----------------------------------------------------------------------------
# C2: the decomposition
# ----------------------------------------------------------------------------


@settings(deadline=None, max_examples=40)
@given(
    strategies.models(
        n=(2, 6), d=(1, 4), heads=(1, 3), symmetric=True, beta=(0.1, 6.0)
    ),
    st.sampled_from(["flat", "sphere"]),
)
@example(_prime_model(), "sphere")
@example(_prime_model(), "flat")
def test_chain_rule_rates_equal_gram_row_sums(model, geometry):
    """dE_h/dt by the chain rule equals the h-th Gram row sum, to rounding."""
    per_head, total = decomposition_error(model, geometry)

    assert per_head.max() <= ULPS * EPS
    assert total <= ULPS * EPS


def _without_shadow_products(X, F, geometry):
    """|P f^h|^2 + sum <f^h, f^h'>: the sphere formula missing -r^h r^h'."""
    if geometry == "flat":
        return matrix_view_rates(X, F, "flat")
    r = np.einsum("hid,id->hi", F, X)
    tangent = F - r[..., None] * X[None]
    own = np.einsum("hid,hid->hi", tangent, tangent)
    cross = np.einsum("hid,kid->hki", F, F)
    H = F.shape[0]
    others = cross.sum(axis=1) - cross[np.arange(H), np.arange(H)]
    return (own + others).mean(axis=1)


@pytest.mark.parametrize(
    "broken, geometry",
    [
        (_without_shadow_products, "sphere"),
        (orthogonal_case_rates, "sphere"),
        (orthogonal_case_rates, "flat"),
    ],
)
def test_broken_per_head_formulas_are_rejected(broken, geometry):
    """The check that accepts the Gram view rejects formulas missing a term."""
    model = _prime_model()

    per_head, _ = decomposition_error(model, geometry, formula=broken)
    good, _ = decomposition_error(model, geometry)

    assert good.max() <= ULPS * EPS
    assert per_head.max() > 1e6 * ULPS * EPS


def test_claim_check_rejects_a_formula_without_shadow_products():
    """The C2 float64 check itself fails when handed a wrong formula."""
    claim = c2_shadows.CLAIMS[0]

    evidence = claim.gram_view_float64(
        Context(profile="quick"), formula=_without_shadow_products
    )

    assert not evidence.passed


def test_total_rate_is_the_sum_of_the_gram_matrix():
    """(1/n) sum_i 1^T T_i 1 equals (1/n) sum_i |x_i'|^2 on the sphere."""
    model = _prime_model()
    from numeric import head_outputs

    F = head_outputs(model.X, model.M, model.beta)
    total = gram_terms(model.X, F, "sphere").sum() / model.n
    V = loop_velocity(model.X, model.M, model.beta, "sphere")

    assert abs(total - np.sum(V * V) / model.n) <= ULPS * EPS * abs(total)


def test_witness_rate_matches_the_closed_form():
    """Two coincident tokens at angle t: FD rate of head 1 equals the closed form."""
    M = c2_shadows.witness_heads()
    for t, beta in ((1.2, 2.0), (0.4, 1.0), (1.0, 3.0)):
        X = c2_shadows.witness_tokens([t, t])
        c, s = math.cos(t), math.sin(t)
        closed = (
            math.exp(beta * c * c)
            * c
            * c
            * s
            * s
            * (math.exp(beta * c * c) - math.exp(beta * s * s))
        )

        rate = finite_difference_rate(X, M, beta, 0, "sphere")

        assert abs(rate - closed) <= 1e-7 * max(1.0, abs(closed))
        assert (rate < 0) == (c * c < s * s)


# ----------------------------------------------------------------------------
# C2: the counterexample, recomputed from its JSON fields
# ----------------------------------------------------------------------------


def test_counterexample_recomputed_independently(c2_result):
    """The stored counterexample has dE_h/dt < 0 by finite differences of E_h."""
    (cex,) = [c.to_json() for c in c2_result.counterexamples]
    X, M = np.array(cex["X"]), np.array(cex["M"])
    beta, h = float(cex["beta"]), cex["head"]
    lo, hi = (float(v) for v in cex["enclosure"])

    sphere = finite_difference_rate(X, M, beta, h, "sphere")
    flat = [finite_difference_rate(X, M, beta, k, "flat") for k in range(len(M))]

    assert cex["certified"] and cex["geometry"] == "sphere" and hi < 0
    assert sphere < 0
    assert lo - 1e-7 <= sphere <= hi + 1e-7
    assert min(flat) >= -1e-7
    assert np.abs(M[0] @ M[1]).max() <= 1e-12
    assert (cex["n"], cex["d"]) == (2, 2)


# ----------------------------------------------------------------------------
# C3: the sufficient condition and the robustness bound
# ----------------------------------------------------------------------------


@settings(deadline=None, max_examples=40)
@given(
    orthogonal_models(
        n=(2, 5),
        d=(2, 4),
        H=(2, 3),
        beta=(0.1, 6.0),
        scale=(0.2, 2.0),
        spread=(0.0, 0.5),
    )
)
def test_shadow_condition_implies_nonnegative_rate(model):
    """With orthogonal heads, the shadow condition forces dE_h/dt >= 0."""
    from numeric import energy_rates, head_outputs

    F = head_outputs(model.X, model.M, model.beta)
    holds, _, _ = c3_robustness.shadow_condition(model.X, F)
    rate = energy_rates(model.X, model.M, model.beta, geometry="sphere")
    scale = np.abs(gram_terms(model.X, F)).sum(axis=(0, 2)) + 1.0

    assert np.all(rate[holds] >= -ULPS * EPS * scale[holds])


@settings(deadline=None, max_examples=40)
@given(c3_robustness._near_orthogonal_models())
@example(
    strategies.Model(
        _prime_model().X[:, :5]
        / np.linalg.norm(_prime_model().X[:, :5], axis=1, keepdims=True),
        np.stack(
            [
                np.diag([1.0, 1.0, 0, 0, 0]),
                np.diag([0.02, 0, 1.0, 1.0, 0]),
                np.diag([0, 0.01, 0, 0, -1.0]),
            ]
        ),
        0.5,
    )
)
def test_robustness_bound_holds_on_near_orthogonal_heads(model):
    """Both inequalities of the robustness statement hold, with ratio <= 1."""
    out = c3_robustness.robustness_margins(model)
    off = ~np.eye(model.H, dtype=bool)

    assert np.all(out["token_slack"][off] >= 0)
    assert np.all(out["slack"] >= 0)
    assert np.all(out["ratio"] <= 1 + 1e-9)


def test_too_small_bound_is_rejected_by_the_claim_check():
    """Replacing eps e^(beta(|M_h| + |M_h'|)) by eps / 100 makes the C3 check fail."""
    claim = c3_robustness.CLAIMS[0]

    evidence = claim.robustness_bound(
        Context(profile="quick"), bound=lambda eps, beta, a, b: eps / 100
    )

    assert not evidence.passed
    assert evidence.figures["token_failures"] > 0


def _sigmoid_head_energy(X, Mh, beta):
    """E_h for phi(s) = 1/(1 + e^{-beta s}), Phi(s) = log(1 + e^{beta s}) / beta."""
    n = X.shape[0]
    S = X @ Mh @ X.T
    return float(np.logaddexp(0.0, beta * S).sum() / beta / (2 * n * n))


def test_counterexample_search_uses_the_run_kernel():
    """With a user kernel the minimised counterexample is that kernel's, certified."""
    sigmoid = "1/(1+exp(-beta*s))"
    claim = c2_shadows.CLAIMS[0]
    evidence = claim.minimal_counterexample(
        Context(profile="quick", options={"kernel": sigmoid})
    )

    (cex,) = evidence.counterexamples
    X, M, beta, h = np.array(cex.X), np.array(cex.M), float(cex.beta), cex.head
    V = reference.velocity(
        X, M, beta, lambda s, b: 1 / (1 + np.exp(-b * s)), "usa", "sphere"
    )
    step = 1e-5
    rate = (
        _sigmoid_head_energy(X + step * V, M[h], beta)
        - _sigmoid_head_energy(X - step * V, M[h], beta)
    ) / (2 * step)
    lo, hi = (float(v) for v in cex.enclosure)

    assert evidence.passed and evidence.figures["kernel"] == sigmoid
    assert cex.certified and hi < 0
    assert lo - 1e-7 <= rate <= hi + 1e-7
