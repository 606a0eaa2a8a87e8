"""ALO of the models it used to refuse or get wrong (issue 24 items 2-5, 10).

statsmodels' likelihood models (negative binomial) and OLS/WLS against exact
leave-one-out refits; binomial GLMs with a (successes, failures) target; rows whose
leave-one-out fit does not exist (a class or zero cell emptied, a coefficient left
without data); the messages for curvatures without rows.
"""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)

import ticselect as ts


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


# ----------------------------------------------------------- item 2: NB, OLS, WLS
def test_negative_binomial_alo_against_refits():
    # 150 RAND HIE rows: exact LOO by statsmodels' own Newton refits from θ̂
    d = sm.datasets.randhie.load()
    rng = np.random.default_rng(1)
    idx = rng.choice(len(d.endog), 150, replace=False)
    y = np.asarray(d.endog, float)[idx]
    X = sm.add_constant(np.asarray(d.exog, float))[idx]
    res = _quiet(sm.NegativeBinomial(y, X).fit, disp=0, method="newton", maxiter=200)
    curv = ts.curvature(res)
    alo = ts.approximate_loo(curv)
    exact = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        refit = _quiet(sm.NegativeBinomial(y[keep], X[keep]).fit, disp=0,
                       method="newton", start_params=res.params)  # fmt: skip
        exact[i] = -res.model.loglikeobs(refit.params)[i]
    tic = ts.criteria(curv).tic / 2
    # the acceptance bound, and closer than TIC's first-order penalty
    assert abs(alo.loo_nll - exact.sum()) <= 0.03 * exact.sum()
    assert abs(alo.loo_nll - exact.sum()) < abs(tic - exact.sum())
    # refined rows are exact leave-one-out fits (Newton to 1e-10 nats vs statsmodels'
    # own convergence: 1e-6 relative)
    assert alo.n_refined >= 1
    assert_allclose(alo.pointwise[alo.refined], exact[alo.refined], rtol=1e-6)


def _gaussian_nll(y, mu, var):
    return -stats.norm.logpdf(y, mu, np.sqrt(var))


@pytest.mark.parametrize("weighted", [False, True])
def test_ols_and_wls_alo_is_exact_loo(weighted):
    # the closed form: refit without the row, σ² the ML variance of the refit
    rng = np.random.default_rng(2)
    n = 30
    X = sm.add_constant(rng.normal(size=(n, 3)))
    w = rng.uniform(0.5, 2.0, size=n) if weighted else np.ones(n)
    y = X @ [1.0, 0.5, 0.0, -1.0] + rng.normal(size=n) / np.sqrt(w)
    model = sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)
    res = model.fit()
    alo = ts.approximate_loo(ts.curvature(res))
    exact = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        r = (sm.WLS(y[keep], X[keep], weights=w[keep]) if weighted
             else sm.OLS(y[keep], X[keep])).fit()  # fmt: skip
        s2 = np.sum(w[keep] * r.resid**2) / (n - 1)  # statsmodels' llf: SSR_w / n
        exact[i] = _gaussian_nll(y[i], X[i] @ r.params, s2 / w[i])
    # a closed form against n refits: float64 rounding only
    assert_allclose(alo.pointwise, exact, rtol=1e-10)
    assert alo.n_refined == n and np.isfinite(alo.loo)
    table = ts.compare({"ols": res})
    assert_allclose(table.to_dict()["ols"]["alo"], 2 * exact.sum(), rtol=1e-10)
    assert "alo is nan" not in table.summary()


def test_ols_one_step_keeps_sigma_fixed():
    # refine=False: the one-step estimate with σ² held at statsmodels' SSR/n
    rng = np.random.default_rng(3)
    X = sm.add_constant(rng.normal(size=(25, 2)))
    y = X @ [0.5, 1.0, -1.0] + rng.normal(size=25)
    res = sm.OLS(y, X).fit()
    s2 = res.ssr / 25
    h = np.diag(X @ np.linalg.solve(X.T @ X, X.T))
    one = ts.approximate_loo(ts.curvature(res), refine=False)
    # the hat-matrix identity: LOO residual rᵢ/(1 - hᵢ) at fixed σ²
    assert_allclose(one.pointwise, _gaussian_nll(0, res.resid / (1 - h), s2),
                    rtol=1e-10)  # fmt: skip


