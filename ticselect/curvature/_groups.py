"""Clustered gradient covariance: ``C = Σ_g s_g s_gᵀ`` over groups of rows.

With dependent rows inside groups (repeated measures, households, sites), the
per-sample gradients of one group are correlated, and the iid ``C = Σᵢ wᵢ gᵢ gᵢᵀ``
misses the cross terms.  Summing the scores within each group first,
``s_g = Σ_{i∈g} wᵢ gᵢ``, gives ``C = Σ_g s_g s_gᵀ``, the meat of the cluster-robust
sandwich (Liang & Zeger 1986) and the gradient covariance of TIC for data that are
independent *between* groups only.

Frequency weights keep their meaning: a row of weight ``m`` is ``m`` copies of the
row, all in the row's group, so its score enters ``s_g`` ``m`` times.  With one row per
group and unit weights the grouped ``C`` is the ungrouped one (the same array).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["group_codes", "group_grad_cov", "group_scores"]


def group_codes(groups, n_rows):
    """Integer codes ``0 .. n_groups - 1`` of group labels, in order of first sorting.

    Parameters
    ----------
    groups : array-like of shape (n_rows,)
        One hashable, sortable label per row (ints, strings, ...).
    n_rows : int
        Expected length.

    Returns
    -------
    codes : ndarray of int of shape (n_rows,)
    n_groups : int

    Raises
    ------
    ValueError
        For a wrong length, missing labels or an unsortable mixture of types.

    Examples
    --------
    >>> codes, n_groups = group_codes(["b", "a", "b"], 3)
    >>> codes.tolist(), n_groups
    ([1, 0, 1], 2)
    """
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n_rows:
        raise ValueError(
            f"groups must be a 1-D array with one label per row ({n_rows}), got "
            f"shape {g.shape}."
        )
    if g.dtype.kind == "f" and np.any(np.isnan(g)):
        raise ValueError("groups contains NaN; give every row a group label.")
    if g.dtype == object and any(v is None for v in g):
        raise ValueError("groups contains None; give every row a group label.")
    try:
        _, codes = np.unique(g, return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            "groups must hold labels of one sortable type (all ints or all strings)."
        ) from exc
    codes = codes.ravel().astype(np.intp)
    return codes, int(codes.max()) + 1 if codes.size else 0


def group_scores(G, w, codes, n_groups):
    """Summed weighted scores ``S[g] = Σ_{i∈g} wᵢ gᵢ``.

    Parameters
    ----------
    G : ndarray of shape (n_rows, d)
        Per-sample gradients.
    w : ndarray of shape (n_rows,)
        Frequency weights.
    codes : ndarray of int of shape (n_rows,)
        Group codes from :func:`group_codes`.
    n_groups : int
        Number of groups.

    Returns
    -------
    S : ndarray of shape (n_groups, d)

    Examples
    --------
    >>> G = np.array([[1.0], [2.0], [4.0]])
    >>> group_scores(G, np.ones(3), np.array([0, 1, 0]), 2).ravel().tolist()
    [5.0, 2.0]
    """
    n = G.shape[0]
    Z = sp.csr_array((w, (codes, np.arange(n))), shape=(n_groups, n))
    return np.asarray(Z @ G, dtype=float)


def group_grad_cov(curv, groups):
    """Replace ``curv.grad_cov`` by the clustered ``Σ_g s_g s_gᵀ`` (in place).

    Parameters
    ----------
    curv : Curvature
        Ungrouped curvature.
    groups : array-like of shape (curv.n_rows,)
        Group label of each row.

    Returns
    -------
    curv : Curvature
        The same object, with ``grad_cov``, ``groups`` and ``n_groups`` set.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> y = rng.poisson(np.exp(0.3 * X[:, 0]))
    >>> model = PoissonRegressor(alpha=0, tol=1e-10).fit(X, y)
    >>> curv = ts.curvature(model, X, y, groups=np.arange(60) // 3)
    >>> curv.n_groups, curv.grad_cov.shape
    (20, (3, 3))
    """
    codes, n_groups = group_codes(groups, curv.n_rows)
    w = curv.sample_weight
    singletons = n_groups == curv.n_rows
    if not (singletons and np.all(w == 1.0)):
        G = curv._per_sample_grads  # not cached on the curvature: n_rows × d floats
        G = G() if callable(G) else G
        S = group_scores(G, w, codes, n_groups)
        curv.grad_cov = S.T @ S
    curv.groups = codes
    curv.n_groups = n_groups
    return curv
