"""The ``high_leverage`` and ``misspecified`` flags of ``ts.criteria`` (issue 23).

``high_leverage`` (TIC's first-order penalty fails): on a degree-4 polynomial OLS on
150 rows, never on a well-specified logistic regression with ``n/k ≥ 50``.  The
largest leverage it reads is checked against the hat matrix computed by hand.
``misspecified``: over-dispersed counts, never a correctly specified Poisson model.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.criteria import LEVERAGE_RATIO, MAX_LEVERAGE, MISSPECIFIED_RATIO
from ticselect.curvature._leverage import max_leverage

SEEDS = range(20)


def _powers(X, degree):
    """``[x, x², ..., x^d]`` of each column (the binary column only once)."""
    binary = np.array([len(np.unique(c)) == 2 for c in X.T])
    return np.hstack([X] + [X[:, ~binary] ** d for d in range(2, degree + 1)])


@pytest.fixture(scope="module")
def poly4():
    X, y = load_diabetes(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))[:150]
    X = StandardScaler().fit_transform(X[idx])
    return _powers(X, 4), y[idx]


def test_degree4_polynomial_ols_is_flagged(poly4):
    X, y = poly4
    crit = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    assert "high_leverage" in crit.flags
    # both parts of the rule see it: 37 slopes, intercept and σ² for 150 rows, and
    # rows whose fourth powers nearly fix their own fit
    assert crit.effective_dim / crit.n_samples > LEVERAGE_RATIO
    curv = ts.curvature(LinearRegression().fit(X, y), X, y, dispersion=1.0)
    Xt = np.column_stack([X, np.ones(len(y))])
    hat = np.einsum("ij,ij->i", Xt @ np.linalg.inv(Xt.T @ Xt), Xt)  # by hand
    # the exact largest leverage is the hat matrix's (Gaussian, σ² fixed: hᵢ·1/σ²)
    assert_allclose(max_leverage(curv, 0.0), hat.max(), rtol=1e-8)
    assert hat.max() > MAX_LEVERAGE
    # and ALO's leverages are the same quantity
    assert_allclose(ts.approximate_loo(curv).leverage.max(), hat.max(), rtol=1e-8)


def test_degree1_on_the_same_rows_is_not_flagged(poly4):
    X, y = poly4
    X1 = X[:, :10]  # the ten features themselves: 13 parameters for 150 rows
    crit = ts.criteria(ts.curvature(LinearRegression().fit(X1, y), X1, y))
    assert "high_leverage" not in crit.flags


def _logistic(seed, n=500, p=9):
    """A well-specified logistic regression: k = p + 1 = 10 parameters, n/k = 50."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = rng.normal(scale=0.5, size=p)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + X @ beta)))).astype(int)
    return X, y


@pytest.mark.parametrize("seed", SEEDS)
def test_well_specified_logistic_is_never_flagged(seed):
    X, y = _logistic(seed)
    est = LogisticRegression(penalty=None, tol=1e-10, max_iter=1000)
    crit = ts.criteria(ts.curvature(est.fit(X, y), X, y))
    assert crit.flags == ()
    assert crit.penalty_ratio < MISSPECIFIED_RATIO


def test_well_specified_logistic_path_keeps_tic():
    """ALO's part of the flag: nothing to contradict on a well-specified model."""
    hits = 0
    for seed in SEEDS:
        X, y = _logistic(seed)
        est = LogisticRegression(tol=1e-10)
        path = ts.criterion_path(est, "C", [0.01, 1, 100], X, y)
        hits += "high_leverage" in path.criteria[path.best_index("tic")].flags
    assert hits == 0


@pytest.mark.parametrize("seed", range(5))
def test_overdispersed_counts_are_flagged_misspecified(seed):
    rng = np.random.default_rng(seed)
    n = 400
    X = rng.normal(size=(n, 3))
    mu = np.exp(0.5 + 0.3 * X[:, 0])
    y_nb = rng.poisson(mu * rng.gamma(0.5, 2.0, size=n))  # variance 3μ² + μ
    y_ok = rng.poisson(mu)
    est = PoissonRegressor(alpha=0, tol=1e-10, solver="newton-cholesky")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = ts.criteria(ts.curvature(est.fit(X, y_nb), X, y_nb))
        good = ts.criteria(ts.curvature(est.fit(X, y_ok), X, y_ok))
    assert "misspecified" in bad.flags and bad.penalty_ratio > MISSPECIFIED_RATIO
    assert "misspecified" not in good.flags
    # misspecified does not question TIC: it is not one of TIC's flags
    from ticselect.curvature._result import TIC_FLAGS

    assert "misspecified" not in TIC_FLAGS


def test_aic_bic_with_effective_degrees_of_freedom():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 5))
    y = X @ [1.0, 0.5, 0.0, 0.0, -1.0] + rng.normal(size=80)
    from sklearn.linear_model import Ridge

    alpha = 3.0
    model = Ridge(alpha=alpha).fit(X, y)
    crit = ts.criteria(ts.curvature(model, X, y, dispersion=1.0))
    # edf of ridge with an unpenalised intercept: tr of the hat matrix of the
    # centred design, plus 1 for the intercept (ESL §3.4), by hand
    Xc = X - X.mean(axis=0)
    df = np.trace(Xc @ np.linalg.solve(Xc.T @ Xc + alpha * np.eye(5), Xc.T)) + 1.0
    assert_allclose(crit.effective_dim, df, rtol=1e-8)
    assert_allclose(crit.aic_edf, -2 * crit.loglik + 2 * df, rtol=1e-10)
    assert_allclose(crit.bic_edf, -2 * crit.loglik + np.log(80) * df, rtol=1e-10)
    # without a penalty they are AIC and BIC
    plain = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    assert_allclose([plain.aic_edf, plain.bic_edf], [plain.aic, plain.bic], rtol=1e-9)


def test_max_leverage_is_alos_leverage_with_gauge_weights_and_dispersion():
    """The bound-and-solve route equals ALO's per-row leverage (its own Woodbury
    route) for a multinomial fit (softmax gauge), weighted Poisson rows and a Gamma
    fit with its dispersion; rtol 1e-8: two Cholesky routes on the same H_λ."""
    from sklearn.datasets import load_wine
    from sklearn.linear_model import GammaRegressor

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.default_rng(0)
    w = rng.integers(1, 4, size=len(y)).astype(float)
    mu = np.exp(0.3 * X[:, 0])
    fits = [
        (LogisticRegression(C=10.0, tol=1e-10, max_iter=5000), y, None),
        (PoissonRegressor(alpha=1e-3, tol=1e-10), rng.poisson(mu), w),
        (GammaRegressor(alpha=1e-3, tol=1e-10), rng.gamma(2.0, mu / 2.0), None),
    ]
    for est, target, weight in fits:
        est.fit(X, target, sample_weight=weight)
        curv = ts.curvature(est, X, target, sample_weight=weight)
        alo = ts.approximate_loo(curv, refine=False).leverage.max()
        assert_allclose(max_leverage(curv, 0.0), alo, rtol=1e-8)
        # above the floor the value is exact; below it at most the floor
        assert max_leverage(curv, 2.0) <= 2.0
