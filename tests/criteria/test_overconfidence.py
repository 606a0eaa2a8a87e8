"""penalty_ratio and OverconfidenceWarning: raised for interpolating networks, never
for correctly specified models (where C ≈ H, the information identity)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from ticselect.criteria import OVERCONFIDENCE_RATIO


def _logistic_criteria(seed, n=400):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    eta = 0.3 + X @ np.array([1.0, -0.5, 0.25])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    est = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(X, y)
    return ts.criteria(ts.curvature(est, X, y))


def test_correctly_specified_logistic_never_warns():
    ratios = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ts.OverconfidenceWarning)
        for seed in range(20):
            crit = _logistic_criteria(seed)
            assert "overconfident" not in crit.flags
            assert crit.penalty_ratio == crit.tic_penalty / crit.effective_dim
            ratios.append(crit.penalty_ratio)
    ratios = np.array(ratios)
    assert ratios.min() > OVERCONFIDENCE_RATIO
    # information identity: E tr(H⁻¹C) = k + O(1/n), so the ratio averages to ~1
    # (20 draws, each with a relative sd of ~0.1 at n = 400, k = 4)
    assert_allclose(ratios.mean(), 1.0, atol=0.1)


def _digits(n):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16, y[:n]


def _interpolating_net(width, n):
    X, y = _digits(n)
    net = MLPClassifier(
        (width,), alpha=1e-5, solver="lbfgs", max_iter=5000, tol=1e-10,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    return net, X, y


def _warns_overconfident(net, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        crit = ts.criteria(ts.curvature(net, X, y))
    over = [w for w in caught if w.category is ts.OverconfidenceWarning]
    return crit, over


def test_small_interpolating_network_is_flagged():
    net, X, y = _interpolating_net(8, 100)
    assert net.score(X, y) == 1.0  # interpolates its training rows
    crit, over = _warns_overconfident(net, X, y)
    assert len(over) == 1  # once per call
    assert "overconfident" in crit.flags and not crit.reliable
    assert crit.penalty_ratio < OVERCONFIDENCE_RATIO
    assert "cross-validation" in str(over[0].message)


@pytest.mark.slow
def test_acceptance_width_64_network_on_300_rows_is_flagged():
    net, X, y = _interpolating_net(64, 300)
    crit, over = _warns_overconfident(net, X, y)
    assert len(over) == 1 and "overconfident" in crit.flags
    assert crit.penalty_ratio < 1e-3
