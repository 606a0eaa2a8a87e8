"""``curvature_from_loss``: a user's autograd likelihood against the GLM path and
against finite differences."""

import warnings

import autograd.numpy as anp
import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy.optimize import minimize
from scipy.special import gammaln
from sklearn.linear_model import LogisticRegression, PoissonRegressor

import ticselect as ts

FIELDS = ("hessian", "grad_cov", "per_sample_grads", "penalty")


def _assert_same_curvature(a, b, rtol):
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        # entries that are zero up to rounding in one path: atol relative to the scale
        assert_allclose(x, y, rtol=rtol, atol=rtol * np.max(np.abs(y)), err_msg=f)
    assert_allclose(a.nll, b.nll, rtol=rtol)
    # the gradient at an optimum is a sum of cancelling terms: compare it on the
    # scale of those terms (Σ wᵢ|gᵢ|)
    scale = np.max(np.abs(b.per_sample_grads).sum(axis=0))
    assert_allclose(a.gradient, b.gradient, rtol=0, atol=rtol * scale)
    assert a.n_samples == b.n_samples


def _logistic_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X @ [1.0, -0.5, 0.3] + 0.2 + rng.logistic(size=n) > 0).astype(float)
    w = rng.integers(1, 4, n).astype(float)
    return X, y, w


def test_logistic_reproduces_glm_path_with_penalty_and_weights():
    X, y, w = _logistic_data()
    C = 0.7
    est = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y, w)
    ref = ts.curvature(est, X, y, sample_weight=w)

    def nll(theta):
        eta = anp.dot(X, theta[:3]) + theta[3]
        return anp.logaddexp(0.0, eta) - y * eta

    theta = np.append(est.coef_.ravel(), est.intercept_)
    curv = ts.curvature_from_loss(
        nll,
        theta,
        penalty=[1 / C] * 3 + [0.0],
        param_names=ref.param_names,
        sample_weight=w,
    )
    # Same exact quantities, two code paths (closed-form GLM chain rule vs autograd):
    # agreement to rounding.
    _assert_same_curvature(curv, ref, rtol=1e-8)
    a, b = ts.criteria(curv), ts.criteria(ref)
    assert_allclose(a.tic, b.tic, rtol=1e-10)
    assert a.n_params == b.n_params == 4
    assert_allclose(curv.loss_fn(theta + 0.1), ref.loss_fn(theta + 0.1), rtol=1e-12)
    assert_allclose(
        curv.hessian_fn(theta + 0.1), ref.hessian_fn(theta + 0.1), rtol=1e-8
    )


def test_poisson_with_offset_reproduces_glm_path():
    d = sm.datasets.cpunish.load()
    y = np.asarray(d.endog, float)
    exog = np.asarray(d.exog, float).copy()
    exog[:, 3] = np.log(exog[:, 3])
    X = sm.add_constant(exog)
    offset = np.linspace(-0.2, 0.2, len(y))
    res = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(tol=1e-13)
    ref = ts.curvature(res)
    const = gammaln(y + 1)

    def nll(theta):
        eta = anp.dot(X, theta) + offset
        return anp.exp(eta) - y * eta + const

    curv = ts.curvature_from_loss(nll, np.asarray(res.params))
    _assert_same_curvature(curv, ref, rtol=1e-8)
    assert_allclose(ts.criteria(curv).loglik, res.llf, rtol=1e-12)


def _fd_reference(per_sample, theta, h=1e-5):
    """Central differences: per-sample gradients and Hessian of the sum."""
    d = len(theta)
    G = np.column_stack(
        [
            (per_sample(theta + h * e) - per_sample(theta - h * e)) / (2 * h)
            for e in np.eye(d)
        ]
    )
    grad = lambda t: np.column_stack(  # noqa: E731
        [
            (per_sample(t + h * e).sum() - per_sample(t - h * e).sum()) / (2 * h)
            for e in np.eye(d)
        ]
    ).ravel()
    hh = 1e-4
    H = np.column_stack(
        [(grad(theta + hh * e) - grad(theta - hh * e)) / (2 * hh) for e in np.eye(d)]
    )
    return G, 0.5 * (H + H.T)


def test_heteroscedastic_gaussian_matches_finite_differences():
    rng = np.random.default_rng(3)
    n = 500
    x = rng.normal(size=n)
    y = 1.0 + 2.0 * x + np.exp(0.5 * (0.2 + 0.6 * x)) * rng.standard_t(5, size=n)

    def nll(theta):
        mean = theta[0] + theta[1] * x
        log_var = theta[2] + theta[3] * x
        return 0.5 * (
            anp.log(2 * anp.pi) + log_var + (y - mean) ** 2 / anp.exp(log_var)
        )

    fit = minimize(
        lambda t: nll(t).sum(), np.zeros(4), method="BFGS", options={"gtol": 1e-9}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ts.NotStationaryWarning)
        curv = ts.curvature_from_loss(nll, fit.x, param_names=list("abcd"))
    G, H = _fd_reference(lambda t: np.asarray(nll(t)), fit.x)
    # central differences: truncation ~h², rounding ~eps/h; 1e-6 relative is safe
    assert_allclose(curv.per_sample_grads, G, rtol=1e-6, atol=1e-7)
    assert_allclose(curv.hessian, H, rtol=1e-5, atol=1e-4)
    pen_fd = np.trace(np.linalg.solve(H, G.T @ G))
    crit = ts.criteria(curv)
    assert_allclose(crit.tic_penalty, pen_fd, rtol=1e-5)
    # t(5) errors: the Gaussian is misspecified, TIC penalty above k = 4
    assert crit.tic_penalty > 4.5
    assert curv.param_names == list("abcd") and crit.n_params == 4


