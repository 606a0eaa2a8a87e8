"""Layer 3 — the :class:`InformationCriteria` meta-estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import column_or_1d, has_fit_parameter

from ..criteria import criteria
from ..curvature import curvature
from ..curvature._result import STATIONARITY_TOL
from ..curvature._timing import DEFAULT_MAX_SECONDS
from ._delegate import DelegatingMixin
from ._loo import approximate_loo

__all__ = ["InformationCriteria"]


def _weight_params(est, sample_weight):
    """Frequency weights go to every step whose ``fit`` accepts them."""
    if not isinstance(est, Pipeline):
        return {"sample_weight": sample_weight}
    return {
        f"{name}__sample_weight": sample_weight
        for name, step in est.steps
        if step not in (None, "passthrough")
        and has_fit_parameter(step, "sample_weight")
    }


class InformationCriteria(DelegatingMixin, MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator and attach its curvature and information criteria.

    A drop-in wrapper: ``predict``, ``predict_proba``, ``decision_function`` and
    ``score`` are those of the fitted estimator; in addition ``loo_`` holds the
    approximate leave-one-out estimate (for GLMs, the criterion ticselect
    recommends: see :mod:`ticselect.selection._recommend`), and ``curvature_`` and
    ``criteria_`` the exact curvature and the criteria (TIC, AIC, BIC, ...), all
    computed on the training data at fit time.  Scorers read them: ``neg_alo``
    reads ``loo_``, ``neg_tic`` ``criteria_``.
    Every ``fit`` fits a fresh clone of ``estimator`` (so ``warm_start`` has no
    effect through the wrapper; :func:`ticselect.criterion_path` warm-starts along a
    grid).

    Parameters
    ----------
    estimator : estimator object
        A supported scikit-learn estimator or Pipeline (see
        :func:`ticselect.curvature`).
    dispersion : None or float, default=None
        ``None`` estimates the dispersion by maximum likelihood (counted as a
        parameter); a float fixes it.
    stationarity_tol : float, default=1e-2
        Warn when the fit is not a stationary point of its penalised loss.
    max_seconds : float or None, default=60
        Time budget of a network's exact curvature and criteria (see
        :func:`ticselect.curvature`); ``None`` is no limit.
    alo : bool, default=True
        Compute ``loo_`` at fit time (GLMs; about the cost of the curvature).
        Networks get ``None``: their one-step leave-one-out is not reliable enough
        to select by (``benchmarks/README.md``).

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    curvature_ : Curvature
        Exact curvature at the fitted parameters.
    criteria_ : Criteria
        Information criteria of the fit.
    loo_ : LOOResult or None
        Approximate leave-one-out of the fit (``None`` with ``alo=False``, for
        networks, and for models without a per-row model).
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import ticselect as ts
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, tol=1e-10))
    >>> model = ts.InformationCriteria(pipe).fit(X, y)
    >>> model.criteria_.n_params, type(model.loo_).__name__
    (31, 'LOOResult')
    >>> model.predict(X[:3]).shape
    (3,)
    """

    #: Tells :func:`ticselect.curvature` to use ``estimator_`` (the curvature layer
    #: cannot import this class; see ``curvature._dispatch.is_wrapper``).
    _ticselect_wrapper = True

    def __init__(
        self,
        estimator,
        *,
        dispersion=None,
        stationarity_tol=STATIONARITY_TOL,
        max_seconds=DEFAULT_MAX_SECONDS,
        alo=True,
    ):
        self.estimator = estimator
        self.dispersion = dispersion
        self.stationarity_tol = stationarity_tol
        self.max_seconds = max_seconds
        self.alo = alo

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the estimator, then compute its curvature, criteria and ALO.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights, passed to the estimator's ``fit`` (to the last step of
            a Pipeline).
        **fit_params : dict
            Other parameters for the estimator's ``fit``.

        Returns
        -------
        self : InformationCriteria
            Fitted wrapper.
        """
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y = column_or_1d(y_arr, warn=True)  # one target: DataConversionWarning
        est = clone(self.estimator)
        if sample_weight is not None:
            fit_params = {**fit_params, **_weight_params(est, sample_weight)}
        est.fit(X, y, **fit_params)
        self.estimator_ = est
        self.curvature_ = curvature(
            est,
            X,
            y,
            sample_weight,
            dispersion=self.dispersion,
            stationarity_tol=self.stationarity_tol,
            max_seconds=self.max_seconds,
        )
        self.criteria_ = criteria(self.curvature_)
        curv = self.curvature_
        self.loo_ = (
            approximate_loo(curv)
            if self.alo and curv.rows is not None and curv.family != "mlp"
            else None
        )
        self.n_features_in_ = est.n_features_in_
        if hasattr(est, "feature_names_in_"):
            self.feature_names_in_ = est.feature_names_in_
        if hasattr(est, "classes_"):
            self.classes_ = est.classes_
        return self
