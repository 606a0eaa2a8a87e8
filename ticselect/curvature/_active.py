"""Layer 1 — the active set of an L1 or elastic-net fit, and its subgradient check.

An L1 term ``Σⱼ l1ⱼ|βⱼ|`` has no derivative where ``βⱼ = 0``.  At a solution the
coefficients split into the **active** ones (non-zero), on which the penalised loss
is smooth (the L1 term is linear there, ``l1ⱼ sign(β̂ⱼ) βⱼ``), and the **inactive**
ones (zero), held at 0 by the kink: the subgradient condition ``|∂L/∂βⱼ| ≤ l1ⱼ``
(the KKT condition of the lasso, Tibshirani 1996; statsmodels' ``qc_results`` checks
the same).  ticselect describes such a fit on its active set
(:mod:`ticselect.curvature._result`, "L1 and elastic net"): :func:`restrict` drops
the inactive columns from the spec before the curvature is built, and
:func:`check_inactive` measures the subgradient condition of the dropped ones at the
fitted dispersion and attaches an :class:`ActiveSet` to the curvature.

A coefficient is inactive when it is L1-penalised and its largest contribution to the
linear predictor, ``|β̂ⱼ| · maxᵢ|xᵢⱼ|``, is at most :data:`ACTIVE_TOL`: exact zeros
(coordinate descent, LARS, saga, liblinear, statsmodels' trimmed L1 fits) always are,
and the rule does not depend on the units of the columns.  Unpenalised coefficients
(``l1ⱼ = 0``) are always parameters, even at 0.

The subgradient check mirrors the stationarity measure: for an inactive ``j`` the
excess ``eⱼ = max(|∂L/∂βⱼ| − l1ⱼ, 0)`` (loss units), its relative size
``eⱼ / (Σᵢ wᵢ|gᵢⱼ| + l1ⱼ)`` (:attr:`ActiveSet.violation`, the largest over ``j``) and
the loss decrease ``eⱼ² / (2 Hⱼⱼ)`` that moving ``βⱼ`` off 0 alone predicts
(:attr:`ActiveSet.decrement`).  :meth:`Curvature.check_stationarity` flags
``"not_stationary"`` and warns when both exceed its tolerances: the fit sits at a
kink that is not a solution.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ._glm import _linear_predictor, _param_names

__all__ = ["ACTIVE_TOL", "ActiveSet", "check_inactive", "has_l1", "restrict"]

#: Largest ``|β̂ⱼ| · maxᵢ|xᵢⱼ|`` (linear-predictor units) of an inactive coefficient.
ACTIVE_TOL = 1e-10


@dataclass
class ActiveSet:
    """Which coefficients of an L1 or elastic-net fit are parameters, and the check.

    Attributes
    ----------
    names : list of str
        Every coefficient of the full model (class-major, intercepts included), named
        as in :attr:`Curvature.param_names`.
    active : ndarray of bool of shape (n_coef,)
        Whether each is active (a parameter of the curvature).
    l1 : ndarray of shape (n_coef,)
        L1 strength of each, in loss units at the fitted dispersion.
    gradient : ndarray of shape (n_coef,)
        ``∂L/∂βⱼ`` of the data NLL at the fit for the inactive ones (0 for active).
    scale : ndarray of shape (n_coef,)
        ``Σᵢ wᵢ|gᵢⱼ|`` for the inactive ones (0 for active).
    curvature : ndarray of shape (n_coef,)
        ``Hⱼⱼ`` for the inactive ones (0 for active).
    tol : float
        The tolerance :data:`ACTIVE_TOL` used.
    spec : GLMSpec or None
        The full model (every coefficient, its data and both penalties), for exact
        leave-out refits (:func:`ticselect.approximate_loo` refines with it).

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import Lasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4))
    >>> y = 2 * X[:, 0] + rng.normal(size=100)
    >>> curv = ts.curvature(Lasso(alpha=0.3).fit(X, y), X, y)
    >>> curv.active_set.active_names, curv.param_names
    (['x0', 'intercept'], ['x0', 'intercept', 'dispersion'])
    >>> bool(curv.active_set.violation == 0)    # |∂L/∂βⱼ| ≤ l1ⱼ: a solution
    True
    """

    names: list
    active: np.ndarray
    l1: np.ndarray
    gradient: np.ndarray
    scale: np.ndarray
    curvature: np.ndarray
    tol: float = ACTIVE_TOL
    spec: object = None

    @property
    def n_active(self):
        """Number of active coefficients (intercepts included), int."""
        return int(np.sum(self.active))

    @property
    def active_names(self):
        """Names of the active coefficients, list of str."""
        return [nm for nm, a in zip(self.names, self.active, strict=True) if a]

    @property
    def inactive_names(self):
        """Names of the inactive coefficients (fixed at 0), list of str."""
        return [nm for nm, a in zip(self.names, self.active, strict=True) if not a]

    def _excess(self):
        return np.where(
            self.active, 0.0, np.maximum(np.abs(self.gradient) - self.l1, 0.0)
        )

    @property
    def violation(self):
        """Largest relative excess ``eⱼ / (Σᵢ wᵢ|gᵢⱼ| + l1ⱼ)`` over inactive ``j``."""
        excess = self._excess()
        denom = self.scale + self.l1
        ratio = np.divide(excess, denom, out=np.zeros_like(excess), where=denom > 0)
        return float(ratio.max()) if ratio.size else 0.0

    @property
    def decrement(self):
        """Largest loss decrease ``eⱼ² / (2Hⱼⱼ)`` from freeing one inactive ``j``."""
        excess = self._excess()
        with np.errstate(divide="ignore", invalid="ignore"):
            dec = np.where(excess > 0, excess**2 / (2.0 * self.curvature), 0.0)
        dec = np.where(np.isnan(dec), np.inf, dec)
        return float(dec.max()) if dec.size else 0.0

    def kink_message(self, model_name):
        """The warning text for a kink that is not a solution.

        Parameters
        ----------
        model_name : str
            Short description of the model.

        Returns
        -------
        str
        """
        excess = self._excess()
        worst = int(np.argmax(excess))
        return (
            f"{model_name}: the fit is at a kink that is not a solution of the "
            f"L1-penalised loss: the inactive coefficient {self.names[worst]!r} has "
            f"|gradient| {abs(self.gradient[worst]):.3g} > its L1 strength "
            f"{self.l1[worst]:.3g} (relative excess {self.violation:.3g}; freeing it "
            f"would lower the loss by {self.decrement:.3g}). The solver stopped "
            "early or the coefficients were changed: refit with a smaller tol or a "
            "larger max_iter."
        )


def has_l1(spec):
    """Whether ``spec`` carries an L1 term (on a coefficient or the intercept).

    Parameters
    ----------
    spec : GLMSpec

    Returns
    -------
    bool
    """
    return bool(np.any(np.asarray(spec.l1) > 0) or spec.l1_intercept > 0)


def _column_max(X):
    if sp.issparse(X):
        return np.asarray(abs(X).max(axis=0).todense(), dtype=float).ravel()
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    return np.max(np.abs(X), axis=0)


@dataclass
class _Plan:
    """What :func:`restrict` dropped, for :func:`check_inactive`."""

    full: object
    cols: np.ndarray  # kept columns of X
    inactive: np.ndarray  # (m, p) bool, inactive coefficient entries
    intercept_inactive: bool
    tol: float


def restrict(spec, tol=ACTIVE_TOL):
    """The spec of the smooth model on the active set of an L1 fit.

    Parameters
    ----------
    spec : GLMSpec
        Full spec with ``l1`` (and the fitted zeros).
    tol : float, default=ACTIVE_TOL
        See :data:`ACTIVE_TOL`.

    Returns
    -------
    active_spec : GLMSpec
        Inactive columns removed (entries of columns active in some class are
        dropped through ``drop_params``); an inactive intercept is removed.
    plan : object
        Passed to :func:`check_inactive`.
    """
    m, p = spec.coef.shape
    l1 = np.broadcast_to(np.asarray(spec.l1, dtype=float), (m, p))
    contrib = np.abs(spec.coef) * _column_max(spec.X)[None, :]
    inactive = (l1 > 0) & (contrib <= tol)
    own = np.ones(m, dtype=bool)
    own[list(spec.drop_classes)] = False  # reference classes are not parameters
    inactive &= own[:, None]
    cols = np.flatnonzero(~np.all(inactive[own], axis=0)) if own.any() else np.arange(p)
    icpt = spec.intercept
    int_out = bool(
        icpt is not None
        and m == 1
        and spec.l1_intercept > 0
        and abs(float(icpt[0])) <= tol
    )
    new_int = None if int_out else icpt
    pt = cols.size + int(new_int is not None)
    drop = [
        k * pt + j
        for k in range(m)
        for j, c in enumerate(cols)
        if own[k] and inactive[k, c]
    ]
    l2 = np.asarray(spec.l2, dtype=float)
    X = spec.X[:, cols]
    active = replace(
        spec,
        X=X,
        coef=np.ascontiguousarray(spec.coef[:, cols]),
        intercept=new_int,
        l2=l2[cols] if l2.ndim else spec.l2,
        l1=l1[:, cols].copy(),
        l1_intercept=0.0 if int_out else spec.l1_intercept,
        feature_names=[spec.feature_names[c] for c in cols],
        drop_params=tuple(drop),
    )
    return active, _Plan(spec, cols, inactive, int_out, float(tol))


def check_inactive(curv, plan):
    """Measure the subgradient condition of the inactive coefficients (in place).

    Sets ``curv.active_set`` (an :class:`ActiveSet`); the flag and warning come from
    :meth:`Curvature.check_stationarity`.

    Parameters
    ----------
    curv : Curvature
        Curvature of the active-set spec.
    plan : object
        From :func:`restrict`.

    Returns
    -------
    Curvature
    """
    spec = plan.full
    fam = spec.family
    m, p = spec.coef.shape
    fit_int = spec.intercept is not None
    phi = 1.0 if curv.dispersion is None else float(curv.dispersion)
    per_phi = spec.l2_over_dispersion and curv.dispersion is not None
    scale_l1 = phi if per_phi else 1.0
    eta = _linear_predictor(spec)
    e = eta if fam.name == "multinomial" else eta[:, 0]
    d1, d2 = fam.eta_derivatives(spec.y, e, phi)
    n = eta.shape[0]
    d1 = np.asarray(d1, dtype=float).reshape(n, m)
    d2 = np.asarray(d2, dtype=float).reshape(n, m, m)
    d2 = d2[:, np.arange(m), np.arange(m)]
    w = np.asarray(spec.sample_weight, dtype=float)
    pt = p + int(fit_int)
    grad = np.zeros((m, pt))
    scale = np.zeros((m, pt))
    hdiag = np.zeros((m, pt))
    out_cols = np.flatnonzero(np.any(plan.inactive, axis=0))
    if out_cols.size:
        Xo = spec.X[:, out_cols]
        absX = abs(Xo)
        sq = Xo.multiply(Xo) if sp.issparse(Xo) else Xo**2
        grad[:, out_cols] = np.asarray(Xo.T @ (w[:, None] * d1)).T
        scale[:, out_cols] = np.asarray(absX.T @ (w[:, None] * np.abs(d1))).T
        hdiag[:, out_cols] = np.asarray(sq.T @ (w[:, None] * d2)).T
    inactive = np.zeros((m, pt), dtype=bool)
    inactive[:, :p] = plan.inactive
    if plan.intercept_inactive:
        inactive[0, p] = True
        grad[0, p] = np.sum(w * d1[:, 0])
        scale[0, p] = np.sum(w * np.abs(d1[:, 0]))
        hdiag[0, p] = np.sum(w * d2[:, 0])
    l1 = np.zeros((m, pt))
    l1[:, :p] = np.broadcast_to(np.asarray(spec.l1, dtype=float), (m, p))
    if fit_int:
        l1[:, p] = spec.l1_intercept
    own = [k for k in range(m) if k not in spec.drop_classes]
    names = np.asarray(_param_names(spec), dtype=object).reshape(m, pt)[own].ravel()
    keep = inactive[own].ravel()
    curv.active_set = ActiveSet(
        names=[str(nm) for nm in names],
        active=~keep,
        l1=l1[own].ravel() / scale_l1,
        gradient=np.where(keep, grad[own].ravel(), 0.0),
        scale=np.where(keep, scale[own].ravel(), 0.0),
        curvature=np.where(keep, hdiag[own].ravel(), 0.0),
        tol=plan.tol,
        spec=spec,
    )
    return curv
