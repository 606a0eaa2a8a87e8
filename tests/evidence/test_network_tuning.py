"""MacKay's fixed point for the weight decay of a network, at the decay that
``CriterionSearch(criterion="evidence")`` tunes.

Convention (scikit-learn's, the one :func:`ticselect.evidence` uses for networks): the
penalised loss is ``L(θ) + (α/2)·‖w‖²`` on the sum scale, ``w`` the ``k`` connection
weights (the biases are unpenalised and, with ``unpenalized="profile"``, maximised
over), i.e. the prior ``w ~ N(0, α⁻¹I)`` with weight-decay energy ``E_W = ‖w‖²/2``.
With ``F`` the model Fisher (GGN) of the weights at the fit ``θ̂(α)`` the Laplace
evidence is

    log Z(α) = −L(θ̂) − α·E_W + (k/2)·log α − ½·log det(F + αI) + const,

and, ``θ̂`` being stationary for the penalised loss (envelope theorem),

    2·d log Z / d log α = γ − 2α·E_W − D,   γ = k − α·tr((F + αI)⁻¹),
    D = tr((F + αI)⁻¹ dF/d log α)   (F moves with θ̂(α); α held fixed).

So at the evidence's optimum MacKay's condition reads ``γ = 2α·E_W + D``: it is
MacKay's fixed point ``γ = 2α·E_W`` (MacKay 1992) up to the drift ``D`` of the
curvature, which vanishes for a GLM's ``F`` (fixed for a Gaussian likelihood) but
not for a network.  The test tunes ``α`` with ``CriterionSearch`` and checks this at
the tuned ``α`` with oracles independent of ticselect: ``γ`` from the eigenvalues
of ``F`` built from autograd's output Jacobians, ``E_W`` from the fitted weights,
``D`` by a central difference of ``log det(F(θ̂(α·e^{±h})) + αI)`` over two
warm-started refits.  Two checks:

1. The identity itself, at the tuned ``α``: ``γ − 2α·E_W − D`` equals
   ``2·d log Z / d log α`` from a central difference of ``ticselect.evidence`` over
   the same two refits.
2. MacKay's condition at the optimum: ``|γ − 2α·E_W − D|`` is within what the
   search's stopping rule allows (see ``_search_tolerance``), and the drift term is
   needed (``D`` is not negligible here: the plain fixed point misses by several
   times that tolerance).
"""

import copy
import warnings

import numpy as np
import pytest
from autograd import jacobian
from numpy.testing import assert_allclose
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from tests.flatness.test_model_fisher import _outputs_autograd
from ticselect.curvature._mlp import _theta

XTOL = 1e-4  # the search's tolerance on log α
H_STEP = 0.1  # central-difference step in log α (D and the slope of log Z)
# Check 1: both central differences share the two refits.  Their errors: the refit
# jitter of -2 log Z (about 5e-3, measured below) over 2h = 0.2, i.e. 0.02, and
# O(h²) truncation (D moves by 0.03 between h = 0.02 and 0.1); measured difference
# 0.009.
ATOL_IDENTITY = 0.05


def _search_tolerance(search):
    """How far from stationary the search's pick may be, in units of ``2·d log Z /
    d log α``.

    Brent stops within ``XTOL`` of the minimiser of the criterion it evaluates, but
    every evaluation is a warm-started lbfgs refit that stops at its own tolerance
    (scikit-learn's lbfgs ends on scipy's relative decrease ``ftol ≈ 2e-9`` long
    before ``tol=1e-14`` on the gradient), so ``-2 log Z`` jitters by ``ε`` between
    refits at one ``α``.  A minimiser of a curve of curvature ``c`` jittered by
    ``ε`` lies within ``δ = √(2ε/c)`` in ``log α`` of the true one, where the slope is
    at most ``c·δ = √(2εc)`` (plus ``c·XTOL``, negligible).  ``ε`` is read from the
    search's own evaluations within 0.01 of the pick in ``log α`` (measured: 4.5e-3
    over 12 refits) and ``c`` from the evaluations 0.1–1.5 away (a quadratic fit;
    measured: 9.6).  Tolerance: ``√(2εc) + c·XTOL`` (0.29 here)."""
    t = np.log(np.asarray(search.path_["alpha"], dtype=float))
    crit = np.asarray(search.path_["criterion"], dtype=float)
    dt = t - np.log(search.best_params_["alpha"])
    near = np.abs(dt) < 0.01
    far = (np.abs(dt) > 0.1) & (np.abs(dt) < 1.5)
    assert near.sum() >= 3 and far.sum() >= 3
    eps = np.ptp(crit[near])
    c = 2.0 * np.polyfit(dt[far], crit[far], 2)[0]
    assert 0 < eps < 0.05 and c > 0
    return float(np.sqrt(2.0 * eps * c) + c * XTOL)


