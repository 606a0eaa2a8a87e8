"""Layer 3 — the :class:`InSample` splitter: one split, every row on both sides.

With it scikit-learn's searches fit each candidate once and score it on its own
training rows, which is what in-sample criteria (``ticselect.get_scorer("neg_alo")``)
need.
"""

from __future__ import annotations

import numpy as np

__all__ = ["InSample"]


class InSample:
    """Cross-validation splitter with one split whose train and test sets are all rows.

    With it, ``GridSearchCV(..., cv=InSample(), scoring=ts.get_scorer("neg_tic"))``
    fits every candidate once and ranks them by an in-sample criterion.

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
        idx = np.arange(X.shape[0] if hasattr(X, "shape") else len(X))
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
