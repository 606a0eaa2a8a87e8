"""L1 and elastic-net fits: the active set, its penalty units and its oracles."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import (
    ElasticNet,
    ElasticNetCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsIC,
    LogisticRegression,
    LogisticRegressionCV,
    MultiTaskLasso,
    SGDClassifier,
    SGDRegressor,
    lars_path,
)

import ticselect as ts
from ticselect.curvature._active import ACTIVE_TOL


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:300, :10]
    return (X - X.mean(0)) / X.std(0), y[:300]


def _fd_hessian(f, x, h=1e-4):
    """Fourth-order central differences of a scalar function (float64)."""
    d = x.size
    H = np.empty((d, d))
    for i in range(d):
        for j in range(i, d):

            def g(a, b, i=i, j=j):
                z = x.copy()
                z[i] += a
                z[j] += b
                return f(z)

            steps = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
            v1 = sum(s * t * g(s * h, t * h) for s, t in steps) / (4 * h * h)
            v2 = sum(s * t * g(2 * s * h, 2 * t * h) for s, t in steps) / (16 * h * h)
            H[i, j] = H[j, i] = (4 * v1 - v2) / 3
    return H


# ---------------------------------------------------------------- penalty units
@pytest.mark.parametrize(
    "make",
    [
        lambda: Lasso(alpha=2.0, tol=1e-14, max_iter=100000),
        lambda: ElasticNet(alpha=1.0, l1_ratio=0.3, tol=1e-14, max_iter=100000),
        lambda: LassoLars(alpha=1.0),
    ],
    ids=["lasso", "enet", "lassolars"],
)
def test_gaussian_l1_is_stationary_on_its_active_set(diabetes, make):
    """The gradient with the L1 term's ``l1·sign(β)`` vanishes: the units are right."""
    X, y = diabetes
    model = make().fit(X, y)
    curv = ts.curvature(model, X, y)
    nz = np.flatnonzero(np.abs(model.coef_) > 0)
    assert curv.param_names == [f"x{j}" for j in nz] + ["intercept", "dispersion"]
    assert 0 < nz.size < X.shape[1]  # a genuinely sparse fit
    # relative gradient at a coordinate-descent/LARS optimum: rounding only
    assert curv.stationarity < 1e-8
    np.testing.assert_allclose(curv.params[: nz.size], model.coef_[nz], rtol=1e-15)
    assert curv.active_set.violation == 0.0
    assert curv.flags == []
    # the L1 strength is alpha·l1_ratio·n/σ̂² on every coefficient
    ratio = getattr(model, "l1_ratio", 1.0)
    l1 = model.alpha * ratio * len(y) / curv.dispersion
    np.testing.assert_allclose(np.abs(curv.penalty_linear[: nz.size]), l1, rtol=1e-12)
    np.testing.assert_allclose(
        curv.penalty[: nz.size], model.alpha * (1 - ratio) * len(y) / curv.dispersion
    )


def test_l1_hessian_is_the_smooth_models_on_the_active_set(diabetes):
    """H on the active set equals finite differences of the data NLL (loss_fn)."""
    X, y = diabetes
    model = ElasticNet(alpha=0.5, l1_ratio=0.7, tol=1e-14, max_iter=100000).fit(X, y)
    curv = ts.curvature(model, X, y)
    H_fd = _fd_hessian(curv.loss_fn, curv.params, h=1e-3)
    np.testing.assert_allclose(curv.hessian, H_fd, rtol=1e-6, atol=1e-6)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")
@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_logistic_both_spellings_agree(cancer, ratio):
    """``penalty="l1"|"elasticnet"`` (deprecated in 1.8) and ``l1_ratio`` alone."""
    X, y = cancer
    new = LogisticRegression(
        C=0.5, l1_ratio=ratio, solver="saga", tol=1e-12, max_iter=100000
    ).fit(X, y)
    penalty = "l1" if ratio == 1.0 else "elasticnet"
    old = LogisticRegression(
        penalty=penalty,
        C=0.5,
        l1_ratio=None if ratio == 1.0 else ratio,
        solver="saga",
        tol=1e-12,
        max_iter=100000,
    ).fit(X, y)
    c_new, c_old = ts.curvature(new, X, y), ts.curvature(old, X, y)
    assert c_new.param_names == c_old.param_names
    assert len(c_new.param_names) < X.shape[1] + 1
    np.testing.assert_allclose(c_new.nll, c_old.nll, rtol=1e-8)
    for c in (c_new, c_old):
        assert c.stationarity < 1e-5
        np.testing.assert_allclose(np.abs(c.penalty_linear[:-1]), ratio / 0.5)
        np.testing.assert_allclose(c.penalty[:-1], (1 - ratio) / 0.5)
        assert c.penalty[-1] == 0 and c.penalty_linear[-1] == 0


