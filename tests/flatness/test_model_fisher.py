"""Model Fisher (generalised Gauss–Newton), its KFAC and diagonal approximations."""

import pickle
import warnings

import autograd.numpy as anp
import numpy as np
import pytest
import statsmodels.api as sm
from autograd import hessian, jacobian
from numpy.testing import assert_allclose
from scipy.stats import norm
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor

import ticselect as ts
from ticselect.curvature import _output
from ticselect.curvature._mlp import _theta, brute_force_per_sample_grads
from ticselect.flatness import (
    flatness,
    kfac_factors,
    model_fisher,
    model_fisher_diagonal,
)
from ticselect.flatness._fisher import kfac_matrix, model_fisher_measures


def _spec(curv):
    return curv.output_jacobians_fn.args[0]


def _outputs_autograd(spec):
    """``θ -> z`` (n, K), the output pre-activations, written with autograd."""
    acts = {"tanh": anp.tanh, "relu": lambda u: anp.maximum(u, 0.0)}
    shapes = spec.layer_shapes

    def f(theta):
        A, start = spec.X, 0
        for l_, (a, b) in enumerate(shapes):
            M = anp.reshape(theta[start : start + a * b], (a, b))
            start += a * b
            A = anp.dot(A, M[:-1]) + M[-1]
            if l_ < len(shapes) - 1:
                A = acts[spec.activation](A)
        return A

    return f


def _output_nll(spec, i):
    """``z -> ℓᵢ(z)`` with autograd (row ``i``)."""
    y = spec.Y[i]

    def f(z):
        if spec.output == "softmax":
            return anp.log(anp.sum(anp.exp(z))) - anp.sum(y * z)
        if spec.output == "logistic":
            return anp.sum(anp.logaddexp(0.0, z) - y * z)
        if spec.output == "exp":
            return anp.sum(anp.exp(z) - y * z)
        return anp.sum((z - y) ** 2) / (2 * spec.sigma2)

    return f


def _nets(rng):
    X = rng.normal(size=(40, 3))
    y3 = rng.integers(0, 3, 40)
    yb = (X[:, 0] + rng.normal(size=40) > 0).astype(int)
    yr = np.column_stack([X[:, 0], X[:, 1] ** 2]) + 0.3 * rng.normal(size=(40, 2))
    yp = rng.poisson(np.exp(0.3 * X[:, 0]))
    kw = dict(solver="lbfgs", max_iter=200, random_state=0)
    return [
        (MLPClassifier((4, 3), activation="tanh", **kw), X, y3),
        (MLPClassifier((4,), activation="relu", **kw), X, yb),
        (MLPRegressor(hidden_layer_sizes=(4,), activation="tanh", **kw), X, yr),
        (MLPRegressor(hidden_layer_sizes=(4,), loss="poisson", **kw), X, yp),
    ]


