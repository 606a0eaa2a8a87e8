"""Layer 1 — the :func:`curvature` dispatcher: fitted model → :class:`Curvature`.

:func:`dispatch` validates the inputs once, unwraps Pipelines and wrappers
(see :func:`is_wrapper`: :class:`~ticselect.InformationCriteria` lives in a higher
layer), and hands
the model to its adapter in :mod:`ticselect.curvature.adapters`.
"""

from __future__ import annotations

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline

from .._validation import (
    check_fitted,
    check_sample_weight,
    feature_names,
    validate_X,
    validate_y,
)
from ._active import check_inactive, has_l1, restrict
from ._dask import dask_curvature, is_dask_collection
from ._glm import glm_curvature
from ._groups import group_grad_cov
from ._identify import check_likelihood_exists, note_aliased
from ._null import attach_null
from ._result import STATIONARITY_TOL
from ._rows import GLMRows, LikelihoodRows, MLPRows, attach_rows
from ._separation import check_separation
from ._timing import DEFAULT_MAX_SECONDS
from .adapters.dask_ml import dask_ml_spec, is_dask_ml_glm
from .adapters.l1 import is_sklearn_l1, sklearn_l1_spec
from .adapters.sklearn_glm import SKLEARN_GLMS, frequency_n, sklearn_glm_spec
from .adapters.sklearn_mlp import mlp_curvature
from .adapters.sklearn_sgd_cv import SKLEARN_SGD_CV, sklearn_sgd_cv_spec
from .adapters.statsmodels import (
    check_own_data,
    is_regularized,
    is_statsmodels_results,
    statsmodels_spec,
)
from .adapters.statsmodels_generic import (
    is_generic_statsmodels,
    statsmodels_generic_curvature,
)
from .adapters.statsmodels_l1 import statsmodels_l1_spec

__all__ = ["SUPPORTED", "curvature", "dispatch", "is_wrapper", "is_sklearn_mlp"]

SUPPORTED = (
    "scikit-learn: LinearRegression, Ridge, RidgeCV, Lasso, ElasticNet, LassoCV, "
    "ElasticNetCV, LassoLars, LassoLarsCV, LassoLarsIC, LogisticRegression and "
    "LogisticRegressionCV (L2, L1, elastic-net or no penalty), "
    "SGDClassifier(loss='log_loss', binary) and SGDRegressor(loss='squared_error') "
    "with any penalty, PoissonRegressor, GammaRegressor, TweedieRegressor (power 0, "
    "1, 2, 3), "
    "MLPClassifier, MLPRegressor (any depth), each alone or as the last step of a "
    "Pipeline, or wrapped in ticselect.InformationCriteria; "
    "dask-ml: LogisticRegression, LinearRegression, PoissonRegression (L2 or no "
    "penalty; GLMs also take dask arrays); "
    "statsmodels: GLM results (Gaussian, Binomial, Poisson, Gamma, InverseGaussian, "
    "NegativeBinomial), OLS and WLS, their fit_regularized results (GLM, OLS, Logit, "
    "Probit, Poisson, MNLogit), and any maximum-likelihood results whose model "
    "has loglikeobs, score_obs and hessian (Logit, Probit, Poisson, MNLogit, "
    "NegativeBinomial, GeneralizedPoisson, zero-inflated and hurdle models, "
    "OrderedModel, GenericLikelihoodModel subclasses); "
    "any likelihood written with autograd.numpy: ticselect.curvature_from_loss"
)


def _unsupported(model):
    return TypeError(
        f"ticselect cannot compute the curvature of {type(model).__name__}. "
        f"Supported models: {SUPPORTED}."
    )


