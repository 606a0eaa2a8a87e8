"""Criterion scorers with groups=: the clustered TIC inside GridSearchCV."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import ticselect as ts
from ticselect.scoring import criteria_scoring


def _data():
    rng = np.random.default_rng(0)
    G, m = 30, 8
    g = np.repeat(np.arange(G), m)
    X = rng.normal(size=(G * m, 4))
    X[:, 1] = rng.normal(size=G)[g]  # a cluster-level covariate
    u = rng.normal(size=G)[g]
    y = (X[:, 0] + X[:, 1] + u + rng.logistic(size=G * m) > 0).astype(int)
    return X, y, g


def test_grouped_scorer_equals_clustered_tic():
    X, y, g = _data()
    grid = [0.01, 0.1, 1.0, 10.0]
    search = GridSearchCV(
        LogisticRegression(tol=1e-10), {"C": grid}, cv=ts.InSample(),
        scoring=ts.get_scorer("neg_tic", groups=g),
    ).fit(X, y)  # fmt: skip
    tic = [
        ts.criteria(
            ts.curvature(LogisticRegression(C=C, tol=1e-10).fit(X, y), X, y, groups=g)
        ).tic
        for C in grid
    ]
    n = len(y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], -np.array(tic) / (2 * n), rtol=1e-6
    )
    multi = criteria_scoring("neg_tic", "neg_bic", groups=g)
    m = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    out = multi(m, X, y)
    assert np.isclose(out["neg_tic"], -tic[2] / (2 * n), rtol=1e-6)
    # BIC counts rows, not groups: unchanged by groups=
    assert np.isclose(out["neg_bic"], ts.get_scorer("neg_bic")(m, X, y))


def test_grouped_scorer_errors():
    X, y, g = _data()
    m = LogisticRegression(tol=1e-10).fit(X, y)
    scorer = ts.make_criterion_scorer(lambda c: c.tic, groups=g)
    with pytest.raises(ValueError, match="InSample"):
        scorer(m, X[:100], y[:100])
    with pytest.raises(ValueError, match="criterion scorers only"):
        ts.get_scorer("neg_log_loss", groups=g)
