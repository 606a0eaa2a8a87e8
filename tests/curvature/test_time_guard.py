"""The time guard: refuse O(d³) work beyond max_seconds at once, route around it."""

import re
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from ticselect.curvature._timing import dense_seconds


def _wide_net(width, n=30):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 64))
    y = np.arange(n) % 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration: ConvergenceWarning
        net = MLPClassifier((width,), max_iter=1, random_state=0).fit(X, y)
    return net, X, y


def test_d_30000_network_is_refused_without_allocating_the_hessian():
    net, X, y = _wide_net(400)
    d = sum((W.shape[0] + 1) * W.shape[1] for W in net.coefs_)
    assert d == 30_010
    dense_seconds(10, 10)  # the one-off calibration is not part of the check
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"would take about .* s .*max_seconds=60"):
            ts.curvature(net, X, y, max_memory=np.inf)  # memory alone would allow it
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the Hessian alone would be d² floats = 7.2 GB; the refusal stays under 50 MB
    assert peak < 50e6


def test_the_refusal_gives_both_routes():
    # issue 24: the one estimate overstated the subspace route (indefinite H_λ) by
    # up to 1.9x; the refusal now gives both, refusing by the slower Cholesky route
    net, X, y = _wide_net(400)
    with pytest.raises(ValueError) as err:
        ts.curvature(net, X, y, max_memory=np.inf)
    text = str(err.value)
    found = re.search(r"about ([\d.e+]+) s on this machine \(([\d.e+]+) s if", text)
    high, low = (float(v) for v in found.groups())
    assert "indefinite" in text and low < high
    # the two estimates differ only in the O(d³) term's constant
    d, n = 4810, 1797  # the digits network of benchmarks/README.md
    ratio = dense_seconds(d, n, route="subspace") / dense_seconds(d, n)
    measured = 3.2 / 6.0  # its measured subspace-route time over the old estimate
    assert measured < ratio < 1.0
    with pytest.raises(ValueError, match="route must be"):
        dense_seconds(d, n, route="eig")


def test_message_points_to_the_matrix_free_route():
    net, X, y = _wide_net(400)
    with pytest.raises(ValueError) as info:
        ts.curvature(net, X, y)
    assert "matrix-free" in str(info.value) or "matrix_free" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.fixture(scope="module")
def small_net():
    X, y = load_iris(return_X_y=True)
    net = MLPClassifier(
        (3,), activation="tanh", alpha=1.0, solver="lbfgs", max_iter=2000,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    return net, X, y


@pytest.mark.filterwarnings("ignore::ticselect.OverconfidenceWarning")
def test_tic_penalty_auto_routes_on_time(small_net):
    net, X, y = small_net
    exact = ts.tic_penalty(net, X, y, max_seconds=None)
    assert exact.n_matvecs == 0 and exact.error == 0.0
    est = ts.tic_penalty(net, X, y, max_seconds=1e-9, random_state=0)
    assert est.n_matvecs > 0
    with pytest.raises(ValueError, match="max_seconds"):
        ts.tic_penalty(net, X, y, method="exact", max_seconds=1e-9)


@pytest.mark.parametrize("bad", [0, -1.0, np.nan, "60"])
def test_bad_max_seconds(small_net, bad):
    net, X, y = small_net
    with pytest.raises(ValueError, match="max_seconds must be a positive number"):
        ts.curvature(net, X, y, max_seconds=bad)


def test_estimate_grows_like_d_cubed():
    a, b = dense_seconds(2000, 0), dense_seconds(4000, 0)
    assert np.isclose(b / a, 8.0)