def dispatch(
    model,
    X,
    y,
    sample_weight,
    *,
    dispersion=None,
    max_memory=None,
    max_seconds=DEFAULT_MAX_SECONDS,
    hessian=True,
    regularization=None,
):
    """Route ``model`` to its adapter and return its :class:`Curvature`.

    Parameters
    ----------
    model : fitted model
        See :func:`ticselect.curvature`.
    X, y, sample_weight : array-like or None
        Training data.
    dispersion : None or float
        See :func:`ticselect.curvature`.
    max_memory : float or None
        See :func:`ticselect.curvature`.
    max_seconds : float or None
        See :func:`ticselect.curvature`.
    hessian : bool, default=True
        See :func:`ticselect.curvature`.
    regularization : dict or None
        See :func:`ticselect.curvature`.

    Returns
    -------
    Curvature
    """
    if regularization is not None and not (
        is_statsmodels_results(model) and is_regularized(model)
    ):
        raise ValueError(
            "regularization= applies to statsmodels fit_regularized results only "
            f"(got {type(model).__name__}); other models carry their penalty."
        )
    if is_wrapper(model):
        check_fitted(model)
        return dispatch(
            model.estimator_,
            X,
            y,
            sample_weight,
            dispersion=dispersion,
            max_memory=max_memory,
            max_seconds=max_seconds,
            hessian=hessian,
        )
    if isinstance(model, Pipeline):
        check_fitted(model)
        if X is None:
            raise ValueError("X is required for a Pipeline.")
        Xt = model[:-1].transform(X) if len(model) > 1 else X
        return dispatch(
            model[-1],
            Xt,
            y,
            sample_weight,
            dispersion=dispersion,
            max_memory=max_memory,
            max_seconds=max_seconds,
            hessian=hessian,
        )
    if is_dask_collection(X):
        return dask_curvature(model, X, y, sample_weight, dispersion=dispersion)
    if is_statsmodels_results(model):
        check_own_data(model, X, y, sample_weight)
        if is_regularized(model):
            spec = statsmodels_l1_spec(model, regularization)
            spec.family.check_y(spec.y)
            return _checked_glm(spec, dispersion)
        if is_generic_statsmodels(model):
            curv = statsmodels_generic_curvature(model, dispersion=dispersion)
            curv = _statsmodels_null(curv, model, dispersion)
            return _attach_generic_rows(curv)
        spec = statsmodels_spec(model)
        spec.family.check_y(spec.y)
        return _checked_glm(spec, dispersion)
    read_spec = _glm_reader(model)
    if read_spec is not None:
        check_fitted(model)
        # every column of a scikit-learn GLM enters η, which glm_curvature checks
        # (an L1 fit drops columns first: its design is checked here)
        plain = read_spec in (sklearn_glm_spec, sklearn_sgd_cv_spec)
        Xv = validate_X(X, model, finite=not plain)
        yv = validate_y(y, Xv.shape[0])
        w = check_sample_weight(sample_weight, Xv.shape[0])
        spec = read_spec(model, Xv, yv, w, feature_names(model, Xv.shape[1]))
        spec.family.check_y(spec.y)
        return _checked_glm(spec, dispersion, n_samples=frequency_n(model, w))
    if is_sklearn_mlp(model):
        check_fitted(model)
        Xv = validate_X(X, model)
        yv = validate_y(y, Xv.shape[0]) if not _multi_output(model) else y
        w = check_sample_weight(sample_weight, Xv.shape[0])
        curv = mlp_curvature(
            model,
            Xv,
            yv,
            w,
            dispersion=dispersion,
            max_memory=max_memory,
            max_seconds=max_seconds,
            hessian=hessian,
        )
        if not hessian:  # no per-row model: ALO needs the Hessian
            del curv._mlp_spec
            return curv
        # the spec mlp_curvature read (not read again: one pass over the weights)
        return attach_rows(curv, MLPRows(curv.__dict__.pop("_mlp_spec")))
    raise _unsupported(model)


def _glm_reader(model):
    """The adapter that reads ``model`` into a GLM spec, or ``None``.

    dask-ml GLMs, then scikit-learn's SGD and CV estimators (before the plain GLMs:
    ``LogisticRegressionCV`` subclasses ``LogisticRegression``), then the plain ones.
    """
    if is_dask_ml_glm(model):
        return dask_ml_spec
    if is_sklearn_l1(model):
        return sklearn_l1_spec
    if isinstance(model, SKLEARN_SGD_CV):
        return sklearn_sgd_cv_spec
    if isinstance(model, SKLEARN_GLMS):
        return sklearn_glm_spec
    return None


