"""Hessian norms, relative flatness and the flatness() driver on every model kind."""

import pickle
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor

import ticselect as ts
from ticselect.flatness import Flatness, flatness, relative_flatness


def _relu_net(rng, alpha=0.0):
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = MLPClassifier(
        hidden_layer_sizes=(5,),
        activation="relu",
        alpha=alpha,
        solver="lbfgs",
        max_iter=200,
        tol=1e-8,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: irrelevant here
        net.fit(X, y)
    return net, X, y


def _kappa_loop(curv, idx):
    """Petzka et al.'s double sum, literally, on the mean loss L/n."""
    p, h = idx.shape
    total = 0.0
    for s in range(h):
        for t in range(h):
            ws, wt = curv.params[idx[:, s]], curv.params[idx[:, t]]
            block = curv.hessian[np.ix_(idx[:, s], idx[:, t])]
            total += (ws @ wt) * np.trace(block)
    return total / curv.n_samples


def test_norms_match_numpy_linalg(rng):
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + rng.normal(size=200)) > 0
    curv = ts.curvature(LogisticRegression(C=0.3, tol=1e-12).fit(X, y), X, y)
    fl = flatness(curv, pacbayes=False)
    H = curv.hessian
    # rtol: eigenvalue sums vs direct sums/SVD of a 5x5 well-conditioned matrix
    assert_allclose(fl.trace, np.trace(H), rtol=1e-12)
    assert_allclose(fl.frobenius, np.linalg.norm(H, "fro"), rtol=1e-12)
    assert_allclose(fl.spectral_norm, np.linalg.norm(H, 2), rtol=1e-12)
    assert_allclose(fl.logdet, np.linalg.slogdet(curv.penalized_hessian)[1], rtol=1e-12)
    assert_allclose(fl.eigenvalues, np.linalg.eigvalsh(H), rtol=1e-12)
    assert fl.to_dict(include_spectrum=True)["eigenvalues"] == fl.eigenvalues.tolist()
    assert "eigenvalues" not in fl.to_dict()
    assert "soft_rank" in fl.summary()


@pytest.mark.filterwarnings("ignore::ticselect.SingularHessianWarning")  # dead units
def test_mlp_norms_and_relative_flatness_against_brute_force(rng):
    net, X, y = _relu_net(rng, alpha=1e-2)
    curv = ts.curvature(net, X, y, stationarity_tol=np.inf)
    fl = flatness(curv, pacbayes=False)
    H = curv.hessian
    assert_allclose(fl.trace, np.trace(H), rtol=1e-10)
    assert_allclose(fl.spectral_norm, np.linalg.norm(H, 2), rtol=1e-10)
    assert fl.relative_flatness_layer == 1
    for layer in (0, 1, -1):
        idx = curv.layers[layer]["weights"]
        assert_allclose(
            relative_flatness(curv, layer, normalize=False),
            _kappa_loop(curv, idx),
            rtol=1e-12,
        )
    # the index arrays address coefs_ exactly
    assert_allclose(curv.params[curv.layers[0]["weights"]], net.coefs_[0])
    assert_allclose(curv.params[curv.layers[1]["bias"]], net.intercepts_[1])


def test_relative_flatness_invariant_to_layer_rescaling(rng):
    """ReLU: W₀ → cW₀, b₀ → cb₀, W₁ → W₁/c leaves the network function unchanged;
    κ of both layers is unchanged, tr(H) and ‖H‖₂ are not (Petzka et al.; Dinh et
    al. 2017)."""
    net, X, y = _relu_net(rng)
    c = 5.0
    scaled = clone(net)
    scaled.__dict__.update({k: v for k, v in net.__dict__.items() if k.endswith("_")})
    scaled.coefs_ = [net.coefs_[0] * c, net.coefs_[1] / c]
    scaled.intercepts_ = [net.intercepts_[0] * c, net.intercepts_[1]]
    assert_allclose(scaled.predict_proba(X), net.predict_proba(X), rtol=1e-12)
    a = ts.curvature(net, X, y, stationarity_tol=np.inf)
    b = ts.curvature(scaled, X, y, stationarity_tol=np.inf)
    for layer in (0, 1):
        for norm in (True, False):
            # rtol: the same sums in a different floating-point order
            assert_allclose(
                relative_flatness(b, layer, normalize=norm),
                relative_flatness(a, layer, normalize=norm),
                rtol=1e-9,
            )
    ta, tb = np.trace(a.hessian), np.trace(b.hessian)
    assert abs(tb - ta) > 0.5 * ta  # c = 5 changes the trace by far more than 50 %


def test_glm_relative_flatness_closed_form_and_invariance(rng):
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=100)
    curv = ts.curvature(LinearRegression().fit(X, y), X, y, dispersion=1.0)
    beta = curv.params[:3]
    # H_ββ = XᵀX (σ² = 1), one output unit: κ = ‖β‖² tr(XᵀX)/n
    assert_allclose(
        relative_flatness(curv, normalize=False),
        beta @ beta * np.sum(X**2) / 100,
        rtol=1e-12,
    )
    c = 7.0  # X → cX, β → β/c: same function, κ unchanged, tr(H) changes
    curv2 = ts.curvature(LinearRegression().fit(c * X, y), c * X, y, dispersion=1.0)
    assert_allclose(relative_flatness(curv2), relative_flatness(curv), rtol=1e-9)
    assert np.trace(curv2.hessian) > 10 * np.trace(curv.hessian)


