"""criterion_path: warm starts, picks against a plain loop, and the plot."""

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.scoring import InSample, get_scorer
from ticselect.selection._path import criterion_path

# Cold and warm lbfgs fits with tol=1e-10 reach the same optimum to ~1e-8 relative.
RTOL_WARM = 1e-6
C_GRID = [0.001, 0.01, 0.1, 1.0, 10.0]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(500, 12))
    eta = X[:, :3] @ [0.8, -0.5, 0.3] - 0.2
    y = (rng.uniform(size=500) < -np.expm1(-np.exp(eta))).astype(int)  # cloglog
    return X, y


def _loop(X, y, grid):
    return [
        ts.criteria(ts.curvature(LogisticRegression(C=C, tol=1e-10).fit(X, y), X, y))
        for C in grid
    ]


@pytest.mark.parametrize("warm", [True, False])
def test_path_equals_plain_loop_and_picks_argmin(warm, data):
    X, y = data
    path = criterion_path(
        LogisticRegression(tol=1e-10), "C", C_GRID, X, y, warm_start=warm
    )
    assert path.warm_started is warm
    loop = _loop(X, y, C_GRID)
    for c in ("aic", "aicc", "bic", "tic"):
        ref = np.array([getattr(k, c) for k in loop])
        assert_allclose(path.deviance(c), ref, rtol=RTOL_WARM)
        assert path.best_value(c) == C_GRID[int(np.argmin(ref))]
        assert_allclose(path.per_sample(c), ref / (2 * len(y)), rtol=RTOL_WARM)
    # the kept estimators are independent copies, one per value
    assert [e.C for e in path.estimators_] == C_GRID
    best = path.best_estimator("tic")
    assert best.C == path.best_value("tic")


def test_warm_start_changes_nothing_but_the_start(data):
    X, y = data
    grid = list(np.logspace(-3, 1, 8))
    warm = criterion_path(LogisticRegression(tol=1e-10), "C", grid, X, y)
    cold = criterion_path(
        LogisticRegression(tol=1e-10), "C", grid, X, y, warm_start=False
    )
    for c in ("aic", "bic", "tic"):
        assert warm.best_value(c) == cold.best_value(c)
        assert_allclose(warm.deviance(c), cold.deviance(c), rtol=RTOL_WARM)
    for a, b in zip(warm.estimators_, cold.estimators_, strict=True):
        # coefficients of a strictly convex problem: unique optimum, ~1e-6 at tol 1e-10
        assert_allclose(a.coef_, b.coef_, rtol=1e-4, atol=1e-6)


def test_path_matches_insample_grid_search_pipeline(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-10))
    path = criterion_path(pipe, "logisticregression__C", C_GRID, X, y)
    assert path.warm_started
    search = GridSearchCV(
        pipe,
        {"logisticregression__C": C_GRID},
        cv=InSample(),
        scoring=get_scorer("neg_tic"),
    ).fit(X, y)
    assert_allclose(
        search.cv_results_["mean_test_score"], -path.per_sample("tic"), rtol=RTOL_WARM
    )
    assert search.best_params_["logisticregression__C"] == path.best_value("tic")


def test_path_wrapper_poisson_and_weights():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4))
    y = rng.poisson(np.exp(0.2 + 0.5 * X[:, 0]))
    w = rng.integers(1, 3, size=300).astype(float)
    alphas = [1.0, 0.1, 0.01]
    wrapped = ts.InformationCriteria(PoissonRegressor(tol=1e-10))
    path = criterion_path(wrapped, "estimator__alpha", alphas, X, y, sample_weight=w)
    ref = [
        ts.criteria(
            ts.curvature(
                PoissonRegressor(alpha=a, tol=1e-10).fit(X, y, sample_weight=w), X, y, w
            )
        ).tic
        for a in alphas
    ]
    assert_allclose(path.deviance("tic"), ref, rtol=RTOL_WARM)
    assert path.param_name == "alpha"


def test_estimator_without_warm_start(data):
    X, _ = data
    y = X[:, 0] + np.random.default_rng(0).normal(size=len(X))
    path = criterion_path(Ridge(), "alpha", [0.1, 10.0], X, y, keep_estimators=False)
    assert not path.warm_started
    with pytest.raises(ValueError, match="keep_estimators=True"):
        path.best_estimator()
    frame = path.to_frame()
    assert list(frame["alpha"]) == [0.1, 10.0]
    d = path.to_dict()
    # independent loop: the pick is the argmin of the TIC of each separate fit
    # (Ridge is solved in closed form, so the two agree to rounding)
    ref = [
        ts.criteria(ts.curvature(Ridge(alpha=a).fit(X, y), X, y)).tic
        for a in (0.1, 10.0)
    ]
    assert_allclose(d["tic"], ref, rtol=1e-10)
    assert_allclose(list(frame["tic"]), ref, rtol=1e-10)
    assert d["picks"]["tic"] == [0.1, 10.0][int(np.argmin(ref))]


def test_path_misuse(data):
    X, y = data
    with pytest.raises(ValueError, match="Valid parameters:.*'C'"):
        criterion_path(LogisticRegression(), "c", [1.0], X, y)
    with pytest.raises(ValueError, match="at least one"):
        criterion_path(LogisticRegression(), "C", [], X, y)
    path = criterion_path(LogisticRegression(), "C", [1.0], X, y)
    with pytest.raises(ValueError, match="criterion must be one of"):
        path.best_index("dic")
    with pytest.raises(TypeError, match="scikit-learn estimator"):
        criterion_path(object(), "C", [1.0], X, y)


def test_plot_marks_picks(data):
    # matplotlib is a test dependency (pyproject [test]): import, never skip
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    X, y = data
    path = criterion_path(LogisticRegression(tol=1e-10), "C", C_GRID, X, y)
    search = GridSearchCV(
        LogisticRegression(tol=1e-10), {"C": C_GRID}, cv=3, scoring="neg_log_loss"
    ).fit(X, y)
    ax = path.plot(criteria=("tic", "bic"), cv_scores=search)
    lines = ax.get_lines()
    # one curve + one marker per criterion, and for CV, and the recommended value
    assert len(lines) == 7
    assert [ln.get_gid() for ln in lines].count("recommended") == 1
    tic_marker = lines[1]
    i = path.best_index("tic")
    assert_allclose(tic_marker.get_xdata(), [C_GRID[i]])
    assert_allclose(tic_marker.get_ydata(), [path.per_sample("tic")[i]])
    cv_marker = lines[6]  # after the two curves, their markers and the recommended
    j = int(np.argmax(search.cv_results_["mean_test_score"]))
    assert_allclose(cv_marker.get_ydata(), [-search.cv_results_["mean_test_score"][j]])
    assert ax.get_xscale() == "log"
    ax2 = path.plot(cv_scores=search.cv_results_["mean_test_score"])
    assert len(ax2.get_lines()) == 11  # TIC, ALO, AIC, BIC, CV and the recommended
    with pytest.raises(ValueError, match="one entry per value"):
        path.plot(cv_scores=[1.0, 2.0])
    plt.close("all")


def test_plot_without_matplotlib_names_extra(data, monkeypatch):
    X, y = data
    path = criterion_path(LogisticRegression(), "C", [1.0], X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'ticselect\[plot\]'"):
        path.plot()
