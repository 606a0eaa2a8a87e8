"""Bad input gives a clear error that names the problem and the fix."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import (
    GammaRegressor,
    HuberRegressor,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    TweedieRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import ticselect as ts


@pytest.fixture
def data(rng):
    X = rng.normal(size=(60, 3))
    y = rng.poisson(np.exp(0.3 * X[:, 0]))
    return X, y.astype(float)


@pytest.fixture
def poisson(data):
    return PoissonRegressor(alpha=0.1).fit(*data)


def test_nan_in_X(poisson, data):
    X, y = data
    X = X.copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ts.curvature(poisson, X, y)


def test_inf_in_X(poisson, data):
    X, y = data
    X = X.copy()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        ts.curvature(poisson, X, y)


@pytest.mark.parametrize(
    "bad, message", [(np.nan, "y contains NaN"), (np.inf, "y contains NaN or infinity")]
)
def test_non_finite_y(poisson, data, bad, message):
    X, y = data
    y = y.copy()
    y[5] = bad
    with pytest.raises(ValueError, match=message):
        ts.curvature(poisson, X, y)


def test_y_outside_support(poisson, data):
    X, y = data
    y = y.copy()
    y[:2] = -1.0
    with pytest.raises(ValueError, match=r"outside the support of the poisson family"):
        ts.curvature(poisson, X, y)


def test_gamma_needs_positive_y(data):
    X, y = data
    est = GammaRegressor().fit(X, y + 1.0)
    with pytest.raises(ValueError, match=r"support of the gamma family \(y > 0\)"):
        ts.curvature(est, X, y)  # y has zeros


def test_unfitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ts.curvature(PoissonRegressor(), np.ones((3, 2)), np.ones(3))


def test_unfitted_wrapper():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ts.curvature(ts.InformationCriteria(Ridge()), np.ones((3, 2)), np.ones(3))


@pytest.mark.parametrize("est", [SVC(), HuberRegressor()])
def test_unsupported_lists_supported(est, data):
    X, y = data
    est.fit(X, (y > 0).astype(int) if isinstance(est, SVC) else y)
    with pytest.raises(TypeError, match="Supported models: scikit-learn: Linear"):
        ts.curvature(est, X, y)


def test_unsupported_object():
    with pytest.raises(TypeError, match="cannot compute the curvature of str"):
        ts.curvature("model", np.ones((2, 2)), np.ones(2))


def test_mismatched_sample_weight(poisson, data):
    X, y = data
    with pytest.raises(ValueError, match="one entry per row of X"):
        ts.curvature(poisson, X, y, sample_weight=np.ones(5))


def test_negative_sample_weight(poisson, data):
    X, y = data
    w = np.ones(len(y))
    w[0] = -1
    with pytest.raises(ValueError, match="non-negative"):
        ts.curvature(poisson, X, y, sample_weight=w)


def test_mismatched_lengths(poisson, data):
    X, y = data
    with pytest.raises(ValueError, match="X has 60 rows but y has 59"):
        ts.curvature(poisson, X, y[:-1])


def test_wrong_number_of_features(poisson, data):
    X, y = data
    with pytest.raises(ValueError, match="X has 2 features, but PoissonRegressor"):
        ts.curvature(poisson, X[:, :2], y)


def test_missing_X(poisson):
    with pytest.raises(ValueError, match="X is required"):
        ts.curvature(poisson)


def test_unseen_class_label(data):
    X, y = data
    yb = (y > 0).astype(int)
    est = LogisticRegression().fit(X, yb)
    with pytest.raises(ValueError, match="has not seen"):
        ts.curvature(est, X, yb + 5)


def test_unsupported_tweedie_power(data):
    X, y = data
    est = TweedieRegressor(power=1.5).fit(X, y)
    with pytest.raises(ValueError, match=r"power=1.5\) is not supported"):
        ts.curvature(est, X, y)


def test_bad_dispersion(data):
    X, y = data
    est = Ridge().fit(X, y)
    with pytest.raises(ValueError, match="positive number"):
        ts.curvature(est, X, y, dispersion=-1.0)


def test_criteria_needs_curvature():
    with pytest.raises(TypeError, match="takes a Curvature"):
        ts.criteria({"nll": 1.0})


def test_singular_hessian_warns_and_reports_rank(rng):
    """A duplicated column with no penalty: H is singular; the rank is reported."""
    X = rng.normal(size=(80, 2))
    X = np.column_stack([X, X[:, 0]])
    y = (rng.random(80) < 0.5).astype(int)
    est = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    with pytest.warns(ts.SingularHessianWarning, match="numerical rank 3 of 4"):
        curv = ts.curvature(est, X, y)
        crit = ts.criteria(curv)
    assert crit.numerical_rank == 3
    # the documented fallback, by hand: pseudo-inverse on the unit-diagonal
    # equilibrated matrices (as in test_linalg); the penalty is finite and right
    H, C = curv.hessian, curv.grad_cov
    d = 1 / np.sqrt(np.diag(H))
    Hs, Cs = H * np.outer(d, d), C * np.outer(d, d)
    expected = np.trace(np.linalg.pinv(Hs, rcond=1e-10) @ Cs)
    # rtol: pinv of a rank-deficient matrix, eigen-gap ~1e-10 relative at the cut
    assert_allclose(crit.tic_penalty, expected, rtol=1e-8)
    assert_allclose(crit.tic, -2 * crit.loglik + 2 * expected, rtol=1e-8)


def test_pipeline_not_fitted():
    pipe = make_pipeline(StandardScaler(), PoissonRegressor())
    with pytest.raises(NotFittedError, match="Pipeline instance is not fitted yet"):
        ts.curvature(pipe, np.ones((3, 2)), np.ones(3))


def test_gamma_exact_fit_error():
    X = np.array([[1.0]])
    est = Ridge().fit(X, [1.0])
    with pytest.raises(ValueError, match="n_samples = 1"):
        ts.curvature(est, X, [1.0])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_sample_weight(poisson, data, bad):
    X, y = data
    w = np.ones(len(y))
    w[4] = bad
    with pytest.raises(ValueError, match="sample_weight contains NaN or infinite"):
        ts.curvature(poisson, X, y, sample_weight=w)


def _sm_regularised(kind, rng):
    import statsmodels.api as sm

    X = sm.add_constant(rng.normal(size=(100, 2)))
    yb = (rng.random(100) < 0.5).astype(float)
    if kind == "glm-elastic-net":
        return sm.GLM(yb, X, family=sm.families.Binomial()).fit_regularized(alpha=0.1)
    if kind == "logit-l1":
        return sm.Logit(yb, X).fit_regularized(alpha=1.0, disp=0)
    if kind == "poisson-l1":
        return sm.Poisson(yb, X).fit_regularized(alpha=1.0, disp=0)
    if kind == "negbin-l1":
        return sm.NegativeBinomial(yb, X).fit_regularized(alpha=1.0, disp=0)
    y3 = rng.integers(0, 3, size=100)
    return sm.MNLogit(y3, X).fit_regularized(alpha=1.0, disp=0)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", ["logit-l1", "poisson-l1", "mnlogit-l1"])
def test_statsmodels_l1_fits_are_read_with_their_penalty(kind, rng):
    """L1 fits of the discrete models used to be read as if unpenalised (issue 29)."""
    res = _sm_regularised(kind, rng)
    curv = ts.curvature(res)
    assert curv.active_set is not None
    assert np.all(np.abs(curv.penalty_linear[curv.penalty_linear != 0]) == 1.0)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
def test_statsmodels_regularised_fits_without_their_penalty_are_refused(rng):
    with pytest.raises(ValueError, match="do not record their penalty"):
        ts.curvature(_sm_regularised("glm-elastic-net", rng))
    with pytest.raises(TypeError, match="NegativeBinomial L1 fits are not supported"):
        ts.curvature(_sm_regularised("negbin-l1", rng))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", ["gls", "glm-tweedie", "rlm"])
def test_unsupported_statsmodels_lists_supported(kind, rng):
    # OLS and the discrete NegativeBinomial, once listed here, are supported (issue
    # 12); correlated-row GLS and the non-likelihood RLM are not.
    import statsmodels.api as sm

    X = sm.add_constant(rng.normal(size=(80, 2)))
    y = rng.poisson(2.0, size=80).astype(float)
    if kind == "gls":
        res = sm.GLS(y, X).fit()
        match = r"not supported.* Supported regression models: OLS, WLS"
    elif kind == "glm-tweedie":
        res = sm.GLM(y + 0.5, X, family=sm.families.Tweedie()).fit()
        match = r"not supported\. Supported: .*Gaussian"
    else:
        res = sm.RLM(y, X).fit()
        match = r"not supported.*loglikeobs, score_obs and.*hessian"
    with pytest.raises(TypeError, match=match):
        ts.curvature(res)
