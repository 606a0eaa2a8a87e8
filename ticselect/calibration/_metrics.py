"""Layer 2 — calibration metrics; conventions in :mod:`ticselect.calibration`."""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy import stats

from ._bootstrap import (
    bootstrap_interval,
    check_ci,
    counts_matrix,
    split_interval,
    stack_intervals,
    with_ci_parameters,
)
from ._logistic import fit_recalibration
from ._smooth import smece_rows
from ._utils import (
    LOG_CLIP,
    MULTICLASS,
    SMECE_MIN_BANDWIDTH,
    STRATEGIES,
    BrierDecomposition,
    CalibrationSlope,
    HosmerLemeshowResult,
    binned_stats,
    binned_stats_rows,
    calibration_columns,
    check_choice,
    check_classification,
    check_n_bins,
)

__all__ = [
    "brier_decomposition",
    "brier_score",
    "calibration_slope",
    "debiased_ece",
    "expected_calibration_error",
    "hosmer_lemeshow",
    "max_calibration_error",
    "smooth_ece",
]


# --------------------------------------------------------------- binned ECE / MCE
def _gaps(y, prob, w, n_bins, strategy, multiclass):
    """Per column: bin weight fractions and ``|ō_b - s̄_b|`` of the non-empty bins."""
    out = []
    for scores, outcomes in calibration_columns(y, prob, multiclass):
        weight, s, o, nonempty, _, _ = binned_stats(
            scores, outcomes, w, n_bins, strategy
        )
        out.append((weight[nonempty] / w.sum(), np.abs(o - s)[nonempty]))
    return out


def _ece_rows(y, prob, idx, w, *, n_bins, strategy, multiclass):
    """ECE of each row of a batch of row selections ``idx`` with weights ``w``."""
    columns = calibration_columns(y, prob, multiclass)
    total = 0.0
    for scores, outcomes in columns:
        weight, s, o, _, _, _ = binned_stats_rows(
            scores[idx], outcomes[idx], w, n_bins, strategy
        )
        total = total + np.sum(weight * np.abs(o - s), axis=1) / w.sum(axis=1)
    return total / len(columns)


def _binned_inputs(y_true, y_prob, sample_weight, n_bins, strategy, multiclass):
    y, prob, w = check_classification(y_true, y_prob, sample_weight)
    check_choice(strategy, STRATEGIES, "strategy")
    check_choice(multiclass, MULTICLASS, "multiclass")
    return y, prob, w, check_n_bins(n_bins, n=w.sum())


def _maybe_interval(rows_value, y, prob, w, ci, n_resamples, ci_method, random_state):
    """The metric, or its :class:`BootstrapInterval` when ``ci`` is set.

    ``rows_value(y, prob, idx, w)`` evaluates the metric on a batch of row
    selections ``idx`` (shape (B, m)) with weights ``w`` (B, m), returning (B,) or
    (B, n_outputs); the data as given is the batch ``[arange(n)]``, a bootstrap
    resample its resampled rows with unit weights.
    """
    ci = check_ci(ci, n_resamples, ci_method)
    estimate = rows_value(y, prob, np.arange(y.shape[0])[None], w[None])[0]
    estimate = float(estimate) if np.ndim(estimate) == 0 else estimate
    if ci is None:
        return estimate

    def statistic(idx):
        return np.asarray(rows_value(y, prob, idx, np.ones(idx.shape))).T

    return bootstrap_interval(
        statistic,
        y,
        w,
        estimate,
        confidence_level=ci,
        n_resamples=n_resamples,
        method=ci_method,
        random_state=random_state,
    )