def _checked_glm(spec, dispersion, n_samples=None):
    """:func:`glm_curvature` plus the identification checks and the per-row model.

    Raises when the likelihood is unbounded, flags aliased columns and separation,
    records the null model and Pearson statistic (:mod:`ticselect.curvature._null`)
    (:mod:`ticselect.curvature._identify`, :mod:`ticselect.curvature._separation`);
    an L1 or elastic-net spec is first restricted to its active set and its
    inactive coefficients get the subgradient check (:mod:`ticselect.curvature.\
_active`) instead of the separation test;
    ``n_samples`` overrides ``Σ wᵢ`` when the weights include class weights.  The
    per-row model (``curv.rows``, :mod:`ticselect.curvature._rows`) is what
    :func:`ticselect.approximate_loo` needs.
    """
    plan = None
    if has_l1(spec):  # L1 / elastic net: the smooth model on the active set
        spec, plan = restrict(spec)
    point = {}  # the fit's per-row derivatives, reused by the checks below
    curv = glm_curvature(spec, dispersion=dispersion, _point=point)
    if n_samples is not None:
        curv.n_samples = float(n_samples)
    check_likelihood_exists(curv, spec.y, spec.sample_weight)
    note_aliased(curv)
    if plan is None:
        check_separation(spec, curv, point)
    else:  # the L1 term keeps coefficients finite; check the kinks instead
        check_inactive(curv, plan)
    attach_null(curv, spec, point["eta"], (point["d1"], point["d2"]))
    rows = GLMRows(
        spec,
        curv.dispersion,
        curv.dispersion_is_param,
        curv.n_params,
        point["eta"],
        (point["d1"], point["d2"]),
        point.get("row_norms"),
    )
    return attach_rows(curv, rows)


def _attach_generic_rows(curv):
    """The per-row model of a statsmodels result outside the GLM path.

    OLS/WLS: a :class:`GLMRows` of the whitened Gaussian fit (a refit re-estimates
    ``σ²``); any other likelihood model: a :class:`LikelihoodRows` over
    ``loglikeobs``/``score_obs``/``hessian``.
    """
    kind, info = curv.__dict__.pop("_row_model")
    if kind == "glm":
        rows = GLMRows(
            info["spec"], curv.dispersion, curv.dispersion_is_param, curv.n_params,
            refit_dispersion=info["refit_dispersion"], nll_offset=info["nll_offset"],
        )  # fmt: skip
    else:
        rows = LikelihoodRows(**info)
    return attach_rows(curv, rows)


def _statsmodels_null(curv, results, dispersion):
    """``curv.null_nll = -results.llnull`` (statsmodels' own null model) when known.

    Only with the ML dispersion (``dispersion=None``), the one ``llnull`` uses.
    """
    if dispersion is None:
        try:
            llnull = float(results.llnull)
        except (AttributeError, NotImplementedError, TypeError, ValueError):
            llnull = np.nan
        if np.isfinite(llnull):
            curv.null_nll = -llnull
    return curv


def is_sklearn_mlp(model):
    """Whether ``model`` is a scikit-learn ``MLPClassifier`` or ``MLPRegressor``.

    Parameters
    ----------
    model : object
        Anything.

    Returns
    -------
    bool
    """
    return isinstance(model, (MLPClassifier, MLPRegressor))


def is_wrapper(model):
    """Whether ``model`` wraps an estimator whose curvature it stands for.

    The protocol: the class sets ``_ticselect_wrapper = True`` and, once fitted,
    holds the fitted estimator in ``estimator_``.  It is how the curvature layer
    recognises :class:`~ticselect.InformationCriteria` without importing it.

    Parameters
    ----------
    model : object
        Anything.

    Returns
    -------
    bool
    """
    return bool(getattr(type(model), "_ticselect_wrapper", False))


def _multi_output(model):
    return getattr(model, "n_outputs_", 1) > 1


