"""The attention quantities in mpmath arithmetic at a chosen number of digits.

The scalar functions come from the same SymPy expressions as the float64 kernels
(:func:`symbolic.model.pair_densities`, generated for the ``mpmath`` backend); the
contractions over tokens are plain loops, which is slow but exact to the working
precision and independent of BLAS.  Every function sets its precision for the
duration of the call with :func:`mpmath.workdps` and leaves the global context
unchanged.  Inputs may be floats (converted exactly) or decimal strings.

Results are numpy arrays of ``mpmath.mpf`` (``dtype=object``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np

from symbolic import codegen
from symbolic.errors import InvalidArgumentError
from symbolic.model import Kernel, beta, get_kernel, n, pair_densities, s

from . import _validate as check

__all__ = [
    "GUARD_DIGITS",
    "to_mpf",
    "normalise_rows",
    "velocity_mp",
    "head_outputs_mp",
    "radial_shadows_mp",
    "head_energies_mp",
    "energy_rates_mp",
    "attention_entropy_mp",
    "flow_function",
]

#: Digits carried beyond the requested precision inside each evaluation.
GUARD_DIGITS = 10
_ARGS = (s, beta, n)


def _digits(digits) -> int:
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)):
        raise InvalidArgumentError("digits", digits, "must be an integer")
    if not 15 <= digits <= 2000:
        raise InvalidArgumentError("digits", digits, "must be in [15, 2000]")
    return int(digits)


def _working(digits: int) -> int:
    """Working digits: the request plus guard digits, never below the caller's."""
    return max(mpmath.mp.dps, digits + GUARD_DIGITS)


def normalise_rows(X, digits: int = 30) -> np.ndarray:
    """Rows of ``X`` scaled to unit norm at the working precision.

    Float tokens are unit only to rounding; identities that use ``|x_i| = 1``
    hold at high precision only after this step.
    """
    digits = _digits(digits)
    with mpmath.workdps(_working(digits)):
        Xa = _array(X, 2, "X")
        for i in range(Xa.shape[0]):
            norm = mpmath.sqrt(mpmath.fdot(Xa[i], Xa[i]))
            Xa[i] = [v / norm for v in Xa[i]]
        return Xa


def to_mpf(value) -> mpmath.mpf:
    """Convert a float (exactly), an int, or a decimal string to ``mpf``."""
    if isinstance(value, mpmath.mpf):
        return +value
    if isinstance(value, (str, int, np.integer)):
        return mpmath.mpf(value if isinstance(value, str) else int(value))
    return mpmath.mpf(float(value))


def _array(values, ndim: int, name: str) -> np.ndarray:
    arr = np.array(values, dtype=object)
    if arr.ndim != ndim:
        raise InvalidArgumentError(
            name, f"{ndim}-D expected, got shape {arr.shape}", f"must be {ndim}-D"
        )
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        try:
            out[idx] = to_mpf(v)
        except (TypeError, ValueError):
            raise InvalidArgumentError(name, v, "entries must be numbers") from None
        if not mpmath.isfinite(out[idx]):
            raise InvalidArgumentError(name, v, "entries must be finite")
    return out


@dataclass(frozen=True)
class _State:
    X: np.ndarray
    M: np.ndarray
    beta: np.ndarray
    kernel: Kernel


def _state(X, M, beta_, kernel, *, sphere: bool) -> _State:
    Xa = _array(X, 2, "X")
    Ma = _array(M, 3 if np.ndim(np.array(M, dtype=object)) == 3 else 2, "M")
    if Ma.ndim == 2:
        Ma = Ma[None]
    # reuse the float64 shape and range rules on a float view of the inputs
    check.tokens(Xa.astype(float), sphere=sphere)
    check.score_matrices(Ma.astype(float), Xa.shape[1])
    b = np.atleast_1d(np.array(beta_, dtype=object))
    check.inverse_temperature(
        b.astype(float) if b.size > 1 else float(b[0]), Ma.shape[0]
    )
    b = _array(np.broadcast_to(b, (Ma.shape[0],)).tolist(), 1, "beta")
    return _State(Xa, Ma, b, get_kernel(kernel))


