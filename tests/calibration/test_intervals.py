"""Bootstrap intervals (``ci=``) and ``n_bins="auto"`` of the calibration metrics.

Oracles: :func:`scipy.stats.bootstrap` driven directly with the *public* metric
recomputed on every resample (so the batched kernels of the package are checked
against the plain per-resample definition), row duplication for integer weights,
and a seeded coverage experiment whose tolerance comes from its binomial standard
error.
"""

import inspect
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from ticselect.calibration import (
    BootstrapInterval,
    brier_decomposition,
    brier_score,
    calibration_slope,
    debiased_ece,
    expected_calibration_error,
    hosmer_lemeshow,
    max_calibration_error,
    smooth_ece,
)
from ticselect.calibration._bootstrap import RARE_CLASS_ROWS, bootstrap_interval
from ticselect.calibration._utils import auto_n_bins


def _binary(n, seed, slope=1.0):
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 2, size=n)
    q = 1 / (1 + np.exp(-slope * np.log(p / (1 - p))))
    return (rng.uniform(size=n) < q).astype(int), p


def _multiclass(n, k, seed):
    rng = np.random.default_rng(seed)
    prob = rng.dirichlet(np.ones(k) * 0.7, size=n)
    y = np.array([rng.choice(k, p=row) for row in prob])
    return y, prob


def _alone(value):
    return [value]


# one entry per metric: (function, keyword arguments, the result's numbers)
METRICS = {
    "ece": (expected_calibration_error, {}, _alone),
    "ece_quantile": (expected_calibration_error, {"strategy": "quantile"}, _alone),
    "ece_auto": (expected_calibration_error, {"n_bins": "auto"}, _alone),
    "debiased": (debiased_ece, {"squared": True}, _alone),
    "debiased_root": (debiased_ece, {}, _alone),
    "smooth": (smooth_ece, {}, _alone),
    "smooth_fixed": (smooth_ece, {"bandwidth": 0.05}, _alone),
    "brier": (brier_score, {}, _alone),
    "brier_parts": (
        brier_decomposition,
        {},
        lambda d: [
            *d,
            d.within_bin_variance,
            d.within_bin_covariance,
            d.brier,
        ],
    ),
    "slope": (calibration_slope, {}, lambda r: [r.slope, r.intercept]),
}


def _estimates(intervals):
    """The point estimates of a list of intervals, as a flat array."""
    return np.concatenate([np.atleast_1d(iv.estimate) for iv in intervals])


def _bounds(intervals):
    return (
        np.concatenate([np.atleast_1d(iv.low) for iv in intervals]),
        np.concatenate([np.atleast_1d(iv.high) for iv in intervals]),
    )


@pytest.mark.parametrize("name", list(METRICS))
@pytest.mark.parametrize("method", ["basic", "percentile"])
def test_interval_is_scipy_bootstrap_of_the_metric_on_resampled_rows(name, method):
    # scipy.stats.bootstrap over row indices, the public metric recomputed on each
    # resample (its bins, quantile edges, bandwidth or fit redone): the package's
    # batched kernels must give the same bootstrap distribution
    metric, kw, parts = METRICS[name]
    y, p = _binary(150, seed=1)
    n_res = 60

    def plain(idx, axis=-1):
        out = [
            np.asarray(parts(metric(y[row], p[row], **kw)), dtype=float)
            for row in np.atleast_2d(idx)
        ]
        out = np.stack(out, axis=-1)
        return out[..., 0] if np.ndim(idx) == 1 else out

    ref = stats.bootstrap(
        (np.arange(150),),
        plain,
        n_resamples=n_res,
        method=method,
        vectorized=True,
        random_state=np.random.default_rng(7),
    )
    got = metric(
        y, p, ci=0.95, n_resamples=n_res, ci_method=method, random_state=7, **kw
    )
    low, high = _bounds(parts(got))
    ref_low = np.atleast_1d(ref.confidence_interval.low)
    ref_high = np.atleast_1d(ref.confidence_interval.high)
    # same resamples, same statistic: equal up to the summation order of the
    # batched kernels (the smooth ECE's fixed point is located to 1e-10)
    assert_allclose(low, ref_low, rtol=1e-8, atol=1e-12)
    assert_allclose(high, ref_high, rtol=1e-8, atol=1e-12)
    assert_allclose(_estimates(parts(got)), parts(metric(y, p, **kw)))


