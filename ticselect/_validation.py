"""Layer 0 — input checks shared by every wing.

X, y, sample weights, fitted state and Pipeline unwrapping.
Nothing here knows a model family or a criterion; the curvature adapters, the
scorers, the criterion path and the command line all validate through these.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "check_finite_X",
    "check_fitted",
    "check_sample_weight",
    "feature_names",
    "final_step",
    "unwrap_pipeline",
    "validate_X",
    "validate_y",
]


def check_sample_weight(sample_weight, n):
    """Return float weights of shape (n,) (ones when None), validated.

    Parameters
    ----------
    sample_weight : array-like of shape (n,) or None
        Frequency weights.
    n : int
        Number of rows.

    Returns
    -------
    ndarray of shape (n,)
    """
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(
            f"sample_weight has shape {w.shape}, expected ({n},): one entry per row "
            "of X."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinite values; remove them.")
    if np.any(w < 0):
        raise ValueError("sample_weight must be non-negative.")
    if not w.sum() > 0:
        raise ValueError("sample_weight sums to zero; at least one weight must be > 0.")
    return w


def final_step(estimator):
    """Return the last step of a Pipeline, or the estimator itself.

    Parameters
    ----------
    estimator : estimator or Pipeline
        Anything.

    Returns
    -------
    estimator
    """
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def unwrap_pipeline(model, X):
    """Return the last step of (nested) Pipelines and the data it sees.

    Parameters
    ----------
    model : estimator or Pipeline
        A fitted model.
    X : array-like or None
        Raw input of ``model``.

    Returns
    -------
    estimator, array-like or None
        The final estimator and ``X`` transformed by the steps before it.
    """
    est, Xt = model, X
    while isinstance(est, Pipeline):
        check_fitted(est)
        Xt = est[:-1].transform(Xt) if len(est) > 1 else Xt
        est = est[-1]
    return est, Xt


def check_fitted(est, purpose="computing its curvature"):
    """Raise scikit-learn's ``NotFittedError`` with a message that says what to do.

    Parameters
    ----------
    est : estimator
        The estimator to check.
    purpose : str, default="computing its curvature"
        What needs the fit, for the message.
    """
    try:
        check_is_fitted(est)
    except NotFittedError:
        raise NotFittedError(
            f"This {type(est).__name__} instance is not fitted yet. Call 'fit' with "
            f"the training data before {purpose}."
        ) from None


def check_dispersion(dispersion):
    """A given dispersion as a float, or a one-line error when it is not positive.

    Parameters
    ----------
    dispersion : float
        The value the user passed (``dispersion=``), not ``None``.

    Returns
    -------
    float

    Examples
    --------
    >>> check_dispersion(2)
    2.0
    """
    phi = float(dispersion)
    if not (np.isfinite(phi) and phi > 0):
        raise ValueError(
            f"dispersion must be None or a positive number, got {dispersion!r}."
        )
    return phi


def check_rcond(rcond):
    """A relative cutoff ``rcond`` as a float, or a one-line error outside [0, 1).

    Parameters
    ----------
    rcond : float
        The value the user passed (``rcond=``): eigenvalues or pivots below
        ``rcond`` times the largest count as zero.

    Returns
    -------
    float

    Examples
    --------
    >>> check_rcond(1e-10)
    1e-10
    """
    value = float(rcond)
    if not 0 <= value < 1:
        raise ValueError(
            f"rcond must be a relative cutoff in [0, 1) such as 1e-10, got {rcond!r}."
        )
    return value


def validate_X(X, est, *, finite=True):
    """Check the training design of a fitted estimator.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features) or None
        Design.
    est : estimator
        The fitted estimator (for ``n_features_in_`` and the message).
    finite : bool, default=True
        Check that every entry of a dense float64 ``X`` is finite.  ``False`` skips
        that pass (other inputs are always checked) for a caller whose every column
        enters a linear predictor that is checked instead: ``glm_curvature`` raises
        :func:`check_finite_X`'s message when ``η`` is not finite (``NaN·β``,
        ``±inf·0`` and ``±inf·β`` are not finite for any finite ``β``).

    Returns
    -------
    ndarray or scipy.sparse.csr_array of shape (n_samples, n_features)
    """
    if X is None:
        raise ValueError(
            f"X is required to compute the curvature of {type(est).__name__}: pass "
            "the data the model was fitted on."
        )
    # A finite float64 matrix is what check_array would return unchanged; skip its
    # (comparatively slow) generic checks, which matter when the model is cheap.
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: check_array's
        fast = (
            type(X) is np.ndarray
            and X.dtype == np.float64
            and X.ndim == 2
            and X.shape[0] > 0
            and X.shape[1] > 0
            and (not finite or np.isfinite(X.sum()))  # overflow or NaN: check_array
        )
    if not fast:
        with np.errstate(invalid="ignore"):  # its sum of inf and -inf: it raises
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


def check_finite_X(X):
    """Raise scikit-learn's message when a dense ``X`` holds a NaN or an infinity.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    """
    if not np.all(np.isfinite(X)):
        with np.errstate(invalid="ignore"):  # its sum of inf and -inf: it raises
            check_array(X, dtype=np.float64, ensure_all_finite=True, input_name="X")


def validate_y(y, n):
    """Check a one-target ``y`` against ``n`` rows.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, 1) or None
        Targets.
    n : int
        Number of rows of ``X``.

    Returns
    -------
    ndarray of shape (n,)
    """
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


def feature_names(est, p):
    """Column names seen by ``est`` (``x0``, ``x1``, ... when it has none).

    Parameters
    ----------
    est : estimator
        Fitted estimator.
    p : int
        Number of columns.

    Returns
    -------
    list of str
    """
    names = getattr(est, "feature_names_in_", None)
    if names is not None and len(names) == p:
        return [str(c) for c in names]
    return [f"x{j}" for j in range(p)]
