"""Approximate leave-group-out: exact refits, invariances and the grouped scorer."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.model_selection import GridSearchCV

import ticselect as ts
from ticselect.curvature._linalg import complement_basis, restrict
from ticselect.selection._loo import _inverse_factor
from ticselect.selection._loo_groups import leave_groups_out


def _fair():
    d = sm.datasets.fair.load_pandas().data
    cols = ["rate_marriage", "age", "yrs_married", "children", "religious", "educ"]
    X = d[cols].to_numpy(float)
    return (X - X.mean(0)) / X.std(0), d, d.occupation.to_numpy()


def _grunfeld():
    d = sm.datasets.grunfeld.load_pandas().data
    X = np.log(d[["value", "capital"]].to_numpy(float))
    return (X - X.mean(0)) / X.std(0), d, d.firm.to_numpy()


def _logistic_nll(fit, X, y):
    eta = fit.decision_function(X)
    return np.sum(np.logaddexp(0.0, eta) - y * eta)


def _poisson_nll(fit, X, y):
    mu = fit.predict(X)
    return np.sum(mu - special.xlogy(y, mu) + special.gammaln(y + 1.0))


def _exact_lgo(est, X, y, groups, nll):
    """Leave-group-out by refitting, the penalty held fixed in loss units."""
    out = {}
    n = len(y)
    for g in np.unique(groups):
        keep = groups != g
        fit = clone(est)
        if isinstance(est, PoissonRegressor):  # mean deviance: rescale alpha
            fit.set_params(alpha=est.alpha * n / keep.sum())
        out[g] = nll(fit.fit(X[keep], y[keep]), X[~keep], y[~keep])
    return out


CASES = {
    "fair-logistic": (
        _fair,
        lambda d: (d.affairs > 0).astype(float).to_numpy(),
        LogisticRegression(C=1.0, tol=1e-12, max_iter=10000),
        _logistic_nll,
    ),
    "fair-poisson": (
        _fair,
        lambda d: np.round(d.affairs).to_numpy(),
        PoissonRegressor(alpha=1e-3, tol=1e-12, max_iter=10000),
        _poisson_nll,
    ),
    "grunfeld-logistic": (
        _grunfeld,
        lambda d: (d.invest > d.invest.median()).astype(float).to_numpy(),
        LogisticRegression(C=1.0, tol=1e-12, max_iter=10000),
        _logistic_nll,
    ),
    "grunfeld-poisson": (
        _grunfeld,
        lambda d: np.round(d.invest).to_numpy(),
        PoissonRegressor(alpha=1e-3, tol=1e-12, max_iter=10000),
        _poisson_nll,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_leave_group_out_matches_exact_refits(case):
    """Within 3 % of exact leave-group-out on real grouped data (the acceptance)."""
    load, target, est, nll = CASES[case]
    X, data, groups = load()
    y = target(data)
    curv = ts.curvature(clone(est).fit(X, y), X, y)
    res = ts.approximate_loo(curv, groups=groups)
    exact = _exact_lgo(est, X, y, groups, nll)
    truth = sum(exact.values())
    labels = np.unique(groups)
    assert res.n_groups == labels.size and res.groups.shape == y.shape
    assert abs(res.loo_nll - truth) < 0.03 * truth
    # measured: 1.0e-5 and 1.2e-5 (fair), 8.8e-3 and 1.9e-3 (grunfeld) relative
    assert abs(res.loo_nll - truth) < 1e-2 * truth
    # refined groups are exact
    for code, label in enumerate(labels):
        if res.refined[groups == label].all():
            np.testing.assert_allclose(
                res.group_pointwise[code], exact[label], rtol=1e-7
            )
    # per-row values add up to the groups' and to the total
    np.testing.assert_allclose(
        np.bincount(res.groups, weights=res.pointwise), res.group_pointwise
    )
    assert res.loo_nll == pytest.approx(res.group_pointwise.sum())
    # leaving out whole groups costs more than leaving out single rows
    assert res.loo_nll > ts.approximate_loo(curv).loo_nll


def test_one_row_per_group_equals_ungrouped():
    X, data, _ = _grunfeld()
    y = np.round(data.invest).to_numpy()
    curv = ts.curvature(PoissonRegressor(alpha=1e-3, tol=1e-12).fit(X, y), X, y)
    rows = ts.approximate_loo(curv)
    labels = np.arange(len(y))[::-1]  # any labels, one per row
    grouped = ts.approximate_loo(curv, groups=labels)
    np.testing.assert_array_equal(grouped.pointwise, rows.pointwise)
    assert grouped.loo == rows.loo and grouped.loo_se == rows.loo_se
    np.testing.assert_array_equal(grouped.group_pointwise[labels], rows.pointwise)
    # the block-Woodbury path itself, forced on singletons, agrees to rounding
    Q = complement_basis(None, curv.n_params)
    factor, sign = _inverse_factor(restrict(curv.penalized_hessian, Q), 1e-10)
    fields = leave_groups_out(
        curv,
        curv.rows,
        np.arange(len(y)),
        len(y),
        factor,
        sign,
        Q,
        method="newton",
        leverage_tol=0.7,
        refine=False,
        max_refine=0,
        refine_tol=0.5,
    )
    one_step = ts.approximate_loo(curv, refine=False)
    np.testing.assert_allclose(fields["pointwise"], one_step.pointwise, rtol=1e-10)
    np.testing.assert_allclose(fields["leverage"], one_step.leverage, rtol=1e-10)


@pytest.mark.parametrize("size", [3, 40])
def test_quadratic_loss_one_step_is_exact(size):
    """Gaussian/identity with a fixed dispersion: one Newton step is the refit.

    ``size=3`` takes the row-space (Woodbury) form, ``size=40`` the parameter-space
    form of :mod:`ticselect.selection._loo_groups`.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = X @ [1.0, -1.0, 0.5, 0.0] + rng.normal(size=120)
    groups = np.arange(120) // size
    est = Ridge(alpha=3.0)
    curv = ts.curvature(clone(est).fit(X, y), X, y, dispersion=1.0)
    res = ts.approximate_loo(curv, groups=groups, refine=False)
    for g in np.unique(groups):
        keep = groups != g
        fit = clone(est).fit(X[keep], y[keep])
        r = y[~keep] - fit.predict(X[~keep])
        exact = np.sum(0.5 * np.log(2 * np.pi) + 0.5 * r**2)
        np.testing.assert_allclose(res.group_pointwise[g], exact, rtol=1e-10)


