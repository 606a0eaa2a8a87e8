"""Layer 3 — the exact leave-one-out of a Gaussian/identity fit, differentiated.

:func:`ticselect.approximate_loo` gives ``Ridge``-type fits their exact leave-one-out
NLL in closed form (:mod:`ticselect.selection._loo_gaussian`, whose notation this
module follows): in deviance units ``A = X̃ᵀWX̃ + diag(c)``, ``β = A⁻¹X̃ᵀW(y −
offset)``, ``r`` the residuals, ``aᵢ = wᵢx̃ᵢᵀA⁻¹x̃ᵢ``, the left-out residual
``rᵢ/(1 − aᵢ)`` and, with the dispersion estimated, the left-out ML variance

``φ₋ᵢ = (RSS + 2sᵢeᵢ + sᵢ²fᵢ − wᵢ(rᵢ/(1 − aᵢ))²) / (Σw − wᵢ)``,

``sᵢ = wᵢrᵢ/(1 − aᵢ)``, ``eᵢ = vᵢᵀCβ`` (``X̃ᵀWr = Cβ``, ``C = diag(c)``), ``fᵢ =
x̃ᵢᵀvᵢ − vᵢᵀCvᵢ``, ``vᵢ = A⁻¹x̃ᵢ``.  The penalty ``c`` of the estimator's own
objective is free of the dispersion and moves with the search coordinate alone:
``dc/dt_g = e·c⊙mask_g =: D``.  Then ``dβ = −q`` with ``q = A⁻¹Dβ``, ``drᵢ =
x̃ᵢᵀq``, ``daᵢ = −wᵢvᵢᵀDvᵢ``, ``dRSS = 2βᵀCq`` and, with ``ρ = A⁻¹Cβ``,

``deᵢ = vᵢᵀDβ − vᵢᵀDρ − vᵢᵀCq``,  ``dfᵢ = 2vᵢᵀDA⁻¹Cvᵢ − 2vᵢᵀDvᵢ``.

Everything is ``O(n·k²)`` from one Cholesky factor of ``A`` per evaluation.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ._loo_gaussian import SINGULAR, _design
from ._tuning_grad import _total_se as total_se

__all__ = ["gaussian_loo_gradient"]

#: Floats per block of the design's rows held at a time (2**20 = 8 MiB).
_BLOCK_FLOATS = 2**20


def gaussian_loo_gradient(curv, masks, exponent):
    """Exact leave-one-out deviance of a Gaussian/identity fit and its derivatives.

    Parameters
    ----------
    curv : Curvature
        A fit for which :func:`ticselect.selection._loo_gaussian.applies` holds.
    masks : ndarray of bool of shape (G, n_params)
        Penalty entries each search coordinate scales.
    exponent : float
        ``e`` with ``c_g ∝ v_g^e``.

    Returns
    -------
    value : float
        ``2 Σᵢ wᵢ ℓᵢ(β₋ᵢ, φ₋ᵢ)``, equal to ``approximate_loo(curv).loo``.
    se : float
        Its standard error over rows, equal to ``approximate_loo(curv).loo_se``.
    grad : ndarray of shape (G,)
        Its derivatives in ``t_g = log v_g``.

    Raises
    ------
    numpy.linalg.LinAlgError
        When ``A`` is not positive definite.
    """
    rows = curv.rows
    spec, w = rows.spec, rows.weights
    phi_param = rows.phi_is_param
    d = curv.n_params
    k = d - int(phi_param)
    phi = float(rows.phi)
    c = phi * curv.penalty[:k]  # the estimator's own penalty (deviance units)
    Dg = exponent * c[None] * np.asarray(masks, dtype=bool)[:, :k]  # (G, k)
    G = Dg.shape[0]
    n = rows.n_rows
    y = spec.y if spec.offset is None else spec.y - spec.offset
    step = max(1, _BLOCK_FLOATS // max(k, 1))
    blocks = [slice(s, min(n, s + step)) for s in range(0, n, step)]

    def design(sl):
        return _design(spec, sl, k)

    A = np.diag(c)
    b = np.zeros(k)
    for sl in blocks:
        Z = design(sl)
        A += Z.T @ (w[sl, None] * Z)
        b += Z.T @ (w[sl] * y[sl])
    L = linalg.cholesky(A, lower=True)

    def solve(B):
        return linalg.cho_solve((L, True), B, check_finite=False)

    beta = solve(b)
    q = solve((Dg * beta[None]).T)  # (k, G): A⁻¹Dβ
    rho = solve(c * beta)
    n_s = float(np.sum(w))
    r = np.empty(n)
    for sl in blocks:
        r[sl] = y[sl] - design(sl) @ beta
    rss = float(w @ (r * r))
    d_rss = 2.0 * (c * beta) @ q  # (G,)
    ctx = (solve, L, w, r, c, Dg, beta, q, rho, rss, d_rss, n_s, phi, phi_param)
    pointwise = np.empty(n)
    grad = np.zeros(G)
    with np.errstate(all="ignore"):  # a singular left-out fit is inf, as there
        for sl in blocks:
            _rows_block(sl, design(sl), ctx, pointwise, grad)
    value = 2.0 * float(np.sum((w * pointwise)[w > 0]))
    return value, total_se(pointwise, w), 2.0 * grad


def _rows_block(sl, Z, ctx, pointwise, grad):
    """One block of rows: their left-out NLL and their part of the slopes."""
    (solve, L, w, r, c, Dg, beta, q, rho, rss, d_rss, n_s, phi, phi_param) = ctx
    G = Dg.shape[0]
    V = solve(Z.T)  # (k, b): vᵢ = A⁻¹x̃ᵢ
    wb, rb = w[sl], r[sl]
    h = np.einsum("kb,kb->b", Z.T, V)
    a = wb * h
    one_minus = 1.0 - a
    r_out = rb / one_minus
    dr = (Z @ q).T  # (G, b)
    vDv = Dg @ (V * V)  # (G, b)
    da = -wb[None] * vDv
    dr_out = dr / one_minus + rb * da / one_minus**2
    ok = one_minus > SINGULAR  # else the left-out fit does not exist: inf
    if not phi_param:
        pt = 0.5 * np.log(2 * np.pi * phi) + r_out**2 / (2 * phi)
        pointwise[sl] = np.where(ok, pt, np.inf)
        grad += (wb * r_out / phi) @ dr_out.T
        return
    s = wb * r_out
    e = (c * beta) @ V
    f = h - c @ (V * V)
    rss_all = rss + 2.0 * s * e + s * s * f
    phi_out = (rss_all - wb * r_out**2) / (n_s - wb)
    pt = 0.5 * np.log(2 * np.pi * phi_out) + r_out**2 / (2 * phi_out)
    pointwise[sl] = np.where(ok & (phi_out > 0), pt, np.inf)
    Y_c = linalg.solve_triangular(L, c[:, None] * V, lower=True, check_finite=False)
    ds = wb * dr_out
    for g in range(G):
        Y_d = linalg.solve_triangular(
            L, Dg[g][:, None] * V, lower=True, check_finite=False
        )
        de = (Dg[g] * beta) @ V - (Dg[g] * rho) @ V - (c * q[:, g]) @ V
        df = 2.0 * np.einsum("kb,kb->b", Y_d, Y_c) - 2.0 * vDv[g]
        d_all = d_rss[g] + 2 * ds[g] * e + 2 * s * de + 2 * s * ds[g] * f + s * s * df
        d_phi = (d_all - 2.0 * wb * r_out * dr_out[g]) / (n_s - wb)
        d_pt = (
            0.5 * d_phi / phi_out
            + r_out * dr_out[g] / phi_out
            - r_out**2 * d_phi / (2.0 * phi_out**2)
        )
        grad[g] += float(np.sum(wb * d_pt))
