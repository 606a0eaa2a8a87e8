"""Tests for ticselect.calibration against independent computations.

Oracles: plain-loop references written below (no code shared with the package),
scikit-learn's ``calibration_curve`` / ``brier_score_loss``, statsmodels' ``Logit`` /
``GLM`` and ``test_chisquare_binning`` (its Hosmer–Lemeshow-type test), and
seeded Monte-Carlo properties with tolerances derived from their standard errors.
"""

import pickle

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import integrate, optimize, stats
from sklearn.calibration import calibration_curve
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_score
from statsmodels.stats import diagnostic_gen

from ticselect.calibration import (
    CALIBRATION_SCORERS,
    binned_mean_curve,
    brier_decomposition,
    brier_score,
    calibration_in_the_large,
    calibration_report,
    calibration_slope,
    debiased_ece,
    dispersion_ratio,
    expected_calibration_error,
    hosmer_lemeshow,
    log_loss_decomposition,
    max_calibration_error,
    smooth_ece,
)


# ------------------------------------------------------------ plain references
def ref_bins(scores, n_bins, strategy):
    """Bin index by an explicit loop over edges; bins (e_{b-1}, e_b], first closed."""
    if strategy == "uniform":
        edges = [b / n_bins for b in range(n_bins + 1)]
    else:
        edges = list(np.percentile(scores, np.linspace(0, 100, n_bins + 1)))
    ids = []
    for s in scores:
        b = 0
        while b < n_bins - 1 and s > edges[b + 1]:
            b += 1
        ids.append(b)
    return ids


def ref_ece_mce(scores, outcomes, n_bins, strategy, weights=None):
    n = len(scores)
    weights = [1.0] * n if weights is None else list(weights)
    ids = ref_bins(scores, n_bins, strategy)
    total = sum(weights)
    ece, mce = 0.0, 0.0
    for b in range(n_bins):
        members = [i for i in range(n) if ids[i] == b and weights[i] > 0]
        if not members:
            continue
        wb = sum(weights[i] for i in members)
        conf = sum(weights[i] * scores[i] for i in members) / wb
        acc = sum(weights[i] * outcomes[i] for i in members) / wb
        ece += wb / total * abs(acc - conf)
        mce = max(mce, abs(acc - conf))
    return ece, mce


def top_label(y, prob):
    pred = [int(np.argmax(row)) for row in prob]
    conf = [float(prob[i][pred[i]]) for i in range(len(y))]
    correct = [float(pred[i] == y[i]) for i in range(len(y))]
    return conf, correct


def make_probs(n, k, rng):
    logits = rng.normal(scale=2.0, size=(n, k))
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def sample_labels(prob, rng):
    cum = prob.cumsum(axis=1)
    u = rng.uniform(size=(prob.shape[0], 1))
    return np.minimum((u > cum).sum(axis=1), prob.shape[1] - 1)


# ------------------------------------------------------------------ binned ECE
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 5, 15])
def test_binary_ece_mce_match_plain_loop(strategy, n_bins):
    rng = np.random.default_rng(0)
    p = rng.uniform(size=300)
    y = (rng.uniform(size=300) < p**1.5).astype(int)
    ece_ref, mce_ref = ref_ece_mce(list(p), list(y), n_bins, strategy)
    # same arithmetic in a different order: only rounding differs
    assert_allclose(
        expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy),
        ece_ref,
        rtol=1e-12,
    )
    assert_allclose(
        max_calibration_error(y, p, n_bins=n_bins, strategy=strategy),
        mce_ref,
        rtol=1e-12,
    )


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_binary_ece_matches_sklearn_calibration_curve(strategy):
    rng = np.random.default_rng(1)
    p = rng.beta(2, 5, size=1000)
    y = (rng.uniform(size=1000) < np.sqrt(p)).astype(int)
    n_bins = 10
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    # calibration_curve drops empty bins; recover each bin's count from its mean
    ids = ref_bins(list(p), n_bins, strategy)
    counts = np.bincount(ids, minlength=n_bins)
    counts = counts[counts > 0]
    ece_sk = np.sum(counts / counts.sum() * np.abs(prob_true - prob_pred))
    assert_allclose(
        expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy),
        ece_sk,
        rtol=1e-12,
    )
    assert_allclose(
        max_calibration_error(y, p, n_bins=n_bins, strategy=strategy),
        np.max(np.abs(prob_true - prob_pred)),
        rtol=1e-12,
    )