def _fit(net, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return net.fit(X, y)


def _fisher_weights(net, X, y):
    """``(F_ww, w)``: the model Fisher of the connection weights from autograd's
    output Jacobians (one logit: ``F = Jᵀ diag(p(1−p)) J``) and the weights."""
    curv = ts.curvature(net, X, y, hessian=False)
    spec = curv.output_jacobians_fn.args[0]
    theta = _theta(spec)
    out = _outputs_autograd(spec)
    J = jacobian(out)(theta)[:, 0, :]  # (n, d)
    p = 1.0 / (1.0 + np.exp(-out(theta)[:, 0]))
    F = J.T @ (J * (p * (1 - p))[:, None])
    pen = curv.penalty > 0
    return F[np.ix_(pen, pen)], theta[pen], curv


def _logdet(F, alpha):
    return np.linalg.slogdet(F + alpha * np.eye(len(F)))[1]


@pytest.fixture(scope="module")
def tuned():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (np.tanh(X[:, 0]) - X[:, 1] + 0.7 * rng.normal(size=200) > 0).astype(int)
    net = MLPClassifier((3,), activation="tanh", alpha=1.0, solver="lbfgs",
                        max_iter=10_000, tol=1e-14, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = ts.CriterionSearch(
            net, "alpha", criterion="evidence", unpenalized="profile",
            bounds=(1e-2, 1e2), xtol=XTOL,
        ).fit(X, y)  # fmt: skip
    return X, y, search


def test_mackay_condition_holds_at_the_decay_criterion_search_tunes(tuned):
    X, y, search = tuned
    best = search.best_estimator_
    alpha = best.alpha
    assert search.stopped_ == "converged" and not search.at_bound_
    assert alpha == search.best_params_["alpha"]
    F, w, curv = _fisher_weights(best, X, y)
    ev = ts.evidence(curv, "ggn", unpenalized="profile")
    assert_allclose(ev.prior_precision, alpha, rtol=1e-14)  # α on the sum scale
    eig = np.linalg.eigvalsh(F)
    gamma = float(np.sum(eig / (eig + alpha)))
    assert_allclose(ev.gamma, gamma, rtol=1e-8)  # same fit: rounding only
    energy = 0.5 * float(w @ w)  # E_W
    # the search's criterion is this evidence: -2 log Z at the chosen row of path_
    i = search.best_index_
    assert_allclose(search.path_["criterion"][i], -2.0 * ev.log_evidence, rtol=1e-10)
    # D: the drift of log det(F + αI) with θ̂(α), α held fixed, and the slope of
    # log Z, both by central differences over two refits warm-started from the pick
    logdets, log_z = [], []
    for sign in (-1.0, 1.0):
        other = copy.deepcopy(best).set_params(
            alpha=alpha * np.exp(sign * H_STEP), warm_start=True
        )
        F_o, _, curv_o = _fisher_weights(_fit(other, X, y), X, y)
        logdets.append(_logdet(F_o, alpha))
        log_z.append(ts.evidence(curv_o, "ggn", unpenalized="profile").log_evidence)
    drift = (logdets[1] - logdets[0]) / (2 * H_STEP)
    slope = 2.0 * (log_z[1] - log_z[0]) / (2 * H_STEP)  # 2·d log Z / d log α
    residual = gamma - 2 * alpha * energy - drift
    # 1. the identity behind MacKay's condition for a network
    assert_allclose(residual, slope, atol=ATOL_IDENTITY)
    # 2. at the tuned decay the evidence is stationary, to what the search allows
    tol = _search_tolerance(search)
    assert tol < 0.5
    assert abs(residual) <= tol
    # the drift is what separates this from MacKay's plain fixed point
    assert abs(gamma - 2 * alpha * energy) > 3 * tol


def test_the_tuned_decay_is_the_evidence_optimum_nearby(tuned):
    X, y, search = tuned
    best = search.best_estimator_
    lam = best.alpha
    ev = ts.evidence(ts.curvature(best, X, y, hessian=False), "ggn",
                     unpenalized="profile")  # fmt: skip
    for factor in (0.5, 2.0):
        # the same mode, moved by the decay (a cold refit may find another one)
        other = copy.deepcopy(best).set_params(alpha=lam * factor, warm_start=True)
        _fit(other, X, y)
        away = ts.evidence(
            ts.curvature(other, X, y, hessian=False), "ggn", unpenalized="profile"
        )
        assert away.log_evidence < ev.log_evidence
        # MacKay's update α ← γ/(2E_W) points back toward the tuned decay from
        # either side
        assert np.sign(away.mackay_update - other.alpha) == np.sign(1.0 - factor)
