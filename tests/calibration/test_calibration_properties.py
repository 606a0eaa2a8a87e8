"""Further checks of ticselect.calibration against independent computations.

Oracles: closed-form maximum-likelihood solutions, plain loops, scipy.stats.chi2,
statsmodels, and seeded Monte-Carlo properties with tolerances from standard errors.
"""

import io
import re
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import cross_validate
from statsmodels.stats import diagnostic_gen

import ticselect as ts
from ticselect.calibration import (
    binned_mean_curve,
    brier_decomposition,
    calibration_in_the_large,
    calibration_slope,
    dispersion_ratio,
    expected_calibration_error,
    hosmer_lemeshow,
    smooth_ece,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


# ------------------------------------------------------------ calibration slope
@pytest.mark.parametrize("accuracy", [0.5, 0.7, 0.9])
def test_slope_of_hard_zero_one_forecasts_matches_closed_form(accuracy):
    # A classifier that outputs exactly 0 or 1. After clipping to [1e-12, 1 - 1e-12]
    # the logit takes two values ±c, so the logistic MLE fits the two group
    # frequencies exactly: a ± b c = logit(f_±). (This used to return a slope of
    # -1.7e52 at accuracy 0.5: Newton started in the saturated region.)
    rng = np.random.default_rng(100)
    y = rng.integers(0, 2, size=400)
    p = np.where(rng.uniform(size=400) < accuracy, y, 1 - y).astype(float)
    # both columns clipped to [1e-12, 1 - 1e-12], then log p_1 - log p_0
    c = np.log(1.0 - 1e-12) - np.log(1e-12)
    f1, f0 = y[p == 1].mean(), y[p == 0].mean()
    lo1, lo0 = np.log(f1 / (1 - f1)), np.log(f0 / (1 - f0))
    slope, intercept = (lo1 - lo0) / (2 * c), (lo1 + lo0) / 2
    got = calibration_slope(y, p)
    # closed form vs Newton to convergence: rounding only
    assert_allclose([got.slope, got.intercept], [slope, intercept], rtol=1e-9)


def test_slope_not_identifiable_for_constant_forecasts():
    with pytest.raises(ValueError, match="not identifiable"):
        calibration_slope([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="not identifiable"):
        calibration_slope([0, 1, 0, 1, 1], [0.3] * 5)
    with pytest.raises(ValueError, match="not identifiable"):
        calibration_slope([0, 1, 2, 0, 1, 2], [[0.2, 0.3, 0.5]] * 6)


def test_binary_calibrated_slope_near_one_and_temperature_moves_it_below_one():
    rng = np.random.default_rng(101)
    n = 50_000
    z = rng.normal(scale=1.5, size=n)
    q = 1 / (1 + np.exp(-z))
    y = (rng.uniform(size=n) < q).astype(int)
    ref = sm.Logit(y, sm.add_constant(z)).fit(disp=0)
    se_int, se_slope = ref.bse
    got = calibration_slope(y, q)
    # calibrated model: true slope 1, intercept 0; 4 standard errors
    assert abs(got.slope - 1.0) < 4 * se_slope
    assert abs(got.intercept) < 4 * se_int
    # temperature T < 1 sharpens (over-confident): slope estimates T
    for temperature in (0.5, 0.8):
        sharp = 1 / (1 + np.exp(-z / temperature))
        res = calibration_slope(y, sharp)
        assert res.slope < 1.0
        assert abs(res.slope - temperature) < 4 * se_slope * temperature


# ----------------------------------------------------------------------- Brier
def test_brier_within_bin_terms_match_plain_loop():
    rng = np.random.default_rng(102)
    p = rng.uniform(size=300)
    y = (rng.uniform(size=300) < p**0.7).astype(int)
    n_bins = 6
    d = brier_decomposition(y, p, n_bins=n_bins)
    ids = [min(int(np.ceil(v * n_bins)) - 1, n_bins - 1) if v > 0 else 0 for v in p]
    wbv = wbc = 0.0
    for b in range(n_bins):
        mem = [i for i in range(300) if ids[i] == b]
        if not mem:
            continue
        sb = sum(p[i] for i in mem) / len(mem)
        ob = sum(y[i] for i in mem) / len(mem)
        wbv += sum((p[i] - sb) ** 2 for i in mem) / 300
        wbc += 2 * sum((p[i] - sb) * (y[i] - ob) for i in mem) / 300
    assert_allclose(
        [d.within_bin_variance, d.within_bin_covariance], [wbv, wbc], rtol=1e-10
    )
    # the three Murphy terms alone miss exactly WBV - WBC (here nonzero)
    gap = brier_score_loss(y, p) - (d.reliability - d.resolution + d.uncertainty)
    assert abs(wbv - wbc) > 1e-4
    assert_allclose(gap, wbv - wbc, rtol=1e-9)


def test_brier_extra_terms_vanish_for_discrete_forecasts():
    rng = np.random.default_rng(103)
    levels = np.array([0.05, 0.3, 0.55, 0.9])
    p = rng.choice(levels, size=500)
    y = (rng.uniform(size=500) < p).astype(int)
    d = brier_decomposition(y, p, n_bins=10)
    assert_allclose([d.within_bin_variance, d.within_bin_covariance], 0.0, atol=1e-15)
    # Murphy 1973 on the four forecast values, by hand
    obar = y.mean()
    rel = sum((p == v).mean() * (v - y[p == v].mean()) ** 2 for v in levels)
    res = sum((p == v).mean() * (y[p == v].mean() - obar) ** 2 for v in levels)
    assert_allclose(tuple(d), (rel, res, obar * (1 - obar)), rtol=1e-12)
    assert_allclose(rel - res + obar * (1 - obar), brier_score_loss(y, p), rtol=1e-12)


# -------------------------------------------------------------- Hosmer–Lemeshow
def test_hosmer_lemeshow_pvalue_by_hand_with_scipy_chi2():
    rng = np.random.default_rng(104)
    p = rng.uniform(0.05, 0.95, size=250)
    y = (rng.uniform(size=250) < p**1.3).astype(int)
    groups = np.array_split(np.argsort(p, kind="stable"), 8)
    stat = 0.0
    for g in groups:
        obs, exp, ng = y[g].sum(), p[g].sum(), len(g)
        stat += (obs - exp) ** 2 / (exp * (1 - exp / ng))
    got = hosmer_lemeshow(y, p, n_groups=8)
    assert_allclose(got.statistic, stat, rtol=1e-12)
    assert_allclose(got.pvalue, stats.chi2.sf(stat, 6), rtol=1e-10)
    held_out = hosmer_lemeshow(y, p, n_groups=8, df=8)
    assert_allclose(held_out.pvalue, stats.chi2.sf(stat, 8), rtol=1e-10)


def test_hosmer_lemeshow_binary_sorts_on_p_itself():
    # a < b but 1 - (1 - a) == 1 - (1 - b) in floating point; they sit across a
    # group boundary, so sorting on 1 - p_0 instead of p would swap them
    a = 0.1310227205910763
    b = float(np.nextafter(a, 1.0))
    assert a < b and 1 - (1 - a) == 1 - (1 - b)
    p = np.array([b, 0.05, a, 0.5, 0.6, 0.7])
    y = np.array([1, 0, 0, 1, 0, 1])
    ref = diagnostic_gen.test_chisquare_binning(
        np.column_stack([1 - y, y]), np.column_stack([1 - p, p]), sort_var=p, bins=3
    )
    got = hosmer_lemeshow(y, p, n_groups=3)
    assert_allclose(got.statistic, ref.statistic, rtol=1e-12)


# ------------------------------------------------------------------ edge cases
BAD_INPUTS = [
    ([0, 1], [0.2, np.nan], "NaN"),
    ([0, 1, 1], [0.2, 0.3], "different lengths"),
    ([0, 1], [0.2, 1.3], r"\[0, 1\]"),
    ([0, 1], [-0.1, 0.3], r"\[0, 1\]"),
    ([0, 1], [np.inf, 0.3], r"\[0, 1\]"),
    ([0, 1], [[0.2, 0.7], [0.5, 0.5]], "sum to 1"),
    ([], [], "empty"),
]


@pytest.mark.parametrize(("y", "p", "match"), BAD_INPUTS)
def test_hosmer_lemeshow_and_regression_bad_input(y, p, match):
    with pytest.raises(ValueError, match=match):
        hosmer_lemeshow(y, p, n_groups=3)


@pytest.mark.parametrize(
    "metric", [calibration_in_the_large, dispersion_ratio, binned_mean_curve]
)
@pytest.mark.parametrize(
    ("y", "mu", "match"),
    [
        ([1.0, 2.0], [1.0, np.nan], "NaN"),
        ([1.0, 2.0, 3.0], [1.0, 2.0], "different lengths"),
        ([], [], "empty"),
    ],
)
def test_regression_bad_input(metric, y, mu, match):
    with pytest.raises(ValueError, match=match):
        metric(y, mu)


def test_smooth_ece_rejects_tiny_bandwidth():
    with pytest.raises(ValueError, match="bandwidth must be"):
        smooth_ece([0, 1], [0.2, 0.3], bandwidth=1e-6)


def test_single_class_present_multiclass():
    # only class 0 occurs: top-label ECE is |accuracy - confidence| over bins,
    # calibration slope cannot be fitted and says which classes are missing
    prob = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.9, 0.05, 0.05]])
    y = np.zeros(3, dtype=int)
    # one bin: mean confidence (0.7 + 0.5 + 0.9)/3 = 0.7, accuracy 2/3
    assert_allclose(
        expected_calibration_error(y, prob, n_bins=1), 0.7 - 2 / 3, rtol=1e-12
    )
    assert brier_decomposition(y, prob).uncertainty == 0.0
    with pytest.raises(ValueError, match=r"missing class indices: \[1, 2\]"):
        calibration_slope(y, prob)


