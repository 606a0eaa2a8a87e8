"""Adapters: one small module per model kind, all producing a :class:`Curvature`.

:func:`dispatch` validates the inputs once, unwraps Pipelines and
:class:`~ticselect.InformationCriteria`, and hands the model to its adapter.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .._calibration_utils import check_sample_weight
from ._glm import glm_curvature
from ._sklearn_glm import SKLEARN_GLMS, sklearn_glm_spec
from ._statsmodels import is_statsmodels_results, statsmodels_spec

__all__ = ["SUPPORTED", "dispatch"]

SUPPORTED = (
    "scikit-learn: LinearRegression, Ridge, LogisticRegression (L2 or no penalty), "
    "PoissonRegressor, GammaRegressor, TweedieRegressor (power 0, 1, 2, 3), "
    "MLPClassifier, MLPRegressor, each alone or as the last step of a Pipeline, or "
    "wrapped in ticselect.InformationCriteria; "
    "statsmodels: GLM results (Gaussian, Binomial, Poisson, Gamma, InverseGaussian, "
    "NegativeBinomial) and Logit, Probit, Poisson, MNLogit results"
)


def _unsupported(model):
    return TypeError(
        f"ticselect cannot compute the curvature of {type(model).__name__}. "
        f"Supported models: {SUPPORTED}."
    )


def _validate_X(X, est):
    if X is None:
        raise ValueError(
            f"X is required to compute the curvature of {type(est).__name__}: pass "
            "the data the model was fitted on."
        )
    X = check_array(
        X,
        accept_sparse=["csr", "csc", "coo"],
        dtype=np.float64,
        ensure_all_finite=True,
        input_name="X",
    )
    if sp.issparse(X):
        X = sp.csr_array(X)
    n_in = getattr(est, "n_features_in_", X.shape[1])
    if X.shape[1] != n_in:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(est).__name__} was fitted with "
            f"{n_in} features."
        )
    return X


def _validate_y(y, n):
    if y is None:
        raise ValueError("y is required to compute the curvature: pass the targets.")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D (one target), got an array of shape {y.shape}."
        )
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]} entries.")
    if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
        raise ValueError("Input y contains NaN or infinity; remove or impute them.")
    return y


def _feature_names(est, p):
    names = getattr(est, "feature_names_in_", None)
    if names is not None and len(names) == p:
        return [str(c) for c in names]
    return [f"x{j}" for j in range(p)]


def _check_fitted(est):
    try:
        check_is_fitted(est)
    except NotFittedError:
        raise NotFittedError(
            f"This {type(est).__name__} instance is not fitted yet. Call 'fit' with "
            "the training data before computing its curvature."
        ) from None


def dispatch(model, X, y, sample_weight, *, dispersion=None, max_memory=None):
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

    Returns
    -------
    Curvature
    """
    from .._estimator import InformationCriteria

    if isinstance(model, InformationCriteria):
        _check_fitted(model)
        return dispatch(
            model.estimator_,
            X,
            y,
            sample_weight,
            dispersion=dispersion,
            max_memory=max_memory,
        )
    if isinstance(model, Pipeline):
        _check_fitted(model)
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
        )
    if is_statsmodels_results(model):
        if X is not None or y is not None or sample_weight is not None:
            raise ValueError(
                "statsmodels results carry their own data (exog, endog, offset, "
                "freq_weights): call curvature(results) without X, y, sample_weight."
            )
        spec = statsmodels_spec(model)
        spec.family.check_y(spec.y)
        return glm_curvature(spec, dispersion=dispersion)
    if isinstance(model, SKLEARN_GLMS):
        _check_fitted(model)
        Xv = _validate_X(X, model)
        yv = _validate_y(y, Xv.shape[0])
        w = check_sample_weight(sample_weight, Xv.shape[0])
        spec = sklearn_glm_spec(model, Xv, yv, w, _feature_names(model, Xv.shape[1]))
        spec.family.check_y(spec.y)
        return glm_curvature(spec, dispersion=dispersion)
    if _is_sklearn_mlp(model):
        from ._sklearn_mlp import mlp_curvature

        _check_fitted(model)
        Xv = _validate_X(X, model)
        yv = _validate_y(y, Xv.shape[0]) if not _multi_output(model) else y
        w = check_sample_weight(sample_weight, Xv.shape[0])
        return mlp_curvature(
            model, Xv, yv, w, dispersion=dispersion, max_memory=max_memory
        )
    raise _unsupported(model)


def _is_sklearn_mlp(model):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    return isinstance(model, (MLPClassifier, MLPRegressor))


def _multi_output(model):
    return getattr(model, "n_outputs_", 1) > 1
