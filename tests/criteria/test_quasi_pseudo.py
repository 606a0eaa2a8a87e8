"""QAIC/QAICc and pseudo-R² against statsmodels and their documented formulas."""

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier

import ticselect as ts


@pytest.fixture(scope="module")
def spector():
    d = sm.datasets.spector.load_pandas()
    return sm.add_constant(d.exog), d.endog


@pytest.fixture(scope="module")
def randhie():
    d = sm.datasets.randhie.load_pandas().data.iloc[:1500]
    return sm.add_constant(d[["lncoins", "idp", "lpi", "fmde"]]), d.mdvis


@pytest.mark.parametrize("model", [sm.Logit, sm.Probit])
def test_mcfadden_equals_statsmodels_prsquared(spector, model):
    X, y = spector
    res = model(y, X).fit(disp=0, method="newton", tol=1e-12)
    crit = ts.criteria(ts.curvature(res))
    assert crit.mcfadden_r2 == pytest.approx(res.prsquared, rel=1e-10, abs=1e-12)
    assert crit.null_loglik == pytest.approx(res.llnull, rel=1e-12)


def test_mcfadden_of_mnlogit_and_poisson(randhie):
    X, y = randhie
    res = sm.Poisson(y, X).fit(disp=0, method="newton", tol=1e-12)
    crit = ts.criteria(ts.curvature(res))
    assert crit.mcfadden_r2 == pytest.approx(res.prsquared, rel=1e-10)
    data = sm.datasets.anes96.load_pandas().data
    Xa = sm.add_constant(data[["logpopul", "selfLR", "age", "educ"]])
    ya = np.clip(data.PID.to_numpy(), 0, 2)  # three party-identification classes
    mn = sm.MNLogit(ya, Xa).fit(disp=0, method="newton", tol=1e-12)
    crit = ts.criteria(ts.curvature(mn))
    # the multinomial null model is the class frequencies, in closed form;
    # statsmodels fits it iteratively (its llnull is 1e-7 nats off here)
    counts = np.bincount(ya.astype(int))
    closed = np.sum(counts * np.log(counts / counts.sum()))
    assert crit.null_loglik == pytest.approx(closed, rel=1e-13)
    assert crit.mcfadden_r2 == pytest.approx(mn.prsquared, rel=1e-8)
    assert crit.nagelkerke_r2 is not None


def test_cox_snell_and_nagelkerke_formulas(spector):
    X, y = spector
    glm = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-13)
    crit = ts.criteria(ts.curvature(glm))
    n = len(y)
    assert crit.cox_snell_r2 == pytest.approx(glm.pseudo_rsquared("cs"), rel=1e-10)
    assert crit.mcfadden_r2 == pytest.approx(glm.pseudo_rsquared("mcf"), rel=1e-10)
    # Nagelkerke (1991): Cox–Snell over its maximum 1 - exp(2 llnull / n)
    top = 1 - np.exp(2 * glm.llnull / n)
    assert crit.nagelkerke_r2 == pytest.approx(crit.cox_snell_r2 / top, rel=1e-12)
    assert 0 < crit.cox_snell_r2 < crit.nagelkerke_r2 < 1


def test_cox_snell_of_a_gaussian_linear_model_is_r2():
    d = sm.datasets.longley.load_pandas()
    X, y = d.exog.to_numpy(), d.endog.to_numpy()
    crit = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    ols = sm.OLS(y, sm.add_constant(X)).fit()
    assert crit.cox_snell_r2 == pytest.approx(ols.rsquared, rel=1e-10)
    null = sm.OLS(y, np.ones(len(y))).fit()
    assert crit.null_loglik == pytest.approx(null.llf, rel=1e-12)
    assert crit.nagelkerke_r2 is None  # a density has no maximum likelihood of 1
    assert crit.c_hat is None and crit.qaic is None


def test_null_model_keeps_the_offset(randhie):
    X, y = randhie
    exposure = np.linspace(0.5, 2.0, len(y))
    res = sm.GLM(y, X, family=sm.families.Poisson(), exposure=exposure).fit(tol=1e-13)
    crit = ts.criteria(ts.curvature(res))
    assert crit.null_loglik == pytest.approx(res.llnull, rel=1e-11)
    assert crit.mcfadden_r2 == pytest.approx(res.pseudo_rsquared("mcf"), rel=1e-10)


def test_null_model_of_a_dispersion_family_is_at_its_ml_dispersion():
    d = sm.datasets.scotland.load_pandas()
    X = sm.add_constant(d.exog)
    gamma = sm.families.Gamma(sm.families.links.Log())
    res = sm.GLM(d.endog, X, family=gamma).fit(tol=1e-13)
    crit = ts.criteria(ts.curvature(res))
    null = sm.GLM(d.endog, np.ones(len(d.endog)), family=gamma).fit(tol=1e-13)
    assert crit.null_loglik == pytest.approx(-ts.curvature(null).nll, rel=1e-10)
    # with a fixed dispersion the null model uses the same value
    fixed = ts.criteria(ts.curvature(res, dispersion=res.scale))
    assert fixed.null_loglik == pytest.approx(
        -ts.curvature(null, dispersion=res.scale).nll, rel=1e-10
    )


