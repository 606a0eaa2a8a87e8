"""Curvature of scikit-learn GLMs: exactness, stationarity, invariances."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    TweedieRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts

from ._reference_glm import reference_curvature

N, P = 120, 3


def _make_data(kind, seed, n=N, p=P):
    """Data whose distribution fits the family (values in its support)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    eta = 0.3 + X @ np.linspace(0.5, -0.4, p)
    if kind == "gaussian":
        y = eta + rng.normal(scale=0.7, size=n)
    elif kind == "binary":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    elif kind == "multiclass":
        logits = np.column_stack([eta, -eta, 0.5 * X[:, 0]])
        prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        y = np.array([rng.choice(3, p=pr) for pr in prob])
    elif kind == "count":
        y = rng.poisson(np.exp(0.5 * eta))
    elif kind == "positive":
        y = rng.gamma(shape=3.0, scale=np.exp(0.5 * eta) / 3.0)
    else:
        raise ValueError(kind)
    return X, y


# name -> (estimator factory taking fit_intercept, data kind, family, link, dispersion)
TIGHT = dict(tol=1e-12, max_iter=10_000)
GLM_TIGHT = dict(solver="newton-cholesky", tol=1e-12, max_iter=1000)
CONFIGS = {
    "linear": (
        lambda fi: LinearRegression(fit_intercept=fi),
        "gaussian",
        "gaussian",
        "identity",
        True,
    ),
    "ridge": (
        lambda fi: Ridge(alpha=3.0, fit_intercept=fi, solver="cholesky"),
        "gaussian",
        "gaussian",
        "identity",
        True,
    ),
    "logistic": (
        lambda fi: LogisticRegression(C=0.5, fit_intercept=fi, **TIGHT),
        "binary",
        "binomial",
        "logit",
        False,
    ),
    "logistic_none": (
        lambda fi: LogisticRegression(C=np.inf, fit_intercept=fi, **TIGHT),
        "binary",
        "binomial",
        "logit",
        False,
    ),
    "logistic_liblinear": (
        lambda fi: LogisticRegression(
            C=0.5,
            fit_intercept=fi,
            solver="liblinear",
            intercept_scaling=2.0,
            tol=1e-12,
            max_iter=10_000,
        ),
        "binary",
        "binomial",
        "logit",
        False,
    ),
    "multinomial": (
        lambda fi: LogisticRegression(C=0.5, fit_intercept=fi, **TIGHT),
        "multiclass",
        "multinomial",
        "softmax",
        False,
    ),
    "multinomial_none": (
        lambda fi: LogisticRegression(C=np.inf, fit_intercept=fi, **TIGHT),
        "multiclass",
        "multinomial",
        "softmax",
        False,
    ),
    "gamma_none": (
        lambda fi: GammaRegressor(alpha=0.0, fit_intercept=fi, **GLM_TIGHT),
        "positive",
        "gamma",
        "log",
        True,
    ),
    "tweedie0_none": (
        lambda fi: TweedieRegressor(power=0, alpha=0.0, fit_intercept=fi, **GLM_TIGHT),
        "gaussian",
        "gaussian",
        "identity",
        True,
    ),
    "tweedie2_none": (
        lambda fi: TweedieRegressor(power=2, alpha=0.0, fit_intercept=fi, **GLM_TIGHT),
        "positive",
        "gamma",
        "log",
        True,
    ),
    "tweedie3_none": (
        lambda fi: TweedieRegressor(power=3, alpha=0.0, fit_intercept=fi, **GLM_TIGHT),
        "positive",
        "inverse_gaussian",
        "log",
        True,
    ),
    "poisson": (
        lambda fi: PoissonRegressor(alpha=0.05, fit_intercept=fi, **GLM_TIGHT),
        "count",
        "poisson",
        "log",
        False,
    ),
    "poisson_none": (
        lambda fi: PoissonRegressor(alpha=0.0, fit_intercept=fi, **GLM_TIGHT),
        "count",
        "poisson",
        "log",
        False,
    ),
    "gamma": (
        lambda fi: GammaRegressor(alpha=0.05, fit_intercept=fi, **GLM_TIGHT),
        "positive",
        "gamma",
        "log",
        True,
    ),
    "tweedie0": (
        lambda fi: TweedieRegressor(power=0, alpha=0.05, fit_intercept=fi, **GLM_TIGHT),
        "gaussian",
        "gaussian",
        "identity",
        True,
    ),
    "tweedie0_log": (
        lambda fi: TweedieRegressor(
            power=0,
            link="log",
            alpha=0.05,
            fit_intercept=fi,
            tol=1e-12,
            max_iter=10_000,
        ),
        "positive",
        "gaussian",
        "log",
        True,
    ),
    "tweedie1": (
        lambda fi: TweedieRegressor(power=1, alpha=0.05, fit_intercept=fi, **GLM_TIGHT),
        "count",
        "poisson",
        "log",
        False,
    ),
    "tweedie2": (
        lambda fi: TweedieRegressor(power=2, alpha=0.05, fit_intercept=fi, **GLM_TIGHT),
        "positive",
        "gamma",
        "log",
        True,
    ),
    "tweedie3": (
        lambda fi: TweedieRegressor(power=3, alpha=0.05, fit_intercept=fi, **GLM_TIGHT),
        "positive",
        "inverse_gaussian",
        "log",
        True,
    ),
}