@with_ci_parameters
def expected_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="uniform",
    multiclass="top_label",
    sample_weight=None,
    ci=None,
    n_resamples=1000,
    ci_method="basic",
    random_state=None,
):
    """Binned expected calibration error ``Σ_b (W_b/W) |ō_b - s̄_b|``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1`` (binary: 0/1).
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary: ``P(y = 1)``; multiclass: class probabilities (rows sum to 1).
    n_bins : int or "auto", default=15
        Number of bins; ``"auto"``: ``ceil(n^(1/3))`` (see the module conventions).
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins (see the module conventions).
    multiclass : {"top_label", "classwise"}, default="top_label"
        Definition used for 2-D ``y_prob``; ignored for 1-D.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.
    {ci_parameters}

    Returns
    -------
    float or BootstrapInterval
        ECE in ``[0, 1]``; lower is better.  A biased estimator: its expectation
        exceeds the population value, and an interval of a perfectly calibrated
        model does not reach 0 (see ``docs/calibration.md``, coverage).

    Examples
    --------
    >>> from ticselect.calibration import expected_calibration_error
    >>> # bins [0, 0.5] and (0.5, 1]: 0.5 * |0 - 0.25| + 0.5 * |1 - 0.85|
    >>> y, p = [0, 1, 1, 0], [0.1, 0.9, 0.8, 0.4]
    >>> round(expected_calibration_error(y, p, n_bins=2), 12)
    0.2
    """
    y, prob, w, n_bins = _binned_inputs(
        y_true, y_prob, sample_weight, n_bins, strategy, multiclass
    )
    value = partial(_ece_rows, n_bins=n_bins, strategy=strategy, multiclass=multiclass)
    return _maybe_interval(value, y, prob, w, ci, n_resamples, ci_method, random_state)


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
    n_bins : int or "auto", default=15
        Number of bins; ``"auto"``: ``ceil(n^(1/3))``.
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
    y, prob, w, n_bins = _binned_inputs(
        y_true, y_prob, sample_weight, n_bins, strategy, multiclass
    )
    parts = _gaps(y, prob, w, n_bins, strategy, multiclass)
    return float(max(np.max(gap) for _, gap in parts))


def _debiased_rows(y, prob, idx, w, *, n_bins, strategy, multiclass, squared):
    """Debiased squared ℓ2 ECE (or its clipped root) of each row of a batch."""
    columns = calibration_columns(y, prob, multiclass)
    total = 0.0
    for scores, outcomes in columns:
        count, s, o, _, _, _ = binned_stats_rows(
            scores[idx], outcomes[idx], w, n_bins, strategy
        )
        many = count > 1
        corr = np.where(many, o * (1.0 - o) / np.where(many, count - 1.0, 1.0), 0.0)
        frac = count / count.sum(axis=1, keepdims=True)
        total = total + np.sum(frac * ((o - s) ** 2 - corr), axis=1)
    d = total / len(columns)
    return d if squared else np.sqrt(np.maximum(d, 0.0))