def test_multiclass_variants_match_the_metric_on_resampled_rows():
    y, prob = _multiclass(120, 3, seed=2)
    cases = [
        (expected_calibration_error, {"multiclass": "classwise"}),
        (expected_calibration_error, {"strategy": "quantile"}),
        (smooth_ece, {"multiclass": "classwise"}),
        (brier_score, {}),
    ]
    for metric, kw in cases:

        def plain(idx, axis=-1, metric=metric, kw=kw):
            idx = np.atleast_2d(idx)
            out = np.array([metric(y[row], prob[row], **kw) for row in idx])
            return out if out.size > 1 else out[0]

        ref = stats.bootstrap(
            (np.arange(120),),
            plain,
            n_resamples=40,
            method="percentile",
            vectorized=True,
            random_state=np.random.default_rng(3),
        )
        got = metric(
            y,
            prob,
            ci=0.95,
            n_resamples=40,
            ci_method="percentile",
            random_state=3,
            **kw,
        )
        assert_allclose(
            [got.low, got.high], ref.confidence_interval, rtol=1e-8, atol=1e-12
        )
    slope = calibration_slope(y, prob, ci=0.9, n_resamples=40, random_state=3)
    # a_0 = 0 is fixed: its interval is [0, 0]
    assert slope.intercept.low[0] == slope.intercept.high[0] == 0.0
    assert slope.intercept.estimate.shape == (3,)
    assert_allclose(slope.slope.estimate, calibration_slope(y, prob).slope)


def test_reproducible_and_seed_dependent():
    y, p = _binary(200, seed=3)
    a = smooth_ece(y, p, ci=0.95, n_resamples=100, random_state=5)
    b = smooth_ece(y, p, ci=0.95, n_resamples=100, random_state=5)
    c = smooth_ece(y, p, ci=0.95, n_resamples=100, random_state=6)
    assert tuple(a) == tuple(b)
    assert tuple(a) != tuple(c)
    gen = smooth_ece(
        y, p, ci=0.95, n_resamples=100, random_state=np.random.default_rng(5)
    )
    assert tuple(gen) == tuple(a)


def test_integer_weights_equal_repeated_rows():
    y, p = _binary(120, seed=4)
    w = np.random.default_rng(0).integers(1, 4, size=120)
    rep = np.repeat(np.arange(120), w)
    for name in ("ece", "smooth", "brier", "brier_parts", "slope"):
        metric, _, parts = METRICS[name]
        got = metric(y, p, sample_weight=w, ci=0.9, n_resamples=50, random_state=1)
        ref = metric(y[rep], p[rep], ci=0.9, n_resamples=50, random_state=1)
        # the same resamples of the same rows; only summation order differs
        assert_allclose(_bounds(parts(got)), _bounds(parts(ref)), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="integer"):
        brier_score(y, p, sample_weight=np.full(120, 0.5), ci=0.95)


def test_rare_class_is_stratified():
    # 6 positives among 400 rows: an unstratified resample misses them all with
    # probability (1 - 6/400)^400 ≈ e^-6, i.e. about 2 of 1000 resamples
    rng = np.random.default_rng(8)
    y = np.zeros(400, dtype=int)
    y[rng.choice(400, size=6, replace=False)] = 1
    p = rng.beta(1, 30, size=400)
    res = calibration_slope(y, p, ci=0.95, random_state=0)
    assert res.slope.stratified and res.intercept.stratified
    assert 6 < RARE_CLASS_ROWS
    counts = []

    def statistic(idx):
        counts.extend((y[idx] == 1).sum(axis=1).tolist())
        return np.zeros(idx.shape[0])

    bootstrap_interval(
        statistic,
        y,
        np.ones(400),
        0.0,
        confidence_level=0.95,
        n_resamples=300,
        method="percentile",
        random_state=0,
    )
    # every resample (and the statistic on the data) has exactly the 6 positives
    assert set(counts) == {6}
    # a common class is resampled freely
    y2, p2 = _binary(400, seed=9)
    assert not expected_calibration_error(y2, p2, ci=0.95, n_resamples=20).stratified


def test_interval_object_and_errors():
    y, p = _binary(100, seed=5)
    iv = expected_calibration_error(y, p, ci=0.8, n_resamples=30, random_state=0)
    est, low, high = iv
    assert float(iv) == est == expected_calibration_error(y, p)
    assert iv.confidence_level == 0.8 and iv.method == "basic" and iv.n_resamples == 30
    assert iv.standard_error > 0
    back = pickle.loads(pickle.dumps(iv))
    assert tuple(back) == tuple(iv) and back.standard_error == iv.standard_error
    assert "confidence_level=0.8" in repr(iv)
    d = brier_decomposition(y, p, ci=0.9, n_resamples=30, random_state=0)
    assert isinstance(d.within_bin_variance, BootstrapInterval)
    assert_allclose(
        d.reliability.estimate
        - d.resolution.estimate
        + d.uncertainty.estimate
        + d.within_bin_variance.estimate
        - d.within_bin_covariance.estimate,
        d.brier.estimate,
        rtol=1e-12,
    )
    for bad in (95, 1.0, 0.0, True, "0.95"):
        with pytest.raises(ValueError, match="ci must be"):
            brier_score(y, p, ci=bad)
    with pytest.raises(ValueError, match="n_resamples"):
        brier_score(y, p, ci=0.95, n_resamples=1)
    with pytest.raises(ValueError, match="ci_method"):
        brier_score(y, p, ci=0.95, ci_method="bca")


