"""Rows of a GLM whose leave-one-out fit does not exist (its MLE is infinite).

Leaving a row out can make the maximum-likelihood fit of the other rows diverge: the
row was the only one that kept a coefficient finite.  A refit then runs off to
infinity, and the left-out row's NLL with it (a multinomial class with one row: a
refit gave 58.5 and growing, one Newton step 6.0).  :func:`divergent_rows` finds the
rows for which this happens along one unpenalised column of the design, which covers
the cases met in practice:

- a class (or, for binomial counts, all successes or all failures) carried by one
  row, with an unpenalised intercept: without the row the class is absent, its
  intercept goes to ``-∞`` and so does the row's own predicted probability;
- a *zero cell*: an unpenalised column that is one-signed (e.g. a dummy) and whose
  other rows all have ``y = 0`` (Poisson, negative binomial) or all sit at one end
  of their range (binomial), or all lack the row's class (multinomial).  Without the
  row the column's coefficient goes to ``±∞``, driving the cell's mean to the
  boundary, and the row (inside the cell, away from that boundary) gets ``ℓ = ∞``.

Formally, for an unpenalised column ``j`` with ``sᵢ x̃ᵢⱼ ≥ 0`` for every row of
positive weight (``s = ±1``) and support ``Sⱼ``, row ``i ∈ Sⱼ`` is divergent when no
other row of ``Sⱼ`` is on the row's side of the boundary the coefficient can push
the cell to: the direction ``∓eⱼ`` then separates the left-out data (it weakly
improves every remaining row and strictly the rows of ``Sⱼ``), so the MLE is at
infinity, where the row's likelihood is 0.  Separation along a combination of columns
(found by the linear programme of :mod:`ticselect.curvature._separation`) is not
searched row by row.  Penalised columns (and log-link count models' non-log links,
where ``μ → 0`` is not at infinity) never diverge.  Cost: one pass over the design
per class, ``O(nnz)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["divergent_rows"]

_COUNT_FAMILIES = ("poisson", "negative_binomial")


def _design(spec):
    X = spec.X
    if spec.intercept is None:
        return X
    ones = np.ones((X.shape[0], 1))
    return (
        sp.hstack([X, ones], format="csr") if sp.issparse(X) else np.hstack([X, ones])
    )


def _column_penalty(curv, rows):
    """Largest penalty on each column of ``[X, 1]`` over the linear predictors."""
    m, pt = rows.m, rows.pt
    full = np.zeros(m * pt)
    kept = np.arange(m * pt) if rows.keep is None else rows.keep[rows.keep < m * pt]
    full[kept] = curv.penalty[: kept.size]
    return full.reshape(m, pt).max(axis=0)


def _sides(spec, y):
    """Boolean masks, one per side a cell can be pushed to, of the rows away from it."""
    fam = spec.family
    if fam.name in _COUNT_FAMILIES:
        return [y > 0] if fam.link.name == "log" else []
    if fam.name == "binomial":
        n_trials = np.broadcast_to(fam.n_trials, y.shape)
        return [y > 0, y < n_trials]
    if fam.name == "multinomial":
        labels = np.argmax(y, axis=1) if y.ndim == 2 else y.astype(int)
        return [labels == c for c in range(spec.coef.shape[0])]
    return []


def divergent_rows(curv, rows):
    """Rows whose leave-one-out maximum-likelihood fit diverges (module docstring).

    Parameters
    ----------
    curv : Curvature
        A GLM curvature.
    rows : GLMRows
        ``curv.rows``.

    Returns
    -------
    ndarray of bool of shape (n_rows,)
        All ``False`` for families without a boundary (Gaussian, Gamma, ...).
    """
    spec = rows.spec
    n = rows.n_rows
    out = np.zeros(n, dtype=bool)
    y = np.asarray(spec.y, dtype=float)
    sides = _sides(spec, y)
    if not sides:
        return out
    live = rows.weights > 0
    Xt = _design(spec)
    if sp.issparse(Xt):
        Xl = Xt[np.flatnonzero(live)]
        one_signed = (Xl.min(axis=0).toarray().ravel() >= 0) | (
            Xl.max(axis=0).toarray().ravel() <= 0
        )
        nz = (Xt != 0).astype(float).tocsr()
    else:
        Xt = np.asarray(Xt, dtype=float)
        Xl = Xt[live]
        one_signed = np.all(Xl >= 0, axis=0) | np.all(Xl <= 0, axis=0)
        nz = (Xt != 0).astype(float)
    eligible = one_signed & (_column_penalty(curv, rows) == 0)
    if not np.any(eligible):
        return out
    for away in sides:
        e = (away & live).astype(float)
        count = nz.T @ e  # rows of each column's support on this side
        single = (eligible & (np.asarray(count).ravel() == 1)).astype(float)
        if np.any(single):
            out |= (away & live) & (np.asarray(nz @ single).ravel() > 0)
    return out