def _fit(name, fit_intercept=True, weighted=False, seed=0):
    factory, kind, *_ = CONFIGS[name]
    X, y = _make_data(kind, seed)
    w = (
        np.random.default_rng(seed + 1).integers(1, 4, size=len(y))
        if weighted
        else None
    )
    est = factory(fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # solver chatter; stationarity is asserted
        est.fit(X, y, sample_weight=w)
    return est, X, y, w


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_autograd_reference(name, weighted):
    """H, per-sample gradients and NLL equal an independent autograd computation."""
    est, X, y, w = _fit(name, weighted=weighted)
    _, _, family, link, has_disp = CONFIGS[name]
    curv = ts.curvature(est, X, y, w)
    y_ref = np.searchsorted(est.classes_, y) if hasattr(est, "classes_") else y
    n_classes = len(est.classes_) if family == "multinomial" else 1
    losses, G, H = reference_curvature(
        family,
        link,
        X,
        y_ref.astype(float),
        curv.params,
        fit_intercept=True,
        n_classes=n_classes,
        has_dispersion=has_disp,
        weights=w,
    )
    wv = np.ones(len(y)) if w is None else w
    # Both sides are float64 evaluations of the same closed forms: agreement to
    # ~1e-10 relative is rounding; atol covers entries that cancel to ~0.
    assert_allclose(curv.nll, np.sum(wv * losses), rtol=1e-11)
    assert_allclose(curv.per_sample_grads, G, rtol=1e-9, atol=1e-10)
    assert_allclose(curv.hessian, H, rtol=1e-9, atol=1e-9 * np.abs(H).max())
    assert_allclose(
        curv.grad_cov, (G * wv[:, None]).T @ G, rtol=1e-9, atol=1e-10 * np.abs(H).max()
    )
    assert curv.dispersion_is_param == has_disp
    assert len(curv.param_names) == curv.n_params


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_stationary_at_tight_fit(name, fit_intercept, weighted):
    """Σ wᵢ gᵢ + λPθ̂ ≈ 0 proves the penalty conversion (λ, P, dispersion)."""
    est, X, y, w = _fit(name, fit_intercept, weighted)
    curv = ts.curvature(est, X, y, w)
    assert curv.stationarity <= 1e-4, (curv.stationarity, curv.gradient)


def test_penalty_values():
    """The documented conversions, checked on their own numbers."""
    est, X, y, _ = _fit("logistic")
    assert_allclose(ts.curvature(est, X, y).penalty, [2.0] * P + [0.0])
    est, X, y, _ = _fit("logistic_liblinear")
    assert_allclose(ts.curvature(est, X, y).penalty, [2.0] * P + [2.0 / 4.0])
    est, X, y, w = _fit("poisson", weighted=True)
    assert_allclose(ts.curvature(est, X, y, w).penalty, [0.05 * w.sum()] * P + [0.0])
    est, X, y, _ = _fit("ridge")
    curv = ts.curvature(est, X, y)
    assert_allclose(curv.penalty, [3.0 / curv.dispersion] * P + [0.0, 0.0])
    resid = y - est.predict(X)
    assert_allclose(curv.dispersion, np.mean(resid**2), rtol=1e-12)  # ML σ²


@pytest.mark.parametrize(
    "name", ["ridge", "logistic", "multinomial", "gamma", "poisson", "tweedie3"]
)
def test_integer_weights_equal_duplication(name):
    est, X, y, w = _fit(name, weighted=True)
    a = ts.criteria(ts.curvature(est, X, y, w))
    b_curv = ts.curvature(est, np.repeat(X, w, axis=0), np.repeat(y, w))
    b = ts.criteria(b_curv)
    for field in ("loglik", "aic", "aicc", "bic", "tic", "soft_rank", "effective_dim"):
        assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-10)
    assert a.n_samples == b.n_samples == w.sum()


