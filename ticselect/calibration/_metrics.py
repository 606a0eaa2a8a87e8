"""Layer 2 — calibration metrics; conventions in :mod:`ticselect.calibration`."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._regression import (
    binned_mean_curve,
    calibration_in_the_large,
    dispersion_ratio,
)
from ._utils import (
    LOG_CLIP,
    SMECE_MIN_BANDWIDTH,
    BinnedMeanCurve,
    BrierDecomposition,
    CalibrationReport,
    CalibrationSlope,
    HosmerLemeshowResult,
    _proba,
    _regression_family,
    binned_stats,
    calibration_columns,
    check_classification,
    check_n_bins,
    fit_recalibration,
    smece_at,
    smece_coefficients,
    smece_fixed_point,
)
from ._utils import _n_terms as _smece_n_terms

__all__ = [
    "CALIBRATION_SCORERS",
    "BinnedMeanCurve",
    "BrierDecomposition",
    "CalibrationReport",
    "CalibrationSlope",
    "HosmerLemeshowResult",
    "binned_mean_curve",
    "brier_decomposition",
    "brier_score",
    "calibration_in_the_large",
    "calibration_report",
    "calibration_slope",
    "debiased_ece",
    "dispersion_ratio",
    "expected_calibration_error",
    "hosmer_lemeshow",
    "max_calibration_error",
    "smooth_ece",
]


# --------------------------------------------------------------- binned ECE / MCE
def _binned_gaps(y_true, y_prob, n_bins, strategy, multiclass, sample_weight):
    n_bins = check_n_bins(n_bins)
    y, prob, w = check_classification(y_true, y_prob, sample_weight)
    out = []
    for scores, outcomes in calibration_columns(y, prob, multiclass):
        weight, s, o, nonempty, _, _ = binned_stats(
            scores, outcomes, w, n_bins, strategy
        )
        out.append((weight[nonempty] / w.sum(), np.abs(o - s)[nonempty]))
    return out


def expected_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="uniform",
    multiclass="top_label",
    sample_weight=None,
):
    """Binned expected calibration error ``Σ_b (W_b/W) |ō_b - s̄_b|``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1`` (binary: 0/1).
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary: ``P(y = 1)``; multiclass: class probabilities (rows sum to 1).
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins (see the module conventions).
    multiclass : {"top_label", "classwise"}, default="top_label"
        Definition used for 2-D ``y_prob``; ignored for 1-D.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    float
        ECE in ``[0, 1]``; lower is better.

    Examples
    --------
    >>> from ticselect.calibration import expected_calibration_error
    >>> # bins [0, 0.5] and (0.5, 1]: 0.5 * |0 - 0.25| + 0.5 * |1 - 0.85|
    >>> y, p = [0, 1, 1, 0], [0.1, 0.9, 0.8, 0.4]
    >>> round(expected_calibration_error(y, p, n_bins=2), 12)
    0.2
    """
    parts = _binned_gaps(y_true, y_prob, n_bins, strategy, multiclass, sample_weight)
    return float(np.mean([np.sum(frac * gap) for frac, gap in parts]))


def max_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="uniform",
    multiclass="top_label",
    sample_weight=None,
):
    """Maximum calibration error ``max_b |ō_b - s̄_b|`` over non-empty bins.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning strategy.
    multiclass : {"top_label", "classwise"}, default="top_label"
        Definition for 2-D ``y_prob``; class-wise takes the max over classes too.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    float
        MCE in ``[0, 1]``.

    Examples
    --------
    >>> from ticselect.calibration import max_calibration_error
    >>> max_calibration_error([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.4], n_bins=2)
    0.25
    """
    parts = _binned_gaps(y_true, y_prob, n_bins, strategy, multiclass, sample_weight)
    return float(max(np.max(gap) for _, gap in parts))


def debiased_ece(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="quantile",
    multiclass="top_label",
    squared=False,
):
    """Debiased ℓ2 binned calibration error (Kumar, Liang & Ma 2019).

    ``D = Σ_b (n_b/n) [(ō_b - s̄_b)² - ō_b(1 - ō_b)/(n_b - 1)]`` estimates the
    squared ℓ2 calibration error of the binned model without the upward bias of the
    plug-in estimate (bins with one sample get no correction).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.
    n_bins : int, default=15
        Number of bins.
    strategy : {"quantile", "uniform"}, default="quantile"
        Binning strategy (the paper uses equal-mass bins).
    multiclass : {"top_label", "classwise"}, default="top_label"
        Definition for 2-D ``y_prob`` (class-wise averages ``D`` over classes).
    squared : bool, default=False
        Return ``D`` itself (unbiased, can be negative) instead of
        ``sqrt(max(D, 0))``.

    Returns
    -------
    float
        The debiased estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from ticselect.calibration import debiased_ece
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=5000)
    >>> y = (rng.uniform(size=5000) < p).astype(int)
    >>> bool(debiased_ece(y, p) < 0.02)
    True
    """
    n_bins = check_n_bins(n_bins)
    y, prob, w = check_classification(y_true, y_prob)
    values = []
    for scores, outcomes in calibration_columns(y, prob, multiclass):
        count, s, o, nonempty, _, _ = binned_stats(
            scores, outcomes, w, n_bins, strategy
        )
        corr = np.zeros_like(count)
        many = count > 1
        corr[many] = o[many] * (1.0 - o[many]) / (count[many] - 1.0)
        d = np.sum((count / count.sum() * ((o - s) ** 2 - corr))[nonempty])
        values.append(d)
    d = float(np.mean(values))
    return d if squared else float(np.sqrt(max(d, 0.0)))


def smooth_ece(
    y_true, y_prob, *, bandwidth=None, multiclass="top_label", sample_weight=None
):
    """Smooth ECE of Błasiok & Nakkiran (2023) with its fixed-point bandwidth.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.
    bandwidth : float or None, default=None
        Kernel width ``σ >= 1e-3``; ``None`` uses the fixed point
        ``σ* = smECE_{σ*}``.
    multiclass : {"top_label", "classwise"}, default="top_label"
        Definition for 2-D ``y_prob`` (class-wise averages over classes).
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    float
        ``smECE`` in ``[0, 1]``.

    Examples
    --------
    >>> from ticselect.calibration import smooth_ece
    >>> # all forecasts equal 0.3 and the event rate is 0.5: smECE = |0.5 - 0.3|
    >>> round(smooth_ece([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]), 12)
    0.2
    """
    y, prob, w = check_classification(y_true, y_prob, sample_weight)
    if bandwidth is not None:
        bandwidth = float(bandwidth)
        if not (np.isfinite(bandwidth) and bandwidth >= SMECE_MIN_BANDWIDTH):
            raise ValueError(
                f"bandwidth must be a float >= {SMECE_MIN_BANDWIDTH:g} (the kernel "
                f"series needs O(1/bandwidth) terms), got {bandwidth}; pass None "
                "for the fixed-point bandwidth."
            )
    values = []
    for scores, outcomes in calibration_columns(y, prob, multiclass):
        sigma_min = SMECE_MIN_BANDWIDTH if bandwidth is None else bandwidth
        coef = smece_coefficients(
            scores, outcomes - scores, w, _smece_n_terms(sigma_min)
        )
        if bandwidth is None:
            values.append(smece_fixed_point(coef)[0])
        else:
            values.append(smece_at(coef, bandwidth))
    return float(np.mean(values))


# ------------------------------------------------------------------------- Brier
def _indicator_columns(y, prob):
    if prob.ndim == 1:
        return [(prob, (y == 1).astype(float))]
    return [(prob[:, k], (y == k).astype(float)) for k in range(prob.shape[1])]


def brier_score(y_true, y_prob, *, sample_weight=None):
    """Brier score (binary 1-D: ``mean (p - y)²``; 2-D: ``mean Σ_k (p_k - y_k)²``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    float
        Brier score; lower is better.

    Examples
    --------
    >>> from ticselect.calibration import brier_score
    >>> brier_score([0, 1], [0.2, 0.6])
    0.1
    """
    y, prob, w = check_classification(y_true, y_prob, sample_weight)
    total = sum(np.sum(w * (p - o) ** 2) for p, o in _indicator_columns(y, prob))
    return float(total / w.sum())


def brier_decomposition(
    y_true, y_prob, *, n_bins=10, strategy="uniform", sample_weight=None
):
    """Murphy's reliability–resolution–uncertainty decomposition of the Brier score.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities (each column binned on its own).
    n_bins : int, default=10
        Number of forecast bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning strategy.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    BrierDecomposition
        Named tuple ``(reliability, resolution, uncertainty)`` with extra attributes
        ``within_bin_variance``, ``within_bin_covariance`` and ``brier`` (see the
        module conventions for the exact identity).

    Examples
    --------
    >>> from ticselect.calibration import brier_decomposition
    >>> d = brier_decomposition([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.4], n_bins=2)
    >>> round(d.reliability - d.resolution + d.uncertainty
    ...       + d.within_bin_variance - d.within_bin_covariance, 12)
    0.055
    """
    n_bins = check_n_bins(n_bins)
    y, prob, w = check_classification(y_true, y_prob, sample_weight)
    total_w = w.sum()
    rel = res = unc = wbv = wbc = brier = 0.0
    for p, o in _indicator_columns(y, prob):
        weight, s, ob, nonempty, ids, _ = binned_stats(p, o, w, n_bins, strategy)
        frac = weight / total_w
        o_bar = np.sum(w * o) / total_w
        rel += float(np.sum(frac * (s - ob) ** 2))
        res += float(np.sum(frac * (ob - o_bar) ** 2))
        unc += float(o_bar * (1.0 - o_bar))
        dp = p - s[ids]
        wbv += float(np.sum(w * dp**2) / total_w)
        wbc += float(2.0 * np.sum(w * dp * (o - ob[ids])) / total_w)
        brier += float(np.sum(w * (p - o) ** 2) / total_w)
    return BrierDecomposition(
        rel,
        res,
        unc,
        within_bin_variance=wbv,
        within_bin_covariance=wbc,
        brier=brier,
    )


# ------------------------------------------------------------------ slope / HL
def calibration_slope(y_true, y_prob, *, sample_weight=None):
    """Calibration slope and intercept by logistic recalibration (Cox 1958).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``; every class must occur.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    CalibrationSlope
        ``(slope, intercept)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ticselect.calibration import calibration_slope
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, size=20000)
    >>> y = (rng.uniform(size=p.size) < p).astype(int)
    >>> round(calibration_slope(y, p).slope, 1)
    1.0
    """
    y, prob, w = check_classification(y_true, y_prob, sample_weight)
    if prob.ndim == 1:
        prob = np.column_stack([1.0 - prob, prob])
    k = prob.shape[1]
    present = np.bincount(y, weights=w, minlength=k) > 0
    if not present.all():
        raise ValueError(
            f"calibration_slope needs every class present in y_true (with positive "
            f"weight); missing class indices: {np.flatnonzero(~present).tolist()}."
        )
    logp = np.log(np.clip(prob, LOG_CLIP, 1.0 - LOG_CLIP))
    theta = fit_recalibration(logp, y, w)
    if k == 2:
        return CalibrationSlope(float(theta[0]), float(theta[1]))
    return CalibrationSlope(float(theta[0]), np.concatenate([[0.0], theta[1:]]))


def hosmer_lemeshow(y_true, y_prob, *, n_groups=10, df=None):
    """Hosmer–Lemeshow goodness-of-fit test over groups of sorted predictions.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.
    n_groups : int, default=10
        Number of groups ``G`` (sizes differ by at most one).
    df : int or None, default=None
        Degrees of freedom; ``None`` uses ``(G - 2)(K - 1)``.

    Returns
    -------
    HosmerLemeshowResult
        ``(statistic, pvalue, df)``; the p-value is the upper tail of ``χ²(df)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ticselect.calibration import hosmer_lemeshow
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.1, 0.9, size=2000)
    >>> y = (rng.uniform(size=p.size) < p).astype(int)
    >>> res = hosmer_lemeshow(y, p)
    >>> res.df, bool(0 < res.pvalue <= 1)
    (8, True)
    """
    n_groups = check_n_bins(n_groups, "n_groups")
    y, prob, _ = check_classification(y_true, y_prob)
    # sort on P(y=1) itself for 1-D input (1 - (1 - p) can reorder near-ties)
    sort_var = prob if prob.ndim == 1 else 1.0 - prob[:, 0]
    if prob.ndim == 1:
        prob = np.column_stack([1.0 - prob, prob])
    n, k = prob.shape
    if n_groups < 3 or n < n_groups:
        raise ValueError(
            f"n_groups must be at least 3 and at most n_samples={n}, got {n_groups}."
        )
    onehot = np.eye(k)[y]
    groups = np.array_split(np.argsort(sort_var, kind="stable"), n_groups)
    observed = np.array([onehot[g].sum(axis=0) for g in groups])
    expected = np.array([prob[g].sum(axis=0) for g in groups])
    if np.any(expected <= 0):
        raise ValueError(
            "a group has zero expected count for some class (all its predicted "
            "probabilities are 0); use fewer groups."
        )
    stat = float(np.sum((observed - expected) ** 2 / expected))
    df = (n_groups - 2) * (k - 1) if df is None else int(df)
    if df < 1:
        raise ValueError(f"df must be a positive integer, got {df}.")
    return HosmerLemeshowResult(stat, float(stats.chi2.sf(stat, df)), df)


# ------------------------------------------------------------ report and scorers
def calibration_report(estimator, X, y, *, n_bins=15, sample_weight=None):
    """Compute every applicable calibration metric of a fitted estimator on ``(X, y)``.

    Classifiers (with ``predict_proba``): ECE (uniform, quantile, class-wise), MCE,
    debiased and smooth ECE, Brier score and decomposition, calibration slope and
    intercept, Hosmer–Lemeshow. Regressors: calibration-in-the-large and the
    dispersion ratio for the estimator's family (``n_params=0``: held-out data).

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A classifier with ``predict_proba`` and ``classes_``, or a regressor.
    X : array-like of shape (n_samples, n_features)
        Data, ideally held out.
    y : array-like of shape (n_samples,)
        Targets (class labels as in ``estimator.classes_``).
    n_bins : int, default=15
        Bins for the binned metrics.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights (not used by the debiased ECE and Hosmer–Lemeshow).

    Returns
    -------
    CalibrationReport
        ``.metrics`` / ``.to_dict()`` and ``.summary()``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ticselect.calibration import calibration_report
    >>> X, y = make_classification(n_samples=400, random_state=0)
    >>> rep = calibration_report(LogisticRegression().fit(X, y), X, y)
    >>> sorted(rep.to_dict())[:3]
    ['brier', 'brier_reliability', 'brier_resolution']
    """
    sw = sample_weight
    if hasattr(estimator, "predict_proba"):
        yi, p = _proba(estimator, X, y)
        d = brier_decomposition(yi, p, n_bins=n_bins, sample_weight=sw)
        m = {
            "ece": expected_calibration_error(yi, p, n_bins=n_bins, sample_weight=sw),
            "ece_quantile": expected_calibration_error(
                yi, p, n_bins=n_bins, strategy="quantile", sample_weight=sw
            ),
            "mce": max_calibration_error(yi, p, n_bins=n_bins, sample_weight=sw),
            "debiased_ece": debiased_ece(yi, p, n_bins=n_bins),
            "smooth_ece": smooth_ece(yi, p, sample_weight=sw),
        }
        if p.ndim == 2:
            m["classwise_ece"] = expected_calibration_error(
                yi, p, n_bins=n_bins, multiclass="classwise", sample_weight=sw
            )
        m.update(
            brier=brier_score(yi, p, sample_weight=sw),
            brier_reliability=d.reliability,
            brier_resolution=d.resolution,
            brier_uncertainty=d.uncertainty,
        )
        if p.ndim == 1:
            m["calibration_in_the_large"] = calibration_in_the_large(
                yi, p, sample_weight=sw
            )
        try:
            cs = calibration_slope(yi, p, sample_weight=sw)
            m["calibration_slope"] = cs.slope
            if p.ndim == 1:
                m["calibration_intercept"] = cs.intercept
        except ValueError:
            pass
        try:
            hl = hosmer_lemeshow(yi, p)
            m["hosmer_lemeshow_stat"] = hl.statistic
            m["hosmer_lemeshow_pvalue"] = hl.pvalue
        except ValueError:
            pass
        return CalibrationReport("classification", m)
    mu = np.asarray(estimator.predict(X), dtype=float)
    family, power = _regression_family(estimator)
    m = {"calibration_in_the_large": calibration_in_the_large(y, mu, sample_weight=sw)}
    m[f"dispersion_ratio_{family}"] = dispersion_ratio(
        y, mu, family=family, power=power, sample_weight=sw
    )
    return CalibrationReport("regression", m)


class _CalibrationScorer:
    """Picklable held-out scorer ``sign * metric(y, predict_proba(X), **kwargs)``."""

    def __init__(self, name, metric, sign=-1.0, attr=None, transform=None, **kwargs):
        self.name = name
        self.metric = metric
        self.sign = sign
        self.attr = attr
        self.transform = transform
        self.kwargs = kwargs

    def __call__(self, estimator, X, y, sample_weight=None):
        yi, p = _proba(estimator, X, y)
        kw = dict(self.kwargs)
        if sample_weight is not None:
            kw["sample_weight"] = sample_weight
        value = self.metric(yi, p, **kw)
        if self.attr is not None:
            value = getattr(value, self.attr)
        if self.transform == "abs_minus_one":
            value = abs(value - 1.0)
        return self.sign * float(value)

    def __repr__(self):
        return f"CalibrationScorer({self.name})"


#: Held-out calibration scorers (``scorer(estimator, X, y, sample_weight=None)``,
#: greater is better), to be merged into :mod:`ticselect.scoring`'s registry.
#: ``calibration_slope`` returns the raw slope (ideal 1, *not* greater-is-better:
#: report it with ``cross_validate``; refit on ``neg_calibration_slope_error``).
CALIBRATION_SCORERS = {
    "neg_ece": _CalibrationScorer("ece", expected_calibration_error),
    "neg_classwise_ece": _CalibrationScorer(
        "classwise_ece", expected_calibration_error, multiclass="classwise"
    ),
    "neg_mce": _CalibrationScorer("mce", max_calibration_error),
    "neg_smooth_ece": _CalibrationScorer("smooth_ece", smooth_ece),
    "neg_brier": _CalibrationScorer("brier", brier_score),
    "calibration_slope": _CalibrationScorer(
        "calibration_slope", calibration_slope, sign=1.0, attr="slope"
    ),
    "neg_calibration_slope_error": _CalibrationScorer(
        "calibration_slope_error",
        calibration_slope,
        attr="slope",
        transform="abs_minus_one",
    ),
}
