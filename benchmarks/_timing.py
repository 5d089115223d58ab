"""Timing helpers: best-of-k wall time, peak traced memory."""

from __future__ import annotations

import gc
import time
import tracemalloc


def best_time(fn, repeat: int = 5, number: int = 1) -> float:
    """Smallest wall time of ``number`` calls of ``fn`` over ``repeat`` rounds."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def peak_memory(fn) -> int:
    """Peak bytes allocated (as traced by tracemalloc, numpy included) during ``fn``."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base