def test_weight_two_equals_two_copies_in_one_group():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + rng.logistic(size=80) > 0).astype(float)
    groups = np.arange(80) // 5
    w = np.where(np.arange(80) % 4 == 0, 2.0, 1.0)
    rep = w.astype(int)
    Xd, yd, gd = (np.repeat(a, rep, axis=0) for a in (X, y, groups))
    est = LogisticRegression(C=0.5, tol=1e-13, max_iter=10000)
    a = ts.approximate_loo(
        ts.curvature(clone(est).fit(X, y, sample_weight=w), X, y, w), groups=groups
    )
    b = ts.approximate_loo(ts.curvature(clone(est).fit(Xd, yd), Xd, yd), groups=gd)
    np.testing.assert_allclose(a.group_pointwise, b.group_pointwise, rtol=1e-7)
    np.testing.assert_allclose(a.loo_se, b.loo_se, rtol=1e-7)


def test_permuting_rows_permutes_nothing_per_group():
    X, data, groups = _grunfeld()
    y = (data.invest > data.invest.median()).astype(float).to_numpy()
    perm = np.random.default_rng(2).permutation(len(y))
    est = LogisticRegression(C=1.0, tol=1e-13, max_iter=10000)
    a = ts.approximate_loo(ts.curvature(clone(est).fit(X, y), X, y), groups=groups)
    Xp, yp, gp = X[perm], y[perm], groups[perm]
    b = ts.approximate_loo(ts.curvature(clone(est).fit(Xp, yp), Xp, yp), groups=gp)
    np.testing.assert_allclose(a.group_pointwise, b.group_pointwise, rtol=1e-7)
    np.testing.assert_allclose(a.pointwise[perm], b.pointwise, rtol=1e-7)


def test_standard_error_is_over_groups():
    X, data, groups = _fair()
    y = (data.affairs > 0).astype(float).to_numpy()
    curv = ts.curvature(LogisticRegression(tol=1e-12).fit(X, y), X, y)
    res = ts.approximate_loo(curv, groups=groups)
    G = res.n_groups
    expected = 2 * np.sqrt(G * np.var(res.group_pointwise, ddof=1))
    assert res.loo_se == pytest.approx(expected, rel=1e-12)
    assert res.group_leverage.shape == (G,) and np.all(res.group_leverage < 1)


def test_grouped_scorer_in_a_search():
    X, data, groups = _fair()
    y = (data.affairs > 0).astype(int).to_numpy()
    search = GridSearchCV(
        LogisticRegression(tol=1e-10, max_iter=10000),
        {"C": [0.001, 0.1, 10.0]},
        cv=ts.InSample(),
        scoring=ts.get_scorer("neg_alo", groups=groups),
    ).fit(X, y)
    scores = [
        -ts.approximate_loo(
            ts.curvature(
                LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y), X, y
            ),
            groups=groups,
        ).loo
        / (2 * len(y))
        for C in (0.001, 0.1, 10.0)
    ]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], scores, rtol=1e-8)


def test_bad_groups_raise():
    X, data, _ = _grunfeld()
    y = np.round(data.invest).to_numpy()
    curv = ts.curvature(PoissonRegressor(alpha=1e-3).fit(X, y), X, y)
    with pytest.raises(ValueError, match="one label per row"):
        ts.approximate_loo(curv, groups=np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        ts.approximate_loo(curv, groups=np.full(len(y), np.nan))
    # one group: leaving it out leaves nothing to fit (the result was loo_se = nan)
    with pytest.raises(ValueError, match="single label.*at least two groups"):
        ts.approximate_loo(curv, groups=np.zeros(len(y)))
