"""Layer 2 — logistic recalibration fits for :mod:`ticselect.calibration`.

``P(y = k) ∝ exp(b log p_k + a_k)`` with ``a_0 = 0`` (Cox 1958; one shared slope,
``b = 1/T`` of temperature scaling), fitted by damped Newton for a *batch* of row
weightings at once: row ``r`` of a ``(R, n)`` weight matrix is one data set (the
data as given, ``R = 1``, or a bootstrap resample given by its row counts).
"""

from __future__ import annotations

import numpy as np

from ._utils import NEWTON_DECREMENT_RTOL

#: Relative eigenvalue cutoff (Hessian scaled to unit diagonal) below which the
#: recalibration parameters are not identified.
IDENTIFIABLE_RCOND = 1e-10


def _binary_nll_grad_hess(theta, logp, y, w):
    """The two-class case as logistic regression on ``x = [l_1 - l_0, 1]``.

    ``η = b (l_1 - l_0) + a``: NLL ``Σ w (softplus(η) - y η)``, gradient
    ``Σ w (σ(η) - y) x`` and Hessian ``Σ w σ(η)(1 - σ(η)) x xᵀ`` — the general
    formulas with ``r_0 = -r_1``, in a third of the arithmetic.
    """
    d = logp[:, 1] - logp[:, 0]
    eta = theta[:, :1] * d + theta[:, 1:]
    nll = np.sum(w * (np.logaddexp(0.0, eta) - y * eta), axis=1)
    sig = 0.5 * (1.0 + np.tanh(0.5 * eta))  # σ(η) without overflow
    r = w * (sig - y)
    v = w * sig * (1.0 - sig)
    grad = np.stack([r @ d, r.sum(axis=1)], axis=1)
    h_bb, h_ba, h_aa = v @ (d * d), v @ d, v.sum(axis=1)
    hess = np.stack([np.stack([h_bb, h_ba], 1), np.stack([h_ba, h_aa], 1)], 1)
    return nll, grad, hess


def recal_nll_grad_hess(theta, logp, y, w, binary=True):
    """NLL, gradient and Hessian of the recalibration model for each weighting.

    With ``s = softmax(z)``, ``z = b l + a``, ``r = s - e_y`` and ``l = log p``:
    ``∂/∂b = Σ w r·l``, ``∂/∂a_j = Σ w r_j``; the Hessian is
    ``Σ w Jᵀ(diag s - s sᵀ)J`` with ``J = [l, e_1, ..., e_{K-1}]``, i.e.
    ``H_bb = Σ w Var_s(l)``, ``H_{b,a_j} = Σ w s_j (l_j - E_s l)`` and
    ``H_{a_j,a_m} = Σ w (s_j δ_jm - s_j s_m)``.

    Parameters
    ----------
    theta : ndarray of shape (R, K)
        ``[b, a_1, ..., a_{K-1}]`` per weighting.
    logp : ndarray of shape (n, K)
        Log-probabilities.
    y : ndarray of shape (n,)
        Class indices.
    w : ndarray of shape (R, n)
        Weights.
    binary : bool, default=True
        Use the two-class shortcut when ``K = 2`` (False: the general formulas).

    Returns
    -------
    nll : ndarray of shape (R,)
    grad : ndarray of shape (R, K)
    hess : ndarray of shape (R, K, K)
    """
    n, k = logp.shape
    if k == 2 and binary:
        return _binary_nll_grad_hess(theta, logp, y, w)
    rows = np.arange(n)
    z = theta[:, None, :1] * logp
    z[:, :, 1:] += theta[:, None, 1:]
    top = z.max(axis=2)
    lse = top + np.log(np.exp(z - top[:, :, None]).sum(axis=2))
    nll = np.sum(w * (lse - z[:, rows, y]), axis=1)
    s = np.exp(z - lse[:, :, None])
    r = s.copy()
    r[:, rows, y] -= 1.0
    grad = np.empty((theta.shape[0], k))
    grad[:, 0] = np.sum(w * np.sum(r * logp, axis=2), axis=1)
    grad[:, 1:] = np.einsum("ri,rik->rk", w, r[:, :, 1:])
    centred = logp - np.sum(s * logp, axis=2)[:, :, None]
    ws = w[:, :, None] * s
    hess = np.empty((theta.shape[0], k, k))
    hess[:, 0, 0] = np.sum(ws * centred**2, axis=(1, 2))
    cross = np.sum(ws[:, :, 1:] * centred[:, :, 1:], axis=1)
    hess[:, 0, 1:] = cross
    hess[:, 1:, 0] = cross
    hess[:, 1:, 1:] = -np.einsum("rij,rim->rjm", ws[:, :, 1:], s[:, :, 1:])
    diag = np.arange(1, k)
    hess[:, diag, diag] += ws[:, :, 1:].sum(axis=1)
    return nll, grad, hess


def _not_identifiable(slope):
    return ValueError(
        f"the calibration slope cannot be estimated (logistic recalibration stopped "
        f"at slope {slope:.3g} with a singular Hessian): either all predicted "
        "probabilities are equal, so the slope is not identifiable, or the outcomes "
        "are perfectly separated by the predicted probabilities, so the slope is "
        "infinite. Check the predictions on more varied data."
    )


def _check_identifiable(theta, hess):
    """Raise unless every Hessian (scaled to unit diagonal) is well conditioned."""
    d = np.diagonal(hess, axis1=1, axis2=2)
    bad = ~np.all(d > 0, axis=1)
    ok = ~bad
    if ok.any():
        root = np.sqrt(d[ok])
        scaled = hess[ok] / (root[:, :, None] * root[:, None, :])
        bad[np.flatnonzero(ok)] = np.linalg.eigvalsh(scaled)[:, 0] <= IDENTIFIABLE_RCOND
    if bad.any():
        raise _not_identifiable(theta[np.flatnonzero(bad)[0], 0])