def test_weights_equal_row_duplication():
    X, y, w = _logistic_data(200, seed=1)
    wi = w.astype(int)

    def make(Xa, ya):
        def nll(theta):
            eta = anp.dot(Xa, theta[:3]) + theta[3]
            return anp.logaddexp(0.0, eta) - ya * eta

        return nll

    theta = np.array([0.8, -0.4, 0.2, 0.1])
    a = ts.curvature_from_loss(make(X, y), theta, sample_weight=w, stationarity_tol=2)
    b = ts.curvature_from_loss(
        make(np.repeat(X, wi, 0), np.repeat(y, wi)), theta, stationarity_tol=2
    )
    for f in ("hessian", "grad_cov", "gradient"):
        assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-12)
    assert a.n_samples == b.n_samples


def test_not_stationary_warns():
    X, y, _ = _logistic_data()

    def nll(theta):
        eta = anp.dot(X, theta[:3]) + theta[3]
        return anp.logaddexp(0.0, eta) - y * eta

    with pytest.warns(ts.NotStationaryWarning):
        curv = ts.curvature_from_loss(nll, np.zeros(4))
    assert "not_stationary" in curv.flags


def test_bad_input():
    def nll(theta):
        return anp.ones(3) * theta[0] ** 2

    with pytest.raises(TypeError, match="callable|function"):
        ts.curvature_from_loss(3, [0.0])
    with pytest.raises(ValueError, match="1-D"):
        ts.curvature_from_loss(nll, [[0.0]])
    with pytest.raises(ValueError, match="param_names"):
        ts.curvature_from_loss(nll, [0.0], param_names=["a", "b"])
    with pytest.raises(ValueError, match="penalty"):
        ts.curvature_from_loss(nll, [0.0], penalty=-1.0)
    with pytest.raises(ValueError, match="one NLL per row"):
        ts.curvature_from_loss(lambda t: t[0] ** 2, [0.0])
    with pytest.raises(ValueError, match="not finite"):
        ts.curvature_from_loss(lambda t: anp.log(t - 1.0) * anp.ones(2), [0.0])
    with pytest.raises(ValueError, match="GiB"):
        ts.curvature_from_loss(nll, [0.0], max_memory=10)
    with pytest.raises(ValueError, match="sample_weight"):
        ts.curvature_from_loss(nll, [0.0], sample_weight=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="penalty must be"):
        ts.curvature_from_loss(nll, [0.0], penalty="strong")
    # plain numpy runs on floats but not under autograd's tracing: say so
    with pytest.raises(TypeError, match="write it with autograd.numpy"):
        ts.curvature_from_loss(lambda t: np.exp(np.ones((3, 1)) @ np.asarray(t)), [0.0])


def test_poisson_regressor_penalty_units():
    """PoissonRegressor(alpha) is λ = alpha·n in loss units: the autograd curvature
    with that penalty is stationary at sklearn's fit and equals the GLM path."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y = rng.poisson(np.exp(0.3 + 0.5 * X[:, 0])).astype(float)
    est = PoissonRegressor(alpha=0.05, tol=1e-12, max_iter=1000).fit(X, y)
    ref = ts.curvature(est, X, y)

    def nll(theta):
        eta = anp.dot(X, theta[:2]) + theta[2]
        return anp.exp(eta) - y * eta + gammaln(y + 1)

    theta = np.append(est.coef_, est.intercept_)
    curv = ts.curvature_from_loss(nll, theta, penalty=[0.05 * 300] * 2 + [0.0])
    assert curv.stationarity < 1e-6
    _assert_same_curvature(curv, ref, rtol=1e-8)


def test_flatness_and_compare_work_on_a_user_model():
    """The curvature of a user's likelihood feeds the other wings like any other:
    flatness (which perturbs θ through loss_fn/hessian_fn) and compare()."""
    X, y, _ = _logistic_data(300, seed=4)
    est = LogisticRegression(C=1.0, tol=1e-12).fit(X, y)

    def nll(theta):
        eta = anp.dot(X, theta[:3]) + theta[3]
        return anp.logaddexp(0.0, eta) - y * eta

    theta = np.append(est.coef_.ravel(), est.intercept_)
    names = ["x0", "x1", "x2", "intercept"]
    mine = ts.curvature_from_loss(
        nll, theta, penalty=[1.0] * 3 + [0.0], param_names=names
    )
    ref = ts.curvature(est, X, y)
    # a user's likelihood carries no layer inputs, so relative flatness can only be
    # Petzka et al.'s raw κ there: compare the raw κ of both
    a = ts.flatness(mine, random_state=0, normalize=False)
    b = ts.flatness(ref, random_state=0, normalize=False)
    for field in (
        "trace",
        "logdet",
        "relative_flatness",
        "pacgen",
        "expected_sharpness",
        "fisher_rao_norm",
    ):
        va, vb = getattr(a, field), getattr(b, field)
        assert va is not None and np.isfinite(va), field
        # same loss, Hessian, parameter names and seed: the same measures
        assert_allclose(va, vb, rtol=1e-6, err_msg=field)
    table = ts.compare({"autograd": ts.criteria(mine), "sklearn": ts.criteria(ref)})
    assert "autograd" in str(table)