def test_edge_values_fall_in_lower_bin():
    # 0.5 is the interior edge with 2 bins: it belongs to [0, 0.5]
    y = np.array([1, 0])
    p = np.array([0.5, 0.0])
    # bin 1 = {0.5, 0.0}: conf 0.25, acc 0.5 -> gap 0.25 (if 0.5 went up: 0.5 * 0.5
    # + 0.5 * 0 = 0.25 as well, so use MCE which distinguishes: 0.25 vs 0.5)
    assert_allclose(max_calibration_error(y, p, n_bins=2), 0.25, rtol=1e-15)
    assert_allclose(max_calibration_error([1], [1.0], n_bins=3), 0.0, atol=1e-15)
    assert_allclose(max_calibration_error([0], [0.0], n_bins=3), 0.0, atol=1e-15)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_multiclass_top_label_and_classwise_match_plain_loop(strategy):
    rng = np.random.default_rng(2)
    prob = make_probs(400, 4, rng)
    y = sample_labels(prob**1.3 / (prob**1.3).sum(1, keepdims=True), rng)
    conf, correct = top_label(y, prob)
    ece_ref, mce_ref = ref_ece_mce(conf, correct, 10, strategy)
    assert_allclose(
        expected_calibration_error(y, prob, n_bins=10, strategy=strategy),
        ece_ref,
        rtol=1e-12,
    )
    assert_allclose(
        max_calibration_error(y, prob, n_bins=10, strategy=strategy),
        mce_ref,
        rtol=1e-12,
    )
    per_class = [
        ref_ece_mce(list(prob[:, k]), list((y == k) * 1.0), 10, strategy)
        for k in range(4)
    ]
    assert_allclose(
        expected_calibration_error(
            y, prob, n_bins=10, strategy=strategy, multiclass="classwise"
        ),
        np.mean([e for e, _ in per_class]),
        rtol=1e-12,
    )
    assert_allclose(
        max_calibration_error(
            y, prob, n_bins=10, strategy=strategy, multiclass="classwise"
        ),
        max(m for _, m in per_class),
        rtol=1e-12,
    )


def test_sample_weight_equals_row_duplication():
    rng = np.random.default_rng(3)
    prob = make_probs(120, 3, rng)
    y = sample_labels(prob, rng)
    w = rng.integers(0, 4, size=120)
    rep = np.repeat(np.arange(120), w)
    for fn in (expected_calibration_error, max_calibration_error):
        # uniform bins do not depend on the data, so weights = duplication exactly
        assert_allclose(fn(y, prob, sample_weight=w), fn(y[rep], prob[rep]), rtol=1e-12)
    assert_allclose(
        brier_score(y, prob, sample_weight=w),
        brier_score(y[rep], prob[rep]),
        rtol=1e-12,
    )
    assert_allclose(
        smooth_ece(y, prob, sample_weight=w),
        smooth_ece(y[rep], prob[rep]),
        rtol=1e-9,
    )
    assert_allclose(
        calibration_slope(y, prob, sample_weight=w).slope,
        calibration_slope(y[rep], prob[rep]).slope,
        rtol=1e-8,
    )


def test_ece_vanishes_for_calibrated_model_as_n_grows():
    rng = np.random.default_rng(4)
    eces = []
    for n in (1_000, 10_000, 100_000):
        p = rng.uniform(size=n)
        y = (rng.uniform(size=n) < p).astype(int)
        eces.append(expected_calibration_error(y, p, n_bins=10))
    # binned ECE of a calibrated model is O(sqrt(n_bins / n)): ≈0.08, 0.025, 0.008
    assert eces[2] < 0.02
    assert eces[2] < eces[0]
    # a miscalibrated model stays away from 0
    p = rng.uniform(size=100_000)
    y = (rng.uniform(size=p.size) < p**2).astype(int)
    # E|p - p²| binned ≈ ∫ (p - p²) dp = 1/6
    assert_allclose(expected_calibration_error(y, p, n_bins=10), 1 / 6, atol=0.01)


