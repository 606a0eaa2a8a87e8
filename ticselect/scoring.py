"""Scorers for scikit-learn model selection, and the :class:`InSample` splitter.

Conventions
-----------
Scorers follow scikit-learn: ``scorer(estimator, X, y) -> float``, greater is better.
Criterion scorers return ``-criterion / (2n)`` (``n = Σ wᵢ``), an estimate of minus the
expected negative log-likelihood per sample of a new draw, on the same scale as
scikit-learn's ``neg_log_loss``.  Given an :class:`~ticselect.InformationCriteria`
(alone or as the last step of a Pipeline) they read the criteria computed on its
training data at fit time and ignore ``X, y``; given any other supported estimator
they compute the criteria on the ``(X, y)`` they are handed, which is meaningful only
when that is the training data (``cv=ts.InSample()``).
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from ._curvature import curvature
from ._estimator import InformationCriteria
from .criteria import criteria

__all__ = ["InSample", "get_scorer", "get_scorer_names", "make_criterion_scorer"]


def _fitted_criteria(estimator, X, y, sample_weight=None):
    last = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if isinstance(last, InformationCriteria):
        return last.criteria_
    return criteria(curvature(estimator, X, y, sample_weight))


class _CriterionScorer:
    """Picklable scorer returning ``sign * fn(criteria) / (2n)`` (or unscaled)."""

    def __init__(self, name, fn, *, per_sample=True, sign=-1.0):
        self.name = name
        self.fn = fn
        self.per_sample = per_sample
        self.sign = sign

    def __call__(self, estimator, X, y, sample_weight=None):
        crit = _fitted_criteria(estimator, X, y, sample_weight)
        value = float(self.fn(crit))
        if self.per_sample:
            value = value / (2.0 * crit.n_samples)
        return self.sign * value

    def __repr__(self):
        return f"make_criterion_scorer({self.name})"


def _attr(name):
    return _CriterionAttr(name)


class _CriterionAttr:
    def __init__(self, name):
        self.name = name

    def __call__(self, crit):
        return getattr(crit, self.name)


def make_criterion_scorer(fn, *, per_sample=True, greater_is_better=False, name=None):
    """Turn a function of :class:`~ticselect.Criteria` into a scikit-learn scorer.

    Parameters
    ----------
    fn : callable
        ``fn(criteria) -> float``; must be picklable (a module-level function) for
        ``n_jobs > 1``.
    per_sample : bool, default=True
        Divide by ``2n`` (deviance scale to NLL per sample).
    greater_is_better : bool, default=False
        Whether larger values of ``fn`` are better; if not the scorer negates them.
    name : str or None, default=None
        Name shown in the scorer's repr.

    Returns
    -------
    callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    Examples
    --------
    >>> import ticselect as ts
    >>> scorer = ts.make_criterion_scorer(lambda c: c.aic + c.tic, name="aic+tic")
    >>> scorer
    make_criterion_scorer(aic+tic)
    """
    return _CriterionScorer(
        name or getattr(fn, "__name__", "criterion"),
        fn,
        per_sample=per_sample,
        sign=1.0 if greater_is_better else -1.0,
    )


_SCORERS = {
    "neg_tic": _CriterionScorer("tic", _attr("tic")),
    "neg_aic": _CriterionScorer("aic", _attr("aic")),
    "neg_aicc": _CriterionScorer("aicc", _attr("aicc")),
    "neg_bic": _CriterionScorer("bic", _attr("bic")),
    "neg_gap_estimate": _CriterionScorer(
        "gap_estimate", _attr("gap_estimate"), per_sample=False
    ),
    "neg_soft_rank": _CriterionScorer(
        "soft_rank", _attr("soft_rank"), per_sample=False
    ),
}


def get_scorer_names():
    """Names accepted by :func:`get_scorer`.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import ticselect as ts
    >>> "neg_tic" in ts.get_scorer_names()
    True
    """
    return sorted(_SCORERS)


def get_scorer(name):
    """Return the scorer registered under ``name``.

    Parameters
    ----------
    name : str
        One of :func:`get_scorer_names`.

    Returns
    -------
    callable
        ``scorer(estimator, X, y) -> float`` (greater is better).

    Examples
    --------
    >>> import ticselect as ts
    >>> ts.get_scorer("neg_tic")
    make_criterion_scorer(tic)
    """
    if not isinstance(name, str) or name not in _SCORERS:
        raise ValueError(
            f"{name!r} is not a ticselect scorer. Valid names: {get_scorer_names()}."
        )
    return _SCORERS[name]


class InSample:
    """Cross-validation splitter with one split whose train and test sets are all rows.

    With it, ``GridSearchCV(..., cv=InSample(), scoring="neg_tic")`` fits every
    candidate once and ranks them by an in-sample criterion.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> [(tr.tolist(), te.tolist()) for tr, te in ts.InSample().split(np.zeros((3, 1)))]
    [([0, 1, 2], [0, 1, 2])]
    """

    def split(self, X, y=None, groups=None):
        """Yield the single split ``(all rows, all rows)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : array-like, default=None
            Ignored.
        groups : array-like, default=None
            Ignored.

        Yields
        ------
        train, test : ndarray of shape (n_samples,)
        """
        idx = np.arange(len(X) if not hasattr(X, "shape") else X.shape[0])
        yield idx, idx

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return 1.

        Parameters
        ----------
        X, y, groups : object, default=None
            Ignored.

        Returns
        -------
        int
        """
        return 1

    def __repr__(self):
        return "InSample()"
