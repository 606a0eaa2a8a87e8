"""Analytic derivatives of ALO and TIC in the log penalty against finite differences.

The oracle refits the estimator at ``v·e^{±h}`` (``h = 1e-4``) with Newton's method
to ``tol=1e-14`` (``solver="newton-cholesky"``: quadratic convergence leaves the fit
exact to rounding) and differences the criterion: the central difference's
truncation error is ``h²/6·|f'''| ≈ 2e-9·|f'''|`` and its rounding error about
``eps·|f|/h ≈ 2e-12·|f|``, both far below the ``rtol = 1e-6`` asked (with an absolute
floor of ``1e-6·|f|`` for slopes near zero).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.selection._group_scale import group_scales
from ticselect.selection._loo_gaussian import applies
from ticselect.selection._tuning_gaussian import gaussian_loo_gradient
from ticselect.selection._tuning_grad import PenaltyDerivatives

H = 1e-4
RTOL = 1e-6
NEWTON = dict(solver="newton-cholesky", tol=1e-14, max_iter=1000)


def _data(kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "logistic":
        X, y = load_breast_cancer(return_X_y=True)
        return StandardScaler().fit_transform(X)[:120, :8], y[:120]
    if kind == "multinomial":
        X, y = load_wine(return_X_y=True)
        idx = rng.permutation(len(y))[:60]
        return StandardScaler().fit_transform(X)[idx][:, :6], y[idx]
    X = rng.normal(size=(80, 6))
    eta = 0.3 + 0.5 * X[:, 0] - 0.3 * X[:, 1]
    if kind == "poisson":
        return X, rng.poisson(np.exp(eta))
    if kind == "gamma":
        return X, rng.gamma(2.0, np.exp(eta) / 2.0)
    w = rng.integers(1, 4, size=80).astype(float)
    return X, eta + rng.normal(size=80), w


CASES = {
    # kind: (make(v), exponent, values tried)
    "logistic": (lambda v: LogisticRegression(C=v, **NEWTON), -1.0, (0.05, 1.0)),
    "multinomial": (lambda v: LogisticRegression(C=v, **NEWTON), -1.0, (0.05,)),
    "poisson": (lambda v: PoissonRegressor(alpha=v, **NEWTON), 1.0, (1e-3, 0.05)),
    "gamma": (lambda v: GammaRegressor(alpha=v, **NEWTON), 1.0, (1e-3, 0.05)),
}


def _curvature(make, v, X, y, w=None, dispersion=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make(v).fit(X, y, sample_weight=w)
        return ts.curvature(model, X, y, w, dispersion=dispersion)


def _values(curv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.approximate_loo(curv).loo, ts.criteria(curv).tic


def _central(make, v, X, y, **kw):
    plus = _values(_curvature(make, v * np.exp(H), X, y, **kw))
    minus = _values(_curvature(make, v * np.exp(-H), X, y, **kw))
    return [(a - b) / (2 * H) for a, b in zip(plus, minus, strict=True)]


@pytest.mark.parametrize("kind", sorted(CASES))
def test_alo_and_tic_slopes_equal_finite_differences(kind):
    make, e, values = CASES[kind]
    X, y = _data(kind)
    for v in values:
        curv = _curvature(make, v, X, y)
        loo, tic = _values(curv)
        pd = PenaltyDerivatives(curv, (curv.penalty > 0)[None], e)
        g_alo = pd.alo(ts.approximate_loo(curv))[0]
        t_value, t_se, g_tic = pd.tic()
        fd_alo, fd_tic = _central(make, v, X, y)
        assert ts.approximate_loo(curv).n_refined == 0  # one-step rows only here
        assert_allclose(t_value, tic, rtol=1e-12)
        assert np.isfinite(t_se) and t_se > 0
        # relative to the slope itself (measured: at most 2e-8, gamma at 1e-3)
        assert_allclose(g_alo, fd_alo, rtol=RTOL, atol=0)
        assert_allclose(g_tic[0], fd_tic, rtol=RTOL, atol=0)


@pytest.mark.parametrize("dispersion", [None, 2.0])
def test_ridge_exact_loo_slope_equals_finite_differences(dispersion):
    # Gaussian/identity: ALO is exact leave-one-out in closed form (with the
    # left-out ML variance when estimated), differentiated in closed form; weights
    X, y, w = _data("ridge")

    def make(v):
        return Ridge(alpha=v)

    for v in (0.1, 3.0, 50.0):
        curv = _curvature(make, v, X, y, w=w, dispersion=dispersion)
        assert applies(curv, curv.rows)
        mask = (curv.penalty > 0)[None]
        value, se, grad = gaussian_loo_gradient(curv, mask, 1.0)
        loo, tic = _values(curv)
        assert_allclose(value, loo, rtol=1e-12)
        assert_allclose(se, ts.approximate_loo(curv).loo_se, rtol=1e-10)
        fd_alo, fd_tic = _central(make, v, X, y, w=w, dispersion=dispersion)
        assert_allclose(grad[0], fd_alo, rtol=RTOL, atol=RTOL * abs(loo))
        g_tic = PenaltyDerivatives(curv, mask, 1.0).tic()[2][0]
        assert_allclose(g_tic, fd_tic, rtol=RTOL, atol=RTOL * abs(tic))


def test_fit_sensitivity_includes_the_dispersion():
    # GammaRegressor: the penalty is c/φ̂ in loss units, and φ̂ moves with alpha
    X, y = _data("gamma")
    make = CASES["gamma"][0]
    curv = _curvature(make, 0.05, X, y)
    plus = _curvature(make, 0.05 * np.exp(H), X, y)
    minus = _curvature(make, 0.05 * np.exp(-H), X, y)
    sens = PenaltyDerivatives(curv, (curv.penalty > 0)[None], 1.0).sens
    assert_allclose(sens.dtheta[0], (plus.params - minus.params) / (2 * H),
                    rtol=1e-6, atol=1e-10)  # fmt: skip
    assert_allclose(sens.dpenalty[0], (plus.penalty - minus.penalty) / (2 * H),
                    rtol=1e-6, atol=1e-10)  # fmt: skip
    assert abs(sens.dtheta[0][-1]) > 1e-4  # the dispersion does move


def _exact_loo(make, v, X, y, rows):
    """Exact leave-one-out NLL of ``rows`` by refitting without each."""
    out = []
    for i in rows:
        keep = np.arange(len(y)) != i
        model = make(v).fit(X[keep], y[keep])
        out.append(-np.log(model.predict_proba(X[i : i + 1])[0, y[i]]))
    return np.array(out)


@pytest.mark.parametrize("kind,v", [("logistic", 20.0), ("multinomial", 1.0)])
def test_refined_rows_slope_is_the_exact_leave_one_out_slope(kind, v):
    # rows of high leverage get their exact leave-one-out value; their slope is
    # that of exact refits (the refinement itself stops at a 1e-10 decrement, so
    # its values are differenced against refits, not against themselves)
    make = CASES[kind][0]
    X, y = _data(kind)
    curv = _curvature(make, v, X, y)
    loo = ts.approximate_loo(curv)
    rows = np.flatnonzero(loo.refined)
    assert rows.size > 0
    pd = PenaltyDerivatives(curv, (curv.penalty > 0)[None], CASES[kind][1])
    got = pd.alo(loo)[0]
    others = ~loo.refined
    plus = ts.approximate_loo(_curvature(make, v * np.exp(H), X, y)).pointwise
    minus = ts.approximate_loo(_curvature(make, v * np.exp(-H), X, y)).pointwise
    fd_one_step = 2 * np.sum((plus - minus)[others]) / (2 * H)
    fd_refined = (
        2
        * np.sum(
            _exact_loo(make, v * np.exp(H), X, y, rows)
            - _exact_loo(make, v * np.exp(-H), X, y, rows)
        )
        / (2 * H)
    )
    assert_allclose(got, fd_one_step + fd_refined, rtol=RTOL, atol=RTOL * loo.loo)


def test_left_out_params_are_the_exact_left_out_fits():
    X, y = _data("logistic")
    curv = _curvature(CASES["logistic"][0], 20.0, X, y)
    loo = ts.approximate_loo(curv)
    rows = np.flatnonzero(loo.refined)
    assert loo.left_out_params.shape == (rows.size, curv.n_params)
    for i, theta in zip(rows, loo.left_out_params, strict=True):
        value, grad, _ = curv.rows.leave_out(i, theta, curv.penalty)
        assert np.max(np.abs(grad)) < 1e-4  # stationary (decrement below 1e-10)
        eta = X[i] @ theta[:-1] + theta[-1]  # coef_ order, then the intercept
        nll_i = np.logaddexp(0.0, eta) - y[i] * eta  # Bernoulli-logit, closed form
        assert_allclose(nll_i, loo.pointwise[i], rtol=1e-12)


def test_group_slopes_equal_finite_differences():
    # three penalty groups as column scales (_group_scale); each slope is the
    # derivative in that group's own log C
    X, y = _data("logistic")
    groups = np.repeat([0, 1, 2], [3, 3, 2])
    values = np.array([2.0, 0.3, 0.05])

    def curv_at(vals):
        scale = group_scales(vals, 1.0, -1.0)[groups]
        return _curvature(lambda v: LogisticRegression(C=v, **NEWTON), 1.0,
                          X * scale, y)  # fmt: skip

    curv = curv_at(values)
    masks = np.zeros((3, curv.n_params), dtype=bool)
    for g in range(3):
        masks[g, : X.shape[1]] = groups == g
    pd = PenaltyDerivatives(curv, masks, -1.0)
    g_alo = pd.alo(ts.approximate_loo(curv))
    g_tic = pd.tic()[2]
    loo, tic = _values(curv)
    for g in range(3):
        up, down = values.copy(), values.copy()
        up[g] *= np.exp(H)
        down[g] *= np.exp(-H)
        fd = [
            (a - b) / (2 * H)
            for a, b in zip(_values(curv_at(up)), _values(curv_at(down)), strict=True)
        ]
        assert_allclose(g_alo[g], fd[0], rtol=RTOL, atol=RTOL * loo)
        assert_allclose(g_tic[g], fd[1], rtol=RTOL, atol=RTOL * tic)


def test_mackay_ratio_is_the_fixed_point_update():
    # one group of a ridge with fixed dispersion: γ = Σ η/(η + λ) over the
    # eigenvalues of the data Hessian on the coefficients (no intercept)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = X @ [1.0, -0.5, 0.0, 0.2] + rng.normal(size=60)
    curv = _curvature(lambda v: Ridge(alpha=v, fit_intercept=False), 2.0, X, y,
                      dispersion=1.0)  # fmt: skip
    lam = 2.0
    eta = np.linalg.eigvalsh(X.T @ X)
    gamma = np.sum(eta / (eta + lam))
    beta = curv.params[:4]
    expected = gamma / (lam * beta @ beta)
    pd = PenaltyDerivatives(curv, (curv.penalty > 0)[None], 1.0)
    assert_allclose(pd.mackay_ratio()[0], expected, rtol=1e-10)


@pytest.mark.parametrize("kind", ["logistic", "poisson"])
def test_fused_one_step_alo_is_approximate_loo(kind):
    # one linear predictor, no refined row: the search's one pass gives the same
    # LOOResult as approximate_loo, and the same slope as the two-pass route
    make, e, values = CASES[kind]
    X, y = _data(kind)
    curv = _curvature(make, values[-1], X, y)
    pd = PenaltyDerivatives(curv, (curv.penalty > 0)[None], e)
    loo, grad = pd.alo_fused()
    ref = ts.approximate_loo(curv)
    assert ref.n_refined == 0
    for field in ("loo", "loo_se", "pointwise", "leverage", "local_shift"):
        assert_allclose(getattr(loo, field), getattr(ref, field), rtol=1e-12,
                        atol=1e-14, err_msg=field)  # fmt: skip
    assert_allclose(grad, pd.alo(ref), rtol=1e-12)
    # a row above refine_tol hands the value back to approximate_loo
    high = _curvature(CASES["logistic"][0], 20.0, *_data("logistic"))
    pd_high = PenaltyDerivatives(high, (high.penalty > 0)[None], -1.0)
    assert pd_high.alo_fused() is None


@pytest.mark.parametrize("kind", ["logistic", "poisson"])
def test_lean_route_equals_the_general_route(kind):
    # dense single-predictor GLMs take _tuning_lean (no Jacobian tensors); the
    # general per-row route must give the same numbers
    make, e, values = CASES[kind]
    X, y = _data(kind)
    curv = _curvature(make, values[0], X, y)
    masks = np.zeros((2, curv.n_params), dtype=bool)
    masks[0, :3], masks[1, 3 : X.shape[1]] = True, True  # two groups
    lean = PenaltyDerivatives(curv, masks, e)
    general = PenaltyDerivatives(curv, masks, e)
    general.lean = None
    assert lean.lean is not None
    assert_allclose(lean.hessian_derivatives(), general.hessian_derivatives(),
                    rtol=1e-10, atol=1e-12)  # fmt: skip
    (loo_a, g_a), (loo_b, g_b) = lean.alo_fused(), general.alo_fused()
    assert_allclose(loo_a.pointwise, loo_b.pointwise, rtol=1e-12)
    assert_allclose(g_a, g_b, rtol=1e-10)
    for a, b in zip(lean.tic(), general.tic(), strict=True):
        assert_allclose(a, b, rtol=1e-10)


def _evidence(curv, unpenalized):
    disp = "profile" if curv.dispersion_is_param else "fixed"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.evidence(curv, unpenalized=unpenalized, dispersion=disp)


EVIDENCE_CASES = [
    ("logistic", 0.5, "integrate"),
    ("logistic", 0.5, "profile"),
    ("multinomial", 0.5, "integrate"),
    ("poisson", 0.02, "integrate"),
    ("poisson", 0.02, "profile"),
    ("gamma", 0.02, "integrate"),  # the dispersion profiled out
]


@pytest.mark.parametrize("kind,v,unpenalized", EVIDENCE_CASES)
def test_evidence_slope_equals_finite_differences(kind, v, unpenalized):
    make, e, _ = CASES[kind]
    X, y = _data(kind)[:2]
    curv = _curvature(make, v, X, y)
    ev = _evidence(curv, unpenalized)
    got = PenaltyDerivatives(curv, (curv.penalty > 0)[None], e).evidence(ev)[0]
    plus = _evidence(_curvature(make, v * np.exp(H), X, y), unpenalized)
    minus = _evidence(_curvature(make, v * np.exp(-H), X, y), unpenalized)
    fd = -2 * (plus.log_evidence - minus.log_evidence) / (2 * H)
    # relative to the slope itself (measured: at most 3.3e-9, gamma)
    assert_allclose(got, fd, rtol=RTOL, atol=0)


def test_ridge_evidence_slope_with_the_dispersion_profiled():
    # Gaussian: the REML dispersion (dispersion="profile") is re-estimated at every
    # penalty; its optimum is 1-D bounded Brent to 1e-10 in log φ
    X, y, w = _data("ridge")
    for unpenalized in ("integrate", "profile"):
        curv = _curvature(lambda v: Ridge(alpha=v), 3.0, X, y, w=w)
        ev = _evidence(curv, unpenalized)
        got = PenaltyDerivatives(curv, (curv.penalty > 0)[None], 1.0).evidence(ev)[0]
        plus = _evidence(_curvature(lambda v: Ridge(alpha=v), 3.0 * np.exp(H), X, y,
                                    w=w), unpenalized)  # fmt: skip
        minus = _evidence(_curvature(lambda v: Ridge(alpha=v), 3.0 * np.exp(-H), X,
                                     y, w=w), unpenalized)  # fmt: skip
        fd = -2 * (plus.log_evidence - minus.log_evidence) / (2 * H)
        assert_allclose(got, fd, rtol=RTOL, atol=0)  # measured: at most 2.1e-8
