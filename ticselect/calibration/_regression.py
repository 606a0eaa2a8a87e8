"""Regression / count calibration metrics, re-exported by :mod:`ticselect.calibration`.

Conventions are documented at the top of :mod:`ticselect.calibration`.
"""

from __future__ import annotations

import numpy as np

from ._utils import (
    BinnedMeanCurve,
    bin_edges,
    binned_stats,
    check_choice,
    check_n_bins,
    check_regression,
)

__all__ = ["binned_mean_curve", "calibration_in_the_large", "dispersion_ratio"]


def calibration_in_the_large(y_true, y_pred, *, sample_weight=None):
    """Observed minus predicted mean, ``mean(y) - mean(μ̂)`` (weighted).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Observed responses (or 0/1 outcomes).
    y_pred : array-like of shape (n_samples,)
        Predicted means ``μ̂`` (or ``P(y = 1)``).
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    float
        Positive when the model under-predicts on average.

    Examples
    --------
    >>> from ticselect.calibration import calibration_in_the_large
    >>> calibration_in_the_large([1.0, 3.0], [1.5, 1.5])
    0.5
    """
    y, mu, w = check_regression(y_true, y_pred, sample_weight)
    return float(np.sum(w * (y - mu)) / w.sum())


_VARIANCE = {
    "normal": lambda mu, power: np.ones_like(mu),
    "poisson": lambda mu, power: mu,
    "gamma": lambda mu, power: mu**2,
    "inverse_gaussian": lambda mu, power: mu**3,
    "binomial": lambda mu, power: mu * (1.0 - mu),
    "tweedie": lambda mu, power: mu**power,
}


def dispersion_ratio(
    y_true, y_pred, *, family="poisson", power=None, n_params=0, sample_weight=None
):
    """Pearson ``χ²/df = Σ w (y - μ̂)²/V(μ̂) / (Σ w - n_params)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Observed responses.
    y_pred : array-like of shape (n_samples,)
        Predicted means ``μ̂``.
    family : {"poisson", "normal", "gamma", "inverse_gaussian", "binomial", \
"tweedie"}, default="poisson"
        Variance function ``V``: ``μ``, 1, ``μ²``, ``μ³``, ``μ(1-μ)``, ``μ^power``.
    power : float or None, default=None
        Tweedie power (required for ``family="tweedie"``).
    n_params : int, default=0
        Parameters estimated on these data (0 for held-out data).
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    float
        About 1 for a well-specified model with unit dispersion; above 1 means
        over-dispersion.

    Examples
    --------
    >>> from ticselect.calibration import dispersion_ratio
    >>> dispersion_ratio([0, 2, 4], [2.0, 2.0, 2.0])
    1.3333333333333333
    """
    check_choice(family, tuple(_VARIANCE), "family")
    y, mu, w = check_regression(y_true, y_pred, sample_weight)
    if family == "tweedie" and power is None:
        raise ValueError("family='tweedie' needs power=.")
    if family != "normal" and np.any(mu <= 0):
        raise ValueError(f"family={family!r} needs y_pred > 0 (predicted means).")
    if family == "binomial" and np.any(mu >= 1):
        raise ValueError("family='binomial' needs 0 < y_pred < 1.")
    df = w.sum() - n_params
    if df <= 0:
        raise ValueError(f"no residual degrees of freedom (Σw - n_params = {df:g}).")
    chi2 = np.sum(w * (y - mu) ** 2 / _VARIANCE[family](mu, power))
    return float(chi2 / df)


def binned_mean_curve(
    y_true, y_pred, *, n_bins=10, strategy="quantile", sample_weight=None
):
    """Binned observed-vs-predicted mean curve for regression and count models.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Observed responses.
    y_pred : array-like of shape (n_samples,)
        Predicted means.
    n_bins : int, default=10
        Number of bins of ``y_pred``.
    strategy : {"quantile", "uniform"}, default="quantile"
        Equal-mass bins, or equal-width bins on ``[min y_pred, max y_pred]``.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    BinnedMeanCurve
        Per non-empty bin, ordered by ``y_pred``.

    Examples
    --------
    >>> from ticselect.calibration import binned_mean_curve
    >>> c = binned_mean_curve([1, 3, 5, 7], [1, 2, 6, 7], n_bins=2)
    >>> c.mean_predicted.tolist(), c.mean_observed.tolist()
    ([1.5, 6.5], [2.0, 6.0])
    """
    n_bins = check_n_bins(n_bins)
    y, mu, w = check_regression(y_true, y_pred, sample_weight)
    edges = bin_edges(mu, n_bins, strategy, lo=mu.min(), hi=mu.max())
    weight, s, o, nonempty, ids, _ = binned_stats(mu, y, w, n_bins, strategy, edges)
    sq = np.bincount(ids, weights=w * (y - o[ids]) ** 2, minlength=n_bins)
    se = np.zeros(n_bins)
    many = weight > 1
    se[many] = np.sqrt(sq[many] / (weight[many] - 1.0) / weight[many])
    keep = nonempty
    return BinnedMeanCurve(s[keep], o[keep], se[keep], weight[keep])
