"""Starting points along a penalty path: the previous solution, moved by Newton.

Along a grid of L2 penalties the solution moves smoothly, and the curvature that
TIC needs at each point is exactly what one Newton step needs to predict the next
solution.  With ``θ̂`` the fit at strength ``λ_old`` (penalty vector ``P_old``) and
the new strength ``P_new = s · P_old``, the penalised objective at the new point has
gradient ``g + (P_new - P_old) θ̂`` (``g`` the penalised gradient at ``θ̂``, ≈ 0 at a
converged fit) and Hessian ``H + diag(P_new)``, so the start is

``θ₀ = θ̂ - (H + diag(P_new))⁻¹ (g + (P_new - P_old) θ̂)``,

kept only when it lowers the new objective ``NLL(θ) + ½ θᵀ diag(P_new) θ``.  For a
quadratic objective (Gaussian, identity link) ``θ₀`` *is* the new solution.  The
start changes where the estimator's own solver begins; its convergence test and
tolerance still decide when it stops, so every start reaches the same optimum up to
that tolerance (lbfgs may stop on its relative-decrease rule a little earlier or
later, by far less than the stationarity the criteria require).

Used for estimators whose whole penalty scales with the varied parameter and whose
``warm_start`` reads ``coef_``/``intercept_``: binary ``LogisticRegression`` with an
L2 penalty (``C``, ``λ = 1/C``; with an L1 part the active set moves along the path
and its own warm start is used) and ``PoissonRegressor``/``GammaRegressor``/
``TweedieRegressor`` (``alpha``, ``λ ∝ alpha``).  For dispersion families the Newton
step uses the coefficient block only (scikit-learn's objective has no dispersion
parameter).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    TweedieRegressor,
)
from sklearn.pipeline import Pipeline

from .._validation import final_step
from ..curvature._linalg import complement_basis, restrict
from ..curvature.adapters.l1 import is_sklearn_l1

__all__ = ["NewtonStart", "newton_predict", "set_coefficients", "warm_start_key"]

# (estimator types, varied parameter, exponent e with penalty strength ∝ value**e)
_PENALTY_PARAMS = (
    ((LogisticRegression,), "C", -1.0),
    ((PoissonRegressor, GammaRegressor, TweedieRegressor), "alpha", 1.0),
)


def warm_start_key(est):
    """Name of the ``warm_start`` parameter of ``est`` (or its last step), or None."""
    params = est.get_params()
    if isinstance(est, Pipeline):
        key = f"{est.steps[-1][0]}__warm_start"
    else:
        key = "warm_start"
    return key if key in params else None


class NewtonStart:
    """Predict the next fit's coefficients from the previous fit's curvature.

    Parameters
    ----------
    est : estimator
        The (Pipeline of the) estimator being fitted along the path.
    param_name : str
        The varied parameter, as given to ``set_params``.
    enabled : bool, default=True
        ``False`` never moves a start (plain or no warm starts).

    Attributes
    ----------
    applicable : bool
        Whether starts are moved: ``enabled`` and the estimator and parameter are
        supported (see the module docstring).
    n_applied : int
        How many starts were moved by a Newton step.
    """

    def __init__(self, est, param_name, enabled=True):
        self.n_applied = 0
        self.exponent = None
        final = final_step(est)
        own_name = param_name
        if isinstance(est, Pipeline):
            prefix = f"{est.steps[-1][0]}__"
            own_name = param_name.removeprefix(prefix)
            own_name = own_name if own_name != param_name else ""
        for types, name, exponent in _PENALTY_PARAMS:
            if isinstance(final, types) and own_name == name:
                self.exponent = exponent
        if isinstance(final, LogisticRegression) and final.solver == "liblinear":
            self.exponent = None  # no warm start, and it penalises the intercept
        if is_sklearn_l1(final):
            self.exponent = None  # an L1 term: the active set moves, no Newton step
        self.applicable = bool(enabled) and self.exponent is not None

    def apply(self, est, curv, old_value, new_value):
        """Set ``coef_``/``intercept_`` of the final step to the Newton prediction.

        Parameters
        ----------
        est : estimator
            The estimator fitted at ``old_value``, already set to ``new_value``.
        curv : Curvature
            Curvature of that fit.
        old_value, new_value : float
            Previous and next values of the varied parameter.

        Returns
        -------
        bool
            Whether the start was moved (False when not applicable, when the old
            strength is not positive and finite, when the penalised Hessian is not
            positive definite, or when the step does not lower the objective).  A
            step to no penalty (``alpha=0``, ``C=inf``) is allowed.
        """
        if not self.applicable:
            return False
        final = final_step(est)
        coef = np.asarray(getattr(final, "coef_", None), dtype=float)
        if coef.ndim == 0 or coef.size == 0 or coef.ndim == 2 and coef.shape[0] != 1:
            return False  # multinomial: gauge directions, no single Newton system
        try:
            old, new = float(old_value), float(new_value)
        except (TypeError, ValueError):
            return False
        if not (np.isfinite(old) and old > 0 and new >= 0):
            return False
        with np.errstate(divide="ignore"):
            # 0 for alpha = 0 or C = inf; inf for C = 0, which the estimator rejects
            scale = np.float64(new / old) ** self.exponent
        if not np.isfinite(scale):
            return False
        d = curv.n_params - int(curv.dispersion_is_param)
        start = newton_predict(curv, scale * curv.penalty[:d])
        if start is None:
            return False
        set_coefficients(final, start)
        self.n_applied += 1
        return True


def newton_predict(curv, p_new):
    """One Newton step from a fit to the solution for a new penalty vector.

    Parameters
    ----------
    curv : Curvature
        Curvature of the fit (a GLM; the dispersion, when a parameter, is held).
    p_new : ndarray of shape (d,)
        The new penalty on the coefficient block (``d = n_params`` minus the
        dispersion), in the loss units of ``curv.penalty``.

    Returns
    -------
    ndarray of shape (d,) or None
        The predicted coefficients in the curvature's layout (``coef_`` order, then
        the intercept; a multinomial model class by class), or ``None`` when the
        penalised Hessian is not positive definite, the step is not finite, or it
        does not lower the new objective.  The step stays in the complement of the
        gauge directions (the softmax's), where the loss is identified.
    """
    d = p_new.shape[0]
    theta = curv.params[:d]
    p_old = curv.penalty[:d]
    grad = curv.gradient[:d] + (p_new - p_old) * theta
    H = curv.hessian[:d, :d] + np.diag(p_new)
    Q = complement_basis(curv.gauge[:d] if curv.gauge.shape[1] else None, d)
    try:
        factor = sla.cho_factor(restrict(H, Q))
    except (np.linalg.LinAlgError, ValueError):
        return None
    start = theta - Q @ sla.cho_solve(factor, Q.T @ grad)
    if not np.all(np.isfinite(start)):
        return None
    full = curv.params.copy()
    full[:d] = start
    f_old = curv.nll + 0.5 * np.sum(p_new * theta**2)
    f_new = curv.loss_fn(full) + 0.5 * np.sum(p_new * start**2)
    if not f_new < f_old:
        return None
    return start


def set_coefficients(final, start):
    """Write ``start`` (the curvature's layout) into a fitted GLM's coefficients.

    Parameters
    ----------
    final : estimator
        A fitted ``LogisticRegression`` or scikit-learn GLM regressor.
    start : ndarray of shape (d,)
        Coefficients then the intercept (when the model has one); a multinomial
        model class by class, ``[coef_[0], intercept_[0], coef_[1], ...]``.
    """
    coef = np.asarray(final.coef_)
    if coef.ndim == 2 and coef.shape[0] > 1:  # multinomial, class by class
        K, p = coef.shape
        block = start.reshape(K, -1)
        final.coef_ = block[:, :p].copy()
        if block.shape[1] > p:
            final.intercept_ = block[:, p].copy()
        return
    p = coef.size
    final.coef_ = start[:p].reshape(coef.shape)
    if start.shape[0] > p:  # the intercept, stored as scikit-learn stores it
        icpt = final.intercept_
        final.intercept_ = (
            np.full(np.shape(icpt), start[p]) if np.ndim(icpt) else float(start[p])
        )
