"""Layer 2 — helpers for :mod:`ticselect.calibration`: validation, binning, fits.

The conventions (binning rule, tolerances, clipping) are documented once at the top
of :mod:`ticselect.calibration`; the named constants below are the ones it cites.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import special

from .._validation import check_sample_weight, final_step

#: Absolute tolerance on ``|Σ_k p_ik - 1|`` for a row of class probabilities.
ROW_SUM_ATOL = 1e-6
#: Probabilities are clipped to ``[LOG_CLIP, 1 - LOG_CLIP]`` before taking logs.
LOG_CLIP = 1e-12
#: Logistic recalibration stops with a full Newton step once ``gᵀH⁻¹g`` is below
#: this fraction of the NLL (its predicted decrease is then lost in rounding).
NEWTON_DECREMENT_RTOL = 1e-12
#: Smallest bandwidth searched by the smooth ECE fixed point.
SMECE_MIN_BANDWIDTH = 1e-3

STRATEGIES = ("uniform", "quantile")
MULTICLASS = ("top_label", "classwise")


def auto_n_bins(n):
    """``n_bins="auto"``: ``ceil(n^(1/3))`` bins for ``n`` samples (at least 1).

    The cube-root rule balances the binning bias of a binned calibration estimate
    (``O(1/B)`` for a Lipschitz calibration curve) against its noise
    (``O(sqrt(B/n))``); Sun, Song & Hero (2023, "Minimum-risk recalibration of
    classifiers", NeurIPS) and Futami & Fujisawa (2024, NeurIPS) derive ``n^(1/3)``
    as the optimal order, and scikit-learn's ``calibration_curve`` adopted the
    same rule (``n_bins="cube_root"``, scikit-learn PR 33856).
    """
    return max(1, int(np.ceil(float(n) ** (1.0 / 3.0) - 1e-9)))


def check_n_bins(n_bins, name="n_bins", n=None):
    """Validate a positive integer number of bins, or ``"auto"`` when ``n`` is given.

    ``"auto"`` resolves to :func:`auto_n_bins` of ``n`` (the total frequency weight).
    """
    if isinstance(n_bins, str) and n_bins == "auto" and n is not None:
        return auto_n_bins(n)
    auto = ' or "auto"' if n is not None else ""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer):
        raise ValueError(f"{name} must be a positive integer{auto}, got {n_bins!r}.")
    if n_bins < 1:
        raise ValueError(f"{name} must be a positive integer{auto}, got {n_bins!r}.")
    return int(n_bins)


def check_choice(value, choices, name):
    """Raise a ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}.")
    return value


def check_classification(y_true, y_prob, sample_weight=None):
    """Validate classification inputs.

    Returns ``(y, prob, w)``: integer class indices of shape (n,), probabilities of
    shape (n,) (binary, P(y=1)) or (n, K), and float weights of shape (n,).
    """
    prob = np.asarray(y_prob)
    if prob.dtype.kind not in "biuf":
        raise ValueError(f"y_prob must be numeric, got dtype {prob.dtype}.")
    prob = prob.astype(float)
    if prob.ndim not in (1, 2):
        raise ValueError(
            f"y_prob must be 1-D (binary: P(y=1)) or 2-D (n_samples, n_classes), "
            f"got shape {prob.shape}."
        )
    if prob.ndim == 2 and prob.shape[1] < 2:
        raise ValueError(
            f"y_prob of shape {prob.shape} has fewer than 2 columns; pass P(y=1) as a "
            "1-D array for binary problems."
        )
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}.")
    n = prob.shape[0]
    if y.shape[0] != n:
        raise ValueError(
            f"y_true and y_prob have different lengths ({y.shape[0]} and {n})."
        )
    if n == 0:
        raise ValueError("y_true and y_prob are empty; at least one sample is needed.")
    if np.isnan(prob).any():
        raise ValueError("y_prob contains NaN; remove or impute those rows.")
    if prob.min() < 0.0 or prob.max() > 1.0:
        raise ValueError(
            f"y_prob must lie in [0, 1]; found values in [{prob.min():.6g}, "
            f"{prob.max():.6g}]. Pass probabilities (predict_proba), not scores."
        )
    if prob.ndim == 2:
        dev = np.abs(prob.sum(axis=1) - 1.0)
        if dev.max() > ROW_SUM_ATOL:
            raise ValueError(
                f"rows of y_prob must sum to 1 (tolerance {ROW_SUM_ATOL:g}); the "
                f"largest deviation is {dev.max():.3g} at row {int(dev.argmax())}. "
                "Normalise the rows or pass predict_proba output."
            )
    n_classes = 2 if prob.ndim == 1 else prob.shape[1]
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise ValueError("y_true contains NaN; remove those rows.")
        if not np.all(y == np.round(y)):
            raise ValueError("y_true must hold integer class indices, got fractions.")
    elif y.dtype.kind not in "biu":
        raise ValueError(
            f"y_true must hold class indices 0..{n_classes - 1}, got dtype {y.dtype}. "
            "Encode labels with sklearn.preprocessing.LabelEncoder (or use the "
            "scorers, which map labels through estimator.classes_)."
        )
    y = y.astype(int)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"y_true must hold class indices 0..{n_classes - 1} matching the columns "
            f"of y_prob; found values in [{y.min()}, {y.max()}]."
        )
    w = check_sample_weight(sample_weight, n)
    return y, prob, w


