"""Normalised relative flatness, PACGen's curvature branch and KL, mean-loss norms."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from ticselect.flatness import _pacbayes as pb
from ticselect.flatness import flatness, relative_flatness

pytestmark = pytest.mark.filterwarnings("ignore::ticselect.SingularHessianWarning")


def _relu_net(rng, hidden=(6,)):
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    net = MLPClassifier(
        hidden,
        activation="relu",
        alpha=1e-3,
        solver="lbfgs",
        max_iter=300,
        tol=1e-8,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X, y)
    return net, X, y


def _rescaled(net, coefs, intercepts):
    out = clone(net)
    out.__dict__.update({k: v for k, v in net.__dict__.items() if k.endswith("_")})
    out.coefs_, out.intercepts_ = coefs, intercepts
    return out


def _curv(net, X, y):
    return ts.curvature(net, X, y, stationarity_tol=np.inf)


def test_kappa_invariant_to_per_neuron_relu_rescaling(rng):
    net, X, y = _relu_net(rng)
    c = rng.uniform(0.2, 5.0, size=6)  # one positive factor per hidden unit
    scaled = _rescaled(
        net,
        [net.coefs_[0] * c, net.coefs_[1] / c[:, None]],
        [net.intercepts_[0] * c, net.intercepts_[1]],
    )
    assert_allclose(scaled.predict_proba(X), net.predict_proba(X), rtol=1e-10)
    a, b = _curv(net, X, y), _curv(scaled, X, y)
    for kind in ("trace", "lambda_max"):
        # rtol: the same sums after exact rescalings, in another rounding order
        assert_allclose(
            relative_flatness(b, kind=kind), relative_flatness(a, kind=kind), rtol=1e-9
        )
        raw_a = relative_flatness(a, normalize=False, kind=kind)
        raw_b = relative_flatness(b, normalize=False, kind=kind)
        assert abs(raw_b - raw_a) > 0.05 * raw_a  # Petzka et al.'s raw κ is not
    assert abs(np.trace(b.hessian) - np.trace(a.hessian)) > 0.05 * np.trace(a.hessian)


def test_kappa_invariant_to_layerwise_rescaling(rng):
    net, X, y = _relu_net(rng, hidden=(5, 4))
    c = 3.0  # layer 0 × c, layer 1 × 1/c: same function (ReLU is homogeneous)
    scaled = _rescaled(
        net,
        [net.coefs_[0] * c, net.coefs_[1] / c, net.coefs_[2]],
        [net.intercepts_[0] * c, net.intercepts_[1], net.intercepts_[2]],
    )
    assert_allclose(scaled.predict_proba(X), net.predict_proba(X), rtol=1e-10)
    a, b = _curv(net, X, y), _curv(scaled, X, y)
    for norm in (True, False):
        assert_allclose(
            relative_flatness(b, normalize=norm),
            relative_flatness(a, normalize=norm),
            rtol=1e-9,
        )
    # tr H is not invariant: its first-layer block scales exactly by 1/c²
    i0 = a.layers[0]["weights"].ravel()
    block_a = np.trace(a.hessian[np.ix_(i0, i0)])
    assert_allclose(np.trace(b.hessian[np.ix_(i0, i0)]), block_a / c**2, rtol=1e-9)
    assert abs(np.trace(b.hessian) - np.trace(a.hessian)) > 0.1 * np.trace(a.hessian)


def test_normalised_kappa_is_the_authors_reparameterisation(rng):
    """Their code divides each feature's incoming weights and bias by its standard
    deviation σ_a and multiplies its outgoing weights by σ_a, then computes the raw
    κ; ticselect's closed form must give the same number."""
    net, X, y = _relu_net(rng)
    hidden = np.maximum(X @ net.coefs_[0] + net.intercepts_[0], 0.0)
    sd = hidden.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    alive = np.any(hidden != 0, axis=0)
    assert alive.all(), "the test expects no dead unit"
    reparam = _rescaled(
        net,
        [net.coefs_[0] / sd, net.coefs_[1] * sd[:, None]],
        [net.intercepts_[0] / sd, net.intercepts_[1]],
    )
    a, b = _curv(net, X, y), _curv(reparam, X, y)
    for kind in ("trace", "lambda_max"):
        assert_allclose(
            relative_flatness(a, kind=kind),
            relative_flatness(b, normalize=False, kind=kind),
            rtol=1e-9,
        )


def test_kappa_lambda_max_by_loops(rng):
    net, X, y = _relu_net(rng)
    curv = _curv(net, X, y)
    idx = curv.layers[-1]["weights"]
    total = 0.0
    for s in range(idx.shape[1]):
        ws = curv.params[idx[:, s]]
        block = curv.hessian[np.ix_(idx[:, s], idx[:, s])] / curv.n_samples
        total += (ws @ ws) * np.linalg.eigvalsh(block)[-1]
    kappa = relative_flatness(curv, normalize=False, kind="lambda_max")
    assert_allclose(kappa, total, rtol=1e-12)
    with pytest.raises(ValueError, match="kind must be"):
        relative_flatness(curv, kind="frobenius")


