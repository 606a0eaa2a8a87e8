"""One factorisation per curvature: same numbers as the dense route, sound subspace.

Oracles: the dense gauge basis (``scipy.linalg.null_space``) with explicit inverses
(``np.linalg.inv``) and full eigendecompositions — the route the factorisation
replaces — on positive definite Hessians; on indefinite ones, the properties that
define the subspace route (``H_SS`` positive definite, ``effective_dim`` in
``[0, r]`` and equal to ``r`` without a penalty).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.curvature._factor import penalized_solve
from ticselect.curvature._linalg import GaugeComplement, complement_basis
from ticselect.curvature._mlp import mlp_exact
from ticselect.curvature.adapters.sklearn_mlp import mlp_grad_gram, mlp_spec


def _dense_reference(curv):
    """TIC penalty, effective dim, decrement and spectrum via a dense basis ``Q``."""
    g = curv.gauge if curv.gauge.shape[1] else None
    Q = complement_basis(g, curv.n_params)
    H = Q.T @ curv.hessian @ Q
    Hl = Q.T @ curv.penalized_hessian @ Q
    C = Q.T @ curv.grad_cov @ Q
    inv = np.linalg.inv(Hl)
    gr = Q.T @ curv.gradient
    return (
        np.trace(inv @ C),
        np.trace(inv @ H),
        0.5 * gr @ inv @ gr,
        np.linalg.eigvalsh(H),
    )


def _digits(n=None):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return (X, y) if n is None else (X[:n], y[:n])


@pytest.fixture(scope="module")
def pd_models():
    """Positive definite H_λ: binary and multinomial logistic, a softmax network."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    yb = (X[:, 0] + rng.logistic(size=300) > 0).astype(int)
    ym = np.digitize(X[:, 0] + X[:, 1] + rng.logistic(size=300), [-1.0, 1.0])
    out = []
    for y in (yb, ym):
        est = LogisticRegression(C=2.0, tol=1e-12, max_iter=5000).fit(X, y)
        out.append(ts.curvature(est, X, y))
    Xd, yd = _digits(200)
    net = MLPClassifier(
        (4,), activation="tanh", alpha=1.0, solver="lbfgs", tol=1e-12,
        max_iter=5000, random_state=0,
    ).fit(Xd, yd)  # fmt: skip
    out.append(ts.curvature(net, Xd, yd, stationarity_tol=np.inf))
    return out


@pytest.mark.filterwarnings("ignore::ticselect.OverconfidenceWarning")  # the network
def test_shared_factorisation_matches_dense_route(pd_models):
    gauges = [c.gauge.shape[1] for c in pd_models]
    assert gauges[0] == 0 and gauges[1] > 0 and gauges[2] > 0  # with and without
    for curv in pd_models:
        tic, eff, dec, ev = _dense_reference(curv)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ts.SingularHessianWarning)
            crit = ts.criteria(curv)
        sol = curv.penalized_solve()
        assert sol.route == "cholesky" and sol.rank == curv.n_free_params
        # rtol: the same traces through a Cholesky inverse vs numpy's LU inverse of
        # matrices with condition numbers < 1e5
        assert_allclose(crit.tic_penalty, tic, rtol=1e-10)
        assert_allclose(crit.effective_dim, eff, rtol=1e-10)
        assert_allclose(curv.newton_decrement, dec, rtol=1e-8, atol=1e-14)
        lam = crit.soft_rank_lambda
        assert_allclose(
            crit.soft_rank, np.sum(np.clip(ev, 0, None) / (np.clip(ev, 0, None) + lam))
            , rtol=1e-10,
        )  # fmt: skip


@pytest.mark.filterwarnings("ignore::ticselect.OverconfidenceWarning")
def test_factorisation_is_cached_and_reused(pd_models):
    curv = pd_models[2]
    first = curv.penalized_solve()
    assert curv.penalized_solve() is first
    assert curv.newton_decrement == first.newton_decrement
    assert ts.criteria(curv).tic_penalty == first.tic_penalty


