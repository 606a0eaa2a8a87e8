"""What a GLM fit identifies: a likelihood that exists, and its non-aliased columns.

Three rules, applied by :func:`ticselect.curvature` to every GLM (not to networks):

No likelihood, no number
    An unpenalised fit with an estimated dispersion and no more rows (of positive
    weight) than the rank of its design reproduces ``y``: ``φ̂ = 0`` (or a rounding
    residue), and the log-likelihood is unbounded.  :func:`check_likelihood_exists`
    raises a one-line ``ValueError``, as for ``φ̂ = 0`` exactly.  The same holds when
    ``φ̂`` is below ``1e-10`` of the weighted variance of a Gaussian ``y``.
Count what is identified
    Without a penalty, aliased columns (duplicated, constant next to the intercept,
    linearly dependent) leave the Hessian singular.  AIC, AICc and BIC then count
    the numerical rank of the coefficient block of the gauge-restricted Hessian
    (unit-diagonal equilibration, relative cutoff ``rcond``) plus the dispersion when
    estimated: R's ``AIC(glm)`` and statsmodels' ``df_model + 1`` do the same.
    :func:`n_aliased` gives the number dropped; the fit is flagged
    ``"rank_deficient"`` with a :class:`~ticselect.SingularHessianWarning` saying how
    many.  A penalised fit identifies every coefficient (the penalty is curvature), so
    nothing is dropped there.
The dispersion of a penalised fit
    scikit-learn's penalised GLMs (``Ridge``, ``GammaRegressor``, ``TweedieRegressor``)
    minimise a deviance plus ``α‖β‖²``: in likelihood units the penalty is
    ``λ = c/φ`` and depends on the dispersion.  The Hessian of that objective has the
    cross-derivative ``∂²L/∂β∂φ - λβ/φ = -(∇_β L + λβ)/φ``, which vanishes at the
    optimum; the data term's own ``∂²L/∂β∂φ = -∇_β L/φ`` does not (``∇_β L = -λβ``).
    ``Curvature.penalized_hessian`` (the ``H_λ`` of every consumer) uses the former,
    so that ``H_λ`` of a convex ridge fit is block diagonal and positive definite even
    when ``p > n`` (with the data term's cross-term it can be indefinite: a saddle
    that only comes from evaluating the penalty at fixed ``λ``).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from ._linalg import DEFAULT_RCOND, SingularHessianWarning, complement_basis

__all__ = [
    "TINY_DISPERSION",
    "check_likelihood_exists",
    "coefficient_rank",
    "n_aliased",
    "note_aliased",
]

#: ``φ̂`` below this fraction of ``Var y`` is a rounding residue of an exact fit.
TINY_DISPERSION = 1e-10


def _coef_index(curv):
    d = curv.n_params
    return np.arange(d - 1) if curv.dispersion_is_param else np.arange(d)


def _unpenalised(curv):
    return not np.any(curv.penalty[_coef_index(curv)] > 0)


def coefficient_rank(curv, rcond=DEFAULT_RCOND):
    """Numerical rank of the coefficient block of the gauge-restricted Hessian.

    Parameters
    ----------
    curv : Curvature
        A GLM curvature.
    rcond : float, default=1e-10
        Relative eigenvalue cutoff after unit-diagonal equilibration.

    Returns
    -------
    rank : int
    n_coef : int
        Dimension of the restricted coefficient block.
    """
    idx = _coef_index(curv)
    H = curv.hessian[np.ix_(idx, idx)]
    gauge = curv.gauge[idx] if curv.gauge.shape[1] else None
    Q = complement_basis(gauge, idx.size)
    H = Q.T @ H @ Q if Q.shape[1] != idx.size else H
    if H.shape[0] == 0:
        return 0, 0
    diag = np.diag(H)
    scale = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    ev = linalg.eigvalsh(H * scale[:, None] * scale[None, :])
    top = np.max(np.abs(ev))
    rank = int(np.count_nonzero(ev > rcond * top)) if top > 0 else 0
    return rank, H.shape[0]


def n_aliased(curv, rcond=DEFAULT_RCOND):
    """Number of free parameters that AIC, AICc and BIC do not count.

    ``0`` for networks and penalised fits; otherwise the rank deficiency of the
    coefficient block (see the module docstring).  Cached per ``rcond``.

    Parameters
    ----------
    curv : Curvature
        Any curvature.
    rcond : float, default=1e-10
        Relative eigenvalue cutoff.

    Returns
    -------
    int
    """
    cache = curv.__dict__.setdefault("_n_aliased", {})
    if rcond not in cache:
        if curv.family == "mlp" or not _unpenalised(curv):
            cache[rcond] = 0
        else:
            rank, dim = coefficient_rank(curv, rcond)
            cache[rcond] = dim - rank
    return cache[rcond]


def note_aliased(curv):
    """Flag ``curv`` ``"rank_deficient"`` and warn when columns are aliased.

    Parameters
    ----------
    curv : Curvature
        A GLM curvature.

    Returns
    -------
    Curvature
    """
    dropped = n_aliased(curv)
    if dropped:
        k = curv.n_free_params
        curv.add_flag("rank_deficient")
        warnings.warn(
            f"{curv.model_name}: {dropped} of the {k} free parameters are aliased "
            "(the design's columns are linearly dependent, e.g. duplicated or "
            f"constant next to the intercept): AIC, AICc and BIC count the "
            f"{k - dropped} identified ones, as R and statsmodels do; the estimates "
            "of the aliased coefficients are arbitrary. Drop the dependent columns "
            "or add a penalty.",
            SingularHessianWarning,
            stacklevel=4,
        )
    return curv


def check_likelihood_exists(curv, y, sample_weight, *, estimated=None):
    """Raise when an unpenalised fit with an estimated dispersion reproduces ``y``.

    Parameters
    ----------
    curv : Curvature
        A GLM curvature.
    y : ndarray of shape (n_samples,)
        Responses.
    sample_weight : ndarray of shape (n_samples,)
        Frequency weights.
    estimated : bool or None, default=None
        Whether the fit estimated the dispersion (``None``: whether it is a parameter
        of ``curv``).  statsmodels' OLS estimates ``σ²`` but its curvature holds it
        fixed, as statsmodels counts it.

    Raises
    ------
    ValueError
        When the rows of positive weight are no more than the rank of the design,
        or ``φ̂`` is below ``1e-10 · Var y`` (Gaussian).
    """
    if estimated is None:
        estimated = curv.dispersion_is_param
    if not (estimated and _unpenalised(curv)):
        return
    w = np.asarray(sample_weight, dtype=float)
    n_pos = int(np.count_nonzero(w > 0))
    rank, _ = coefficient_rank(curv)
    tiny = False
    if curv.family == "gaussian":
        y = np.asarray(y, dtype=float)
        var = float(np.average((y - np.average(y, weights=w)) ** 2, weights=w))
        tiny = curv.dispersion <= TINY_DISPERSION * var
    if n_pos <= rank or tiny:
        why = (
            f"{n_pos} rows for a design of rank {rank}, so the unpenalised fit "
            "reproduces y"
            if n_pos <= rank
            else "the unpenalised fit reproduces y exactly (y is a linear function "
            "of the columns)"
        )
        raise ValueError(
            f"{curv.model_name} has no likelihood: {why} (ML dispersion "
            f"{curv.dispersion:.3g}), and the log-likelihood is unbounded. Use more "
            "rows than parameters, a penalty (e.g. Ridge), or fix the dispersion "
            "with dispersion=<float>."
        )
