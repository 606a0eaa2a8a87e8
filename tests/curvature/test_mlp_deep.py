"""Fitted scikit-learn networks with two and three hidden layers against autograd.

The one-hidden-layer networks and random-weight specs of every depth are checked in
test_mlp.py / test_mlp_properties.py.  Here the networks are *fitted* by
scikit-learn (L-BFGS, weights, every output kind) and read through
``ts.curvature``; the oracle is test_mlp's independent reference density
(``_reference_nll``: its own forward pass, textbook densities checked against
scipy.stats), differentiated by ``ts.curvature_from_loss`` (autograd) — no code
shared with ticselect's closed-form network kernel.  Compared: the NLL, the Hessian
spectrum and the TIC penalty on the complement of the gauge directions.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import ticselect as ts
from tests.curvature.test_mlp import N, _fit, _reference_nll, _theta
from ticselect.curvature._linalg import complement_basis, restrict
from ticselect.curvature.adapters.sklearn_mlp import mlp_spec


def _reference_tic_penalty(ref, penalty, gauge):
    Q = complement_basis(gauge if gauge.shape[1] else None, len(penalty))
    H_lam = restrict(ref.hessian + np.diag(penalty), Q)
    return np.trace(np.linalg.solve(H_lam, restrict(ref.grad_cov, Q)))


@pytest.mark.parametrize("hidden", [(4, 3), (3, 3, 2)])
@pytest.mark.parametrize(
    "task", ["binary", "multiclass", "multilabel", "regression", "poisson"]
)
def test_fitted_deep_networks_match_autograd(task, hidden):
    w = np.random.default_rng(7).integers(1, 3, N).astype(float)
    # random_state=1: every fit here ends at a local minimum (with random_state=0
    # the (4, 3) regression net stops at a point with a negative curvature
    # direction, where criteria fall back to the pseudo-inverse by design)
    est, X, y = _fit(task, "tanh", sw=w, hidden_layer_sizes=hidden, random_state=1)
    curv = ts.curvature(est, X, y, sample_weight=w, stationarity_tol=np.inf)
    spec = mlp_spec(est, X, y, w)
    theta = _theta(spec)
    assert_allclose(curv.params, theta, rtol=0, atol=0)
    ref = ts.curvature_from_loss(
        _reference_nll(spec, per_sample=True),
        theta,
        penalty=curv.penalty,
        sample_weight=w,
        stationarity_tol=np.inf,
    )
    # Exact float64 derivatives summed in different orders: rounding-level agreement.
    assert_allclose(curv.nll, ref.nll, rtol=1e-12)
    ev, ev_ref = np.linalg.eigvalsh(curv.hessian), np.linalg.eigvalsh(ref.hessian)
    assert_allclose(ev, ev_ref, rtol=1e-9, atol=1e-10 * np.abs(ev_ref).max())
    assert_allclose(curv.grad_cov, ref.grad_cov, rtol=1e-9, atol=1e-12)
    pen = ts.criteria(curv).tic_penalty
    assert_allclose(
        pen, _reference_tic_penalty(ref, curv.penalty, curv.gauge), rtol=1e-8
    )
    assert len(est.coefs_) == len(hidden) + 1
    # a fitted network sits at a local minimum: H_λ positive definite off the gauge
    assert (
        np.linalg.eigvalsh(
            restrict(
                curv.penalized_hessian,
                complement_basis(
                    curv.gauge if curv.gauge.shape[1] else None, curv.n_params
                ),
            )
        ).min()
        > 0
    )
