"""The multinomial separation programme: dense and sparse designs, one programme."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.curvature import _separation


def _spec(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=10.0, tol=1e-10, max_iter=10_000).fit(X, y)
        return ts.curvature(model, X, y).rows.spec


@pytest.mark.parametrize("rows", [slice(None), slice(0, 178, 2)])
def test_dense_and_sparse_designs_give_the_same_direction(rows):
    # The dense route builds the constraint matrix x̃ᵢᵀ(d_c - d_k) ≥ 0 as an array,
    # the sparse one by Kronecker blocks: the same programme, so the same optimum
    # (HiGHS is deterministic on the same matrix), and the direction separates:
    # every margin x̃ᵢᵀ(d_{yᵢ} - d_k) ≥ 0 with some positive (wine is separable).
    X, y = load_wine(return_X_y=True)
    X, y = StandardScaler().fit_transform(X)[rows], y[rows]
    index = np.arange(len(y))
    dense = _separation._direction(_spec(X, y))
    sparse = _separation._direction(_spec(sp.csr_matrix(X), y))
    assert dense[2] == sparse[2] == "lp"
    assert dense[1] == sparse[1] > 0
    assert_allclose(dense[0], sparse[0], rtol=0, atol=1e-12)
    D = dense[0].reshape(3, -1)
    eta = X @ D[:, :-1].T + D[:, -1]  # intercept last in each class block
    margins = eta[index, y][:, None] - eta
    assert margins.min() >= -1e-9
    assert margins.max() > 1e-3
