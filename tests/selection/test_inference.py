"""ts.inference against statsmodels' own standard errors (the oracle)."""

import pickle
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts

# bse are smooth functions of the fitted parameters; the fits below are converged to
# ~1e-10, so 1e-6 (the tolerance) leaves a wide margin.
RTOL = 1e-6
COV_TYPES = ["nonrobust", "HC0", "HC1", "cluster"]


def _data(n=300, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) * [1.0, 3.0] + [0.5, -1.0]
    groups = rng.integers(0, 25, size=n)
    return rng, x, groups


def _sm_bse(model, cov_type, groups, method="IRLS", start=None):
    """statsmodels' bse; its GLM/discrete HC1 is HC0 (see test below), so HC1 is
    HC0 times the small-sample factor n / (n - p) that statsmodels' OLS applies."""
    kw = {}
    if cov_type == "cluster":
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    elif cov_type in ("HC0", "HC1"):
        kw = {"cov_type": "HC0"}
    if isinstance(model, sm.GLM):
        it = {"max_iter": 200} if method == "IRLS" else {}
        res = model.fit(method=method, tol=1e-13, start_params=start, **it, **kw)
    else:
        res = model.fit(disp=0, method="newton", tol=1e-13, maxiter=200, **kw)
    bse = np.asarray(res.bse)
    if cov_type == "HC1":
        n, p = model.exog.shape
        bse = bse * np.sqrt(n / (n - p))
    return res, bse


def _sm_cases():
    rng, x, groups = _data()
    X = sm.add_constant(x)
    eta = 0.3 + 0.4 * x[:, 0] - 0.1 * x[:, 1]
    return (
        rng,
        X,
        groups,
        {
            "glm-binomial": sm.GLM(
                rng.binomial(1, 1 / (1 + np.exp(-eta))),
                X,
                family=sm.families.Binomial(),
            ),
            "glm-poisson": sm.GLM(
                rng.poisson(np.exp(eta)), X, family=sm.families.Poisson()
            ),
            "glm-gamma-log": sm.GLM(
                rng.gamma(2.0, np.exp(eta) / 2.0),
                X,
                family=sm.families.Gamma(sm.families.links.Log()),
            ),
            "logit": sm.Logit(rng.binomial(1, 1 / (1 + np.exp(-eta))), X),
            "poisson": sm.Poisson(rng.poisson(np.exp(eta)), X),
        },
    )


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize(
    "case", ["glm-binomial", "glm-poisson", "glm-gamma-log", "logit", "poisson"]
)
def test_statsmodels_results_match_statsmodels_bse(case, cov_type):
    _, _, groups, cases = _sm_cases()
    model = cases[case]
    # Newton for the non-canonical Gamma-log GLM: its bse then use the observed
    # information, as ours do (IRLS would use the expected information)
    method = "newton" if case == "glm-gamma-log" else "IRLS"
    start = model.fit().params if case == "glm-gamma-log" else None
    res, bse = _sm_bse(model, cov_type, groups, method, start)
    kw = {"groups": groups} if cov_type == "cluster" else {}
    disp = res.scale if case.startswith("glm-gamma") else None
    ours = ts.inference(res, cov_type=cov_type, dispersion=disp, **kw)
    np.testing.assert_allclose(ours.bse, bse, rtol=RTOL)
    np.testing.assert_allclose(ours.params, res.params, rtol=1e-8)
    # p-values follow from bse: the same z and normal tails as statsmodels
    if cov_type in ("nonrobust", "HC0"):
        np.testing.assert_allclose(ours.pvalues, res.pvalues, rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(ours.conf_int(), res.conf_int(), rtol=1e-6)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_statsmodels_mnlogit(cov_type):
    rng, x, _ = _data(seed=7)
    y = np.digitize(x[:, 0] + rng.normal(size=len(x)), [0.0, 1.0])
    model = sm.MNLogit(y, sm.add_constant(x))
    res = model.fit(disp=0, method="newton", tol=1e-12, cov_type=cov_type)
    ours = ts.inference(res, cov_type=cov_type)
    # statsmodels' bse is (p, K-1); ours stacks the non-reference classes
    np.testing.assert_allclose(ours.bse, np.asarray(res.bse).T.ravel(), rtol=RTOL)


def test_multinomial_softmax_footer_and_pickled_curvature():
    rng, x, _ = _data(n=200, seed=8)
    y = np.digitize(x[:, 0] + rng.normal(size=200), [0.0, 1.0])
    m = LogisticRegression(C=1.0, tol=1e-10).fit(x, y)
    res = ts.inference(m, x, y)
    assert any("softmax" in line for line in res.footer())
    curv = pickle.loads(pickle.dumps(res.curvature))
    np.testing.assert_allclose(
        ts.pointwise(curv).tic, ts.pointwise(res.curvature).tic, rtol=1e-12
    )


def test_statsmodels_glm_hc1_is_hc0():
    # documents why HC1 is compared to statsmodels' HC0 · n/(n-p) above: for models
    # without a cov_HC1 attribute statsmodels falls back to HC0 (covtype.py)
    _, _, _, cases = _sm_cases()
    m = cases["glm-poisson"]
    np.testing.assert_allclose(
        m.fit(cov_type="HC1").bse, m.fit(cov_type="HC0").bse, rtol=1e-12
    )


def _raw_map(scaler, p, n_extra=0):
    """Linear map from [β_scaled, intercept] to statsmodels' [const, β_raw]."""
    mu, sd = scaler.mean_, scaler.scale_
    A = np.zeros((p + 1 + n_extra, p + 1 + n_extra))
    A[0, :p] = -mu / sd
    A[0, p] = 1.0
    A[1 : p + 1, :p] = np.diag(1.0 / sd)
    for j in range(n_extra):
        A[p + 1 + j, p + 1 + j] = 1.0
    return A


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("kind", ["logistic", "poisson", "gamma", "ols"])
def test_sklearn_pipeline_maps_to_statsmodels(kind, cov_type):
    rng, x, groups = _data(seed=3)
    X = sm.add_constant(x)
    eta = 0.3 + 0.4 * x[:, 0] - 0.1 * x[:, 1]
    if kind == "logistic":
        y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
        est = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)
        smod, method = sm.GLM(y, X, family=sm.families.Binomial()), "IRLS"
    elif kind == "poisson":
        y = rng.poisson(np.exp(eta))
        est = PoissonRegressor(alpha=0, tol=1e-12, max_iter=10_000)
        smod, method = sm.GLM(y, X, family=sm.families.Poisson()), "IRLS"
    elif kind == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
        est = GammaRegressor(alpha=0, tol=1e-12, max_iter=10_000)
        fam = sm.families.Gamma(sm.families.links.Log())
        smod, method = sm.GLM(y, X, family=fam), "newton"
    else:
        y = eta + rng.normal(size=len(eta)) * (1 + np.abs(x[:, 0]))
        est = LinearRegression()
        smod = sm.OLS(y, X)
    pipe = make_pipeline(StandardScaler(), est).fit(x, y)
    kw = {"groups": groups} if cov_type == "cluster" else {}
    if kind == "ols":
        skw = {"cov_kwds": {"groups": groups}} if cov_type == "cluster" else {}
        res = smod.fit(cov_type=cov_type, **skw)  # OLS has a real HC1
        bse = np.asarray(res.bse)
    else:
        res, bse = _sm_bse(smod, cov_type, groups, method, smod.fit().params)
    disp = res.scale if kind == "gamma" else None
    ours = ts.inference(pipe, x, y, cov_type=cov_type, dispersion=disp, **kw)
    n_extra = int(ours.curvature.dispersion_is_param)
    A = _raw_map(pipe[0], x.shape[1], n_extra)
    cov_raw = A @ ours.cov_params() @ A.T
    np.testing.assert_allclose(np.sqrt(np.diag(cov_raw))[:3], bse, rtol=RTOL)
    np.testing.assert_allclose((A @ ours.params)[:3], res.params, rtol=1e-6)
    if kind == "ols" and cov_type == "nonrobust":
        assert ours.use_t  # Student's t with n - p degrees of freedom, as OLS
        np.testing.assert_allclose(ours.df_resid, res.df_resid)


