"""Spectral helpers: soft rank, its bounds, numerical rank and SLQ densities.

The stochastic Lanczos quadrature (SLQ) density is that of a symmetric operator
given by its products only.

Conventions
-----------
Matrices are those of :mod:`ticselect._curvature` (``H`` the summed data Hessian,
``C = Σᵢ wᵢ gᵢgᵢᵀ``, ``λ`` in the same loss units), restricted to the complement of
the gauge directions by the caller.  The soft rank uses a **scalar** ``λI`` on every
direction, as in Shoham, Mor-Yosef & Avron (2025, arXiv 2506.17809); negative
eigenvalues (indefinite ``H`` away from a minimum) count as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state

from ._linalg import DEFAULT_RCOND

__all__ = [
    "SoftRankBounds",
    "check_curvature",
    "SpectralDensity",
    "numerical_rank",
    "slq_spectral_density",
    "soft_rank",
    "soft_rank_bounds",
]


def check_curvature(curv, what):
    """Raise a ``TypeError`` saying why ``curv`` is not a usable :class:`Curvature`.

    The dense measures (criteria, norms, relative flatness, PAC-Bayes) need the
    ``d × d`` Hessian, the parameters and the loss; matrix-free
    :class:`~ticselect.CurvatureOperators` only give products, so the message points
    to the matrix-free estimators instead.

    Parameters
    ----------
    curv : object
        The argument to check.
    what : str
        Name of the calling function, for the message.
    """
    from ._curvature import Curvature
    from ._matrix_free import CurvatureOperators

    if isinstance(curv, Curvature):
        return
    if isinstance(curv, CurvatureOperators):
        raise TypeError(
            f"{what} takes a Curvature (from ticselect.curvature), got matrix-free "
            "CurvatureOperators: it needs the dense d x d Hessian, the fitted "
            "parameters and the loss, which the operators do not hold (they only "
            "give Hessian- and covariance-vector products). Use "
            "ticselect.curvature(model, X, y) when the Hessian fits in memory, or "
            "the matrix-free estimators: hessian_spectral_density (spectrum, "
            "tr f(H), soft rank), estimate_trace, top_eigenvalues and "
            "estimate_tic_penalty."
        )
    raise TypeError(
        f"{what} takes a Curvature (from ticselect.curvature), got "
        f"{type(curv).__name__}."
    )


def soft_rank(eigenvalues, lam):
    """``Σⱼ σⱼ / (σⱼ + λ)`` over the non-negative part of a spectrum.

    Parameters
    ----------
    eigenvalues : ndarray of shape (d,)
        Eigenvalues of a symmetric matrix.
    lam : float
        Non-negative damping; ``0`` gives the numerical rank (relative cutoff
        ``DEFAULT_RCOND``).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``lam`` is negative or not finite.

    Examples
    --------
    >>> soft_rank(np.array([3.0, 1.0, 0.0]), 1.0)
    1.25
    """
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"The soft-rank damping must be >= 0 and finite, got {lam}.")
    ev = np.clip(np.asarray(eigenvalues, dtype=float), 0.0, None)
    if lam == 0:
        return float(numerical_rank(ev))
    return float(np.sum(ev / (ev + lam)))


def numerical_rank(eigenvalues, rcond=DEFAULT_RCOND):
    """Number of eigenvalues above ``rcond · max|eigenvalue|``.

    Parameters
    ----------
    eigenvalues : ndarray of shape (d,)
        Eigenvalues of a symmetric matrix.
    rcond : float, default=1e-10
        Relative cutoff.

    Returns
    -------
    int

    Examples
    --------
    >>> numerical_rank(np.array([2.0, 1e-13, -1e-14, 0.5]))
    2
    """
    ev = np.asarray(eigenvalues, dtype=float)
    if ev.size == 0:
        return 0
    top = np.max(np.abs(ev))
    return int(np.count_nonzero(ev > rcond * top)) if top > 0 else 0


@dataclass(frozen=True)
class SoftRankBounds:
    """Soft-rank estimate and bounds from ``t = tr(H)``, ``s = ‖H‖₂`` and ``d``.

    For ``H ⪰ 0`` and ``f(σ) = σ/(σ+λ)`` concave with ``f(0) = 0``:

    - chord: ``f(σ) ≥ σ f(s)/s`` on ``[0, s]``, so ``lower = t/(s+λ) ≤ rank_λ(H)``;
    - Jensen over the ``d`` eigenvalues: ``rank_λ(H) ≤ d f(t/d) = t/(t/d+λ) = upper``
      (``≤ t/λ`` and ``≤ d``).

    ``estimate = t/(s+λ)`` is the soft rank of the "stable-rank" spectrum, ``t/s``
    eigenvalues equal to ``s`` (exact when the non-zero eigenvalues are equal): it is
    the lower bound, the estimate from trace and spectral norm used by Shoham,
    Mor-Yosef & Avron (arXiv 2506.17809) for networks whose Hessian is too large to
    diagonalise.  At ``λ = 0`` it is the stable rank ``t/s``.

    Attributes
    ----------
    estimate, lower, upper : float
    """

    estimate: float
    lower: float
    upper: float


def soft_rank_bounds(trace, spectral_norm, dim, lam):
    """Trace/spectral-norm estimate of the soft rank, with its bounds.

    Parameters
    ----------
    trace : float
        ``tr(H)`` (of the positive part when ``H`` is indefinite).
    spectral_norm : float
        Largest eigenvalue of ``H``.
    dim : int
        Dimension ``d`` of ``H``.
    lam : float
        Damping ``λ ≥ 0``.

    Returns
    -------
    SoftRankBounds

    Examples
    --------
    >>> b = soft_rank_bounds(5.0, 4.0, 2, 1.0)   # H = diag(4, 1): rank_1 = 1.3
    >>> b.lower <= 1.3 <= b.upper, b.estimate
    (True, 1.0)
    """
    t, s, d = float(trace), float(spectral_norm), int(dim)
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"The soft-rank damping must be >= 0 and finite, got {lam}.")
    if t <= 0 or s <= 0 or d == 0:
        return SoftRankBounds(0.0, 0.0, 0.0)
    lower = t / (s + lam)
    upper = t / (t / d + lam)
    return SoftRankBounds(lower, lower, upper)


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