def check_regression(y_true, y_pred, sample_weight=None):
    """Validate regression inputs; return float arrays ``(y, mu, w)``."""
    y = np.asarray(y_true, dtype=float)
    mu = np.asarray(y_pred, dtype=float)
    if y.ndim != 1 or mu.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D, got shapes {y.shape} and {mu.shape}."
        )
    if y.shape[0] != mu.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths ({y.shape[0]} and "
            f"{mu.shape[0]})."
        )
    if y.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; at least one sample is needed.")
    for name, arr in (("y_true", y), ("y_pred", mu)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values; remove them.")
    return y, mu, check_sample_weight(sample_weight, y.shape[0])


def calibration_columns(y, prob, multiclass):
    """Return a list of ``(scores, outcomes)`` pairs to calibrate.

    1-D ``prob``: ``[(P(y=1), y)]``. 2-D: top-label ``[(max_k p_k, 1[argmax = y])]``
    (ties go to the lowest index, as :func:`numpy.argmax`) or class-wise
    ``[(p_k, 1[y = k]) for each k]``.
    """
    check_choice(multiclass, MULTICLASS, "multiclass")
    if prob.ndim == 1:
        return [(prob, (y == 1).astype(float))]
    if multiclass == "top_label":
        pred = prob.argmax(axis=1)
        return [(prob[np.arange(len(y)), pred], (pred == y).astype(float))]
    return [(prob[:, k], (y == k).astype(float)) for k in range(prob.shape[1])]


def bin_edges(scores, n_bins, strategy, lo=0.0, hi=1.0):
    """Bin edges of shape (n_bins + 1,): equal width on [lo, hi] or quantiles."""
    check_choice(strategy, STRATEGIES, "strategy")
    if strategy == "uniform":
        return np.linspace(lo, hi, n_bins + 1)
    return np.percentile(scores, np.linspace(0.0, 100.0, n_bins + 1))


def bin_ids(scores, edges):
    """Bin index of each score: bins are ``(e_{b-1}, e_b]``, the first ``[e_0, e_1]``.

    Scores outside the edges go to the first or last bin.
    """
    return np.searchsorted(edges[1:-1], scores, side="left")


def binned_stats_rows(scores, outcomes, w, n_bins, strategy, edges=None):
    """Per-bin weight, mean score and mean outcome of each row of a batch.

    ``scores``, ``outcomes`` and ``w`` have shape (B, m): row ``b`` is one data set
    (the data as given, ``B = 1``, or a bootstrap resample of its rows).  Edges
    are those of :func:`bin_edges` for each row (quantiles of that row's scores)
    unless given, of shape (n_bins + 1,) or (B, n_bins + 1).  Returns
    ``(weight, mean_score, mean_outcome, nonempty, ids, edges)`` with per-bin
    arrays of shape (B, n_bins) (means 0 where a bin is empty), ``ids`` of shape
    (B, m) and ``edges`` of shape (B, n_bins + 1).
    """
    b = scores.shape[0]
    if edges is None:
        check_choice(strategy, STRATEGIES, "strategy")
        if strategy == "uniform":
            edges = np.linspace(0.0, 1.0, n_bins + 1)
        else:
            q = np.linspace(0.0, 100.0, n_bins + 1)
            edges = np.percentile(scores, q, axis=1).T
    edges = np.broadcast_to(edges, (b, n_bins + 1))
    ids = np.stack([bin_ids(scores[i], edges[i]) for i in range(b)])
    flat = (np.arange(b)[:, None] * n_bins + ids).ravel()
    size = b * n_bins

    def per_bin(values):
        return np.bincount(flat, weights=values.ravel(), minlength=size).reshape(
            b, n_bins
        )

    weight = per_bin(w)
    s_sum = per_bin(w * scores)
    o_sum = per_bin(w * outcomes)
    nonempty = weight > 0
    safe = np.where(nonempty, weight, 1.0)
    mean_s = np.where(nonempty, s_sum / safe, 0.0)
    mean_o = np.where(nonempty, o_sum / safe, 0.0)
    return weight, mean_s, mean_o, nonempty, ids, edges


def binned_stats(scores, outcomes, w, n_bins, strategy, edges=None):
    """Per-bin weight, mean score and mean outcome (0 where the bin is empty).

    Returns ``(weight, mean_score, mean_outcome, nonempty, ids, edges)``; arrays over
    all ``n_bins`` bins (one data set: :func:`binned_stats_rows` with ``B = 1``).
    """
    out = binned_stats_rows(
        scores[None], outcomes[None], w[None], n_bins, strategy, edges
    )
    return tuple(a[0] for a in out)


def wilson_interval(p_hat, n, confidence):
    """Wilson score interval for a binomial proportion, elementwise."""
    z = special.ndtri(0.5 + confidence / 2.0)
    p_hat = np.asarray(p_hat, dtype=float)
    n = np.asarray(n, dtype=float)
    denom = 1.0 + z**2 / n
    centre = (p_hat + z**2 / (2.0 * n)) / denom
    half = z / denom * np.sqrt(p_hat * (1.0 - p_hat) / n + z**2 / (4.0 * n**2))
    return centre - half, centre + half


# ------------------------------------------------------------ result types
class _BrierTuple(NamedTuple):
    reliability: float
    resolution: float
    uncertainty: float


class BrierDecomposition(_BrierTuple):
    """Murphy's decomposition ``(reliability, resolution, uncertainty)``.

    Unpacks as a 3-tuple. The extra attributes ``within_bin_variance`` and
    ``within_bin_covariance`` (Stephenson, Coelho & Jolliffe 2008) and ``brier``
    make the identity exact: ``brier = reliability - resolution + uncertainty +
    within_bin_variance - within_bin_covariance``.

    Examples
    --------
    >>> from ticselect.calibration import brier_decomposition
    >>> rel, res, unc = brier_decomposition([0, 1, 1, 0], [0.25, 0.75, 0.75, 0.25])
    >>> float(rel), float(res), float(unc)
    (0.0625, 0.25, 0.25)
    """

    def __new__(  # noqa: D102
        cls,
        reliability,
        resolution,
        uncertainty,
        *,
        within_bin_variance=0.0,
        within_bin_covariance=0.0,
        brier=None,
    ):
        self = super().__new__(cls, reliability, resolution, uncertainty)
        # with ci=... the parts are BootstrapIntervals: keep them as they are
        self.within_bin_variance = _number(within_bin_variance)
        self.within_bin_covariance = _number(within_bin_covariance)
        if brier is None:
            brier = (
                float(reliability)
                - float(resolution)
                + float(uncertainty)
                + float(self.within_bin_variance)
                - float(self.within_bin_covariance)
            )
        self.brier = _number(brier)
        return self

    def __reduce__(self):
        return (
            _make_brier_decomposition,
            (
                tuple(self),
                self.within_bin_variance,
                self.within_bin_covariance,
                self.brier,
            ),
        )


def _number(value):
    return value if isinstance(value, tuple) else float(value)


def _make_brier_decomposition(values, wbv, wbc, brier):
    return BrierDecomposition(
        *values, within_bin_variance=wbv, within_bin_covariance=wbc, brier=brier
    )


class CalibrationSlope(NamedTuple):
    """Result of :func:`calibration_slope`.

    Attributes
    ----------
    slope : float
        ``b`` (1 for a calibrated model).
    intercept : float or ndarray of shape (n_classes,)
        ``a`` (binary), or ``a_k`` with ``a_0 = 0`` (multiclass).

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, 4000)
    >>> y = (rng.random(4000) < p).astype(int)
    >>> res = ts.calibration_slope(y, p)   # calibrated: slope ≈ 1, intercept ≈ 0
    >>> bool(abs(res.slope - 1) < 0.15), bool(abs(res.intercept) < 0.15)
    (True, True)
    """

    slope: float
    intercept: float | np.ndarray


class HosmerLemeshowResult(NamedTuple):
    """Result of :func:`hosmer_lemeshow`: ``(statistic, pvalue, df)``.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, 2000)
    >>> y = (rng.random(2000) < p).astype(int)
    >>> stat, pvalue, df = ts.hosmer_lemeshow(y, p)
    >>> df, bool(0 <= pvalue <= 1)
    (8, True)
    """

    statistic: float
    pvalue: float
    df: int


class BinnedMeanCurve(NamedTuple):
    """Observed-vs-predicted means over non-empty bins of ``y_pred``.

    Attributes
    ----------
    mean_predicted, mean_observed, std_error, weight : ndarray of shape (n_nonempty,)
        Per-bin weighted means, the standard error of ``mean_observed``
        (``sd / sqrt(W_b)``; 0 for single-sample bins) and total weight.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> y_pred = np.array([1.0, 1.0, 3.0, 3.0])
    >>> curve = ts.binned_mean_curve(np.array([0.0, 2.0, 2.0, 4.0]), y_pred, n_bins=2)
    >>> curve.mean_predicted.tolist(), curve.mean_observed.tolist()
    ([1.0, 3.0], [1.0, 3.0])
    """

    mean_predicted: np.ndarray
    mean_observed: np.ndarray
    std_error: np.ndarray
    weight: np.ndarray


def _class_indices(estimator, y):
    classes = np.asarray(estimator.classes_)
    y = np.asarray(y)
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, len(classes) - 1)
    if not np.all(classes[idx] == y):
        unknown = np.unique(y[classes[idx] != y])
        raise ValueError(
            f"y contains labels {unknown.tolist()} not in estimator.classes_ "
            f"{classes.tolist()}."
        )
    return idx