def test_qaic_equals_statsmodels_info_criteria(randhie):
    X, y = randhie
    res = sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2", tol=1e-13)
    curv = ts.curvature(res)
    crit = ts.criteria(curv)
    assert crit.c_hat == pytest.approx(res.scale, rel=1e-12)
    assert curv.pearson_chi2 == pytest.approx(res.pearson_chi2, rel=1e-12)
    # an estimated ĉ is a parameter too: statsmodels' dk_params=1
    expected = res.info_criteria("qaic", scale=res.scale, dk_params=1)
    assert crit.qaic == pytest.approx(expected, rel=1e-12)
    given = ts.criteria(curv, c_hat=2.5)
    assert given.qaic == pytest.approx(res.info_criteria("qaic", scale=2.5), rel=1e-12)
    K, n = given.n_params, len(y)
    assert given.qaicc == pytest.approx(
        given.qaic + 2 * K * (K + 1) / (n - K - 1), rel=1e-12
    )
    # Burnham & Anderson: QAIC with ĉ = 1 is AIC
    assert ts.criteria(curv, c_hat=1.0).qaic == pytest.approx(crit.aic, rel=1e-12)


@pytest.mark.parametrize("family", ["binomial-counts", "negative-binomial"])
def test_pearson_statistic_equals_statsmodels(family):
    d = sm.datasets.star98.load_pandas().data
    X = sm.add_constant(d[["LOWINC", "PERASIAN", "PERBLACK", "PERHISP"]] / 100)
    if family == "binomial-counts":
        y = d[["NABOVE", "NBELOW"]]
        fam = sm.families.Binomial()
    else:
        y = d.NABOVE
        fam = sm.families.NegativeBinomial(alpha=0.05)
    res = sm.GLM(y, X, family=fam).fit(tol=1e-13)
    curv = ts.curvature(res)
    assert curv.pearson_chi2 == pytest.approx(res.pearson_chi2, rel=1e-10)
    crit = ts.criteria(curv)
    assert crit.c_hat == pytest.approx(res.pearson_chi2 / res.df_resid, rel=1e-10)
    assert crit.null_loglik == pytest.approx(res.llnull, rel=1e-10)


def test_bad_c_hat_raises(spector):
    X, y = spector
    curv = ts.curvature(sm.Logit(y, X).fit(disp=0))
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="c_hat must be a positive finite"):
            ts.criteria(curv, c_hat=bad)


def test_networks_and_l1_fits(spector):
    X, y = spector
    Xa = X.to_numpy()[:, 1:]
    net = MLPClassifier(
        (3,), solver="lbfgs", alpha=1.0, max_iter=2000, random_state=0, tol=1e-10
    ).fit(Xa, y)
    crit = ts.criteria(ts.curvature(net, Xa, y))
    assert crit.mcfadden_r2 is None and crit.qaic is None
    assert any(
        line.split() == ["mcfadden_r2", "-"]
        for line in crit.summary(full=True).splitlines()
    )
    l1 = LogisticRegression(C=0.5, l1_ratio=1.0, solver="liblinear", tol=1e-12).fit(
        Xa, y
    )
    l2 = LogisticRegression(C=0.5, tol=1e-12).fit(Xa, y)
    c1 = ts.criteria(ts.curvature(l1, Xa, y))
    c2 = ts.criteria(ts.curvature(l2, Xa, y))
    assert c1.null_loglik == pytest.approx(c2.null_loglik, rel=1e-12)
    assert c1.mcfadden_r2 == pytest.approx(1 - c1.loglik / c1.null_loglik, rel=1e-12)


@pytest.mark.parametrize("kind", ["logistic", "poisson"])
def test_pearson_statistic_of_sklearn_fits_by_hand(kind):
    """Pearson's X² from the curvature's derivatives (ℓ'²/ℓ'' for canonical links)
    equals Σ wᵢ (yᵢ − μᵢ)²/V(μᵢ) computed from predict_proba / predict."""
    from sklearn.linear_model import LogisticRegression, PoissonRegressor

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 4))
    w = rng.integers(0, 4, size=300).astype(float)
    if kind == "logistic":
        y = (X[:, 0] + rng.logistic(size=300) > 0).astype(int)
        est = LogisticRegression(C=0.5, tol=1e-12).fit(X, y, sample_weight=w)
        mu = est.predict_proba(X)[:, 1]
        var = mu * (1 - mu)
    else:
        y = rng.poisson(np.exp(0.3 * X[:, 0]))
        est = PoissonRegressor(alpha=0.01, tol=1e-12).fit(X, y, sample_weight=w)
        mu = est.predict(X)
        var = mu
    curv = ts.curvature(est, X, y, sample_weight=w)
    expected = np.sum(w * (y - mu) ** 2 / var)
    assert curv.pearson_chi2 == pytest.approx(expected, rel=1e-10)
