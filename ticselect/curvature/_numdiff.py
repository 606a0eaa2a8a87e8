"""Layer 1 (kernels) — Hessians by central differences of an analytic gradient.

For likelihoods that only come as functions (statsmodels' ``score_obs``): the
Hessian of each row, or of their sum, from ``2d`` gradient calls,

``∂gᵢ/∂θⱼ ≈ (gᵢ(θ + hⱼeⱼ) − gᵢ(θ − hⱼeⱼ)) / (2hⱼ)``,  ``hⱼ = eps^(1/3)·max(1, |θⱼ|)``,

where the truncation error ``O(h²)`` and the rounding error ``O(eps/h)`` balance
(about ``1e-10`` relative for smooth likelihoods).  Used by the statsmodels adapter to
check, and where needed replace, a model's own ``hessian``, and by the per-row model
of :class:`ticselect.curvature._rows.LikelihoodRows`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FD_STEP", "gradient_differences", "hessian_mismatch"]

#: Relative step of the central differences (``eps^(1/3)``).
FD_STEP = np.finfo(float).eps ** (1.0 / 3.0)


def _call(fn, theta):
    with np.errstate(all="ignore"):
        return np.asarray(fn(theta), dtype=float)


def gradient_differences(grad_obs, theta, rows=None, *, summed=False):
    """Per-row (or summed) Hessians by central differences of ``grad_obs``.

    Parameters
    ----------
    grad_obs : callable
        ``theta -> ndarray of shape (n, d)``: the per-row gradients of the loss.
    theta : ndarray of shape (d,)
        Where to differentiate.
    rows : ndarray of int or None, default=None
        Rows kept (all when ``None``).
    summed : bool, default=False
        Return the Hessian of the sum over the kept rows instead.

    Returns
    -------
    ndarray of shape (n_kept, d, d), or (d, d) when ``summed``
        Symmetrised.

    Examples
    --------
    >>> theta = np.array([1.0, 2.0])
    >>> def grad_obs(t):  # rows ℓ₁ = t₀²t₁, ℓ₂ = t₁³
    ...     return np.array([[2 * t[0] * t[1], t[0] ** 2], [0.0, 3 * t[1] ** 2]])
    >>> H = gradient_differences(grad_obs, theta, summed=True)
    >>> bool(np.allclose(H, [[4.0, 2.0], [2.0, 12.0]], rtol=1e-8))
    True
    """
    theta = np.asarray(theta, dtype=float)
    d = theta.shape[0]
    h = FD_STEP * np.maximum(1.0, np.abs(theta))
    pick = slice(None) if rows is None else np.asarray(rows)
    out = None
    for j in range(d):
        e = np.zeros(d)
        e[j] = h[j]
        diff = (_call(grad_obs, theta + e)[pick] - _call(grad_obs, theta - e)[pick]) / (
            2.0 * h[j]
        )
        if summed:
            diff = diff.sum(axis=0)
        if out is None:
            out = np.empty((*diff.shape, d))
        out[..., j] = diff
    return 0.5 * (out + np.swapaxes(out, -1, -2))


def hessian_mismatch(grad_obs, theta, hessian):
    """Relative error of ``hessian`` along one direction, by gradient differences.

    ``‖Hv − (g(θ + hv) − g(θ − hv))/2h‖ / ‖·‖`` with ``g`` the summed gradient and a
    fixed ±1 direction scaled like ``θ``: two gradient calls, enough to catch a
    Hessian that misses terms.

    Parameters
    ----------
    grad_obs : callable
        ``theta -> ndarray of shape (n, d)``.
    theta : ndarray of shape (d,)
        Where to check.
    hessian : ndarray of shape (d, d)
        The Hessian of the summed loss to check.

    Returns
    -------
    float
    """
    theta = np.asarray(theta, dtype=float)
    d = theta.shape[0]
    signs = np.where(np.arange(d) % 3 == 1, -1.0, 1.0)  # not aligned with any axis
    v = signs * np.maximum(1.0, np.abs(theta))
    h = FD_STEP
    up = _call(grad_obs, theta + h * v).sum(axis=0)
    down = _call(grad_obs, theta - h * v).sum(axis=0)
    fd = (up - down) / (2.0 * h)
    Hv = hessian @ v
    return float(
        np.linalg.norm(Hv - fd) / max(np.linalg.norm(fd), np.linalg.norm(Hv), 1e-300)
    )
