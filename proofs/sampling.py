"""Deterministic sampling and minimal-counterexample search with hypothesis.

Checks draw their inputs from the strategies of :mod:`numeric.strategies`.
:func:`sample` returns examples reproducible from the run's seed;
:func:`search` asks hypothesis for an example satisfying a condition and lets it
shrink the example, so sizes drawn first (tokens, dimension, heads) come out as
small as the search can make them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hypothesis import HealthCheck, Phase, find, given, seed, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable

from .framework import Context

__all__ = ["sample", "search"]

_QUIET = dict(
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


@contextlib.contextmanager
def _reproducible():
    """Draw independently of which modules happen to be imported.

    Hypothesis mixes literals found in the source of loaded local modules into
    its draws, which makes a seeded draw depend on import history.  Inside this
    context the pool of local literals is empty, so a seed fixes the examples.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a future layout
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if original is None or not hasattr(providers, "Constants"):
        yield
        return
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    if cache is not None:
        cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        if cache is not None:
            cache.cache.clear()


def sample(strategy, count: int, ctx: Context, label: str) -> list:
    """``count`` examples of ``strategy``, determined by ``ctx.seed`` and ``label``.

    Hypothesis mixes boundary values (zeros, extreme floats, smallest sizes) into
    its draws, so a sample carries adversarial cases besides random ones.
    """
    drawn: list = []

    @seed(ctx._substream(label))
    @settings(max_examples=count, phases=[Phase.generate], **_QUIET)
    @given(strategy)
    def collect(example):
        drawn.append(example)

    with _reproducible():
        collect()
    return drawn[:count]


def search(
    strategy,
    condition: Callable[[object], bool],
    ctx: Context,
    label: str,
    *,
    max_examples: int = 2000,
):
    """A shrunk example satisfying ``condition``, or ``None`` if none was found."""
    try:
        with _reproducible():
            return find(
                strategy,
                condition,
                settings=settings(max_examples=max_examples, **_QUIET),
                random=ctx.random(label),
            )
    except (NoSuchExample, Unsatisfiable):
        return None
