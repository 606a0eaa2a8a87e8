"""Matrix-free operators and randomised estimators against the exact curvature."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import ticselect as ts
from tests.curvature.test_mlp import ACTS, OUTS, _fit, _random_spec
from ticselect.curvature._matrix_free import (
    CurvatureOperators,
    curvature_operators,
    estimate_tic_penalty,
    estimate_trace,
    hutchpp,
    mlp_operators,
    top_eigenvalues,
)
from ticselect.curvature._mlp import mlp_exact


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("out,K", OUTS)
def test_operators_match_exact_matrices(act, out, K):
    spec = _random_spec(np.random.default_rng(11), act, out, K)
    _, G, H, C = mlp_exact(spec)
    ops = mlp_operators(spec)
    eye = np.eye(spec.n_params)
    # Exact products in float64: agreement to rounding.
    assert_allclose(ops.hvp(eye), H, rtol=1e-10, atol=1e-11 * np.abs(H).max())
    assert_allclose(ops.cvp(eye), C, rtol=1e-10, atol=1e-11 * np.abs(C).max())
    U = np.random.default_rng(0).normal(size=(spec.X.shape[0], 2))
    LU = ops.cov_factor(U)
    assert_allclose(LU, G.T @ (np.sqrt(spec.sample_weight)[:, None] * U), rtol=1e-10)


def _exact_and_ops(task):
    est, X, y = _fit(task, hidden_layer_sizes=(4,))
    return ts.curvature(est, X, y), curvature_operators(est, X, y)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_trace_estimate(task):
    curv, ops = _exact_and_ops(task)
    exact = np.trace(curv.hessian)
    a = estimate_trace(ops, n_matvecs=24, random_state=0)
    b = estimate_trace(ops, n_matvecs=24, random_state=0)
    assert a == b  # reproducible for a fixed seed
    # Hutch++ is unbiased; within 5 standard errors (plus rounding) of the truth.
    assert abs(a.value - exact) <= 5 * a.error + 1e-10 * abs(exact)
    # the reported error is a real standard error (0.4-3 % here), not an inflated
    # one that would make the 5-sigma check above vacuous
    assert 0 < a.error < 0.1 * abs(exact)
    # A budget covering the whole space is exact.
    full = estimate_trace(ops, n_matvecs=3 * ops.n_params, random_state=1)
    assert_allclose(full.value, exact, rtol=1e-12)
    assert full.error == 0.0
    c = estimate_trace(ops, which="grad_cov", n_matvecs=3 * ops.n_params)
    assert_allclose(c.value, np.trace(curv.grad_cov), rtol=1e-12)


def test_top_eigenvalues():
    curv, ops = _exact_and_ops("multiclass")
    ev = np.linalg.eigvalsh(curv.hessian)[::-1][:3]
    est = top_eigenvalues(ops, k=3, random_state=0)
    # ARPACK at tol=1e-8; the residual norms bound the error of each eigenvalue.
    assert_allclose(est.value, ev, rtol=1e-7)
    assert np.all(np.abs(est.value - ev) <= est.error + 1e-10 * ev[0])
    again = top_eigenvalues(ops, k=3, random_state=0)
    assert_allclose(again.value, est.value, rtol=0, atol=0)


@pytest.mark.parametrize("task", ["multiclass", "regression", "binary"])
def test_tic_penalty_matches_exact(task):
    curv, ops = _exact_and_ops(task)
    exact = ts.criteria(curv).tic_penalty
    # Budget >= 1.5 n: the sketch spans the n-dimensional operator, so the only error
    # is CG's (relative residual 1e-10 on a condition number well below 1e4).
    full = estimate_tic_penalty(
        ops, n_matvecs=3 * ops.cov_rank, random_state=0, cg_tol=1e-10
    )
    assert_allclose(full.value, exact, rtol=1e-6)
    small = estimate_tic_penalty(ops, n_matvecs=30, random_state=3)
    again = estimate_tic_penalty(ops, n_matvecs=30, random_state=3)
    assert small.value == again.value
    assert abs(small.value - exact) <= 5 * small.error
    # standard error 2-5 % of the penalty at this budget: bounded, so the check
    # above keeps its power
    assert 0 < small.error < 0.1 * exact


def test_dense_wrapper_for_glm():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(12)
    X = rng.normal(size=(150, 4))
    y = rng.integers(0, 3, 150)
    model = LogisticRegression(C=0.5, tol=1e-12, max_iter=1000).fit(X, y)
    curv = ts.curvature(model, X, y)
    ops = curvature_operators(model, X, y)
    assert isinstance(ops, CurvatureOperators)
    est = estimate_tic_penalty(ops, n_matvecs=3 * ops.cov_rank, cg_tol=1e-12)
    assert_allclose(est.value, ts.criteria(curv).tic_penalty, rtol=1e-8)


def test_negative_curvature_is_an_error():
    spec = _random_spec(np.random.default_rng(13), "tanh", "logistic", 1, alpha=0.0)
    _, _, H, _ = mlp_exact(spec)
    assert np.linalg.eigvalsh(H).min() < 0  # random weights: not a minimum
    with pytest.raises(ValueError, match="not positive definite"):
        estimate_tic_penalty(mlp_operators(spec), n_matvecs=3 * spec.X.shape[0])


def test_hutchpp_bad_budget():
    with pytest.raises(ValueError, match="at least 3"):
        hutchpp(lambda V: V, 5, n_matvecs=2)
