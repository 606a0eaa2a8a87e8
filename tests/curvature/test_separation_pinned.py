"""The separation programme's shortcut: equality rows that pin every direction."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import PoissonRegressor

import ticselect as ts
from ticselect.curvature import _separation


def _spec(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PoissonRegressor(alpha=1e-3, tol=1e-10, max_iter=10_000).fit(X, y)
        return ts.curvature(model, X, y).rows.spec


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("collinear", [False, True])
@pytest.mark.parametrize("zero_cell", [False, True])
def test_shortcut_agrees_with_the_programme(seed, collinear, zero_cell, monkeypatch):
    # Poisson counts: positive counts are equality rows.  Without a zero-count cell
    # the shortcut answers "not separated" (when it applies) as the programme does;
    # with one (a binary column that is 1 only on rows with y = 0) it must not hide
    # it.  Duplicated columns (as PolynomialFeatures makes from a binary feature)
    # leave the design rank-deficient: directions the design does not see.
    rng = np.random.default_rng(seed)
    n, p = 60, 6
    X = rng.normal(size=(n, p))
    y = rng.poisson(np.exp(0.3 * X[:, 0]) + 0.5).astype(float)
    if zero_cell:
        y[:3] = 0.0
        X[:, -1] = 0.0
        X[:3, -1] = 1.0
    if collinear:
        X = np.column_stack([X, X[:, 1]])
    spec = _spec(X, y)
    rows = np.arange(n)
    used = []
    real = _separation._pinned

    def spy(Xs, eq):
        used.append(real(Xs, eq))
        return used[-1]

    monkeypatch.setattr(_separation, "_pinned", spy)
    d, n_extreme, _ = _separation._lp(spec, rows)
    monkeypatch.setattr(_separation, "_pinned", lambda Xs, eq: False)
    d_lp, n_lp, _ = _separation._lp(spec, rows)
    assert (d is None) == (d_lp is None)
    assert n_extreme == n_lp
    assert (d_lp is not None) == zero_cell
    if not zero_cell:
        assert used == [True]  # the shortcut decided (no programme solved)
    else:
        assert used == [False]
