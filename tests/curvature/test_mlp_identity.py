"""Identity-activation networks: the weights are not identified, and ``k`` counts
only what the data can determine (issue 24 item 7).

With linear hidden units the network is ``x ↦ x W₁⋯W_L + c``; ``(W₁, W₂) →
(W₁A, A⁻¹W₂)`` changes no prediction.  The oracle is a brute-force rank: the
Jacobian of the network's outputs on the training rows with respect to every
weight, by central differences of scikit-learn's own ``predict``.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

import ticselect as ts
from ticselect.curvature._mlp import flatten, unflatten


def _outputs(est, X, theta):
    """Outputs before the output activation at weights ``theta`` (brute force)."""
    shapes = [(W.shape[0] + 1, W.shape[1]) for W in est.coefs_]
    layers = unflatten(theta, shapes)
    A = X
    for j, M in enumerate(layers):
        A = A @ M[:-1] + M[-1]  # identity hidden units: no activation
        if j < len(layers) - 1:
            assert est.activation == "identity"
    return A


def _jacobian_rank(est, X, softmax):
    theta = flatten(est.coefs_, est.intercepts_)
    h = 1e-6 * np.maximum(1.0, np.abs(theta))
    cols = []
    for j in range(theta.size):
        e = np.zeros(theta.size)
        e[j] = h[j]
        diff = (_outputs(est, X, theta + e) - _outputs(est, X, theta - e)) / (2 * h[j])
        if softmax:  # a common shift of all logits changes no probability
            diff = diff - diff.mean(axis=1, keepdims=True)
        cols.append(diff.ravel())
    J = np.column_stack(cols)
    sv = np.linalg.svd(J, compute_uv=False)
    # the outputs are multilinear in the weights: differences are exact to
    # rounding, so the gap between zero and non-zero singular values is huge
    return int(np.sum(sv > 1e-8 * sv[0]))


@pytest.mark.parametrize(
    ("hidden", "p", "K"), [((3,), 3, 1), ((4,), 3, 2), ((5, 2), 4, 1), ((2,), 5, 3)]
)
def test_regressor_counts_the_identified_weights(hidden, p, K):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, p))
    Y = X @ rng.normal(size=(p, K)) + rng.normal(size=(120, K))
    y = Y[:, 0] if K == 1 else Y
    est = MLPRegressor(hidden_layer_sizes=hidden, activation="identity", alpha=1e-3,
                       solver="lbfgs", max_iter=5000, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
    rank = _jacobian_rank(est, X, softmax=False)
    assert curv.n_free_params == rank + 1  # + σ²
    assert curv.n_params > curv.n_free_params  # e.g. 17 weights and σ², 5 identified
    assert_allclose(curv.gauge.T @ curv.gauge, np.eye(curv.gauge.shape[1]), atol=1e-10)


def test_the_3_3_1_regressor_is_a_linear_regression():
    # the example: 16 weights and σ², of which 3 slopes, 1 intercept and σ²
    # are identified; unpenalised, k, AIC and TIC equal LinearRegression's
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=200)
    est = MLPRegressor(hidden_layer_sizes=(3,), activation="identity", alpha=0.0,
                       solver="lbfgs", tol=1e-14, max_iter=20_000,
                       random_state=0)  # fmt: skip
    curv = ts.curvature(est.fit(X, y), X, y)
    crit = ts.criteria(curv)
    ref = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    assert curv.n_params == 17 and crit.n_params == ref.n_params == 5
    # the same optimum reached by L-BFGS (1e-6 relative gradient): 1e-8 relative
    assert_allclose(crit.aic, ref.aic, rtol=1e-8)
    assert_allclose(crit.tic, ref.tic, rtol=1e-6)
    assert_allclose(crit.tic_penalty, ref.tic_penalty, rtol=1e-4)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_counts_the_identified_weights(n_classes):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 3))
    y = np.digitize(X[:, 0] + 0.5 * rng.normal(size=150),
                    [-0.5, 0.5][: n_classes - 1])  # fmt: skip
    est = MLPClassifier(hidden_layer_sizes=(4,), activation="identity", alpha=1e-2,
                        solver="lbfgs", max_iter=5000, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
    rank = _jacobian_rank(est, X, softmax=n_classes > 2)
    assert curv.n_free_params == rank
    # a linear logit model: K - 1 contrasts of p + 1 coefficients
    assert rank == (n_classes - 1) * 4


def test_nonlinear_units_keep_their_count():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    y = np.tanh(X[:, 0]) + rng.normal(size=80)
    est = MLPRegressor(hidden_layer_sizes=(3,), activation="tanh", alpha=1e-3,
                       solver="lbfgs", max_iter=5000, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curv = ts.curvature(est.fit(X, y), X, y, stationarity_tol=np.inf)
    assert curv.gauge.shape[1] == 0 and curv.n_free_params == 17
