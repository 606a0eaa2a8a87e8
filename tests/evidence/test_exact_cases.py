"""Evidence against closed forms: Gaussian linear models, BayesianRidge, MacKay."""

import json
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, optimize
from scipy.stats import multivariate_normal
from sklearn.linear_model import BayesianRidge, LogisticRegression, Ridge

import ticselect as ts


def _gaussian(rng, n=60, p=4, shift=1.0):
    X = rng.normal(size=(n, p)) + shift
    y = X @ rng.normal(size=p) + 2.0 + rng.normal(size=n)
    return X, y


def _ridge_curv(X, y, alpha, s2, intercept):
    model = Ridge(alpha=alpha, fit_intercept=intercept, tol=1e-14).fit(X, y)
    return ts.curvature(model, X, y, dispersion=s2)


def test_ridge_equals_the_gaussian_marginal_likelihood(rng):
    X, y = _gaussian(rng)
    s2, alpha = 0.8, 3.0
    ev = ts.evidence(_ridge_curv(X, y, alpha, s2, False))
    # prior precision alpha/σ² on β: y ~ N(0, σ²I + X Xᵀ σ²/alpha)
    Sigma = s2 * np.eye(len(y)) + X @ X.T * s2 / alpha
    exact = multivariate_normal(np.zeros(len(y)), Sigma).logpdf(y)
    # rtol: two exact evaluations of the same log-density (Cholesky vs LU)
    assert_allclose(ev.log_evidence, exact, rtol=1e-8)
    assert ev.n_unpenalized == 0 and ev.unpenalized_names == ()
    assert ev.prior_precision == pytest.approx(alpha / s2, rel=1e-14)
    # γ: the soft rank of H at the prior precision (every direction penalised)
    eta = np.linalg.eigvalsh(X.T @ X / s2)
    assert_allclose(ev.gamma, np.sum(eta / (eta + alpha / s2)), rtol=1e-10)


def _reml(X, y, lam, s2):
    """Restricted log-likelihood, flat prior on the intercept, closed form."""
    n = len(y)
    Sigma = s2 * np.eye(n) + X @ X.T / lam
    Si = np.linalg.inv(Sigma)
    one = np.ones(n)
    b0 = one @ Si @ y / (one @ Si @ one)
    profile = multivariate_normal(np.zeros(n), Sigma).logpdf(y - b0)
    reml = profile - 0.5 * np.log(one @ Si @ one) + 0.5 * np.log(2 * np.pi)
    return reml, profile


def test_ridge_with_intercept_equals_the_restricted_likelihood(rng):
    X, y = _gaussian(rng)
    s2, alpha = 0.8, 3.0
    curv = _ridge_curv(X, y, alpha, s2, True)
    reml, profile = _reml(X, y, alpha / s2, s2)
    ev = ts.evidence(curv)
    assert_allclose(ev.log_evidence, reml, rtol=1e-8)
    assert ev.unpenalized_names == ("intercept",) and ev.n_unpenalized == 1
    # the profile variant (mgcv's ML) maximises the intercept instead
    assert_allclose(ts.evidence(curv, unpenalized="profile").log_evidence, profile,
                    rtol=1e-8)  # fmt: skip
    # the general route (exact Hessian given as a prior vector) agrees with the
    # cached factorisation's
    again = ts.evidence(curv, prior_precision=curv.penalty.copy() * (1 + 0.0))
    assert_allclose(again.log_evidence, ev.log_evidence, rtol=1e-12)


def test_other_prior_precisions_are_exact_for_gaussian_models(rng):
    """The Newton correction makes the Laplace integral exact at any θ̂."""
    X, y = _gaussian(rng)
    s2 = 0.8
    curv = _ridge_curv(X, y, 3.0, s2, True)
    for lam in (0.01, 1.0, 40.0):
        ev = ts.evidence(curv, prior_precision=lam)
        assert_allclose(ev.log_evidence, _reml(X, y, lam, s2)[0], rtol=1e-8)
        assert "off_mode" in ev.flags
    assert "off_mode" not in ts.evidence(curv).flags


