"""Criteria: closed forms, conventions and output forms."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

import ticselect as ts
from ticselect.criteria import soft_rank


def _ridge_data(rng, n=90, p=4):
    X = rng.normal(size=(n, p))
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    return X, y


def test_soft_rank_diagonal_closed_form():
    ev = np.array([4.0, 1.0, 0.25, 0.0])
    assert_allclose(soft_rank(ev, 1.0), 4 / 5 + 1 / 2 + 0.25 / 1.25, rtol=1e-15)
    assert soft_rank(ev, 0.0) == 3.0  # numerical rank
    with pytest.raises(ValueError, match=">= 0"):
        soft_rank(ev, -1.0)


def test_classical_formulas_from_loglik(rng):
    X, y = _ridge_data(rng)
    curv = ts.curvature(LinearRegression().fit(X, y), X, y)
    c = ts.criteria(curv)
    n, k, L = len(y), X.shape[1] + 2, curv.nll  # coefs, intercept, σ²
    assert c.n_params == k
    assert_allclose(c.aic, 2 * L + 2 * k, rtol=1e-15)
    assert_allclose(c.bic, 2 * L + k * np.log(n), rtol=1e-15)
    assert_allclose(c.aicc, c.aic + 2 * k * (k + 1) / (n - k - 1), rtol=1e-15)
    assert_allclose(c.tic, 2 * L + 2 * c.tic_penalty, rtol=1e-15)
    assert_allclose(c.gap_estimate, c.tic_penalty / n, rtol=1e-15)
    # Gaussian ML: -L = n/2 (log(2π σ̂²) + 1)
    s2 = np.mean((y - curv.params[:-1] @ np.vstack([X.T, np.ones(n)])) ** 2)
    assert_allclose(c.loglik, -n / 2 * (np.log(2 * np.pi * s2) + 1), rtol=1e-12)


def test_aicc_infinite_when_n_le_k_plus_1(rng):
    X = rng.normal(size=(6, 3))
    y = X.sum(1) + rng.normal(size=6)
    c = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    assert c.n_params == 5 and c.aicc == np.inf


def test_ridge_effective_dim_is_hat_matrix_trace(rng):
    """ESL §3.4: df(λ) = tr(X(XᵀX + λI)⁻¹Xᵀ) on centred data, plus 1 for the
    unpenalised intercept.  σ² is fixed at 1 so that λ = α/σ² = α and σ² is not a
    parameter (with σ² estimated, its row adds a further entry to the trace)."""
    X, y = _ridge_data(rng)
    alpha = 7.0
    est = Ridge(alpha=alpha, solver="cholesky").fit(X, y)
    curv = ts.curvature(est, X, y, dispersion=1.0)  # λ = α/σ² = α
    Xc = X - X.mean(0)
    df = np.trace(Xc @ np.linalg.solve(Xc.T @ Xc + alpha * np.eye(4), Xc.T))
    assert_allclose(ts.criteria(curv).effective_dim, df + 1.0, rtol=1e-10)


def test_soft_rank_uses_fit_penalty(rng):
    X, y = _ridge_data(rng)
    est = LogisticRegression(C=0.25, tol=1e-12).fit(X, y > 0)
    curv = ts.curvature(est, X, y > 0)
    c = ts.criteria(curv)
    assert c.soft_rank_lambda == 4.0
    ev = np.linalg.eigvalsh(curv.hessian)
    assert_allclose(c.soft_rank, np.sum(ev / (ev + 4.0)), rtol=1e-12)
    c2 = ts.criteria(curv, soft_rank_lambda=1.0)
    assert_allclose(c2.soft_rank, np.sum(ev / (ev + 1.0)), rtol=1e-12)


def test_output_forms(rng):
    X, y = _ridge_data(rng)
    c = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    d = c.to_dict()
    assert set(d) >= {"loglik", "aic", "aicc", "bic", "tic", "tic_penalty", "n_params"}
    flags = d.pop("flags")
    assert isinstance(flags, tuple) and all(isinstance(f, str) for f in flags)
    # QAIC needs ĉ (binomial, Poisson, negative binomial), Nagelkerke a probability
    optional = {"c_hat", "qaic", "qaicc", "nagelkerke_r2"}
    assert all(d[k] is None for k in optional)
    assert all(isinstance(v, (int, float)) for k, v in d.items() if k not in optional)
    # the plain values are the Criteria's own fields, not only of the right type
    for key in ("loglik", "aic", "aicc", "bic", "tic", "tic_penalty", "n_params"):
        assert d[key] == getattr(c, key), key
    text = c.summary()
    assert f"{c.tic:.6g}" in text and "tic_penalty" in text
    frame = c.to_frame()
    assert frame.shape == (1, len(d) + 1)  # + flags
    assert_allclose(frame["aic"].iloc[0], c.aic)


def test_curvature_and_criteria_pickle(rng):
    import pickle

    X, y = _ridge_data(rng)
    model = ts.InformationCriteria(Ridge(alpha=1.0)).fit(X, y)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.criteria_ == model.criteria_
    assert_allclose(
        clone.curvature_.per_sample_grads, model.curvature_.per_sample_grads
    )


def test_flags_record_a_fit_that_stopped_early():
    import warnings

    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = 30 * rng.normal(size=(200, 3))
    y = (X[:, 0] + 30 * rng.normal(size=200) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        early = LogisticRegression(max_iter=1).fit(X, y)
        curv = ts.curvature(early, X, y)
    crit = ts.criteria(curv)
    assert crit.flags == ("not_stationary",)
    assert not crit.reliable
    assert "not_stationary" in crit.summary()
    tight = LogisticRegression(tol=1e-10, max_iter=1000).fit(X, y)
    good = ts.criteria(ts.curvature(tight, X, y))
    assert good.flags == () and good.reliable


def test_unknown_flag_is_refused():
    from sklearn.linear_model import LinearRegression

    X = np.arange(20.0).reshape(10, 2)
    y = X @ [1.0, 2.0] + np.sin(np.arange(10.0))
    curv = ts.curvature(LinearRegression().fit(X, y), X, y)
    with pytest.raises(ValueError, match="unknown reliability flag"):
        curv.add_flag("shaky")


def test_bad_rcond_is_refused(rng):
    # rcond=nan warned "1/rcond = nan" and went on; rcond=2 changed TIC (68.9 to
    # 62.6 on this kind of fit) with a SingularHessianWarning about a sound fit
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    curv = ts.curvature(LogisticRegression().fit(X, y), X, y)
    for bad in (-1.0, np.nan, 2.0):
        with pytest.raises(ValueError, match=r"rcond must be a relative cutoff in"):
            ts.criteria(curv, rcond=bad)
    assert ts.criteria(curv, rcond=0.0).tic == pytest.approx(ts.criteria(curv).tic)
