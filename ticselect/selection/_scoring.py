"""Layer 3 — scorers (the :class:`~ticselect.InSample` splitter: ``_insample``).

Conventions: :mod:`ticselect.scoring`.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import warnings

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.metrics import get_scorer as sk_get_scorer
from sklearn.metrics import get_scorer_names as sk_names

from .._validation import final_step
from ..calibration import CALIBRATION_SCORERS
from ..criteria import OverconfidenceWarning, criteria
from ..curvature import SUPPORTED, SeparationWarning, curvature
from ..curvature._dispatch import is_sklearn_mlp
from ..curvature._result import FIT_FLAGS, STATIONARITY_TOL, TIC_FLAGS
from ..curvature.adapters.dask_ml import is_dask_ml_glm
from ..curvature.adapters.l1 import is_sklearn_l1
from ..curvature.adapters.sklearn_glm import SKLEARN_GLMS
from ..curvature.adapters.sklearn_sgd_cv import SKLEARN_SGD_CV
from ._estimator import InformationCriteria
from ._loo import approximate_loo

__all__ = [
    "HELD_OUT_THRESHOLD",
    "FlaggedCriterionWarning",
    "HeldOutDataWarning",
    "check_scoring",
    "criteria_scoring",
    "get_scorer",
    "get_scorer_names",
    "make_criterion_scorer",
]

#: Threshold on the standardised gradient statistic ``T`` above which a raw estimator
#: is considered to be scored on data it was not fitted on (see the module docstring).
HELD_OUT_THRESHOLD = 0.1


class HeldOutDataWarning(UserWarning):
    """A criterion scorer was handed data that a raw estimator was not fitted on.

    Examples
    --------
    >>> import warnings, numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X, X_new = rng.normal(size=(200, 5)), rng.normal(size=(200, 5))
    >>> y, y_new = (X[:, 0] > 0).astype(int), (X_new[:, 0] > 0).astype(int)
    >>> model = LogisticRegression(C=0.1, tol=1e-10).fit(X, y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = ts.get_scorer("neg_tic")(model, X_new, y_new)
    >>> any(issubclass(w.category, ts.HeldOutDataWarning) for w in caught)
    True
    """


class FlaggedCriterionWarning(UserWarning):
    """A criterion scorer met a candidate whose criterion is flagged (once a search).

    Given by ``neg_tic`` (and ``neg_gap_estimate``) the first time a candidate of a
    search carries a flag that questions TIC (``overconfident``, ``high_leverage``,
    ``separation``), and by the other criterion scorers the first time a candidate
    is an unpenalised separated fit (a fit that is not stationary has its own
    :class:`~ticselect.NotStationaryWarning`): one line,
    with the flag and what to use instead (``neg_alo`` with ``cv=ts.InSample()``).
    The per-fit :class:`~ticselect.SeparationWarning` and
    :class:`~ticselect.OverconfidenceWarning` that the scorer's curvature would
    give are folded into it, so a grid of 13 separable fits gives one warning, not 13.

    Examples
    --------
    >>> import warnings, numpy as np, ticselect as ts
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     search = GridSearchCV(
    ...         LogisticRegression(tol=1e-8, max_iter=10_000), {"C": [0.1, 10, 100]},
    ...         cv=ts.InSample(), scoring=ts.get_scorer("neg_tic"),
    ...     ).fit(X, y)
    >>> once = [w for w in caught if w.category is ts.FlaggedCriterionWarning]
    >>> len(once), str(once[0].message)[:37]
    (1, 'neg_tic: TIC is flagged high_leverage')
    """


# --------------------------------------------------------------------- internals
def _held_out_statistic(curv):
    """Return ``T = mean_j gradientⱼ² / Cⱼⱼ`` over entries with ``Cⱼⱼ > 0``."""
    c = np.diag(curv.grad_cov)
    keep = c > 0
    if not np.any(keep):
        return 0.0
    return float(np.mean(curv.gradient[keep] ** 2 / c[keep]))


def _fitted_curvature(estimator, X, y, sample_weight=None, groups=None, warn_once=None):
    """Curvature of a fitted estimator, warning when ``X, y`` look held out.

    ``warn_once``: the scorer object calling; it gives its
    :class:`HeldOutDataWarning` once (scikit-learn's searches reset Python's warning
    registry around every fit, so the default filter alone would repeat it per fold
    and grid value).
    """
    last = final_step(estimator)
    if groups is not None:
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        if len(groups) != n:
            raise ValueError(
                f"The scorer's groups= label {len(groups)} rows but it is scoring "
                f"{n}: criterion scorers with groups need every row, use "
                "cv=ticselect.InSample()."
            )
        if isinstance(last, InformationCriteria):
            raise ValueError(
                "groups= in a scorer applies to raw estimators; InformationCriteria "
                "computes its criteria at fit time without groups."
            )
    if isinstance(last, InformationCriteria):
        if not hasattr(last, "curvature_"):
            raise NotFittedError(
                "This InformationCriteria instance is not fitted yet; criterion "
                "scorers read its curvature_ attribute. Call 'fit' first."
            )
        return last.curvature_
    curv = curvature(
        estimator, X, y, sample_weight, stationarity_tol=np.inf, groups=groups
    )
    stat = _held_out_statistic(curv)
    if stat > HELD_OUT_THRESHOLD:
        if warn_once is not None and getattr(warn_once, "_held_out_warned", False):
            return curv
        if warn_once is not None:
            warn_once._held_out_warned = True
        warnings.warn(
            # one text per estimator class, no statistic in it: Python's default
            # filter then shows it once per search (per worker process), not once
            # per fold and grid value
            f"Criterion scorer: {type(last).__name__} is not a stationary point of "
            f"its loss on the data it is scored on (standardised gradient statistic "
            f"T > {HELD_OUT_THRESHOLD}): these are probably not its "
            "training data (or the fit is far from converged). Information "
            "criteria are in-sample quantities: use "
            "cv=ticselect.InSample() with a raw estimator, or wrap it in "
            "ticselect.InformationCriteria so that scorers read the criteria computed "
            "at fit time.",
            HeldOutDataWarning,
            stacklevel=3,
        )
    else:
        curv.check_stationarity(STATIONARITY_TOL)
    return curv


def _fitted_criteria(estimator, X, y, sample_weight=None, groups=None, warn_once=None):
    """Criteria of a fitted estimator (see the module docstring for the data used)."""
    last = final_step(estimator)
    if isinstance(last, InformationCriteria) and groups is None:
        if not hasattr(last, "criteria_"):
            raise NotFittedError(
                "This InformationCriteria instance is not fitted yet; criterion "
                "scorers read its criteria_ attribute. Call 'fit' first."
            )
        return last.criteria_
    return criteria(
        _fitted_curvature(
            estimator, X, y, sample_weight, groups=groups, warn_once=warn_once
        )
    )


class _CriterionAttr:
    """Picklable ``crit -> getattr(crit, name)``."""

    def __init__(self, name):
        self.name = name

    def __call__(self, crit):
        return getattr(crit, self.name)


class _CriterionScorer:
    """Picklable scorer returning ``sign * fn(criteria) / (2n)`` (or unscaled)."""

    def __init__(self, name, fn, *, per_sample=True, sign=-1.0, groups=None):
        self.name = name
        self.fn = fn
        self.per_sample = per_sample
        self.sign = sign
        self.groups = None if groups is None else np.asarray(groups)

    def with_groups(self, groups):
        """Return a copy that builds the clustered curvature with ``groups``.

        Parameters
        ----------
        groups : array-like of shape (n_samples,)
            Cluster label of every row (see :func:`ticselect.curvature`).

        Returns
        -------
        _CriterionScorer
        """
        return _CriterionScorer(
            self.name, self.fn, per_sample=self.per_sample, sign=self.sign,
            groups=groups,
        )  # fmt: skip

    def value(self, crit):
        """Return the score for already computed criteria.

        Parameters
        ----------
        crit : Criteria
            Criteria of the fitted model.

        Returns
        -------
        float
        """
        value = float(self.fn(crit))
        if self.per_sample:
            value = value / (2.0 * crit.n_samples)
        return self.sign * value

    def __call__(self, estimator, X, y, sample_weight=None):
        with _FlagWarnings(self, estimator) as flags:
            crit = _fitted_criteria(
                estimator, X, y, sample_weight, groups=self.groups, warn_once=self
            )
            flags.check(crit.flags)
        return self.value(crit)

    def __repr__(self):
        return f"make_criterion_scorer({self.name})"


#: Scorers whose value is TIC's (flags that question TIC concern them).
_TIC_SCORERS = ("tic", "gap_estimate")
#: Per-fit warnings whose content the flags carry (folded into one warning a search).
_FLAG_WARNINGS = (SeparationWarning, OverconfidenceWarning)


class _FlagWarnings:
    """Context of one scorer call: fold the per-fit flag warnings into one a search.

    Inside it, :class:`SeparationWarning` and :class:`OverconfidenceWarning` are
    held back (the criteria's flags carry them); other warnings pass through.
    :meth:`check` gives the scorer's :class:`FlaggedCriterionWarning` the first time
    a flag that concerns it appears (the flag is remembered on the scorer object,
    which :func:`get_scorer` makes fresh for every search).
    """

    def __init__(self, scorer, estimator):
        self.scorer = scorer
        self.estimator = estimator
        self._deferred = []  # given on exit, outside the recording context

    def __enter__(self):
        self._ctx = warnings.catch_warnings(record=True)
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        for w in self._caught:
            if not issubclass(w.category, _FLAG_WARNINGS):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if exc[0] is None:
            for text in self._deferred:
                warnings.warn(text, FlaggedCriterionWarning, stacklevel=3)
        return False

    def check(self, flags):
        scorer = self.scorer
        tic = scorer.name in _TIC_SCORERS
        # not_stationary has its own NotStationaryWarning (the documented rule)
        fired = [
            f
            for f in flags
            if f in (TIC_FLAGS if tic else FIT_FLAGS) and f != "not_stationary"
        ]
        if not fired or getattr(scorer, "_flag_warned", False):
            return
        scorer._flag_warned = True
        what = type(final_step(self.estimator)).__name__
        if tic:
            text = (
                f"neg_{scorer.name}: TIC is flagged {', '.join(fired)} on a candidate "
                f"of this search ({what}): its first-order penalty fails there and the "
                "search may pick it wrongly; score with ticselect.get_scorer('neg_alo')"
                " and cv=ticselect.InSample() instead."
            )
        else:
            text = (
                f"neg_{scorer.name}: a candidate of this search ({what}) is flagged "
                f"{', '.join(fired)}: no criterion of that fit is meaningful (refit to "
                "convergence, or add a penalty)."
            )
        self._deferred.append(text)


class _ALOScorer(_CriterionScorer):
    """``neg_alo``: ``-loo / (2n)`` from :func:`~ticselect.approximate_loo`.

    With ``groups`` it leaves one group out at a time (approximate leave-group-out).
    """

    def __init__(self, groups=None):
        super().__init__("alo", _CriterionAttr("loo"), groups=groups)

    def with_groups(self, groups):
        """Return a copy that leaves out one group at a time.

        Parameters
        ----------
        groups : array-like of shape (n_samples,)
            Group label of every row (the scorer must see every row:
            ``cv=ticselect.InSample()``).

        Returns
        -------
        _ALOScorer
        """
        return _ALOScorer(groups=groups)

    def loo(self, curv):
        """The :class:`~ticselect.LOOResult` of ``curv`` (grouped when set).

        Parameters
        ----------
        curv : Curvature

        Returns
        -------
        LOOResult
        """
        return approximate_loo(curv, groups=self.groups)

    def __call__(self, estimator, X, y, sample_weight=None):
        with _FlagWarnings(self, estimator) as flags:
            loo = _fitted_loo(
                estimator, X, y, sample_weight, groups=self.groups, warn_once=self
            )
            flags.check(loo.flags)
        return self.value(loo)


def _fitted_loo(estimator, X, y, sample_weight=None, groups=None, warn_once=None):
    """ALO of a fitted estimator (an ``InformationCriteria``'s own ``loo_``).

    The estimator's ``loo_`` is reused only when no ``groups`` are given.
    """
    last = final_step(estimator)
    if (
        groups is None
        and isinstance(last, InformationCriteria)
        and getattr(last, "loo_", None)
    ):
        return last.loo_
    curv = _fitted_curvature(
        estimator, X, y, sample_weight, groups=groups, warn_once=warn_once
    )
    return approximate_loo(curv, groups=groups)


class _NegTwice(_CriterionAttr):
    """Picklable ``crit -> -2 · getattr(crit, name)`` (a log-likelihood to deviance)."""

    def __call__(self, crit):
        return -2.0 * getattr(crit, self.name)


def _looks_like_metric(fn):
    """Whether ``fn`` has the ``(y_true, y_pred)`` signature of a metric.

    A callable whose first parameter is ``estimator`` is a scorer, even when a later
    one is called ``y_true`` (scikit-learn's ``make_scorer`` objects are called as
    ``scorer(estimator, X, y_true)``).
    """
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    if params and params[0] in ("estimator", "est", "model", "clf"):
        return False
    return bool({"y_true", "y_pred", "y_score", "y_prob", "y_proba"} & set(params))


def _metric_error(fn, where):
    name = getattr(fn, "__name__", repr(fn))
    return TypeError(
        f"{where} got {name}, which looks like a metric (y_true, y_pred) rather than "
        "a scorer (estimator, X, y). Use a scorer name such as "
        f"{get_scorer_names()}, sklearn.metrics.make_scorer({name}) for a held-out "
        "metric, or ticselect.make_criterion_scorer(fn) for a function of "
        "ticselect.Criteria."
    )


# --------------------------------------------------------------------- public API
def make_criterion_scorer(
    fn, *, per_sample=True, greater_is_better=False, name=None, groups=None
):
    """Turn a function of :class:`~ticselect.Criteria` into a scikit-learn scorer.

    Parameters
    ----------
    fn : callable
        ``fn(criteria) -> float`` on the deviance scale.  Lambdas work with
        ``n_jobs > 1`` (joblib's loky backend pickles them with cloudpickle).
    per_sample : bool, default=True
        Divide by ``2n`` (deviance scale to NLL per sample).
    greater_is_better : bool, default=False
        Whether larger values of ``fn`` are better; if not the scorer negates them.
    name : str or None, default=None
        Name shown in the scorer's repr.
    groups : array-like of shape (n_samples,), default=None
        Cluster labels of all rows: the curvature is clustered (see
        :func:`ticselect.curvature`).  The scorer must then see every row
        (``cv=ticselect.InSample()``, which keeps all rows in its one split).

    Returns
    -------
    callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or looks like a ``(y_true, y_pred)`` metric.

    Examples
    --------
    >>> import ticselect as ts
    >>> scorer = ts.make_criterion_scorer(lambda c: c.aic + c.tic, name="aic+tic")
    >>> scorer
    make_criterion_scorer(aic+tic)
    """
    if isinstance(fn, str) or not callable(fn):
        raise TypeError(
            "make_criterion_scorer takes a function of ticselect.Criteria, got "
            f"{fn!r}. For a built-in criterion use ticselect.get_scorer(name) with "
            f"one of {get_scorer_names()}."
        )
    if _looks_like_metric(fn):
        raise _metric_error(fn, "make_criterion_scorer")
    return _CriterionScorer(
        name or getattr(fn, "__name__", "criterion"),
        fn,
        per_sample=per_sample,
        sign=1.0 if greater_is_better else -1.0,
        groups=groups,
    )


_SCORERS = {
    "neg_tic": _CriterionScorer("tic", _CriterionAttr("tic")),
    "neg_aic": _CriterionScorer("aic", _CriterionAttr("aic")),
    "neg_aicc": _CriterionScorer("aicc", _CriterionAttr("aicc")),
    "neg_bic": _CriterionScorer("bic", _CriterionAttr("bic")),
    "neg_alo": _ALOScorer(),
    # log p(y) / n: the deviance-scale -2 log p(y) divided by 2n and negated
    "log_evidence": _CriterionScorer("log_evidence", _NegTwice("log_evidence")),
    "neg_gap_estimate": _CriterionScorer(
        "gap_estimate", _CriterionAttr("gap_estimate"), per_sample=False
    ),
    "neg_soft_rank": _CriterionScorer(
        "soft_rank", _CriterionAttr("soft_rank"), per_sample=False
    ),
}
# Calibration scorers are ordinary held-out scorers (predict_proba on the X given).
_SCORERS.update(CALIBRATION_SCORERS)


def get_scorer_names():
    """Names accepted by :func:`get_scorer` (ticselect's own scorers).

    scikit-learn's names (``sklearn.metrics.get_scorer_names()``) are accepted too.

    Returns
    -------
    list of str
        Sorted names.

    Examples
    --------
    >>> import ticselect as ts
    >>> [name for name in ts.get_scorer_names() if "ic" in name]
    ['neg_aic', 'neg_aicc', 'neg_bic', 'neg_tic']
    """
    return sorted(_SCORERS)


def _unknown_name_error(name):
    close = difflib.get_close_matches(
        str(name), get_scorer_names() + list(sk_names()), n=3
    )
    hint = f" Did you mean {close}?" if close else ""
    return ValueError(
        f"{name!r} is not a valid scorer name.{hint} ticselect scorers: "
        f"{get_scorer_names()}; scikit-learn scorer names "
        "(sklearn.metrics.get_scorer_names()) are accepted too."
    )


def get_scorer(scoring, *, groups=None):
    """Return the scorer for a name (ticselect's or scikit-learn's) or a callable.

    Parameters
    ----------
    scoring : str or callable
        One of :func:`get_scorer_names`, a scikit-learn scorer name such as
        ``"neg_log_loss"``, or a scorer ``(estimator, X, y) -> float`` (returned as
        is).
    groups : array-like of shape (n_samples,), default=None
        Cluster labels for ticselect's criterion scorers (clustered TIC, and
        leave-group-out for ``neg_alo``; use with ``cv=ticselect.InSample()``).
        Refused for other scorers.

    Returns
    -------
    callable
        ``scorer(estimator, X, y) -> float`` (greater is better).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).
    TypeError
        For a metric ``(y_true, y_pred)`` or any other non-scorer.

    Examples
    --------
    >>> import ticselect as ts
    >>> ts.get_scorer("neg_tic")
    make_criterion_scorer(tic)
    >>> ts.get_scorer("neg_log_loss")
    make_scorer(log_loss, ...)
    """
    if groups is not None:
        scorer = get_scorer(scoring)
        if not isinstance(scorer, _CriterionScorer):
            raise ValueError(
                f"groups= applies to ticselect's criterion scorers only, not "
                f"{scoring!r}."
            )
        return scorer.with_groups(groups)
    if isinstance(scoring, str):
        if scoring in _SCORERS:
            scorer = _SCORERS[scoring]
            # a fresh criterion scorer per call: its HeldOutDataWarning is once per
            # scorer, i.e. once per search
            return copy.copy(scorer) if isinstance(scorer, _CriterionScorer) else scorer
        if scoring in sk_names():
            return sk_get_scorer(scoring)
        raise _unknown_name_error(scoring)
    if scoring is criteria or scoring is curvature:
        raise TypeError(
            f"ticselect.{scoring.__name__} is not a scorer. Use a scorer name such as "
            f"{get_scorer_names()}, or make_criterion_scorer(fn) for a function of "
            "Criteria."
        )
    if callable(scoring):
        if _looks_like_metric(scoring):
            raise _metric_error(scoring, "get_scorer")
        return scoring
    raise TypeError(
        f"scoring must be a scorer name or a callable, got {type(scoring).__name__}. "
        f"ticselect scorers: {get_scorer_names()}."
    )


def _is_supported(estimator):
    last = final_step(estimator)
    if isinstance(last, InformationCriteria):
        return _is_supported(last.estimator)
    if isinstance(last, SGDClassifier | SGDRegressor):  # the losses with a likelihood
        return getattr(last, "loss", None) in ("log_loss", "squared_error")
    return (
        isinstance(last, SKLEARN_GLMS + SKLEARN_SGD_CV)
        or is_sklearn_l1(last)
        or is_sklearn_mlp(last)
        or is_dask_ml_glm(last)
    )


def check_scoring(estimator, scoring="neg_tic"):
    """Validate an estimator for criterion scoring and return the scorer.

    Checks up front what would otherwise fail inside every fit of a search.

    Parameters
    ----------
    estimator : estimator object
        A supported scikit-learn estimator, a Pipeline ending in one, or an
        :class:`~ticselect.InformationCriteria` (fitted or not).
    scoring : str, callable, list, tuple or dict, default="neg_tic"
        As accepted by ``GridSearchCV``; every entry is resolved with
        :func:`get_scorer`.

    Returns
    -------
    callable or dict
        The scorer, or a dict of scorers for multi-metric ``scoring``.

    Raises
    ------
    TypeError
        If the estimator is not supported (lists the supported models) or a scoring
        entry is not a scorer.
    ValueError
        For an unknown scorer name (lists the valid names).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ticselect.scoring import check_scoring
    >>> sorted(check_scoring(LogisticRegression(), ["neg_tic", "neg_bic"]))
    ['neg_bic', 'neg_tic']
    """
    if isinstance(scoring, (list, tuple, set)):
        resolved = {name: get_scorer(name) for name in scoring}
    elif isinstance(scoring, dict):
        resolved = {key: get_scorer(val) for key, val in scoring.items()}
    else:
        resolved = get_scorer(scoring)
    scorers = resolved.values() if isinstance(resolved, dict) else [resolved]
    uses_criteria = any(
        isinstance(s, (_CriterionScorer, _MultiCriterionScorer)) for s in scorers
    )
    if uses_criteria and not _is_supported(estimator):
        raise TypeError(
            f"Criterion scorers cannot score {type(final_step(estimator)).__name__}. "
            f"Supported models: {SUPPORTED}."
        )
    return resolved


class _MultiCriterionScorer:
    """Callable ``(estimator, X, y) -> dict``: all scores from one curvature."""

    def __init__(self, names, groups=None):
        self.names = list(names)
        self.groups = groups
        self._scorers = {name: get_scorer(name) for name in self.names}
        if groups is not None:
            for name, scorer in self._scorers.items():
                if isinstance(scorer, _ALOScorer):  # leave-group-out
                    self._scorers[name] = scorer.with_groups(groups)

    def __call__(self, estimator, X, y, sample_weight=None):
        with _FlagWarnings(None, estimator) as flags:
            out, crit, loo = self._scores(estimator, X, y, sample_weight)
            for scorer in self._scorers.values():
                if isinstance(scorer, _CriterionScorer):
                    flags.scorer = scorer
                    src = loo if isinstance(scorer, _ALOScorer) else crit
                    flags.check(src.flags if src is not None else ())
        return out

    def _scores(self, estimator, X, y, sample_weight):
        out = {}
        crit = curv = loo = None
        for name, scorer in self._scorers.items():
            if isinstance(scorer, _ALOScorer):
                if curv is None:
                    curv = _fitted_curvature(
                        estimator, X, y, sample_weight, groups=self.groups,
                        warn_once=self,
                    )  # fmt: skip
                loo = scorer.loo(curv)
                out[name] = scorer.value(loo)
            elif isinstance(scorer, _CriterionScorer):
                if crit is None:
                    crit = (
                        criteria(curv)
                        if curv is not None
                        else _fitted_criteria(
                            estimator,
                            X,
                            y,
                            sample_weight,
                            groups=self.groups,
                            warn_once=self,
                        )
                    )
                out[name] = scorer.value(crit)
            elif sample_weight is None:
                out[name] = scorer(estimator, X, y)
            else:
                out[name] = scorer(estimator, X, y, sample_weight=sample_weight)
        return out, crit, loo

    def __repr__(self):
        return f"criteria_scoring({', '.join(map(repr, self.names))})"


def criteria_scoring(*names, groups=None):
    """Multi-metric scoring that computes the curvature once per fitted candidate.

    ``GridSearchCV(scoring={"tic": get_scorer("neg_tic"), "bic": ...})`` calls each
    scorer separately, so a raw estimator's curvature is computed once per criterion.
    This callable returns a ``dict`` of all of them from one curvature, which
    scikit-learn accepts as multi-metric ``scoring`` (use ``refit="<name>"``).

    Parameters
    ----------
    *names : str
        Scorer names: ticselect's (:func:`get_scorer_names`) or scikit-learn's (those
        are computed as usual on the ``X, y`` handed in).
    groups : array-like of shape (n_samples,), default=None
        Cluster labels of all rows for the criterion scorers (with
        ``cv=ticselect.InSample()``).

    Returns
    -------
    callable
        ``scoring(estimator, X, y, sample_weight=None) -> dict`` keyed by ``names``.

    Raises
    ------
    ValueError
        If no name is given or a name is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> import ticselect as ts
    >>> from ticselect.scoring import criteria_scoring
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] + rng.logistic(size=200) > 0).astype(int)
    >>> search = GridSearchCV(
    ...     LogisticRegression(tol=1e-10),
    ...     {"C": [0.01, 1.0]},
    ...     cv=ts.InSample(),
    ...     scoring=criteria_scoring("neg_tic", "neg_bic"),
    ...     refit="neg_tic",
    ... ).fit(X, y)
    >>> tic = [ts.criteria(ts.curvature(LogisticRegression(C=C, tol=1e-10).fit(X, y),
    ...                                 X, y)).tic for C in (0.01, 1.0)]
    >>> search.best_params_["C"] == (0.01, 1.0)[np.argmin(tic)]
    True
    """
    if not names:
        raise ValueError(
            f"criteria_scoring needs at least one name, e.g. {get_scorer_names()}."
        )
    return _MultiCriterionScorer(names, groups)