def test_pipeline_feature_names_and_table_renders():
    pd = pytest.importorskip("pandas")
    rng, x, _ = _data(n=200, seed=5)
    df = pd.DataFrame(x, columns=["age", "dose"])
    y = rng.poisson(np.exp(0.2 * x[:, 0]))
    pipe = make_pipeline(StandardScaler(), PoissonRegressor(alpha=0, tol=1e-10))
    res = ts.inference(pipe.fit(df, y), df, y, cov_type="HC0")
    assert res.param_names == ["age", "dose", "intercept"]
    frame = res.summary_frame(alpha=0.1)
    assert list(frame.index) == ["age", "dose", "intercept"]
    assert list(frame.columns) == ["coef", "std err", "z", "P>|z|", "[0.05", "0.95]"]
    np.testing.assert_allclose(frame["std err"], res.bse)
    text = res.summary()
    assert "age" in text and "HC0" in text and "penalised" not in text
    html = res._repr_html_()
    assert html.startswith("<table>") and "dose" in html


def test_penalised_fit_says_so_in_footer():
    rng, x, _ = _data(n=100, seed=2)
    y = x[:, 0] + rng.normal(size=100)
    res = ts.inference(Ridge(alpha=10.0).fit(x, y), x, y, cov_type="HC1")
    assert res.penalised
    assert any("penalised estimator" in line for line in res.footer())
    assert "penalised estimator" in res.summary()


def test_conf_int_level_and_symmetry():
    rng, x, _ = _data(n=150, seed=4)
    y = rng.binomial(1, 1 / (1 + np.exp(-x[:, 0])))
    res = ts.inference(LogisticRegression(C=np.inf, tol=1e-10).fit(x, y), x, y)
    wide, narrow = res.conf_int(0.01), res.conf_int(0.2)
    assert np.all(wide[:, 0] < narrow[:, 0]) and np.all(wide[:, 1] > narrow[:, 1])
    np.testing.assert_allclose(wide.mean(axis=1), res.params, rtol=1e-12)
    np.testing.assert_allclose(res.zvalues, res.params / res.bse)


def test_errors():
    rng, x, groups = _data(n=60, seed=0)
    y = rng.poisson(1.0, size=60)
    m = PoissonRegressor(alpha=0).fit(x, y)
    with pytest.raises(ValueError, match="cov_type must be"):
        ts.inference(m, x, y, cov_type="HC3")
    with pytest.raises(ValueError, match="needs groups"):
        ts.inference(m, x, y, cov_type="cluster")
    with pytest.raises(ValueError, match="cluster' only"):
        ts.inference(m, x, y, cov_type="HC0", groups=groups)
    with pytest.raises(ValueError, match="at least two groups"):
        ts.inference(m, x, y, cov_type="cluster", groups=np.zeros(60))
    with pytest.raises(ValueError, match="alpha"), warnings.catch_warnings():
        ts.inference(m, x, y).conf_int(alpha=1.5)
