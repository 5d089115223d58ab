"""Timing helpers: best-of-k wall time, paired comparisons, peak traced memory."""

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


def paired_best(fns, rounds: int = 5, number: int = 1) -> list[float]:
    """Smallest wall time per call of each of ``fns``, timed in alternation.

    Each round times ``number`` calls of every function in turn, so a change in
    machine load during the run affects all of them alike; the ratio of the
    results is what a side-by-side comparison reports.
    """
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            gc.collect()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[k] = min(best[k], (time.perf_counter() - start) / number)
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
