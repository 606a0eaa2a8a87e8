"""MLP curvature: closed form vs autograd vs finite differences, sklearn adapter."""

import warnings

import numpy as np
import pytest
from autograd import hessian, jacobian
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.curvature._mlp import (
    MLPSpec,
    brute_force_hessian,
    brute_force_per_sample_grads,
    flatten,
    forward,
    gauss_newton_kernel,
    mlp_exact,
    output_loss,
    predict,
)
from ticselect.curvature.adapters.sklearn_mlp import mlp_curvature, mlp_spec

ACTS = ["identity", "logistic", "tanh", "relu"]
# (output activation, number of outputs)
OUTS = [("identity", 2), ("logistic", 1), ("logistic", 2), ("softmax", 3), ("exp", 2)]


def _random_spec(rng, act, out, K, sizes=(3, 4, 3), n=25, alpha=0.3):
    """A two-hidden-layer network with random weights and matching targets."""
    dims = list(sizes) + [K]
    coefs = [
        0.7 * rng.normal(size=(a, b)) for a, b in zip(dims[:-1], dims[1:], strict=True)
    ]
    ints = [0.3 * rng.normal(size=b) for b in dims[1:]]
    X = rng.normal(size=(n, sizes[0]))
    if out == "identity":
        Y = rng.normal(size=(n, K))
    elif out == "logistic":
        Y = (rng.random((n, K)) < 0.5).astype(float)
    elif out == "softmax":
        Y = np.eye(K)[rng.integers(0, K, n)]
    else:
        Y = rng.poisson(2.0, size=(n, K)).astype(float)
    w = rng.integers(1, 4, n).astype(float)
    gauss = out == "identity"
    return MLPSpec(coefs, ints, act, out, X, Y, w, alpha, 0.8 if gauss else None, gauss)


def _theta(spec):
    th = flatten(spec.coefs, spec.intercepts)
    return np.append(th, spec.sigma2) if spec.sigma2_is_param else th


def _with_theta(spec, theta):
    shapes, start = spec.layer_shapes, 0
    coefs, ints = [], []
    for a, b in shapes:
        M = theta[start : start + a * b].reshape(a, b)
        coefs.append(M[:-1].copy())
        ints.append(M[-1].copy())
        start += a * b
    s2 = theta[-1] if spec.sigma2_is_param else spec.sigma2
    return MLPSpec(
        coefs,
        ints,
        spec.activation,
        spec.output,
        spec.X,
        spec.Y,
        spec.sample_weight,
        spec.alpha,
        s2,
        spec.sigma2_is_param,
    )


def assert_matches_reference(spec, H, G):
    """``H`` and per-sample ``G`` against autograd on this file's own densities.

    Not ticselect's brute-force helpers, which share ticselect's loss code.  Exact
    float64 derivatives evaluated in a different order: agreement to rounding.
    """
    th = _theta(spec)
    ref_H = hessian(_reference_nll(spec))(th)
    ref_G = jacobian(_reference_nll(spec, per_sample=True))(th)
    assert_allclose(H, ref_H, rtol=1e-10, atol=1e-11)
    assert_allclose(G, ref_G, rtol=1e-10, atol=1e-12)
    return ref_H, ref_G


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("out,K", OUTS)
def test_exact_matches_autograd_reference(act, out, K):
    rng = np.random.default_rng(1)
    spec = _random_spec(rng, act, out, K)
    nll, G, H, C = mlp_exact(spec)
    ref_H, ref_G = assert_matches_reference(spec, H, G)
    th = _theta(spec)
    assert_allclose(nll, _reference_nll(spec, per_sample=True)(th), rtol=1e-12)
    # ticselect's own brute-force helpers agree too (they back other tests)
    assert_allclose(brute_force_hessian(spec), ref_H, rtol=1e-10, atol=1e-11)
    assert_allclose(brute_force_per_sample_grads(spec), ref_G, rtol=1e-10, atol=1e-12)
    assert_allclose(H, H.T, rtol=0, atol=1e-12)
    assert_allclose(C, G.T @ (spec.sample_weight[:, None] * G), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("out,K", OUTS)
def test_exact_matches_central_differences(act, out, K):
    rng = np.random.default_rng(2)
    spec = _random_spec(rng, act, out, K, sizes=(3, 3, 2), n=15)
    # Step 1e-5: truncation error ~h² ≈ 1e-10 (relative), rounding ~eps/h ≈ 1e-11, so
    # rtol 1e-6 leaves a wide margin without hiding an O(1) algebra slip.  relu uses
    # 1e-6 and checks that no pre-activation is within 10 steps of the kink at 0.
    h = 1e-6 if act == "relu" else 1e-5
    if act == "relu":
        _, pre, _ = forward(spec)
        assert min(np.abs(u).min() for u in pre[:-1]) > 10 * h
    theta = _theta(spec)
    w = spec.sample_weight
    _, G, H, _ = mlp_exact(spec)
    d = theta.size
    H_fd = np.empty((d, d))
    G_fd = np.empty_like(G)
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        nll_p, Gp, _, _ = mlp_exact(_with_theta(spec, theta + e), hessian=False)
        nll_m, Gm, _, _ = mlp_exact(_with_theta(spec, theta - e), hessian=False)
        H_fd[:, j] = (w @ Gp - w @ Gm) / (2 * h)
        G_fd[:, j] = (nll_p - nll_m) / (2 * h)
    scale_h = np.abs(H).max()
    assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6 * scale_h)
    assert_allclose(G, G_fd, rtol=1e-6, atol=1e-6 * np.abs(G).max())