def _newton_steps(hess, grad):
    try:
        return np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return np.stack(
            [
                np.linalg.lstsq(h, g, rcond=None)[0]
                for h, g in zip(hess, grad, strict=True)
            ]
        )


def _line_search(theta, step, nll, logp, y, w):
    """Backtracking that only accepts a decrease: ``(t, new theta, nll, g, H)``.

    ``t = 0`` for rows where no fraction down to 1e-10 decreased the NLL.
    """
    t = np.ones(theta.shape[0])
    new_theta, new_nll = theta.copy(), nll.copy()
    grad = np.zeros_like(theta)
    hess = np.zeros(theta.shape + theta.shape[1:])
    pending = np.arange(theta.shape[0])
    while pending.size:
        cand = theta[pending] - t[pending, None] * step[pending]
        c_nll, c_grad, c_hess = recal_nll_grad_hess(cand, logp, y, w[pending])
        ok = c_nll <= nll[pending]
        rows = pending[ok]
        new_theta[rows], new_nll[rows] = cand[ok], c_nll[ok]
        grad[rows], hess[rows] = c_grad[ok], c_hess[ok]
        retry = pending[~ok]
        t[retry] /= 2.0
        t[retry[t[retry] <= 1e-10]] = 0.0
        pending = retry[t[retry] > 0.0]
    return t, new_theta, new_nll, grad, hess


def fit_recalibration(logp, y, w, max_iter=100, tol=1e-9, start=None):
    """Fit ``P(y=k) ∝ exp(b log p_k + a_k)``, ``a_0 = 0``, by damped Newton.

    ``w`` of shape (n,) fits one data set and returns ``theta = [b, a_1, ...,
    a_{K-1}]``; of shape (R, n) it fits every weighting at once and returns
    shape (R, K).  Starts from ``b = 0`` with the intercepts at the log
    class-frequency ratios (the null model, where the Hessian is well
    conditioned; starting at ``b = 1`` can stall on saturated, confidently wrong
    forecasts), or from ``start``, and takes Newton steps with backtracking that
    only ever accept a decrease of the negative log-likelihood (the problem is
    convex).  A row has converged when its Newton step is below ``tol`` relative
    to ``max(1, |θ|)``, or when its Newton decrement ``gᵀH⁻¹g`` is below
    ``NEWTON_DECREMENT_RTOL`` times the NLL (the predicted decrease is then lost in
    the rounding of the summed NLL: the full step is taken).  Raises ValueError
    when a fit does not converge (complete or quasi-complete separation: the
    slope is infinite) or its Hessian is singular at the end (constant forecasts,
    or separation saturated in floating point).  Callers check that every class
    is present.
    """
    single = np.ndim(w) == 1
    w = np.atleast_2d(w)
    k = logp.shape[1]
    if start is None:
        freq = np.stack([np.bincount(y, weights=row, minlength=k) for row in w])
        theta = np.zeros((w.shape[0], k))
        theta[:, 1:] = np.log(freq[:, 1:] / freq[:, :1])
    else:
        theta = np.tile(np.asarray(start, dtype=float), (w.shape[0], 1))
    nll, grad, hess = recal_nll_grad_hess(theta, logp, y, w)
    # constant forecasts make the slope collinear with the intercepts: the Hessian is
    # singular already at the null model (it is regular there whenever the forecasts
    # vary, separated or not), and Newton steps along its null space never converge
    _check_identifiable(theta, hess)
    active = np.arange(w.shape[0])
    for _ in range(max_iter):
        step = _newton_steps(hess[active], grad[active])
        if not np.all(np.isfinite(step)):
            raise _not_identifiable(theta[active[0], 0])
        th = theta[active]
        # converged when the Newton step is negligible (under separation the steps
        # stay of order one while the slope diverges), or when the line search can
        # no longer see progress: gᵀH⁻¹g stays a fixed fraction of the NLL as both
        # vanish under separation, so that test never stops a diverging fit either
        small = np.max(np.abs(step), axis=1) <= tol * np.maximum(
            1.0, np.max(np.abs(th), axis=1)
        )
        flat = np.sum(grad[active] * step, axis=1) <= NEWTON_DECREMENT_RTOL * np.abs(
            nll[active]
        )
        done = small | flat
        if done.any():
            _check_identifiable(th[done], hess[active[done]])
            theta[active[done]] = th[done] - step[done]
        rows, step = active[~done], step[~done]
        t, cand, c_nll, c_grad, c_hess = _line_search(
            theta[rows], step, nll[rows], logp, y, w[rows]
        )
        stuck = t == 0.0  # no decrease along a descent direction: optimum to rounding
        if stuck.any():
            _check_identifiable(theta[rows[stuck]], hess[rows[stuck]])
        moved = ~stuck
        theta[rows[moved]], nll[rows[moved]] = cand[moved], c_nll[moved]
        grad[rows[moved]], hess[rows[moved]] = c_grad[moved], c_hess[moved]
        active = rows[moved]
        if not active.size:
            return theta[0] if single else theta
    raise ValueError(
        f"the logistic recalibration fit did not converge in {max_iter} Newton "
        f"steps (slope reached {theta[active[0], 0]:.3g}); the outcomes are "
        "probably perfectly separated by the predicted probabilities, so the "
        "calibration slope is infinite."
    )