@pytest.mark.parametrize("case", range(4))
def test_ggn_equals_jt_lambda_j_from_autograd(rng, case):
    est, X, y = _nets(rng)[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
    spec = _spec(curv)
    theta = _theta(spec)[: sum(a * b for a, b in spec.layer_shapes)]
    J = jacobian(_outputs_autograd(spec))(theta)  # (n, K, d_w)
    z = _outputs_autograd(spec)(theta)
    F_ref = np.zeros((theta.size, theta.size))
    for i in range(X.shape[0]):
        Lam = hessian(_output_nll(spec, i))(z[i])
        F_ref += spec.sample_weight[i] * J[i].T @ Lam @ J[i]
    F = model_fisher(curv)
    dw = theta.size
    # rtol: two exact computations of the same sums of products
    assert_allclose(F[:dw, :dw], F_ref, rtol=1e-10, atol=1e-12 * np.abs(F_ref).max())
    if curv.dispersion_is_param:  # σ² is no output parameter: zero row and column
        assert np.all(F[-1] == 0) and np.all(F[:, -1] == 0)
    assert_allclose(model_fisher_diagonal(curv), np.diag(F), rtol=1e-10, atol=1e-14)
    # F is the Gauss–Newton part: H − F is the residual term, 0 for a linear net
    assert np.all(np.linalg.eigvalsh(F) > -1e-10 * np.abs(F).max())


def _glms(rng):
    X = rng.normal(size=(120, 3))
    eta = 0.2 + X @ np.array([0.5, -0.4, 0.3])
    yb = (rng.uniform(size=120) < 1 / (1 + np.exp(-eta))).astype(int)
    return (
        X,
        eta,
        [
            (LogisticRegression(tol=1e-12), yb),
            (LogisticRegression(tol=1e-12), rng.integers(0, 3, 120)),
            (PoissonRegressor(alpha=0.01, tol=1e-12), rng.poisson(np.exp(eta))),
            (LinearRegression(), eta + rng.normal(size=120)),
        ],
    )


def test_canonical_glms_ggn_equals_hessian(rng):
    X, _, models = _glms(rng)
    for est, y in models:
        curv = ts.curvature(est.fit(X, y), X, y, stationarity_tol=np.inf)
        F, H = model_fisher(curv), curv.hessian
        k = curv.n_params - int(curv.dispersion_is_param)
        # rtol: the same Σ wᵢ h(ηᵢ) x̃ᵢx̃ᵢᵀ summed in another order
        assert_allclose(F[:k, :k], H[:k, :k], rtol=1e-10, atol=1e-12 * np.abs(H).max())
    y3 = rng.integers(0, 3, 120)
    res = sm.MNLogit(y3, sm.add_constant(X)).fit(disp=0)  # reference class dropped
    curv = ts.curvature(res)
    assert_allclose(model_fisher(curv), curv.hessian, rtol=1e-8, atol=1e-10)


def test_non_canonical_glms_use_the_expected_information(rng):
    X, eta, _ = _glms(rng)
    Xt = np.column_stack([X, np.ones(len(X))])
    yg = rng.gamma(2.0, np.exp(eta) / 2.0)
    curv = ts.curvature(GammaRegressor(alpha=0, tol=1e-12).fit(X, yg), X, yg)
    # log link, V(μ) = μ²: (dμ/dη)²/(φV) = 1/φ for every row
    F = model_fisher(curv)
    assert_allclose(F[:4, :4], Xt.T @ Xt / curv.dispersion, rtol=1e-10)
    yb = (rng.uniform(size=120) < norm.cdf(eta)).astype(int)
    probit = sm.families.Binomial(sm.families.links.Probit())
    res = sm.GLM(yb, sm.add_constant(X), family=probit).fit(tol=1e-12)
    curv = ts.curvature(res)
    e = sm.add_constant(X) @ res.params
    mu = norm.cdf(e)
    wts = norm.pdf(e) ** 2 / (mu * (1 - mu))
    Xc = sm.add_constant(X)
    assert_allclose(model_fisher(curv), (Xc * wts[:, None]).T @ Xc, rtol=1e-10)
    assert not np.allclose(model_fisher(curv), curv.hessian, rtol=1e-3)


def test_kfac_factors_equal_their_definitions(rng):
    X = rng.normal(size=(30, 3))
    y = rng.integers(0, 3, 30)
    net = MLPClassifier(
        (4,), activation="tanh", solver="lbfgs", max_iter=300, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X, y)
    w = rng.integers(1, 3, 30).astype(float)
    curv = ts.curvature(net, X, y, sample_weight=w, stationarity_tol=np.inf)
    spec = _spec(curv)
    n = w.sum()
    # A_l = E[ããᵀ]: the layer inputs, computed here from the fitted weights
    hidden = np.tanh(X @ net.coefs_[0] + net.intercepts_[0])
    ins = [np.column_stack([a, np.ones(30)]) for a in (X, hidden)]
    # G_l = E_y[ggᵀ], y drawn from the model: enumerate the classes, g = ∂ℓ/∂u_l
    # read from autograd's per-sample gradient of the layer's biases
    p = net.predict_proba(X)
    gs = []
    for k in range(3):
        Yk = np.zeros_like(spec.Y)
        Yk[:, k] = 1.0
        spec_k = type(spec)(**{**spec.__dict__, "Y": Yk})
        gs.append(brute_force_per_sample_grads(spec_k))
    factors = kfac_factors(curv)
    assert len(factors) == 2
    for l_, f in enumerate(factors):
        A_ref = (ins[l_] * (w / n)[:, None]).T @ ins[l_]
        bias = curv.layers[l_]["bias"]
        G_ref = sum(
            np.einsum("i,ia,ib->ab", w / n * p[:, k], gs[k][:, bias], gs[k][:, bias])
            for k in range(3)
        )
        # rtol: closed-form backprop vs autograd, both exact
        assert_allclose(f.A, A_ref, rtol=1e-12)
        assert_allclose(f.G, G_ref, rtol=1e-10, atol=1e-12 * np.abs(G_ref).max())
        idx = np.concatenate([curv.layers[l_]["weights"], bias[None, :]]).ravel()
        assert_allclose(f.index.ravel(), idx)
    F = model_fisher(curv)
    K = kfac_matrix(factors, curv.n_params)
    mf = model_fisher_measures(curv, 1.0, 1e-10)
    err = np.linalg.norm(K - F) / np.linalg.norm(F)
    assert_allclose(mf.kfac_error, err, rtol=1e-12)
    assert mf.kfac_error > 0.01  # an approximation: not exact on a hidden layer
    off = F - np.diag(np.diag(F))
    assert_allclose(mf.diagonal_error, np.linalg.norm(off) / np.linalg.norm(F))
    # the KFAC soft rank from the Kronecker eigenvalues = from the dense matrix
    ev = np.clip(np.linalg.eigvalsh(K), 0, None)
    assert_allclose(mf.kfac_soft_rank, np.sum(ev / (ev + 1.0)), rtol=1e-10)


def test_kfac_is_exact_for_a_gaussian_linear_model(rng):
    """One layer with a constant Λ: Σ Λ x̃x̃ᵀ = n E[x̃x̃ᵀ] ⊗ Λ exactly."""
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, 0.5, 0.0]) + rng.normal(size=60)
    curv = ts.curvature(LinearRegression().fit(X, y), X, y)
    mf = model_fisher_measures(curv, 1.0, 1e-10)
    assert mf.kfac_error < 1e-13
    assert_allclose(mf.kfac_soft_rank, mf.soft_rank, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::ticselect.SingularHessianWarning")
def test_flatness_fields_and_pickling(rng):
    est, X, y = _nets(rng)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
        fl = flatness(curv, pacbayes=False)
    F = model_fisher(curv)
    ev = np.clip(np.linalg.eigvalsh(F), 0, None)
    lam = fl.soft_rank_lambda
    # atol: F has a null space (rank ≤ hidden units × classes); its eigenvalues are
    # rounding noise of size ε‖F‖ ≈ 1e-12, each adding up to ε‖F‖/λ ≈ 1e-8 to the
    # soft rank, and two eigensolvers (flatness's and numpy's) round them differently
    assert_allclose(
        fl.model_fisher_soft_rank, np.sum(ev / (ev + lam)), rtol=1e-10, atol=1e-7
    )
    assert_allclose(
        fl.model_fisher_soft_rank_gap_estimate * 40, fl.model_fisher_soft_rank
    )
    assert fl.kfac_soft_rank is not None and fl.diagonal_fisher_error > 0
    assert fl.hessian_rank_bound == (4 + 3) * 3  # hidden units × classes
    again = pickle.loads(pickle.dumps(curv))
    assert_allclose(model_fisher(again), F, rtol=0)
    assert flatness(curv, pacbayes=False, model_fisher=False).kfac_error is None
    bare = ts.curvature(est, X, y, stationarity_tol=np.inf)
    bare.output_jacobians_fn = bare.model_fisher_fn = None
    with pytest.raises(ValueError, match="output Jacobians"):
        model_fisher(bare)


def test_row_blocks_give_the_same_matrix(rng, monkeypatch):
    est, X, y = _nets(rng)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
    whole = model_fisher(curv)
    monkeypatch.setattr(_output, "_BLOCK_FLOATS", 100)  # blocks of one row
    # rtol: the same sums accumulated in another order
    assert_allclose(model_fisher(curv), whole, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", range(4))
def test_network_kernel_ggn_equals_the_jacobian_gram(rng, case):
    """Networks form F by the Hessian kernel; the Jacobian Gram is the reference."""
    from ticselect.curvature._output import model_fisher_matrix

    est, X, y = _nets(rng)[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
    assert curv.model_fisher_fn is not None
    ref = model_fisher_matrix(curv.output_jacobians_fn())
    # rtol: the same sums of products in another order
    assert_allclose(model_fisher(curv), ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
