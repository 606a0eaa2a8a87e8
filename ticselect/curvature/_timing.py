"""Layer 1 — the time guard: how long the exact curvature and criteria would take.

The dense route costs the network kernel (``H``, ``C`` and ``G``: about ``n·d²``
multiply-adds in Kronecker-structured matrix products) and the ``O(d³)`` steps of
:func:`ticselect.criteria` (one Cholesky factorisation and inverse of ``H_λ``, one
symmetric eigenvalue computation of ``H``, one Cholesky factor for the Fisher soft
rank).  :func:`dense_seconds` estimates both from the matrix-multiply rate of this
machine, measured once per process by a small calibration (one ``800 × 800`` product,
a few milliseconds, cached), times constants measured on digits networks at
d = 1.2k–7.2k on one BLAS thread (``benchmarks/mlp_curvature.py`` prints the estimate
next to the measured time):

- kernel: ``KERNEL_FACTOR · 2·n·d² / rate``;
- criteria: ``DENSE_FACTOR · 2·d³ / rate`` on the Cholesky route (``H_λ`` positive
  definite), ``SUBSPACE_FACTOR · 2·d³ / rate`` on the subspace route that an
  indefinite ``H_λ`` takes (near-interpolating networks; no eigenvalues there).

Which route a network takes is only known once ``H`` is computed, so the guard
refuses by the Cholesky route's estimate, the slower one, and its message gives both.

The constants are set for the sizes where a 60 s budget binds (d of several
thousand), erring on the slow side there (by 1.3–1.8× in the benchmark); small
networks run up to 2–3× longer than estimated, seconds either way.  The estimate
bounds the waiting time, it does not predict it to the second.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "DENSE_FACTOR",
    "KERNEL_FACTOR",
    "SUBSPACE_FACTOR",
    "dense_seconds",
    "matmul_rate",
]

#: Default budget of :func:`ticselect.curvature` for a network, in seconds.
DEFAULT_MAX_SECONDS = 60.0
#: Time of the criteria's ``O(d³)`` steps in units of one ``d × d`` matrix product
#: (measured on digits networks: 0.7–0.9 at d = 4.8k–7.2k, 2–4 at d = 1.2k–2.4k).
DENSE_FACTOR = 1.2
#: The same on the subspace route (``benchmarks/README.md``, MLP table: the criteria
#: took 0.55 of these units at d = 4810 and 0.69 at d = 7210, where the one estimate
#: of the Cholesky route overstated the whole call 1.9× and 1.6×).
SUBSPACE_FACTOR = 0.7
#: Time of the network kernel in units of ``2·n·d²`` flops at the matmul rate
#: (measured: 0.6–0.9 at d = 4.8k–7.2k, 1.6–2.1 at d = 1.2k–2.4k).
KERNEL_FACTOR = 1.2

_RATE = []  # cached flop/s of this process


def matmul_rate():
    """Flop/s of a float64 matrix product on this machine (measured once, cached).

    Returns
    -------
    float

    Examples
    --------
    >>> matmul_rate() > 1e6
    True
    """
    if not _RATE:
        m = 800
        A = np.random.default_rng(0).random((m, m))
        A @ A  # warm-up: page faults, thread pool
        best = np.inf
        for _ in range(2):
            t0 = time.perf_counter()
            A @ A
            best = min(best, time.perf_counter() - t0)
        _RATE.append(2.0 * m**3 / max(best, 1e-9))
    return _RATE[0]


def dense_seconds(n_params, n_rows, rate=None, route="cholesky"):
    """Estimated seconds of the exact curvature and criteria of a network.

    Parameters
    ----------
    n_params : int
        ``d``.
    n_rows : int
        ``n``.
    rate : float or None, default=None
        Flop/s to assume; ``None`` measures it (:func:`matmul_rate`).
    route : {"cholesky", "subspace"}, default="cholesky"
        The factorisation the criteria take: ``H_λ`` positive definite, or not.

    Returns
    -------
    float

    Examples
    --------
    >>> dense_seconds(30_000, 100) > dense_seconds(3_000, 100)
    True
    >>> dense_seconds(5_000, 100, route="subspace") < dense_seconds(5_000, 100)
    True
    """
    if route not in ("cholesky", "subspace"):
        raise ValueError(f"route must be 'cholesky' or 'subspace', got {route!r}.")
    d, n = float(n_params), float(n_rows)
    rate = matmul_rate() if rate is None else float(rate)
    factor = DENSE_FACTOR if route == "cholesky" else SUBSPACE_FACTOR
    return (KERNEL_FACTOR * 2.0 * n * d * d + factor * 2.0 * d**3) / rate
