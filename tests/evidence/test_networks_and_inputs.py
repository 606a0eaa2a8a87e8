"""Evidence of networks against autograd, and every bad input."""

import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import jacobian
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

import ticselect as ts
from tests.flatness.test_model_fisher import _outputs_autograd
from ticselect.curvature._linalg import complement_basis
from ticselect.curvature._mlp import _theta, brute_force_hessian
from ticselect.flatness import model_fisher


def _laplace_reference(curv, H, prior, basis=None):
    """The evidence formula by eigenvalues in a dense basis (no factorisation)."""
    theta, lam = curv.params, prior
    g = curv.gradient - curv.penalty * theta + lam * theta
    A, L = H + np.diag(lam), np.diag(lam)
    if basis is not None:
        A, L, g = basis.T @ A @ basis, basis.T @ L @ basis, basis.T @ g
    wa, wl = np.linalg.eigvalsh(A), np.linalg.eigvalsh(L)
    pos = wl[wl > 1e-12 * wl.max()]
    m = A.shape[0] - pos.size
    return (-curv.nll - 0.5 * np.sum(lam * theta**2) + 0.5 * np.sum(np.log(pos))
            - 0.5 * np.sum(np.log(wa)) + 0.5 * m * np.log(2 * np.pi)
            + 0.5 * g @ np.linalg.solve(A, g))  # fmt: skip