@pytest.mark.parametrize("kind", ["blocks", "general"])
def test_gauge_complement_equals_dense_basis(kind, rng):
    d = 12
    if kind == "blocks":  # softmax-like: one direction per input over 3 classes
        U = np.zeros((d, 4))
        for j in range(4):
            U[[j, 4 + j, 8 + j], j] = 1 / np.sqrt(3)
    else:
        U = np.linalg.qr(rng.normal(size=(d, 3)))[0]
    A = rng.normal(size=(d, 2 * d))
    M = A @ A.T
    x = rng.normal(size=d)
    gc = GaugeComplement(U, d)
    Q = complement_basis(U, d)
    R = gc.restrict(M)
    assert R.shape == (d - U.shape[1],) * 2
    sub = np.array([0, 3, 5, 6])
    assert_allclose(gc.restrict(M, subset=sub), R[np.ix_(sub, sub)], rtol=1e-13)
    # basis-free invariants of Qᵀ M Q and Qᵀ x: spectrum, norms, the quadratic form
    # (rtol: eigenvalues of a 12×12 well-conditioned matrix)
    assert_allclose(np.linalg.eigvalsh(R), np.linalg.eigvalsh(Q.T @ M @ Q), rtol=1e-11)
    assert_allclose(np.linalg.norm(gc.vector(x)), np.linalg.norm(Q.T @ x), rtol=1e-12)
    assert_allclose(
        gc.vector(x) @ np.linalg.solve(R, gc.vector(x)),
        (Q.T @ x) @ np.linalg.solve(Q.T @ M @ Q, Q.T @ x),
        rtol=1e-10,
    )
    p = np.repeat([0.5, 2.0, 0.0], 4) if kind == "blocks" else rng.random(d)
    P = gc.diagonal(p)
    Pfull = np.diag(P) if P.ndim == 1 else P
    assert_allclose(
        np.linalg.eigvalsh(R + Pfull),
        np.linalg.eigvalsh(Q.T @ (M + np.diag(p)) @ Q),
        rtol=1e-11,
    )