# ----------------------------------------------------------------- debiased ECE
def test_debiased_ece_matches_plain_formula():
    rng = np.random.default_rng(5)
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p).astype(int)
    ids = ref_bins(list(p), 8, "quantile")
    total = 0.0
    for b in range(8):
        mem = [i for i in range(500) if ids[i] == b]
        nb = len(mem)
        ob = sum(y[i] for i in mem) / nb
        sb = sum(p[i] for i in mem) / nb
        total += nb / 500 * ((ob - sb) ** 2 - ob * (1 - ob) / (nb - 1))
    assert_allclose(debiased_ece(y, p, n_bins=8, squared=True), total, rtol=1e-10)
    assert_allclose(debiased_ece(y, p, n_bins=8), np.sqrt(max(total, 0)), rtol=1e-10)


def test_debiased_ece_is_unbiased_where_plugin_is_not():
    # forecasts constant within uniform bins; calibrated -> true binned l2-CE is 0
    rng = np.random.default_rng(6)
    levels = (np.arange(10) + 0.5) / 10
    p = np.repeat(levels, 20)
    debiased, plugin = [], []
    for _ in range(400):
        y = (rng.uniform(size=p.size) < p).astype(int)
        debiased.append(debiased_ece(y, p, n_bins=10, strategy="uniform", squared=True))
        ob = y.reshape(10, 20).mean(1)
        plugin.append(np.mean((ob - levels) ** 2))
    se = np.std(debiased) / np.sqrt(len(debiased))
    # unbiased: mean within 4 standard errors of 0 (seeded; fails w.p. ~6e-5)
    assert abs(np.mean(debiased)) < 4 * se
    # plug-in bias is Σ p(1-p)/(10·20) ≈ 0.0104, far beyond 4 se
    assert np.mean(plugin) > 0.008
    assert np.mean(plugin) - np.mean(debiased) > 10 * se


# ------------------------------------------------------------------- smooth ECE
def ref_smece_sigma(scores, residuals, sigma, grid=4001, images=3):
    """Direct definition: reflected Gaussian kernel as a sum over images."""
    t = np.linspace(0, 1, grid)
    g = np.zeros_like(t)
    for s, r in zip(scores, residuals, strict=True):
        for j in range(-images, images + 1):
            for img in (s + 2 * j, -s + 2 * j):
                g += r * stats.norm.pdf(t, loc=img, scale=sigma)
    return integrate.trapezoid(np.abs(g / len(scores)), t)


@pytest.mark.parametrize("sigma", [0.03, 0.1, 0.4])
def test_smooth_ece_fixed_bandwidth_matches_image_sum(sigma):
    rng = np.random.default_rng(7)
    p = rng.uniform(size=150)
    y = (rng.uniform(size=150) < p**2).astype(int)
    ref = ref_smece_sigma(p, y - p, sigma)
    # trapezoid on 4001 points with |g| kinks: relative error well below 1e-5
    assert_allclose(smooth_ece(y, p, bandwidth=sigma), ref, rtol=1e-5)


def test_smooth_ece_fixed_point_matches_root_of_reference():
    rng = np.random.default_rng(8)
    p = rng.uniform(size=120)
    y = (rng.uniform(size=120) < p**3).astype(int)
    sigma_star = optimize.brentq(
        lambda s: ref_smece_sigma(p, y - p, s, grid=2001) - s, 1e-3, 1.0, xtol=1e-10
    )
    # the root inherits the trapezoid error of the reference (~1e-6 relative)
    assert_allclose(smooth_ece(y, p), sigma_star, rtol=1e-5)


def test_smooth_ece_constant_forecast_is_exact():
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, size=333)
    # one forecast value: g = mean(r) K(t, 0.3) and ∫ K = 1, for every bandwidth
    assert_allclose(smooth_ece(y, np.full(333, 0.3)), abs(y.mean() - 0.3), rtol=1e-10)


def test_smooth_ece_small_for_calibrated_large_for_miscalibrated():
    rng = np.random.default_rng(10)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert smooth_ece(y, p) < 0.02
    y = (rng.uniform(size=p.size) < p**2).astype(int)
    # smECE is within constant factors of the distance to calibration (≈ 1/6 here)
    assert 0.05 < smooth_ece(y, p) < 0.2