def test_estimated_dispersion_is_held_at_its_estimate(rng):
    X, y = _gaussian(rng)
    model = Ridge(alpha=3.0, tol=1e-14).fit(X, y)
    curv = ts.curvature(model, X, y)  # σ² estimated: a parameter
    assert curv.dispersion_is_param
    s2 = curv.dispersion
    ev = ts.evidence(curv)
    assert ev.dispersion == s2
    assert_allclose(ev.log_evidence, _reml(X, y, 3.0 / s2, s2)[0], rtol=1e-8)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_bayesian_ridge_scores(rng, fit_intercept):
    """scikit-learn's last ``scores_`` entry, hyperprior terms removed.

    Intercept convention: BayesianRidge centres X and y and keeps n in its
    normalisation, i.e. it maximises over the intercept (profile), on centred X.
    ticselect's profile variant of the equivalent ridge fit on centred X equals it;
    without an intercept the evidence itself does.
    """
    X, y = _gaussian(rng, n=80, p=5)
    br = BayesianRidge(compute_score=True, tol=1e-12, max_iter=3000,
                       fit_intercept=fit_intercept).fit(X, y)  # fmt: skip
    a, lam = br.alpha_, br.lambda_
    hyper = (br.lambda_1 * np.log(lam) - br.lambda_2 * lam
             + br.alpha_1 * np.log(a) - br.alpha_2 * a)  # fmt: skip
    target = br.scores_[-1] - hyper
    Xc = X - X.mean(0) if fit_intercept else X
    model = Ridge(alpha=lam / a, fit_intercept=fit_intercept, tol=1e-14).fit(Xc, y)
    curv = ts.curvature(model, Xc, y, dispersion=1.0 / a)
    ev = ts.evidence(curv, unpenalized="profile")
    assert_allclose(curv.penalty[: X.shape[1]], lam, rtol=1e-12)
    assert_allclose(ev.log_evidence, target, rtol=1e-6)
    # BayesianRidge's own update is MacKay's: at its fixed point λ = γ/‖β‖²
    assert_allclose(ev.mackay_update, lam, rtol=1e-4)


def test_mackay_fixed_point_is_the_evidence_optimum(rng):
    """At the evidence-optimal λ, λ = γ / θ̂ᵀPθ̂ (Gaussian, dispersion fixed)."""
    X, y = _gaussian(rng, n=50, p=6, shift=0.0)
    y = y - 2.0
    s2 = 1.0

    def ev(log_alpha):
        return ts.evidence(_ridge_curv(X, y, np.exp(log_alpha), s2, False))

    best = optimize.minimize_scalar(lambda t: -ev(t).log_evidence,
                                    bracket=(-3.0, 3.0), tol=1e-12)  # fmt: skip
    at = ev(best.x)
    # rtol: the optimiser's tolerance on log λ (1e-12 → ~1e-6 in λ)
    assert_allclose(at.mackay_update, at.prior_precision, rtol=1e-5)
    # and away from the optimum the update moves towards it
    lo = ev(best.x - 1.0)
    assert lo.prior_precision < lo.mackay_update


def test_laplace_is_close_to_quadrature_for_two_parameter_logistic(rng):
    """Logistic regression with 2 parameters (slope, intercept penalised alike)."""
    n = 50
    x = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.5 + x)))).astype(int)
    X = np.column_stack([x, np.ones(n)])
    lam = 1.0
    model = LogisticRegression(C=1 / lam, fit_intercept=False, tol=1e-12).fit(X, y)
    ev = ts.evidence(ts.curvature(model, X, y))

    def integrand(b, a):
        eta = a * x + b
        ll = np.sum(y * eta - np.logaddexp(0, eta))
        return np.exp(ll - 0.5 * lam * (a * a + b * b) + np.log(lam / (2 * np.pi)))

    val, _ = integrate.dblquad(integrand, -8, 8, -8, 8, epsabs=1e-16, epsrel=1e-10)
    # the Laplace error is O(1/n): a few hundredths of a nat at n = 50
    assert abs(ev.log_evidence - np.log(val)) < 0.05
    assert ev.log_evidence != pytest.approx(np.log(val), abs=1e-6)


