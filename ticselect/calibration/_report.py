"""Layer 2 — calibration report and held-out scorers; conventions in the package.

:func:`calibration_report` gathers every applicable metric of
:mod:`ticselect.calibration._metrics` for one fitted estimator, and
:data:`CALIBRATION_SCORERS` wraps the metrics as scikit-learn scorers.
"""

from __future__ import annotations

import numpy as np

from ._metrics import (
    brier_decomposition,
    brier_score,
    calibration_slope,
    debiased_ece,
    expected_calibration_error,
    hosmer_lemeshow,
    max_calibration_error,
    smooth_ece,
)
from ._regression import calibration_in_the_large, dispersion_ratio
from ._temperature import log_loss_decomposition
from ._utils import CalibrationReport, _proba, _regression_family

__all__ = ["CALIBRATION_SCORERS", "calibration_report"]


def calibration_report(estimator, X, y, *, n_bins=15, sample_weight=None):
    """Compute every applicable calibration metric of a fitted estimator on ``(X, y)``.

    Classifiers (with ``predict_proba``): ECE (uniform, quantile, class-wise), MCE,
    debiased and smooth ECE, Brier score and decomposition, the log-loss with its
    calibration part and best temperature (:func:`log_loss_decomposition`),
    calibration slope and intercept, Hosmer–Lemeshow. Regressors:
    calibration-in-the-large and the dispersion ratio for the estimator's family
    (``n_params=0``: held-out data).

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
        ll = log_loss_decomposition(yi, p, sample_weight=sw)
        m.update(
            brier=brier_score(yi, p, sample_weight=sw),
            brier_reliability=d.reliability,
            brier_resolution=d.resolution,
            brier_uncertainty=d.uncertainty,
            log_loss=ll.log_loss,
            log_loss_calibration=ll.calibration,
            temperature=ll.temperature,
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
