"""Approximate leave-one-out (ALO): one Newton step per row from a single fit.

Method
------
Removing row ``i`` (weight ``wᵢ``) from the penalised loss ``F(θ) = Σⱼ wⱼℓⱼ(θ) +
½θᵀdiag(λP)θ`` and taking one Newton step from ``θ̂`` gives

``θ₋ᵢ = θ̂ + (H_λ − wᵢJᵢᵀΛᵢJᵢ)⁻¹ wᵢJᵢᵀℓ'ᵢ``,

with the per-row model of :mod:`ticselect.curvature._rows` (local parameters ``uᵢ``,
Jacobian ``Jᵢ``, ``ℓ'ᵢ = ∂ℓᵢ/∂uᵢ``, ``Λᵢ = ∂²ℓᵢ/∂uᵢ²``).  By Woodbury the local
parameters move by

``uᵢ⁻ⁱ − uᵢ = Mᵢ (I − wᵢΛᵢMᵢ)⁻¹ wᵢℓ'ᵢ``,  ``Mᵢ = Jᵢ H_λ⁻¹ Jᵢᵀ`` (``K' × K'``),

and for one linear predictor ``ηᵢ⁻ⁱ = ηᵢ + hᵢwᵢℓ'ᵢ / (1 − hᵢwᵢℓ''ᵢ)``, ``hᵢ =
x̃ᵢᵀH_λ⁻¹x̃ᵢ`` (Rad & Maleki 2020, JRSS-B 82(4), "A scalable estimate of the
out-of-sample prediction error via approximate leave-one-out"; Beirami et al. 2017).
For a GLM ``JᵢᵀΛᵢJᵢ`` is exactly row ``i``'s Hessian (observed information, so
non-canonical links are exact too); for Gaussian/identity with a fixed dispersion the
loss is quadratic and the step is exact leave-one-out (the hat-matrix identity).  For a
network ``JᵢᵀΛᵢJᵢ`` is the Gauss–Newton part of the row's Hessian and ``ℓᵢ`` is
evaluated at the linearised outputs ``uᵢ + Jᵢ(θ₋ᵢ − θ̂)``.  ``method="ij"`` drops the
downdate (``uᵢ⁻ⁱ − uᵢ = Mᵢwᵢℓ'ᵢ``): the infinitesimal jackknife, cheaper and
biased towards optimism where leverage is high.

Where the one-step estimate is unreliable (leverage near 1, below) ``refine=True``
iterates those rows to the minimum of ``F − wᵢℓᵢ`` (at most ``max_refine``; for GLMs
all of them at once, from their one-step fits, since ``uᵢ`` is linear in ``θ``:
quasi-Newton from the leave-one-out Hessian at the fit, which the one factorisation
gives by Woodbury, :mod:`ticselect.selection._loo_refine`; for statsmodels'
likelihood models Newton one row at a time; not for networks), so their value is the
exact leave-one-out NLL: the remedy PSIS-LOO applies to the rows its diagnostic
flags (Vehtari, Gelman & Gabry 2017, Statistics and Computing 27).  For GLMs its
cost is bounded by the one-step ALO's plus one fit per batch of 10 rows; rows still
iterating at that point keep their one-step value and the result is flagged
``"refine_budget"``.  For a Gaussian GLM with the identity link
(``Ridge``, ``LinearRegression``, OLS, ...) ``refine=True`` gives every row its exact
leave-one-out value in closed form instead, also with the dispersion estimated
(where one Newton step is not exact): the coefficients by the Sherman–Morrison
identity, the left-out ML variance from the left-out residual sum of squares, all
rows in ``O(n·k²)`` (:mod:`ticselect.selection._loo_gaussian`).

Rows without a leave-one-out fit get ``inf`` and ``no_fit`` (with a warning): a GLM
row of leverage 1 (``1 − aᵢ ≤ 1e-10``: without it an unpenalised direction has no
data), or one whose removal makes the maximum-likelihood fit diverge
(:mod:`ticselect.selection._loo_exists`).

Cost: one factorisation of ``H_λ`` (on the complement of the gauge directions, as in
:func:`ticselect.criteria`), then ``O(n·K'·k²)`` for the ``Mᵢ`` in row blocks (for a
network the ``n·d²·K`` bound); no ``n × n`` matrix is formed.

Conventions
-----------
Weights (leave-one-**row**-out)
    Row ``i`` is removed with its whole weight: ``loo_nll = Σᵢ wᵢ ℓᵢ(θ₋ᵢ)``.  With
    frequency weights a row of weight 2 is therefore *not* two duplicated rows left out
    one at a time (leaving one copy out keeps the other in the fit); it is the two
    copies left out together, a grouped leave-one-out.  Rows of weight 0 contribute 0.
Scale
    ``loo = 2·loo_nll`` is on the deviance scale of :mod:`ticselect.criteria`, next to
    AIC and TIC (lower is better); ``loo / (2n)`` with ``n = Σwᵢ`` estimates the test
    NLL per sample, and the scorer ``neg_alo`` returns minus that.
Standard error
    ``loo_se = 2·sqrt(n · v)`` with ``v`` the weighted variance of the per-row LOO NLL
    over the ``n = Σwᵢ`` samples (the ``se_elpd_loo`` of Vehtari, Gelman & Gabry 2017,
    times −2).
Leverage
    ``leverage[i]`` is the spectral radius of ``wᵢΛᵢMᵢ`` (``hᵢwᵢℓ''ᵢ`` for one
    output).  Near 1 the downdated Hessian is nearly singular, the one-step update
    blows up and is unreliable (at or above 1, which happens for networks, the
    downdated Hessian is not positive definite along the row and no Newton step
    exists: such rows get the infinitesimal-jackknife step); rows with
    ``leverage > leverage_tol`` (or whose step
    leaves the parameter space, e.g. a dispersion ≤ 0) are flagged in
    ``high_leverage``; for GLMs these and the rows with ``leverage > refine_tol``
    (0.5, whose one-step error still decides near ties) are refined (``refined``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy import linalg

from .._html import key_value_table
from .._validation import check_rcond
from ..curvature import SeparationWarning
from ..curvature._groups import group_codes
from ..curvature._linalg import (
    DEFAULT_RCOND,
    SingularHessianWarning,
    complement_basis,
    restrict,
)
from ..curvature._rows import GLMRows
from ..curvature._spectral import check_curvature
from . import _loo_gaussian as gaussian
from ._loo_exists import divergent_rows
from ._loo_groups import leave_groups_out, newton_leave_out
from ._loo_l1 import active_set_changes, refit_nll, refitable
from ._loo_refine import refine_rows

__all__ = ["LOOResult", "approximate_loo"]

#: Default threshold on the per-row leverage ``hᵢwᵢℓ''ᵢ`` above which a row is flagged.
LEVERAGE_TOL = 0.7
#: Default leverage above which ``refine=True`` iterates a row to its exact fit.
REFINE_TOL = 0.5
#: Default number of flagged rows whose leave-one-out fit is iterated to convergence.
MAX_REFINE = 20

_METHODS = ("newton", "ij")


@dataclass(frozen=True)
class LOOResult:
    """Approximate leave-one-out estimate of a fitted model's test NLL.

    All totals follow the conventions of :mod:`ticselect.selection._loo`
    (leave-one-row-out, deviance scale for ``loo``).

    Attributes
    ----------
    loo : float
        ``2·loo_nll``, deviance scale (beside AIC and TIC; lower is better).
    loo_nll : float
        ``Σᵢ wᵢ ℓᵢ(θ₋ᵢ)``, the summed weighted leave-one-out NLL.
    loo_se : float
        Standard error of ``loo`` over rows (deviance scale).
    pointwise : ndarray of shape (n_rows,)
        ``ℓᵢ(θ₋ᵢ)``, unweighted (``inf`` where the step leaves the mean space).
    leverage : ndarray of shape (n_rows,)
        Spectral radius of ``wᵢΛᵢMᵢ`` (``hᵢwᵢℓ''ᵢ`` for one output).
    high_leverage : ndarray of bool of shape (n_rows,)
        ``leverage > leverage_tol``: rows where one Newton step is unreliable.
    leverage_tol : float
        The threshold used.
    local_shift : ndarray of shape (n_rows, K')
        ``uᵢ⁻ⁱ − uᵢ``, the move of each row's local parameters.
    weights : ndarray of shape (n_rows,)
        Sample weights ``wᵢ``.
    nll : float
        Training NLL ``L(θ̂)`` (so ``loo_nll − nll`` is the estimated optimism).
    n_samples : float
        ``n = Σᵢ wᵢ``.
    method : str
        ``"newton"`` (one-step ALO) or ``"ij"`` (infinitesimal jackknife).
    flags : tuple of str
        Reliability flags of the curvature (see :attr:`ticselect.Criteria.flags`).
    refined : ndarray of bool of shape (n_rows,)
        Rows whose ``pointwise`` value is the exact leave-one-out NLL, found by
        iterating Newton's method to convergence from the one-step fit
        (``refine=True``); their ``local_shift`` and ``leverage`` stay those of
        the one-step estimate.  Gaussian/identity fits: every row of positive
        weight whose leave-one-out fit exists, in closed form, with the exact
        ``local_shift``.
    no_fit : ndarray of bool of shape (n_rows,)
        Rows without a leave-one-out fit, whose ``pointwise`` value is ``inf``
        (a warning names them): a GLM row of leverage 1, the only one informing
        some unpenalised direction (a dummy column with one row), so that the fit
        without it is not identified and its prediction for the row undefined
        (:class:`~ticselect.SingularHessianWarning`); or a row without which the
        maximum-likelihood fit diverges, a class or a zero cell emptied
        (:mod:`ticselect.selection._loo_exists`,
        :class:`~ticselect.SeparationWarning`).  scikit-learn and R refit the
        first kind by minimum-norm least squares, a value that depends on how the
        columns are coded (it changes under ``X → XA``), so it is not reported.

    left_out_params : ndarray of shape (n_refined, n_params) or None
        The exact leave-one-out fits ``θ₋ᵢ`` of the refined rows, in the order of
        ``np.flatnonzero(refined)`` (the derivative of a refined row's value in the
        penalty needs them, :class:`ticselect.CriterionSearch`).  Empty for
        Gaussian/identity fits, whose rows are exact in closed form, and without
        refinement; ``None`` for L1 fits (their whole-problem refits are not
        kept).
    groups : ndarray of int of shape (n_rows,) or None
        Leave-group-out (``groups=``): the group code of each row; ``leverage``,
        ``high_leverage`` and ``refined`` then give each row its group's value,
        ``pointwise[i]`` is ``ℓᵢ`` at the fit without row ``i``'s group, and
        ``loo_se`` is over groups (:mod:`ticselect.selection._loo_groups`).
        ``None`` for leave-one-row-out.
    n_groups : int or None
        Number of groups.
    group_pointwise : ndarray of shape (n_groups,) or None
        ``Σ_{i∈g} wᵢ pointwise[i]``, each group's left-out NLL.
    group_leverage : ndarray of shape (n_groups,) or None
        Spectral radius of ``H_λ⁻¹H_g``, the group's share of the curvature.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> y = X @ [1.0, 0.0, -1.0] + rng.normal(size=40)
    >>> curv = ts.curvature(Ridge(alpha=1.0).fit(X, y), X, y, dispersion=1.0)
    >>> res = ts.approximate_loo(curv)
    >>> bool(np.isclose(res.loo, 2 * res.loo_nll)), res.pointwise.shape
    (True, (40,))
    >>> bool(res.loo_nll > curv.nll)       # leaving rows out costs likelihood
    True
    """

    loo: float
    loo_nll: float
    loo_se: float
    pointwise: np.ndarray
    leverage: np.ndarray
    high_leverage: np.ndarray
    leverage_tol: float
    local_shift: np.ndarray
    weights: np.ndarray
    nll: float
    n_samples: float
    method: str
    flags: tuple = ()
    refined: np.ndarray = None
    no_fit: np.ndarray = None
    left_out_params: np.ndarray = None
    groups: np.ndarray = None
    n_groups: int = None
    group_pointwise: np.ndarray = None
    group_leverage: np.ndarray = None

    @property
    def n_no_fit(self):
        """Number of rows without a leave-one-out fit (``pointwise = inf``), int."""
        return 0 if self.no_fit is None else int(np.sum(self.no_fit))

    @property
    def n_refined(self):
        """Number of rows iterated to their exact leave-one-out fit, int."""
        return 0 if self.refined is None else int(np.sum(self.refined))

    @property
    def n_high_leverage(self):
        """Number of flagged rows, int."""
        return int(np.sum(self.high_leverage))

    @property
    def loo_per_sample(self):
        """``loo_nll / n``: estimated test NLL per sample (nats), float."""
        return self.loo_nll / self.n_samples

    @property
    def optimism(self):
        """``loo_nll − nll``: estimated summed gap between LOO and training NLL."""
        return self.loo_nll - self.nll

    def _repr_html_(self):
        mapping = {
            "loo (deviance scale)": self.loo,
            "loo_se": self.loo_se,
            "loo_nll": self.loo_nll,
            "training nll": self.nll,
            "optimism": self.optimism,
            "loo per sample": self.loo_per_sample,
            "n_samples": self.n_samples,
            "method": self.method,
            "n_high_leverage": self.n_high_leverage,
            "n_refined": self.n_refined,
            "n_no_fit": self.n_no_fit,
            "flags": tuple(self.flags),
        }
        return key_value_table("Approximate leave-one-out", mapping)

    def __repr__(self):
        no_fit = f", n_no_fit={self.n_no_fit}" if self.n_no_fit else ""
        return (
            f"LOOResult(loo={self.loo:.6g}, loo_se={self.loo_se:.3g}, "
            f"optimism={self.optimism:.4g}, method={self.method!r}, "
            f"n_high_leverage={self.n_high_leverage}{no_fit})"
        )


def _inverse_factor(H, rcond):
    """``(S_fn, sign)`` with ``H⁻¹ = Fᵀ diag(sign) F`` applied as ``S_fn(A) = F A``.

    Cholesky when ``H`` is positive definite; otherwise the eigendecomposition on the
    directions with ``|σ| > rcond·max|σ|`` (a warning says how many were dropped).
    """
    k = H.shape[0]
    try:
        L = linalg.cholesky(H, lower=True, check_finite=False)
        return (
            lambda A: linalg.solve_triangular(L, A, lower=True, check_finite=False),
            np.ones(k),
        )
    except linalg.LinAlgError:
        pass
    ev, V = linalg.eigh(H)
    top = np.max(np.abs(ev)) if ev.size else 0.0
    keep = np.abs(ev) > rcond * top
    if not np.all(keep) or np.any(ev[keep] < 0):
        warnings.warn(
            f"approximate_loo: the penalised Hessian is not positive definite "
            f"({int(np.sum(~keep))} null and {int(np.sum(ev[keep] < 0))} negative "
            "eigenvalues); null directions are dropped (pseudo-inverse). The fit may "
            "not be at a minimum, or the model is not identified: add a penalty.",
            SingularHessianWarning,
            stacklevel=3,
        )
    Vk = V[:, keep] / np.sqrt(np.abs(ev[keep]))
    return (lambda A: Vk.T @ A), np.sign(ev[keep])


def approximate_loo(
    curv,
    *,
    method="newton",
    leverage_tol=LEVERAGE_TOL,
    refine=True,
    max_refine=MAX_REFINE,
    refine_tol=REFINE_TOL,
    rcond=DEFAULT_RCOND,
    groups=None,
):
    """Approximate leave-one-out NLL of a fitted model from its single fit.

    One Newton step per row from the fitted parameters with the row's contribution
    removed from the penalised Hessian (see :mod:`ticselect.selection._loo` for the
    formula, costs and the conventions).

    Parameters
    ----------
    curv : Curvature
        From :func:`ticselect.curvature` (GLMs, statsmodels results, OLS/WLS included,
        and networks carry the needed per-row model in ``curv.rows``; statsmodels'
        likelihood models use :class:`~ticselect.curvature._rows.LikelihoodRows`).
        Curvatures built from dask arrays or by :func:`ticselect.curvature_from_loss`
        have none: a ``ValueError`` says so.
    method : {"newton", "ij"}, default="newton"
        ``"newton"``: one-step ALO with the per-row downdate (Rad & Maleki 2020).
        ``"ij"``: infinitesimal jackknife, ``θ₋ᵢ ≈ θ̂ + H_λ⁻¹wᵢgᵢ`` (cheaper, more
        optimistic at high leverage).
    leverage_tol : float, default=0.7
        Rows with leverage ``hᵢwᵢℓ''ᵢ`` above this are flagged in ``high_leverage``.
    refine : bool, default=True
        For GLMs, continue Newton's method to convergence on the rows of leverage
        above ``refine_tol`` (the ``max_refine`` of highest leverage), which makes
        their value the exact leave-one-out NLL.  All of them are iterated
        together, starting from their one-step fits
        ``θ̂ + H_λ⁻¹Jᵢᵀ(I − wᵢΛᵢMᵢ)⁻¹wᵢℓ'ᵢ`` (from the one factorisation), by
        limited-memory BFGS from each row's leave-one-out Hessian at the fit (no
        Hessian is formed); each step is one pass over the data for every row at
        once, about 10 steps per row.  The cost is bounded by the one-step ALO's
        plus one fit (100 gradient passes) per batch of 10 rows; rows not done by
        then keep their one-step value and the result carries the flag
        ``"refine_budget"`` (see :mod:`ticselect.selection._loo_refine`).
        statsmodels' likelihood models refine one row at a time, from
        statsmodels' own ``loglikeobs``, ``score_obs`` and ``hessian`` (about
        ``2d + 3`` passes over the data per step).  Networks are not refined.
        The approach of PSIS-LOO
        (Vehtari, Gelman & Gabry 2017), which refits the rows its diagnostic flags.
        Gaussian GLMs with the identity link instead get the exact leave-one-out
        value of **every** row in closed form (``O(n·k²)``, cheaper than the
        one-step route; ``max_refine`` and ``refine_tol`` do not apply), with the
        estimator's own penalty held fixed and the dispersion, when estimated, the
        ML variance of the left-out fit: what refitting the estimator without the
        row gives.
    max_refine : int, default=20
        At most this many rows are refined (a non-negative integer).
    refine_tol : float, default=0.5
        Rows with leverage above this (and every flagged row) are candidates for
        refinement, highest leverage first.  Below ``leverage_tol`` so that rows of
        moderate leverage, whose one-step error still decides near ties between
        penalties, are exact too: on the breast-cancer study of
        ``benchmarks/selection.py --alo`` the pick matched exact LOO on 25 of 30
        splits with 0.7 and on 30 of 30 with 0.5.
    rcond : float, default=1e-10
        Relative eigenvalue cutoff when ``H_λ`` is not positive definite.
    groups : array-like of shape (n_rows,), default=None
        Group label of each row: leave one **group** out at a time (one Newton step
        per group by a block Woodbury update, refinement of the groups of high
        leverage, the standard error over groups; see
        :mod:`ticselect.selection._loo_groups`); at least two groups.  ``leverage_tol``,
        ``refine_tol`` and ``max_refine`` then apply to groups.  With one row per
        group the result is the ungrouped one.  A curvature built with
        ``groups=`` is still left out row by row unless ``groups`` is given here.

    Returns
    -------
    LOOResult

    Raises
    ------
    TypeError
        When ``curv`` is not a :class:`~ticselect.Curvature` (a fitted model:
        pass ``ticselect.curvature(model, X, y)``), or ``max_refine`` is not an
        integer.
    ValueError
        When ``curv`` has no per-row model, for an unknown ``method``, or a negative
        ``max_refine``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import ticselect as ts
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X, y = X[:100], y[:100]
    >>> for C in (0.01, 1.0, 100.0):
    ...     model = make_pipeline(StandardScaler(), LogisticRegression(C=C, tol=1e-10,
    ...                                                                max_iter=10000))
    ...     curv = ts.curvature(model.fit(X, y), X, y)
    ...     alo, crit = ts.approximate_loo(curv), ts.criteria(curv)
    ...     print(f"C={C:<6} ALO/2n={alo.loo / 200:.3f}  TIC/2n={crit.tic / 200:.3f}")
    C=0.01   ALO/2n=0.311  TIC/2n=0.308
    C=1.0    ALO/2n=0.121  TIC/2n=0.088
    C=100.0  ALO/2n=0.204  TIC/2n=0.009
    """
    check_curvature(curv, "approximate_loo()")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}.")
    rows = curv.rows
    if rows is None:
        why = curv.rows_unavailable or (
            "this Curvature has no per-row model (Curvature.rows is None, e.g. after "
            "it was set so); build it again with ticselect.curvature(model, X, y)"
        )
        raise ValueError(f"approximate_loo needs each row's data: {why}.")
    leverage_tol = float(leverage_tol)
    if not leverage_tol > 0:
        raise ValueError(f"leverage_tol must be positive, got {leverage_tol!r}.")
    refine_tol = float(refine_tol)
    if not refine_tol > 0:
        raise ValueError(f"refine_tol must be positive, got {refine_tol!r}.")
    rcond = check_rcond(rcond)
    if isinstance(max_refine, bool) or not isinstance(max_refine, int | np.integer):
        raise TypeError(
            f"max_refine must be a non-negative integer, got {max_refine!r}."
        )
    if max_refine < 0:
        raise ValueError(
            f"max_refine must be a non-negative integer (0 refines no row), got "
            f"{max_refine}."
        )
    if groups is not None:
        return _leave_groups_out(curv, rows, groups, method, leverage_tol, refine,
                                 max_refine, refine_tol, rcond)  # fmt: skip
    w = rows.weights
    glm = isinstance(rows, GLMRows)
    divergent = divergent_rows(curv, rows) if glm else None
    if method == "newton" and refine and gaussian.applies(curv, rows):
        try:
            pointwise, shift, leverage, singular = gaussian.gaussian_loo(curv, rows)
        except linalg.LinAlgError:  # H_λ not positive definite: the general route
            pass
        else:
            no_fit = _no_fit(pointwise, singular & (w > 0), divergent)
            high = (leverage > leverage_tol) | ~np.isfinite(pointwise)
            refined = np.isfinite(pointwise) & (w > 0)
            if curv.active_set is not None:  # exact on the active set only
                refined = _refine_l1(curv, pointwise, leverage, high, refine_tol,
                                     max_refine)  # fmt: skip
            return _result(curv, pointwise, leverage, high, leverage_tol, shift, w,
                           method, refined, no_fit)  # fmt: skip
    pointwise, leverage, shift, top, Q = _one_step(curv, rows, method, rcond=rcond)
    # a GLM row at leverage 1 is the only one informing some direction: without it
    # that direction has no data and the leave-one-out fit is not identified
    singular = (top >= 1.0 - gaussian.SINGULAR) & (w > 0) & glm
    no_fit = _no_fit(pointwise, singular, divergent)
    high = (leverage > leverage_tol) | ~np.isfinite(pointwise)
    refined, params = np.zeros(rows.n_rows, dtype=bool), None
    out_of_budget = False
    l1 = refine and method == "newton" and curv.active_set is not None
    if l1:
        # L1: leaving a row out may change the active set; refit the whole problem
        refined = _refine_l1(curv, pointwise, leverage, high, refine_tol, max_refine)
    elif refine and hasattr(rows, "leave_out") and method == "newton":
        lev = np.where(no_fit, -np.inf, leverage)  # no fit to refine to
        cand = _candidates(lev, high & ~no_fit, w, refine_tol, max_refine)
        params, out_of_budget = _refine(curv, rows, Q, cand, pointwise, refined)
    res = _result(curv, pointwise, leverage, high, leverage_tol, shift, w, method,
                  refined, no_fit, params)  # fmt: skip
    if out_of_budget:
        res = replace(res, flags=res.flags + ("refine_budget",))
    return replace(res, left_out_params=None) if l1 else res


def _no_fit(pointwise, singular, divergent):
    """Rows without a leave-one-out fit: ``inf`` in ``pointwise``, a warning each kind.

    ``singular``: the row alone informs a direction (leverage 1), so without it the
    fit is not identified (:func:`ticselect.approximate_loo`, item "leverage 1");
    ``divergent``: without it the MLE is infinite (:mod:`._loo_exists`).
    """
    no_fit = singular.copy()
    if divergent is not None:
        divergent = divergent & ~singular  # said once, as the first kind
        no_fit |= divergent
    for mask, what, category in (
        (singular, "a coefficient has no data without it (leverage 1), so the "
         "leave-one-out prediction is undefined; a penalty makes it finite",
         SingularHessianWarning),
        (divergent if divergent is not None else singular[:0],
         "without it a class or a zero cell is empty and the maximum-likelihood fit "
         "diverges, with its NLL", SeparationWarning),
    ):  # fmt: skip
        rows = np.flatnonzero(mask)
        if rows.size:
            shown = ", ".join(map(str, rows[:5])) + (", ..." if rows.size > 5 else "")
            warnings.warn(
                f"approximate_loo: {rows.size} row(s) ({shown}) have no leave-one-out "
                f"fit: {what}; their pointwise value is inf (LOOResult.no_fit).",
                category,
                stacklevel=3,
            )
    pointwise[no_fit] = np.inf
    return no_fit


def _one_step(curv, rows, method, *, rcond):
    """One Newton (or jackknife) step per row from ``θ̂`` (module docstring).

    Returns
    -------
    pointwise, leverage : ndarray of shape (n_rows,)
    shift : ndarray of shape (n_rows, K')
    top : ndarray of shape (n_rows,)
        Largest real eigenvalue of ``wᵢΛᵢMᵢ``.
    Q : ndarray of shape (n_params, r)
        Basis of the gauge complement.
    """
    gauge = curv.gauge if curv.gauge.shape[1] else None
    Q = complement_basis(gauge, curv.n_params)
    factor, sign = _inverse_factor(restrict(curv.penalized_hessian, Q), rcond)
    n, Kp = rows.n_rows, rows.n_local
    w = rows.weights
    pointwise, leverage, tops = np.empty(n), np.empty(n), np.empty(n)
    shift = np.empty((n, Kp))
    eye = np.eye(Kp)
    for sl, u, M, S3, d1, d2 in _row_products(rows, factor, sign, Q, gauge is None):
        wb = w[sl]
        WM = wb[:, None, None] * np.matmul(d2, M)  # wᵢΛᵢMᵢ
        step = wb[:, None] * d1
        if Kp == 1:
            lev = WM[:, 0, 0]
            top = lev
        elif S3 is not None and Kp >= S3.shape[2] and np.all(sign > 0):
            # Mᵢ = SᵢSᵢᵀ: wᵢΛᵢMᵢ has the eigenvalues of the symmetric wᵢSᵢᵀΛᵢSᵢ
            T = wb[:, None, None] * np.matmul(S3.transpose(0, 2, 1), d2 @ S3)
            ev = np.linalg.eigvalsh(T)
            lev = np.max(np.abs(ev), axis=1)
            top = ev[:, -1]
        else:
            ev = np.linalg.eigvals(WM)
            lev = np.max(np.abs(ev), axis=1)
            top = np.max(ev.real, axis=1)
        if method == "newton":
            # no Newton step where the downdated Hessian is not positive definite
            # along the row (an eigenvalue of wᵢΛᵢMᵢ ≥ 1): those rows keep the
            # infinitesimal-jackknife step (and are flagged, leverage ≥ 1)
            ok = top < 1.0
            step[ok] = np.linalg.solve(eye - WM[ok], step[ok][:, :, None])[:, :, 0]
        du = np.matmul(M, step[:, :, None])[:, :, 0]
        shift[sl] = du
        leverage[sl], tops[sl] = lev, top
        pointwise[sl] = rows.nll(sl, u + du)
    return pointwise, leverage, shift, tops, Q


def _structured(rows):
    """Whether the rows are a GLM's with several predictors and no dispersion."""
    return (
        getattr(rows, "m", 1) > 1
        and not rows.phi_is_param
        and hasattr(rows, "_eta")
        and getattr(rows, "nll_offset", None) is None
    )


def _row_products(rows, factor, sign, Q, identity):
    """``(sl, u, Mᵢ = JᵢQ H_λ⁻¹ QᵀJᵢᵀ, Sᵢ or None, d1, d2)`` over row blocks.

    Several linear predictors without a dispersion parameter: ``Jᵢ = I_m ⊗ x̃ᵢ``
    (the kept entries), so ``Mᵢ[k, l] = x̃ᵢᵀ P_kl x̃ᵢ`` with ``P = Q H_λ⁻¹ Qᵀ`` formed
    once: ``n·m²·p̃²`` flops instead of ``n·m·k²`` (``k ≈ m·p̃``), ``m`` times fewer
    (issue 24 item 12: the one-step ALO of digits' 10 classes).  Otherwise
    ``Sᵢ = F QᵀJᵢᵀ`` (``H_λ⁻¹ = Fᵀ diag(sign) F``) and ``Mᵢ = Sᵢᵀ diag(sign) Sᵢ``.
    """
    if not _structured(rows):
        Kp = rows.n_local
        for sl, u, J, d1, d2 in rows.blocks():
            b = u.shape[0]
            A = J if identity else J @ Q  # (b, K', k)
            S = factor(A.reshape(b * Kp, -1).T)  # (r, b·K')
            S3 = S.T.reshape(b, Kp, -1)
            M = np.matmul(S3 * sign, S3.transpose(0, 2, 1))
            yield sl, u, M, S3, d1, d2
        return
    m, pt, X = rows.m, rows.pt, rows.spec.X
    F = factor(Q.T)  # (r, d)
    P = np.zeros((m * pt, m * pt))
    keep = np.arange(m * pt)[rows.keep if rows.keep is not None else slice(None)]
    P[np.ix_(keep, keep)] = (F.T * sign) @ F
    step = max(16, 2**18 // (m * pt))
    for start in range(0, rows.n_rows, step):
        sl = slice(start, min(rows.n_rows, start + step))
        Xb = X[sl]
        Xb = Xb.toarray() if hasattr(Xb, "toarray") else np.asarray(Xb, dtype=float)
        if rows.spec.intercept is not None:
            Xb = np.column_stack([Xb, np.ones(Xb.shape[0])])
        M = np.empty((Xb.shape[0], m, m))
        for k in range(m):
            Z = (Xb @ P[k * pt : (k + 1) * pt]).reshape(-1, m, pt)
            M[:, k, :] = np.einsum("bmj,bj->bm", Z, Xb)
        u, d1, d2 = rows.derivatives(sl)
        yield sl, u, M, None, d1, d2


def _refine(curv, rows, Q, cand, pointwise, refined):
    """Iterate the rows ``cand`` to their exact leave-one-out fit (in place).

    GLM rows all at once within the cost bound of :mod:`._loo_refine`; other
    likelihoods one row at a time.  Returns the left-out fits ``θ₋ᵢ`` of the
    refined rows, shape (n_refined, n_params), in row order (``None`` when none is
    refined), and whether the cost bound stopped some row.
    """
    if not cand.size:
        return None, False
    left_out, out_of_budget = {}, False  # row -> θ₋ᵢ
    if isinstance(rows, GLMRows):
        value, ok, out_of_budget, _, theta = refine_rows(curv, rows, Q, cand)
        pointwise[cand[ok]], refined[cand[ok]] = value[ok], True
        left_out.update(zip(cand[ok].tolist(), theta[ok], strict=True))
    else:
        for i in cand:
            found = _refine_row(curv, rows, Q, i)
            if found is not None:
                pointwise[i], refined[i] = found[0], True
                left_out[int(i)] = found[1]
    if not left_out:
        return None, out_of_budget
    return np.array([left_out[i] for i in np.flatnonzero(refined)]), out_of_budget


def _leave_groups_out(curv, rows, groups, method, leverage_tol, refine, max_refine,
                      refine_tol, rcond):  # fmt: skip
    """:func:`approximate_loo` with ``groups``: the hook to ``_loo_groups``."""
    codes, n_groups = group_codes(groups, rows.n_rows)
    if n_groups < 2:
        raise ValueError(
            "groups has a single label: leaving it out leaves no row to fit; give at "
            "least two groups (or groups=None for leave-one-out)."
        )
    if n_groups == rows.n_rows:  # one row per group: the groups are the rows
        res = approximate_loo(curv, method=method, leverage_tol=leverage_tol,
                              refine=refine, max_refine=max_refine,
                              refine_tol=refine_tol, rcond=rcond)  # fmt: skip
        g_nll = np.zeros(n_groups)
        g_nll[codes] = np.where(res.weights > 0, res.weights * res.pointwise, 0.0)
        g_lev = np.empty(n_groups)
        g_lev[codes] = res.leverage
        return replace(res, groups=codes, n_groups=n_groups, group_pointwise=g_nll,
                       group_leverage=g_lev)  # fmt: skip
    gauge = curv.gauge if curv.gauge.shape[1] else None
    Q = complement_basis(gauge, curv.n_params)
    factor, sign = _inverse_factor(restrict(curv.penalized_hessian, Q), rcond)
    fields = leave_groups_out(curv, rows, codes, n_groups, factor, sign, Q,
                              method=method, leverage_tol=leverage_tol, refine=refine,
                              max_refine=max_refine, refine_tol=refine_tol)  # fmt: skip
    return LOOResult(**fields)


def _candidates(leverage, high, w, refine_tol, max_refine):
    """Rows to refine: leverage above ``refine_tol`` or flagged, highest first."""
    cand = np.flatnonzero(((leverage > refine_tol) | high) & (w > 0))
    order = np.argsort(-np.where(np.isfinite(leverage[cand]), leverage[cand], np.inf))
    return cand[order][: int(max_refine)]


def _refine_l1(curv, pointwise, leverage, high, refine_tol, max_refine):
    """Exact leave-one-out NLL of an L1 fit's doubtful rows (``pointwise`` in place).

    Candidates are the rows of high leverage and those whose one-step fit changes
    the active set; each gets a whole-problem refit
    (:mod:`ticselect.selection._loo_l1`).  None when refits do not apply
    (multinomial, very wide designs).
    """
    refined = np.zeros(pointwise.shape[0], dtype=bool)
    if not refitable(curv):
        return refined
    w = curv.rows.weights
    flagged = high | active_set_changes(curv)
    cand = _candidates(leverage, flagged, w, refine_tol, max_refine)
    for i, value in zip(cand, refit_nll(curv, [[i] for i in cand]), strict=True):
        if value is not None:
            pointwise[i], refined[i] = value[0], True
    return refined


def _result(
    curv, pointwise, leverage, high, leverage_tol, shift, w, method, refined,
    no_fit=None, left_out_params=None,
):  # fmt: skip
    """The :class:`LOOResult` of per-row values (totals and standard error)."""
    contrib = w * pointwise
    loo_nll = float(np.sum(contrib[w > 0]))
    n_s = float(np.sum(w))
    finite = np.isfinite(pointwise) & (w > 0)
    if np.all(finite[w > 0]) and n_s > 1:
        mean = np.sum(contrib[finite]) / n_s
        var = np.sum(w[finite] * (pointwise[finite] - mean) ** 2) / (n_s - 1)
        se = 2.0 * float(np.sqrt(n_s * var))
    else:
        se = np.inf if not np.all(finite[w > 0]) else np.nan
    return LOOResult(
        loo=2.0 * loo_nll,
        loo_nll=loo_nll,
        loo_se=se,
        pointwise=pointwise,
        leverage=leverage,
        high_leverage=high,
        leverage_tol=leverage_tol,
        local_shift=shift,
        weights=w,
        nll=curv.nll,
        n_samples=n_s,
        method=method,
        flags=tuple(curv.flags),
        refined=refined,
        no_fit=np.zeros(pointwise.shape[0], dtype=bool) if no_fit is None else no_fit,
        left_out_params=(
            np.empty((0, curv.n_params)) if left_out_params is None else left_out_params
        ),
    )


def _refine_row(curv, rows, Q, i):
    """Row ``i``'s exact leave-one-out fit by damped Newton from ``θ̂``.

    Returns ``(ℓᵢ(θ₋ᵢ), θ₋ᵢ)``, or ``None`` when it does not converge.
    :func:`ticselect.selection._loo_groups.newton_leave_out` with one row.
    """
    theta = newton_leave_out(curv, rows, Q, i)
    if theta is None:
        return None
    out = rows.row_nll(i, theta)
    return (out, theta) if np.isfinite(out) else None
