"""Timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

import time

#: The clock of :func:`best_of`: wall time, or this process's CPU time (``--cpu`` in
#: the scripts that offer it; with one BLAS thread it is the work done, which the
#: other jobs of a loaded machine stretch far less than the wall time).
CLOCK = {"clock": time.perf_counter}


def use_cpu_clock(on=True):
    """Make :func:`best_of` measure CPU time (``time.process_time``) if ``on``."""
    CLOCK["clock"] = time.process_time if on else time.perf_counter


def best_of(fn, repeat):
    """Best time of ``repeat`` calls of ``fn`` (as ``timeit`` reports) and its
    last result.  The minimum discards warm-up (page faults of fresh copies, first
    calls) and interference from other jobs, which only ever add time."""
    clock = CLOCK["clock"]
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return best, out