def test_curvatures_without_rows_say_why(monkeypatch):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    curv = ts.curvature(model, da.from_array(X, chunks=50), da.from_array(y, chunks=50))
    with pytest.raises(ValueError, match="dask array.*X.compute"):
        ts.approximate_loo(curv)
    with pytest.raises(TypeError, match="takes a Curvature.*got LogisticRegression"):
        ts.approximate_loo(model)
    table = ts.compare({"dask": curv.__class__ and ts.criteria(curv), "fit": model},
                       X, y)  # fmt: skip
    assert "note: alo is nan for 'dask': given as Criteria" in table.summary()

    def nll(theta):
        return 0.5 * (y - X @ theta[:3]) ** 2

    auto = ts.curvature_from_loss(nll, np.linalg.lstsq(X, y, rcond=None)[0])
    with pytest.raises(ValueError, match="curvature_from_loss has no per-row model"):
        ts.approximate_loo(auto)
    assert_allclose(ts.pointwise(auto).nll, nll(auto.params))  # item 1's sibling


@pytest.mark.parametrize("value", [-1, 2.5, True])
def test_max_refine_must_be_a_count(value):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    curv = ts.curvature(LogisticRegression().fit(X, y), X, y)
    with pytest.raises((ValueError, TypeError), match="max_refine"):
        ts.approximate_loo(curv, max_refine=value)


# --------------------------------------------------- item 3: (successes, failures)
def _binomial_counts(rng, n):
    X = sm.add_constant(rng.normal(size=(n, 2)))
    trials = rng.integers(5, 20, size=n)
    k = rng.binomial(trials, 1 / (1 + np.exp(-X @ [-0.3, 0.8, -0.5])))
    return X, k, trials


@pytest.mark.parametrize("n_extreme", [1, 2])
def test_binomial_counts_refined_rows_slice_the_trials(n_extreme):
    # one extreme row crashed the one-row refinement (IndexError), two the batch
    rng = np.random.default_rng(6)
    X, k, trials = _binomial_counts(rng, 40)
    X[0, 1], k[0] = 6.0, 0  # far out along x1, against its positive slope
    if n_extreme == 2:
        X[1, 2], k[1] = -6.0, 0  # far out along x2, against its negative slope
    endog = np.column_stack([k, trials - k])
    res = sm.GLM(endog, X, family=sm.families.Binomial()).fit()
    alo = ts.approximate_loo(ts.curvature(res), refine_tol=0.2)
    assert alo.n_refined >= n_extreme and np.all(np.isfinite(alo.pointwise))
    for i in np.flatnonzero(alo.refined):
        keep = np.arange(40) != i
        refit = sm.GLM(endog[keep], X[keep], family=sm.families.Binomial()).fit(
            tol=1e-14
        )
        p = 1 / (1 + np.exp(-X[i] @ refit.params))
        exact = -stats.binom.logpmf(k[i], trials[i], p)
        # the refinement stops at a Newton decrement of 1e-10 nats; an extreme
        # row's NLL (gradient ~ trials·|x| ~ 100) amplifies the θ left: 1e-5
        assert_allclose(alo.pointwise[i], exact, rtol=1e-5)


def test_star98_refines_on_every_split():
    # the binomial-count model of statsmodels' star98 data (303 schools), on ten
    # random halves: refinement runs on every one (it failed on 242 of 300 fits)
    d = sm.datasets.star98.load()
    endog = np.asarray(d.endog, float)
    X = sm.add_constant(np.asarray(d.exog, float))
    rng = np.random.default_rng(7)
    for split in range(10):
        idx = rng.choice(len(endog), 150, replace=False)
        res = sm.GLM(endog[idx], X[idx], family=sm.families.Binomial()).fit()
        alo = _quiet(ts.approximate_loo, ts.curvature(res))  # the defaults
        assert alo.n_refined > 0 and np.all(np.isfinite(alo.pointwise))  # 4-6 rows
        assert alo.loo_nll > ts.curvature(res).nll
        if split:
            continue
        # the refined rows are exact leave-one-out fits (statsmodels' IRLS refits)
        Xs, counts = X[idx], endog[idx]
        for i in np.flatnonzero(alo.refined):
            keep = np.arange(150) != i
            refit = sm.GLM(counts[keep], Xs[keep], family=sm.families.Binomial())
            p = 1 / (1 + np.exp(-Xs[i] @ refit.fit(tol=1e-14).params))
            exact = -stats.binom.logpmf(counts[i, 0], counts[i].sum(), p)
            assert_allclose(alo.pointwise[i], exact, rtol=1e-5)  # as above


# ------------------------------------------- item 4: a class or zero cell emptied
def _alo_warning(curv, category):
    with pytest.warns(category, match="no leave-one-out fit"):
        return ts.approximate_loo(curv)


