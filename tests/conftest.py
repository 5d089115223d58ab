"""Test-wide settings: floating-point errors raise, precision is restored."""

from __future__ import annotations

import os

import mpmath
import numpy as np
import pytest
from hypothesis import settings

import numeric.strategies  # noqa: F401 - registers the hypothesis profiles

settings.load_profile(
    "headflow-ci"
    if os.environ.get("CI")
    else os.environ.get("HYPOTHESIS_PROFILE_NAME", "headflow-dev")
)


@pytest.fixture(autouse=True)
def _numerics_guard(tmp_path_factory):
    """Raise on numpy floating-point errors; restore mpmath and flint precision."""
    import flint

    dps, prec = mpmath.mp.dps, flint.ctx.prec
    old = np.seterr(all="raise", under="ignore")
    try:
        yield
    finally:
        np.seterr(**old)
        mpmath.mp.dps = dps
        flint.ctx.prec = prec


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Generated code goes to a cache private to the test session."""
    if "HEADFLOW_CACHE_DIR" not in os.environ:
        os.environ["HEADFLOW_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