# ----------------------------------------------------------------------- Brier
def test_brier_score_matches_sklearn():
    rng = np.random.default_rng(11)
    p = rng.uniform(size=200)
    y = rng.integers(0, 2, size=200)
    w = rng.uniform(size=200)
    assert_allclose(brier_score(y, p), brier_score_loss(y, p), rtol=1e-12)
    assert_allclose(
        brier_score(y, p, sample_weight=w),
        brier_score_loss(y, p, sample_weight=w),
        rtol=1e-12,
    )
    prob = make_probs(200, 3, rng)
    y3 = sample_labels(prob, rng)
    onehot = np.eye(3)[y3]
    assert_allclose(
        brier_score(y3, prob), np.mean(np.sum((prob - onehot) ** 2, 1)), rtol=1e-12
    )


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_brier_decomposition_sums_exactly(strategy):
    rng = np.random.default_rng(12)
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p**1.4).astype(int)
    d = brier_decomposition(y, p, n_bins=7, strategy=strategy)
    total = (
        d.reliability
        - d.resolution
        + d.uncertainty
        + d.within_bin_variance
        - d.within_bin_covariance
    )
    # exact algebraic identity; only float rounding remains
    assert_allclose(total, brier_score_loss(y, p), rtol=1e-12)
    assert_allclose(d.brier, brier_score_loss(y, p), rtol=1e-12)
    assert_allclose(d.uncertainty, y.mean() * (1 - y.mean()), rtol=1e-12)
    # plain-loop reliability / resolution
    ids = ref_bins(list(p), 7, strategy)
    rel = res = 0.0
    for b in range(7):
        mem = [i for i in range(500) if ids[i] == b]
        if mem:
            sb = np.mean(p[mem])
            ob = np.mean(y[mem])
            rel += len(mem) / 500 * (sb - ob) ** 2
            res += len(mem) / 500 * (ob - y.mean()) ** 2
    assert_allclose([d.reliability, d.resolution], [rel, res], rtol=1e-12)


def test_brier_three_terms_exact_when_constant_within_bins():
    rng = np.random.default_rng(13)
    p = rng.choice((np.arange(10) + 0.5) / 10, size=400)
    y = (rng.uniform(size=400) < p).astype(int)
    rel, res, unc = brier_decomposition(y, p, n_bins=10)
    assert_allclose(rel - res + unc, brier_score_loss(y, p), rtol=1e-12)


def test_brier_decomposition_multiclass_sums_and_pickles():
    rng = np.random.default_rng(14)
    prob = make_probs(300, 4, rng)
    y = sample_labels(prob, rng)
    d = brier_decomposition(y, prob, n_bins=5)
    total = d[0] - d[1] + d[2] + d.within_bin_variance - d.within_bin_covariance
    assert_allclose(total, brier_score(y, prob), rtol=1e-12)
    d2 = pickle.loads(pickle.dumps(d))
    assert tuple(d2) == tuple(d) and d2.within_bin_variance == d.within_bin_variance


# ------------------------------------------------------------ calibration slope
def test_calibration_slope_matches_statsmodels_logit():
    rng = np.random.default_rng(15)
    p = rng.uniform(0.02, 0.98, size=800)
    y = (rng.uniform(size=800) < p).astype(int)
    lp = np.log(p / (1 - p))
    ref = sm.Logit(y, sm.add_constant(lp)).fit(disp=0, tol=1e-12, maxiter=100)
    got = calibration_slope(y, p)
    # both are Newton fits to convergence: agreement to ~1e-8
    assert_allclose([got.intercept, got.slope], ref.params, rtol=1e-7)
    w = rng.integers(1, 4, size=800).astype(float)
    ref_w = sm.GLM(
        y, sm.add_constant(lp), family=sm.families.Binomial(), freq_weights=w
    ).fit(tol=1e-12)
    got_w = calibration_slope(y, p, sample_weight=w)
    assert_allclose([got_w.intercept, got_w.slope], ref_w.params, rtol=1e-7)


