"""Layer 2 — spectral densities of a symmetric operator given by its products only.

Stochastic Lanczos quadrature (SLQ): see :class:`SpectralDensity`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state

__all__ = ["SpectralDensity", "slq_spectral_density"]


@dataclass(frozen=True)
class SpectralDensity:
    """Spectral density of a symmetric operator by stochastic Lanczos quadrature.

    The density is ``φ(x) = (1/d) Σⱼ δ(x - σⱼ)``; each probe ``v`` gives a Gauss
    quadrature rule ``(nodes, weights)`` with ``Σ weights = 1`` for the measure
    ``Σⱼ (vᵀuⱼ)² δ(x - σⱼ) / ‖v‖²``, whose average over Rademacher probes is ``φ``
    (Lin, Saad & Yang 2016; Ghorbani, Krishnan & Xiao 2019; Golub & Meurant).

    Attributes
    ----------
    nodes : ndarray of shape (n_probes, n_lanczos)
        Ritz values per probe.
    weights : ndarray of shape (n_probes, n_lanczos)
        Quadrature weights per probe (each row sums to 1).
    dim : int
        ``d``.
    """

    nodes: np.ndarray
    weights: np.ndarray
    dim: int

    def trace_function(self, f):
        """Estimate ``tr f(A) = d · E[Σ weights · f(nodes)]`` with its standard error.

        Parameters
        ----------
        f : callable
            Vectorised scalar function.

        Returns
        -------
        value : float
        error : float
            Standard error over probes (0 with a single probe).
        """
        per_probe = self.dim * np.sum(self.weights * f(self.nodes), axis=1)
        m = per_probe.size
        err = float(per_probe.std(ddof=1) / np.sqrt(m)) if m > 1 else 0.0
        return float(per_probe.mean()), err

    def density(self, grid, bandwidth):
        """Gaussian-smoothed density on a grid (integrates to about 1).

        Parameters
        ----------
        grid : ndarray of shape (g,)
            Points at which to evaluate.
        bandwidth : float
            Standard deviation of the Gaussian kernel (> 0).

        Returns
        -------
        ndarray of shape (g,)
        """
        if not bandwidth > 0:
            raise ValueError(f"bandwidth must be > 0, got {bandwidth}.")
        grid = np.asarray(grid, dtype=float)
        z = (grid[:, None] - self.nodes.ravel()[None, :]) / bandwidth
        k = np.exp(-0.5 * z**2) / (bandwidth * np.sqrt(2 * np.pi))
        return k @ self.weights.ravel() / self.nodes.shape[0]


def slq_spectral_density(matvec, dim, *, n_probes=10, n_lanczos=30, random_state=None):
    """Stochastic Lanczos quadrature of a symmetric operator (matrix-free).

    Parameters
    ----------
    matvec : callable
        ``V (dim, m) -> A V``.
    dim : int
        Size ``d`` of ``A``.
    n_probes : int, default=10
        Rademacher probes (the error of ``tr f(A)`` shrinks like ``1/√n_probes``).
    n_lanczos : int, default=30
        Lanczos steps per probe (with full reorthogonalisation; capped at ``d``, where
        the quadrature is exact for the probe).
    random_state : int, RandomState or None, default=None
        Seed of the probes.

    Returns
    -------
    SpectralDensity

    Examples
    --------
    >>> A = np.diag(np.arange(1.0, 6.0))
    >>> sd = slq_spectral_density(lambda V: A @ V, 5, n_probes=4, random_state=0)
    >>> round(sd.trace_function(lambda x: x)[0], 10)   # tr A, exact for diagonal A
    15.0
    """
    if n_probes < 1 or n_lanczos < 1:
        raise ValueError(
            f"n_probes and n_lanczos must be >= 1, got {n_probes} and {n_lanczos}."
        )
    rng = check_random_state(random_state)
    m = min(int(n_lanczos), int(dim))
    nodes = np.empty((n_probes, m))
    weights = np.empty((n_probes, m))
    for p in range(n_probes):
        v = rng.choice([-1.0, 1.0], size=dim)
        V = np.zeros((dim, m))
        V[:, 0] = v / np.linalg.norm(v)
        alpha, beta = np.zeros(m), np.zeros(max(m - 1, 0))
        k = m
        for j in range(m):
            w = matvec(V[:, j : j + 1])[:, 0]
            alpha[j] = V[:, j] @ w
            # full reorthogonalisation (twice is enough) keeps the Ritz values clean
            for _ in range(2):
                w = w - V[:, : j + 1] @ (V[:, : j + 1].T @ w)
            if j + 1 < m:
                b = np.linalg.norm(w)
                if b <= 1e-12 * max(1.0, abs(alpha[j])):  # invariant subspace found
                    k = j + 1
                    break
                beta[j] = b
                V[:, j + 1] = w / b
        theta, S = linalg.eigh_tridiagonal(alpha[:k], beta[: k - 1])
        nodes[p] = np.pad(theta, (0, m - k), constant_values=theta[-1])
        weights[p] = np.pad(S[0] ** 2, (0, m - k))
    return SpectralDensity(nodes, weights, int(dim))