# --------------------------------------------------------------------- scorers
# The oracle is the metric itself on predict_proba, not CALIBRATION_SCORERS[name]:
# get_scorer returns that very object, so comparing the two could not fail.
SCORER_METRICS = {
    "neg_ece": lambda y, p: -expected_calibration_error(y, p),
    "neg_smooth_ece": lambda y, p: -smooth_ece(y, p),
    "neg_brier": lambda y, p: -brier_score_loss(y, p),
    "calibration_slope": lambda y, p: calibration_slope(y, p).slope,
}


@pytest.mark.parametrize("name", sorted(SCORER_METRICS))
def test_required_scorers_registered_in_get_scorer(name):
    from sklearn.model_selection import StratifiedKFold

    X, y = make_classification(n_samples=400, n_features=5, random_state=3)
    clf = LogisticRegression().fit(X[:250], y[:250])
    scorer = ts.get_scorer(name)
    metric = SCORER_METRICS[name]
    # same float64 computation on the same probabilities: rounding only
    assert_allclose(
        scorer(clf, X[250:], y[250:]),
        metric(y[250:], clf.predict_proba(X[250:])[:, 1]),
        rtol=1e-12,
    )
    cv = cross_validate(LogisticRegression(), X, y, cv=3, scoring=scorer)
    # plain loop over the folds cross_validate uses for a classifier (cv=3)
    expected = []
    for train, test in StratifiedKFold(3).split(X, y):
        fold = LogisticRegression().fit(X[train], y[train])
        expected.append(metric(y[test], fold.predict_proba(X[test])[:, 1]))
    assert_allclose(cv["test_score"], expected, rtol=1e-12)


