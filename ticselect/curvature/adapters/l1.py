"""Read fitted scikit-learn L1 and elastic-net models into a :class:`GLMSpec`.

Each estimator minimises a smooth loss plus ``r(β) = l1·‖β‖₁ + (λ/2)‖β‖²``; the spec
carries both strengths in the summed-NLL units of
:mod:`ticselect.curvature._result` (``l1`` and ``l2``), and
:mod:`ticselect.curvature._active` then restricts it to the active set:

- ``Lasso(alpha)``, ``LassoLars(alpha)``: ``l1 = alpha·Σw/σ̂²``, ``λ = 0``;
- ``ElasticNet(alpha, l1_ratio)``: ``l1 = alpha·l1_ratio·Σw/σ̂²``,
  ``λ = alpha·(1 − l1_ratio)·Σw/σ̂²``;
- ``LogisticRegression(C, l1_ratio)``: ``l1 = l1_ratio/C``, ``λ = (1 − l1_ratio)/C``;
- ``SGDClassifier(alpha, penalty, l1_ratio)``: ``l1 = alpha·ρ·n``,
  ``λ = alpha·(1 − ρ)·n``;
- ``SGDRegressor(alpha, penalty, l1_ratio)``: ``l1 = alpha·ρ·n/σ̂²``,
  ``λ = alpha·(1 − ρ)·n/σ̂²``.

scikit-learn's ``Lasso``/``ElasticNet`` minimise ``‖y − Xβ − b‖²_w/(2Σw) + alpha·
l1_ratio·‖β‖₁ + alpha·(1 − l1_ratio)/2·‖β‖²`` (sample weights rescaled to sum to
``n``), the Gaussian NLL times ``σ²/Σw`` plus a constant; ``LogisticRegression``
minimises ``C·Σwᵢ·logloss + r(β)``; SGD minimises ``(1/n)Σwᵢ·loss + alpha·R(β)`` with
``R = ρ‖β‖₁ + (1 − ρ)/2‖β‖²`` (``ρ = 1`` for ``penalty="l1"``, ``l1_ratio`` for
``"elasticnet"``).  ``LogisticRegression``'s ``l1_ratio`` is read with both spellings
scikit-learn 1.8+ accepts: the deprecated ``penalty="l1" | "elasticnet"`` (then
``l1_ratio`` is 1, or the given one) and ``l1_ratio`` alone (``penalty`` left at its
default).  ``liblinear`` also penalises the intercept, by ``l1/intercept_scaling``
(its intercept is a coefficient on a constant column of that value), so an intercept
it sets to 0 is inactive too.

The cross-validated and information-criterion estimators are read at their chosen
penalty: ``LassoCV``, ``LassoLarsCV``, ``LassoLarsIC`` (``alpha_``),
``ElasticNetCV`` (``alpha_``, ``l1_ratio_``), ``LogisticRegressionCV`` with an
``l1_ratio_ > 0`` (``C_``, ``l1_ratio_``); as for the L2 ones (see
:mod:`ticselect.curvature.adapters.sklearn_sgd_cv`) their criteria are conditional on
that choice.  ``positive=True`` fits are constrained (the gradient need not vanish)
and are refused.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.linear_model import (
    ElasticNet,
    ElasticNetCV,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LogisticRegression,
    LogisticRegressionCV,
    SGDClassifier,
    SGDRegressor,
)

from .._families import get_family
from .._glm import GLMSpec
from .sklearn_glm import sklearn_glm_spec
from .sklearn_sgd_cv import sklearn_sgd_cv_spec

__all__ = ["SKLEARN_L1", "is_sklearn_l1", "logistic_l1_ratio", "sklearn_l1_spec"]

#: Estimators that are always read here (``Lasso`` and the ``MultiTask`` ones
#: subclass ``ElasticNet``, ``LassoLarsIC`` subclasses ``LassoLars``).
SKLEARN_L1 = (ElasticNet, ElasticNetCV, LassoCV, LassoLars, LassoLarsCV)

_FITTED = ("coef_", "intercept_", "classes_", "n_features_in_", "feature_names_in_")


def logistic_l1_ratio(est):
    """The L1 share ``ρ`` of a (fitted or not) ``LogisticRegression``'s penalty.

    Parameters
    ----------
    est : LogisticRegression
        Either spelling: ``penalty="l1" | "elasticnet"`` (deprecated since
        scikit-learn 1.8) or ``l1_ratio`` alone.

    Returns
    -------
    float
        ``0`` for L2 or no penalty (``C = inf``), ``1`` for L1.
    """
    if isinstance(est, LogisticRegressionCV):
        chosen = getattr(est, "l1_ratio_", None)
        if chosen is None:
            return 0.0
        vals = [float(v) for v in np.ravel(np.asarray(chosen, dtype=object))
                if v is not None]  # fmt: skip
        return max(vals, default=0.0)
    if est.C == np.inf:
        return 0.0
    penalty = getattr(est, "penalty", "deprecated")
    if penalty == "l1":
        return 1.0
    if penalty in ("l2", None, "none"):
        return 0.0
    ratio = getattr(est, "l1_ratio", None)  # "elasticnet" or the default spelling
    return 0.0 if ratio is None else float(ratio)


def _sgd_l1_ratio(est):
    if est.penalty == "l1":
        return 1.0
    if est.penalty == "elasticnet":
        return float(est.l1_ratio)
    return 0.0


def is_sklearn_l1(est):
    """Whether ``est`` is an L1 or elastic-net fit read by this module.

    Parameters
    ----------
    est : object
        Anything.

    Returns
    -------
    bool
    """
    if isinstance(est, SKLEARN_L1):
        return True
    if isinstance(est, LogisticRegression):
        return logistic_l1_ratio(est) > 0
    if isinstance(est, (SGDClassifier, SGDRegressor)):
        return _sgd_l1_ratio(est) > 0
    return False


def _twin(est, cls, **params):
    """An unfitted ``cls(**params)`` holding the fitted attributes of ``est``."""
    twin = cls(**params)
    for attr in _FITTED:
        if hasattr(est, attr):
            setattr(twin, attr, getattr(est, attr))
    return twin


def _no_positive(est, name):
    if getattr(est, "positive", False):
        raise ValueError(
            f"{name}(positive=True) is a constrained fit: the gradient need not "
            "vanish at the solution, so TIC does not apply. Use positive=False."
        )


def _gaussian_l1(est, X, y, sample_weight, feature_names):
    """``Lasso``/``ElasticNet`` and their CV/LARS variants."""
    name = type(est).__name__
    _no_positive(est, name)
    if isinstance(est, ElasticNetCV):
        alpha, ratio = float(est.alpha_), float(est.l1_ratio_)
        label = f"{name}(alpha_={alpha:.4g}, l1_ratio_={ratio:g})"
    elif isinstance(est, (LassoCV, LassoLarsCV, LassoLarsIC)):
        alpha, ratio = float(est.alpha_), 1.0
        label = f"{name}(alpha_={alpha:.4g})"
    else:
        alpha = float(est.alpha)
        ratio = float(getattr(est, "l1_ratio", 1.0))
        extra = f", l1_ratio={ratio:g}" if type(est).__name__ == "ElasticNet" else ""
        label = f"{name}(alpha={alpha:.4g}{extra})"
    coef = np.asarray(est.coef_, dtype=float)
    if coef.ndim == 2 and coef.shape[0] != 1:
        raise ValueError(
            f"{name} was fitted with {coef.shape[0]} targets; ticselect supports a "
            "single target. Fit one model per target."
        )
    coef = coef.reshape(1, -1)
    total = float(np.sum(sample_weight))
    return GLMSpec(
        family=get_family("gaussian", "identity"),
        X=X,
        y=np.asarray(y, dtype=float),
        coef=coef,
        intercept=(
            np.asarray(est.intercept_, dtype=float).reshape(1)
            if est.fit_intercept
            else None
        ),
        sample_weight=sample_weight,
        l2=alpha * (1.0 - ratio) * total,
        l1=alpha * ratio * total,
        l2_over_dispersion=True,
        feature_names=feature_names,
        model_name=label,
    )


def _logistic_l1(est, X, y, sample_weight, feature_names):
    name = type(est).__name__
    if isinstance(est, LogisticRegressionCV):
        if not est.refit:
            raise ValueError(
                f"{name}(refit=False) averages the coefficients of the folds: they "
                "are not the optimum of one objective. Use refit=True."
            )
        C_all = np.unique(np.ravel(np.asarray(est.C_, dtype=float)))
        if C_all.size != 1:
            raise ValueError(
                f"{name} selected several C values ({C_all.tolist()}); ticselect "
                "supports one penalty per model."
            )
        C, ratio = float(C_all[0]), logistic_l1_ratio(est)
        label = f"{name}(C_={C:.4g}, l1_ratio_={ratio:g})"
    else:
        C, ratio = float(est.C), logistic_l1_ratio(est)
        label = f"{name}(C={C:.4g}, l1_ratio={ratio:g})"
    twin = _twin(
        est,
        LogisticRegression,
        C=np.inf if ratio == 1.0 else C / (1.0 - ratio),
        l1_ratio=0.0,
        fit_intercept=est.fit_intercept,
        intercept_scaling=est.intercept_scaling,
        class_weight=est.class_weight,
        solver=est.solver,
    )
    spec = sklearn_glm_spec(twin, X, y, sample_weight, feature_names)
    l1 = ratio / C
    l1_int = 0.0
    if est.solver == "liblinear" and est.fit_intercept:  # (only L1 or L2 there)
        l1_int = l1 / est.intercept_scaling
    return replace(spec, l1=l1, l1_intercept=l1_int, model_name=label)


def _sgd_l1(est, X, y, sample_weight, feature_names):
    name = type(est).__name__
    ratio = _sgd_l1_ratio(est)
    alpha = float(est.alpha)
    twin = _twin(
        est,
        type(est),
        loss=est.loss,
        penalty="l2" if ratio < 1.0 else None,
        alpha=alpha * (1.0 - ratio) if ratio < 1.0 else alpha,
        fit_intercept=est.fit_intercept,
        early_stopping=est.early_stopping,
        validation_fraction=est.validation_fraction,
        **({"class_weight": est.class_weight} if name == "SGDClassifier" else {}),
    )
    spec = sklearn_sgd_cv_spec(twin, X, y, sample_weight, feature_names)
    label = f"{name}(alpha={alpha:.4g}, penalty={est.penalty!r}"
    label += f", l1_ratio={ratio:g})" if est.penalty == "elasticnet" else ")"
    return replace(spec, l1=alpha * ratio * X.shape[0], model_name=label)


def sklearn_l1_spec(est, X, y, sample_weight, feature_names):
    """Describe a fitted L1 or elastic-net model as a :class:`GLMSpec` with ``l1``.

    Parameters
    ----------
    est : fitted estimator
        One for which :func:`is_sklearn_l1` is true.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Validated design.
    y : ndarray of shape (n_samples,)
        Targets.
    sample_weight : ndarray of shape (n_samples,)
        Validated non-negative weights.
    feature_names : list of str
        Names of the columns of ``X``.

    Returns
    -------
    GLMSpec
        The full model (every coefficient); the dispatcher restricts it to the
        active set.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import ElasticNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> y = X @ [1.0, 0.5, 0.0, 0.0, 0.0] + rng.normal(size=200)
    >>> model = ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-12).fit(X, y)
    >>> curv = ts.curvature(model, X, y)
    >>> curv.model_name, curv.active_set.active_names
    ('ElasticNet(alpha=0.1, l1_ratio=0.5)', ['x0', 'x1', 'x4', 'intercept'])
    >>> curv.n_params                                   # + the dispersion σ²
    5
    """
    if isinstance(est, LogisticRegression):
        return _logistic_l1(est, X, y, sample_weight, feature_names)
    if isinstance(est, (SGDClassifier, SGDRegressor)):
        return _sgd_l1(est, X, y, sample_weight, feature_names)
    return _gaussian_l1(est, X, y, sample_weight, feature_names)
