"""Argument checks run at the boundary of every public numerical function."""

from __future__ import annotations

import numpy as np

from symbolic.errors import InvalidArgumentError
from symbolic.model import GEOMETRIES, NORMS

#: Largest deviation ``| |x_i| - 1 |`` accepted for a token on the sphere.
SPHERE_TOL = 1e-8


def describe(a) -> str:
    """Short description of an array-like for error messages."""
    arr = np.asarray(a) if not isinstance(a, np.ndarray) else a
    return f"array of shape {arr.shape} and dtype {arr.dtype}"


def _real_array(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(name, value, f"not an array ({exc})") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise InvalidArgumentError(name, describe(arr), "must be real")
    if kind not in "biuf":  # bool, signed, unsigned, floating
        raise InvalidArgumentError(
            name, value, f"must be numeric, got dtype {arr.dtype}"
        )
    return arr


def tokens(X, *, sphere: bool, name: str = "X") -> np.ndarray:
    """Validate a token matrix: shape ``(n, d)``, ``n >= 2``, finite, unit rows.

    Returns a float64 C-contiguous copy-or-view.
    """
    arr = _real_array(X, name)
    if arr.ndim != 2:
        raise InvalidArgumentError(
            name, describe(arr), "must be 2-D of shape (n, d), one row per token"
        )
    n_tok, d = arr.shape
    if n_tok < 2 or d < 1:
        raise InvalidArgumentError(
            name, describe(arr), "needs n >= 2 tokens and dimension d >= 1"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        i, j = np.argwhere(~np.isfinite(arr))[0]
        raise InvalidArgumentError(
            name,
            f"{describe(arr)} with {name}[{i}, {j}] = {arr[i, j]}",
            "entries must be finite",
        )
    if sphere:
        norms = np.sqrt(np.einsum("id,id->i", arr, arr))
        worst = int(np.argmax(np.abs(norms - 1.0)))
        if abs(norms[worst] - 1.0) > SPHERE_TOL:
            raise InvalidArgumentError(
                name,
                f"{describe(arr)} with |{name}[{worst}]| = {norms[worst]:.6g}",
                f"tokens on the sphere need unit norm (within {SPHERE_TOL:g})",
                "normalise the rows or use geometry='flat'",
            )
    return arr


def score_matrices(
    M, d: int, *, symmetric: bool = False, name: str = "M"
) -> np.ndarray:
    """Validate score matrices: shape ``(H, d, d)`` (or ``(d, d)``), finite."""
    arr = _real_array(M, name)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise InvalidArgumentError(
            name,
            describe(np.asarray(M)),
            "must have shape (H, d, d): H square score matrices",
        )
    if arr.shape[0] < 1:
        raise InvalidArgumentError(name, describe(arr), "needs at least one head")
    if arr.shape[1] != d:
        raise InvalidArgumentError(
            name, describe(arr), f"matrices must be {d} x {d} to match X's d = {d}"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise InvalidArgumentError(name, describe(arr), "entries must be finite")
    if symmetric:
        asym = np.max(np.abs(arr - arr.transpose(0, 2, 1)))
        scale = max(1.0, float(np.max(np.abs(arr))))
        if asym > 1e-12 * scale:
            raise InvalidArgumentError(
                name,
                f"{describe(arr)} with max |M - M^T| = {asym:.3g}",
                "must be symmetric for this quantity",
            )
    return arr


def inverse_temperature(beta, H: int, name: str = "beta") -> np.ndarray:
    """Validate ``beta``: a positive finite scalar or one value per head."""
    if type(beta) is float and 0.0 < beta < np.inf:
        return np.full(H, beta)
    arr = _real_array(beta, name).astype(np.float64)
    if arr.ndim == 0:
        arr = np.full(H, float(arr))
    if arr.shape != (H,):
        raise InvalidArgumentError(
            name, describe(arr), f"must be a scalar or have shape ({H},), one per head"
        )
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        raise InvalidArgumentError(
            name,
            arr.tolist() if arr.size <= 8 else describe(arr),
            "must be finite and > 0",
        )
    return arr


def choice(value, name: str, options) -> str:
    """Validate that ``value`` is one of ``options``."""
    if not isinstance(value, str) or value not in options:
        raise InvalidArgumentError(name, value, f"expected one of {list(options)}")
    return value


def norm(value) -> str:
    return choice(value, "norm", NORMS)


def geometry(value) -> str:
    return choice(value, "geometry", GEOMETRIES)


def velocities(V, shape: tuple[int, int], name: str = "V") -> np.ndarray:
    """Validate a tangent field of the same shape as ``X``."""
    arr = _real_array(V, name)
    if arr.shape != shape:
        raise InvalidArgumentError(name, describe(arr), f"must have shape {shape}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise InvalidArgumentError(name, describe(arr), "entries must be finite")
    return arr
