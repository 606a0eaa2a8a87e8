"""L1 and elastic-net fits in the selection tools: tables, paths, searches."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.scoring import check_scoring, criteria_scoring


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def test_inference_table_covers_the_active_set_with_a_note(diabetes):
    X, y = diabetes
    model = make_pipeline(StandardScaler(), Lasso(alpha=2.0, tol=1e-12)).fit(X, y)
    res = ts.inference(model, X, y, cov_type="HC1")
    lasso = model[-1]
    active = [f"x{j}" for j in np.flatnonzero(lasso.coef_)]
    assert res.param_names == active + ["intercept", "dispersion"]
    np.testing.assert_allclose(res.params[: len(active)], lasso.coef_[lasso.coef_ != 0])
    assert res.penalised
    note = [line for line in res.footer() if line.startswith("L1 fit")]
    assert len(note) == 1 and "not valid post-selection inference" in note[0]
    inactive = [f"x{j}" for j in np.flatnonzero(lasso.coef_ == 0)]
    assert all(name in note[0] for name in inactive)


def test_criterion_path_along_alpha_and_c(diabetes):
    X, y = diabetes
    X = (X - X.mean(0)) / X.std(0)
    alphas = [20.0, 2.0, 0.2]
    path = ts.criterion_path(Lasso(tol=1e-12, max_iter=100000), "alpha", alphas, X, y)
    cold = [
        ts.criteria(
            ts.curvature(Lasso(alpha=a, tol=1e-12, max_iter=100000).fit(X, y), X, y)
        )
        for a in alphas
    ]
    np.testing.assert_allclose(
        [c.aic for c in path.criteria], [c.aic for c in cold], rtol=1e-8
    )
    ks = [c.n_params for c in path.criteria]
    assert ks == sorted(ks) and ks[0] < ks[-1]  # the active set grows along the path
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xb = (Xb[:200] - Xb[:200].mean(0)) / Xb[:200].std(0)
    est = LogisticRegression(l1_ratio=1.0, solver="saga", tol=1e-8, max_iter=100000)
    path = ts.criterion_path(est, "C", [0.05, 0.5], Xb, yb[:200])
    assert path.warm_started  # saga's own warm start; no Newton start for L1
    assert all(c.stationarity < 1e-3 for c in path.criteria)
    assert path.loo[0].loo > 0


def test_grid_search_over_l1_ratio_by_alo(diabetes):
    X, y = diabetes
    X = (X - X.mean(0)) / X.std(0)
    grid = [0.1, 0.5, 1.0]
    search = GridSearchCV(
        ElasticNet(alpha=0.5, tol=1e-12, max_iter=100000),
        {"l1_ratio": grid},
        cv=ts.InSample(),
        scoring=criteria_scoring("neg_alo", "neg_tic"),
        refit="neg_alo",
    ).fit(X, y)
    alo = [
        -ts.approximate_loo(
            ts.curvature(
                ElasticNet(alpha=0.5, l1_ratio=r, tol=1e-12, max_iter=100000).fit(X, y),
                X,
                y,
            )
        ).loo
        / (2 * len(y))
        for r in grid
    ]
    np.testing.assert_allclose(search.cv_results_["mean_test_neg_alo"], alo, rtol=1e-10)
    assert check_scoring(Lasso(), "neg_alo") is not None
