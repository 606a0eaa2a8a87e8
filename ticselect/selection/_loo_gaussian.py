"""Exact leave-one-out of a Gaussian/identity GLM in closed form, for every row at once.

:func:`ticselect.approximate_loo` uses it (``refine=True``, the default) for a
Gaussian GLM with the identity link: ``Ridge``, ``LinearRegression``,
``SGDRegressor``, ``TweedieRegressor(power=0)``, statsmodels OLS/WLS and Gaussian GLMs.

The objective
-------------
In deviance units the coefficients ``β`` (intercept included, as the last entry of the
design ``x̃ᵢ``) solve the ridge equations ``A β = X̃ᵀW(y − offset)`` with
``A = X̃ᵀWX̃ + diag(c)``, where ``c = φ̂·penalty`` is the penalty of the estimator's own
objective (``Ridge(alpha)``: ``c = alpha`` on the coefficients, 0 on the intercept);
it does not depend on the dispersion, which is the ML variance ``φ̂ = RSS / Σw`` of the
residuals (:mod:`ticselect.curvature._identify`: the penalty is ``λ = c/φ`` in loss
units).  Leaving row ``i`` out (its whole weight ``wᵢ``) and refitting the estimator
therefore gives, by the Sherman–Morrison identity,

``β₋ᵢ = β − A⁻¹x̃ᵢ sᵢ``,  ``sᵢ = wᵢrᵢ / (1 − aᵢ)``,  ``aᵢ = wᵢ x̃ᵢᵀA⁻¹x̃ᵢ``,

so the left-out residual of row ``i`` is ``rᵢ / (1 − aᵢ)`` and every other residual
moves to ``rⱼ + sᵢ x̃ⱼᵀA⁻¹x̃ᵢ``.  The left-out residual sum of squares over all rows
expands as

``Σⱼ wⱼ(rⱼ + sᵢx̃ⱼᵀvᵢ)² = RSS + 2sᵢ vᵢᵀX̃ᵀWr + sᵢ²(x̃ᵢᵀvᵢ − vᵢᵀdiag(c)vᵢ)``,
``vᵢ = A⁻¹x̃ᵢ`` (``X̃ᵀWX̃ = A − diag(c)``),

and the left-out dispersion is the ML variance of the remaining rows,
``φ₋ᵢ = (that − wᵢ(rᵢ/(1 − aᵢ))²) / (Σw − wᵢ)`` (``φ`` itself when it was fixed
with ``dispersion=``).  statsmodels' OLS and WLS results hold ``σ̂² = SSR/n`` fixed in
their curvature, as statsmodels counts it, but refitting them estimates it again:
their rows re-estimate it here too (``GLMRows.refit_dispersion``), on the whitened
data, and a WLS row adds ``-½ log wᵢ`` to its NLL as statsmodels' ``llf`` does.
Everything is ``O(n·k²)`` from one Cholesky factor of ``H_λ``: no refit, no ``n × n``
matrix.  ``β`` and ``r`` are those of the exact optimum ``β̂ − A⁻¹∇``, one Newton step
from the fitted ``β̂`` (the objective is quadratic), so a fit stopped at a solver
tolerance does not leak into the result.  ``pointwise[i] = ℓᵢ(β₋ᵢ, φ₋ᵢ)`` is then what
refitting the estimator without row ``i`` and taking the ML variance of its residuals
gives, to rounding.

A penalised Gaussian fit whose penalty is fixed in loss units while the dispersion is
estimated (no scikit-learn or statsmodels estimator) has ``β₋ᵢ`` depending on
``φ₋ᵢ``: it is not covered here (:func:`applies` is False) and gets the one-step
estimate with Newton refinement instead.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

__all__ = ["SINGULAR", "applies", "gaussian_loo"]

#: Floats per block of the design's rows held at a time (2**20 = 8 MiB).
_BLOCK_FLOATS = 2**20
#: ``1 − aᵢ`` below this: the left-out ridge system is singular (the row is needed to
#: identify a coefficient), and its leave-one-out fit does not exist.
SINGULAR = 1e-10


def applies(curv, rows):
    """Whether the closed form gives the exact leave-one-out fit of ``curv``.

    Parameters
    ----------
    curv : Curvature
    rows : object
        ``curv.rows``.

    Returns
    -------
    bool
    """
    spec = getattr(rows, "spec", None)
    fam = getattr(spec, "family", None)
    if fam is None or fam.name != "gaussian" or fam.link.name != "identity":
        return False
    if getattr(rows, "m", 0) != 1 or getattr(rows, "keep", None) is not None:
        return False
    if curv.gauge.shape[1] or curv.n_params == 0:  # nothing to leave out: general
        return False
    k = curv.n_params - int(rows.phi_is_param)
    penalised = bool(np.any(curv.penalty[:k] > 0))
    # β₋ᵢ must not depend on φ₋ᵢ: the dispersion is fixed, or the penalty is the
    # estimator's own (λ = c/φ), or there is none
    return not (rows.phi_is_param and penalised and not spec.l2_over_dispersion)


def _design(spec, sl, d):
    """Rows ``sl`` of ``[X̃, 0]``: the design, its intercept column, ``d − k`` zeros.

    ``d = k + 1`` leaves a zero column for the dispersion (``Jᵢ``'s first row); the
    transpose of the result is Fortran-ordered, as LAPACK wants it.
    """
    Xb = spec.X[sl]
    Xb = Xb.toarray() if hasattr(Xb, "toarray") else np.asarray(Xb, dtype=float)
    Z = np.zeros((Xb.shape[0], d))
    p = Xb.shape[1]
    Z[:, :p] = Xb
    if spec.intercept is not None:
        Z[:, p] = 1.0
    return Z


def _spectral_radius_2x2(a, b, c, d):
    """Largest ``|eigenvalue|`` of ``[[a, b], [c, d]]``, elementwise."""
    tr, det = a + d, a * d - b * c
    disc = tr * tr - 4.0 * det
    root = np.sqrt(np.abs(disc))
    real = np.maximum(np.abs(tr + root), np.abs(tr - root)) / 2.0
    return np.where(disc >= 0, real, np.sqrt(np.abs(det)))


def _check(info, what):
    if info != 0:
        raise linalg.LinAlgError(f"{what} failed (LAPACK info {info})")


def gaussian_loo(curv, rows):
    """Exact leave-one-out of every row of a Gaussian/identity fit (module docstring).

    Parameters
    ----------
    curv : Curvature
        A Gaussian/identity GLM curvature for which :func:`applies` is True.
    rows : GLMRows
        ``curv.rows``.

    Returns
    -------
    pointwise : ndarray of shape (n_rows,)
        ``ℓᵢ(β₋ᵢ, φ₋ᵢ)``, unweighted (``inf`` where the left-out fit does not exist).
    shift : ndarray of shape (n_rows, K')
        ``uᵢ⁻ⁱ − uᵢ``: the move of ``ηᵢ`` (and of ``φ``) from the fit to the left-out
        fit.
    leverage : ndarray of shape (n_rows,)
        The one-step diagnostic of :func:`ticselect.approximate_loo`, the spectral
        radius of ``wᵢΛᵢMᵢ`` (``wᵢhᵢ/φ`` when ``φ`` is fixed).
    singular : ndarray of bool of shape (n_rows,)
        Rows whose left-out ridge system is singular (``1 − aᵢ ≤ SINGULAR``): the
        leave-one-out fit does not exist (``pointwise`` is ``inf``).

    Raises
    ------
    numpy.linalg.LinAlgError
        When ``H_λ`` is not positive definite (the caller then takes the general
        route).
    """
    spec = rows.spec
    w = rows.weights
    n = rows.n_rows
    phi_param = rows.phi_is_param
    phi = float(rows.phi)
    d = curv.n_params
    k = d - int(phi_param)
    # H_λ = [[B, b], [bᵀ, c]], B = A/φ: one Cholesky factor serves the closed form
    # (its leading block factors B) and the one-step diagnostic Mᵢ = JᵢH_λ⁻¹Jᵢᵀ
    L, info = lapack.dpotrf(curv.penalized_hessian, lower=1, clean=1)
    _check(info, "Cholesky factorisation of H_λ")
    LB = np.asfortranarray(L[:k, :k])
    pen = curv.penalty[:k]
    eta = rows._eta[:, 0]
    y = spec.y if spec.offset is None else spec.y - spec.offset
    r_fit = y - (eta if spec.offset is None else eta - spec.offset)
    # the exact optimum: one Newton step β̂ − B⁻¹∇ (∇ the penalised loss's gradient)
    # (k = 0, an empty L1 active set without intercept: LAPACK rejects empty systems)
    delta, info = (
        lapack.dpotrs(LB, curv.gradient[:k], lower=1) if k else (np.zeros(0), 0)
    )
    _check(info, "solve with H_λ")
    step = max(1, _BLOCK_FLOATS // d)
    blocks = [slice(s, min(n, s + step)) for s in range(0, n, step)]
    Z0 = _design(spec, blocks[0], d) if len(blocks) == 1 else None

    def design(sl):
        return Z0 if Z0 is not None else _design(spec, sl, d)

    r = np.empty(n)
    t = np.zeros(k)  # X̃ᵀWr
    for sl in blocks:
        Z = design(sl)[:, :k]
        r[sl] = r_fit[sl] + Z @ delta
        t += Z.T @ (w[sl] * r[sl])
    rss = float(w @ (r * r))
    n_s = float(np.sum(w))
    Lt, info = lapack.dtrtrs(LB, t, lower=1) if k else (t, 0)  # B^{-1/2}-side of X̃ᵀWr
    _check(info, "triangular solve")

    h = np.empty(n)  # x̃ᵢᵀB⁻¹x̃ᵢ
    vtr = np.empty(n)  # x̃ᵢᵀB⁻¹X̃ᵀWr
    vcv = np.zeros(n)  # x̃ᵢᵀB⁻¹ diag(penalty) B⁻¹x̃ᵢ
    last = np.empty(n) if phi_param else None  # last entry of L⁻¹[x̃ᵢ; 0]
    penalised = bool(np.any(pen != 0))
    for sl in blocks:
        S, info = lapack.dtrtrs(L, design(sl).T, lower=1)  # L⁻¹Jᵢᵀ (first column)
        _check(info, "triangular solve")
        SB = S[:k]
        h[sl] = np.einsum("kb,kb->b", SB, SB)
        vtr[sl] = Lt @ SB
        if penalised:
            V, info = lapack.dtrtrs(LB, SB, lower=1, trans=1)  # B⁻¹x̃ᵢ
            _check(info, "triangular solve")
            vcv[sl] = pen @ (V * V)
        if phi_param:
            last[sl] = S[k]
    # deviance units: A = φB, so aᵢ = wᵢx̃ᵢᵀA⁻¹x̃ᵢ = wᵢhᵢ/φ, vᵢᵀX̃ᵀWr = vtr/φ, ...
    a = w * h / phi
    ok = 1.0 - a > SINGULAR
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        one_minus = np.where(ok, 1.0 - a, 1.0)
        r_out = r / one_minus
        shift_eta = r_fit - r_out  # η₋ᵢ − η̂ᵢ
        if not (phi_param or getattr(rows, "refit_dispersion", False)):
            pointwise = 0.5 * np.log(2.0 * np.pi * phi) + r_out**2 / (2.0 * phi)
            shift = shift_eta[:, None]
            leverage = a
        else:
            s = w * r_out
            rss_all = rss + (2.0 * s * vtr + s * s * (h - vcv)) / phi
            rest = n_s - w
            phi_out = (rss_all - w * r_out**2) / np.where(rest > 0, rest, np.nan)
            pointwise = 0.5 * np.log(2.0 * np.pi * phi_out) + r_out**2 / (2.0 * phi_out)
            pointwise = np.where(phi_out > 0, pointwise, np.inf)
        if not phi_param:
            shift = shift_eta[:, None]
            leverage = a
        else:
            shift = np.column_stack([shift_eta, phi_out - phi])
            # one-step diagnostic: wᵢΛᵢMᵢ, Λᵢ the row's Hessian in (η, φ) at the fit,
            # Mᵢ = JᵢH_λ⁻¹Jᵢᵀ = [[‖L⁻¹J̃ᵢ‖², lastᵢ/L_kk], [·, 1/L_kk²]]
            Lkk = L[k, k]
            m11, m12, m22 = h + last**2, last / Lkk, 1.0 / Lkk**2
            l11, l12 = 1.0 / phi, r_fit / phi**2
            l22 = -0.5 / phi**2 + r_fit**2 / phi**3
            leverage = _spectral_radius_2x2(
                w * (l11 * m11 + l12 * m12),
                w * (l11 * m12 + l12 * m22),
                w * (l12 * m11 + l22 * m12),
                w * (l12 * m12 + l22 * m22),
            )
    pointwise = np.where(ok, pointwise, np.inf)
    if getattr(rows, "nll_offset", None) is not None:
        pointwise = pointwise + rows.nll_offset
    return pointwise, shift, leverage, ~ok
