"""MacKay's fixed point for the weight decay of a network, at the decay it tunes.

The decay of a tiny ``MLPClassifier`` is tuned by the evidence: the root in
``log alpha`` of ``log(mackay_update / alpha)`` (Brent, each evaluation a warm-started
lbfgs refit and a curvature without ``H``).  At that decay the fixed point
``λ = γ / ‖w‖²`` (MacKay 1992) is checked against an independent oracle: ``γ`` from
the eigenvalues of the model Fisher built from autograd's output Jacobians, ``‖w‖²``
from the fitted weights.
"""

import copy
import warnings

import numpy as np
import pytest
from autograd import jacobian
from numpy.testing import assert_allclose
from scipy.optimize import brentq
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from tests.flatness.test_model_fisher import _outputs_autograd
from ticselect.curvature._mlp import _theta

# lbfgs stops each refit at its own tolerance: mackay_update(alpha) / alpha moves by
# about 1e-5 between refits at one alpha (measured: 2e-6 to 2e-5 over 100 refits), so
# the fixed point holds to that, not to float64.
RTOL_REFIT = 1e-4


@pytest.fixture(scope="module")
def tuned():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=80) > 0).astype(int)
    net = MLPClassifier((5,), activation="tanh", alpha=1.0, solver="lbfgs",
                        max_iter=10_000, tol=1e-14, random_state=0,
                        warm_start=True)  # fmt: skip
    seen = {}

    def evaluate(log_alpha):
        net.set_params(alpha=float(np.exp(log_alpha)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net.fit(X, y)
        curv = ts.curvature(net, X, y, hessian=False)
        ev = ts.evidence(curv, "ggn")
        seen[float(log_alpha)] = (ev, curv)
        # scikit-learn's alpha is the prior precision on the sum scale
        assert_allclose(ev.prior_precision, net.alpha, rtol=1e-14)
        return np.log(ev.mackay_update / net.alpha)

    root = brentq(evaluate, np.log(1e-2), np.log(10.0), xtol=1e-8)
    ev, curv = seen[min(seen, key=lambda k: abs(k - root))]
    return X, y, net, ev, curv


def test_mackay_fixed_point_holds_at_the_tuned_decay(tuned):
    X, y, net, ev, curv = tuned
    lam = net.alpha
    assert 0.1 < lam < 1.0  # inside the bracket, away from its ends
    assert_allclose(ev.mackay_update, lam, rtol=RTOL_REFIT)
    # oracle: γ = k − λ·tr((F_pp + λI)⁻¹) over the penalised weights (biases
    # profiled, the default), F the model Fisher from autograd's Jacobians
    spec = curv.output_jacobians_fn.args[0]
    theta = _theta(spec)
    J = jacobian(_outputs_autograd(spec))(theta)[:, 0, :]  # (n, d): one logit
    p = 1.0 / (1.0 + np.exp(-_outputs_autograd(spec)(theta)[:, 0]))
    F = J.T @ (J * (p * (1 - p))[:, None])
    pen = curv.penalty > 0
    eig = np.linalg.eigvalsh(F[np.ix_(pen, pen)])
    gamma = float(np.sum(eig / (eig + lam)))
    assert_allclose(ev.gamma, gamma, rtol=1e-8)  # same fit: rounding only
    assert_allclose(gamma / np.sum(theta[pen] ** 2), lam, rtol=RTOL_REFIT)


def test_the_fixed_point_attracts_and_is_near_the_evidence_optimum(tuned):
    X, y, net, ev, _ = tuned
    lam = net.alpha
    for factor in (0.5, 2.0):
        # the same mode, moved by the decay (a cold refit may find another one)
        other = copy.deepcopy(net).set_params(alpha=lam * factor)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            other.fit(X, y)
        away = ts.evidence(ts.curvature(other, X, y, hessian=False), "ggn")
        # MacKay's update points back toward the tuned decay from either side
        assert np.sign(away.mackay_update - other.alpha) == np.sign(1.0 - factor)
        # The fixed point is the evidence's stationary point only with the curvature
        # held fixed; a network's model Fisher moves with θ̂(λ), so the evidence may
        # rise a little beyond it (measured: -0.90 nats at λ/2, +0.06 at 2λ), a
        # small fraction of the nats that separate widths.
        assert away.log_evidence < ev.log_evidence + 0.1
