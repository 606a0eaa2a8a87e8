"""The ALO refinement's cost bound (issue 24 item 12): logic, not timing.

Work is counted, not timed: every evaluation of the per-row derivatives (or of
the NLL with its gradient) at moved parameters is ``entries / n`` gradient passes,
and every Hessian of the data (``glm_curvature`` at a leave-one-out point, what a
refit per row costs) is ``1 + d/2`` passes (its ``n·K'·d²`` flops against a
pass's ``2·n·K'·d``).  The bound
is the one-step ALO plus one fit (100 passes) per batch of 10 refined rows.
"""

import copy
import importlib
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression

import ticselect as ts

_rows = importlib.import_module("ticselect.curvature._rows")


def _bound(n, Kp, d, k, b):
    """The budget, written out independently of the package."""
    one_step = (n * Kp * d * k + n * Kp * k * k + k**3 / 3) / (2 * n * Kp * d)
    return one_step + np.ceil(b / 10) * 100


class _Work:
    """Counts gradient passes spent by the refinement (see the module docstring)."""

    def __init__(self, monkeypatch, curv):
        self.passes = 0.0
        self.counting = False
        n, d = curv.rows.n_rows, curv.n_params
        real_d = _rows.GLMRows.derivatives_at
        real_c = _rows.__dict__.get("glm_curvature")
        work = self

        def derivatives_at(rows, idx, u):
            if work.counting:
                work.passes += len(idx) / n
            return real_d(rows, idx, u)

        def glm_curvature(*args, **kwargs):
            if work.counting:
                work.passes += 1 + d / 2
            return real_c(*args, **kwargs)

        real_g = _rows.GLMRows.nll_and_gradient

        def nll_and_gradient(rows, idx, u):
            if work.counting:
                work.passes += len(idx) / n
                work.counting = False  # its fallback calls derivatives_at
                try:
                    return real_g(rows, idx, u)
                finally:
                    work.counting = True
            return real_g(rows, idx, u)

        monkeypatch.setattr(_rows.GLMRows, "derivatives_at", derivatives_at)
        monkeypatch.setattr(_rows.GLMRows, "nll_and_gradient", nll_and_gradient)
        if real_c is not None:  # the per-row refits of earlier versions
            monkeypatch.setattr(_rows, "glm_curvature", glm_curvature)


def _multinomial(n, p, K, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    W = rng.normal(size=(p, K)) * 0.6
    y = np.argmax(X @ W + rng.gumbel(size=(n, K)), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=30.0, tol=1e-10, max_iter=5000).fit(X, y)
        curv = ts.curvature(model, X, y)
    return X, y, model, curv


def test_multinomial_refinement_stays_within_the_bound(monkeypatch):
    # 10 classes, 460 parameters (too many rows × parameters for the earlier batched
    # route, which then refitted each row alone: ~30 s on digits)
    X, y, _, curv = _multinomial(n=1100, p=45, K=10)
    one_step = ts.approximate_loo(curv, refine=False)
    work = _Work(monkeypatch, curv)
    work.counting = True
    alo = ts.approximate_loo(curv)
    work.counting = False
    b = min(20, int(np.sum(one_step.leverage > 0.5)))
    assert b > 10  # two batches
    d, k = curv.n_params, curv.n_params - curv.gauge.shape[1]
    assert work.passes <= _bound(X.shape[0], 10, d, k, b)
    assert alo.n_refined == b and "refine_budget" not in alo.flags
    assert_allclose(alo.pointwise[~alo.refined], one_step.pointwise[~alo.refined])


@pytest.mark.parametrize("multi", [False, True])
def test_out_of_budget_falls_back_with_a_flag(multi, monkeypatch):
    # A budget of the one-step ALO alone (no fit): the rows still iterating keep
    # their one-step value, unmarked, and the result says so; the rows that did
    # converge are exact leave-one-out values.
    refine = importlib.import_module("ticselect.selection._loo_refine")
    monkeypatch.setattr(refine, "FIT_PASSES", 0)
    rng = np.random.default_rng(15)
    X = rng.normal(size=(40, 12))
    y = (X[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
    if multi:
        y = y + (X[:, 1] > 0.8)
    fit = LogisticRegression(C=30.0, tol=1e-12, max_iter=100_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curv = ts.curvature(fit, X, y)
    work = _Work(monkeypatch, curv)
    work.counting = True
    alo = ts.approximate_loo(curv)
    work.counting = False
    one_step = ts.approximate_loo(curv, refine=False)
    cand = np.flatnonzero(one_step.leverage > 0.5)[:20]
    d, k = curv.n_params, curv.n_params - curv.gauge.shape[1]
    Kp = curv.rows.n_local
    assert work.passes <= _bound(40, Kp, d, k, 0) + 1e-9
    assert "refine_budget" in alo.flags
    assert 0 <= alo.n_refined < cand.size
    assert_allclose(alo.pointwise[~alo.refined], one_step.pointwise[~alo.refined])
    for i in np.flatnonzero(alo.refined):
        keep = np.arange(40) != i
        m = copy.deepcopy(fit).set_params(warm_start=True).fit(X[keep], y[keep])
        p = m.predict_proba(X[i : i + 1])[0, np.searchsorted(m.classes_, y[i])]
        assert_allclose(alo.pointwise[i], -np.log(p), rtol=1e-4)
    # with the default budget every candidate is refined
    monkeypatch.setattr(refine, "FIT_PASSES", 100)
    full = ts.approximate_loo(curv)
    assert full.n_refined == cand.size and "refine_budget" not in full.flags


def test_budget_grows_one_fit_per_batch():
    refine = importlib.import_module("ticselect.selection._loo_refine")
    base = refine.budget_passes(500, 3, 60, 40, 0)
    assert_allclose(base, _bound(500, 3, 60, 40, 0))
    for b, fits in [(1, 1), (10, 1), (11, 2), (20, 2), (21, 3)]:
        assert_allclose(refine.budget_passes(500, 3, 60, 40, b) - base, 100 * fits)


@pytest.mark.parametrize("kind", ["sklearn", "statsmodels"])
def test_structured_one_step_equals_the_dense_route(kind, monkeypatch):
    # Several linear predictors: Mᵢ = JᵢH_λ⁻¹Jᵢᵀ through X̃ and P = QH_λ⁻¹Qᵀ (softmax
    # gauge for scikit-learn, a dropped reference class for statsmodels) against the
    # dense Jacobian route of one predictor, forced by hiding the structure; both
    # are the same algebra, rtol 1e-9 covers the different summation orders.
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 4))
    y = np.argmax(X @ rng.normal(size=(4, 3)) + rng.gumbel(size=(150, 3)), axis=1)
    if kind == "sklearn":
        fit = LogisticRegression(C=2.0, tol=1e-12, max_iter=10_000).fit(X, y)
        curv = ts.curvature(fit, X, y)
    else:
        res = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
        curv = ts.curvature(res)
    fast = ts.approximate_loo(curv)
    assert curv.rows.m == 3
    loo = importlib.import_module("ticselect.selection._loo")
    monkeypatch.setattr(loo, "_structured", lambda rows: False)
    dense = ts.approximate_loo(curv, refine=False)
    refined = fast.refined
    assert_allclose(fast.leverage, dense.leverage, rtol=1e-9, atol=1e-12)
    assert_allclose(fast.pointwise[~refined], dense.pointwise[~refined], rtol=1e-9)