def test_duplicated_rows_equal_sample_weight_two(rng):
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + rng.normal(size=40) > 0).astype(int)
    kw = dict(C=0.7, tol=1e-12, solver="newton-cholesky")
    w = np.r_[np.full(20, 2.0), np.ones(20)]
    a = LogisticRegression(**kw).fit(X, y, sample_weight=w)
    Xd, yd = np.vstack([X, X[:20]]), np.r_[y, y[:20]]
    b = LogisticRegression(**kw).fit(Xd, yd)
    ea = ts.evidence(ts.curvature(a, X, y, sample_weight=w))
    eb = ts.evidence(ts.curvature(b, Xd, yd))
    assert_allclose(ea.log_evidence, eb.log_evidence, rtol=1e-9)
    assert_allclose(ea.gamma, eb.gamma, rtol=1e-8)


def test_ggn_equals_exact_for_a_canonical_glm(rng):
    X = rng.normal(size=(100, 3))
    y = (X[:, 0] + rng.normal(size=100) > 0).astype(int)
    model = LogisticRegression(C=0.5, tol=1e-12).fit(X, y)
    curv = ts.curvature(model, X, y)
    a, b = ts.evidence(curv), ts.evidence(curv, hessian="ggn")
    # canonical link: F = H (the GGN route also refactorises: a second path)
    assert_allclose(b.log_evidence, a.log_evidence, rtol=1e-10)
    assert_allclose(b.gamma, a.gamma, rtol=1e-8)


def test_multinomial_gauge_equals_the_full_space_laplace(rng):
    """Penalised softmax gauge directions: the prior integrates them away."""
    X = rng.normal(size=(90, 3))
    y = rng.integers(0, 3, 90)
    model = LogisticRegression(C=2.0, fit_intercept=False, tol=1e-12).fit(X, y)
    curv = ts.curvature(model, X, y)
    assert curv.gauge.shape[1] == 3
    ev = ts.evidence(curv)
    lam = curv.penalty
    A = curv.hessian + np.diag(lam)  # positive definite on the full space
    full = (-curv.nll - 0.5 * np.sum(lam * curv.params**2)
            + 0.5 * np.sum(np.log(lam)) - 0.5 * np.linalg.slogdet(A)[1])  # fmt: skip
    assert_allclose(ev.log_evidence, full, rtol=1e-8)


def test_criteria_and_scorer_carry_the_evidence(rng):
    from sklearn.model_selection import GridSearchCV

    X = rng.normal(size=(120, 4))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=120) > 0).astype(int)
    model = LogisticRegression(C=0.3, tol=1e-12).fit(X, y)
    curv = ts.curvature(model, X, y)
    crit = ts.criteria(curv)
    assert crit.log_evidence == ts.evidence(curv).log_evidence
    assert "log_evidence" in ts.get_scorer_names()
    scorer = ts.get_scorer("log_evidence")
    assert_allclose(scorer(model, X, y), crit.log_evidence / 120, rtol=1e-12)
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}
    search = GridSearchCV(LogisticRegression(tol=1e-10), grid, cv=ts.InSample(),
                          scoring=scorer).fit(X, y)  # fmt: skip
    values = [
        ts.evidence(ts.curvature(LogisticRegression(C=c, tol=1e-10).fit(X, y), X, y))
        .log_evidence for c in grid["C"]
    ]  # fmt: skip
    assert search.best_params_["C"] == grid["C"][int(np.argmax(values))]
    # an unpenalised fit has no evidence: nan in the criteria, never a number
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = LogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    assert np.isnan(ts.criteria(ts.curvature(free, X, y)).log_evidence)


def test_tables_and_the_factorisation_carry_the_evidence(rng):
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    models = {f"C={c}": LogisticRegression(C=c, tol=1e-10) for c in (0.1, 1.0)}
    table = ts.compare(models, X, y)
    rows = table.to_dict()
    for name, crit in table.criteria.items():
        assert rows[name]["log_evidence"] == crit.log_evidence
        curv = table.curvatures[name]
        sol = curv.penalized_solve()  # the log-determinant the evidence reads
        assert_allclose(sol.logdet, np.linalg.slogdet(curv.penalized_hessian)[1],
                        rtol=1e-12)  # fmt: skip
    assert "log_evidence" in table.summary(columns=["tic", "log_evidence"])
    path = ts.criterion_path(LogisticRegression(tol=1e-10), "C", [0.1, 1.0], X, y)
    frame = path.to_frame()
    assert_allclose(frame["log_evidence"], [c.log_evidence for c in path.criteria])


