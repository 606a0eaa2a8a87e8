"""Agreement with statsmodels' own numbers and with R, under a stated mapping.

Mapping of conventions (see ``ticselect/curvature/adapters/statsmodels.py``):

- ``curvature(res, dispersion=res.scale)`` fixes the dispersion at statsmodels' scale,
  which is what statsmodels' ``llf`` uses (except Gaussian/identity, where ``llf`` uses
  the ML variance) and does not count it: then ``loglik == llf``, ``aic == res.aic``
  and ``bic == res.bic_llf`` exactly.
- The default ``curvature(res)`` estimates the dispersion by ML and counts it, which is
  R's ``AIC(glm(...))``/``AIC(lm(...))`` convention for the Gaussian family.
- The TIC penalty ``tr(H⁻¹C)`` equals ``tr(cov_HC0 · cov_naive⁻¹)`` from statsmodels'
  sandwich for canonical links (where statsmodels' IRLS covariance is the observed
  information).
"""

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

import ticselect as ts

F = sm.families
L = F.links

# statsmodels warns that non-canonical links may leave the mean space; the fits used
# here stay inside it (checked by ticselect itself), so the warning is noise.
pytestmark = pytest.mark.filterwarnings(
    "ignore::statsmodels.tools.sm_exceptions.DomainWarning"
)


def _scotland():
    d = sm.datasets.scotland.load()
    return np.asarray(d.endog, float), sm.add_constant(np.asarray(d.exog, float))


def _cpunish():
    d = sm.datasets.cpunish.load()
    exog = np.asarray(d.exog, float).copy()
    exog[:, 3] = np.log(exog[:, 3])  # as in statsmodels' GLM docs example
    return np.asarray(d.endog, float), sm.add_constant(exog)


def _star98():
    d = sm.datasets.star98.load()
    return np.asarray(d.endog, float), sm.add_constant(np.asarray(d.exog, float))


def _longley():
    d = sm.datasets.longley.load()
    return np.asarray(d.endog, float), sm.add_constant(np.asarray(d.exog, float))


def _spector():
    d = sm.datasets.spector.load()
    return np.asarray(d.endog, float), sm.add_constant(np.asarray(d.exog, float))


# (dataset, family factory, canonical?)
GLM_CASES = {
    "scotland-gamma-inverse": (_scotland, lambda: F.Gamma(), True),
    "scotland-gamma-log": (_scotland, lambda: F.Gamma(L.Log()), False),
    "scotland-invgauss-log": (_scotland, lambda: F.InverseGaussian(L.Log()), False),
    "cpunish-poisson-log": (_cpunish, lambda: F.Poisson(), True),
    "cpunish-poisson-sqrt": (_cpunish, lambda: F.Poisson(L.Sqrt()), False),
    "star98-binomial-logit": (_star98, lambda: F.Binomial(), True),
    "star98-binomial-probit": (_star98, lambda: F.Binomial(L.Probit()), False),
    "star98-binomial-cloglog": (_star98, lambda: F.Binomial(L.CLogLog()), False),
    "longley-gaussian-identity": (_longley, lambda: F.Gaussian(), True),
    "scotland-gaussian-identity": (_scotland, lambda: F.Gaussian(), True),
    "longley-gaussian-log": (_longley, lambda: F.Gaussian(L.Log()), False),
    "cpunish-negbin-log": (_cpunish, lambda: F.NegativeBinomial(alpha=0.5), False),
}


def _fit_glm(case):
    data, fam, _ = GLM_CASES[case]
    endog, exog = data()
    return sm.GLM(endog, exog, family=fam()).fit(tol=1e-13, maxiter=1000)


@pytest.mark.parametrize("case", sorted(GLM_CASES))
def test_glm_llf_aic_bic_match_statsmodels(case):
    res = _fit_glm(case)
    fixed = (
        res.scale
        if res.model.family.__class__ in (F.Gaussian, F.Gamma, F.InverseGaussian)
        else None
    )
    crit = ts.criteria(ts.curvature(res, dispersion=fixed))
    # Same closed forms at the same parameters: agreement to rounding.
    if case.endswith("gaussian-identity"):
        # statsmodels' Gaussian/identity llf uses the ML variance, not res.scale:
        # mapping = our default (ML σ², counted): loglik == llf, aic == aic + 2,
        # bic == bic_llf + log n (σ² is the one extra parameter).
        crit = ts.criteria(ts.curvature(res))
        n = res.nobs
        assert_allclose(crit.loglik, res.llf, rtol=1e-10)
        assert_allclose(crit.aic, res.aic + 2.0, rtol=1e-10)
        assert_allclose(crit.bic, res.bic_llf + np.log(n), rtol=1e-10)
        assert crit.n_params == len(res.params) + 1
        return
    assert_allclose(crit.loglik, res.llf, rtol=1e-10)
    assert_allclose(crit.aic, res.aic, rtol=1e-10)
    assert_allclose(crit.bic, res.bic_llf, rtol=1e-10)
    assert crit.n_params == len(res.params)


