"""Scorers for scikit-learn model selection, and the :class:`InSample` splitter.

The public import path of :mod:`ticselect.selection._scoring` (layer 3).

Conventions
-----------
Scorers follow scikit-learn: ``scorer(estimator, X, y) -> float``, greater is better.
Criterion scorers return ``-criterion / (2n)`` (``n = Σ wᵢ``), an estimate of minus the
expected negative log-likelihood per sample of a new draw, on the same scale as
scikit-learn's ``neg_log_loss``.  ``neg_gap_estimate`` and ``neg_soft_rank`` are not
rescaled (the gap estimate is already per sample; the soft rank is a dimension).
``log_evidence`` is ``log p(y) / n``, the Laplace evidence
(:func:`~ticselect.evidence`, the fit's penalty as prior) per sample, greater is
better (``nan`` for an unpenalised fit).  ``neg_alo`` is ``-loo / (2n)`` from
:func:`~ticselect.approximate_loo` (the leave-one-row-out NLL by one Newton step per
row, same scale; it reads ``curvature_`` of an :class:`~ticselect.InformationCriteria`);
``get_scorer("neg_alo", groups=g)`` leaves one group out at a time instead
(approximate leave-group-out, with ``cv=ts.InSample()``).

Which data a criterion is computed on
    Given an :class:`~ticselect.InformationCriteria` (alone or as the last step of a
    Pipeline) a scorer reads ``criteria_``, computed on the training data at fit time,
    and ignores ``X, y``.  Given any other supported estimator it computes the criteria
    on the ``(X, y)`` it is handed, which is meaningful only when that is the training
    data (``cv=ts.InSample()``).

Held-out detection rule
    Criteria are in-sample quantities.  A fitted model is a stationary point of its
    penalised loss on its *training* data; on other data the gradient does not vanish.
    For a raw estimator the scorer computes the standardised gradient statistic
    ``T = mean_j gradientⱼ² / Cⱼⱼ`` (``gradient`` and ``C`` of
    :class:`~ticselect.Curvature` on the data handed in, over entries with
    ``Cⱼⱼ > 0``).  At the optimum of the training data ``T ≈ 0`` (a solver that stops
    at a mean-gradient tolerance ``tol`` leaves ``T`` of order ``n · tol²``); on fresh
    data from the same distribution each
    standardised component is roughly ``N(0, 1)``, so ``T ≈ 1`` (more when the test
    distribution differs).  When ``T > HELD_OUT_THRESHOLD`` (0.1) the scorer emits a
    :class:`HeldOutDataWarning` and still returns the value.  With ``k ≥ 5`` parameters
    held-out data are flagged with probability above 99%; with one or two parameters
    they can be missed (``P(χ²₁ < 0.1) ≈ 0.25``).  A fit that stopped early on its
    training data gives a small ``T`` and the usual
    :class:`~ticselect.NotStationaryWarning` instead.
"""

from .selection._insample import InSample
from .selection._scoring import (
    HELD_OUT_THRESHOLD,
    FlaggedCriterionWarning,
    HeldOutDataWarning,
    check_scoring,
    criteria_scoring,
    get_scorer,
    get_scorer_names,
    make_criterion_scorer,
)

__all__ = [
    "HELD_OUT_THRESHOLD",
    "FlaggedCriterionWarning",
    "HeldOutDataWarning",
    "InSample",
    "check_scoring",
    "criteria_scoring",
    "get_scorer",
    "get_scorer_names",
    "make_criterion_scorer",
]