def test_calibration_slope_converges_where_rounding_hides_the_last_step():
    # a bootstrap resample (the 43rd of seed 0) on which the damped Newton used to
    # stall: one step from the optimum the NLL decrease (~1e-14) is below the
    # rounding of the summed NLL (~1e-13), the line search accepted random
    # fractions of a 1e-8 step forever and the fit reported separation
    rng = np.random.default_rng(0)
    p = rng.beta(2, 2, size=500)
    y = (rng.uniform(size=500) < p).astype(int)
    draws = np.random.default_rng(0)
    for _ in range(43):
        idx = draws.integers(0, 500, 500)
    lp = np.log(p[idx] / (1 - p[idx]))
    ref = sm.Logit(y[idx], sm.add_constant(lp)).fit(disp=0, tol=1e-14, maxiter=100)
    got = calibration_slope(y[idx], p[idx])
    # both converged Newton fits: agreement to rounding of the parameters
    assert_allclose([got.intercept, got.slope], ref.params, rtol=1e-9)


def test_calibration_slope_multiclass_matches_direct_optimisation():
    rng = np.random.default_rng(16)
    prob = make_probs(600, 3, rng)
    y = sample_labels(prob, rng)
    logp = np.log(prob)

    def nll(theta):
        z = theta[0] * logp + np.concatenate([[0.0], theta[1:]])
        z = z - z.max(1, keepdims=True)
        return -np.sum(z[np.arange(600), y] - np.log(np.exp(z).sum(1)))

    ref = optimize.minimize(
        nll,
        [1.0, 0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000},
    )
    got = calibration_slope(y, prob)
    # Nelder–Mead reaches ~1e-6 in the parameters
    assert_allclose(got.slope, ref.x[0], atol=1e-5)
    assert_allclose(got.intercept, [0.0, *ref.x[1:]], atol=1e-5)


def test_calibration_slope_recovers_temperature():
    rng = np.random.default_rng(17)
    n = 40_000
    prob = make_probs(n, 3, rng)
    y = sample_labels(prob, rng)
    assert_allclose(calibration_slope(y, prob).slope, 1.0, atol=0.03)
    # over-confident: p ∝ q^2 -> true recalibration slope is 1/2
    sharp = prob**2 / (prob**2).sum(1, keepdims=True)
    # SE of the slope is ~0.005 at this n; 0.02 is 4 SE
    assert_allclose(calibration_slope(y, sharp).slope, 0.5, atol=0.02)
    # binary, temperature T = 2 on the logit: slope 2 (under-confident input)
    q = rng.uniform(0.01, 0.99, size=n)
    yb = (rng.uniform(size=n) < q).astype(int)
    soft = 1 / (1 + np.exp(-np.log(q / (1 - q)) / 2))
    res = calibration_slope(yb, soft)
    assert_allclose(res.slope, 2.0, atol=0.08)
    assert calibration_slope(yb, 1 / (1 + np.exp(-2 * np.log(q / (1 - q))))).slope < 1