def test_gaussian_identity_llf_is_ml_and_aic_counts_dispersion():
    """statsmodels' Gaussian/identity llf uses the ML variance: our default matches
    it, and our AIC (dispersion counted) is statsmodels' aic + 2."""
    res = _fit_glm("longley-gaussian-identity")
    crit = ts.criteria(ts.curvature(res))
    assert_allclose(crit.loglik, res.llf, rtol=1e-10)
    assert_allclose(crit.aic, res.aic + 2.0, rtol=1e-10)
    assert crit.n_params == len(res.params) + 1


# mtcars columns from R's datasets package (Henderson & Velleman 1981).
MPG = [
    21.0,
    21.0,
    22.8,
    21.4,
    18.7,
    18.1,
    14.3,
    24.4,
    22.8,
    19.2,
    17.8,
    16.4,
    17.3,
    15.2,
    10.4,
    10.4,
    14.7,
    32.4,
    30.4,
    33.9,
    21.5,
    15.5,
    15.2,
    13.3,
    19.2,
    27.3,
    26.0,
    30.4,
    15.8,
    19.7,
    15.0,
    21.4,
]
WT = [
    2.620,
    2.875,
    2.320,
    3.215,
    3.440,
    3.460,
    3.570,
    3.190,
    3.150,
    3.440,
    3.440,
    4.070,
    3.730,
    3.780,
    5.250,
    5.424,
    5.345,
    2.200,
    1.615,
    1.835,
    2.465,
    3.520,
    3.435,
    3.840,
    3.845,
    1.935,
    2.140,
    1.513,
    3.170,
    2.770,
    3.570,
    2.780,
]
DRAT = [
    3.90,
    3.90,
    3.85,
    3.08,
    3.15,
    2.76,
    3.21,
    3.69,
    3.92,
    3.92,
    3.92,
    3.07,
    3.07,
    3.07,
    2.93,
    3.00,
    3.23,
    4.08,
    4.93,
    4.22,
    3.70,
    2.76,
    3.15,
    3.73,
    3.08,
    4.08,
    4.43,
    3.77,
    4.22,
    3.62,
    3.54,
    4.11,
]


@pytest.mark.parametrize(
    "x, r_aic",
    [
        # R:  AIC(glm(mpg ~ wt, data = mtcars))    # [1] 166.0294
        #     (equivalently AIC(lm(mpg ~ wt, mtcars)); logLik -80.01471, df = 3)
        (WT, 166.0294),
        # R:  AIC(lm(mpg ~ drat, mtcars))          # [1] 190.7999
        #     (printed in the Cross Validated question "Calculating AIC 'by hand'
        #     in R", with the by-hand n*log(RSS/n) + 2*2 = 97.98786 beside it)
        (DRAT, 190.7999),
    ],
)
def test_gaussian_aic_equals_r(x, r_aic):
    """R counts σ² as a parameter and uses its ML estimate: our default.

    The R value is first checked against the closed form R documents for a Gaussian
    fit, ``AIC = n log(2π RSS/n) + n + 2(p + 1)`` with RSS from a least-squares
    solve independent of ticselect (so a mistyped R number fails here, not only
    against our code).
    """
    from sklearn.linear_model import LinearRegression

    X = np.asarray(x)[:, None]
    y = np.asarray(MPG)
    n = len(y)
    _, rss, *_ = np.linalg.lstsq(np.column_stack([np.ones(n), X]), y, rcond=None)
    closed_form = n * np.log(2 * np.pi * rss[0] / n) + n + 2 * 3
    assert_allclose(closed_form, r_aic, atol=5e-5)
    crit = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    assert crit.n_params == 3
    assert_allclose(crit.aic, r_aic, atol=5e-5)  # R printed 7 significant digits
    res = sm.GLM(y, sm.add_constant(X)).fit()
    assert_allclose(ts.criteria(ts.curvature(res)).aic, r_aic, atol=5e-5)