@pytest.mark.parametrize("act", ["logistic", "tanh"])
@pytest.mark.parametrize("out,K", [("identity", 2), ("softmax", 3), ("logistic", 1)])
def test_gauss_newton_plus_residual_is_hessian(act, out, K):
    from autograd import hessian

    rng = np.random.default_rng(3)
    spec = _random_spec(rng, act, out, K)
    spec.sigma2_is_param = False  # the split is over the network weights
    _, _, H, _ = mlp_exact(spec)
    _, pre, _ = forward(spec)
    _, r, _ = output_loss(spec.output, pre[-1], spec.Y, spec.sigma2)
    wr = spec.sample_weight[:, None] * r  # held fixed: Σᵢ wᵢ Σ_k r_ik ∇²z_ik
    logits = _logits_function(spec)
    R = hessian(lambda th: (wr * logits(th)).sum())(_theta(spec))
    GN = gauss_newton_kernel(spec)
    assert_allclose(GN + R, H, rtol=1e-10, atol=1e-11)
    # The residual is not negligible here, so the check tests both parts.
    assert np.abs(R).max() > 1e-3 * np.abs(H).max()
    # The Gauss–Newton part is positive semi-definite, H in general is not.
    assert np.linalg.eigvalsh(GN).min() > -1e-10 * np.abs(GN).max()


def _logits_function(spec):
    import autograd.numpy as anp

    act = {
        "identity": lambda u: u,
        "logistic": lambda u: 1 / (1 + anp.exp(-u)),
        "tanh": anp.tanh,
        "relu": lambda u: anp.maximum(u, 0.0),
    }[spec.activation]

    def z(theta):
        A, start = spec.X, 0
        for l_, (a, b) in enumerate(spec.layer_shapes):
            M = anp.reshape(theta[start : start + a * b], (a, b))
            start += a * b
            A = anp.dot(A, M[:-1]) + M[-1]
            if l_ < len(spec.layer_shapes) - 1:
                A = act(A)
        return A

    return z


def _reference_nll(spec, per_sample=False):
    """Per-sample NLL of the network written anew from the output densities.

    Independent of ticselect's ``loss_function``: the logits come from this file's
    ``_logits_function`` and each density is the textbook one (checked against
    scipy.stats in ``test_reference_nll_matches_scipy_stats``).  ``autograd``
    differentiates it for the Hessian / per-sample-gradient oracles.
    """
    import autograd.numpy as anp
    from autograd.scipy.special import gammaln, logsumexp

    logits = _logits_function(spec)
    Y, w = spec.Y, spec.sample_weight

    def f(theta):
        z = logits(theta)
        if spec.output == "identity":  # K normals N(z_k, σ²), one shared σ²
            s2 = theta[-1] if spec.sigma2_is_param else spec.sigma2
            li = anp.sum(0.5 * anp.log(2 * np.pi * s2) + (Y - z) ** 2 / (2 * s2), 1)
        elif spec.output == "logistic":  # K Bernoulli(σ(z_k)), log σ(z) = -log(1+e⁻ᶻ)
            li = anp.sum(
                Y * anp.logaddexp(0.0, -z) + (1 - Y) * anp.logaddexp(0.0, z), 1
            )
        elif spec.output == "softmax":  # categorical, log p_k = z_k - log Σ e^z
            li = -anp.sum(Y * (z - logsumexp(z, axis=1, keepdims=True)), 1)
        else:  # "exp": K Poisson(e^z_k)
            li = anp.sum(anp.exp(z) - Y * z + gammaln(Y + 1.0), 1)
        return li if per_sample else anp.sum(w * li)

    return f