@with_ci_parameters
def debiased_ece(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="quantile",
    multiclass="top_label",
    squared=False,
    ci=None,
    n_resamples=1000,
    ci_method="basic",
    random_state=None,
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
    n_bins : int or "auto", default=15
        Number of bins; ``"auto"``: ``ceil(n^(1/3))``.
    strategy : {"quantile", "uniform"}, default="quantile"
        Binning strategy (the paper uses equal-mass bins).
    multiclass : {"top_label", "classwise"}, default="top_label"
        Definition for 2-D ``y_prob`` (class-wise averages ``D`` over classes).
    squared : bool, default=False
        Return ``D`` itself (unbiased, can be negative) instead of
        ``sqrt(max(D, 0))``.
    {ci_parameters}

    Returns
    -------
    float or BootstrapInterval
        The debiased estimate.  With ``squared=True`` its interval can contain 0
        for a calibrated model (the coverage table in ``docs/calibration.md``).

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
    y, prob, w, n_bins = _binned_inputs(
        y_true, y_prob, None, n_bins, strategy, multiclass
    )
    value = partial(
        _debiased_rows,
        n_bins=n_bins,
        strategy=strategy,
        multiclass=multiclass,
        squared=squared,
    )
    return _maybe_interval(value, y, prob, w, ci, n_resamples, ci_method, random_state)


@with_ci_parameters
def smooth_ece(
    y_true,
    y_prob,
    *,
    bandwidth=None,
    multiclass="top_label",
    sample_weight=None,
    ci=None,
    n_resamples=1000,
    ci_method="basic",
    random_state=None,
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
        ``σ* = smECE_{σ*}`` (recomputed on every bootstrap resample).
    multiclass : {"top_label", "classwise"}, default="top_label"
        Definition for 2-D ``y_prob`` (class-wise averages over classes).
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.
    {ci_parameters}

    Returns
    -------
    float or BootstrapInterval
        ``smECE`` in ``[0, 1]``.  Like the binned ECE it is biased upwards, so an
        interval of a perfectly calibrated model does not reach 0.

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
    columns = calibration_columns(y, prob, multiclass)
    ci = check_ci(ci, n_resamples, ci_method)
    estimate = float(smece_rows(columns, w, bandwidth)[0])
    if ci is None:
        return estimate

    def statistic(idx):  # all resamples at once: rows weighted by their counts
        return smece_rows(columns, counts_matrix(idx, y.shape[0]), bandwidth)

    return bootstrap_interval(
        statistic,
        y,
        w,
        estimate,
        confidence_level=ci,
        n_resamples=n_resamples,
        method=ci_method,
        random_state=random_state,
    )


# ------------------------------------------------------------------------- Brier
def _indicator_columns(y, prob):
    if prob.ndim == 1:
        return [(prob, (y == 1).astype(float))]
    return [(prob[:, k], (y == k).astype(float)) for k in range(prob.shape[1])]


def _brier_rows(y, prob, idx, w):
    total = 0.0
    for p, o in _indicator_columns(y, prob):
        total = total + np.sum(w * (p[idx] - o[idx]) ** 2, axis=1)
    return total / w.sum(axis=1)


@with_ci_parameters
def brier_score(
    y_true,
    y_prob,
    *,
    sample_weight=None,
    ci=None,
    n_resamples=1000,
    ci_method="basic",
    random_state=None,
):
    """Brier score (binary 1-D: ``mean (p - y)²``; 2-D: ``mean Σ_k (p_k - y_k)²``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.
    {ci_parameters}

    Returns
    -------
    float or BootstrapInterval
        Brier score; lower is better.

    Examples
    --------
    >>> from ticselect.calibration import brier_score
    >>> brier_score([0, 1], [0.2, 0.6])
    0.1
    """
    y, prob, w = check_classification(y_true, y_prob, sample_weight)
    return _maybe_interval(
        _brier_rows, y, prob, w, ci, n_resamples, ci_method, random_state
    )


def _brier_parts_rows(y, prob, idx, w, *, n_bins, strategy):
    """``[REL, RES, UNC, WBV, WBC, BS]`` (summed over the indicator columns) per row."""
    total_w = w.sum(axis=1)
    parts = 0.0
    for p, o in _indicator_columns(y, prob):
        p, o = p[idx], o[idx]
        weight, s, ob, _, ids, _ = binned_stats_rows(p, o, w, n_bins, strategy)
        frac = weight / total_w[:, None]
        o_bar = np.sum(w * o, axis=1) / total_w
        dp = p - np.take_along_axis(s, ids, axis=1)
        do = o - np.take_along_axis(ob, ids, axis=1)
        parts = parts + np.stack(
            [
                np.sum(frac * (s - ob) ** 2, axis=1),
                np.sum(frac * (ob - o_bar[:, None]) ** 2, axis=1),
                o_bar * (1.0 - o_bar),
                np.sum(w * dp**2, axis=1) / total_w,
                2.0 * np.sum(w * dp * do, axis=1) / total_w,
                np.sum(w * (p - o) ** 2, axis=1) / total_w,
            ],
            axis=1,
        )
    return parts


@with_ci_parameters
def brier_decomposition(
    y_true,
    y_prob,
    *,
    n_bins=10,
    strategy="uniform",
    sample_weight=None,
    ci=None,
    n_resamples=1000,
    ci_method="basic",
    random_state=None,
):
    """Murphy's reliability–resolution–uncertainty decomposition of the Brier score.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities (each column binned on its own).
    n_bins : int or "auto", default=10
        Number of forecast bins; ``"auto"``: ``ceil(n^(1/3))``.
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning strategy.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.
    {ci_parameters}

    Returns
    -------
    BrierDecomposition
        Named tuple ``(reliability, resolution, uncertainty)`` with extra attributes
        ``within_bin_variance``, ``within_bin_covariance`` and ``brier`` (see the
        module conventions for the exact identity); with ``ci`` every one of the
        six is a :class:`BootstrapInterval` (the identity holds for the estimates).

    Examples
    --------
    >>> from ticselect.calibration import brier_decomposition
    >>> d = brier_decomposition([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.4], n_bins=2)
    >>> round(d.reliability - d.resolution + d.uncertainty
    ...       + d.within_bin_variance - d.within_bin_covariance, 12)
    0.055
    """
    y, prob, w, n_bins = _binned_inputs(
        y_true, y_prob, sample_weight, n_bins, strategy, "top_label"
    )
    value = partial(_brier_parts_rows, n_bins=n_bins, strategy=strategy)
    out = _maybe_interval(value, y, prob, w, ci, n_resamples, ci_method, random_state)
    parts = [float(v) for v in out] if ci is None else split_interval(out)
    rel, res, unc, wbv, wbc, brier = parts
    return BrierDecomposition(
        rel,
        res,
        unc,
        within_bin_variance=wbv,
        within_bin_covariance=wbc,
        brier=brier,
    )


# ------------------------------------------------------------------ slope / HL
def _log_prob(prob):
    if prob.ndim == 1:
        prob = np.column_stack([1.0 - prob, prob])
    return np.log(np.clip(prob, LOG_CLIP, 1.0 - LOG_CLIP))


def _slope_statistic(y, logp, start):
    """All resamples at once: each a weighting of the rows by its counts."""

    def statistic(idx):
        counts = counts_matrix(idx, y.shape[0])
        try:
            return fit_recalibration(logp, y, counts, start=start).T
        except ValueError as exc:
            raise ValueError(
                "a bootstrap resample has no finite calibration slope, so its "
                f"interval is not defined: {exc}"
            ) from exc

    return statistic


@with_ci_parameters
def calibration_slope(
    y_true,
    y_prob,
    *,
    sample_weight=None,
    ci=None,
    n_resamples=1000,
    ci_method="basic",
    random_state=None,
):
    """Calibration slope and intercept by logistic recalibration (Cox 1958).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``; every class must occur.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.
    {ci_parameters}

    Returns
    -------
    CalibrationSlope
        ``(slope, intercept)``; with ``ci`` each is a :class:`BootstrapInterval`
        (multiclass: the intercept interval holds arrays, ``a_0 = 0`` fixed).

    Raises
    ------
    ValueError
        If a class is missing, or the slope is infinite or not identifiable (on
        the data, or with ``ci`` on a bootstrap resample).

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
    k = 2 if prob.ndim == 1 else prob.shape[1]
    present = np.bincount(y, weights=w, minlength=k) > 0
    if not present.all():
        raise ValueError(
            f"calibration_slope needs every class present in y_true (with positive "
            f"weight); missing class indices: {np.flatnonzero(~present).tolist()}."
        )
    ci = check_ci(ci, n_resamples, ci_method)
    logp = _log_prob(prob)
    theta = fit_recalibration(logp, y, w)
    if ci is not None:
        theta = bootstrap_interval(
            _slope_statistic(y, logp, theta),
            y,
            w,
            theta,
            confidence_level=ci,
            n_resamples=n_resamples,
            method=ci_method,
            random_state=random_state,
            row_cost=4 * k,
        )
        slope, *intercepts = split_interval(theta)
        if k == 2:
            return CalibrationSlope(slope, intercepts[0])
        return CalibrationSlope(slope, stack_intervals(intercepts, prepend=0.0))
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