def test_glm_kappa_invariant_to_feature_scales(rng):
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=100)
    scale = np.array([0.1, 3.0, 20.0])
    a = ts.curvature(LinearRegression().fit(X, y), X, y, dispersion=1.0)
    Xs = X * scale
    b = ts.curvature(LinearRegression().fit(Xs, y), Xs, y, dispersion=1.0)
    assert_allclose(relative_flatness(b), relative_flatness(a), rtol=1e-9)
    # standardised features: κ = Σⱼ (σⱼβⱼ)² · Σⱼ E[(xⱼ/σⱼ)²] for one output
    sd = X.std(axis=0)
    beta = a.params[:3]
    expected = np.sum((sd * beta) ** 2) * np.sum(np.mean((X / sd) ** 2, axis=0))
    assert_allclose(relative_flatness(a), expected, rtol=1e-12)


def test_pacgen_sees_curvature_at_the_defaults(rng):
    X = rng.normal(size=(200, 4))
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.4, -0.3, 0.2, 0.0])))
    curv = ts.curvature(PoissonRegressor(alpha=0, tol=1e-12).fit(X, y), X, y)
    terms = pb.pacgen_terms(curv, rho=0.5)
    assert terms.curvature_share > 0.5
    psi_a, _ = pb.pacgen(curv, rho=0.7)
    psi_b, _ = pb.pacgen(curv, rho=0.044)
    assert psi_a - psi_b > 0.1  # a larger ρ, a sharper neighbourhood
    # the report: at γ = 0.1, ε = 1e-3 no coordinate is on that branch
    old = dict(gamma=0.1, eps=1e-3)
    assert pb.pacgen_terms(curv, rho=0.7, **old).curvature_share == 0.0
    assert pb.pacgen(curv, rho=0.7, **old)[0] == pb.pacgen(curv, rho=0.044, **old)[0]


def test_pacbayes_kl_against_the_gaussian_formula(rng):
    X = rng.normal(size=(150, 3))
    y = (X[:, 0] + rng.normal(size=150)) > 0
    curv = ts.curvature(LogisticRegression(tol=1e-12).fit(X, y), X, y)
    t = pb.pacgen_terms(curv, rho=0.3)
    assert_allclose(np.sum(t.log_terms), pb.pacgen(curv, rho=0.3)[0], rtol=1e-14)
    # KL(N(μq, Σq) ‖ N(0, Σp)) = ½[tr(Σp⁻¹Σq) + μqᵀΣp⁻¹μq − k + log det Σp/det Σq]
    Sq, Sp = np.diag(t.posterior_std**2), np.diag(t.prior_std**2)
    mu = curv.params
    inv = np.linalg.inv(Sp)
    kl = 0.5 * (
        np.trace(inv @ Sq)
        + mu @ inv @ mu
        - mu.size
        + np.linalg.slogdet(Sp)[1]
        - np.linalg.slogdet(Sq)[1]
    )
    assert_allclose(t.kl(), kl, rtol=1e-12)
    bound = pb.pacbayes_bound(kl, 150, delta=0.1, eta=0.5, loss_range=2.0)
    assert_allclose(bound, 0.5 * 4 / 8 + (kl + np.log(10)) / (0.5 * 150), rtol=1e-14)
    with pytest.raises(ValueError, match="delta"):
        pb.pacbayes_bound(kl, 150, delta=1.5)


def test_mean_loss_fields(rng):
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + rng.normal(size=120)) > 0
    curv = ts.curvature(LogisticRegression(C=0.5, tol=1e-12).fit(X, y), X, y)
    fl = flatness(curv, random_state=0, n_rho=2, n_sharpness=8)
    Hm = curv.hessian / 120
    assert_allclose(fl.trace_mean, np.trace(Hm), rtol=1e-12)
    assert_allclose(fl.frobenius_mean, np.linalg.norm(Hm), rtol=1e-12)
    assert_allclose(fl.spectral_norm_mean, np.linalg.norm(Hm, 2), rtol=1e-12)
    logdet = np.linalg.slogdet(curv.penalized_hessian / 120)[1]
    assert_allclose(fl.logdet_mean, logdet, rtol=1e-12)
    crit = ts.criteria(curv)
    assert_allclose(fl.effective_dim_gap_estimate, crit.effective_dim / 120)
    assert_allclose(crit.effective_dim_gap_estimate, crit.effective_dim / 120)
    # the intercept is unpenalised: the calibrated TIC gap is not the soft-rank one
    assert abs(crit.effective_dim_gap_estimate - crit.soft_rank_gap_estimate) > 1e-4
    assert fl.hessian_rank_bound is None  # no hidden units
    assert 0.0 <= fl.pacgen_curvature_share <= 1.0
    # Ψ is the log-ratio part of the KL; the rest is ≤ 0 since σᵢ ≤ Nᵢ, sᵢ = |θᵢ| + Nᵢ
    assert 0.0 <= fl.pacbayes_kl <= fl.pacgen
