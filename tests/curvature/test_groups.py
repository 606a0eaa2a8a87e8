"""groups=: the clustered gradient covariance C = Σ_g s_g s_gᵀ."""

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPRegressor

import ticselect as ts
from ticselect.curvature._groups import group_scores


def _logit(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(int)
    return X, y, LogisticRegression(C=2.0, tol=1e-12).fit(X, y)


def test_one_row_per_group_equals_ungrouped_exactly():
    X, y, m = _logit()
    plain = ts.curvature(m, X, y)
    labels = np.random.default_rng(1).permutation(len(y)) * 7  # any distinct labels
    grouped = ts.curvature(m, X, y, groups=labels)
    assert np.array_equal(grouped.grad_cov, plain.grad_cov)
    assert ts.criteria(grouped) == ts.criteria(plain)
    # and the general summation path agrees with Σ gᵢgᵢᵀ to rounding
    S = group_scores(plain.per_sample_grads, np.ones(len(y)), labels // 7, len(y))
    np.testing.assert_allclose(S.T @ S, plain.grad_cov, rtol=1e-12, atol=1e-12)


def test_grouped_c_matches_loop_over_groups():
    X, y, m = _logit()
    g = np.arange(len(y)) % 13
    curv = ts.curvature(m, X, y, groups=g)
    G = ts.curvature(m, X, y).per_sample_grads
    C = sum(np.outer(G[g == k].sum(0), G[g == k].sum(0)) for k in range(13))
    np.testing.assert_allclose(curv.grad_cov, C, rtol=1e-10)
    assert curv.n_groups == 13
    crit = ts.criteria(curv)
    # n for BIC stays the number of rows
    assert crit.n_samples == len(y)
    assert np.isclose(crit.bic, ts.criteria(ts.curvature(m, X, y)).bic)


def test_weights_equal_duplicated_rows_in_the_same_group():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    y = X[:, 0] + rng.normal(size=80)
    w = rng.integers(1, 4, size=80).astype(float)
    g = rng.integers(0, 10, size=80)
    m = LinearRegression().fit(X, y, sample_weight=w)
    rows = np.repeat(np.arange(80), w.astype(int))
    a = ts.curvature(m, X, y, w, groups=g)
    b = ts.curvature(m, X[rows], y[rows], groups=g[rows])
    np.testing.assert_allclose(a.grad_cov, b.grad_cov, rtol=1e-10)
    pa, pb = ts.pointwise(a), ts.pointwise(b)
    np.testing.assert_allclose(pa.tic[rows], pb.tic, rtol=1e-10)


def test_groups_for_statsmodels_and_networks():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 2))
    y = rng.poisson(np.exp(0.3 * X[:, 0]))
    g = np.repeat(np.arange(30), 4)
    res = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit()
    curv = ts.curvature(res, groups=g)
    # statsmodels' own cluster meat: sum of score_obs within groups
    S = np.array([res.model.score_obs(res.params)[g == k].sum(0) for k in range(30)])
    np.testing.assert_allclose(curv.grad_cov, S.T @ S, rtol=1e-8)
    net = MLPRegressor(
        hidden_layer_sizes=(2,),
        activation="tanh",
        solver="lbfgs",
        alpha=1.0,
        tol=1e-12,
        max_iter=5000,
        random_state=0,
    ).fit(X, y)
    cn = ts.curvature(net, X, y, groups=g)
    Gn = cn.per_sample_grads
    Sn = np.array([Gn[g == k].sum(0) for k in range(30)])
    np.testing.assert_allclose(cn.grad_cov, Sn.T @ Sn, rtol=1e-8, atol=1e-12)


def test_bad_groups():
    X, y, m = _logit(n=50)
    with pytest.raises(ValueError, match="one label per row"):
        ts.curvature(m, X, y, groups=np.arange(49))
    with pytest.raises(ValueError, match="NaN"):
        ts.curvature(m, X, y, groups=np.r_[np.nan, np.arange(49.0)])


@pytest.mark.slow
def test_clustered_tic_penalty_tracks_the_true_gap():
    # Gaussian working model on clustered data (see benchmarks/clustered_tic.py):
    # the true gap E[L_test(θ̂) - L_train(θ̂)] without its mean-zero noise term,
    # from the closed-form E_new ℓ(θ) (x, z ~ N(0, 1), pseudo-true σ*² = τ² + 1).
    rng = np.random.default_rng(0)
    G, m, tau2 = 40, 10, 1.0
    n = G * m
    g = np.repeat(np.arange(G), m)

    def e_nll(beta, b0, s2):
        mse = np.sum((np.asarray(beta) - 1.0) ** 2) + (b0 - 1.0) ** 2 + tau2 + 1.0
        return 0.5 * np.log(2 * np.pi * s2) + mse / (2 * s2)

    def nll(y, mu, s2):
        return np.sum(0.5 * np.log(2 * np.pi * s2) + (y - mu) ** 2 / (2 * s2))

    gaps, iid, clus = [], [], []
    for _ in range(200):
        x, z = rng.normal(size=n), rng.normal(size=G)[g]
        y = 1 + x + z + rng.normal(scale=np.sqrt(tau2), size=G)[g] + rng.normal(size=n)
        X = np.column_stack([x, z])
        fit = LinearRegression().fit(X, y)
        s2 = np.mean((y - fit.predict(X)) ** 2)
        gaps.append(
            n * (e_nll(fit.coef_, fit.intercept_, s2) - e_nll([1, 1], 1.0, tau2 + 1))
            + nll(y, 1 + x + z, tau2 + 1)
            - nll(y, fit.predict(X), s2)
        )
        iid.append(ts.criteria(ts.curvature(fit, X, y)).tic_penalty)
        clus.append(ts.criteria(ts.curvature(fit, X, y, groups=g)).tic_penalty)
    gap = np.mean(gaps)  # ≈ 15.6 (benchmark); iid ≈ 4.0, clustered ≈ 14.3
    assert abs(np.mean(clus) - gap) < 0.25 * gap
    assert abs(np.mean(iid) - gap) > 3 * abs(np.mean(clus) - gap)
