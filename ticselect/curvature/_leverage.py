"""Layer 1 — the largest per-row leverage of a GLM fit, from its per-row model.

Conventions
-----------
The leverage of row ``i`` is the spectral radius of ``wᵢΛᵢMᵢ`` with ``Mᵢ = Jᵢ H_λ⁻¹
Jᵢᵀ`` (``hᵢwᵢℓ''ᵢ``, ``hᵢ = x̃ᵢᵀH_λ⁻¹x̃ᵢ``, for one linear predictor), in the notation
of :mod:`ticselect.curvature._rows` and exactly the ``leverage`` of
:func:`ticselect.approximate_loo`: ``H_λ`` is the penalised Hessian on the complement
of the gauge directions.  For a GLM the leverages sum to about the effective
dimension ``tr(H_λ⁻¹H)`` (exactly, for one linear predictor without a dispersion
parameter), so their mean is ``effective_dim / n``; a single row can still reach 1.
TIC's penalty is the first-order term of leave-one-out in these leverages
(``1/(1 − hᵢ) ≈ 1 + hᵢ``), which fails where they are large.

Cost: one Cholesky factor of ``H_λ`` and its triangular inverse (``k³/3`` flops
each), one pass over the design (``O(n·p)``, no Jacobian formed; none when the
looser bound from the row norms ``‖xᵢ‖²`` the curvature kept, with ``maxⱼ dⱼ²`` for
``D``, already stays below the threshold) for the bound
``ρ(wᵢΛᵢMᵢ) ≤ wᵢ‖Λᵢ‖₂ ‖JᵢD‖_F² ‖(DH_λD)⁻¹‖₂`` (``D`` the equilibration; the norm
of the inverse bounded by ``min(tr, ‖L⁻¹‖₁‖L⁻¹‖_∞)`` of the Cholesky factor), and
triangular solves only for the rows whose bound exceeds the threshold asked
about: at large ``n`` the bound is far below it and no row is solved.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ._linalg import complement_basis, restrict

__all__ = ["max_leverage"]


def _spectral_radius(WM):
    """Largest ``|eigenvalue|`` of each ``K' × K'`` matrix of a stack."""
    if WM.shape[1] == 1:
        return np.abs(WM[:, 0, 0])
    return np.max(np.abs(np.linalg.eigvals(WM)), axis=1)


def _row_bounds(rows, w, norms):
    """``wᵢ ρ(Λᵢ) normsᵢ`` of every row, blockwise."""
    d2 = rows.scalar_curvature()
    if d2 is not None:  # one local parameter: ρ(Λᵢ) = |ℓ''ᵢ|
        return w * np.abs(d2) * norms
    out = np.empty(rows.n_rows)
    step = rows.rows_per_block()
    for start in range(0, rows.n_rows, step):
        sl = slice(start, min(rows.n_rows, start + step))
        out[sl] = w[sl] * _spectral_radius(rows.derivatives(sl)[2]) * norms[sl]
    return out


def max_leverage(curv, floor=0.5):
    """The largest row leverage of a GLM fit where it exceeds ``floor``.

    Parameters
    ----------
    curv : Curvature
        A GLM curvature with its per-row model (``curv.rows``).
    floor : float, default=0.5
        Leverages at or below it need not be exact: rows whose bound is below it are
        skipped.

    Returns
    -------
    float
        The exact largest leverage when it exceeds ``floor``; otherwise a value
        ``≤ floor`` (0 when no row was solved).  ``nan`` when the curvature has no
        per-row GLM model (networks, generic likelihoods) or ``H_λ`` is not
        positive definite.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> X[0] = [30.0, 0.0]                      # far from the others
    >>> y = X @ [1.0, -1.0] + rng.normal(size=50)
    >>> curv = ts.curvature(LinearRegression().fit(X, y), X, y, dispersion=1.0)
    >>> lev = max_leverage(curv)
    >>> bool(np.isclose(lev, ts.approximate_loo(curv).leverage.max())), lev > 0.9
    (True, True)
    """
    rows = getattr(curv, "rows", None)
    if rows is None or not hasattr(rows, "jacobian_norms"):
        return float("nan")  # networks and generic likelihoods: no GLM row model
    gauge = curv.gauge if curv.gauge.shape[1] else None
    Q = complement_basis(gauge, curv.n_params)
    H = restrict(curv.penalized_hessian, Q)
    if H.shape[0] == 0:  # no free parameter (an empty L1 active set): no leverage
        return 0.0  # (LAPACK's dtrtri rejects an empty matrix on stderr)
    diag = np.diag(H)
    if not np.all(diag > 0):
        return float("nan")
    scale = 1.0 / np.sqrt(diag)
    try:
        L = linalg.cholesky(
            H * scale[:, None] * scale[None, :], lower=True, check_finite=False
        )
    except linalg.LinAlgError:
        return float("nan")
    Linv, info = linalg.lapack.dtrtri(L, lower=1)
    if info != 0:
        return float("nan")
    # ‖M_i‖₂ ≤ ‖J_i Q D‖_F² ‖(D H_λ D)⁻¹‖₂, and ‖(D H_λ D)⁻¹‖₂ = ‖L⁻¹‖₂² is at most
    # tr(L⁻ᵀL⁻¹) and ‖L⁻¹‖₁‖L⁻¹‖_∞ (Hölder); without a gauge ‖J_i D‖_F² is a
    # weighted row norm of X, with one ‖J_i Q D‖_F ≤ ‖J_i‖_F max(D)
    inv_norm = min(
        float(np.sum(Linv * Linv)),
        float(np.abs(Linv).sum(axis=0).max() * np.abs(Linv).sum(axis=1).max()),
    )
    w = rows.weights
    if gauge is None:
        loose = rows.jacobian_norms(scale, bound=True)  # free, from the curvature
        if loose is not None and not np.any(
            _row_bounds(rows, w, loose) * inv_norm > floor
        ):
            return 0.0  # no row can exceed the floor: none solved
        norms = rows.jacobian_norms(scale) * inv_norm
    else:
        norms = rows.jacobian_norms() * float(np.max(scale)) ** 2 * inv_norm
    best = 0.0
    bounds = _row_bounds(rows, w, norms)
    step = rows.rows_per_block()
    for start in range(0, rows.n_rows, step):
        sl = slice(start, min(rows.n_rows, start + step))
        idx = start + np.flatnonzero(bounds[sl] > max(floor, best))
        if not idx.size:
            continue
        _, J, _, d2 = rows.local(idx)
        JD = (J if gauge is None else J @ Q) * scale  # (b, K', k)
        b, Kp, k = JD.shape
        S = linalg.solve_triangular(
            L, JD.reshape(b * Kp, k).T, lower=True, check_finite=False
        ).T.reshape(b, Kp, k)
        M = np.matmul(S, S.transpose(0, 2, 1))  # J_i H_λ⁻¹ J_iᵀ
        lev = _spectral_radius(w[idx, None, None] * np.matmul(d2, M))
        best = max(best, float(lev.max()))
    return best