@pytest.mark.parametrize(
    "case",
    [
        "scotland-gamma-inverse",
        "cpunish-poisson-log",
        "star98-binomial-logit",
        "scotland-gaussian-identity",
    ],
)
def test_tic_penalty_equals_hc0_sandwich(case):
    data, fam, canonical = GLM_CASES[case]
    assert canonical
    endog, exog = data()
    naive = sm.GLM(endog, exog, family=fam()).fit(tol=1e-13, maxiter=1000)
    robust = sm.GLM(endog, exog, family=fam()).fit(
        tol=1e-13, maxiter=1000, cov_type="HC0"
    )
    expected = np.trace(robust.cov_params() @ np.linalg.inv(naive.cov_params()))
    disp = naive.scale if fam().__class__ in (F.Gaussian, F.Gamma) else None
    crit = ts.criteria(ts.curvature(naive, dispersion=disp))
    assert_allclose(crit.tic_penalty, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "case",
    [
        "cpunish-poisson-sqrt",
        "star98-binomial-probit",
        "star98-binomial-cloglog",
        "scotland-gamma-log",
        "scotland-invgauss-log",
        "cpunish-negbin-log",
    ],
)
def test_tic_penalty_equals_hc0_sandwich_noncanonical(case):
    """Non-canonical links: statsmodels' IRLS covariance is the *expected*
    information, which is not H; fitted with ``method="newton"`` its naive covariance
    and its HC0 bread are the observed information, and the identity holds again.
    (With the IRLS covariance the two traces differ by 0.04-22 %, which is the
    observed-vs-expected distinction ticselect makes on purpose.)"""
    data, fam, canonical = GLM_CASES[case]
    assert not canonical
    endog, exog = data()
    kw = dict(method="newton", tol=1e-13, maxiter=1000)
    naive = sm.GLM(endog, exog, family=fam()).fit(**kw)
    robust = sm.GLM(endog, exog, family=fam()).fit(cov_type="HC0", **kw)
    expected = np.trace(robust.cov_params() @ np.linalg.inv(naive.cov_params()))
    disp = naive.scale if fam().__class__ in (F.Gamma, F.InverseGaussian) else None
    curv = ts.curvature(naive, dispersion=disp)
    assert curv.stationarity < 1e-6
    assert_allclose(ts.criteria(curv).tic_penalty, expected, rtol=1e-6)


def test_ill_conditioned_design_gaussian_tic_penalty():
    """Longley's design (cond(XᵀX) ~ 1e16 in raw units): the trace must not lose
    digits to the units of the columns.  Oracle: with σ² fixed, tr(H⁻¹C) =
    Σ rᵢ² hᵢᵢ / σ², the leverages hᵢᵢ from a QR factorisation (backward stable)."""
    res = _fit_glm("longley-gaussian-identity")
    Q, _ = np.linalg.qr(res.model.exog)
    lev = np.sum(Q**2, axis=1)
    expected = np.sum((res.model.endog - res.mu) ** 2 * lev) / res.scale
    crit = ts.criteria(ts.curvature(res, dispersion=res.scale))
    assert_allclose(crit.tic_penalty, expected, rtol=1e-7)


@pytest.mark.parametrize("model", ["logit", "probit", "poisson"])
def test_discrete_models_match_statsmodels(model, rng):
    if model == "poisson":
        X = sm.add_constant(rng.normal(size=(200, 3)))
        exposure = rng.uniform(0.5, 2.0, size=200)
        y = rng.poisson(exposure * np.exp(X @ [0.2, 0.3, -0.2, 0.1]))
        res = sm.Poisson(y, X, exposure=exposure).fit(
            method="newton", tol=1e-12, disp=0
        )
        glm = sm.GLM(y, X, family=F.Poisson(), exposure=exposure).fit(tol=1e-13)
        assert_allclose(ts.criteria(ts.curvature(glm)).loglik, glm.llf, rtol=1e-10)
    else:
        y, X = _spector()
        cls = sm.Logit if model == "logit" else sm.Probit
        res = cls(y, X).fit(method="newton", tol=1e-12, disp=0)
    curv = ts.curvature(res)
    crit = ts.criteria(curv)
    assert_allclose(crit.loglik, res.llf, rtol=1e-10)
    assert_allclose(crit.aic, res.aic, rtol=1e-10)
    assert_allclose(crit.bic, res.bic, rtol=1e-10)
    # statsmodels' analytic observed Hessian (its own code path) equals ours.
    assert_allclose(curv.hessian, -res.model.hessian(res.params), rtol=1e-8)
    assert_allclose(
        curv.per_sample_grads, -res.model.score_obs(res.params), rtol=1e-8, atol=1e-12
    )
    assert curv.stationarity < 1e-6


