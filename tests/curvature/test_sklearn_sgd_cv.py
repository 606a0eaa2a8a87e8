"""SGD-fitted GLMs and CV estimators against their plain equivalents.

The oracle is the equivalent ``LogisticRegression``/``Ridge`` fitted tightly by a
second-order solver.  SGD is first warm-started at that optimum with a tiny constant
step (it then stays within ~1e-9 of it: the same optimum, reached by SGD's own
``fit``), where every criterion must agree to 1e-6; a wrong penalty unit would show
as a non-zero gradient there.  A genuine SGD fit from scratch is checked more loosely.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import (
    LogisticRegression,
    LogisticRegressionCV,
    Ridge,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.preprocessing import StandardScaler

import ticselect as ts

CRITS = ("loglik", "aic", "bic", "tic", "tic_penalty", "effective_dim", "soft_rank")


def _same(a, b, rtol):
    for c in CRITS:
        assert_allclose(getattr(a, c), getattr(b, c), rtol=rtol, err_msg=c)
    assert a.n_params == b.n_params


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[:, :6], y


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


@pytest.mark.filterwarnings("error::ticselect.NotStationaryWarning")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_sgd_classifier_at_the_logistic_optimum(weighted, class_weight):
    X, y = _cancer()
    n = len(y)
    w = np.resize([1.0, 2.0, 3.0], n) if weighted else None
    alpha = 1e-2
    # SGD's objective (1/n) Σ wᵢ Lᵢ + α/2 ‖β‖²  ==  LogisticRegression(C = 1/(α n))
    # up to the factor n; "balanced" SGD class weights ignore sample weights.
    cw = None
    if class_weight == "balanced":
        counts = np.bincount(y)
        cw = {k: n / (2 * counts[k]) for k in (0, 1)}
    lr = LogisticRegression(
        C=1 / (alpha * n), class_weight=cw, tol=1e-12, max_iter=10000
    ).fit(X, y, sample_weight=w)
    sgd = SGDClassifier(
        loss="log_loss",
        alpha=alpha,
        class_weight=class_weight,
        learning_rate="constant",
        eta0=1e-12,
        max_iter=2,
        tol=None,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn: max_iter reached
        sgd.fit(X, y, coef_init=lr.coef_, intercept_init=lr.intercept_, sample_weight=w)
    a = ts.curvature(sgd, X, y, sample_weight=w)
    b = ts.curvature(lr, X, y, sample_weight=w)
    assert a.stationarity < 1e-6  # the penalty units are right
    _same(ts.criteria(a), ts.criteria(b), rtol=1e-6)


@pytest.mark.filterwarnings("error::ticselect.NotStationaryWarning")
def test_sgd_classifier_fitted_from_scratch():
    X, y = _cancer()
    alpha = 1e-2
    sgd = SGDClassifier(
        loss="log_loss", alpha=alpha, tol=None, max_iter=1000, random_state=0
    ).fit(X, y)
    lr = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12).fit(X, y)
    a, b = ts.criteria(ts.curvature(sgd, X, y)), ts.criteria(ts.curvature(lr, X, y))
    # 1000 epochs of plain SGD with the "optimal" schedule from scratch: criteria
    # within 3.1e-7 of the Newton-type fit (300 epochs: 6.8e-6; averaging slows it)
    _same(a, b, rtol=1e-6)


@pytest.mark.filterwarnings("error::ticselect.NotStationaryWarning")
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_sgd_regressor_at_the_ridge_optimum(penalty):
    X, y = _diabetes()
    alpha = 1e-3
    ridge = Ridge(alpha=alpha * len(y), tol=1e-12).fit(X, y)
    sgd = SGDRegressor(
        alpha=alpha,
        penalty=penalty,
        l1_ratio=0.0,
        learning_rate="constant",
        eta0=1e-12,
        max_iter=2,
        tol=None,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgd.fit(X, y, coef_init=ridge.coef_, intercept_init=ridge.intercept_)
    a, b = ts.curvature(sgd, X, y), ts.curvature(ridge, X, y)
    assert a.stationarity < 1e-6
    _same(ts.criteria(a), ts.criteria(b), rtol=1e-6)


def test_sgd_regressor_averaged_fit_is_close():
    X, y = _diabetes()
    sgd = SGDRegressor(
        alpha=1e-3,
        learning_rate="invscaling",
        average=True,
        tol=None,
        max_iter=500,
        random_state=0,
    ).fit(X, y)
    ridge = Ridge(alpha=1e-3 * len(y)).fit(X, y)
    a, b = ts.criteria(ts.curvature(sgd, X, y)), ts.criteria(ts.curvature(ridge, X, y))
    # averaged SGD for least squares converges slowly: 500 epochs reach ~1e-3
    # (the Gaussian loglik moves with σ̂² = RSS/n); "optimal" diverges here
    assert_allclose(a.tic, b.tic, rtol=1e-2)


def test_sgd_stopped_early_warns():
    X, y = _cancer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgd = SGDClassifier(
            loss="log_loss", alpha=1e-4, max_iter=1, tol=None, random_state=0
        ).fit(X * 10, y)
    with pytest.warns(ts.NotStationaryWarning):
        ts.curvature(sgd, X * 10, y)


@pytest.mark.filterwarnings("error::ticselect.NotStationaryWarning")
@pytest.mark.parametrize("legacy", [True, False])  # C_ an array or a float
def test_logistic_regression_cv_is_logistic_regression_at_C_(legacy):
    X, y = _cancer()
    cv = LogisticRegressionCV(
        Cs=[0.01, 0.1, 1.0],
        l1_ratios=(0.0,),
        scoring="neg_log_loss",
        use_legacy_attributes=legacy,
        tol=1e-12,
        max_iter=10000,
        cv=3,
    ).fit(X, y)
    C = float(np.ravel(cv.C_)[0])
    lr = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y)
    a, b = ts.curvature(cv, X, y), ts.curvature(lr, X, y)
    assert a.model_name.startswith("LogisticRegressionCV")
    _same(ts.criteria(a), ts.criteria(b), rtol=1e-6)


@pytest.mark.filterwarnings("error::ticselect.NotStationaryWarning")
def test_ridge_cv_is_ridge_at_alpha_():
    X, y = _diabetes()
    cv = RidgeCV(alphas=[0.1, 3.0, 100.0]).fit(X, y)
    ridge = Ridge(alpha=cv.alpha_).fit(X, y)
    _same(
        ts.criteria(ts.curvature(cv, X, y)),
        ts.criteria(ts.curvature(ridge, X, y)),
        rtol=1e-6,
    )


def test_unsupported_configurations_raise():
    X, y = _cancer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hinge = SGDClassifier(max_iter=5).fit(X, y)
        multi = SGDClassifier(loss="log_loss", max_iter=5).fit(X, y + (X[:, 0] > 1))
        huber = SGDRegressor(loss="huber", max_iter=5).fit(X, X[:, 1])
        early = SGDClassifier(loss="log_loss", early_stopping=True).fit(X, y)
        norefit = LogisticRegressionCV(
            Cs=2, l1_ratios=(0.0,), refit=False, cv=2, use_legacy_attributes=False
        ).fit(X, y)
    with pytest.raises(ValueError, match="log_loss"):
        ts.curvature(hinge, X, y)
    with pytest.raises(ValueError, match="one-vs-rest"):
        ts.curvature(multi, X, y + (X[:, 0] > 1))
    with pytest.raises(ValueError, match="squared_error"):
        ts.curvature(huber, X, X[:, 1])
    with pytest.raises(ValueError, match="early_stopping=True"):
        ts.curvature(early, X, y)
    with pytest.raises(ValueError, match="refit=False"):
        ts.curvature(norefit, X, y)
