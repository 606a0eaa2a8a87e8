"""Approximate leave-group-out: one Newton step per group of rows, from a single fit.

:func:`ticselect.approximate_loo` with ``groups=`` leaves out every group of rows
(patients, sites, firms) in turn.  With the per-row model of
:mod:`ticselect.curvature._rows` (local parameters ``uᵢ``, ``Jᵢ``, ``ℓ'ᵢ``, ``Λᵢ``),
removing the rows of group ``g`` from the penalised loss and taking one Newton step
from ``θ̂`` gives

``θ₋g = θ̂ + (H_λ − A_gᵀD_gA_g)⁻¹ A_gᵀr_g``,

with ``A_g`` the group's stacked Jacobians (``n_g·K' × k``), ``D_g`` the block
diagonal of ``wᵢΛᵢ`` and ``r_g`` the stacked ``wᵢℓ'ᵢ``.  With ``H_λ⁻¹ = FᵀΣF`` (the
one factorisation of :mod:`ticselect.selection._loo`; ``Σ = I`` on its Cholesky
route) and ``T = F A_gᵀ``, the block Woodbury identity gives the move of the group's
local parameters in either of two equal forms,

``Δu_g = M(I − D_gM)⁻¹r_g`` with ``M = TᵀΣT`` (``n_g·K'`` square: small groups), or
``Δu_g = Tᵀ(I − ΣK)⁻¹ΣTr_g`` with ``K = TD_gTᵀ`` (``k`` square: large groups),

whichever is smaller, so a group costs ``O(n_g·K'·k²)`` and no ``n × n`` or
``n_g × n_g`` matrix of a large group is formed.  The group's **leverage** is the
spectral radius of ``D_gM`` (equivalently of ``ΣK``): the largest eigenvalue of
``H_λ⁻¹H_g``, the share of the penalised curvature that the group supplies along
some direction.  Near 1 the group alone determines a direction and the one-step
estimate is unreliable; at or above 1 no Newton step exists and the group keeps the
infinitesimal-jackknife step ``Δu_g = Mr_g``.

Groups of leverage above ``refine_tol`` (or flagged) are refined, at most
``max_refine`` of the highest leverage: their leave-group-out fit is iterated to
convergence (damped Newton on ``F − Σ_{i∈g}wᵢℓᵢ`` from ``θ̂``, GLMs), so their values
are exact.  For L1 and elastic-net fits every group is a candidate (leaving out a
whole group often changes the active set, and the row-wise diagnostic of
:mod:`ticselect.selection._loo_l1` is not extended to groups): the ``max_refine``
groups of highest leverage get the whole L1 problem refitted without them.  With one
row per group the groups are the rows and the result is the ungrouped one.

Conventions
-----------
``pointwise[i] = ℓᵢ(θ₋g(i))`` per row, unweighted, so ``loo_nll = Σᵢ wᵢ pointwise[i]``
as without groups; ``group_pointwise[g] = Σ_{i∈g} wᵢ pointwise[i]``.  ``loo_se`` is
over groups, ``2·sqrt(G · var_g(group_pointwise))`` (``G`` groups, variance with one
degree of freedom removed): the groups, not the rows, are the independent units.
``leverage``, ``high_leverage`` and ``refined`` give each row its group's value.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from ..curvature._linalg import restrict
from ._loo_l1 import refit_nll, refitable

__all__ = ["leave_groups_out", "newton_leave_out"]

#: Floats of ``n_g·K'·k`` Jacobians held per chunk of groups.
_BLOCK_FLOATS = 2**22
#: Newton iterations of a refined group, and the decrement (nats) that stops them.
_REFINE_STEPS, _REFINE_TOL = 30, 1e-10


def _chunks(order, starts, sizes, width):
    """Runs of whole groups whose rows hold about ``_BLOCK_FLOATS`` Jacobian floats."""
    per = max(1, _BLOCK_FLOATS // max(1, width))
    g = 0
    G = sizes.size
    while g < G:
        h, total = g, 0
        while h < G and (h == g or total + sizes[h] <= per):
            total += sizes[h]
            h += 1
        yield range(g, h), order[starts[g] : starts[g] + total]
        g = h


def _apply_blocks(D, X):
    """``blockdiag(D) @ X`` for blocks ``D`` of shape (n_g, K', K'), X (n_g·K', c)."""
    ng, Kp, _ = D.shape
    if Kp == 1:
        return D[:, 0, :1] * X
    return np.matmul(D, X.reshape(ng, Kp, -1)).reshape(ng * Kp, -1)


def _group_step(T, sign, D, r, newton):
    """``(Δu, leverage, top)`` of one group from ``T = F A_gᵀ`` (see the module).

    ``D`` holds the group's ``wᵢΛᵢ`` blocks, shape (n_g, K', K').
    """
    q, m = T.shape  # q: directions of the factorisation, m = n_g·K'
    if m <= q:
        M = T.T @ (sign[:, None] * T)
        DM = _apply_blocks(D, M)
        ev = np.linalg.eigvals(DM) if m else np.zeros(0)
        step = r
        top = float(np.max(ev.real)) if ev.size else 0.0
        if newton and top < 1.0:
            step = np.linalg.solve(np.eye(m) - DM, r)
        return M @ step, float(np.max(np.abs(ev))) if ev.size else 0.0, top
    K = T @ _apply_blocks(D, T.T)
    SK = sign[:, None] * K
    if np.all(sign > 0):
        ev = linalg.eigvalsh(0.5 * (K + K.T))
    else:
        ev = np.linalg.eigvals(SK)
    top = float(np.max(ev.real)) if ev.size else 0.0
    a = sign * (T @ r)
    if newton and top < 1.0:
        a = np.linalg.solve(np.eye(q) - SK, a)
    return T.T @ a, float(np.max(np.abs(ev))) if ev.size else 0.0, top


def leave_groups_out(curv, rows, codes, n_groups, factor, sign, Q, *, method,
                     leverage_tol, refine, max_refine, refine_tol):  # fmt: skip
    """One-step (and refined) leave-group-out of every group (see the module).

    Parameters
    ----------
    curv : Curvature
    rows : object
        ``curv.rows``.
    codes : ndarray of int of shape (n_rows,)
        Group code of each row (``0 .. n_groups - 1``).
    n_groups : int
    factor, sign : callable, ndarray
        ``H_λ⁻¹ = FᵀΣF`` on the gauge complement: ``factor(A) = F A``,
        ``Σ = diag(sign)``.
    Q : ndarray of shape (n_params, k)
        Basis of the gauge complement.
    method, leverage_tol, refine, max_refine, refine_tol
        As in :func:`ticselect.approximate_loo`.

    Returns
    -------
    dict
        The fields of :class:`~ticselect.LOOResult`.
    """
    n, Kp = rows.n_rows, rows.n_local
    w = rows.weights
    gauge = curv.gauge.shape[1] > 0
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pointwise = np.empty(n)
    shift = np.empty((n, Kp))
    g_lev = np.empty(n_groups)
    newton = method == "newton"
    for groups, idx in _chunks(order, starts, sizes, Kp * Q.shape[1]):
        u, J, d1, d2 = rows.local(idx)
        A = J @ Q if gauge else J  # (b, K', k)
        b = idx.size
        T_all = factor(A.reshape(b * Kp, -1).T)  # (q, b·K')
        off = 0
        for g in groups:
            sl = slice(off, off + sizes[g])
            off += sizes[g]
            cols = slice(sl.start * Kp, sl.stop * Kp)
            wg = w[idx[sl]]
            D = wg[:, None, None] * d2[sl]
            r = (wg[:, None] * d1[sl]).ravel()
            du, lev, _top = _group_step(T_all[:, cols], sign, D, r, newton)
            du = du.reshape(-1, Kp)
            shift[idx[sl]] = du
            g_lev[g] = lev
            pointwise[idx[sl]] = rows.nll(idx[sl], u[sl] + du)
    g_nll = np.bincount(codes, weights=np.where(w > 0, w * pointwise, 0.0),
                        minlength=n_groups)  # fmt: skip
    g_high = (g_lev > leverage_tol) | ~np.isfinite(g_nll)
    g_refined = np.zeros(n_groups, dtype=bool)
    if refine and newton:
        g_w = np.bincount(codes, weights=w, minlength=n_groups)
        doubtful = (g_lev > refine_tol) | g_high
        if curv.active_set is not None:  # a group left out may change the active set
            doubtful[:] = True
        cand = np.flatnonzero(doubtful & (g_w > 0))
        cand = cand[np.argsort(-np.where(np.isfinite(g_lev[cand]), g_lev[cand],
                                         np.inf))][: int(max_refine)]  # fmt: skip
        members = [order[starts[g] : starts[g] + sizes[g]] for g in cand]
        values = _refine_groups(curv, rows, Q, members)
        for g, idx_g, value in zip(cand, members, values, strict=True):
            if value is not None:
                pointwise[idx_g], g_refined[g] = value, True
    g_nll = np.bincount(codes, weights=np.where(w > 0, w * pointwise, 0.0),
                        minlength=n_groups)  # fmt: skip
    return _fields(curv, pointwise, codes, n_groups, g_nll, g_lev, g_high,
                   g_refined, leverage_tol, shift, w, method)  # fmt: skip


def _fields(curv, pointwise, codes, n_groups, g_nll, g_lev, g_high, g_refined,
            leverage_tol, shift, w, method):  # fmt: skip
    loo_nll = float(np.sum(g_nll))
    if not np.all(np.isfinite(g_nll)):
        se = np.inf
    elif n_groups > 1:
        se = 2.0 * float(np.sqrt(n_groups * np.var(g_nll, ddof=1)))
    else:
        se = np.nan
    return dict(
        loo=2.0 * loo_nll,
        loo_nll=loo_nll,
        loo_se=se,
        pointwise=pointwise,
        leverage=g_lev[codes],
        high_leverage=g_high[codes],
        leverage_tol=leverage_tol,
        local_shift=shift,
        weights=w,
        nll=curv.nll,
        n_samples=float(np.sum(w)),
        method=method,
        flags=tuple(curv.flags),
        refined=g_refined[codes],
        groups=codes,
        n_groups=int(n_groups),
        group_pointwise=g_nll,
        group_leverage=g_lev,
    )


def _refine_groups(curv, rows, Q, members):
    """Exact leave-group-out NLL of each group's rows, or ``None`` per group."""
    if not members:
        return []
    if curv.active_set is not None:
        if not refitable(curv):
            return [None] * len(members)
        return refit_nll(curv, members)
    if not hasattr(rows, "derivatives_at"):  # networks are not refined
        return [None] * len(members)
    return [_newton_group(curv, rows, Q, idx) for idx in members]


def newton_leave_out(curv, rows, Q, idx):
    """Parameters minimising ``F − Σ_{i∈idx} wᵢℓᵢ`` by damped Newton from ``θ̂``.

    Works in the gauge complement ``θ = θ̂ + Qδ``; halves a step that does not lower
    the left-out objective (the penalty held fixed, an L1 fit's ``|θ|`` term
    included).  ``None`` when it does not converge.

    Parameters
    ----------
    curv : Curvature
    rows : GLMRows
        ``curv.rows``.
    Q : ndarray of shape (n_params, k)
        Basis of the gauge complement.
    idx : int or ndarray of int
        The row (or rows) left out.

    Returns
    -------
    ndarray of shape (n_params,) or None
    """
    pen = curv.penalty
    l1 = np.abs(curv.penalty_linear)
    theta = curv.params.copy()
    value, grad, hess = rows.leave_out(idx, theta, pen, l1)
    for it in range(_REFINE_STEPS):
        if grad is None:
            return None
        g = Q.T @ grad
        HQ = restrict(hess, Q)
        try:
            with warnings.catch_warnings():
                # an ill-conditioned step is checked by the decrement and the line
                # search below: scipy's LinAlgWarning adds nothing
                warnings.simplefilter("ignore", linalg.LinAlgWarning)
                delta = linalg.solve(HQ, g, assume_a="sym", check_finite=False)
        except (linalg.LinAlgError, ValueError):
            delta = np.linalg.lstsq(HQ, g, rcond=None)[0]
        decrement = 0.5 * float(g @ delta)
        if not decrement > 0:  # not a descent direction: indefinite Hessian
            delta, decrement = g / max(np.max(np.abs(np.diag(HQ))), 1e-300), 0.0
        if decrement < _REFINE_TOL and decrement >= 0 and it > 0:
            # the last, tiny, step too: stopping before it leaves a θ error of
            # √(2·decrement/λ), which the left-out rows' NLL would keep
            theta = theta - Q @ delta
            break
        t = 1.0
        for _half in range(30):
            new = theta - t * (Q @ delta)
            v_new, g_new, h_new = rows.leave_out(idx, new, pen, l1)
            if v_new <= value:
                break
            t *= 0.5
        else:
            return None
        theta, value, grad, hess = new, v_new, g_new, h_new
    else:
        return None
    return theta


def _newton_group(curv, rows, Q, idx):
    """Exact leave-group-out NLL of the rows ``idx`` (GLMs), or ``None``."""
    theta = newton_leave_out(curv, rows, Q, idx)
    if theta is None:
        return None
    u, J, _, _ = rows.local(idx)
    out = rows.nll(idx, u + J @ (theta - curv.params))
    return out if np.all(np.isfinite(out)) else None