@pytest.mark.parametrize("model", ["logit", "probit"])
def test_discrete_binary_with_offset(model, rng):
    """Logit/Probit take an ``offset`` too; it enters the linear predictor (it used
    to be dropped, giving a wrong loglik and a spurious non-stationarity)."""
    X = sm.add_constant(rng.normal(size=(300, 2)))
    off = rng.normal(size=300)
    y = (rng.random(300) < 1 / (1 + np.exp(-(off + X @ [0.2, 0.5, -0.5])))) * 1.0
    cls = sm.Logit if model == "logit" else sm.Probit
    res = cls(y, X, offset=off).fit(method="newton", tol=1e-12, disp=0)
    curv = ts.curvature(res)
    assert_allclose(-curv.nll, res.llf, rtol=1e-10)
    assert_allclose(curv.hessian, -res.model.hessian(res.params), rtol=1e-8)
    assert_allclose(
        curv.per_sample_grads, -res.model.score_obs(res.params), rtol=1e-8, atol=1e-12
    )
    assert curv.stationarity < 1e-6


def test_mnlogit_matches_statsmodels():
    d = sm.datasets.anes96.load()
    # columns logpopul, selfLR, age
    exog = sm.add_constant(np.asarray(d.exog, float)[:, [0, 1, 2]])
    res = sm.MNLogit(np.asarray(d.endog, float), exog).fit(
        method="newton", tol=1e-12, maxiter=200, disp=0
    )
    curv = ts.curvature(res)
    crit = ts.criteria(curv)
    assert_allclose(crit.loglik, res.llf, rtol=1e-10)
    assert_allclose(crit.aic, res.aic, rtol=1e-10)
    # statsmodels orders MNLogit params column by column of its (p, K-1) array,
    # i.e. class by class -- the same class-major order we use.
    assert_allclose(curv.hessian, -res.model.hessian(res.params), rtol=1e-7, atol=1e-9)


def test_glm_freq_weights_and_offset(rng):
    X = sm.add_constant(rng.normal(size=(150, 2)))
    offset = rng.normal(scale=0.3, size=150)
    fw = rng.integers(1, 4, size=150).astype(float)
    y = rng.poisson(np.exp(offset + X @ [0.3, 0.4, -0.3]))
    res = sm.GLM(y, X, family=F.Poisson(), offset=offset, freq_weights=fw).fit(
        tol=1e-13
    )
    curv = ts.curvature(res)
    assert_allclose(-curv.nll, res.llf, rtol=1e-10)
    assert curv.stationarity < 1e-8
    dup = sm.GLM(
        np.repeat(y, fw.astype(int)),
        np.repeat(X, fw.astype(int), axis=0),
        family=F.Poisson(),
        offset=np.repeat(offset, fw.astype(int)),
    ).fit(tol=1e-13)
    a, b = ts.criteria(curv), ts.criteria(ts.curvature(dup))
    assert_allclose(a.tic, b.tic, rtol=1e-9)


def test_var_weights_rejected():
    X = sm.add_constant(np.arange(10.0))
    res = sm.GLM(
        np.arange(10.0) % 3, X, family=F.Poisson(), var_weights=np.full(10, 2.0)
    ).fit()
    with pytest.raises(ValueError, match="var_weights"):
        ts.curvature(res)


def test_statsmodels_rejects_external_data():
    res = _fit_glm("cpunish-poisson-log")
    with pytest.raises(ValueError, match="carry their own data"):
        ts.curvature(res, np.ones((3, 3)), np.ones(3))


@pytest.mark.parametrize("family", ["poisson", "gaussian"])
def test_tic_penalty_is_k_in_expectation_when_correctly_specified(family):
    """Information-matrix equality: E[tr(H⁻¹C)] → k for a correct model.

    Seeded Monte Carlo over 300 replicates; the tolerance is 4 standard errors of
    the replicate mean (plus the O(1/n) bias, ~k²/n ≈ 0.1 here), and the standard
    error itself is bounded so the test keeps its power.
    """
    rng = np.random.default_rng(7)
    n, beta = 400, np.array([0.5, 0.3, -0.2, 0.1])
    k = len(beta) + (family == "gaussian")  # Gaussian: σ² is a parameter
    values = []
    for _ in range(300):
        X = sm.add_constant(rng.normal(size=(n, 3)))
        if family == "poisson":
            y = rng.poisson(np.exp(X @ beta))
            res = sm.GLM(y, X, family=F.Poisson()).fit()
        else:
            y = X @ beta + rng.normal(scale=1.5, size=n)
            res = sm.GLM(y, X).fit()
        values.append(ts.criteria(ts.curvature(res)).tic_penalty)
    values = np.asarray(values)
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert se < 0.1
    assert abs(values.mean() - k) < 4 * se + 0.1, (values.mean(), se)
