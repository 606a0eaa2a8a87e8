"""SGD-fitted GLMs and cross-validated linear models, read as their plain equivalents.

Each estimator here minimises the objective of a model that
:mod:`ticselect.curvature.adapters.sklearn_glm` already reads; the adapter maps its
penalty to that model's units and builds the same :class:`GLMSpec`:

================================================  ====================================
estimator                                         equivalent (same optimum)
================================================  ====================================
``SGDClassifier(loss="log_loss", alpha)``         ``LogisticRegression(C=1/(alpha·n))``
``SGDRegressor(loss="squared_error", alpha)``     ``Ridge(alpha=alpha·n)``
``LogisticRegressionCV``                          ``LogisticRegression(C=C_)``
``RidgeCV``                                       ``Ridge(alpha=alpha_)``
================================================  ====================================

``n`` is the number of rows: scikit-learn's SGD minimises
``(1/n) Σᵢ wᵢ Lᵢ + alpha · R(coef)`` with ``R = ½‖coef‖²`` for ``penalty="l2"``
(``"elasticnet"`` with ``l1_ratio=0`` is the same; ``None`` is no penalty; the
intercept is not penalised).  Its ``class_weight`` multiplies the loss of each row as
in ``LogisticRegression``, with the ``"balanced"`` weights computed without the
sample weights (as ``SGDClassifier`` does).  ``average=`` is accepted: the averaged
iterate is what ``coef_`` holds, and the stationarity check tells how far it is from
the optimum.

SGD stops far from the optimum by default (``tol=1e-3`` on the epoch loss), so a
:class:`~ticselect.NotStationaryWarning` is common.  To fit tightly: standardise
``X``, ``tol=None`` and many epochs; ``SGDClassifier(learning_rate="optimal",
max_iter=1000)`` reaches criteria within 3e-7 of ``LogisticRegression`` on
standardised breast-cancer data.  ``SGDRegressor`` converges slowly (averaged
``"invscaling"``: 7e-3 after 1000 epochs on diabetes): warm-start it with
``coef_init`` and a small constant ``eta0``, or refit the equivalent ``Ridge``.

Cross-validated estimators are read at the selected penalty (``C_``, ``alpha_``) of the
final refit: their criteria are those of that one model, **conditional on the
selection**, which itself used the data (the selection's own optimism is not in the
TIC penalty).  ``LogisticRegressionCV(refit=False)`` averages coefficients over folds,
not a stationary point of any one objective, and is refused, as is SGD with
``early_stopping=True`` (it fits a random subset of the rows).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.linear_model import (
    LogisticRegression,
    LogisticRegressionCV,
    Ridge,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.utils.class_weight import compute_class_weight

from .sklearn_glm import sklearn_glm_spec

__all__ = ["SKLEARN_SGD_CV", "sklearn_sgd_cv_spec"]

#: LogisticRegressionCV first: it subclasses LogisticRegression.
SKLEARN_SGD_CV = (LogisticRegressionCV, RidgeCV, SGDClassifier, SGDRegressor)


def _sgd_l2(est, name):
    """``alpha`` of an L2 (or no) penalty of a fitted SGD estimator."""
    if est.early_stopping:
        raise ValueError(
            f"{name}(early_stopping=True) fits a random "
            f"{1 - est.validation_fraction:g} of the rows (the rest is its "
            "validation set), so its coefficients are not the optimum on the data "
            "passed here. Refit with "
            "early_stopping=False (and tol=None, a few hundred epochs)."
        )
    penalty = est.penalty
    if penalty == "elasticnet" and float(est.l1_ratio) == 0.0:
        penalty = "l2"
    if penalty is None:
        return 0.0
    if penalty != "l2":
        raise ValueError(
            f"{name}(penalty={est.penalty!r}, l1_ratio={est.l1_ratio}) is not "
            "supported: an L1 term is not differentiable at a sparse solution, so "
            "the Hessian and TIC are undefined there. Use penalty='l2' or None."
        )
    return float(est.alpha)


def _copy_fit(src, dst):
    for attr in (
        "coef_",
        "intercept_",
        "classes_",
        "n_features_in_",
        "feature_names_in_",
    ):
        if hasattr(src, attr):
            setattr(dst, attr, getattr(src, attr))
    return dst


def _sgd_classifier(est, X, y):
    name = "SGDClassifier"
    if est.loss != "log_loss":
        raise ValueError(
            f"{name}(loss={est.loss!r}) is not supported: only loss='log_loss' is a "
            "likelihood (logistic regression)."
        )
    if len(est.classes_) != 2:
        raise ValueError(
            f"{name} with {len(est.classes_)} classes fits one-vs-rest binary models, "
            "which is not one likelihood. Use LogisticRegression for a multinomial "
            "model, or fit one binary SGDClassifier per class."
        )
    alpha = _sgd_l2(est, name)
    n = X.shape[0]
    C = np.inf if alpha == 0 else 1.0 / (alpha * n)
    cw = compute_class_weight(est.class_weight, classes=est.classes_, y=np.asarray(y))
    eq = LogisticRegression(
        C=C,
        fit_intercept=est.fit_intercept,
        class_weight=dict(zip(est.classes_.tolist(), cw.tolist(), strict=True)),
    )
    return _copy_fit(est, eq), f"{name}(alpha={est.alpha:g})"


def _sgd_regressor(est, X):
    name = "SGDRegressor"
    if est.loss != "squared_error":
        raise ValueError(
            f"{name}(loss={est.loss!r}) is not supported: only loss='squared_error' "
            "is a (Gaussian) likelihood."
        )
    alpha = _sgd_l2(est, name)
    eq = Ridge(alpha=alpha * X.shape[0], fit_intercept=est.fit_intercept)
    return _copy_fit(est, eq), f"{name}(alpha={est.alpha:g})"


def _single(value, what, name):
    arr = np.unique(np.ravel(np.asarray(value, dtype=float)))
    if arr.size != 1:
        raise ValueError(
            f"{name} selected several {what} values ({arr.tolist()}); ticselect "
            "supports one penalty per model."
        )
    return float(arr[0])


def _logistic_cv(est):
    name = "LogisticRegressionCV"
    if not est.refit:
        raise ValueError(
            f"{name}(refit=False) averages the coefficients of the folds: they are "
            "not the optimum of one objective, so TIC does not apply. Use refit=True."
        )
    l1 = getattr(est, "l1_ratio_", None)
    if l1 is not None:
        vals = [v for v in np.ravel(np.asarray(l1, dtype=object)) if v is not None]
        if any(float(v) != 0.0 for v in vals):
            raise ValueError(
                f"{name} selected an L1 or elastic-net penalty (l1_ratio_={l1}); "
                "only L2 is supported (the L1 term is not differentiable)."
            )
    C = _single(est.C_, "C", name)
    eq = LogisticRegression(
        C=C,
        fit_intercept=est.fit_intercept,
        solver=est.solver,
        intercept_scaling=est.intercept_scaling,
        class_weight=est.class_weight,
    )
    return _copy_fit(est, eq), f"{name}(C_={C:g})"


def _ridge_cv(est):
    name = "RidgeCV"
    alpha = _single(est.alpha_, "alpha", name)
    if np.ndim(est.alpha_) > 0 and np.size(est.alpha_) > 1:
        raise ValueError(f"{name} with alpha_per_target is not supported.")
    eq = Ridge(alpha=alpha, fit_intercept=est.fit_intercept)
    return _copy_fit(est, eq), f"{name}(alpha_={alpha:g})"


def sklearn_sgd_cv_spec(est, X, y, sample_weight, feature_names):
    """Describe a fitted SGD or CV linear model as the :class:`GLMSpec` of its twin.

    Parameters
    ----------
    est : fitted estimator
        One of :data:`SKLEARN_SGD_CV`.
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

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import RidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = X @ [1.0, 0.0, -1.0] + rng.normal(size=100)
    >>> model = RidgeCV(alphas=[0.1, 1.0, 10.0]).fit(X, y)
    >>> ts.curvature(model, X, y).model_name
    'RidgeCV(alpha_=0.1)'
    """
    if isinstance(est, LogisticRegressionCV):
        eq, name = _logistic_cv(est)
    elif isinstance(est, RidgeCV):
        eq, name = _ridge_cv(est)
    elif isinstance(est, SGDClassifier):
        eq, name = _sgd_classifier(est, X, y)
    else:
        eq, name = _sgd_regressor(est, X)
    spec = sklearn_glm_spec(eq, X, y, sample_weight, feature_names)
    return replace(spec, model_name=name)
