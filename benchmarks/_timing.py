"""Timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

import time


def best_of(fn, repeat):
    """Best wall time of ``repeat`` calls of ``fn`` (as ``timeit`` reports) and its
    last result.  The minimum discards warm-up (page faults of fresh copies, first
    calls) and interference from other jobs, which only ever add time."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
