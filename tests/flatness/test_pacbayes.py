"""PAC-Bayes measures: closed forms on quadratic losses, convergence, evaluators."""

import numpy as np
import pytest
from autograd import hessian
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils import check_random_state

import ticselect as ts
from tests.curvature.test_mlp import _reference_nll
from ticselect.curvature.adapters.sklearn_mlp import mlp_spec
from ticselect.flatness import _pacbayes as pb


def _gaussian(rng, n=200, p=3, alpha=1.0):
    """Ridge with σ² fixed: L is exactly quadratic in θ, H constant."""
    X = rng.normal(size=(n, p))
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    return ts.curvature(Ridge(alpha=alpha).fit(X, y), X, y, dispersion=1.0)


def _logistic(rng):
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=300)) > 0
    return ts.curvature(LogisticRegression(C=1.0, tol=1e-12).fit(X, y), X, y)


def test_expected_sharpness_converges_to_quadratic_closed_form(rng):
    """For a quadratic loss E[L̂(θ+u)] - L̂(θ) = σ²/2 Σᵢ sᵢ² Hᵢᵢ / n exactly."""
    curv = _gaussian(rng)
    n, sigma, eps = curv.n_samples, 0.05, 1e-3
    iso = sigma**2 / 2 * np.trace(curv.hessian) / n
    s = np.abs(curv.params) + eps
    mag = sigma**2 / 2 * np.sum(np.diag(curv.hessian) * s**2) / n
    for exact, aware in ((iso, False), (mag, True)):
        errs = []
        for m in (16, 256, 4096):
            est = pb.expected_sharpness(
                curv, sigma, magnitude_aware=aware, eps=eps, n_samples=m, random_state=0
            )
            assert abs(est.value - exact) <= 4 * est.error  # 4 standard errors
            errs.append(est.error)
        assert errs[2] < errs[0] / 8  # 256x the draws: ~16x smaller standard error
        assert abs(est.value - exact) < 0.05 * exact


def test_expected_sharpness_errors(rng):
    curv = _gaussian(rng)
    with pytest.raises(ValueError, match="even"):
        pb.expected_sharpness(curv, 0.1, n_samples=3)
    with pytest.raises(ValueError, match="sigma"):
        pb.expected_sharpness(curv, -0.1)
    curv.loss_fn = None
    with pytest.raises(ValueError, match="no loss_fn"):
        pb.expected_sharpness(curv, 0.1)