@pytest.mark.parametrize("name", ["logistic", "multinomial", "poisson", "gamma"])
def test_weighted_fit_equals_duplicated_fit(name):
    """End to end: fitting with integer weights and fitting the duplicated rows give
    the same criteria (the two fits agree to their tolerance, hence rtol 1e-6)."""
    est, X, y, w = _fit(name, weighted=True)
    Xd, yd = np.repeat(X, w, axis=0), np.repeat(y, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est_d = CONFIGS[name][0](True).fit(Xd, yd)
    a = ts.criteria(ts.curvature(est, X, y, w))
    b = ts.criteria(ts.curvature(est_d, Xd, yd))
    for field in ("loglik", "aic", "bic", "tic", "tic_penalty"):
        assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-6)
    assert a.n_params == b.n_params


@pytest.mark.parametrize("name", ["ridge", "logistic", "multinomial", "poisson"])
def test_row_permutation_invariance(name, rng):
    est, X, y, w = _fit(name, weighted=True)
    perm = rng.permutation(len(y))
    a = ts.criteria(ts.curvature(est, X, y, w))
    b = ts.criteria(ts.curvature(est, X[perm], y[perm], w[perm]))
    da, db = a.to_dict(), b.to_dict()
    assert da.pop("flags") == db.pop("flags")
    # fields that do not apply (QAIC without ĉ, ...) are None in both
    absent = [k for k, v in da.items() if v is None]
    assert absent == [k for k, v in db.items() if v is None]
    da = {k: v for k, v in da.items() if k not in absent}
    db = {k: v for k, v in db.items() if k not in absent}
    # stationarity is rounding noise ~1e-16, hence the atol
    assert_allclose(list(da.values()), list(db.values()), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name",
    ["linear", "logistic_none", "poisson_none", "multinomial_none", "gamma_none"],
)
def test_reparameterisation_invariance(name, rng):
    """X → XA (invertible A, unpenalised) leaves loglik, AIC and TIC unchanged."""
    est, X, y, _ = _fit(name)
    A = rng.normal(size=(P, P)) + 3 * np.eye(P)
    est2 = CONFIGS[name][0](True).fit(X @ A, y)
    a = ts.criteria(ts.curvature(est, X, y))
    b = ts.criteria(ts.curvature(est2, X @ A, y))
    # The two fits stop at tol=1e-12 of their own optima: criteria agree to ~1e-8.
    for field in ("loglik", "aic", "bic", "tic", "tic_penalty"):
        assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-7)


def test_label_relabelling_binary():
    est, X, y, _ = _fit("logistic")
    labels = np.array(["spam", "ham"])[y]  # 0 -> spam, 1 -> ham: classes reorder
    est2 = CONFIGS["logistic"][0](True).fit(X, labels)
    a = ts.criteria(ts.curvature(est, X, y))
    b = ts.criteria(ts.curvature(est2, X, labels))
    for field in ("loglik", "tic", "aic"):
        assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-8)