@pytest.mark.parametrize("out,K", OUTS)
def test_reference_nll_matches_scipy_stats(out, K):
    import scipy.stats as st

    spec = _random_spec(np.random.default_rng(30), "tanh", out, K)
    z = _logits_function(spec)(_theta(spec))
    Y = spec.Y
    if out == "identity":
        ref = -st.norm.logpdf(Y, loc=z, scale=np.sqrt(spec.sigma2)).sum(1)
    elif out == "logistic":
        ref = -st.bernoulli.logpmf(Y, 1 / (1 + np.exp(-z))).sum(1)
    elif out == "softmax":
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        ref = np.array([-st.multinomial.logpmf(Y[i], 1, p[i]) for i in range(len(Y))])
    else:
        ref = -st.poisson.logpmf(Y, np.exp(z)).sum(1)
    # different float64 expressions of the same densities: rounding only
    got = _reference_nll(spec, per_sample=True)(_theta(spec))
    assert_allclose(got, ref, rtol=1e-12)


def test_softmax_gauge_is_flat():
    rng = np.random.default_rng(4)
    spec = _random_spec(rng, "tanh", "softmax", 4)
    _, G, H, _ = mlp_exact(spec)
    U = spec.gauge()
    assert U.shape == (spec.n_params, spec.coefs[-1].shape[0] + 1)
    assert_allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-14)
    assert_allclose(H @ U, 0.0, atol=1e-12 * np.abs(H).max())
    assert_allclose(G @ U, 0.0, atol=1e-12 * np.abs(G).max())


# ----------------------------------------------------------------- sklearn adapter
N = 80


def _data(task, rng):
    X = rng.normal(size=(N, 3))
    if task == "binary":
        y = np.where(X[:, 0] + rng.normal(size=N) > 0, "yes", "no")
    elif task == "multiclass":
        y = np.digitize(X[:, 0] + 0.5 * rng.normal(size=N), [-0.5, 0.5])
    elif task == "multilabel":
        y = (X[:, :2] + rng.normal(size=(N, 2)) > 0).astype(int)
    elif task == "regression":
        y = np.sin(X[:, 0]) + 0.5 * X[:, 1] - X[:, 2] + 0.3 * rng.normal(size=N)
    elif task == "multioutput":
        y = np.column_stack([X[:, 0], X[:, 1] ** 2]) + 0.3 * rng.normal(size=(N, 2))
    else:  # poisson
        y = rng.poisson(np.exp(0.5 * X[:, 0])).astype(float)
    return X, y


def _fit(task, act="tanh", sw=None, **kw):
    rng = np.random.default_rng(5)
    X, y = _data(task, rng)
    params = dict(
        hidden_layer_sizes=(3,),
        activation=act,
        solver="lbfgs",
        alpha=0.5,
        tol=1e-12,
        max_iter=5000,
        max_fun=50000,
        random_state=0,
    )
    params.update(kw)
    if task in ("regression", "multioutput", "poisson"):
        if task == "poisson":
            params["loss"] = "poisson"
        est = MLPRegressor(**params)
    else:
        est = MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, sample_weight=sw)
    return est, X, y