def _proba(estimator, X, y):
    prob = np.asarray(estimator.predict_proba(X), dtype=float)
    idx = _class_indices(estimator, y)
    return idx, (prob[:, 1] if prob.shape[1] == 2 else prob)


def _regression_family(estimator):
    name = type(final_step(estimator)).__name__
    if name == "PoissonRegressor":
        return "poisson", None
    if name == "GammaRegressor":
        return "gamma", None
    if name == "TweedieRegressor":
        power = float(final_step(estimator).power)
        return ("normal", None) if power == 0 else ("tweedie", power)
    return "normal", None


@dataclass
class CalibrationReport:
    """All applicable calibration metrics of one model on one data set.

    Attributes
    ----------
    kind : {"classification", "regression"}
        Which metrics were computed.
    metrics : dict of str to float
        Metric name to value.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import ticselect as ts
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    >>> report = ts.calibration_report(model, X, y)
    >>> report.kind, "ece" in report.metrics
    ('classification', True)
    """

    kind: str
    metrics: dict = field(default_factory=dict)

    def to_dict(self):
        """Return a copy of the metrics.

        Returns
        -------
        dict of str to float
        """
        return dict(self.metrics)

    def summary(self):
        """Plain-text table of the metrics.

        Returns
        -------
        str
        """
        width = max(len(k) for k in self.metrics)
        lines = [f"Calibration report ({self.kind})", "-" * (width + 14)]
        lines += [f"{k:<{width}}  {v: .6g}" for k, v in self.metrics.items()]
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def _repr_html_(self):
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v:.6g}</td></tr>"
            for k, v in self.metrics.items()
        )
        return (
            f"<table><caption>Calibration report ({html.escape(self.kind)})</caption>"
            "<thead><tr><th>metric</th><th>value</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