@pytest.fixture(scope="module")
def indefinite_net():
    """Width 16 on 300 digits rows, alpha 1e-5: lbfgs stops where H_λ is indefinite."""
    X, y = _digits(300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = MLPClassifier(
            (16,), activation="tanh", alpha=1e-5, solver="lbfgs", max_iter=400,
            tol=1e-9, random_state=0,
        ).fit(X, y)  # fmt: skip
        curv = ts.curvature(net, X, y, stationarity_tol=np.inf)
    return curv


def test_indefinite_is_defined_on_one_subspace(indefinite_net):
    curv = indefinite_net
    gc = GaugeComplement(curv.gauge, curv.n_params)
    Hl = gc.restrict(curv.penalized_hessian)
    assert np.linalg.eigvalsh(Hl)[0] < 0  # really indefinite
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        crit = ts.criteria(curv)
    singular = [w for w in caught if w.category is ts.SingularHessianWarning]
    assert len(singular) == 1  # once per call
    assert "penalised Hessian of MLPClassifier" in str(singular[0].message)
    sol = curv.penalized_solve()
    k, r, S = curv.n_free_params, sol.rank, sol.subspace
    assert sol.route == "subspace" and 0 < r < k and len(S) == r
    H = gc.restrict(curv.hessian)
    HS = H[np.ix_(S, S)]
    assert np.linalg.eigvalsh(HS)[0] > 0  # well-determined positive curvature
    assert 0.0 <= crit.effective_dim <= r
    assert crit.tic_penalty >= 0 and 0.0 <= crit.soft_rank <= r
    # oracle on S: explicit inverses of the principal blocks
    P = gc.diagonal(curv.penalty)
    HlS = HS + np.diag(P[S])
    CS = gc.restrict(curv.grad_cov)[np.ix_(S, S)]
    inv = np.linalg.inv(HlS)
    # rtol: cond(H_λ,SS) up to ~1e8 here, explicit inverse vs Cholesky inverse
    assert_allclose(crit.tic_penalty, np.trace(inv @ CS), rtol=1e-6)
    assert_allclose(crit.effective_dim, np.trace(inv @ HS), rtol=1e-6)
    lam = crit.soft_rank_lambda
    ev = np.linalg.eigvalsh(HS)
    assert_allclose(crit.soft_rank, np.sum(ev / (ev + lam)), rtol=1e-9)
    assert crit.numerical_rank == r


def test_subspace_soft_rank_needs_no_eigenvalues(indefinite_net):
    """On S the soft rank, its bounds and the rank come from the factorisations.

    Oracle: a full eigendecomposition of ``H_SS`` (numpy), the route it replaces.
    """
    curv = indefinite_net
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        crit = ts.criteria(curv)
        other = ts.criteria(curv, soft_rank_lambda=3e-5)  # not the penalty: direct
        zero = ts.criteria(curv, soft_rank_lambda=0.0)
    sol = curv.penalized_solve()
    assert sol.shifted_trace is not None  # uniform penalty: the Woodbury trace
    assert_allclose(sol.shifted_lambda, crit.soft_rank_lambda, rtol=1e-14)
    gc = GaugeComplement(curv.gauge, curv.n_params)
    HS = gc.restrict(curv.hessian)[np.ix_(sol.subspace, sol.subspace)]
    ev = np.linalg.eigvalsh(HS)
    r = sol.rank
    for c in (crit, other):
        lam = c.soft_rank_lambda
        # rtol 1e-9: cond(H_SS + λI) ~ 1e6 here; eigenvalues vs triangular inverse
        assert_allclose(c.soft_rank, np.sum(ev / (ev + lam)), rtol=1e-9)
        assert_allclose(c.soft_rank_estimate, ev.sum() / (ev[-1] + lam), rtol=1e-12)
        assert_allclose(c.soft_rank_upper, ev.sum() / (ev.sum() / r + lam), rtol=1e-12)
        assert c.hessian_rank == c.numerical_rank == r
    assert zero.soft_rank == r
    assert_allclose(sol.subspace_top, ev[-1], rtol=1e-12)
    assert_allclose(sol.subspace_trace, np.trace(HS), rtol=1e-14)


def test_woodbury_trace_is_refused_when_the_penalty_is_not_uniform(indefinite_net):
    curv = indefinite_net
    pen = curv.penalty.copy()
    pen[np.flatnonzero(pen)[::2]] *= 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = penalized_solve(
            curv.hessian, curv.grad_cov, pen, curv.gradient, curv.gauge
        )
    assert sol.route == "subspace" and sol.shifted_trace is None


def test_indefinite_without_penalty_counts_the_subspace(indefinite_net):
    curv = indefinite_net
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = penalized_solve(
            curv.hessian, curv.grad_cov, np.zeros(curv.n_params), curv.gradient,
            curv.gauge,
        )  # fmt: skip
    assert sol.route == "subspace"
    assert sol.effective_dim == sol.rank


def test_effective_dim_in_range_on_the_network_that_gave_minus_594():
    """Width 16 on all digits rows at alpha 1e-3: the pseudo-inverse of the
    equilibrated H_λ gave effective_dim = -86 here (and -594 in the issue's run)."""
    X, y = _digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = MLPClassifier(
            (16,), activation="tanh", alpha=1e-3, solver="lbfgs", max_iter=300,
            random_state=0,
        ).fit(X, y)  # fmt: skip
        curv = ts.curvature(net, X, y, stationarity_tol=np.inf)
        crit = ts.criteria(curv)
    assert curv.penalized_solve().route == "subspace"
    assert 0.0 <= crit.effective_dim <= crit.numerical_rank <= crit.n_params


def test_fisher_soft_rank_from_the_gram_matrix_when_n_is_small():
    """n = 60 rows < k: the n × n Gram matrix of the weighted gradients has the
    non-zero eigenvalues of C (gauge components of the gradients vanish)."""
    X, y = _digits(60)
    w = np.random.default_rng(0).integers(1, 3, size=60).astype(float)
    net = MLPClassifier(
        (6,), activation="tanh", alpha=0.1, solver="lbfgs", max_iter=3000,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curv = ts.curvature(net, X, y, w, stationarity_tol=np.inf)
        crit = ts.criteria(curv)
    assert curv.n_rows < curv.n_free_params
    gc = GaugeComplement(curv.gauge, curv.n_params)
    ev = np.clip(np.linalg.eigvalsh(gc.restrict(curv.grad_cov)), 0, None)
    lam = crit.soft_rank_lambda
    # rtol: Cholesky of the 60×60 Gram vs eigenvalues of the 447×447 C
    assert_allclose(crit.fisher_soft_rank, np.sum(ev / (ev + lam)), rtol=1e-9)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_mlp_grad_gram_equals_the_gram_of_the_weighted_gradients(kind):
    """The layers' Gram matrices give W^½ G Gᵀ W^½ (oracle: the product itself),
    two hidden layers, frequency weights, and σ² as a parameter (regressor)."""
    X, y = _digits(50)
    w = np.random.default_rng(1).integers(1, 4, size=50).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "classifier":
            net = MLPClassifier(
                hidden_layer_sizes=(5, 4), activation="tanh", max_iter=30,
                random_state=0,
            )  # fmt: skip
        else:
            net = MLPRegressor(
                hidden_layer_sizes=(5, 4), activation="relu", max_iter=30,
                random_state=0,
            )  # fmt: skip
        net.fit(X, y)
    spec = mlp_spec(net, X, y, w)
    assert spec.sigma2_is_param == (kind == "regressor")
    G = np.sqrt(w)[:, None] * mlp_exact(spec, hessian=False)[1]
    ref = np.tril(G @ G.T)
    K = np.tril(mlp_grad_gram(spec))
    # atol: entries are sums of terms up to max|ref|; a product of two sums
    # differs from one sum of products by rounding of that size only
    assert_allclose(K, ref, rtol=1e-12, atol=1e-13 * np.abs(ref).max())


def test_fisher_soft_rank_of_a_clustered_network_uses_the_group_scores():
    """With groups, C = Σ_g s_g s_gᵀ: the Fisher soft rank is that of the clustered
    C (oracle: its eigenvalues), not of the per-row gradients (the Gram route used
    the ungrouped rows before), and 1 row per group gives the ungrouped value."""
    X, y = _digits(60)
    net = MLPClassifier(
        (6,), activation="tanh", alpha=0.1, solver="lbfgs", max_iter=3000,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curv = ts.curvature(net, X, y, groups=np.arange(60) // 3, stationarity_tol=1)
        crit = ts.criteria(curv)
        plain = ts.criteria(ts.curvature(net, X, y, stationarity_tol=1))
        single = ts.criteria(
            ts.curvature(net, X, y, groups=np.arange(60), stationarity_tol=1)
        )
    assert curv.n_groups < curv.n_free_params
    gc = GaugeComplement(curv.gauge, curv.n_params)
    ev = np.clip(np.linalg.eigvalsh(gc.restrict(curv.grad_cov)), 0, None)
    lam = crit.soft_rank_lambda
    # rtol: Cholesky of the 20×20 Gram vs eigenvalues of the 447×447 C
    assert_allclose(crit.fisher_soft_rank, np.sum(ev / (ev + lam)), rtol=1e-9)
    assert abs(crit.fisher_soft_rank - plain.fisher_soft_rank) > 0.1
    assert_allclose(single.fisher_soft_rank, plain.fisher_soft_rank, rtol=1e-9)
