"""The linear-algebra rules: traces, equilibration, singular fallback, decrement."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ticselect.curvature._linalg import (
    SingularHessianWarning,
    complement_basis,
    newton_decrement,
    solve_trace,
    weighted_gram,
)


def _spd(rng, d, cond=10.0):
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return Q @ np.diag(np.geomspace(1.0, cond, d)) @ Q.T


def test_solve_trace_matches_explicit_inverse(rng):
    A, B = _spd(rng, 6), _spd(rng, 6)
    res = solve_trace(A, B)
    assert res.method == "cholesky" and res.rank == 6
    # cond(A) = 10: the explicit inverse is accurate to ~1e-14.
    assert_allclose(res.value, np.trace(np.linalg.inv(A) @ B), rtol=1e-12)


def test_solve_trace_is_invariant_to_parameter_units(rng):
    """tr(A⁻¹B) = tr((DAD)⁻¹DBD): huge unit differences must not trigger the
    singular fallback nor lose digits."""
    A, B = _spd(rng, 5), _spd(rng, 5)
    D = np.diag([1e-6, 1.0, 1e5, 1e3, 1e-4])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SingularHessianWarning)
        scaled = solve_trace(D @ A @ D, D @ B @ D)
    assert_allclose(scaled.value, solve_trace(A, B).value, rtol=1e-10)
    # and both equal the unscaled explicit-inverse trace (cond(A) = 10), so the
    # invariance is not two equally wrong answers
    assert_allclose(scaled.value, np.trace(np.linalg.inv(A) @ B), rtol=1e-10)
    assert scaled.method == "cholesky" and scaled.rank == 5


def test_singular_fallback_is_pseudo_inverse(rng):
    V = rng.normal(size=(6, 3))
    A = V @ V.T  # rank 3
    B = _spd(rng, 6)
    with pytest.warns(SingularHessianWarning, match="numerical rank 3 of 6"):
        res = solve_trace(A, B)
    assert res.method == "eigh-pinv" and res.rank == 3
    # Oracle on the equilibrated matrices (the documented rule): pinv restricted to
    # the range of DAD.
    d = 1 / np.sqrt(np.diag(A))
    As, Bs = A * np.outer(d, d), B * np.outer(d, d)
    assert_allclose(
        res.value, np.trace(np.linalg.pinv(As, rcond=1e-10) @ Bs), rtol=1e-8
    )


def test_indefinite_is_reported(rng):
    A = np.diag([2.0, 1.0, -0.5])
    with pytest.warns(SingularHessianWarning, match="indefinite"):
        res = solve_trace(A, np.eye(3))
    assert res.rank == 2 and res.min_eig < 0


def test_non_finite_raises():
    with pytest.raises(ValueError, match="non-finite"):
        solve_trace(np.array([[np.nan]]), np.eye(1))


def test_weighted_gram_dense_sparse_and_negative(rng):
    import scipy.sparse as sp

    X = rng.normal(size=(30, 4))
    for v in (rng.random(30), rng.normal(size=30)):
        expected = X.T @ (v[:, None] * X)
        assert_allclose(weighted_gram(X, v), expected, rtol=1e-12, atol=1e-12)
        assert_allclose(
            weighted_gram(sp.csr_matrix(X), v), expected, rtol=1e-12, atol=1e-12
        )


def test_complement_basis_is_orthonormal_complement(rng):
    g = rng.normal(size=(5, 2))
    Q = complement_basis(g, 5)
    assert Q.shape == (5, 3)
    assert_allclose(Q.T @ Q, np.eye(3), atol=1e-12)
    assert_allclose(g.T @ Q, 0.0, atol=1e-12)


def test_newton_decrement_quadratic(rng):
    """For a quadratic f(θ) = ½(θ-θ*)ᵀA(θ-θ*), g = A(θ-θ*) and the decrement equals
    f(θ) - f(θ*) exactly."""
    A = _spd(rng, 4)
    delta = rng.normal(size=4)
    g = A @ delta
    assert_allclose(newton_decrement(A, g), 0.5 * delta @ A @ delta, rtol=1e-12)
    assert newton_decrement(A, np.zeros(4)) == 0.0


def test_singular_warning_reports_the_equilibrated_spectrum(rng):
    # The rank rule works on diag^-1/2 A diag^-1/2, so the eigenvalue range in the
    # warning is that matrix's (scale-free), and says so: a Hessian scaled by 1e-6
    # reports the same range.
    V = rng.normal(size=(5, 2))
    A = 1e-6 * (V @ V.T)
    d = 1 / np.sqrt(np.diag(A))
    top = np.linalg.eigvalsh(A * np.outer(d, d)).max()
    with pytest.warns(SingularHessianWarning, match="unit-diagonal equilibration") as w:
        solve_trace(A, _spd(rng, 5))
    assert f"to {top:.3g};" in str(w[0].message)