def test_compare_says_when_evidences_are_not_comparable(rng):
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    same = {f"C={c}": LogisticRegression(C=c, tol=1e-10) for c in (0.1, 1.0)}
    table = ts.compare(same, X, y)
    assert table.evidence_note == ""
    mixed = {
        "intercept": LogisticRegression(C=1.0, tol=1e-10),
        "no intercept": LogisticRegression(C=1.0, fit_intercept=False, tol=1e-10),
    }
    table = ts.compare(mixed, X, y)
    assert "not comparable" in table.evidence_note
    assert "note: log_evidence" in table.summary(columns=["tic", "log_evidence"])
    assert "note:" not in table.summary()


@pytest.mark.parametrize("unpen", ["integrate", "profile"])
def test_profiled_dispersion_is_the_reml_estimate(rng, unpen):
    X, y = _gaussian(rng)
    alpha = 3.0
    model = Ridge(alpha=alpha, tol=1e-14).fit(X, y)
    curv = ts.curvature(model, X, y)  # σ² estimated by ML: RSS/n
    ev = ts.evidence(curv, dispersion="profile", unpenalized=unpen)
    rss = float(np.sum((y - model.predict(X)) ** 2))
    m = 1 if unpen == "integrate" else 0
    s2 = (rss + alpha * np.sum(model.coef_**2)) / (len(y) - m)
    assert_allclose(ev.dispersion, s2, rtol=1e-7)
    assert_allclose(ev.prior_precision, alpha / s2, rtol=1e-7)
    # the closed form at that σ², maximised over σ²
    reml, profile = _reml(X, y, alpha / s2, s2)
    assert_allclose(ev.log_evidence, reml if m else profile, rtol=1e-9)
    best = optimize.minimize_scalar(
        lambda t: -_reml(X, y, alpha / np.exp(t), np.exp(t))[1 - m],
        bracket=(0.0, 1.0), tol=1e-10,
    )  # fmt: skip
    assert ev.log_evidence >= -best.fun - 1e-9
    assert ev.log_evidence > ts.evidence(curv, unpenalized=unpen).log_evidence
    with pytest.raises(ValueError, match="dispersion='profile' needs"):
        ts.evidence(_ridge_curv(X, y, alpha, 1.0, True), dispersion="profile")
    with pytest.raises(ValueError, match="dispersion must be one of"):
        ts.evidence(curv, dispersion="integrate")


def test_criterion_path_picks_and_plots_by_evidence(rng):
    import matplotlib

    matplotlib.use("Agg")
    X = rng.normal(size=(100, 4))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=100) > 0).astype(int)
    grid = [0.01, 0.1, 1.0, 10.0, np.inf]  # C = inf: unpenalised, no evidence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = ts.criterion_path(LogisticRegression(tol=1e-10), "C", grid, X, y)
    log_ev = np.array([c.log_evidence for c in path.criteria])
    assert np.isnan(log_ev[-1]) and np.all(np.isfinite(log_ev[:-1]))
    assert path.best_index("evidence") == int(np.nanargmax(log_ev))
    assert_allclose(path.per_sample("evidence")[:-1], -log_ev[:-1] / 100)
    d = path.to_dict()
    assert d["evidence"][-1] is None and json.loads(json.dumps(d)) == d
    assert d["picks"]["evidence"] == grid[path.best_index("evidence")]
    free = ts.criterion_path(LogisticRegression(C=np.inf, tol=1e-10), "tol",
                             [1e-10, 1e-9], X, y)  # fmt: skip
    with pytest.raises(ValueError, match="undefined at every grid value"):
        free.best_index("evidence")
    assert "evidence" not in free.to_dict()["picks"]
    ax = path.plot(criteria=["tic", "evidence"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["TIC", "EVIDENCE"]