def test_slope_interval_on_separated_resample_says_so():
    # 30 rows, nearly separated: some resample separates the outcomes perfectly
    p = np.linspace(0.05, 0.95, 30)
    y = (p > 0.5).astype(int)
    y[[13, 16]] = y[[16, 13]]
    with pytest.raises(ValueError, match="bootstrap resample has no finite"):
        calibration_slope(y, p, ci=0.95, n_resamples=200, random_state=0)


def test_brier_interval_covers_the_population_value():
    # the interval machinery end to end, with a quantity the bootstrap handles
    # well: 300 data sets of 200 calibrated forecasts s ~ U(0, 1), population
    # Brier score E[s(1 - s)] = 1/6.  Binomial SE of a 95 % coverage over 300
    # data sets: 1.3 points; the bounds are nominal ± 4 SE (seeded, so stable)
    rng = np.random.default_rng(12)
    hits = {"basic": 0, "percentile": 0}
    for _ in range(300):
        s = rng.uniform(size=200)
        y = (rng.uniform(size=200) < s).astype(int)
        iv = brier_score(
            y, s, ci=0.95, n_resamples=200, ci_method="percentile", random_state=rng
        )
        hits["percentile"] += iv.low <= 1 / 6 <= iv.high
        hits["basic"] += 2 * iv.estimate - iv.high <= 1 / 6 <= 2 * iv.estimate - iv.low
    for count in hits.values():
        assert 0.90 <= count / 300 <= 0.99


# -------------------------------------------------------------- n_bins="auto"
def test_auto_bins_is_the_cube_root_rule():
    assert [auto_n_bins(n) for n in (1, 2, 8, 9, 27, 28, 64, 125, 500, 1000)] == [
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        8,
        10,
    ]
    y, p = _binary(500, seed=6)
    for metric in (expected_calibration_error, max_calibration_error, debiased_ece):
        assert metric(y, p, n_bins="auto") == metric(y, p, n_bins=8)
    d_auto = brier_decomposition(y, p, n_bins="auto")
    assert tuple(d_auto) == tuple(brier_decomposition(y, p, n_bins=8))
    # n counts frequency weights: weights 2 ≡ every row twice (1000 rows: 10 bins)
    w = np.full(500, 2.0)
    assert_allclose(
        expected_calibration_error(y, p, n_bins="auto", sample_weight=w),
        expected_calibration_error(y, p, n_bins=10),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="n_groups must be a positive integer"):
        hosmer_lemeshow(y, p, n_groups="auto")
    with pytest.raises(ValueError, match='or "auto"'):
        expected_calibration_error(y, p, n_bins="cube")


def test_interval_of_unique_rows_only_raises():
    with pytest.raises(ValueError, match="at least two rows"):
        bootstrap_interval(
            lambda idx: np.zeros(idx.shape[0]),
            np.array([0]),
            np.ones(1),
            0.0,
            confidence_level=0.9,
            n_resamples=10,
            method="basic",
            random_state=0,
        )
    # duplicated unit rows resample like any other data
    iv = brier_score([0, 1, 1], [0.2, 0.7, 0.7], ci=0.9, n_resamples=20)
    assert_array_equal(np.isfinite([iv.low, iv.high]), [True, True])


@pytest.mark.parametrize(
    "metric",
    [
        expected_calibration_error,
        debiased_ece,
        smooth_ece,
        brier_score,
        brier_decomposition,
        calibration_slope,
    ],
    ids=lambda f: f.__name__,
)
def test_every_metric_with_ci_documents_its_ci_parameters(metric):
    # the shared block is filled into each docstring, in the signature's order
    names = ["ci", "n_resamples", "ci_method", "random_state"]
    assert all(name in inspect.signature(metric).parameters for name in names)
    doc = metric.__doc__
    assert "{ci_parameters}" not in doc
    where = [doc.index(f"\n    {name} : ") for name in names]
    assert where == sorted(where)
    assert doc.index("\n    Returns\n") > where[-1]


@pytest.mark.parametrize("method", ["BCa", "basic", "percentile"])
def test_constant_metric_has_a_point_interval(method):
    # Forecasts of 1/k for every class give the same Brier score on every resample:
    # (1/2)² = 1/4 for a binary forecast, (1 - 1/k)² + (k - 1)/k² = 1 - 1/k summed
    # over k classes.  scipy's BCa interval was (nan, nan) with a
    # DegenerateDataWarning and a RuntimeWarning; every method gives the point.
    rng = np.random.default_rng(0)
    for k in (2, 3):
        y = rng.integers(0, k, 60)
        prob = np.full(60, 0.5) if k == 2 else np.full((60, k), 1 / k)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ci = brier_score(y, prob, ci=0.9, ci_method=method, n_resamples=50,
                             random_state=0)  # fmt: skip
        value = 0.25 if k == 2 else 1 - 1 / k
        assert_allclose([ci.estimate, ci.low, ci.high], value, rtol=1e-12)
