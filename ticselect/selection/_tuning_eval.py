"""Layer 3 — one evaluation of :class:`~ticselect.CriterionSearch`.

A refit, its curvature, the criterion and its slope.

:func:`resolve_penalty` checks that the searched parameter is the L2 strength of a
supported estimator and says how it enters the loss (``pen ∝ v^e``).
:class:`Evaluator` then turns log parameter values ``t`` into a
:class:`~ticselect.selection._tuning_optim.Point`: it sets the parameter (or, with
groups, the column scales of :mod:`ticselect.selection._group_scale`), starts the
fit from the previous solution moved by one Newton step for the new penalty
(:func:`~ticselect.selection._path_start.newton_predict`, as
:func:`ticselect.criterion_path` does), fits, builds the curvature and evaluates
the criterion with its derivatives (:mod:`ticselect.selection._tuning_grad`,
:mod:`ticselect.selection._tuning_gaussian`).
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.linear_model import (
    ElasticNet,
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    TweedieRegressor,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.svm import l1_min_c

from .._evidence import evidence
from ..criteria import OVERCONFIDENCE_RATIO, _glm_flags
from ..curvature import curvature
from ..curvature.adapters.l1 import is_sklearn_l1, logistic_l1_ratio
from ..stattests import pointwise
from . import _loo_gaussian as gaussian
from ._group_scale import group_scales
from ._loo import approximate_loo
from ._path_start import NewtonStart, newton_predict, set_coefficients
from ._tuning_gaussian import gaussian_loo_gradient
from ._tuning_grad import GradientUnavailable, PenaltyDerivatives, _total_se
from ._tuning_optim import Budget, Point

__all__ = ["Evaluator", "PenaltySpec", "l1_box", "resolve_penalty"]

#: (estimator types, penalty parameter, exponent e with pen ∝ value**e, slopes)
_PENALTIES = (
    ((LogisticRegression,), "C", -1.0, True),
    ((Ridge, PoissonRegressor, GammaRegressor, TweedieRegressor), "alpha", 1.0, True),
    ((ElasticNet,), "alpha", 1.0, False),  # Lasso too; L1: values only (kinks)
    ((MLPClassifier, MLPRegressor), "alpha", 1.0, False),
)
SUPPORTED_TEXT = (
    "LogisticRegression (C, L2, L1 or elastic net), Ridge, PoissonRegressor, "
    "GammaRegressor, TweedieRegressor, Lasso, ElasticNet, MLPClassifier, "
    "MLPRegressor (alpha), alone or as the last step of a Pipeline"
)


@dataclass(frozen=True)
class PenaltySpec:
    """The searched parameter: its ``set_params`` key on the final step, ``e``.

    ``l1``: the penalty has an L1 part (``Lasso``, ``ElasticNet``, an L1 or
    elastic-net ``LogisticRegression``): the criteria are piecewise smooth in it
    (the active set changes), so the search uses values only.
    """

    name: str
    exponent: float
    has_slopes: bool
    estimator_name: str
    l1: bool = False


def resolve_penalty(estimator, param):
    """Check ``param`` against ``estimator`` and describe the penalty it sets.

    Parameters
    ----------
    estimator : estimator or Pipeline
        The unfitted estimator.
    param : str
        ``"C"``/``"alpha"``, or the Pipeline key (``"logisticregression__C"``).

    Returns
    -------
    PenaltySpec

    Raises
    ------
    TypeError
        For an estimator whose penalty ticselect cannot tune.
    ValueError
        For an unknown parameter, one that is not the penalty, or an estimator
        without an L2 penalty.
    """
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    name = type(final).__name__
    valid = estimator.get_params()
    own = param
    if isinstance(estimator, Pipeline):
        prefix = f"{estimator.steps[-1][0]}__"
        if param.startswith(prefix):
            own = param[len(prefix) :]
        elif param in valid:
            raise ValueError(
                f"{param!r} is a parameter of an earlier Pipeline step, not of the "
                f"final {name}; CriterionSearch tunes the final step's L2 penalty."
            )
    if own not in final.get_params():
        raise ValueError(
            f"{param!r} is not a parameter of {name}. Valid parameters: "
            f"{sorted(final.get_params())}."
        )
    if isinstance(final, LinearRegression):
        raise ValueError(
            f"{name} has no penalty to tune; use Ridge(alpha) or another estimator "
            "with an L2 penalty."
        )
    for types, pname, exponent, slopes in _PENALTIES:
        if isinstance(final, types):
            if own != pname:
                raise ValueError(
                    f"{param!r} is not the penalty strength of {name}; "
                    f"CriterionSearch tunes {pname!r}."
                )
            if is_sklearn_l1(final):  # the L1 strength: values only
                return PenaltySpec(own, exponent, False, name, l1=True)
            _check_l2(final)
            return PenaltySpec(own, exponent, slopes, name)
    raise TypeError(
        f"CriterionSearch cannot tune the penalty of {name}. Supported: "
        f"{SUPPORTED_TEXT}."
    )


#: glmnet's ``lambda.min.ratio`` (n > p): the L1 search spans λ_max·1e-4 to λ_max
L1_SPAN = 1e-4


def l1_box(final, X, y, sample_weight):
    """``(low, high)`` of an L1 strength: from ``λ_max``, where every weight is 0.

    ``Lasso``/``ElasticNet``: ``α_max = max_j |x̃_jᵀ W ỹ| / (Σw · ρ)`` (columns and
    response centred by the weighted means when there is an intercept); an L1 or
    elastic-net ``LogisticRegression``: ``C_min = l1_min_c / ρ``.  The search spans
    ``L1_SPAN`` of that penalty, ``None`` when it does not exist (``ρ = 0``).
    """
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    if isinstance(final, LogisticRegression):
        rho = logistic_l1_ratio(final)
        if rho <= 0:
            return None
        c_min = l1_min_c(X, y, loss="log", fit_intercept=final.fit_intercept) / rho
        return c_min, c_min / L1_SPAN
    rho = float(getattr(final, "l1_ratio", 1.0))
    if rho <= 0:
        return None
    yv = np.asarray(y, dtype=float)
    if final.fit_intercept:
        X = X - np.average(X, axis=0, weights=w)
        yv = yv - np.average(yv, weights=w)
    a_max = float(np.max(np.abs(X.T @ (w * yv)))) / (np.sum(w) * rho)
    if not (np.isfinite(a_max) and a_max > 0):
        return None
    return a_max * L1_SPAN, a_max


def _check_l2(final):
    if not isinstance(final, LogisticRegression):
        return
    if getattr(final, "penalty", "deprecated") in (None, "none"):
        raise ValueError(
            f"{final!r} has no penalty to tune (penalty=None); use an L2, L1 or "
            "elastic-net penalty."
        )


class Evaluator:
    """``t -> Point``: refit at ``v = exp(t)``, curvature, criterion and slope.

    Parameters
    ----------
    final : estimator
        The final estimator (a clone, fitted in place and warm-started).
    spec : PenaltySpec
        From :func:`resolve_penalty`.
    X, y, sample_weight
        Training data seen by the final estimator (after the preprocessing).
    criterion : {"alo", "tic", "evidence"}
        What to minimise (deviance scale; ``-2 log p(y)`` for the evidence).
    column_groups : ndarray of int of shape (n_columns,) or None
        Group of each column (``groups=``); ``None`` for one penalty.
    base : float
        ``v₀``, the estimator's own parameter value with groups.
    dispersion : None or float
        Passed to :func:`ticselect.curvature`.
    max_evals : int
        Evaluations allowed (then :class:`Budget` is raised).
    """

    def __init__(
        self, final, spec, X, y, sample_weight, criterion, column_groups, base,
        dispersion, max_evals, warm_start, unpenalized="auto",
    ):  # fmt: skip
        self.final, self.spec = final, spec
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.criterion = criterion
        self.column_groups = column_groups
        self.base = base
        self.dispersion = dispersion
        self.max_evals = int(max_evals)
        self.warm_start = warm_start
        self.unpenalized = unpenalized
        self.newton = NewtonStart(final, spec.name, enabled=warm_start)
        self.n_fits = 0
        self.points = []
        self.prev = None  # (curv, values, column scales) of the last fit
        self.masks = None

    # -- one evaluation -----------------------------------------------------------
    def __call__(self, t):
        if self.n_fits >= self.max_evals:
            raise Budget
        values = np.exp(np.asarray(t, dtype=float))
        X, scale = self._prepare(values)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kw = {} if self.sample_weight is None else {
                "sample_weight": self.sample_weight
            }  # fmt: skip
            self.final.fit(X, self.y, **kw)
            self.n_fits += 1
            t1 = time.perf_counter()
            curv = curvature(
                self.final, X, self.y, self.sample_weight, dispersion=self.dispersion
            )
            crit = _light_criteria(curv)
            if self.masks is None:
                self.masks = self._masks(curv)
            value, se, grad, mackay, own = self._criterion(curv, crit)
        flags = tuple(crit.flags) + tuple(f for f in own if f not in crit.flags)
        t2 = time.perf_counter()
        self.prev = (curv, values, scale)
        point = Point(
            np.asarray(t, dtype=float).copy(), float(value), grad, float(se),
            extra={
                "values": values, "flags": flags, "fit_time": t1 - t0,
                "criterion_time": t2 - t1, "warnings": list(caught),
                "estimator": copy.deepcopy(self.final), "n_samples": curv.n_samples,
                "curvature": curv, "mackay": mackay, "exponent": self.spec.exponent,
            },
        )  # fmt: skip
        self.points.append(point)
        return point

    def _prepare(self, values):
        """Set the parameter (or the column scales) and move the warm start."""
        prev = self.prev
        scale = None
        X = self.X
        if self.column_groups is None:
            self.final.set_params(**{self.spec.name: float(values[0])})
        else:
            scale = group_scales(values, self.base, self.spec.exponent)
            scale = scale[self.column_groups]
            X = self.X @ sp.diags(scale) if sp.issparse(self.X) else self.X * scale
        if prev is not None and self.warm_start and hasattr(self.final, "coef_"):
            self._move_start(prev, values, scale)
        return X, scale

    def _move_start(self, prev, values, scale):
        """Start from the previous fit moved by one Newton step for the new penalty.

        With groups the step is taken in the previous column scales, then the
        coefficients are converted to the new ones (``β`` unchanged); without a
        Newton step (networks, liblinear, a failed step) the previous solution is
        the start.
        """
        curv, old_values, old_scale = prev
        coef = np.asarray(self.final.coef_, dtype=float)
        ratio = (values / old_values) ** self.spec.exponent  # penalty factor per group
        start = None
        if self.newton.applicable:
            d = curv.n_params - int(curv.dispersion_is_param)
            factor = np.full(d, ratio[0])
            if scale is not None:
                factor[:] = 1.0
                for k in range(coef.shape[0] if coef.ndim == 2 else 1):
                    off = k * (d // max(coef.shape[0] if coef.ndim == 2 else 1, 1))
                    factor[off : off + coef.shape[-1]] = ratio[self.column_groups]
            start = newton_predict(curv, curv.penalty[:d] * factor)
        if scale is None:
            if start is not None:
                set_coefficients(self.final, start)
            return
        if start is not None:
            set_coefficients(self.final, start)
            coef = np.asarray(self.final.coef_, dtype=float)
        self.final.coef_ = coef * (old_scale / scale)

    # -- the criterion -------------------------------------------------------------
    def _masks(self, curv):
        """Penalty entries each search coordinate scales, shape (G, n_params)."""
        pen = curv.penalty > 0
        if self.column_groups is None:
            return pen[None]
        rows = curv.rows
        G = int(self.column_groups.max()) + 1
        masks = np.zeros((G, curv.n_params), dtype=bool)
        cols = np.arange(self.column_groups.size)
        for k in range(rows.m):
            masks[self.column_groups, k * rows.pt + cols] = True
        return masks & pen[None]

    def _criterion(self, curv, crit):
        """``(value, se, grad, mackay, flags)`` of the criterion, deviance scale.

        ``grad`` is ``None`` where no derivative exists; ``mackay`` is MacKay's
        ratio update of each penalty (:meth:`PenaltyDerivatives.mackay_ratio`) or
        ``None``; ``flags`` are the criterion's own (the evidence's), beside the
        fit's.
        """
        e = self.spec.exponent
        pd = None
        if self.spec.has_slopes:
            try:
                pd = PenaltyDerivatives(curv, self.masks, e)
            except GradientUnavailable:
                pd = None
        mackay = None if pd is None else pd.mackay_ratio()
        if self.criterion == "alo":
            gaussian_form = gaussian.applies(curv, curv.rows)
            if pd is not None and gaussian_form:  # exact LOO in closed form
                try:
                    return (*gaussian_loo_gradient(curv, self.masks, e), mackay, ())
                except linalg.LinAlgError:
                    pass
            fused = None if pd is None or gaussian_form else pd.alo_fused()
            if fused is not None:  # one-step rows only: no approximate_loo needed
                loo, grad = fused
                return loo.loo, loo.loo_se, grad, mackay, ()
            loo = approximate_loo(curv)
            grad = None
            if pd is not None and not gaussian_form:
                try:
                    grad = pd.alo(loo)
                except (GradientUnavailable, linalg.LinAlgError):
                    grad = None
            return loo.loo, loo.loo_se, grad, mackay, ()
        if self.criterion == "tic":
            if pd is not None:
                _, se, grad = pd.tic()
                return crit.tic, se, grad, mackay, ()
            return crit.tic, _tic_se(curv), None, mackay, ()
        if self.criterion == "evidence":
            ev = evidence(
                curv, unpenalized=self.unpenalized,
                dispersion="profile" if curv.dispersion_is_param else "fixed",
            )  # fmt: skip
            grad = None
            if pd is not None:
                try:
                    grad = pd.evidence(ev)
                except (GradientUnavailable, linalg.LinAlgError):
                    grad = None
            # the evidence's own flags say why a value is nan ("singular", ...)
            return -2.0 * ev.log_evidence, np.nan, grad, mackay, tuple(ev.flags)
        raise ValueError(f"unknown criterion {self.criterion!r}")  # pragma: no cover


@dataclass(frozen=True)
class _Light:
    """What the search reads of :func:`ticselect.criteria`: TIC and the flags."""

    tic: float
    flags: tuple


def _light_criteria(curv):
    """TIC and the reliability flags of :func:`ticselect.criteria`, cheaply.

    From the cached factorisation of ``H_λ`` (no spectra, soft ranks or evidence):
    the search needs nothing else at every refit, and ``criteria`` adds about a
    tenth to an evaluation.
    """
    sol = curv.penalized_solve()
    ratio = sol.tic_penalty / sol.effective_dim if sol.effective_dim > 0 else np.nan
    if ratio < OVERCONFIDENCE_RATIO:
        curv.add_flag("overconfident")  # criteria()'s rule (without its warning)
    _glm_flags(curv, sol, ratio)  # high_leverage, misspecified: criteria()'s rules
    return _Light(tic=2.0 * curv.nll + 2.0 * sol.tic_penalty, flags=tuple(curv.flags))


def _tic_se(curv):
    """Standard error of TIC from its pointwise terms (deviance scale)."""
    try:
        pw = pointwise(curv)
    except (ValueError, TypeError):
        return np.nan
    return _total_se(pw.nll + pw.tic_penalty, pw.sample_weight)
