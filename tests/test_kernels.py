"""Properties of the generated float64 kernels against independent references."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import numeric
from numeric import highprec
from numeric.strategies import models, sphere_points, symmetric_matrices
from symbolic.errors import InvalidArgumentError, RangeError

import reference

VARIANTS = [(k, nm) for k in ("exp", "relu") for nm in ("usa", "sa")]
GEOMETRIES = ("flat", "sphere")


def _error(actual, desired, atol=1e-300, rtol=1e-12):
    """Error in units of the tolerance ``atol + rtol |desired|``."""
    actual, desired = np.asarray(actual, float), np.asarray(desired, float)
    scale = atol + rtol * np.max(np.abs(desired))
    return float(np.max(np.abs(actual - desired)) / scale)


def _prime_system(seed=0, symmetric=True):
    """Distinct prime sizes n = 7, d = 11, H = 3, so axis mix-ups fail on shape."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((7, 11))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    A = rng.standard_normal((3, 11, 11)) / np.sqrt(11)
    M = (A + A.transpose(0, 2, 1)) / 2 if symmetric else A
    return X, M


@pytest.mark.parametrize("kernel,norm", VARIANTS)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_generated_kernel_matches_reference_loops(kernel, norm, geometry):
    """The generated velocity equals the plain-loop reference on n=7, d=11, H=3."""
    X, M = _prime_system(symmetric=False)

    V = numeric.velocity(X, M, 1.7, kernel=kernel, norm=norm, geometry=geometry)
    F = numeric.head_outputs(X, M, 1.7, kernel=kernel, norm=norm)

    assert V.shape == (7, 11) and F.shape == (3, 7, 11)
    assert _error(V, reference.velocity(X, M, 1.7, kernel, norm, geometry)) < 1
    assert _error(F, reference.head_outputs(X, M, 1.7, kernel, norm)) < 1


@pytest.mark.parametrize("kernel", ["exp", "relu"])
def test_energy_and_entropy_match_reference(kernel):
    """Energies and attention entropies equal the plain-loop reference."""
    X, M = _prime_system()

    E = numeric.energy(X, M, 0.9, kernel=kernel)
    S = numeric.attention_entropy(X, M, 0.9)

    assert _error(E, reference.energy(X, M, 0.9, kernel)) < 1
    assert _error(S, reference.attention_entropy(X, M, 0.9)) < 1
    assert S.shape == (3, 7)


@given(models(n=(2, 6), d=(2, 4), heads=(1, 3), symmetric=False))
def test_sphere_flow_is_tangent(model):
    """On the sphere every x_i' is orthogonal to x_i, so |x_i| is conserved."""
    for kernel, norm in VARIANTS:
        V = numeric.velocity(model.X, model.M, model.beta, kernel=kernel, norm=norm)
        radial = np.einsum("id,id->i", V, model.X)

        scale = 1.0 + np.max(np.abs(V))
        assert np.max(np.abs(radial)) <= 64 * np.finfo(float).eps * scale


@given(models(n=(2, 6), d=(1, 4), heads=(1, 3), symmetric=False), st.randoms())
def test_permutation_equivariance(model, random):
    """Permuting tokens permutes the velocity rows the same way."""
    perm = list(range(model.n))
    random.shuffle(perm)
    for kernel, norm in VARIANTS:
        V = numeric.velocity(
            model.X, model.M, model.beta, kernel=kernel, norm=norm, geometry="flat"
        )
        Vp = numeric.velocity(
            model.X[perm],
            model.M,
            model.beta,
            kernel=kernel,
            norm=norm,
            geometry="flat",
        )

        assert _error(Vp, V[perm], rtol=1e-13) < 1


@given(
    models(
        n=(2, 5), d=(1, 4), heads=(1, 3), symmetric=True, beta=(0.1, 3.0), sphere=False
    )
)
@example(
    numeric.strategies.Model(np.array([[1.0, 0.0], [0.0, 1.0]]), np.eye(2)[None], 1.0)
)
def test_energy_gradient_is_velocity_over_n(model):
    """For usa weights and symmetric M, grad_{x_i} E = v_i / n (central differences)."""
    X, M, beta = model.X, model.M, model.beta
    V = numeric.velocity(X, M, beta, norm="usa", geometry="flat")
    h = 1e-6
    grad = np.zeros_like(X)
    for i, a in np.ndindex(*X.shape):
        step = np.zeros_like(X)
        step[i, a] = h
        grad[i, a] = (
            numeric.energy(X + step, M, beta) - numeric.energy(X - step, M, beta)
        ) / (2 * h)

    assert _error(grad, V / model.n, atol=1e-9, rtol=1e-6) < 1