def test_multinomial_and_statsmodels_coefficient_blocks(rng):
    X = rng.normal(size=(150, 3))
    y = rng.integers(0, 3, 150)
    curv = ts.curvature(LogisticRegression(tol=1e-12).fit(X, y), X, y)
    idx = np.array([[0, 4, 8], [1, 5, 9], [2, 6, 10]])  # "k:x_j", intercepts 3, 7, 11
    assert_allclose(
        relative_flatness(curv, normalize=False), _kappa_loop(curv, idx), rtol=1e-12
    )
    res = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0)
    curv_sm = ts.curvature(res)
    idx_sm = np.array([[1, 5], [2, 6], [3, 7]])  # "1:const" at 0, "2:const" at 4
    assert_allclose(
        relative_flatness(curv_sm, normalize=False),
        _kappa_loop(curv_sm, idx_sm),
        rtol=1e-12,
    )


def test_clear_errors(rng):
    X = rng.normal(size=(60, 2))
    y = X[:, 0] + rng.normal(size=60)
    res = sm.GLM(y, np.ones((60, 1))).fit()  # intercept only
    curv = ts.curvature(res)
    with pytest.raises(ValueError, match="only an intercept"):
        relative_flatness(curv)
    lin = ts.curvature(LinearRegression().fit(X, y), X, y)
    with pytest.raises(ValueError, match="layer must be in"):
        relative_flatness(lin, 1)
    with pytest.raises(TypeError, match="takes a Curvature"):
        flatness(np.eye(2))
    net, Xn, yn = _relu_net(rng)
    curv_net = ts.curvature(net, Xn, yn, stationarity_tol=np.inf)
    del curv_net.layers
    with pytest.raises(ValueError, match="no layer structure"):
        relative_flatness(curv_net)
    unpickled = pickle.loads(pickle.dumps(lin))
    with pytest.raises(ValueError, match="pickled"):
        flatness(unpickled)
    bare = pickle.loads(pickle.dumps(lin))
    bare.output_jacobians_fn = None  # e.g. a Curvature built by hand
    with pytest.warns(UserWarning, match="raw κ"):
        fl_bare = flatness(bare, pacbayes=False)
    assert fl_bare.model_fisher_soft_rank is None
    assert_allclose(
        fl_bare.relative_flatness, relative_flatness(lin, normalize=False), rtol=1e-12
    )
    with pytest.raises(ValueError, match="normalize=False"):
        relative_flatness(bare)
    fl = flatness(unpickled, pacbayes=False)  # the exact measures still work
    assert fl.pacgen is None
    assert_allclose(fl.relative_flatness, relative_flatness(lin), rtol=1e-12)
    assert_allclose(fl.trace, np.trace(lin.hessian), rtol=1e-12)


def _models(rng):
    X = rng.normal(size=(120, 3))
    eta = 0.3 + X @ np.array([0.4, -0.3, 0.2])
    yb = (eta + rng.normal(size=120)) > 0
    y3 = rng.integers(0, 3, 120)
    yp = rng.poisson(np.exp(eta))
    yg = rng.gamma(2.0, np.exp(eta) / 2.0)
    yr = eta + rng.normal(size=120)
    mlp = dict(
        hidden_layer_sizes=(3,),
        activation="tanh",
        solver="lbfgs",
        alpha=1.0,
        tol=1e-12,
        max_iter=3000,
        random_state=0,
    )
    return [
        (LinearRegression(), X, yr),
        (Ridge(alpha=2.0), X, yr),
        (LogisticRegression(tol=1e-12), X, yb),
        (LogisticRegression(tol=1e-12), X, y3),
        (PoissonRegressor(alpha=1e-2, tol=1e-12), X, yp),
        (GammaRegressor(alpha=1e-2, tol=1e-12, max_iter=1000), X, yg),
        ("sm", sm.add_constant(X), yp),
        (MLPClassifier(**mlp), X, y3),
        (MLPRegressor(**mlp), X, yr),
    ]


@pytest.mark.parametrize("case", range(9))
def test_flatness_on_every_model_kind(rng, case):
    est, X, y = _models(rng)[case]
    if est == "sm":
        curv = ts.curvature(sm.GLM(y, X, family=sm.families.Poisson()).fit())
    else:
        curv = ts.curvature(est.fit(X, y), X, y, stationarity_tol=np.inf)
    fl = flatness(curv, n_rho=2, n_sharpness=8, random_state=0)
    assert isinstance(fl, Flatness)
    d = fl.to_dict()
    assert all(np.isfinite(v) for v in d.values() if v is not None), d
    # Granziol's hidden-units × outputs scale exists for networks only
    assert all(v is not None for k, v in d.items() if k != "hessian_rank_bound")
    assert fl.soft_rank_lower <= fl.soft_rank * (1 + 1e-12)
    assert fl.soft_rank <= fl.soft_rank_upper * (1 + 1e-12)
    # not only finite: the exact measures equal NumPy's on this model's Hessian
    # (rtol: eigenvalue sums vs direct sums/SVD of a small matrix)
    H = curv.hessian
    assert_allclose(fl.trace, np.trace(H), rtol=1e-10, atol=1e-12 * np.abs(H).max())
    assert_allclose(fl.spectral_norm, np.linalg.norm(H, 2), rtol=1e-10)
    assert_allclose(fl.frobenius, np.linalg.norm(H, "fro"), rtol=1e-10)
    # same seed, same result; the Flatness compares equal
    assert flatness(curv, n_rho=2, n_sharpness=8, random_state=0) == fl
