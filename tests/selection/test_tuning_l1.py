"""CriterionSearch along the strength of an L1 or elastic-net penalty (values only)."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression

import ticselect as ts
from ticselect.selection._tuning_eval import l1_box


def _sparse_gaussian(seed=0, n=80, p=10):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    return X, X[:, :3] @ [1.5, -1.0, 0.5] + rng.normal(size=n)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.mark.parametrize(
    "est",
    [
        Lasso(tol=1e-10, max_iter=100_000),
        ElasticNet(l1_ratio=0.5, tol=1e-10, max_iter=100_000),
    ],  # fmt: skip
)
def test_l1_search_lands_on_the_grid_argmin_of_alo(est):
    X, y = _sparse_gaussian()
    search = _quiet(ts.CriterionSearch(est, "alpha").fit, X, y)
    lo, hi = search.bounds_
    # λ_max: at the upper bound every weight is 0, just below it one is not
    assert np.all(est.__class__(**est.get_params()).set_params(
        alpha=hi * 1.001).fit(X, y).coef_ == 0)  # fmt: skip
    assert np.any(est.__class__(**est.get_params()).set_params(
        alpha=hi * 0.95).fit(X, y).coef_ != 0)  # fmt: skip
    assert np.isclose(lo, hi * 1e-4)
    grid = np.geomspace(lo, hi, 60)
    values = _quiet(ts.criterion_path, est, "alpha", grid, X, y).deviance("alo")
    i = int(np.argmin(values))
    spacing = np.log(grid[1] / grid[0])
    best = search.best_params_["alpha"]
    assert abs(np.log(best / grid[i])) <= spacing
    assert search.path_["criterion"][search.best_index_] <= values[i] + 1e-6
    # values only: the slope column is empty, and no evidence for an L1 prior
    assert np.all(np.isnan(search.path_["gradient"]))


def test_l1_logistic_box_is_l1_min_c():
    from sklearn.svm import l1_min_c

    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    est = LogisticRegression(l1_ratio=1.0, solver="saga")
    lo, hi = l1_box(est, X, y, None)
    assert np.isclose(lo, l1_min_c(X, y, loss="log"))
    assert np.isclose(hi, lo * 1e4)
    half = LogisticRegression(l1_ratio=0.5, solver="saga")
    assert np.isclose(l1_box(half, X, y, None)[0], 2 * lo)
    assert l1_box(LogisticRegression(), X, y, None) is None  # L2: no λ_max


def test_l1_errors_are_one_line():
    X, y = _sparse_gaussian()
    with pytest.raises(ValueError, match="evidence is undefined for the L1") as info:
        ts.CriterionSearch(Lasso(), "alpha", criterion="evidence").fit(X, y)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="groups= needs an L2 penalty") as info:
        ts.CriterionSearch(Lasso(), "alpha", groups=[0] * 5 + [1] * 5).fit(X, y)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="not the penalty strength of ElasticNet"):
        ts.CriterionSearch(ElasticNet(), "l1_ratio").fit(X, y)