@pytest.mark.parametrize("kernel,norm", VARIANTS)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_float64_agrees_with_mpmath(kernel, norm, geometry):
    """The float64 kernels agree with 30-digit mpmath evaluations to 1e-12."""
    X, M = _prime_system(seed=3)
    X, M = X[:5, :4], M[:, :4, :4]
    X /= np.linalg.norm(X, axis=1, keepdims=True)

    V = numeric.velocity(X, M, 2.3, kernel=kernel, norm=norm, geometry=geometry)
    Vm = highprec.velocity_mp(
        X, M, 2.3, kernel=kernel, norm=norm, geometry=geometry, digits=30
    )
    E = numeric.head_energies(X, M, 2.3, kernel=kernel)
    Em = highprec.head_energies_mp(X, M, 2.3, kernel=kernel, digits=30)
    R = numeric.energy_rates(X, M, 2.3, kernel=kernel, norm=norm, geometry=geometry)
    Rm = highprec.energy_rates_mp(
        X, M, 2.3, kernel=kernel, norm=norm, geometry=geometry, digits=30
    )

    assert _error(V, Vm.astype(float)) < 1
    assert _error(E, Em.astype(float)) < 1
    assert _error(R, Rm.astype(float)) < 1


@pytest.mark.parametrize("norm", ["usa", "sa"])
def test_extreme_inverse_temperature(norm):
    """At beta = 1e3 the velocity is finite and agrees with mpmath to 1e-10."""
    X, M = _prime_system(seed=5)
    if norm == "usa":
        # keep beta * s below the float64 exponent range
        M = 0.5 * M / np.max(np.abs(np.linalg.eigvalsh(M)))

    V = numeric.velocity(X, M, 1e3, norm=norm)
    Vm = highprec.velocity_mp(X, M, 1e3, norm=norm, digits=30).astype(float)
    logE = numeric.head_energies(X, M, 1e3, log=True)

    assert np.isfinite(V).all() and np.isfinite(logE).all()
    assert _error(V, Vm, rtol=1e-10) < 1


def test_usa_overflow_is_reported_with_log_scale_remedy():
    """A usa velocity beyond float64 raises RangeError; log_scale gives it anyway."""
    X, M = _prime_system(seed=5)
    M = 3.0 * M / np.max(np.abs(np.linalg.eigvalsh(M)))

    with pytest.raises(RangeError, match="log_scale=True"):
        numeric.velocity(X, M, 1e3, norm="usa")
    V, C = numeric.velocity(X, M, 1e3, norm="usa", log_scale=True)
    Vm = highprec.velocity_mp(X, M, 1e3, norm="usa", digits=30)

    assert np.isfinite(V).all() and np.isfinite(C).all()
    with mpmath.workdps(30):
        row = 0
        scaled = [Vm[row, a] / mpmath.exp(C[row]) for a in range(X.shape[1])]
    assert _error(V[row], np.array(scaled, dtype=float), rtol=1e-9) < 1


def test_energy_rate_chain_rule_matches_central_differences():
    """energy_rates equals the derivative of E along X + tV (centred differences)."""
    X, M = _prime_system(seed=2)
    V = numeric.velocity(X, M, 1.1, norm="sa")
    h = 1e-6

    fd = (
        numeric.head_energies(X + h * V, M, 1.1)
        - numeric.head_energies(X - h * V, M, 1.1)
    ) / (2 * h)
    rates = numeric.energy_rates(X, M, 1.1, norm="sa")

    assert _error(rates, fd, rtol=1e-7) < 1


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda X, M: numeric.velocity(np.where(X == X[0, 0], np.nan, X), M, 1.0), "X"),
        (lambda X, M: numeric.velocity(X, M[:, :, :5], 1.0), "M"),
        (lambda X, M: numeric.velocity(2 * X, M, 1.0, geometry="sphere"), "X"),
        (lambda X, M: numeric.velocity(X, M, -1.0), "beta"),
        (lambda X, M: numeric.velocity(X, M, 1.0, norm="soft"), "norm"),
        (lambda X, M: numeric.velocity(X, M, 1.0, geometry="torus"), "geometry"),
        (lambda X, M: numeric.velocity(X[:1], M, 1.0), "X"),
        (lambda X, M: numeric.integrate(X, M, 1.0, -2.0), "t"),
    ],
)
def test_bad_input_names_the_argument(call, argument):
    """Invalid input raises a ValueError whose message starts with the argument."""
    X, M = _prime_system()

    with pytest.raises(ValueError) as info:
        call(X, M)

    assert isinstance(info.value, InvalidArgumentError)
    assert str(info.value).startswith(f"{argument}=")