def test_a_class_with_one_row_has_an_infinite_loo():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 2, size=60)
    y[5] = 2  # the only row of class 2
    model = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X, y)
    alo = _alo_warning(ts.curvature(model, X, y), ts.SeparationWarning)
    assert np.isinf(alo.pointwise[5]) and alo.no_fit[5] and alo.high_leverage[5]
    assert alo.n_no_fit == 1 and not alo.refined[5] and np.isinf(alo.loo)
    assert np.all(np.isfinite(np.delete(alo.pointwise, 5)))
    # refits without the row: the class intercept runs off, and the row's NLL
    # with it (the tighter the solver, the larger: no finite limit)
    keep = np.arange(60) != 5
    nll = []
    for tol in (1e-4, 1e-8):
        refit = LogisticRegression(C=1.0, tol=tol, max_iter=10_000).fit(
            X[keep], y[keep]
        )
        p = refit.predict_proba(X[5:6])[0]
        nll.append(np.inf if 2 not in refit.classes_ else -np.log(p[2]))
    assert all(v > 20 for v in nll)
    # with every direction penalised (no intercept) the fit exists: finite
    model = LogisticRegression(C=1.0, fit_intercept=False, tol=1e-10).fit(X, y)
    assert ts.approximate_loo(ts.curvature(model, X, y)).n_no_fit == 0


def test_binary_with_two_rows():
    X, y = np.array([[0.3], [-1.2]]), np.array([0, 1])
    model = LogisticRegression(C=1.0).fit(X, y)
    alo = _alo_warning(ts.curvature(model, X, y), ts.SeparationWarning)
    assert np.all(np.isinf(alo.pointwise)) and alo.n_no_fit == 2


def test_poisson_zero_cell():
    rng = np.random.default_rng(9)
    n = 50
    X = rng.normal(size=(n, 2))
    cell = (np.arange(n) < 6).astype(float)  # a dummy on six rows
    y = rng.poisson(np.exp(0.3 * X[:, 0]))
    y[:6] = 0
    y[2] = 3  # the cell's only count
    Xc = np.column_stack([X, cell])
    model = PoissonRegressor(alpha=0, tol=1e-12, solver="newton-cholesky").fit(Xc, y)
    alo = _alo_warning(ts.curvature(model, Xc, y), ts.SeparationWarning)
    assert np.flatnonzero(alo.no_fit).tolist() == [2]
    # a penalty on the dummy keeps the fit: finite
    model = PoissonRegressor(alpha=0.01, tol=1e-12, solver="newton-cholesky")
    curv = ts.curvature(model.fit(Xc, y), Xc, y)
    assert ts.approximate_loo(curv).n_no_fit == 0


# ------------------------------------------------ item 5: a row of leverage 1
def test_a_row_of_leverage_one_is_inf_with_a_warning():
    rng = np.random.default_rng(10)
    n = 20
    X = rng.normal(size=(n, 2))
    dummy = np.zeros(n)
    dummy[3] = 1.0  # a one-row dummy: only row 3 informs its coefficient
    Xd = np.column_stack([X, dummy])
    y = X[:, 0] + rng.normal(size=n)
    curv = ts.curvature(LinearRegression().fit(Xd, y), Xd, y)
    alo = _alo_warning(curv, ts.SingularHessianWarning)
    assert np.isinf(alo.pointwise[3]) and alo.no_fit[3] and alo.n_no_fit == 1
    # why not the minimum-norm refit scikit-learn and R return: it depends on how
    # the columns are coded; (x, dummy) and (x, dummy + x) span the same model, yet
    # their refits without row 3 predict it differently
    keep = np.arange(n) != 3
    coded = [Xd, np.column_stack([X, dummy + X[:, 0]])]
    preds = [LinearRegression().fit(Z[keep], y[keep]).predict(Z[3:4])[0] for Z in coded]
    assert abs(preds[0] - preds[1]) > 0.1
    # the same row in a Poisson fit: inf too (was a finite minimum-norm refinement)
    yc = rng.poisson(np.exp(0.3 * X[:, 0]))
    yc[3] = 0
    model = PoissonRegressor(alpha=0, tol=1e-12, solver="newton-cholesky")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ts.SeparationWarning)  # y = 0 in its cell
        curv = ts.curvature(model.fit(Xd, yc), Xd, yc)
        alo = ts.approximate_loo(curv)
    assert np.isinf(alo.pointwise[3]) and alo.no_fit[3]
    # a penalty informs the direction: finite
    curv = ts.curvature(Ridge(alpha=1.0).fit(Xd, y), Xd, y)
    assert np.isfinite(ts.approximate_loo(curv).pointwise[3])
