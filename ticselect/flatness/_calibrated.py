"""Layer 3 (flatness wing) — the soft-rank gap estimate of a temperature-scaled model.

Shoham, Mor-Yosef & Avron (arXiv 2506.17809) state the soft-rank gap estimate for
calibrated models.  :func:`calibrated_soft_rank_gap` recalibrates a fitted
classifier by temperature scaling on held-out rows
(:func:`ticselect.calibration.temperature_scale`, scikit-learn's own), divides its
output logits by the fitted temperature (:func:`~ticselect.calibration.scale_logits`)
and computes the soft rank of that model's Hessian on the training rows: the
"soft rank after temperature scaling" column of ``benchmarks/gap_prediction.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..calibration import fitted_temperature, scale_logits, temperature_scale
from ..criteria import Criteria, criteria
from ..curvature import curvature

__all__ = ["CalibratedGap", "calibrated_soft_rank_gap"]


class CalibratedGap(NamedTuple):
    """Result of :func:`calibrated_soft_rank_gap`.

    Attributes
    ----------
    soft_rank_gap_estimate : float
        ``rank_λ(H)/n`` of the temperature-scaled model on the training rows
        (expected test minus training NLL per sample, in nats).
    temperature : float
        The temperature fitted on the calibration rows
        (:func:`~ticselect.calibration.fitted_temperature`).
    criteria : Criteria
        All criteria of the temperature-scaled model (its ``effective_dim/n``,
        ``gap_estimate`` and so on).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> import ticselect as ts
    >>> X, y = make_classification(n_samples=600, random_state=0)
    >>> model = LogisticRegression(C=1.0).fit(X[:300], y[:300])
    >>> gap = ts.calibrated_soft_rank_gap(model, X[:300], y[:300], X[300:], y[300:])
    >>> bool(gap.soft_rank_gap_estimate > 0), bool(gap.temperature > 0)
    (True, True)
    """

    soft_rank_gap_estimate: float
    temperature: float
    criteria: Criteria


def calibrated_soft_rank_gap(
    estimator,
    X,
    y,
    X_cal,
    y_cal,
    *,
    sample_weight=None,
    cal_sample_weight=None,
    **curvature_kwargs,
):
    """Soft-rank gap estimate after temperature scaling on a held-out split.

    Fits the temperature on ``(X_cal, y_cal)`` with scikit-learn's temperature
    scaling of the model's own logits (``temperature_scale(...,
    exact_logits=True)``), divides the model's output logits by it and returns
    ``criteria(curvature(scaled, X, y)).soft_rank_gap_estimate``.  The scaled model
    is not a stationary point of the training loss (that is the point), so the
    stationarity warning is off (``stationarity_tol=inf``).

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        ``MLPClassifier`` or a linear classifier (see
        :func:`~ticselect.calibration.scale_logits`), fitted on ``(X, y)``.
    X : array-like of shape (n_samples, n_features)
        Training rows.
    y : array-like of shape (n_samples,)
        Training labels.
    X_cal : array-like of shape (n_cal, n_features)
        Calibration rows, never used to fit ``estimator``.
    y_cal : array-like of shape (n_cal,)
        Their labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights of the training rows.
    cal_sample_weight : array-like of shape (n_cal,), default=None
        Weights of the calibration rows.
    **curvature_kwargs : dict
        Passed to :func:`ticselect.curvature` (e.g. ``max_seconds``).

    Returns
    -------
    CalibratedGap
        ``(soft_rank_gap_estimate, temperature, criteria)``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neural_network import MLPClassifier
    >>> import ticselect as ts
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> net = MLPClassifier((8,), activation="tanh", solver="lbfgs", alpha=1e-2,
    ...                     max_iter=500, random_state=0).fit(X[:400], y[:400])
    >>> gap = ts.calibrated_soft_rank_gap(net, X[:400], y[:400], X[1000:], y[1000:])
    >>> bool(gap.temperature > 1), bool(0 < gap.soft_rank_gap_estimate < 1)
    (True, True)
    """
    calibrated = temperature_scale(
        estimator, X_cal, y_cal, sample_weight=cal_sample_weight, exact_logits=True
    )
    temperature = fitted_temperature(calibrated)
    scaled = scale_logits(estimator, temperature)
    curvature_kwargs.setdefault("stationarity_tol", np.inf)
    crit = criteria(curvature(scaled, X, y, sample_weight, **curvature_kwargs))
    return CalibratedGap(crit.soft_rank_gap_estimate, temperature, crit)
