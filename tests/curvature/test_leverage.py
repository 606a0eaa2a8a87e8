"""The largest-leverage bound read from the curvature's row norms (issue 24 item 14).

``max_leverage`` first bounds every row's leverage by ``‖xᵢ‖² maxⱼ dⱼ²`` from the
row norms the accumulator kept; only when that bound reaches the floor does it pass
over ``X`` for the exact weighted norms, and then solves the rows above the floor.
The oracle is ALO's per-row leverage (its own Woodbury route on the same ``H_λ``).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression

import ticselect as ts
from ticselect.curvature import _rows
from ticselect.curvature._leverage import max_leverage


def _count_exact_passes(monkeypatch):
    calls = []
    real = _rows.GLMRows.jacobian_norms

    def counted(self, scale=None, bound=False):
        if not bound:
            calls.append(1)
        return real(self, scale, bound)

    monkeypatch.setattr(_rows.GLMRows, "jacobian_norms", counted)
    return calls


def _logistic(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.standard_normal(p)))).astype(float)
    return X, y


def test_low_leverage_needs_no_pass_over_x(monkeypatch):
    X, y = _logistic(4000, 6)
    curv = ts.curvature(LogisticRegression(tol=1e-10).fit(X, y), X, y)
    assert curv.rows.jacobian_norms(bound=True) is not None  # the norms were kept
    calls = _count_exact_passes(monkeypatch)
    assert max_leverage(curv, 0.7) == 0.0  # no row can reach 0.7 at n/k = 570
    assert calls == []
    # with a floor of 0 every row is solved, and the value is ALO's
    alo = ts.approximate_loo(curv, refine=False).leverage.max()
    assert_allclose(max_leverage(curv, 0.0), alo, rtol=1e-8)


@pytest.mark.parametrize("weighted", [False, True])
def test_loose_bound_falls_back_to_the_exact_route(monkeypatch, weighted):
    """A badly scaled column makes the kept-norm bound loose: the exact norms decide,
    and a genuinely high-leverage row is found exactly (with weights too)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 4))
    X[:, 0] *= 1e3  # equilibration then differs by 1e6 between columns
    X[0, 1] = 25.0  # one far row
    y = (rng.random(300) < 1 / (1 + np.exp(-X[:, 2]))).astype(float)
    w = rng.integers(1, 4, 300).astype(float) if weighted else None
    est = LogisticRegression(C=1e4, tol=1e-12, max_iter=10000)
    curv = ts.curvature(est.fit(X, y, sample_weight=w), X, y, sample_weight=w)
    calls = _count_exact_passes(monkeypatch)
    alo = ts.approximate_loo(curv, refine=False).leverage.max()
    assert alo > 0.05  # the far row
    assert_allclose(max_leverage(curv, 0.05), alo, rtol=1e-8)
    assert len(calls) == 1


@pytest.mark.parametrize("kind", ["logistic", "poisson", "gaussian_ml", "multinomial"])
def test_scalar_curvature_is_the_per_block_second_derivative(kind, rng):
    # the leverage bounds' shortcut (one local parameter): the fit's ℓ'' per row,
    # equal to what the per-block derivatives give; None where a row has several
    from sklearn.linear_model import (
        LinearRegression,
        LogisticRegression,
        PoissonRegressor,
    )

    X = rng.normal(size=(120, 3))
    eta = X @ [0.8, -0.5, 0.3]
    if kind == "logistic":
        y, est = (eta + rng.logistic(size=120) > 0).astype(int), LogisticRegression()
    elif kind == "poisson":
        y, est = rng.poisson(np.exp(0.5 * eta)), PoissonRegressor(alpha=0.01)
    elif kind == "gaussian_ml":
        y, est = eta + rng.normal(size=120), LinearRegression()
    else:
        y, est = np.digitize(eta, [-0.5, 0.5]), LogisticRegression()
    rows = ts.curvature(est.fit(X, y), X, y).rows
    got = rows.scalar_curvature()
    if kind in ("gaussian_ml", "multinomial"):
        assert got is None  # σ² is a parameter / K predictors: a matrix per row
        return
    d2 = rows.derivatives(slice(0, 120))[2]
    assert d2.shape == (120, 1, 1)
    np.testing.assert_array_equal(got, d2[:, 0, 0])


def test_empty_active_set_has_leverage_zero_and_nothing_on_stderr(capfd):
    # A strong L1 penalty zeroes every coefficient (liblinear penalises the intercept
    # too): no free parameter, so every row's leverage x̃ᵢᵀH⁻¹x̃ᵢ is 0.  LAPACK's
    # dtrtri rejects the empty factor with a line on stderr, once per criteria() call.
    X, y = _logistic(60, 4)
    fit = LogisticRegression(penalty="l1", solver="liblinear", C=1e-4).fit(X, y)
    curv = ts.curvature(fit, X, y)
    assert curv.n_params == 0
    assert max_leverage(curv) == 0.0
    assert "high_leverage" not in ts.criteria(curv).flags
    assert capfd.readouterr().err == ""