TASKS = ["binary", "multiclass", "multilabel", "regression", "poisson"]


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("task", TASKS + ["multioutput"])
def test_forward_pass_reproduces_sklearn(task, act):
    est, X, y = _fit(task, act, max_iter=30)
    spec = mlp_spec(est, X, y, np.ones(N))
    P = predict(spec)
    if isinstance(est, MLPClassifier):
        ref = est.predict_proba(X)
        if P.shape[1] == 1:
            P = np.column_stack([1 - P[:, 0], P[:, 0]])
    else:
        ref = est.predict(X).reshape(P.shape)
    # Same operations in the same order as scikit-learn: equal to float64 rounding.
    assert_allclose(P, ref, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("weighted", [False, True])
def test_stationarity_of_lbfgs_fits(task, weighted):
    sw = np.random.default_rng(6).integers(1, 4, N).astype(float) if weighted else None
    est, X, y = _fit(task, sw=sw)
    curv = ts.curvature(est, X, y, sample_weight=sw)
    # scipy's L-BFGS-B stops on its relative-decrease test (ftol ~2e-9) before gtol:
    # relative gradients of 1e-4..1e-5 are typical, far below the 1e-2 warning level.
    assert curv.stationarity < 1e-3
    # The units matter: a penalty off by a factor 2 is clearly not stationary.
    wrong = curv.gradient + curv.penalty * curv.params
    scale = np.abs(curv.per_sample_grads).T @ (np.ones(N) if sw is None else sw)
    assert np.max(np.abs(wrong) / (scale + np.abs(2 * curv.penalty * curv.params))) > (
        10 * curv.stationarity
    )


def test_multioutput_regression_shares_one_variance():
    est, X, y = _fit("multioutput")
    curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
    resid = y - est.predict(X)
    assert_allclose(curv.dispersion, np.mean(resid**2), rtol=1e-12)
    assert curv.param_names[-1] == "dispersion"
    assert_allclose(curv.penalty[0], est.alpha / curv.dispersion, rtol=1e-12)
    assert_allclose(curv.gradient[-1], 0.0, atol=1e-8 * N)


def test_integer_weights_equal_row_duplication():
    rng = np.random.default_rng(7)
    est, X, y = _fit("multiclass")
    w = rng.integers(0, 4, N)
    a = mlp_curvature(est, X, y, w.astype(float))
    idx = np.repeat(np.arange(N), w)
    b = mlp_curvature(est, X[idx], y[idx], np.ones(idx.size))
    for attr in ("hessian", "grad_cov", "gradient"):
        assert_allclose(getattr(a, attr), getattr(b, attr), rtol=1e-10, atol=1e-10)
    assert_allclose(a.nll, b.nll, rtol=1e-12)
    assert a.n_samples == b.n_samples == w.sum()


def test_regression_weights_equal_duplication_including_variance():
    rng = np.random.default_rng(8)
    est, X, y = _fit("regression")
    w = rng.integers(0, 3, N)
    a = mlp_curvature(est, X, y, w.astype(float))
    idx = np.repeat(np.arange(N), w)
    b = mlp_curvature(est, X[idx], y[idx], np.ones(idx.size))
    assert_allclose(a.dispersion, b.dispersion, rtol=1e-12)
    assert_allclose(a.hessian, b.hessian, rtol=1e-10, atol=1e-10)
    assert_allclose(a.grad_cov, b.grad_cov, rtol=1e-10, atol=1e-10)


def test_criteria_and_gauge_count():
    est, X, y = _fit("multiclass")
    curv = ts.curvature(est, X, y)
    crit = ts.criteria(curv)
    d = sum(W.size + b.size for W, b in zip(est.coefs_, est.intercepts_, strict=True))
    assert curv.n_params == d
    assert crit.n_params == d - (est.coefs_[-1].shape[0] + 1)
    assert curv.family == "mlp" and curv.link == "softmax"
    # tr(H_λ⁻¹C) on the complement of the softmax gauge, by NumPy: Q spans the
    # orthogonal complement of the gauge columns (SVD), then one solve
    U = np.linalg.svd(curv.gauge, full_matrices=True)[0]
    Q = U[:, curv.gauge.shape[1] :]
    H_lam = Q.T @ (curv.hessian + np.diag(curv.penalty)) @ Q
    expected = np.trace(np.linalg.solve(H_lam, Q.T @ curv.grad_cov @ Q))
    # rtol: Cholesky on an equilibrated matrix vs a plain LU solve; cond(H_λ) < 1e4
    assert_allclose(crit.tic_penalty, expected, rtol=1e-9)
    assert_allclose(crit.tic, -2 * crit.loglik + 2 * expected, rtol=1e-9)
    # Loss units: -L equals minus the summed log-loss of predict_proba.
    p = est.predict_proba(X)[np.arange(N), y]
    assert_allclose(curv.nll, -np.sum(np.log(p)), rtol=1e-12)


def test_pipeline_equals_bare_network():
    rng = np.random.default_rng(9)
    X, y = _data("binary", rng)
    X = 3.0 * X + 1.0
    pipe = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(3,),
            activation="tanh",
            solver="lbfgs",
            alpha=1.0,
            max_iter=2000,
            tol=1e-10,
            random_state=0,
        ),
    ).fit(X, y)
    a = ts.curvature(pipe, X, y)
    b = ts.curvature(pipe[-1], pipe[0].transform(X), y)
    assert_allclose(a.hessian, b.hessian, rtol=1e-14)


def test_adam_fit_stopped_early_warns():
    est, X, y = _fit("binary", solver="adam", max_iter=5, learning_rate_init=0.01)
    with pytest.warns(ts.NotStationaryWarning, match="solver='adam'"):
        ts.curvature(est, X, y)


def test_bad_input_errors():
    rng = np.random.default_rng(10)
    X, y = _data("binary", rng)
    with pytest.raises(NotFittedError, match="not fitted"):
        ts.curvature(MLPClassifier(), X, y)
    est, X, y = _fit("binary")
    with pytest.raises(ValueError, match="features"):
        ts.curvature(est, X[:, :2], y)
    with pytest.raises(ValueError, match="labels the network was not fitted on"):
        ts.curvature(est, X, np.where(y == "yes", "yes", "maybe"))
    with pytest.raises(ValueError, match=r"needs about .* GiB"):
        mlp_curvature(est, X, y, np.ones(N), method="exact", max_memory=1e3)
    with pytest.raises(ValueError, match="matrix-free"):
        mlp_curvature(est, X, y, np.ones(N), max_memory=1e3)
    est.coefs_[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        ts.curvature(est, X, y)
    est, X, y = _fit("regression")
    with pytest.raises(ValueError, match="dispersion"):
        ts.curvature(est, X, y, dispersion=-1.0)
    with pytest.raises(ValueError, match="shape"):
        ts.curvature(est, X, np.column_stack([y, y]))
