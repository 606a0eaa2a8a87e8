"""Layer 3 — one penalty per group of columns, by rescaling the columns.

scikit-learn's estimators take one L2 strength for every coefficient.  Multiplying
the columns of group ``g`` by ``s_g`` turns that one penalty into one per group:
with ``x̃ = s ⊙ x`` the fit of ``β̃`` under ``pen(v₀)‖β̃‖²`` is the fit of
``β = s ⊙ β̃`` under ``Σ_g pen(v₀)/s_g² ‖β_g‖²`` (the predictions ``x̃ᵀβ̃ = xᵀβ``
are the same, the intercept is untouched).  With the estimator's parameter at
``v₀`` and its penalty ``pen(v) ∝ v^e`` (``e = -1`` for ``C``, ``+1`` for
``alpha``), group ``g`` is penalised as by ``v_g`` when

``s_g = (v₀ / v_g)^(e/2)``.

:class:`~ticselect.CriterionSearch` puts a :class:`GroupScaler` just before the
estimator (``groups=``) and searches the ``v_g``; a test checks the equivalence
against a direct solve of the group-penalised problem.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["GroupScaler", "group_scales"]


def group_scales(values, base, exponent):
    """``s_g = (v₀ / v_g)^(e/2)`` for the group values ``v_g`` (module docstring).

    Parameters
    ----------
    values : ndarray of shape (G,)
        Each group's penalty parameter, in the estimator's units.
    base : float
        ``v₀``, the estimator's own parameter value.
    exponent : float
        ``e`` with ``pen(v) ∝ v^e``.

    Returns
    -------
    ndarray of shape (G,)
    """
    return (base / np.asarray(values, dtype=float)) ** (exponent / 2.0)


class GroupScaler(TransformerMixin, BaseEstimator):
    """Multiply each column by a fixed scale (one scale per penalty group).

    The step :class:`~ticselect.CriterionSearch` inserts before the estimator when
    ``groups=`` is given (see :mod:`ticselect.selection._group_scale`).

    Parameters
    ----------
    scale : array-like of shape (n_features,)
        Column scales.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns.

    Examples
    --------
    >>> import numpy as np
    >>> from ticselect.selection._group_scale import GroupScaler
    >>> GroupScaler(scale=[1.0, 2.0]).fit_transform(np.ones((2, 2)))
    array([[1., 2.],
           [1., 2.]])
    """

    def __init__(self, scale=None):
        self.scale = scale

    def fit(self, X, y=None):
        """Check ``X`` against ``scale``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Data.
        y : None
            Ignored.

        Returns
        -------
        self : GroupScaler
        """
        X = validate_data(self, X, accept_sparse=("csr", "csc"))
        scale = np.asarray(self.scale, dtype=float)
        if scale.shape != (X.shape[1],):
            raise ValueError(
                f"scale has shape {scale.shape}; X has {X.shape[1]} columns."
            )
        return self

    def transform(self, X):
        """Return ``X`` with column ``j`` multiplied by ``scale[j]``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Data.

        Returns
        -------
        ndarray or sparse matrix of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), reset=False)
        scale = np.asarray(self.scale, dtype=float)
        if sp.issparse(X):
            return X @ sp.diags(scale)
        return X * scale