# --------------------------------------------------------------------- display
def test_display_renders_headless_to_png():
    import matplotlib  # a test dependency (pyproject [test]): import, never skip

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(105)
    p = rng.uniform(size=300)
    y = (rng.uniform(size=300) < p).astype(int)
    disp = ts.ReliabilityDisplay.from_predictions(y, p, n_bins=5)
    buf = io.BytesIO()
    disp.figure_.savefig(buf, format="png")
    plt.close("all")
    assert matplotlib.get_backend().lower() == "agg"
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_docs_reference_an_existing_image_of_each_display_view():
    text = (DOCS / "calibration.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\((images/[^)]+\.png)\)", text)
    assert {"images/reliability_binary.png"} <= set(images)
    assert any("multiclass" in name for name in images)
    for name in images:
        data = (DOCS / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name


def test_binary_recalibration_shortcut_equals_the_general_formulas():
    # the two-class NLL, gradient and Hessian (logistic regression on the logit)
    # against the K-class formulas, over a batch of random weightings and
    # parameters: the same numbers up to rounding
    from ticselect.calibration._logistic import recal_nll_grad_hess

    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, size=200)
    y = (rng.uniform(size=200) < p).astype(int)
    logp = np.log(np.column_stack([1 - p, p]))
    w = rng.integers(0, 3, size=(7, 200)).astype(float)
    theta = rng.normal(scale=3.0, size=(7, 2))
    fast = recal_nll_grad_hess(theta, logp, y, w)
    slow = recal_nll_grad_hess(theta, logp, y, w, binary=False)
    for a, b in zip(fast, slow, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-10)