def test_calibration_slope_errors():
    with pytest.raises(ValueError, match="every class present"):
        calibration_slope([1, 1, 1], [0.2, 0.5, 0.7])
    with pytest.raises(ValueError, match="separated"):
        calibration_slope([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    # quasi-complete separation (tie at 0.8): the MLE slope is infinite too
    with pytest.raises(ValueError, match="separated"):
        calibration_slope([0, 0, 1, 1, 0], [0.1, 0.2, 0.8, 0.9, 0.8])


# -------------------------------------------------------------- Hosmer–Lemeshow
@pytest.mark.parametrize("n_groups", [5, 10])
def test_hosmer_lemeshow_matches_statsmodels(n_groups):
    rng = np.random.default_rng(18)
    p = rng.uniform(0.05, 0.95, size=437)
    y = (rng.uniform(size=437) < p**1.2).astype(int)
    ref = diagnostic_gen.test_chisquare_binning(
        np.column_stack([1 - y, y]),
        np.column_stack([1 - p, p]),
        sort_var=p,
        bins=n_groups,
        sort_method="stable",
    )
    got = hosmer_lemeshow(y, p, n_groups=n_groups)
    assert got.df == ref.df == n_groups - 2
    assert_allclose(got.statistic, ref.statistic, rtol=1e-12)
    assert_allclose(got.pvalue, ref.pvalue, rtol=1e-10)
    # and the textbook formula Σ (O-E)² / (E (1 - E/n_g)) by a plain loop
    order = sorted(range(437), key=lambda i: p[i])
    stat = 0.0
    for g in np.array_split(np.array(order), n_groups):
        o, e, ng = y[g].sum(), p[g].sum(), len(g)
        stat += (o - e) ** 2 / (e * (1 - e / ng))
    assert_allclose(got.statistic, stat, rtol=1e-12)


def test_hosmer_lemeshow_multiclass_matches_statsmodels():
    rng = np.random.default_rng(19)
    prob = make_probs(500, 3, rng)
    y = sample_labels(prob, rng)
    ref = diagnostic_gen.test_chisquare_binning(
        np.eye(3)[y], prob, sort_var=1 - prob[:, 0], bins=10, sort_method="stable"
    )
    got = hosmer_lemeshow(y, prob)
    assert got.df == ref.df == 16
    assert_allclose(
        [got.statistic, got.pvalue], [ref.statistic, ref.pvalue], rtol=1e-10
    )


def test_hosmer_lemeshow_pvalues_uniform_for_known_probabilities():
    # With the true probabilities (nothing estimated) the statistic is ~ χ²(G) and
    # the p-values with df=G are ~uniform. KS at 300 draws: the seeded test fails
    # only if the distribution is wrong (KS p-value threshold 0.01).
    rng = np.random.default_rng(20)
    pvals = []
    for _ in range(300):
        p = rng.uniform(0.1, 0.9, size=400)
        y = (rng.uniform(size=400) < p).astype(int)
        pvals.append(hosmer_lemeshow(y, p, df=10).pvalue)
    assert stats.kstest(pvals, "uniform").pvalue > 0.01
    # under miscalibration it rejects
    p = rng.uniform(0.1, 0.9, size=2000)
    y = (rng.uniform(size=2000) < p**2).astype(int)
    assert hosmer_lemeshow(y, p).pvalue < 1e-6


def test_hosmer_lemeshow_errors():
    with pytest.raises(ValueError, match="n_groups"):
        hosmer_lemeshow([0, 1], [0.2, 0.7], n_groups=10)
    with pytest.raises(ValueError, match="zero expected"):
        hosmer_lemeshow([0, 0, 0, 1, 1, 1], [0.0, 0.0, 0.5, 0.5, 0.6, 0.7], n_groups=3)


# --------------------------------------------------------------- regression
def test_regression_metrics_match_statsmodels_glm():
    rng = np.random.default_rng(21)
    X = rng.normal(size=(300, 2))
    mu = np.exp(0.3 + X @ [0.5, -0.2])
    y = rng.negative_binomial(2, 2 / (2 + mu))  # over-dispersed counts
    res = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit()
    assert_allclose(
        dispersion_ratio(y, res.fittedvalues, family="poisson", n_params=3),
        res.pearson_chi2 / res.df_resid,
        rtol=1e-12,
    )
    # canonical link with intercept: the score equation forces Σ(y - μ̂) = 0
    assert_allclose(calibration_in_the_large(y, res.fittedvalues), 0.0, atol=1e-8)
    assert_allclose(
        calibration_in_the_large(y, 0.5 * res.fittedvalues), 0.5 * y.mean(), rtol=1e-12
    )
    gres = sm.GLM(
        y + 1.0, sm.add_constant(X), family=sm.families.Gamma(sm.families.links.Log())
    ).fit()
    assert_allclose(
        dispersion_ratio(y + 1.0, gres.fittedvalues, family="gamma", n_params=3),
        gres.scale,  # statsmodels' default scale is Pearson χ² / df_resid
        rtol=1e-12,
    )
    assert_allclose(
        dispersion_ratio(y, res.fittedvalues, family="tweedie", power=1.0),
        dispersion_ratio(y, res.fittedvalues, family="poisson"),
        rtol=1e-14,
    )


def test_binned_mean_curve_matches_plain_loop():
    rng = np.random.default_rng(22)
    mu = rng.gamma(2.0, size=200)
    y = rng.poisson(mu)
    c = binned_mean_curve(y, mu, n_bins=4)
    order = np.argsort(mu)
    edges = np.percentile(mu, [0, 25, 50, 75, 100])
    for b in range(4):
        lo, hi = edges[b], edges[b + 1]
        mem = (mu >= lo) & (mu <= hi) if b == 0 else (mu > lo) & (mu <= hi)
        assert_allclose(c.mean_predicted[b], mu[mem].mean(), rtol=1e-12)
        assert_allclose(c.mean_observed[b], y[mem].mean(), rtol=1e-12)
        assert_allclose(
            c.std_error[b], y[mem].std(ddof=1) / np.sqrt(mem.sum()), rtol=1e-12
        )
    assert c.weight.sum() == 200 and order.size == 200


# ------------------------------------------------------------------ edge cases
@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([0, 1], [0.2, np.nan], "NaN"),
        ([0, 1, 1], [0.2, 0.3], "different lengths"),
        ([0, 1], [0.2, 1.3], r"\[0, 1\]"),
        ([0, 1], [-0.1, 0.3], r"\[0, 1\]"),
        ([0, 1], [[0.2, 0.7], [0.5, 0.5]], "sum to 1"),
        ([0, 2], [0.2, 0.3], "class indices"),
        (["a", "b"], [0.2, 0.3], "LabelEncoder"),
        ([0.0, np.nan], [0.2, 0.3], "NaN"),
        ([], [], "empty"),
        ([0, 1], [[0.2], [0.3]], "fewer than 2 columns"),
    ],
)
@pytest.mark.parametrize(
    "metric",
    [
        expected_calibration_error,
        max_calibration_error,
        smooth_ece,
        brier_score,
        brier_decomposition,
        debiased_ece,
        calibration_slope,
    ],
)
def test_bad_input_raises_clear_error(metric, y, p, match):
    with pytest.raises(ValueError, match=match):
        metric(y, p)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="strategy"):
        expected_calibration_error([0, 1], [0.2, 0.3], strategy="equal")
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error([0, 1], [0.2, 0.3], n_bins=0)
    with pytest.raises(ValueError, match="multiclass"):
        expected_calibration_error([0, 1], [[0.2, 0.8]] * 2, multiclass="ovr")
    with pytest.raises(ValueError, match="sample_weight"):
        brier_score([0, 1], [0.2, 0.3], sample_weight=[1.0])
    with pytest.raises(ValueError, match="bandwidth"):
        smooth_ece([0, 1], [0.2, 0.3], bandwidth=-1)
    with pytest.raises(ValueError, match="y_pred > 0"):
        dispersion_ratio([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="degrees of freedom"):
        dispersion_ratio([1, 2], [1.0, 1.0], n_params=2)
    with pytest.raises(ValueError, match="NaN"):
        calibration_in_the_large([1.0, np.nan], [1.0, 1.0])


def test_empty_bins_and_single_class_are_documented_results():
    # all forecasts in one of 15 bins: the 14 empty bins carry no weight
    y = np.array([1, 0, 1, 1])
    p = np.array([0.61, 0.62, 0.63, 0.64])
    assert_allclose(expected_calibration_error(y, p), abs(0.75 - 0.625), rtol=1e-12)
    assert_allclose(max_calibration_error(y, p), abs(0.75 - 0.625), rtol=1e-12)
    # a single class present is fine for ECE / Brier (uncertainty is 0) ...
    y1 = np.ones(4, dtype=int)
    assert_allclose(expected_calibration_error(y1, p), 1 - 0.625, rtol=1e-12)
    assert brier_decomposition(y1, p).uncertainty == 0.0
    # ... but not for the slope (raises, tested above)
    # tied quantile edges leave empty bins that are skipped, not NaN
    pt = np.array([0.3] * 10 + [0.7] * 10)
    yt = np.array([0, 1] * 10)
    val = expected_calibration_error(yt, pt, n_bins=10, strategy="quantile")
    assert np.isfinite(val)
    assert_allclose(val, 0.2, rtol=1e-12)


# --------------------------------------------------------- report and scorers
def _binary_fit():
    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    clf = LogisticRegression().fit(X[:400], y[:400])
    return clf, X[400:], y[400:]


def test_scorers_match_metrics_and_work_in_cross_validation():
    clf, X, y = _binary_fit()
    p = clf.predict_proba(X)[:, 1]
    assert_allclose(
        CALIBRATION_SCORERS["neg_ece"](clf, X, y),
        -expected_calibration_error(y, p),
        rtol=1e-14,
    )
    assert_allclose(
        CALIBRATION_SCORERS["neg_brier"](clf, X, y), -brier_score_loss(y, p), rtol=1e-12
    )
    assert_allclose(
        CALIBRATION_SCORERS["calibration_slope"](clf, X, y),
        calibration_slope(y, p).slope,
        rtol=1e-14,
    )
    assert_allclose(
        CALIBRATION_SCORERS["neg_calibration_slope_error"](clf, X, y),
        -abs(calibration_slope(y, p).slope - 1),
        rtol=1e-14,
    )
    for name, scorer in CALIBRATION_SCORERS.items():
        clone = pickle.loads(pickle.dumps(scorer))
        # the unpickled scorer computes exactly what the original does
        assert clone(clf, X, y) == scorer(clf, X, y), name
    scores = cross_val_score(
        LogisticRegression(), X, y, cv=3, scoring=CALIBRATION_SCORERS["neg_smooth_ece"]
    )
    # plain loop over the stratified folds cross_val_score uses for a classifier
    expected = [
        -smooth_ece(
            y[te], LogisticRegression().fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        )
        for tr, te in StratifiedKFold(3).split(X, y)
    ]
    assert_allclose(scores, expected, rtol=1e-12)


def test_scorers_map_string_labels_through_classes():
    X, y = make_classification(
        n_samples=300, n_classes=3, n_informative=4, random_state=1
    )
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = LogisticRegression().fit(X, labels)
    prob = clf.predict_proba(X)
    assert_allclose(
        CALIBRATION_SCORERS["neg_ece"](clf, X, labels),
        -expected_calibration_error(y, prob),
        rtol=1e-14,
    )
    with pytest.raises(ValueError, match="not in estimator.classes_"):
        CALIBRATION_SCORERS["neg_ece"](clf, X, np.array(["dog"] * 300))


def test_calibration_report_classifier_and_regressor():
    clf, X, y = _binary_fit()
    rep = calibration_report(clf, X, y)
    d = rep.to_dict()
    p = clf.predict_proba(X)[:, 1]
    assert_allclose(d["ece"], expected_calibration_error(y, p), rtol=1e-14)
    assert_allclose(d["brier"], brier_score_loss(y, p), rtol=1e-12)
    assert {
        "smooth_ece",
        "calibration_slope",
        "hosmer_lemeshow_pvalue",
        "brier_reliability",
        "calibration_in_the_large",
    } <= set(d)
    assert "calibration_slope" in rep.summary() and str(rep) == rep.summary()
    assert_allclose(d["log_loss"], log_loss(y, p), rtol=1e-12)
    assert_allclose(
        d["log_loss_calibration"], log_loss_decomposition(y, p).calibration, rtol=0
    )
    assert d["temperature"] == log_loss_decomposition(y, p).temperature
    rng = np.random.default_rng(23)
    Xr = rng.normal(size=(200, 2))
    yr = rng.poisson(np.exp(0.2 + Xr[:, 0] * 0.3))
    pois = PoissonRegressor(alpha=0.0).fit(Xr, yr)
    d = calibration_report(pois, Xr, yr).to_dict()
    assert_allclose(
        d["dispersion_ratio_poisson"],
        dispersion_ratio(yr, pois.predict(Xr)),
        rtol=1e-14,
    )
    lin = LinearRegression().fit(Xr, yr)
    d = calibration_report(lin, Xr, yr).to_dict()
    # normal variance function V(μ) = 1, no parameters subtracted: mean squared
    # residual; least squares with an intercept has residuals summing to 0
    resid = yr - lin.predict(Xr)
    assert_allclose(d["dispersion_ratio_normal"], np.mean(resid**2), rtol=1e-12)
    assert_allclose(d["calibration_in_the_large"], 0.0, atol=1e-12)