@given(sphere_points(n=(2, 5), d=3), symmetric_matrices(3))
def test_integrator_keeps_tokens_on_the_sphere(X, A):
    """DOP853 without re-projection keeps |x_i| = 1 to the solver tolerance."""
    traj = numeric.integrate(X, A[None], 1.5, 2.0, norm="sa", rtol=1e-10, atol=1e-12)

    assert traj.success, traj.message
    assert traj.sphere_drift < 1e-8


def test_integrator_converges_at_high_order():
    """Tightening the tolerance moves the endpoint towards the mpmath solution."""
    from numeric._mpode import solve_ivp_mp

    X, M = _prime_system(seed=4)
    X, M = X[:3, :3], M[:1, :3, :3]
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    f = highprec.flow_function(M, 1.0, norm="sa", n_tokens=3, dim=3)
    ref = solve_ivp_mp(
        f, (0, 1), highprec.normalise_rows(X, 30).ravel().tolist(), digits=20
    )
    exact = np.array([float(v) for v in ref.y[-1]]).reshape(3, 3)

    errors = []
    for rtol in (1e-6, 1e-9, 1e-12):
        traj = numeric.integrate(X, M, 1.0, 1.0, norm="sa", rtol=rtol, atol=rtol * 1e-2)
        errors.append(np.max(np.abs(traj.X[-1] - exact)))

    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-10


def test_integrator_steps_like_solve_ivp():
    """The stepping loop gives solve_ivp's DOP853 output, bit for bit."""
    from scipy.integrate import solve_ivp

    X, M = _prime_system(seed=5)
    times = np.linspace(0.0, 2.0, 9)

    def rhs(_, y):
        V = numeric.velocity(y.reshape(X.shape), M, 1.2, norm="sa", geometry="flat")
        return V.ravel()

    sol = solve_ivp(
        rhs, (0, 2.0), X.ravel(), method="DOP853", rtol=1e-9, atol=1e-11, t_eval=times
    )
    traj = numeric.integrate(
        X,
        M,
        1.2,
        2.0,
        norm="sa",
        geometry="flat",
        rtol=1e-9,
        atol=1e-11,
        t_eval=times,
    )

    assert traj.success and sol.status == 0
    assert np.array_equal(traj.t, sol.t) and traj.nfev == sol.nfev
    assert np.array_equal(traj.X, sol.y.T.reshape(traj.X.shape))


def test_integrator_stops_when_the_evaluation_budget_is_spent():
    """max_nfev ends the run early, keeping the output times reached so far."""
    X, M = _prime_system(seed=5)
    times = np.linspace(0.0, 2.0, 9)
    full = numeric.integrate(X, M, 1.2, 2.0, t_eval=times)

    cut = numeric.integrate(X, M, 1.2, 2.0, t_eval=times, max_nfev=full.nfev // 3)

    assert full.success and not cut.success and "max_nfev" in cut.message
    assert full.nfev // 3 <= cut.nfev < full.nfev
    assert 0 < cut.t.size < times.size
    assert np.array_equal(cut.t, times[: cut.t.size])
    assert np.array_equal(cut.X, full.X[: cut.t.size])


@pytest.mark.parametrize("budget", [0, -3, 2.5, True, "10"])
def test_evaluation_budget_must_be_a_positive_integer(budget):
    X, M = _prime_system()
    with pytest.raises(InvalidArgumentError, match="^max_nfev="):
        numeric.integrate(X, M, 1.0, 1.0, max_nfev=budget)