def test_liblinear_l1_penalises_the_intercept(cancer):
    """liblinear's intercept is a coefficient on a column of ``intercept_scaling``."""
    X, y = cancer
    model = LogisticRegression(
        penalty="l1",
        solver="liblinear",
        C=0.3,
        tol=1e-10,
        intercept_scaling=2.0,
        max_iter=10000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model.fit(X, y)
    curv = ts.curvature(model, X, y)
    assert curv.stationarity < 1e-5
    np.testing.assert_allclose(abs(curv.penalty_linear[-1]), 1 / 0.3 / 2.0, rtol=1e-12)


def test_sgd_l1_conversion_at_a_solution(cancer):
    """SGD's penalty ``alpha·(ρ‖β‖₁ + (1−ρ)/2‖β‖²)`` per row, checked at an optimum.

    SGD stops far from its optimum, so the fitted coefficients are replaced by the
    optimum of the equivalent ``LogisticRegression``: the SGD reading must find it
    stationary.
    """
    X, y = cancer
    n, alpha, ratio = len(y), 0.002, 0.6
    ref = LogisticRegression(
        C=1 / (alpha * n), l1_ratio=ratio, solver="saga", tol=1e-13, max_iter=1000000
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgd = SGDClassifier(
            loss="log_loss",
            penalty="elasticnet",
            alpha=alpha,
            l1_ratio=ratio,
            max_iter=3,
        ).fit(X, y)
    sgd.coef_, sgd.intercept_ = ref.coef_.copy(), ref.intercept_.copy()
    c_sgd, c_ref = ts.curvature(sgd, X, y), ts.curvature(ref, X, y)
    assert c_sgd.stationarity < 1e-6
    np.testing.assert_allclose(c_sgd.penalty_linear, c_ref.penalty_linear, rtol=1e-12)
    np.testing.assert_allclose(c_sgd.penalty, c_ref.penalty, rtol=1e-12)
    assert c_sgd.model_name.startswith("SGDClassifier(alpha=0.002, penalty='elastic")


def test_sgd_regressor_l1_conversion_at_a_solution(diabetes):
    X, y = diabetes
    n, alpha = len(y), 0.5
    ref = Lasso(alpha=alpha, tol=1e-14, max_iter=100000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgd = SGDRegressor(penalty="l1", alpha=alpha, max_iter=2).fit(X, y)
    sgd.coef_, sgd.intercept_ = ref.coef_.copy(), np.atleast_1d(ref.intercept_)
    c = ts.curvature(sgd, X, y)
    assert c.stationarity < 1e-8
    np.testing.assert_allclose(
        ts.criteria(c).aic, ts.criteria(ts.curvature(ref, X, y)).aic
    )
    assert n == X.shape[0]


def test_cv_estimators_are_read_at_their_choice(diabetes, cancer):
    X, y = diabetes
    cv = LassoCV(cv=3, tol=1e-12, max_iter=100000).fit(X, y)
    one = Lasso(alpha=cv.alpha_, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(
        ts.criteria(ts.curvature(cv, X, y)).aic,
        ts.criteria(ts.curvature(one, X, y)).aic,
        rtol=1e-9,
    )
    enet = ElasticNetCV(l1_ratio=[0.3, 0.8], cv=3, tol=1e-12, max_iter=100000)
    curv = ts.curvature(enet.fit(X, y), X, y)
    assert curv.model_name.startswith("ElasticNetCV(alpha_=")
    assert curv.stationarity < 1e-6
    Xc, yc = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lcv = LogisticRegressionCV(
            Cs=[0.1, 1.0],
            l1_ratios=[0.5, 1.0],
            cv=3,
            solver="saga",
            tol=1e-10,
            max_iter=100000,
            use_legacy_attributes=False,
        ).fit(Xc, yc)
    curv = ts.curvature(lcv, Xc, yc)
    assert "l1_ratio_" in curv.model_name and curv.active_set is not None
    assert curv.stationarity < 1e-4


# ---------------------------------------------------------------- LassoLarsIC
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("criterion", ["aic", "bic"])
def test_lasso_criteria_equal_lassolarsic(diabetes, criterion, fit_intercept):
    """AIC/BIC along the lasso path equal ``LassoLarsIC.criterion_`` (Zou et al.).

    Same noise-variance convention: ``dispersion=noise_variance_`` (fixed, not
    counted).  LassoLarsIC counts the non-zero coefficients; ticselect also counts the
    intercept, so with one the criteria differ by exactly 2 (AIC) or ``log n`` (BIC).
    """
    X, y = diabetes
    if not fit_intercept:
        y = y - y.mean()
    ic = LassoLarsIC(criterion=criterion, fit_intercept=fit_intercept).fit(X, y)
    s2, n = ic.noise_variance_, len(y)
    offset = (2.0 if criterion == "aic" else np.log(n)) * fit_intercept
    # at a knot where a coefficient leaves the path it is exactly 0 in theory and a
    # rounding residue in LassoLarsIC's path (counted there): skip that knot
    path = lars_path(X - X.mean(0), y - y.mean(), method="lasso")[2]
    top = np.abs(path).max()
    leaving = [
        k
        for k in range(1, path.shape[1] - 1)
        if np.any(
            (np.abs(path[:, k]) < 1e-12 * top) & (np.abs(path[:, k - 1]) > 1e-8 * top)
        )
    ]
    assert len(leaving) == 1  # diabetes: one variable leaves, at one knot
    knots = [k for k in range(len(ic.alphas_) - 1) if k not in leaving]
    for alpha, value in zip(ic.alphas_[knots], ic.criterion_[knots], strict=True):
        for model in (
            LassoLars(alpha=alpha, fit_intercept=fit_intercept),
            Lasso(
                alpha=alpha, fit_intercept=fit_intercept, tol=1e-15, max_iter=1000000
            ),
        ):
            crit = ts.criteria(ts.curvature(model.fit(X, y), X, y, dispersion=s2))
            ours = crit.aic if criterion == "aic" else crit.bic
            np.testing.assert_allclose(ours - offset, value, rtol=1e-8)


def test_lassolarsic_itself_is_read_at_alpha_(diabetes):
    X, y = diabetes
    ic = LassoLarsIC(criterion="bic").fit(X, y)
    crit = ts.criteria(ts.curvature(ic, X, y, dispersion=ic.noise_variance_))
    np.testing.assert_allclose(
        crit.bic - np.log(len(y)), ic.criterion_.min(), rtol=1e-8
    )


# ---------------------------------------------------------------- edge cases
def test_all_zero_lasso_gets_intercept_only_criteria(diabetes):
    X, y = diabetes
    model = Lasso(alpha=1e4).fit(X, y)
    assert np.all(model.coef_ == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning, no error
        curv = ts.curvature(model, X, y)
        crit = ts.criteria(curv)
        loo = ts.approximate_loo(curv)
    assert curv.param_names == ["intercept", "dispersion"]
    ols = sm.OLS(y, np.ones(len(y))).fit()
    np.testing.assert_allclose(crit.loglik, ols.llf, rtol=1e-12)
    np.testing.assert_allclose(crit.aic, ols.aic + 2, rtol=1e-12)  # + σ² counted
    assert crit.n_params == 2 and crit.mcfadden_r2 == pytest.approx(0, abs=1e-12)
    assert np.isfinite(loo.loo) and curv.active_set.n_active == 1


def test_all_zero_without_intercept_has_no_coefficients(cancer):
    X, y = cancer
    model = LogisticRegression(
        C=1e-6, l1_ratio=1.0, solver="saga", fit_intercept=False
    ).fit(X, y)
    assert np.all(model.coef_ == 0)
    curv = ts.curvature(model, X, y)
    crit = ts.criteria(curv)
    assert curv.n_params == 0 and crit.n_params == 0
    np.testing.assert_allclose(crit.loglik, len(y) * np.log(0.5))
    assert crit.aic == pytest.approx(-2 * crit.loglik) and crit.tic == crit.aic


def test_kink_that_is_not_a_solution_is_flagged():
    """An inactive coefficient whose gradient exceeds its L1 strength."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(200, 4))
    X = np.sqrt(200) * np.linalg.qr(Z - Z.mean(0))[0]  # centred, orthogonal columns
    y = X @ [3.0, 2.0, 0.0, 0.0] + rng.normal(size=200)
    model = Lasso(alpha=0.2, tol=1e-14).fit(X, y)
    assert ts.curvature(model, X, y).flags == []
    model.coef_ = model.coef_.copy()
    model.coef_[1] = 0.0  # x1 matters: a kink, but not a solution
    with pytest.warns(ts.NotStationaryWarning, match="kink that is not a solution"):
        curv = ts.curvature(model, X, y)
    assert "not_stationary" in curv.flags and "x1" in curv.active_set.inactive_names
    assert curv.active_set.violation > 0.5
    # the active coefficients are still at their optimum (orthogonal columns)
    assert curv.stationarity < 1e-6


def test_active_tolerance_is_in_linear_predictor_units(diabetes):
    X, y = diabetes
    model = Lasso(alpha=2.0, tol=1e-14, max_iter=100000).fit(X, y)
    j = int(np.flatnonzero(model.coef_ == 0)[0])
    for scale, active in ((1e6, False), (1e-6, False)):
        Xs = X.copy()
        Xs[:, j] *= scale  # a zero coefficient stays inactive in any units
        m2 = Lasso(alpha=2.0).fit(Xs, y)
        m2.coef_ = model.coef_.copy()
        m2.intercept_ = model.intercept_
        curv = ts.curvature(m2, Xs, y)
        assert (f"x{j}" in curv.param_names) is active
    tiny = model.coef_.copy()
    tiny[j] = 0.5 * ACTIVE_TOL / np.abs(X[:, j]).max()
    model.coef_ = tiny
    assert f"x{j}" not in ts.curvature(model, X, y).param_names


def test_weights_equal_duplicated_rows(diabetes):
    X, y = diabetes
    X, y = X[:150], y[:150]
    w = np.where(np.arange(150) % 3 == 0, 2.0, 1.0)
    Xd, yd = np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int))
    kw = dict(alpha=0.7, l1_ratio=0.6, tol=1e-14, max_iter=100000)
    a = ts.curvature(ElasticNet(**kw).fit(X, y, sample_weight=w), X, y, w)
    b = ts.curvature(ElasticNet(**kw).fit(Xd, yd), Xd, yd)
    assert a.param_names == b.param_names
    ca, cb = ts.criteria(a), ts.criteria(b)
    for name in ("loglik", "aic", "bic", "tic"):
        np.testing.assert_allclose(getattr(ca, name), getattr(cb, name), rtol=1e-7)


def test_multinomial_l1_drops_single_entries():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    model = LogisticRegression(
        C=0.2, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=1000000
    ).fit(X, y)
    curv = ts.curvature(model, X, y)
    n_nonzero = int(np.sum(model.coef_ != 0)) + 3
    assert curv.n_params == n_nonzero < 15
    assert curv.stationarity < 1e-5 and curv.active_set.violation == 0
    # the intercepts are a gauge direction of the softmax; k counts the rest
    assert curv.n_free_params == n_nonzero - 1
    crit = ts.criteria(curv)
    assert np.isfinite(crit.tic)


# ---------------------------------------------------------------- statsmodels
def test_statsmodels_l1_logit_reads_alpha_and_is_stationary():
    data = sm.datasets.spector.load_pandas()
    exog = sm.add_constant(data.exog)
    res = sm.Logit(data.endog, exog).fit_regularized(
        alpha=np.array([0.0, 3.0, 3.0, 3.0]), disp=0, acc=1e-12
    )
    curv = ts.curvature(res)
    kept = [nm for nm, b in zip(exog.columns, res.params, strict=True) if b != 0]
    assert curv.param_names == kept
    assert curv.stationarity < 1e-5
    assert curv.active_set.violation == 0
    np.testing.assert_allclose(curv.nll, -res.llf, rtol=1e-12)


def test_statsmodels_glm_elastic_net_needs_and_uses_its_alpha():
    d = sm.datasets.scotland.load_pandas().data
    X = sm.add_constant((d.iloc[:, 1:] - d.iloc[:, 1:].mean()) / d.iloc[:, 1:].std())
    y = (d.YES > d.YES.median()).astype(float)
    alpha = np.r_[0.0, np.full(X.shape[1] - 1, 0.02)]
    res = sm.GLM(y, X, family=sm.families.Binomial()).fit_regularized(
        alpha=alpha, L1_wt=0.5, cnvrg_tol=1e-14, maxiter=1000
    )
    with pytest.raises(ValueError, match="do not record their penalty"):
        ts.curvature(res)
    curv = ts.curvature(res, regularization={"alpha": alpha, "L1_wt": 0.5})
    assert curv.stationarity < 1e-5 and curv.active_set.violation < 1e-6
    assert len(curv.param_names) < X.shape[1]
    with pytest.raises(ValueError, match="regularization= applies to statsmodels"):
        ts.curvature(LogisticRegression().fit(X, y), X, y, regularization={"alpha": 1})


def test_statsmodels_ols_elastic_net_matches_sklearn(diabetes):
    X, y = diabetes
    alpha, ratio = 0.5, 0.7
    res = sm.OLS(y - y.mean(), X).fit_regularized(
        alpha=alpha, L1_wt=ratio, cnvrg_tol=1e-14, maxiter=1000
    )
    ours = ts.curvature(res, regularization={"alpha": alpha, "L1_wt": ratio})
    ref = ElasticNet(
        alpha=alpha, l1_ratio=ratio, fit_intercept=False, tol=1e-14, max_iter=100000
    ).fit(X, y - y.mean())
    theirs = ts.curvature(ref, X, y - y.mean())
    # statsmodels names ndarray columns x1, x2, ...; scikit-learn x0, x1, ...
    assert ours.param_names[:-1] == [f"x{j + 1}" for j in np.flatnonzero(ref.coef_)]
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-7)
    np.testing.assert_allclose(ours.penalty, theirs.penalty, rtol=1e-6)
    np.testing.assert_allclose(ours.penalty_linear, theirs.penalty_linear, rtol=1e-6)
    with pytest.raises(ValueError, match="profile_scale"):
        ts.curvature(res, regularization={"alpha": alpha, "profile_scale": True})


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_statsmodels_refit_is_the_selected_unpenalised_model():
    data = sm.datasets.spector.load_pandas()
    exog = sm.add_constant(data.exog)
    res = sm.GLM(data.endog, exog, family=sm.families.Binomial()).fit_regularized(
        alpha=0.05, L1_wt=1.0, refit=True
    )
    curv = ts.curvature(res)
    kept = list(exog.columns[np.asarray(res.params) != 0])
    assert curv.param_names == kept and curv.active_set is None
    small = sm.GLM(data.endog, exog[kept], family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(curv.nll, -small.llf, rtol=1e-8)


# ---------------------------------------------------------------- refusals
def test_constrained_and_multitask_fits_are_refused(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="positive=True"):
        ts.curvature(Lasso(alpha=1.0, positive=True).fit(X, y), X, y)
    Y = np.column_stack([y, y[::-1]])
    with pytest.raises(ValueError, match="2 targets"):
        ts.curvature(MultiTaskLasso(alpha=1.0).fit(X, Y), X, y)


def test_evidence_of_an_l1_fit_is_undefined(diabetes):
    """A Laplace (L1) prior has a kink: the Gaussian Laplace evidence does not apply."""
    X, y = diabetes
    curv = ts.curvature(ElasticNet(alpha=0.5, l1_ratio=0.5).fit(X, y), X, y)
    ev = ts.evidence(curv)
    assert np.isnan(ev.log_evidence) and "l1_prior" in ev.flags
    assert np.isnan(ts.criteria(curv).log_evidence)
