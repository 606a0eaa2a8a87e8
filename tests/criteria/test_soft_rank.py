"""Soft rank, its bounds, the Fisher soft rank and the gap estimates on Criteria."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge

import ticselect as ts
from ticselect.curvature._spectral import (
    numerical_rank,
    soft_rank,
    soft_rank_bounds,
)
from ticselect.flatness import hessian_spectral_density
from ticselect.flatness._density import slq_spectral_density


def test_soft_rank_of_diagonal_matrix_matches_trace_formula():
    d = np.array([9.0, 3.0, 1.0, 0.1, 0.0])
    lam = 0.5
    D = np.diag(d)
    by_trace = np.trace(D @ np.linalg.inv(D + lam * np.eye(5)))
    assert_allclose(soft_rank(np.linalg.eigvalsh(D), lam), by_trace, rtol=1e-14)
    assert_allclose(soft_rank(d, lam), np.sum(d / (d + lam)), rtol=1e-15)
    assert soft_rank(d, 0.0) == 4.0  # λ = 0: the hard numerical rank
    with pytest.raises(ValueError, match=">= 0"):
        soft_rank(d, -1.0)
    with pytest.raises(ValueError, match="finite"):
        soft_rank(d, np.nan)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_ridge_soft_rank_is_hat_matrix_df(rng, fit_intercept):
    """ESL §3.4: df(λ) = tr(X(XᵀX+λI)⁻¹Xᵀ).  With σ² fixed at 1, H = X̃ᵀX̃ and
    λ = α.  The soft rank damps every direction by λI, so with an intercept (X
    centred, hence H block-diagonal with the intercept entry n) it adds n/(n+λ)."""
    n, p, alpha = 120, 5, 30.0
    X = rng.normal(size=(n, p)) * np.arange(1, p + 1)
    X -= X.mean(0)
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    est = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="cholesky")
    curv = ts.curvature(est.fit(X, y), X, y, dispersion=1.0)
    c = ts.criteria(curv)
    df = np.trace(X @ np.linalg.solve(X.T @ X + alpha * np.eye(p), X.T))
    expected = df + (n / (n + alpha) if fit_intercept else 0.0)
    assert c.soft_rank_lambda == alpha
    # rtol: one eigendecomposition vs one solve of a well-conditioned 6x6 system
    assert_allclose(c.soft_rank, expected, rtol=1e-10)
    assert_allclose(c.soft_rank_gap_estimate, expected / n, rtol=1e-10)
    # effective_dim counts the unpenalised intercept as 1 (the mask-aware version)
    assert_allclose(c.effective_dim, df + float(fit_intercept), rtol=1e-10)


def test_bounds_and_estimate_from_trace_and_spectral_norm(rng):
    for _ in range(20):
        A = rng.normal(size=(8, 3 + rng.integers(0, 6)))
        ev = np.linalg.eigvalsh(A @ A.T * rng.exponential())
        lam = rng.exponential()
        pos = np.clip(ev, 0, None)
        b = soft_rank_bounds(pos.sum(), pos.max(), 8, lam)
        exact = soft_rank(ev, lam)
        assert b.lower <= exact * (1 + 1e-12)
        assert exact <= b.upper * (1 + 1e-12)
        assert b.upper <= pos.sum() / lam * (1 + 1e-12)
        assert b.estimate == b.lower
    # The estimate is exact when the non-zero eigenvalues are equal (t/s = rank).
    ev = np.array([0.0, 0.0, 2.0, 2.0, 2.0])
    b = soft_rank_bounds(ev.sum(), 2.0, 5, 0.7)
    assert_allclose(b.estimate, soft_rank(ev, 0.7), rtol=1e-15)
    assert soft_rank_bounds(0.0, 0.0, 3, 1.0).upper == 0.0


def test_criteria_soft_rank_fields_against_numpy(rng):
    X = rng.normal(size=(300, 4))
    X = np.column_stack([X, X[:, 0]])  # collinear column: H has rank 5 of 6
    y = (X[:, 0] - X[:, 1] + rng.normal(size=300)) > 0
    curv = ts.curvature(LogisticRegression(C=0.5, tol=1e-12).fit(X, y), X, y)
    c = ts.criteria(curv)
    H, C, lam = curv.hessian, curv.grad_cov, 2.0
    ev = np.linalg.eigvalsh(H)
    pos = np.clip(ev, 0, None)
    assert c.hessian_rank == np.linalg.matrix_rank(H) == 5
    assert_allclose(c.soft_rank_estimate, pos.sum() / (pos.max() + lam), rtol=1e-12)
    assert_allclose(c.soft_rank_upper, pos.sum() / (pos.sum() / 6 + lam), rtol=1e-12)
    fisher = np.trace(C @ np.linalg.inv(C + lam * np.eye(6)))
    # rtol: Cholesky/triangular-inverse identity vs explicit inverse, cond(C+λI)~1e3
    assert_allclose(c.fisher_soft_rank, fisher, rtol=1e-10)
    c0 = ts.criteria(curv, soft_rank_lambda=0.0)
    assert c0.fisher_soft_rank == np.linalg.matrix_rank(C)
    assert c0.soft_rank == 5.0
    # new fields are plain scalars, and Criteria still compares equal after pickling
    d = c.to_dict()
    assert {"soft_rank_estimate", "fisher_soft_rank", "soft_rank_gap_estimate"} <= set(
        d
    )
    assert pickle.loads(pickle.dumps(c)) == c


def test_multinomial_soft_rank_excludes_gauge(rng):
    X = rng.normal(size=(200, 3))
    y = rng.integers(0, 3, 200)
    curv = ts.curvature(LogisticRegression(C=1.0, tol=1e-12).fit(X, y), X, y)
    c = ts.criteria(curv)
    Q = np.linalg.svd(curv.gauge, full_matrices=True)[0][:, curv.gauge.shape[1] :]
    ev = np.linalg.eigvalsh(Q.T @ curv.hessian @ Q)
    assert_allclose(c.soft_rank, np.sum(ev / (ev + 1.0)), rtol=1e-10)
    assert c.hessian_rank == 8  # 12 parameters, 4 gauge directions


def test_gap_estimate_is_k_over_n_for_correct_unpenalised_glm(rng):
    """Correct specification: C ≈ H (information equality), so tr(H⁻¹C) ≈ k."""
    n, p = 20000, 3
    X = rng.normal(size=(n, p)) * 0.5
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.5, -0.4, 0.2])))
    est = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=1000).fit(X, y)
    c = ts.criteria(ts.curvature(est, X, y))
    k = p + 1
    # rtol 0.1: the relative sampling sd of tr(H⁻¹C) here is about 2% (n = 2e4)
    assert_allclose(c.gap_estimate, k / n, rtol=0.1)
    assert c.soft_rank_lambda == 0.0
    assert_allclose(c.soft_rank_gap_estimate, k / n, rtol=1e-15)  # rank k, exact


def test_criteria_rcond_reaches_the_unpenalised_soft_rank(rng):
    """At λ = 0 the soft rank is the numerical rank with criteria's own rcond."""
    X = rng.normal(size=(300, 3))
    X[:, 2] *= 1e-4  # a direction with curvature ~1e-8 of the largest
    y = (X[:, 0] + rng.normal(size=300)) > 0
    curv = ts.curvature(LogisticRegression(C=np.inf, tol=1e-12).fit(X, y), X, y)
    ev = np.linalg.eigvalsh(curv.hessian)
    ratio = ev.min() / ev.max()
    assert 1e-12 < ratio < 1e-6
    loose = ts.criteria(curv, rcond=1e-6)
    tight = ts.criteria(curv, rcond=1e-12)
    assert loose.soft_rank == loose.hessian_rank == 3
    assert tight.soft_rank == tight.hessian_rank == 4
    assert soft_rank(ev, 0.0, 1e-6) == 3 and soft_rank(ev, 0.0, 1e-12) == 4


