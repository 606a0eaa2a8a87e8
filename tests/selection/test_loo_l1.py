"""ALO of L1 and elastic-net fits against exact leave-one-out refits (real data).

Exact leave-one-out refits use scikit-learn itself.  The penalty is held fixed in
loss units (ticselect's convention, :mod:`ticselect.selection._loo_l1`), so
``ElasticNet``, whose loss is averaged over the rows, is refitted on ``n − 1`` rows
with ``alpha · n/(n − 1)``; ``LogisticRegression``'s ``C`` is already per row sum.
"""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import ElasticNet, LogisticRegression

import ticselect as ts
from ticselect.selection._loo_l1 import active_set_changes


def _std(X):
    return (X - X.mean(0)) / X.std(0)


def _exact_gaussian(est, X, y):
    n = len(y)
    values, active = [], []
    for i in range(n):
        keep = np.arange(n) != i
        fit = clone(est).set_params(alpha=est.alpha * n / (n - 1)).fit(X[keep], y[keep])
        resid = y[keep] - fit.predict(X[keep])
        sd = np.sqrt(np.mean(resid**2))  # the ML variance of the left-out fit
        values.append(-stats.norm.logpdf(y[i], fit.predict(X[i : i + 1])[0], sd))
        active.append(tuple(np.flatnonzero(fit.coef_)))
    return np.array(values), active


def _exact_logistic(est, X, y):
    values, active = [], []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        fit = clone(est).fit(X[keep], y[keep])
        eta = fit.decision_function(X[i : i + 1])[0]
        values.append(np.logaddexp(0.0, eta) - y[i] * eta)
        active.append(tuple(np.flatnonzero(fit.coef_[0])))
    return np.array(values), active


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return _std(X), y


def _star98():
    d = sm.datasets.star98.load_pandas().data
    y = 100 * d.NABOVE / (d.NABOVE + d.NBELOW)  # percentage above the median
    return _std(d.iloc[:, 2:].to_numpy(float)), y.to_numpy()


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return _std(X[:150, :10]), y[:150]


def _anes96():
    d = sm.datasets.anes96.load_pandas().data.iloc[:200]
    cols = [
        "popul",
        "TVnews",
        "selfLR",
        "ClinLR",
        "DoleLR",
        "PID",
        "age",
        "educ",
        "income",
    ]
    return _std(d[cols].to_numpy(float)), d.vote.to_numpy()


