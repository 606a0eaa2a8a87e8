"""Approximate leave-one-out (ALO) against exact leave-one-out refits."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from sklearn.base import clone
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor

import ticselect as ts
from ticselect.selection import _loo

N = 60


def _data(seed=0, n=N, p=4):
    rng = np.random.default_rng(seed)
    return rng, rng.normal(size=(n, p))


def _exact_loo(model, X, y, row_nll, *, sample_weight=None, alpha_scale=False):
    """Refit without each row (its whole weight); return the held-out NLL per row.

    ``alpha_scale``: scikit-learn's PoissonRegressor/GammaRegressor average the loss,
    so their penalty in loss units is ``alpha·Σw``; the refit on the remaining rows
    gets ``alpha·Σw/Σw₋ᵢ`` to keep the penalty fixed in loss units, as ALO does.
    """
    n = len(y)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    out = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        m = clone(model)
        if alpha_scale:
            m.set_params(alpha=model.alpha * w.sum() / w[keep].sum())
        kw = {} if sample_weight is None else {"sample_weight": w[keep]}
        m.fit(X[keep], y[keep], **kw)
        out[i] = row_nll(m, X[keep], y[keep], w[keep], X[i : i + 1], y[i])
    return out


def _check_mean(alo, exact, curv):
    """ALO mean within 3% of exact LOO, and closer to it than TIC/(2n)."""
    tic_mean = ts.criteria(curv).tic / (2 * curv.n_samples)
    alo_mean, ex_mean = alo.loo_nll / curv.n_samples, np.mean(exact)
    assert abs(alo_mean - ex_mean) <= 0.03 * abs(ex_mean)
    assert abs(alo_mean - ex_mean) < abs(tic_mean - ex_mean)


def test_gaussian_fixed_dispersion_is_exact_loo():
    # Quadratic loss: one Newton step is the exact refit (hat-matrix identity).
    rng, X = _data(1)
    y = X @ [1.0, 0.0, -1.0, 0.5] + rng.normal(size=N)
    w = rng.integers(1, 4, size=N).astype(float)
    model = Ridge(alpha=3.0)
    fit = clone(model).fit(X, y, sample_weight=w)
    curv = ts.curvature(fit, X, y, w, dispersion=1.3)
    alo = ts.approximate_loo(curv)

    def row_nll(m, Xk, yk, wk, x, yi):
        return -stats.norm.logpdf(yi, m.predict(x)[0], np.sqrt(1.3))

    exact = _exact_loo(model, X, y, row_nll, sample_weight=w)
    # float64 round-off of a 5-parameter solve: 1e-10 absolute is ample.
    assert_allclose(alo.pointwise, exact, rtol=0, atol=1e-10)
    assert_allclose(alo.loo_nll, np.sum(w * exact), rtol=1e-12)
    # and the textbook shortcut: residual / (1 - h) for the mean
    h = np.sum(
        curv.rows.local(slice(None))[1][:, 0, :]
        * np.linalg.solve(
            curv.penalized_hessian, curv.rows.local(slice(None))[1][:, 0, :].T
        ).T,
        axis=1,
    )
    resid = y - clone(model).fit(X, y, sample_weight=w).predict(X)
    loo_resid = resid / (1 - w * h / 1.3)
    assert_allclose(alo.local_shift[:, 0], resid - loo_resid, atol=1e-10)


def test_gaussian_estimated_dispersion():
    rng, X = _data(2)
    y = X @ [1.0, 0.0, -1.0, 0.5] + rng.normal(size=N)
    model = LinearRegression()
    curv = ts.curvature(clone(model).fit(X, y), X, y)
    alo = ts.approximate_loo(curv)

    def row_nll(m, Xk, yk, wk, x, yi):
        s2 = np.mean((yk - m.predict(Xk)) ** 2)  # ML variance of the refit
        return -stats.norm.logpdf(yi, m.predict(x)[0], np.sqrt(s2))

    _check_mean(alo, _exact_loo(model, X, y, row_nll), curv)


def _logistic_nll(m, Xk, yk, wk, x, yi):
    return -np.log(m.predict_proba(x)[0, list(m.classes_).index(yi)])


def test_logistic():
    rng, X = _data(3)
    y = (X[:, 0] + rng.normal(size=N) > 0).astype(int)
    model = LogisticRegression(C=0.5, tol=1e-12, max_iter=10000)
    curv = ts.curvature(clone(model).fit(X, y), X, y)
    alo = ts.approximate_loo(curv)
    exact = _exact_loo(model, X, y, _logistic_nll)
    _check_mean(alo, exact, curv)
    # per row too: one Newton step from a nearby optimum, error O(step²)
    assert np.max(np.abs(alo.pointwise - exact)) < 0.05


def test_multinomial():
    rng, X = _data(4)
    y = rng.integers(0, 3, size=N)
    X = X + 0.7 * y[:, None]
    model = LogisticRegression(C=0.5, tol=1e-12, max_iter=10000)
    curv = ts.curvature(clone(model).fit(X, y), X, y)
    assert curv.gauge.shape[1] > 0  # exercises the gauge restriction
    alo = ts.approximate_loo(curv)
    assert alo.local_shift.shape == (N, 3)
    _check_mean(alo, _exact_loo(model, X, y, _logistic_nll), curv)


def test_poisson():
    rng, X = _data(5)
    y = rng.poisson(np.exp(0.4 * X[:, 0]))
    model = PoissonRegressor(alpha=0.02, tol=1e-12, max_iter=10000)
    curv = ts.curvature(clone(model).fit(X, y), X, y)
    alo = ts.approximate_loo(curv)

    def row_nll(m, Xk, yk, wk, x, yi):
        return -stats.poisson.logpmf(yi, m.predict(x)[0])

    _check_mean(alo, _exact_loo(model, X, y, row_nll, alpha_scale=True), curv)


def test_gamma_with_dispersion():
    rng, X = _data(6)
    y = rng.gamma(2.0, np.exp(0.3 * X[:, 0]) / 2.0)
    model = GammaRegressor(alpha=0.02, tol=1e-12, max_iter=10000)
    curv = ts.curvature(clone(model).fit(X, y), X, y)
    assert curv.dispersion_is_param
    alo = ts.approximate_loo(curv)

    def row_nll(m, Xk, yk, wk, x, yi):
        phi = ts.curvature(m, Xk, yk).dispersion  # ML dispersion of the refit
        mu = m.predict(x)[0]
        return -stats.gamma.logpdf(yi, 1 / phi, scale=mu * phi)

    _check_mean(alo, _exact_loo(model, X, y, row_nll, alpha_scale=True), curv)


def test_noncanonical_link_statsmodels():
    # Gamma with a log link (canonical: inverse) and a fixed dispersion: the
    # observed-information terms of a non-canonical link enter Λᵢ.
    rng, X = _data(7, p=2)
    exog = sm.add_constant(X)
    y = rng.gamma(3.0, np.exp(0.5 * X[:, 0]) / 3.0)
    fam = sm.families.Gamma(sm.families.links.Log())
    res = sm.GLM(y, exog, family=fam).fit(tol=1e-12)
    curv = ts.curvature(res, dispersion=1 / 3.0)
    alo = ts.approximate_loo(curv)
    exact = np.empty(N)
    for i in range(N):
        keep = np.arange(N) != i
        r = sm.GLM(y[keep], exog[keep], family=fam).fit(tol=1e-12)
        mu = np.exp(exog[i] @ r.params)
        exact[i] = -stats.gamma.logpdf(y[i], 3.0, scale=mu / 3.0)
    _check_mean(alo, exact, curv)


def test_statsmodels_mnlogit_reference_class():
    rng, X = _data(8, p=2)
    y = rng.integers(0, 3, size=N)
    exog = sm.add_constant(X + 0.8 * y[:, None])
    res = sm.MNLogit(y, exog).fit(disp=0, method="newton", tol=1e-12)
    curv = ts.curvature(res)
    alo = ts.approximate_loo(curv)
    exact = np.empty(N)
    for i in range(N):
        keep = np.arange(N) != i
        r = sm.MNLogit(y[keep], exog[keep]).fit(disp=0, method="newton", tol=1e-12)
        exact[i] = -np.log(r.predict(exog[i : i + 1])[0, y[i]])
    _check_mean(alo, exact, curv)


def test_weights_are_leave_one_row_out():
    # A weight-2 row is left out with both copies: equal to the exact refit without
    # the row.  The other rows see the same fit and H_λ as with the row duplicated,
    # so their ALO equals the duplicated data's ALO row for row.
    rng, X = _data(9)
    y = (X[:, 0] + rng.normal(size=N) > 0).astype(int)
    w = np.ones(N)
    w[0] = 2.0
    model = LogisticRegression(C=0.5, tol=1e-12, max_iter=10000)
    curv = ts.curvature(clone(model).fit(X, y, sample_weight=w), X, y, w)
    alo = ts.approximate_loo(curv)
    Xd, yd = np.vstack([X[:1], X]), np.concatenate([y[:1], y])
    dup = ts.approximate_loo(ts.curvature(clone(model).fit(Xd, yd), Xd, yd))
    # same fit up to lbfgs tolerance → 1e-6
    assert_allclose(alo.pointwise[1:], dup.pointwise[2:], rtol=1e-6)
    # the duplicated copy left out alone keeps its twin in the fit: less pessimistic
    assert dup.pointwise[0] < alo.pointwise[0]
    exact = _exact_loo(model, X, y, _logistic_nll, sample_weight=w)
    assert abs(alo.pointwise[0] - exact[0]) < 0.1 * abs(
        exact[0] - curv.rows.nll(slice(0, 1), curv.rows.local(slice(0, 1))[0])[0]
    )
    assert_allclose(alo.loo_nll, np.sum(w * alo.pointwise))
    assert alo.n_samples == N + 1


def test_ij_is_more_optimistic_and_leverage_flags():
    rng, X = _data(10, n=40, p=15)
    y = (X[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
    model = LogisticRegression(C=100.0, tol=1e-12, max_iter=10000)
    curv = ts.curvature(model.fit(X, y), X, y)
    newton = ts.approximate_loo(curv)
    ij = ts.approximate_loo(curv, method="ij")
    assert ij.loo_nll < newton.loo_nll  # the downdate only adds (1 - h ℓ'')⁻¹ > 1
    assert newton.n_high_leverage > 0
    assert np.all(newton.leverage >= 0) and np.all(newton.leverage < 1)
    strict = ts.approximate_loo(curv, leverage_tol=0.99)
    assert strict.n_high_leverage <= newton.n_high_leverage


def test_network_alo_against_refits():
    # Networks: Gauss–Newton downdate; compare with warm-started exact refits.
    rng, X = _data(11, n=40, p=3)
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=40) > 0).astype(int)
    kw = dict(
        hidden_layer_sizes=(3,),
        activation="tanh",
        alpha=1.0,
        solver="lbfgs",
        tol=1e-12,
        max_iter=20000,
        random_state=0,
    )
    net = MLPClassifier(**kw).fit(X, y)
    curv = ts.curvature(net, X, y)
    alo = ts.approximate_loo(curv)
    exact = np.empty(40)
    for i in range(40):
        keep = np.arange(40) != i
        m = copy.deepcopy(net).set_params(warm_start=True)  # start at θ̂: same basin
        m.fit(X[keep], y[keep])
        exact[i] = -np.log(m.predict_proba(X[i : i + 1])[0, y[i]])
    _check_mean(alo, exact, curv)


def test_errors():
    with pytest.raises(ValueError, match="method"):
        rng, X = _data(12)
        y = (X[:, 0] > 0).astype(int)
        curv = ts.curvature(LogisticRegression().fit(X, y), X, y)
        ts.approximate_loo(curv, method="bogus")
    with pytest.raises(ValueError, match="leverage_tol"):
        ts.approximate_loo(curv, leverage_tol=0)
    for rcond in (-1.0, np.nan, 2.0):  # were accepted silently
        with pytest.raises(ValueError, match=r"rcond must be a relative cutoff in"):
            ts.approximate_loo(curv, rcond=rcond)
    curv.rows = None
    with pytest.raises(ValueError, match="per-row model"):
        ts.approximate_loo(curv)


def test_pickled_curvature_keeps_rows():
    rng, X = _data(13)
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curv = ts.curvature(LogisticRegression(tol=1e-10).fit(X, y), X, y)
    again = pickle.loads(pickle.dumps(curv))
    assert_allclose(ts.approximate_loo(again).loo, ts.approximate_loo(curv).loo)


def test_scorer_compare_and_path_agree():
    rng, X = _data(14, n=80, p=6)
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    grid = [0.01, 0.1, 1.0, 100.0]
    fits = [LogisticRegression(C=C, tol=1e-10).fit(X, y) for C in grid]
    loos = [ts.approximate_loo(ts.curvature(m, X, y)) for m in fits]
    scorer = ts.get_scorer("neg_alo")
    # -loo / (2n), the log-loss scale
    assert_allclose(
        [scorer(m, X, y) for m in fits], [-r.loo / 160 for r in loos], rtol=1e-10
    )
    multi = ts.criteria_scoring("neg_tic", "neg_alo")(fits[1], X, y)
    assert_allclose(multi["neg_alo"], -loos[1].loo / 160, rtol=1e-10)
    assert_allclose(multi["neg_tic"], ts.get_scorer("neg_tic")(fits[1], X, y))
    table = ts.compare(
        dict(zip(map(str, grid), fits, strict=True)), X, y, sort_by="alo"
    )
    assert table.best == str(grid[int(np.argmin([r.loo for r in loos]))])
    assert_allclose(table.to_dict()["1.0"]["alo"], loos[2].loo, rtol=1e-10)
    path = ts.criterion_path(LogisticRegression(tol=1e-10), "C", grid, X, y)
    # warm-started fits agree with the cold ones to the solver tolerance
    assert_allclose(path.deviance("alo"), [r.loo for r in loos], rtol=1e-6)
    assert path.best_value("alo") == grid[int(np.argmin([r.loo for r in loos]))]
    assert "alo" in path.to_dict()["picks"]
    no_alo = ts.criterion_path(
        LogisticRegression(tol=1e-10), "C", grid, X, y, alo=False
    )
    with pytest.raises(ValueError, match="alo=True"):
        no_alo.deviance("alo")
    assert "alo" not in no_alo.to_dict()["picks"]


@pytest.mark.parametrize("multi", [False, True])
def test_refined_rows_are_exact_loo(multi):
    # Near separation the one-step estimate of high-leverage rows falls short; those
    # rows are iterated to their exact leave-one-out fit (gauge-restricted for the
    # softmax), all at once.
    rng, X = _data(15, n=40, p=12)
    y = (X[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
    if multi:
        y = y + (X[:, 1] > 0.8)
    model = LogisticRegression(C=30.0, tol=1e-12, max_iter=100_000)
    fit = clone(model).fit(X, y)
    curv = ts.curvature(fit, X, y)
    alo = ts.approximate_loo(curv)
    one_step = ts.approximate_loo(curv, refine=False)
    assert alo.n_refined > 0 and one_step.n_refined == 0
    rows = np.flatnonzero(alo.refined)
    exact = np.empty(len(rows))
    for j, i in enumerate(rows):
        keep = np.arange(40) != i
        m = copy.deepcopy(fit).set_params(warm_start=True).fit(X[keep], y[keep])
        exact[j] = _logistic_nll(m, None, None, None, X[i : i + 1], y[i])
    # both sides converge to ~1e-8 in θ; the NLL of a high-leverage row amplifies it
    assert_allclose(alo.pointwise[rows], exact, rtol=1e-4)
    assert np.sum(np.abs(one_step.pointwise[rows] - exact)) > 1e-2
    assert_allclose(alo.pointwise[~alo.refined], one_step.pointwise[~alo.refined])
    assert ts.approximate_loo(curv, max_refine=1).n_refined == 1


@pytest.mark.parametrize(("n", "dispersion"), [(40, 0.09), (100, None)])
def test_network_regressor(n, dispersion):
    # MLPRegressor: local parameters are the output and, when estimated, σ² (whose
    # one-step update is the rougher part: ~5% off at n = 40, 2.4% at n = 100).
    rng = np.random.default_rng(16)
    X = rng.normal(size=(n, 2))
    y = np.tanh(X[:, 0]) + 0.3 * rng.normal(size=n)
    kw = dict(hidden_layer_sizes=(2,), activation="tanh", alpha=1.0, solver="lbfgs",
              tol=1e-12, max_iter=20000, random_state=0)  # fmt: skip
    net = MLPRegressor(**kw).fit(X, y)
    curv = ts.curvature(net, X, y, dispersion=dispersion)
    alo = ts.approximate_loo(curv)
    assert alo.local_shift.shape == (n, 1 if dispersion else 2)
    exact = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        m = copy.deepcopy(net).set_params(warm_start=True).fit(X[keep], y[keep])
        # ML variance of the refit when estimated
        s2 = dispersion or ts.curvature(m, X[keep], y[keep]).dispersion
        exact[i] = -stats.norm.logpdf(y[i], m.predict(X[i : i + 1])[0], np.sqrt(s2))
    _check_mean(alo, exact, curv)


def test_derivatives_at_match_the_fit():
    # ℓ'ᵢ and Λᵢ at arbitrary local parameters (used by the batched refinement) agree
    # with the per-row model at the fit, for the vectorised dispersion route
    # (Gaussian), the one-φ-at-a-time route (Gamma) and the softmax.
    rng, X = _data(20, n=30)
    cases = [
        (LinearRegression(), X @ [1.0, 0.0, -1.0, 0.5] + rng.normal(size=30)),
        (GammaRegressor(alpha=0.02, tol=1e-12), rng.gamma(2.0, size=30) + 0.1),
        (LogisticRegression(tol=1e-12), rng.integers(0, 3, size=30)),
    ]
    for model, y in cases:
        curv = ts.curvature(model.fit(X, y), X, y)
        u, _, d1, d2 = curv.rows.local(slice(None))
        e1, e2 = curv.rows.derivatives_at(np.arange(30), u)
        assert_allclose(e1, d1, rtol=1e-12, atol=1e-14)
        assert_allclose(e2, d2, rtol=1e-12, atol=1e-14)
        # and at a moved point, against central differences of ℓᵢ(u)
        v = u + 0.05 * rng.normal(size=u.shape)
        g1, _ = curv.rows.derivatives_at(np.arange(30), v)
        for k in range(u.shape[1]):
            dv = np.zeros_like(v)
            dv[:, k] = 1e-6
            fd = (curv.rows.nll(np.arange(30), v + dv)
                  - curv.rows.nll(np.arange(30), v - dv)) / 2e-6  # fmt: skip
            # central difference, step 1e-6: error ~1e-9 relative
            assert_allclose(g1[:, k], fd, rtol=1e-6, atol=1e-7)


def _gaussian_loo_oracle(X, y, pen, i):
    """Exact LOO of row ``i`` for Gaussian/identity with σ² estimated, penalty fixed.

    Independent of the package: profile out β (a ridge solve for each σ²), then
    minimise over log σ² with scipy.
    """
    from scipy.optimize import minimize_scalar

    keep = np.arange(len(y)) != i
    Xt = np.column_stack([X, np.ones(len(y))])
    A, b = Xt[keep].T @ Xt[keep], Xt[keep].T @ y[keep]
    P = np.diag(pen[:-1])

    def beta(s2):
        return np.linalg.solve(A + s2 * P, b)

    def objective(log_s2):
        s2 = np.exp(log_s2)
        bt = beta(s2)
        rss = np.sum((y[keep] - Xt[keep] @ bt) ** 2)
        return (
            0.5 * keep.sum() * np.log(2 * np.pi * s2)
            + rss / (2 * s2)
            + (0.5 * bt @ P @ bt)
        )

    res = minimize_scalar(objective, bounds=(-20, 10), method="bounded",
                          options={"xatol": 1e-12})  # fmt: skip
    s2 = np.exp(res.x)
    return -stats.norm.logpdf(y[i], Xt[i] @ beta(s2), np.sqrt(s2))


@pytest.mark.parametrize("family", ["poisson", "gaussian"])
def test_batched_refinement_against_refits(family, monkeypatch):
    # The batched refinement (one Jacobian pass per Newton step for all flagged rows,
    # started from the one-step fit) reaches the exact leave-one-out fit of every
    # refined row: Poisson (one local parameter) against scikit-learn refits, and
    # Gaussian ridge with σ² estimated (two: η and σ², the vectorised dispersion
    # route that inverse Gaussian and Gaussian/log fits take) against a profiled
    # oracle of its objective (penalty fixed in loss units); Gaussian/identity fits
    # themselves get the closed form, switched off here to reach the route.
    monkeypatch.setattr(_loo.gaussian, "applies", lambda curv, rows: False)
    rng, X = _data(21, n=30, p=12)
    if family == "poisson":
        y = rng.negative_binomial(1, 0.3, size=30).astype(float)
        model = PoissonRegressor(alpha=1e-3, tol=1e-12, max_iter=100_000)
    else:
        X = np.column_stack([X, rng.normal(size=(30, 8))])
        y = X[:, 0] + rng.standard_t(2, size=30)
        model = Ridge(alpha=0.1)
    fit = clone(model).fit(X, y)
    curv = ts.curvature(fit, X, y)
    alo = ts.approximate_loo(curv, max_refine=30)
    rows = np.flatnonzero(alo.refined)
    assert rows.size >= 3
    exact = np.empty(rows.size)
    for j, i in enumerate(rows):
        if family == "gaussian":
            exact[j] = _gaussian_loo_oracle(X, y, curv.penalty, i)
            continue
        keep = np.arange(30) != i
        m = copy.deepcopy(fit).set_params(alpha=fit.alpha * 30 / 29, warm_start=True)
        m.fit(X[keep], y[keep])
        exact[j] = -stats.poisson.logpmf(y[i], m.predict(X[i : i + 1])[0])
    # both sides converge to ~1e-8 in θ; a high-leverage row's NLL amplifies it
    assert_allclose(alo.pointwise[rows], exact, rtol=1e-5)
    one_step = ts.approximate_loo(curv, refine=False)
    assert np.max(np.abs(one_step.pointwise[rows] - exact)) > 1e-3


def _sklearn_gaussian_loo(model, X, y, w, dispersion):
    """Refit ``model`` without each row; ML variance of the refit unless fixed."""
    n = len(y)
    out = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        m = clone(model).fit(X[keep], y[keep], sample_weight=w[keep])
        res = y[keep] - m.predict(X[keep])
        s2 = dispersion or np.sum(w[keep] * res**2) / np.sum(w[keep])
        out[i] = -stats.norm.logpdf(y[i], m.predict(X[i : i + 1])[0], np.sqrt(s2))
    return out


@pytest.mark.parametrize("dispersion", [None, 1.7])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "model",
    [Ridge(alpha=2.0), LinearRegression(), Ridge(alpha=0.5, fit_intercept=False)],
    ids=["ridge", "ols", "ridge-no-intercept"],
)
def test_gaussian_closed_form_is_exact_loo(model, weighted, dispersion):
    # Gaussian/identity: every row's value is the exact leave-one-out fit of the
    # estimator (its own penalty α, σ² the ML variance of the refit's residuals),
    # by the Sherman–Morrison identity, also with σ² estimated (where one Newton
    # step is far off: the rows of high leverage move σ²) and with weights.
    rng, X = _data(3, n=40, p=12)
    y = X[:, 0] + rng.standard_t(3, size=40)
    w = rng.integers(1, 4, size=40).astype(float) if weighted else np.ones(40)
    fit = clone(model).fit(X, y, sample_weight=w)
    curv = ts.curvature(fit, X, y, w, dispersion=dispersion)
    alo = ts.approximate_loo(curv)
    exact = _sklearn_gaussian_loo(model, X, y, w, dispersion)
    # two 13-parameter solves in float64 against one closed form: 1e-8 is ample
    assert_allclose(alo.pointwise, exact, rtol=0, atol=1e-8)
    assert alo.n_refined == 40
    assert_allclose(alo.loo_nll, np.sum(w * exact), rtol=1e-10)
    one_step = ts.approximate_loo(curv, refine=False)
    # the one-step diagnostic is the same as the general route's
    assert_allclose(alo.leverage, one_step.leverage, rtol=1e-10, atol=1e-12)
    assert_array_equal(
        alo.high_leverage, one_step.high_leverage | ~np.isfinite(one_step.pointwise)
    )
    if dispersion is None:  # the one-step estimate is not exact here
        assert np.max(np.abs(one_step.pointwise - exact)) > 1e-2
        # the exact move of σ²: the ML variance of the refit's residuals
        i = int(np.argmax(alo.leverage))
        keep = np.arange(40) != i
        m = clone(model).fit(X[keep], y[keep], sample_weight=w[keep])
        s2 = np.sum(w[keep] * (y[keep] - m.predict(X[keep])) ** 2) / w[keep].sum()
        assert_allclose(alo.local_shift[i, 1], s2 - curv.dispersion, rtol=1e-8)
    else:
        assert_allclose(one_step.pointwise, exact, rtol=0, atol=1e-8)


def test_gaussian_closed_form_starts_from_the_exact_optimum():
    # A fit stopped at a loose solver tolerance: the closed form first takes the
    # one Newton step to the exact optimum (the objective is quadratic), so its
    # value is that of the exact refits, not of the inexact fit.
    rng, X = _data(4, n=30, p=5)
    y = X @ [1.0, -1.0, 0.5, 0.0, 0.0] + rng.normal(size=30)
    loose = Ridge(alpha=1.0, solver="sag", tol=1e-1, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = loose.fit(X, y)
        curv = ts.curvature(fit, X, y, dispersion=1.0, stationarity_tol=np.inf)
    assert np.max(np.abs(curv.gradient)) > 1e-4  # really not at the optimum
    exact = _sklearn_gaussian_loo(Ridge(alpha=1.0), X, y, np.ones(30), 1.0)
    assert_allclose(ts.approximate_loo(curv).pointwise, exact, rtol=0, atol=1e-8)


def test_gaussian_closed_form_rows_that_identify_a_coefficient():
    # Without a penalty, a row that alone identifies a coefficient (the only
    # non-zero of its column) has no leave-one-out fit: +inf, flagged, not refined.
    rng, X = _data(5, n=20, p=3)
    X[:, 2] = 0.0
    X[7, 2] = 1.0
    y = X[:, 0] + rng.normal(size=20)
    curv = ts.curvature(LinearRegression().fit(X, y), X, y)
    alo = ts.approximate_loo(curv)
    assert np.isinf(alo.pointwise[7]) and alo.high_leverage[7]
    assert not alo.refined[7] and alo.n_refined == 19
    assert np.isinf(alo.loo) and np.isinf(alo.loo_se)
    exact = _sklearn_gaussian_loo(LinearRegression(), X, y, np.ones(20), None)
    others = np.arange(20) != 7
    assert_allclose(alo.pointwise[others], exact[others], rtol=0, atol=1e-8)


def test_gaussian_closed_form_offset_and_sparse():
    # statsmodels' Gaussian GLM with an offset (η = Xβ + offset) against its own
    # refits, σ² the ML variance of each refit; and a sparse X gives the dense values.
    rng, X = _data(6, n=35, p=4)
    Xc = sm.add_constant(X)
    offset = rng.normal(size=35)
    y = X @ [1.0, 0.0, -1.0, 0.5] + offset + rng.standard_t(4, size=35)
    res = sm.GLM(y, Xc, family=sm.families.Gaussian(), offset=offset).fit()
    alo = ts.approximate_loo(ts.curvature(res))
    exact = np.empty(35)
    for i in range(35):
        keep = np.arange(35) != i
        r = sm.GLM(y[keep], Xc[keep], family=sm.families.Gaussian(),
                   offset=offset[keep]).fit()  # fmt: skip
        s2 = np.mean(r.resid_response**2)
        mu = Xc[i] @ r.params + offset[i]
        exact[i] = -stats.norm.logpdf(y[i], mu, np.sqrt(s2))
    assert_allclose(alo.pointwise, exact, rtol=0, atol=1e-8)
    model = Ridge(alpha=0.7).fit(X, y)
    dense = ts.approximate_loo(ts.curvature(model, X, y))
    sparse = ts.approximate_loo(ts.curvature(model, sp.csr_array(X), y))
    assert_allclose(sparse.pointwise, dense.pointwise, rtol=1e-12)


def test_alo_scorers_with_groups_leave_groups_out():
    """``neg_alo`` with groups is the leave-group-out ALO (issue 29; it was refused)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] + rng.logistic(size=60) > 0).astype(int)
    groups = np.repeat(np.arange(15), 4)
    model = LogisticRegression(C=1.0, tol=1e-12).fit(X, y)
    loo = ts.approximate_loo(ts.curvature(model, X, y), groups=groups)
    expected = -loo.loo / (2 * 60)
    assert ts.get_scorer("neg_alo", groups=groups)(model, X, y) == pytest.approx(
        expected, rel=1e-12
    )
    scores = ts.criteria_scoring("neg_tic", "neg_alo", groups=groups)(model, X, y)
    assert scores["neg_alo"] == pytest.approx(expected, rel=1e-12)
    ungrouped = ts.get_scorer("neg_alo")(model, X, y)
    assert ungrouped > expected  # leaving 4 rows out costs more than 1