def _net(rng, kind, alpha=None):
    X = rng.normal(size=(80, 6))
    if kind == "binary":  # (6+1)·12 + 13 = 97 parameters
        y = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=80) > 0).astype(int)
        est = MLPClassifier((12,), activation="tanh", alpha=0.1, solver="lbfgs",
                            max_iter=5000, tol=1e-12, random_state=0)  # fmt: skip
    else:  # softmax, gauge directions: 7·10 + 11·3 = 103 parameters
        y = rng.integers(0, 3, 80)
        est = MLPClassifier((10,), activation="tanh", alpha=0.3, solver="lbfgs",
                            max_iter=5000, tol=1e-12, random_state=0)  # fmt: skip
    if alpha is not None:
        est.set_params(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    _fitted[kind], _data[kind] = est, (X, y)
    return ts.curvature(est, X, y, stationarity_tol=np.inf)


_fitted, _data = {}, {}


@pytest.mark.parametrize("kind", ["binary", "softmax"])
def test_small_network_equals_autograd(rng, kind):
    curv = _net(rng, kind)
    assert 90 <= curv.n_params <= 110
    spec = curv.output_jacobians_fn.args[0]
    theta = _theta(spec)
    assert_allclose(theta, curv.params, rtol=0)
    basis = complement_basis(curv.gauge, curv.n_params) if curv.gauge.shape[1] else None
    # exact: autograd.hessian of the summed loss
    H = brute_force_hessian(spec)
    ev = ts.evidence(curv, hessian="exact", unpenalized="integrate", symmetry=False)
    ref = _laplace_reference(curv, H, curv.penalty, basis)
    assert np.isfinite(ev.log_evidence)
    # rtol: two float64 computations of the same determinant (Cholesky vs eigh)
    assert_allclose(ev.log_evidence, ref, rtol=1e-8)
    # ggn: Σ JᵢᵀΛᵢJᵢ with the Jacobian from autograd, Λ of the output loss
    J = jacobian(_outputs_autograd(spec))(theta)  # (n, K, d)
    z = _outputs_autograd(spec)(theta)
    if kind == "binary":
        p = 1 / (1 + np.exp(-z))
        Lam = (p * (1 - p))[:, :, None]
    else:
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        Lam = (
            np.einsum("ik,kl->ikl", p, np.eye(p.shape[1])) - p[:, :, None] * p[:, None]
        )
    F = np.einsum("ika,ikl,ilb->ab", J, Lam, J)
    ggn = ts.evidence(curv, hessian="ggn", unpenalized="integrate", symmetry=False)
    ref = _laplace_reference(curv, F, curv.penalty, basis)
    assert_allclose(ggn.log_evidence, ref, rtol=1e-8)
    assert ggn.log_evidence != pytest.approx(ev.log_evidence, rel=1e-6)
    # with log(h!·2^h) of the hidden layer, and the same from a curvature without
    # H and C
    h = curv.layers[0]["weights"].shape[1]
    sym = np.sum(np.log(np.arange(1, h + 1))) + h * np.log(2.0)
    light = ts.curvature(_fitted[kind], *_data[kind], hessian=False)
    for c in (curv, light):
        ev = ts.evidence(c, "ggn", unpenalized="integrate", symmetry=True)
        assert_allclose(ev.log_symmetry, sym, rtol=1e-14)
        assert_allclose(ev.log_evidence, ref + sym, rtol=1e-8)
        # the networks' default: the GGN, biases profiled, one mode
        auto = ts.evidence(c)
        assert (auto.hessian, auto.unpenalized, auto.log_symmetry) == (
            "ggn",
            "profile",
            0.0,
        )
        same = ts.evidence(c, "ggn", unpenalized="profile", symmetry=False)
        assert auto.log_evidence == same.log_evidence


def test_per_layer_prior_precisions(rng):
    curv = _net(rng, "binary")
    lam = np.array([0.5, 4.0])
    ev = ts.evidence(curv, "exact", lam, unpenalized="integrate")
    diag = np.zeros(curv.n_params)
    diag[:72], diag[84:96] = 0.5, 4.0  # weights of layer 0 (6×12) and 1 (12×1)
    ref = _laplace_reference(curv, curv.hessian, diag)
    assert_allclose(ev.log_evidence, ref, rtol=1e-8)
    assert ev.group_names == ("layer 0", "layer 1")
    assert ev.prior_precision.shape == ev.mackay_update.shape == (2,)
    assert_allclose(ev.gamma_groups.sum(), ev.gamma, rtol=1e-12)
    assert "off_mode" in ev.flags
    # the same vector given per parameter; the fit's own alpha as one float
    same = ts.evidence(curv, "exact", diag, unpenalized="integrate")
    assert_allclose(same.log_evidence, ev.log_evidence, rtol=1e-12)
    own = ts.evidence(curv, "exact", prior_precision=0.1, unpenalized="integrate")
    assert own.flags == ()
    reml = ts.evidence(curv, "exact", unpenalized="integrate")
    assert own.log_evidence == reml.log_evidence


def _regressor(rng, alpha):
    X = rng.normal(size=(60, 3))
    y = X[:, 0] + 0.3 * rng.normal(size=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = MLPRegressor(hidden_layer_sizes=(4,), alpha=alpha, solver="lbfgs",
                           max_iter=3000,
                           tol=1e-12, random_state=0).fit(X, y)  # fmt: skip
    return ts.curvature(net, X, y, stationarity_tol=np.inf)


def test_an_unpenalised_fit_has_no_evidence(rng):
    X = rng.normal(size=(50, 2))
    y = X[:, 0] + rng.normal(size=50)
    curv = ts.curvature(LinearRegression().fit(X, y), X, y)
    ev = ts.evidence(curv)
    assert np.isnan(ev.log_evidence) and ev.flags == ("no_prior",)
    assert "BIC" in ev.reason and "\n" not in ev.reason
    assert np.isnan(ts.criteria(curv).log_evidence)
    # a scalar precision has nothing to apply to on a GLM without a penalty ...
    with pytest.raises(ValueError, match="shape"):
        ts.evidence(curv, prior_precision=1.0)
    # ... but a network's weights are known: alpha=0 plus a precision works
    net = _regressor(rng, 0.0)
    assert "no_prior" in ts.evidence(net).flags
    assert np.isfinite(ts.evidence(net, prior_precision=1.0).log_evidence)


@pytest.mark.parametrize(
    "value, match",
    [
        (0.0, "> 0"),
        (-1.0, "> 0"),
        (np.nan, "> 0"),
        ("1", "positive float"),
        (np.ones(5), "shape"),
        (np.ones((2, 2)), "shape"),
        ([1.0, -2.0], "> 0"),
    ],
)
def test_bad_prior_precisions(rng, value, match):
    curv = _regressor(rng, 1e-2)
    with pytest.raises(ValueError, match=match):
        ts.evidence(curv, prior_precision=value)


def test_bad_vectors_and_options(rng):
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    curv = ts.curvature(LogisticRegression(tol=1e-10).fit(X, y), X, y)
    with pytest.raises(ValueError, match=">= 0"):
        ts.evidence(curv, prior_precision=np.array([1.0, -1.0, 0.0]))
    with pytest.raises(ValueError, match="hessian must be one of"):
        ts.evidence(curv, hessian="fisher")
    with pytest.raises(ValueError, match="unpenalized must be one of"):
        ts.evidence(curv, unpenalized="marginal")
    with pytest.raises(TypeError, match="takes a Curvature"):
        ts.evidence(LogisticRegression())
    # a penalised fit given an all-zero prior: the user's flat prior, not "no penalty"
    with pytest.raises(ValueError, match="0 on every parameter"):
        ts.evidence(curv, prior_precision=np.zeros(3))
    for rcond in (-1.0, 2.0, np.nan):  # silently accepted (nan evidence) before
        with pytest.raises(ValueError, match="rcond must be"):
            ts.evidence(curv, rcond=rcond)
    net = _regressor(rng, 1e-2)  # σ² estimated: the last parameter
    bad = np.r_[np.ones(net.n_params - 1), 1.0]
    with pytest.raises(ValueError, match="dispersion"):
        ts.evidence(net, prior_precision=bad)


def _saddle():
    """A loss with negative curvature at θ = 0, a stationary point, weak penalty."""

    def nll(theta):
        return anp.array([(theta[0] ** 2 - 1.0) ** 2, theta[1] ** 2 + 0.0 * theta[0]])

    return ts.curvature_from_loss(nll, np.zeros(2), penalty=0.1,
                                  stationarity_tol=np.inf)  # fmt: skip


def test_indefinite_hessian_is_flagged_not_invented():
    curv = _saddle()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = ts.evidence(curv)
        crit = ts.criteria(curv)
    assert np.isnan(ev.log_evidence) and "indefinite" in ev.flags
    assert "ggn" in ev.reason and np.isnan(crit.log_evidence)
    # no model Fisher for a custom likelihood: one clear error
    with pytest.raises(ValueError, match="output Jacobians"):
        ts.evidence(curv, hessian="ggn")


def test_summary_lists_every_part(rng):
    ev = ts.evidence(_regressor(rng, 1e-1))
    text = ev.summary()
    for key in ("log_evidence", "gamma", "mackay_update", "log_det_hessian"):
        assert key in text
    assert ev.to_dict()["hessian"] == "ggn" and str(ev) == text  # networks: auto


def test_a_flat_unpenalised_direction_is_singular(rng):
    """alpha=1 shrinks the output weights: hidden biases barely move the output."""
    curv = _net(rng, "binary", alpha=1.0)
    ev = ts.evidence(curv, hessian="ggn", unpenalized="integrate")
    assert np.isnan(ev.log_evidence) and "singular" in ev.flags
    assert "1/rcond" in ev.reason
    # with the biases maximised over (the networks' default) it is defined: the
    # penalised block is positive definite, the Newton step is the weights' alone
    for hessian in ("ggn", "kfac"):
        prof = ts.evidence(curv, hessian)
        assert prof.unpenalized == "profile" and np.isfinite(prof.log_evidence)
    W = np.flatnonzero(curv.penalty > 0)
    F = model_fisher(curv)[np.ix_(W, W)] + np.diag(curv.penalty[W])
    g = curv.gradient[W]
    ref = (-curv.nll - 0.5 * np.sum(curv.penalty * curv.params**2)
           + 0.5 * np.sum(np.log(curv.penalty[W])) - 0.5 * np.linalg.slogdet(F)[1]
           + 0.5 * g @ np.linalg.solve(F, g))  # fmt: skip
    assert_allclose(ts.evidence(curv, "ggn").log_evidence, ref, rtol=1e-8)
    # a small prior on the biases too makes it proper and finite
    prior = np.where(curv.penalty > 0, curv.penalty, 1e-2)
    assert np.isfinite(ts.evidence(curv, "ggn", prior).log_evidence)