def curvature(
    model,
    X=None,
    y=None,
    sample_weight=None,
    *,
    dispersion=None,
    stationarity_tol=STATIONARITY_TOL,
    max_memory=None,
    groups=None,
    max_seconds=DEFAULT_MAX_SECONDS,
    hessian=True,
    regularization=None,
):
    """Exact Hessian, per-sample gradients and gradient covariance of a fitted model.

    Parameters
    ----------
    model : fitted estimator or statsmodels results
        A fitted scikit-learn ``LinearRegression``, ``Ridge``, ``RidgeCV``,
        ``Lasso``, ``ElasticNet`` (and their CV and LARS variants),
        ``LogisticRegression``, ``LogisticRegressionCV``, ``SGDClassifier``,
        ``SGDRegressor``, ``PoissonRegressor``, ``GammaRegressor``,
        ``TweedieRegressor``, ``MLPClassifier`` or ``MLPRegressor`` (alone or as the
        last step of a ``Pipeline``), a dask-ml ``LogisticRegression``,
        ``LinearRegression`` or ``PoissonRegression``, an :class:`InformationCriteria`,
        or statsmodels results: GLM, OLS, WLS, their ``fit_regularized`` results,
        or any maximum-likelihood model with ``loglikeobs``, ``score_obs`` and
        ``hessian`` (see ``SUPPORTED``).  L1 and elastic-net fits are described on
        their active set (see the conventions, "L1 and elastic net").
    X : array-like, sparse matrix or dask array of shape (n_samples, n_features), \
default=None
        The data the model was fitted on (raw input of a Pipeline).  Optional for
        statsmodels results, which carry their data.  A dask array (or dask
        DataFrame) reaching a GLM is processed chunk by chunk, never materialised
        (see "Scaling out" in the user guide).
    y : array-like or dask array of shape (n_samples,), default=None
        Targets.
    sample_weight : array-like or dask array of shape (n_samples,), default=None
        Frequency weights used in the fit.
    dispersion : None or float, default=None
        ``None`` estimates the dispersion by maximum likelihood and counts it as a
        parameter; a positive float fixes it (not a parameter).  Ignored by families
        without a dispersion.
    stationarity_tol : float, default=1e-2
        Warn (:class:`NotStationaryWarning`) when the relative gradient exceeds this
        and the Newton decrement exceeds 1e-3 (see the conventions).
    max_memory : float or None, default=None
        Bytes allowed for the dense ``H`` and ``C`` of an MLP (default: half the
        physical memory); larger requests raise a ``ValueError`` giving the size in
        GiB and pointing to the matrix-free estimators (``ts.estimate_tic_penalty``).
    groups : array-like of shape (n_samples,), default=None
        Cluster label of each row (statsmodels results: of each row of ``exog``).
        Rows are then independent only *between* groups: the per-sample gradients
        are summed within each group before forming the gradient covariance,
        ``C = Σ_g s_g s_gᵀ`` with ``s_g = Σ_{i∈g} wᵢ gᵢ``, so TIC, the gap estimate
        and sandwich standard errors honour within-group dependence.  ``H``, the NLL
        and ``n_samples`` (used by BIC and AICc) still count rows.  With one row per
        group (and unit weights) the result equals the ungrouped one.
    max_seconds : float or None, default=60
        Time budget of an MLP's exact curvature and criteria: when the estimate
        (from ``d``, ``n`` and this machine's matrix-multiply rate, see
        :mod:`ticselect.curvature._timing`) exceeds it, a ``ValueError`` giving the
        estimate and the matrix-free alternative is raised at once, before any
        ``d × d`` array is allocated.  ``None`` disables the guard.
    hessian : bool, default=True
        ``False`` (networks): skip the ``d × d`` Hessian and gradient covariance and
        keep only what :func:`ticselect.evidence` needs with ``hessian="ggn"`` or
        ``"kfac"`` (parameters, gradient, NLL, the layers and their output
        Jacobians): a network's whole Laplace evidence at about the cost of one
        fit.  Everything else (criteria, flatness, ALO) raises on such a
        curvature; its stationarity is checked by the evidence (flag
        ``"not_stationary"``).  Ignored by other models.
    regularization : dict or None, default=None
        The arguments of a statsmodels ``GLM``/``OLS`` ``fit_regularized`` call,
        ``{"alpha": ..., "L1_wt": ...}``, which its ``RegularizedResults`` do not
        record (see :mod:`ticselect.curvature.adapters.statsmodels_l1`).  Only for
        those results.

    Returns
    -------
    Curvature

    Raises
    ------
    TypeError
        For unsupported models (the message lists the supported ones).
    ValueError
        For invalid data, unfitted models, or penalties that are not L2.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import ticselect as ts
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, tol=1e-10))
    >>> curv = ts.curvature(model.fit(X, y), X, y)
    >>> curv.hessian.shape, curv.n_free_params
    ((31, 31), 31)
    """
    curv = dispatch(
        model,
        X,
        y,
        sample_weight,
        dispersion=dispersion,
        max_memory=max_memory,
        max_seconds=max_seconds,
        hessian=hessian,
        regularization=regularization,
    )
    if curv.hessian is None:
        if groups is not None:
            raise ValueError(
                "curvature(): groups= needs the gradient covariance, which "
                "hessian=False skips."
            )
        return curv
    if groups is not None:
        group_grad_cov(curv, groups)
    return curv.check_stationarity(stationarity_tol)
