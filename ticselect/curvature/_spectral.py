"""Layer 1 — spectral helpers of a Curvature: soft rank, its bounds, numerical rank.

Conventions
-----------
Matrices are those of :mod:`ticselect.curvature._result` (``H`` the summed data Hessian,
``C = Σᵢ wᵢ gᵢgᵢᵀ``, ``λ`` in the same loss units), restricted to the complement of
the gauge directions by the caller.  The soft rank uses a **scalar** ``λI`` on every
direction, as in Shoham, Mor-Yosef & Avron (2025, arXiv 2506.17809); negative
eigenvalues (indefinite ``H`` away from a minimum) count as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._linalg import DEFAULT_RCOND
from ._matrix_free import CurvatureOperators
from ._result import Curvature

__all__ = [
    "SoftRankBounds",
    "check_curvature",
    "numerical_rank",
    "soft_rank",
    "soft_rank_bounds",
]


def check_curvature(curv, what, *, hessian=True):
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
    hessian : bool, default=True
        The caller needs ``curv.hessian`` (a curvature built with
        ``ts.curvature(..., hessian=False)`` has none).
    """
    if isinstance(curv, Curvature):
        if hessian and curv.hessian is None:
            raise TypeError(
                f"{what} needs the Hessian, and this Curvature was built with "
                "ts.curvature(..., hessian=False) (for ts.evidence with hessian='ggn' "
                "or 'kfac' only): build it with the default hessian=True."
            )
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


def soft_rank(eigenvalues, lam, rcond=DEFAULT_RCOND):
    """``Σⱼ σⱼ / (σⱼ + λ)`` over the non-negative part of a spectrum.

    Parameters
    ----------
    eigenvalues : ndarray of shape (d,)
        Eigenvalues of a symmetric matrix.
    lam : float
        Non-negative damping; ``0`` gives the numerical rank (relative cutoff
        ``rcond``).
    rcond : float, default=1e-10
        Relative cutoff of the numerical rank at ``λ = 0``.

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
        return float(numerical_rank(ev, rcond))
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
    the lower bound.  This estimate from trace and spectral norm is ticselect's
    (for networks whose Hessian is too large to diagonalise; both are matrix-free);
    Shoham, Mor-Yosef & Avron (arXiv 2506.17809) define the soft rank, not this
    estimate.  At ``λ = 0`` it is the stable rank ``t/s``.

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