def test_sharpness_sigma_closed_form_with_common_random_numbers(rng):
    """Quadratic loss: the Monte-Carlo increase at σ is σ² a with
    a = mean over the fixed draws of zᵀHz/(2n); the search returns √(target/a)."""
    curv = _gaussian(rng)
    m, target = 32, 0.05
    Z = check_random_state(3).normal(size=(m // 2, curv.n_params))
    a = np.mean(np.einsum("ij,jk,ik->i", Z, curv.hessian, Z)) / (2 * curv.n_samples)
    found = pb.sharpness_sigma(curv, target=target, n_samples=m, random_state=3)
    # rtol: 25 bisection steps on log σ over [1e-6, 1e2] give 18.4/2²⁵ ≈ 5e-7
    assert_allclose(found, np.sqrt(target / a), rtol=1e-6)
    assert pb.sharpness_sigma(curv, target=1e9, random_state=0) == 1e2  # never reached


def test_hessian_lipschitz_zero_for_constant_hessian_and_by_hand(rng):
    curv = _gaussian(rng)
    rho = pb.hessian_lipschitz(curv, random_state=0)
    # H does not depend on θ: differences are rounding only
    assert rho.value <= 1e-12 * np.linalg.norm(curv.hessian, 2) / curv.n_samples
    curv = _logistic(rng)
    rho = pb.hessian_lipschitz(curv, gamma=0.2, eps=1e-2, n_samples=4, random_state=5)
    r = check_random_state(5)
    N = 0.2 * np.abs(curv.params) + 1e-2
    ratios = []
    for _ in range(4):
        u = N * r.uniform(-1, 1, size=N.shape)
        D = (curv.hessian_fn(curv.params + u) - curv.hessian) / curv.n_samples
        ratios.append(np.linalg.norm(D, 2) / np.linalg.norm(u))
    assert_allclose(rho.value, max(ratios), rtol=1e-10)
    assert_allclose(rho.error, np.std(ratios, ddof=1), rtol=1e-10)


def test_pacgen_formula_by_hand(rng):
    curv = _logistic(rng)
    gamma, eps, rho = 0.1, 1e-2, 0.7
    psi, used = pb.pacgen(curv, gamma=gamma, eps=eps, rho=rho)
    assert used.value == rho
    m = curv.n_params
    total = 0.0
    for i in range(m):
        th = curv.params[i]
        N = gamma * abs(th) + eps
        h = curv.hessian[i, i] / curv.n_samples
        total += np.log(
            (abs(th) + N) * max(np.sqrt(max(h + rho * np.sqrt(m) * N, 0)), 1 / N)
        )
    assert_allclose(psi, total, rtol=1e-12)
    psi2, est = pb.pacgen(curv, gamma=gamma, eps=eps, n_samples=3, random_state=0)
    assert est.value > 0
    assert_allclose(
        psi2, pb.pacgen(curv, gamma=gamma, eps=eps, rho=est.value)[0], rtol=1e-14
    )
    with pytest.raises(ValueError, match="eps > 0"):
        pb.pacgen(curv, eps=0.0, rho=0.0)


def test_pacgen_skips_dispersion():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    y = X.sum(1) + rng.normal(size=80)
    curv = ts.curvature(LinearRegression().fit(X, y), X, y)
    assert curv.dispersion_is_param
    mask = pb.perturbable(curv)
    assert mask.tolist() == [True, True, True, False]
    psi, _ = pb.pacgen(curv, gamma=0.1, eps=1e-3, rho=0.0)
    th, N = curv.params[:3], 0.1 * np.abs(curv.params[:3]) + 1e-3
    h = np.diag(curv.hessian)[:3] / 80
    by_hand = np.sum(np.log((np.abs(th) + N) * np.maximum(np.sqrt(h), 1 / N)))
    assert_allclose(psi, by_hand, rtol=1e-12)


def test_fisher_rao_norm(rng):
    """Bias-free logistic model: ⟨θ, gᵢ⟩ = (pᵢ - yᵢ) ηᵢ (Liang et al.'s identity)."""
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(size=200)) > 0
    est = LogisticRegression(fit_intercept=False, tol=1e-12).fit(X, y)
    curv = ts.curvature(est, X, y)
    eta = X @ est.coef_[0]
    p = 1 / (1 + np.exp(-eta))
    assert_allclose(pb.fisher_rao_norm(curv), np.mean(((p - y) * eta) ** 2), rtol=1e-10)
    G = curv.per_sample_grads
    assert_allclose(
        pb.fisher_rao_norm(curv), np.mean((G @ curv.params) ** 2), rtol=1e-12
    )


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_mlp_evaluators_match_autograd(rng, kind):
    X = rng.normal(size=(40, 3))
    common = dict(
        hidden_layer_sizes=(4,),
        activation="tanh",
        solver="lbfgs",
        alpha=0.1,
        tol=1e-12,
        max_iter=2000,
        random_state=0,
    )
    if kind == "classifier":
        y = rng.integers(0, 3, 40)
        est = MLPClassifier(**common).fit(X, y)
    else:
        y = X[:, 0] - X[:, 1] ** 2 + 0.1 * rng.normal(size=40)
        est = MLPRegressor(**common).fit(X, y)
    curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
    assert_allclose(curv.loss_fn(curv.params), curv.nll, rtol=1e-13)
    assert_allclose(curv.hessian_fn(curv.params), curv.hessian, rtol=1e-13, atol=0)
    theta = curv.params + 0.05 * rng.normal(size=curv.n_params)
    if kind == "regressor":
        theta[-1] = abs(theta[-1])
    spec = mlp_spec(est, X, y, np.ones(40))
    # oracle: the densities written anew in test_mlp (not ticselect's loss_function)
    f = _reference_nll(spec)
    # rtol: closed-form backprop vs autograd, both float64
    assert_allclose(curv.loss_fn(theta), f(theta), rtol=1e-12)
    ag = hessian(f)(theta)
    assert_allclose(
        curv.hessian_fn(theta), ag, rtol=1e-8, atol=1e-10 * np.abs(ag).max()
    )
    if kind == "regressor":
        bad = theta.copy()
        bad[-1] = -1.0
        assert curv.loss_fn(bad) == np.inf
    with pytest.raises(ValueError, match="shape"):
        curv.hessian_fn(theta[:-1])