def test_multinomial_gauge_and_count():
    """Over-parameterised softmax: gauge directions are flat, k = (K-1)(p+1)."""
    est = LogisticRegression(C=np.inf, **TIGHT)
    X, y = _make_data("multiclass", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    curv = ts.curvature(est, X, y)
    assert curv.gauge.shape == (3 * (P + 1), P + 1)
    assert_allclose(curv.hessian @ curv.gauge, 0.0, atol=1e-10)
    assert_allclose(curv.per_sample_grads @ curv.gauge, 0.0, atol=1e-12)
    crit = ts.criteria(curv)
    assert crit.n_params == 2 * (P + 1)
    # Exact value: tr(H⁻¹C) on the orthogonal complement of the gauge (NumPy SVD and
    # solve; cond ~1e2, so rounding only) ...
    U = np.linalg.svd(curv.gauge, full_matrices=True)[0]
    Q = U[:, curv.gauge.shape[1] :]
    HQ, CQ = Q.T @ curv.hessian @ Q, Q.T @ curv.grad_cov @ Q
    assert_allclose(crit.tic_penalty, np.trace(np.linalg.solve(HQ, CQ)), rtol=1e-9)
    # ... and, the data being drawn from the model, near k (a sanity bound: the
    # sampling sd of tr(H⁻¹C) at n = 120 is ~10-20 % of k)
    assert 0.5 * crit.n_params < crit.tic_penalty < 2 * crit.n_params


def test_multinomial_matches_statsmodels_mnlogit():
    """sklearn's symmetric softmax and statsmodels' reference-class MNLogit are the
    same model: loglik and the TIC penalty must agree (reparameterisation invariance
    across libraries)."""
    import statsmodels.api as sm

    X, y = _make_data("multiclass", 4)
    est = LogisticRegression(C=np.inf, **TIGHT).fit(X, y)
    res = sm.MNLogit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0)
    a = ts.criteria(ts.curvature(est, X, y))
    b = ts.criteria(ts.curvature(res))
    assert_allclose(a.loglik, res.llf, rtol=1e-9)
    assert_allclose(a.loglik, b.loglik, rtol=1e-9)
    assert_allclose(a.tic_penalty, b.tic_penalty, rtol=1e-6)
    assert a.n_params == b.n_params


@pytest.mark.parametrize(
    "name", ["logistic", "poisson", "ridge", "multinomial", "gamma", "tweedie3"]
)
def test_sparse_equals_dense(name):
    est, X, y, w = _fit(name, weighted=True)
    a = ts.curvature(est, X, y, w)
    b = ts.curvature(est, sp.csr_matrix(X), y, w)
    assert_allclose(a.hessian, b.hessian, rtol=1e-12, atol=1e-12)
    assert_allclose(a.grad_cov, b.grad_cov, rtol=1e-12, atol=1e-12)
    assert_allclose(a.per_sample_grads, b.per_sample_grads, rtol=1e-12, atol=1e-14)
    assert_allclose(a.nll, b.nll, rtol=1e-13)


def test_pipeline_equals_manual_transform():
    X, y = _make_data("binary", 5)
    X = X * [1.0, 10.0, 100.0] + 5.0
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, **TIGHT)).fit(X, y)
    Xt = pipe[0].transform(X)
    a = ts.curvature(pipe, X, y)
    b = ts.curvature(pipe[-1], Xt, y)
    assert_allclose(a.hessian, b.hessian, rtol=1e-13)
    assert a.param_names == b.param_names


def test_information_criteria_matches_functions():
    X, y = _make_data("count", 6)
    model = ts.InformationCriteria(PoissonRegressor(alpha=0.01, **GLM_TIGHT)).fit(X, y)
    direct = ts.criteria(ts.curvature(model.estimator_, X, y))
    assert model.criteria_ == direct
    assert_allclose(model.predict(X), model.estimator_.predict(X))


def test_block_processing_equals_single_block(monkeypatch):
    """Row blocks are summed exactly: force tiny blocks and compare."""
    from ticselect.curvature import _glm

    est, X, y, w = _fit("multinomial", weighted=True)
    a = ts.curvature(est, X, y, w)
    monkeypatch.setattr(_glm, "_BLOCK_FLOATS", 7)
    b = ts.curvature(est, X, y, w)
    assert_allclose(a.hessian, b.hessian, rtol=1e-12, atol=1e-12)
    assert_allclose(a.grad_cov, b.grad_cov, rtol=1e-12, atol=1e-12)
    assert_allclose(a.gradient, b.gradient, atol=1e-10)