CASES = {
    "enet-diabetes": (_diabetes, ElasticNet(alpha=0.1, l1_ratio=0.5), _exact_gaussian),
    "enet-star98": (_star98, ElasticNet(alpha=0.05, l1_ratio=0.5), _exact_gaussian),
    "l1logit-cancer": (
        _cancer,
        LogisticRegression(C=1.0, l1_ratio=1.0, solver="liblinear"),
        _exact_logistic,
    ),
    "l1logit-anes96": (
        _anes96,
        LogisticRegression(C=0.3, l1_ratio=1.0, solver="liblinear"),
        _exact_logistic,
    ),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", list(CASES))
def test_alo_of_l1_fits_matches_exact_loo(case):
    load, est, exact = CASES[case]
    X, y = load()
    params = {"tol": 1e-12, "max_iter": 100000}
    if isinstance(est, LogisticRegression):
        params["tol"] = 1e-10
    est = clone(est).set_params(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = clone(est).fit(X, y)
        curv = ts.curvature(model, X, y)
        pointwise, active = exact(est, X, y)
    assert 0 < curv.active_set.n_active - 1 < X.shape[1] or case == "enet-diabetes"
    alo, crit = ts.approximate_loo(curv), ts.criteria(curv)
    truth = pointwise.sum()
    # the acceptance: within 3 %, and closer than TIC (both on the NLL scale)
    assert abs(alo.loo_nll - truth) < 0.03 * truth
    assert abs(alo.loo_nll - truth) < abs(crit.tic / 2 - truth)
    # measured: 4.2e-5, 1.3e-5, 3.5e-4, 7.1e-5 relative (TIC/2: 1.1e-4, 3.5e-3,
    # 1.0e-1, 1.2e-2)
    assert abs(alo.loo_nll - truth) < 2e-3 * truth
    # refined rows are exact: the L1 refit reaches scikit-learn's leave-one-out fit
    assert alo.n_refined > 0
    np.testing.assert_allclose(
        alo.pointwise[alo.refined], pointwise[alo.refined], rtol=1e-5, atol=1e-6
    )
    # every row whose exact leave-one-out fit changes the active set is flagged
    full = tuple(np.flatnonzero(np.ravel(model.coef_)))
    changed = np.array([a != full for a in active])
    assert changed.any()
    assert not np.any(changed & ~active_set_changes(curv))


def test_refinement_off_keeps_the_active_set_one_step():
    X, y = _cancer()
    model = LogisticRegression(
        C=1.0, l1_ratio=1.0, solver="liblinear", tol=1e-10, max_iter=100000
    ).fit(X, y)
    curv = ts.curvature(model, X, y)
    one_step = ts.approximate_loo(curv, refine=False)
    refined = ts.approximate_loo(curv)
    assert one_step.n_refined == 0 and refined.n_refined > 0
    same = ~refined.refined
    np.testing.assert_array_equal(one_step.pointwise[same], refined.pointwise[same])
    # the one-step values of rows that change the active set are the poor ones
    assert np.abs(one_step.pointwise - refined.pointwise)[refined.refined].max() > 0.05


def test_leave_group_out_of_an_l1_fit_refits_the_groups():
    """L1 fits: every group is a refinement candidate (highest leverage first)."""
    X, y = _cancer()
    groups = np.arange(len(y)) // 10
    est = LogisticRegression(
        C=1.0, l1_ratio=1.0, solver="liblinear", tol=1e-10, max_iter=100000
    )
    curv = ts.curvature(clone(est).fit(X, y), X, y)
    res = ts.approximate_loo(curv, groups=groups, max_refine=5)
    refined = np.unique(groups[res.refined])
    assert refined.size == 5
    top = np.argsort(-res.group_leverage)[:5]
    assert set(refined) == set(top)


def test_leave_group_out_of_an_l1_fit_is_refitted_exactly():
    X, y = _cancer()
    groups = np.arange(len(y)) // 10
    est = LogisticRegression(
        C=1.0, l1_ratio=1.0, solver="liblinear", tol=1e-10, max_iter=100000
    )
    curv = ts.curvature(clone(est).fit(X, y), X, y)
    res = ts.approximate_loo(curv, groups=groups, refine_tol=1e-9, max_refine=1000)
    assert res.refined.all()
    for g in (0, 7, 14):
        rows = groups == g
        fit = clone(est).fit(X[~rows], y[~rows])
        eta = fit.decision_function(X[rows])
        exact = np.sum(np.logaddexp(0.0, eta) - y[rows] * eta)
        np.testing.assert_allclose(res.group_pointwise[g], exact, rtol=1e-6)


@pytest.mark.parametrize("dispersion", [None, 1.0])
def test_empty_active_set_without_intercept_is_exact_loo(dispersion):
    # A Lasso without intercept whose penalty zeroes every coefficient predicts 0:
    # only σ² is fitted (or nothing, at a fixed dispersion).  Leaving row i out
    # refits σ²₋ᵢ = Σ_{j≠i} yⱼ² / (n − 1) (closed form, the oracle); the Gaussian
    # route used to hand LAPACK an empty system (an f2py shape error, a division by 0).
    from sklearn.linear_model import Lasso

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = X @ [1.0, -1.0, 0.5, 0.0] + rng.standard_normal(60)
    fit = Lasso(alpha=100.0, fit_intercept=False).fit(X, y)
    assert not np.any(fit.coef_)
    curv = ts.curvature(fit, X, y, dispersion=dispersion)
    s2 = (np.sum(y**2) - y**2) / (len(y) - 1) if dispersion is None else np.ones(60)
    exact = np.sum(np.log(2 * np.pi * s2) + y**2 / s2)  # deviance scale
    np.testing.assert_allclose(ts.approximate_loo(curv).loo, exact, rtol=1e-12)


def test_duplicated_active_columns_refit_without_scipy_warnings():
    # Both copies of a duplicated column active: the sign-pattern system of the
    # exact refit is singular.  scipy's LinAlgWarning ("ill-conditioned matrix")
    # leaked to the user next to ticselect's own SingularHessianWarning; now the
    # refit sweeps on, and the refitted rows stay exact leave-one-out (oracle:
    # scikit-learn refits; the duplicated column does not change the predictions).
    from scipy.linalg import LinAlgWarning
    from sklearn.linear_model import Lasso

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    rng.standard_normal(60)
    y = X @ [1.0, -1.0, 0.5, 0.0] + rng.standard_normal(60)
    Xd = np.c_[X, X[:, 0]]
    fit = Lasso(alpha=0.01).fit(Xd, y)
    assert np.all(fit.coef_[[0, 4]] != 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curv = ts.curvature(fit, Xd, y, dispersion=1.0)
        res = ts.approximate_loo(curv)
    assert not [w for w in caught if issubclass(w.category, LinAlgWarning)]
    rows = np.flatnonzero(res.refined)
    assert rows.size
    for i in rows:
        keep = np.arange(60) != i
        refit = Lasso(alpha=0.01 * 60 / 59, tol=1e-14, max_iter=100_000)
        e = y[i] - refit.fit(Xd[keep], y[keep]).predict(Xd[i : i + 1])[0]
        exact = 0.5 * np.log(2 * np.pi) + e**2 / 2
        np.testing.assert_allclose(res.pointwise[i], exact, rtol=1e-6)