def test_numerical_rank_cutoff():
    assert numerical_rank(np.array([1.0, 1e-9, 1e-11, -1e-3])) == 2
    assert numerical_rank(np.zeros(3)) == 0
    assert numerical_rank(np.zeros(0)) == 0


def test_slq_soft_rank_converges_to_exact(rng):
    """Stochastic Lanczos quadrature of tr f(H): the error shrinks like 1/√probes."""
    A = rng.normal(size=(60, 40))
    H = A.T @ A / 60 * np.linspace(0.01, 3, 40)[None, :]
    H = (H + H.T) / 2 + 0.1 * np.eye(40)
    lam = 0.3
    exact = soft_rank(np.linalg.eigvalsh(H), lam)

    def f(x):
        return np.clip(x, 0, None) / (np.clip(x, 0, None) + lam)

    errs, devs = [], []
    for m in (8, 128, 2048):
        sd = slq_spectral_density(
            lambda V: H @ V, 40, n_probes=m, n_lanczos=20, random_state=0
        )
        value, err = sd.trace_function(f)
        errs.append(err)
        devs.append(abs(value - exact))
        assert abs(value - exact) <= 4 * err + 1e-8  # 4 standard errors
    assert errs[2] < errs[0] / 8  # 256x the probes: ~16x smaller standard error
    assert devs[2] < 0.02 * exact


def test_spectral_density_of_curvature_operators(rng):
    X = rng.normal(size=(150, 6))
    y = (X[:, 0] + rng.normal(size=150)) > 0
    curv = ts.curvature(LogisticRegression(tol=1e-12).fit(X, y), X, y)
    sd = hessian_spectral_density(curv, n_probes=3, n_lanczos=50, random_state=1)
    ev = np.linalg.eigvalsh(curv.hessian)
    assert sd.nodes.shape == (3, 7)
    assert_allclose(np.sort(sd.nodes[0]), ev, rtol=1e-8, atol=1e-10 * ev.max())
    assert_allclose(sd.weights.sum(1), 1.0, rtol=1e-12)
    bw = 0.05 * ev.max()
    grid = np.linspace(ev.min() - 10 * bw, ev.max() + 10 * bw, 4001)
    dens = sd.density(grid, bandwidth=bw)
    assert_allclose(np.trapezoid(dens, grid), 1.0, rtol=1e-3)  # a probability density
    with pytest.raises(TypeError, match="CurvatureOperators"):
        hessian_spectral_density(np.eye(3))