def test_not_stationary_warns_with_figure():
    X, y = _make_data("binary", 7)
    est = LogisticRegression(C=1.0, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X * 50, y)
    with pytest.warns(ts.NotStationaryWarning, match=r"relative gradient \d"):
        curv = ts.curvature(est, X * 50, y)
    assert curv.stationarity > 1e-2


def test_tic_equals_aic_penalty_when_information_equality_holds():
    """For Gaussian regression with known σ² and C replaced by its expectation the
    TIC penalty is k; here a closed form: tr(H⁻¹C) = Σ r²ᵢ hᵢᵢ / σ² with the
    leverages hᵢᵢ of the hat matrix (fixed σ² = 1)."""
    est, X, y, _ = _fit("linear")
    curv = ts.curvature(est, X, y, dispersion=1.0)
    Xt = np.column_stack([X, np.ones(len(y))])
    lev = np.einsum("ij,ji->i", Xt, np.linalg.solve(Xt.T @ Xt, Xt.T))
    r = y - est.predict(X)
    assert_allclose(ts.criteria(curv).tic_penalty, np.sum(r**2 * lev), rtol=1e-10)


@pytest.mark.parametrize("name", ["gamma", "multinomial", "poisson", "ridge"])
def test_evaluators_reproduce_the_curvature(name, rng):
    """loss_fn/hessian_fn at θ̂ give nll/H; off θ̂ they agree with the autograd
    reference; a far perturbation (exp overflow) is +inf without a warning."""
    est, X, y, w = _fit(name, weighted=True)
    _, _, family, link, has_disp = CONFIGS[name]
    curv = ts.curvature(est, X, y, w)
    assert_allclose(curv.loss_fn(curv.params), curv.nll, rtol=1e-13)
    assert_allclose(curv.hessian_fn(curv.params), curv.hessian, rtol=1e-12, atol=1e-12)
    theta = curv.params + 0.01 * rng.normal(size=curv.n_params)
    y_ref = np.searchsorted(est.classes_, y) if hasattr(est, "classes_") else y

    def reference(at):
        return reference_curvature(
            family,
            link,
            X,
            y_ref.astype(float),
            at,
            fit_intercept=True,
            n_classes=len(est.classes_) if family == "multinomial" else 1,
            has_dispersion=has_disp,
            weights=w,
        )

    losses, _, H = reference(theta)
    assert_allclose(curv.loss_fn(theta), np.sum(w * losses), rtol=1e-11)
    assert_allclose(curv.hessian_fn(theta), H, rtol=1e-9, atol=1e-9 * np.abs(H).max())
    far = curv.params + 1e3
    if link == "log":
        # exp(η) overflows: +inf (RuntimeWarnings are errors here, so no warning)
        assert curv.loss_fn(far) == np.inf
    else:
        # nothing overflows: the autograd reference at the far point
        far_losses = reference(far)[0]
        assert_allclose(curv.loss_fn(far), np.sum(w * far_losses), rtol=1e-11)
    if family == "multinomial":
        # the same shift of every class is a gauge direction: the loss is unchanged
        assert_allclose(curv.loss_fn(far), curv.nll, rtol=1e-10)


def test_evaluators_drop_reference_class():
    import statsmodels.api as sm

    X, y = _make_data("multiclass", 8)
    res = sm.MNLogit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0)
    curv = ts.curvature(res)
    assert_allclose(curv.loss_fn(curv.params), -res.llf, rtol=1e-12)
    theta = curv.params * 1.1
    sm_params = theta.reshape(2, -1).T  # our class-major layout -> (p, K - 1)
    assert_allclose(curv.loss_fn(theta), -res.model.loglike(sm_params), rtol=1e-12)
    assert_allclose(curv.hessian_fn(theta), -res.model.hessian(sm_params), rtol=1e-9)