@lru_cache(maxsize=64)
def _pieces(kernel: Kernel, norm: str):
    d = pair_densities(kernel, norm)
    gen = lambda e: codegen.generate(e, _ARGS, "mpmath")  # noqa: E731
    return gen(d.weight), gen(d.energy), gen(d.energy_slope), d.normalised


def _keys(st: _State):
    """``MX[h][j] = M_h x_j`` and ``S[h][i][j] = <x_i, M_h x_j>`` as mp arrays."""
    H, d = st.M.shape[0], st.X.shape[1]
    n_tok = st.X.shape[0]
    MX = np.empty((H, n_tok, d), dtype=object)
    S = np.empty((H, n_tok, n_tok), dtype=object)
    for h in range(H):
        for j in range(n_tok):
            for a in range(d):
                MX[h, j, a] = mpmath.fsum(st.M[h, a, b] * st.X[j, b] for b in range(d))
        for i in range(n_tok):
            for j in range(n_tok):
                S[h, i, j] = mpmath.fdot(st.X[i], MX[h, j])
    return MX, S


def _weights(st: _State, norm: str, S):
    weight, _, _, normalised = _pieces(st.kernel, norm)
    n_tok = st.X.shape[0]
    W = np.empty(S.shape, dtype=object)
    for (h, i, j), s_ij in np.ndenumerate(S):
        W[h, i, j] = weight(s_ij, st.beta[h], n_tok)
    if normalised:
        for h in range(S.shape[0]):
            for i in range(n_tok):
                Z = mpmath.fsum(W[h, i])
                W[h, i] = [w / Z if Z != 0 else mpmath.mpf(0) for w in W[h, i]]
    return W


def _outputs(st: _State, norm: str):
    MX, S = _keys(st)
    W = _weights(st, norm, S)
    H, n_tok, d = MX.shape
    F = np.empty((H, n_tok, d), dtype=object)
    for h in range(H):
        for i in range(n_tok):
            for a in range(d):
                F[h, i, a] = mpmath.fdot(W[h, i], MX[h, :, a])
    return F


def _velocity(st: _State, norm: str, geometry: str):
    F = _outputs(st, norm)
    V = F.sum(axis=0)
    if geometry == "sphere":
        for i in range(V.shape[0]):
            radial = mpmath.fdot(V[i], st.X[i])
            V[i] = [V[i, a] - radial * st.X[i, a] for a in range(V.shape[1])]
    return V


def velocity_mp(
    X, M, beta, *, kernel="exp", norm="usa", geometry="sphere", digits: int = 30
) -> np.ndarray:
    """:func:`numeric.velocity` in mpmath at ``digits`` significant digits.

    Returns
    -------
    ndarray of mpf, shape (n, d)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> V = velocity_mp(X, np.eye(2)[None], 1.0, digits=30)
    >>> mpmath.nstr(V[0, 1], 20)
    '0.5'
    """
    digits = _digits(digits)
    norm, geometry = check.norm(norm), check.geometry(geometry)
    with mpmath.workdps(_working(digits)):
        st = _state(X, M, beta, kernel, sphere=geometry == "sphere")
        return _velocity(st, norm, geometry)


def head_outputs_mp(X, M, beta, *, kernel="exp", norm="usa", digits: int = 30):
    """:func:`numeric.head_outputs` in mpmath; shape (H, n, d)."""
    digits = _digits(digits)
    norm = check.norm(norm)
    with mpmath.workdps(_working(digits)):
        return _outputs(_state(X, M, beta, kernel, sphere=False), norm)


