"""Particle integrator: the attention flow advanced with SciPy's DOP853.

The state is never re-projected onto the sphere: projection would hide the
integration error, so the drift ``max_i | |x_i| - 1 |`` is measured and returned
instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import DOP853

from symbolic.errors import InvalidArgumentError

from . import _validate as check
from .attention import (
    KernelArg,
    Geometry,
    Norm,
    _inputs,
    _scaled_velocity,
    _unscale,
    _OVERFLOW_HINT,
)

__all__ = ["Trajectory", "integrate"]


@dataclass(frozen=True)
class Trajectory:
    """Result of :func:`integrate`.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Output times.
    X : ndarray, shape (T, n, d)
        Token configurations at those times.
    status : int
        0 when the final time was reached, -1 when the solver failed.
    message : str
        The solver's account of what happened.
    nfev : int
        Number of velocity evaluations.
    sphere_drift : float
        ``max | |x_i(t)| - 1 |`` over the output (0 for flat geometry).
    """

    t: NDArray[np.float64]
    X: NDArray[np.float64]
    status: int
    message: str
    nfev: int
    sphere_drift: float
    options: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status == 0


def _times(t, t_eval):
    try:
        t_end = float(t)
    except (TypeError, ValueError):
        raise InvalidArgumentError("t", t, "must be a number") from None
    if not np.isfinite(t_end) or t_end < 0:
        raise InvalidArgumentError("t", t, "must be finite and >= 0")
    if t_eval is None:
        return t_end, None
    grid = np.asarray(t_eval, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.isfinite(grid).all():
        raise InvalidArgumentError("t_eval", t_eval, "must be a 1-D finite sequence")
    if np.any(np.diff(grid) <= 0) or grid[0] < 0 or grid[-1] > t_end:
        raise InvalidArgumentError(
            "t_eval", t_eval, f"must increase strictly within [0, t={t_end:g}]"
        )
    return t_end, grid


def integrate(
    X0,
    M,
    beta,
    t,
    *,
    kernel: KernelArg = "exp",
    norm: Norm = "usa",
    geometry: Geometry = "sphere",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    t_eval=None,
    max_step: float = np.inf,
    max_nfev: int | None = None,
) -> Trajectory:
    """Integrate the particle system from ``X0`` over ``[0, t]``.

    Parameters
    ----------
    X0 : array_like, shape (n, d)
        Initial tokens (unit rows for ``geometry="sphere"``).
    M, beta, kernel, norm, geometry
        As in :func:`numeric.velocity`.
    t : float
        Final time, >= 0.
    rtol, atol : float
        DOP853 tolerances.
    t_eval : array_like, shape (T,), optional
        Output times within ``[0, t]``; by default the solver's own steps.
    max_step : float
        Largest step the solver may take.
    max_nfev : int, optional
        Budget of velocity evaluations.  A run that spends it (a stiff flow at
        large ``beta |M|``) stops at the last completed step with ``status``
        -1, keeping the output times reached so far.

    Returns
    -------
    Trajectory
        Failure of the solver is reported in ``status`` and ``message``.
    """
    norm = check.norm(norm)
    geometry = check.geometry(geometry)
    inp = _inputs(X0, M, beta, kernel, sphere=geometry == "sphere")
    t_end, grid = _times(t, t_eval)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not (np.isfinite(tol) and tol > 0):
            raise InvalidArgumentError(name, tol, "must be finite and > 0")
    if max_nfev is not None and (
        isinstance(max_nfev, bool)
        or not isinstance(max_nfev, (int, np.integer))
        or max_nfev < 1
    ):
        raise InvalidArgumentError("max_nfev", max_nfev, "must be an integer >= 1")

    shape = inp.X.shape

    def rhs(_, y):
        state = type(inp)(y.reshape(shape), inp.M, inp.beta, inp.kernel)
        V, C = _scaled_velocity(state, norm, geometry)
        return _unscale(V, C[:, None], "the velocity", _OVERFLOW_HINT).ravel()

    with np.errstate(over="raise", invalid="raise"):
        try:
            status, message, times, states, nfev = _solve(
                rhs, t_end, inp.X.ravel(), grid, rtol, atol, max_step, max_nfev
            )
            states = states.reshape(-1, *shape)
        except (FloatingPointError, OverflowError) as exc:
            status, message = -1, f"the velocity left the float64 range: {exc}"
            times, states, nfev = np.array([0.0]), inp.X[None].copy(), 0

    drift = 0.0
    if geometry == "sphere":
        drift = float(np.max(np.abs(np.linalg.norm(states, axis=2) - 1.0)))

    options = dict(
        kernel=inp.kernel.name, norm=norm, geometry=geometry, rtol=rtol, atol=atol
    )
    return Trajectory(times, states, status, message, nfev, drift, options)


_REACHED = "The solver successfully reached the end of the integration interval."


def _solve(rhs, t_end, y0, grid, rtol, atol, max_step, max_nfev):
    """DOP853 from 0 to ``t_end``, step by step as :func:`scipy.integrate.solve_ivp`
    runs it, within a budget of ``max_nfev`` right-hand side evaluations.

    Returns ``(status, message, times, states, nfev)``; ``states`` is (T, n d).
    """
    solver = DOP853(rhs, 0.0, y0, t_end, rtol=rtol, atol=atol, max_step=max_step)
    times, states = ([], []) if grid is not None else ([0.0], [y0.copy()])
    emitted = 0  # grid times already output
    status, message = 0, _REACHED
    while solver.status == "running":
        failure = solver.step()
        if solver.status == "failed":
            status, message = -1, failure
            break
        if grid is None:
            times.append(solver.t)
            states.append(solver.y.copy())
        else:
            # the grid times in (t_old, t], the end point included
            upto = int(np.searchsorted(grid, solver.t, side="right"))
            if upto > emitted:
                step_times = grid[emitted:upto]
                times.extend(step_times.tolist())
                states.extend(solver.dense_output()(step_times).T)
                emitted = upto
        spent = max_nfev is not None and solver.nfev >= max_nfev
        if spent and solver.status == "running":
            status = -1
            message = (
                f"stopped at t = {solver.t:.6g} of {t_end:g}: the budget of "
                f"max_nfev = {max_nfev} velocity evaluations is spent"
            )
            break
    return (
        status,
        message,
        np.asarray(times, dtype=np.float64),
        np.asarray(states, dtype=np.float64).reshape(len(times), y0.size),
        int(solver.nfev),
    )
