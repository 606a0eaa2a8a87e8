"""Newton-predicted warm starts along a penalty path (selection._path_start)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    TweedieRegressor,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.selection._path import criterion_path
from ticselect.selection._path_start import NewtonStart

# lbfgs at tol=1e-10 stops within ~1e-5 (coefficients) of the unique optimum of these
# strictly convex problems from any start (its relative-decrease rule can stop it
# before the gradient tolerance); the criteria are flat there and agree to 1e-8, so
# 1e-6 leaves margin.
RTOL_PATH = 1e-6


def _correlated(n, p, rho, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, p))
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * Z[:, j]
    return X, rng


def test_gaussian_newton_start_is_the_closed_form_ridge_solution():
    # For a quadratic objective one Newton step lands on the new optimum.  Oracle:
    # scikit-learn's objective 1/(2n)‖y - Xβ - b‖² + α/2‖β‖² with an unpenalised
    # intercept, solved by centring: β = (XcᵀXc + nαI)⁻¹ Xcᵀ yc, b = ȳ - x̄ᵀβ.
    X, rng = _correlated(300, 6, 0.8, 0)
    y = X @ [1.0, -0.5, 0.0, 0.3, 0.0, 0.2] + 0.7 + rng.normal(size=300)
    est = TweedieRegressor(power=0, link="identity", alpha=1.0, tol=1e-12)
    est.fit(X, y)
    curv = ts.curvature(est, X, y)
    est.set_params(alpha=0.05)
    start = NewtonStart(est, "alpha")
    assert start.apply(est, curv, 1.0, 0.05)
    n = len(y)
    Xc, yc = X - X.mean(0), y - y.mean()
    beta = np.linalg.solve(Xc.T @ Xc + n * 0.05 * np.eye(6), Xc.T @ yc)
    # the start inherits the previous fit's residual gradient (tol=1e-12): 1e-9
    assert_allclose(est.coef_, beta, rtol=1e-8, atol=1e-9)
    assert_allclose(est.intercept_, y.mean() - X.mean(0) @ beta, rtol=1e-8)


def test_gaussian_path_needs_no_solver_iterations_after_the_first():
    X, rng = _correlated(300, 6, 0.8, 1)
    y = X[:, 0] - X[:, 2] + rng.normal(size=300)
    grid = [1.0, 0.3, 0.1, 0.01]
    path = criterion_path(
        TweedieRegressor(power=0, link="identity", tol=1e-10), "alpha", grid, X, y
    )
    assert path.newton_starts == len(grid) - 1
    assert [e.n_iter_ for e in path.estimators_][1:] == [0] * (len(grid) - 1)


@pytest.mark.parametrize(
    "make, param, grid, target",
    [
        (lambda: LogisticRegression(tol=1e-10), "C", [0.01, 0.05, 0.3, 2.0], "binary"),
        (lambda: PoissonRegressor(tol=1e-10), "alpha", [1.0, 0.2, 0.03, 0.0], "count"),
        (lambda: GammaRegressor(tol=1e-10), "alpha", [1.0, 0.2, 0.03], "positive"),
        (
            lambda: make_pipeline(StandardScaler(), LogisticRegression(tol=1e-10)),
            "logisticregression__C",
            [0.01, 0.05, 0.3],
            "binary",
        ),
    ],
)
def test_newton_started_path_equals_cold_path(make, param, grid, target):
    X, rng = _correlated(400, 8, 0.9, 2)
    eta = 0.4 * X[:, 0] - 0.3 * X[:, 3]
    w = rng.integers(1, 4, size=len(X)).astype(float)
    y = {
        "binary": (rng.uniform(size=len(X)) < 1 / (1 + np.exp(-eta))).astype(int),
        "count": rng.poisson(np.exp(eta)),
        "positive": rng.gamma(3.0, np.exp(eta) / 3.0),
    }[target]
    newton = criterion_path(make(), param, grid, X, y, sample_weight=w)
    cold = criterion_path(make(), param, grid, X, y, sample_weight=w, warm_start=False)
    # a step *to* alpha = 0 is predicted; one *from* it has no strength to scale
    assert newton.newton_starts == sum(1 for v in grid[:-1] if v > 0)
    assert cold.newton_starts == 0
    for c in ("aic", "bic", "tic"):
        assert_allclose(newton.deviance(c), cold.deviance(c), rtol=RTOL_PATH)
        assert newton.best_value(c) == cold.best_value(c)


def test_newton_start_saves_iterations_on_an_ill_conditioned_design():
    X, rng = _correlated(2000, 30, 0.95, 3)
    y = rng.poisson(np.exp(0.2 * X[:, 0] - 0.2 * X[:, 5]))
    grid = list(np.logspace(0, -4, 8))
    kw = dict(X=X, y=y)
    newton = criterion_path(PoissonRegressor(tol=1e-8), "alpha", grid, **kw)
    prev = criterion_path(
        PoissonRegressor(tol=1e-8), "alpha", grid, warm_start="previous", **kw
    )
    iters = [sum(e.n_iter_ for e in p.estimators_[1:]) for p in (newton, prev)]
    assert newton.newton_starts == len(grid) - 1 and prev.newton_starts == 0
    assert iters[0] < iters[1]
    assert_allclose(newton.deviance("tic"), prev.deviance("tic"), rtol=RTOL_PATH)


def test_a_step_that_does_not_lower_the_objective_is_refused():
    X, rng = _correlated(300, 4, 0.5, 4)
    y = (rng.uniform(size=300) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    est = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    curv = ts.curvature(est, X, y)
    before = est.coef_.copy(), est.intercept_.copy()
    # a Hessian 1e6 times too small makes the Newton step overshoot far uphill
    curv.hessian = curv.hessian * 1e-6
    est.set_params(C=0.1)
    start = NewtonStart(est, "C")
    assert not start.apply(est, curv, 1.0, 0.1)
    assert start.n_applied == 0
    assert_allclose(est.coef_, before[0], rtol=0)
    assert_allclose(est.intercept_, before[1], rtol=0)


@pytest.mark.parametrize(
    "make, param, y_kind",
    [
        (lambda: LogisticRegression(tol=1e-8), "C", "three"),  # multinomial
        (lambda: LogisticRegression(tol=1e-8), "tol", "binary"),  # not the penalty
        (
            lambda: make_pipeline(StandardScaler(), LogisticRegression(tol=1e-8)),
            "standardscaler__with_mean",
            "binary",
        ),
        (
            lambda: MLPClassifier((3,), solver="lbfgs", max_iter=50, random_state=0),
            "alpha",
            "binary",
        ),
    ],
)
def test_unsupported_cases_fall_back_to_the_previous_solution(make, param, y_kind):
    X, rng = _correlated(200, 4, 0.3, 5)
    y = rng.integers(0, 3 if y_kind == "three" else 2, size=200)
    grid = {"C": [0.1, 1.0], "tol": [1e-8, 1e-9], "alpha": [1.0, 0.1]}.get(
        param, [True, False]
    )
    est = make()
    # the number of classes is known only after the first fit
    assert NewtonStart(est, param).applicable is (y_kind == "three")
    with warnings.catch_warnings():
        # the small MLP stops at max_iter: convergence and stationarity warnings
        warnings.simplefilter("ignore")
        path = criterion_path(est, param, grid, X, y)
    assert path.warm_started and path.newton_starts == 0


def test_liblinear_is_not_newton_started():
    est = LogisticRegression(solver="liblinear")
    assert not NewtonStart(est, "C").applicable


def test_previous_and_false_disable_the_newton_start():
    X, rng = _correlated(200, 4, 0.3, 6)
    y = rng.integers(0, 2, size=200)
    grid = [0.1, 1.0]
    for ws, warm in (("previous", True), (False, False)):
        path = criterion_path(LogisticRegression(), "C", grid, X, y, warm_start=ws)
        assert path.warm_started is warm and path.newton_starts == 0
    with pytest.raises(ValueError, match="warm_start must be True, False"):
        criterion_path(LogisticRegression(), "C", grid, X, y, warm_start="yes")


def _binary(eta, rng):
    return (rng.uniform(size=len(eta)) < 1 / (1 + np.exp(-eta))).astype(int)


SECOND_ORDER_CASES = {
    "logistic": (lambda v: LogisticRegression(C=v, tol=1e-12), "C", 1.0, 0.7, {}),
    "logistic weighted": (
        lambda v: LogisticRegression(C=v, class_weight="balanced", tol=1e-12),
        "C",
        1.0,
        0.7,
        {"sample_weight": True},
    ),
    "logistic no intercept": (
        lambda v: LogisticRegression(C=v, fit_intercept=False, tol=1e-12),
        "C",
        1.0,
        0.7,
        {},
    ),
    "poisson": (lambda v: PoissonRegressor(alpha=v, tol=1e-12), "alpha", 0.1, 0.14, {}),
    "poisson no intercept": (
        lambda v: PoissonRegressor(alpha=v, fit_intercept=False, tol=1e-12),
        "alpha",
        0.1,
        0.14,
        {"sample_weight": True},
    ),
    "gamma (dispersion)": (
        lambda v: GammaRegressor(alpha=v, tol=1e-12),
        "alpha",
        0.1,
        0.14,
        {"sample_weight": True},
    ),
    "pipeline": (
        lambda v: make_pipeline(StandardScaler(), PoissonRegressor(alpha=v, tol=1e-12)),
        "poissonregressor__alpha",
        0.1,
        0.14,
        {},
    ),
}


@pytest.mark.parametrize("case", list(SECOND_ORDER_CASES))
def test_newton_start_error_is_second_order(case):
    # One Newton step from the old optimum: the distance to the new optimum shrinks
    # from O(Δ) to O(Δ²).  For a 30-40% change of strength it falls well below a
    # tenth (measured: 0.001-0.01), for the whole vector and for the intercept alone
    # (shifted columns make the intercept move with the coefficients).
    make, param, old, new, kw = SECOND_ORDER_CASES[case]
    X, rng = _correlated(500, 5, 0.6, 7)
    X = X + [1.0, -0.5, 0.3, 0.0, 2.0]
    eta = 0.5 * X[:, 0] - 0.4 * X[:, 1] + 0.2
    if param == "C":
        y = _binary(eta, rng)
    elif "gamma" in case:
        y = rng.gamma(2.0, np.exp(0.3 * eta) / 2.0)
    else:
        y = rng.poisson(np.exp(0.5 * eta))
    sw = rng.integers(1, 4, size=500).astype(float) if kw else None

    def theta(e):
        last = e[-1] if hasattr(e, "steps") else e
        icpt = np.atleast_1d(last.intercept_) if last.fit_intercept else []
        return np.append(np.ravel(last.coef_), icpt)

    def fit(v):
        est = make(v)
        if sw is None:
            return est.fit(X, y)
        key = f"{est.steps[-1][0]}__sample_weight" if hasattr(est, "steps") else None
        return est.fit(X, y, **{key or "sample_weight": sw})

    est = fit(old)
    target = theta(fit(new))
    previous = theta(est)
    curv = ts.curvature(est, X, y, sw)
    est.set_params(**{param: new})
    assert NewtonStart(est, param).apply(est, curv, old, new)
    start = theta(est)
    ratio = np.linalg.norm(start - target) / np.linalg.norm(previous - target)
    assert ratio < 0.1
    if len(start) > X.shape[1]:
        moved = abs(previous[-1] - target[-1])
        assert moved > 1e-3  # the check below is not vacuous
        assert abs(start[-1] - target[-1]) < 0.1 * moved


def test_multiclass_start_is_left_alone():
    X, rng = _correlated(300, 4, 0.3, 8)
    y = rng.integers(0, 3, size=300)
    # without intercepts every direction is penalised, so only the guard stops it
    est = LogisticRegression(C=1.0, fit_intercept=False, tol=1e-10).fit(X, y)
    curv = ts.curvature(est, X, y)
    before = est.coef_.copy()
    est.set_params(C=0.5)
    assert not NewtonStart(est, "C").apply(est, curv, 1.0, 0.5)
    assert_allclose(est.coef_, before, rtol=0)


def test_warm_start_false_overrides_the_estimators_own_warm_start():
    X, rng = _correlated(300, 4, 0.5, 9)
    y = _binary(X[:, 0], rng)
    grid = [0.01, 0.05, 0.3, 2.0]
    given = criterion_path(
        LogisticRegression(warm_start=True, tol=1e-10),
        "C",
        grid,
        X,
        y,
        warm_start=False,
    )
    cold = [LogisticRegression(C=c, tol=1e-10).fit(X, y).n_iter_[0] for c in grid]
    assert not given.warm_started
    assert [e.n_iter_[0] for e in given.estimators_] == cold
    assert not given.estimators_[-1].warm_start


def test_invalid_grid_value_reaches_the_estimators_own_check():
    # C = 0 cannot be scaled to (1/C); the start is left alone and scikit-learn's
    # parameter validation reports the bad value, not a ZeroDivisionError from us
    X, rng = _correlated(100, 3, 0.0, 10)
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="'C' parameter"):
        criterion_path(LogisticRegression(), "C", [1.0, 0.0], X, y)