def radial_shadows_mp(X, M, beta, *, kernel="exp", norm="usa", digits: int = 30):
    """:func:`numeric.radial_shadows` in mpmath; shape (H, n)."""
    digits = _digits(digits)
    norm = check.norm(norm)
    with mpmath.workdps(_working(digits)):
        st = _state(X, M, beta, kernel, sphere=False)
        F = _outputs(st, norm)
        r = np.empty(F.shape[:2], dtype=object)
        for h, i in np.ndindex(*r.shape):
            r[h, i] = mpmath.fdot(F[h, i], st.X[i])
        return r


def head_energies_mp(X, M, beta, *, kernel="exp", digits: int = 30) -> np.ndarray:
    """:func:`numeric.head_energies` in mpmath; shape (H,)."""
    digits = _digits(digits)
    with mpmath.workdps(_working(digits)):
        st = _state(X, M, beta, kernel, sphere=False)
        _, energy, _, _ = _pieces(st.kernel, "usa")
        _, S = _keys(st)
        n_tok = st.X.shape[0]
        return np.array(
            [
                mpmath.fsum(energy(v, st.beta[h], n_tok) for v in S[h].ravel())
                for h in range(S.shape[0])
            ],
            dtype=object,
        )


def energy_rates_mp(
    X, M, beta, *, kernel="exp", norm="usa", geometry="sphere", digits: int = 30
) -> np.ndarray:
    """:func:`numeric.energy_rates` in mpmath (chain rule); shape (H,)."""
    digits = _digits(digits)
    norm, geometry = check.norm(norm), check.geometry(geometry)
    with mpmath.workdps(_working(digits)):
        st = _state(X, M, beta, kernel, sphere=geometry == "sphere")
        V = _velocity(st, norm, geometry)
        _, _, slope, _ = _pieces(st.kernel, "usa")
        MX, S = _keys(st)
        moved = _State(V, st.M, st.beta, st.kernel)
        MV, _ = _keys(moved)
        H, n_tok = S.shape[0], S.shape[1]
        rates = np.empty(H, dtype=object)
        for h in range(H):
            terms = []
            for i in range(n_tok):
                for j in range(n_tok):
                    ds = mpmath.fdot(V[i], MX[h, j]) + mpmath.fdot(st.X[i], MV[h, j])
                    terms.append(slope(S[h, i, j], st.beta[h], n_tok) * ds)
            rates[h] = mpmath.fsum(terms)
        return rates


def attention_entropy_mp(X, M, beta, *, digits: int = 30) -> np.ndarray:
    """:func:`numeric.attention_entropy` in mpmath; shape (H, n)."""
    digits = _digits(digits)
    with mpmath.workdps(_working(digits)):
        st = _state(X, M, beta, "exp", sphere=False)
        P = _weights(st, "sa", _keys(st)[1])
        return np.array(
            [
                [-mpmath.fsum(p * mpmath.log(p) for p in row if p != 0) for row in Ph]
                for Ph in P
            ],
            dtype=object,
        )


def flow_function(
    M, beta, *, kernel="exp", norm="usa", geometry="sphere", n_tokens: int, dim: int
):
    """Right-hand side ``f(t, y)`` of the flow on flattened mp states.

    For :func:`numeric._mpode.solve_ivp_mp`: ``y`` is the row-major list of the
    ``n_tokens * dim`` coordinates; the function runs at the caller's precision.
    The sphere geometry is evaluated without a unit-norm check, since an
    integrator's intermediate stages leave the sphere at the order of its error.
    """
    norm, geometry = check.norm(norm), check.geometry(geometry)
    Ma = np.array(M, dtype=object)
    if Ma.ndim == 2:
        Ma = Ma[None]
    k = get_kernel(kernel)

    def f(t, y: Sequence) -> list:
        X = np.array(list(y), dtype=object).reshape(n_tokens, dim)
        Mm = np.vectorize(to_mpf, otypes=[object])(Ma)
        b = np.array(
            [
                to_mpf(v)
                for v in np.broadcast_to(np.array(beta, dtype=object), (Ma.shape[0],))
            ],
            dtype=object,
        )
        st = _State(X, Mm, b, k)
        return list(_velocity(st, norm, geometry).ravel())

    return f
