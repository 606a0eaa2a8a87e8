"""Newton-predicted warm starts along a penalty path (ticselect._path_start)."""

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
from ticselect._path import criterion_path
from ticselect._path_start import NewtonStart

# lbfgs at tol=1e-10 reaches the unique optimum of these strictly convex problems to
# ~1e-8 relative from any start, so paths from different starts agree to 1e-6.
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
    # alpha = 0 has no positive strength to scale from: that start is the previous one
    assert newton.newton_starts == sum(1 for v in grid[1:] if v > 0)
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


@pytest.mark.parametrize(
    "make, param, old, new",
    [
        (lambda v: LogisticRegression(C=v, tol=1e-12), "C", 1.0, 0.7),
        (lambda v: PoissonRegressor(alpha=v, tol=1e-12), "alpha", 0.1, 0.14),
    ],
)
def test_newton_start_error_is_second_order(make, param, old, new):
    # one Newton step from the old optimum: the distance to the new optimum shrinks
    # from O(Δ) to O(Δ²); for a 30-40% change of strength, well below a tenth
    X, rng = _correlated(500, 5, 0.6, 7)
    eta = 0.5 * X[:, 0] - 0.4 * X[:, 1]
    y = (
        (rng.uniform(size=500) < 1 / (1 + np.exp(-eta))).astype(int)
        if param == "C"
        else rng.poisson(np.exp(eta))
    )

    def theta(e):
        return np.append(np.ravel(e.coef_), e.intercept_)

    est = make(old).fit(X, y)
    target = theta(make(new).fit(X, y))
    previous = theta(est)
    curv = ts.curvature(est, X, y)
    est.set_params(**{param: new})
    assert NewtonStart(est, param).apply(est, curv, old, new)
    ratio = np.linalg.norm(theta(est) - target) / np.linalg.norm(previous - target)
    assert ratio < 0.1
