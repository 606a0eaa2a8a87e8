"""The cases of the recommendation study (``python benchmarks/selection.py --trust``).

Each case is a data set, a number of training rows and a list of candidates fitted
on the same rows: a penalty path (one estimator over a grid of its L2 strength) or
nested designs (unpenalised OLS on the powers 1..d of the features).  The issue 23
table names five of them; breast cancer at n = 100 and two large-n cases where TIC is
right complete the set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures

TOL = 1e-8


@dataclass
class Case:
    """One row of the study: data, training size and candidates."""

    name: str
    X: np.ndarray
    y: np.ndarray
    kind: str  # "class", "gaussian" or "poisson" (the test NLL)
    labels: list
    makers: list  # one callable per candidate: () -> unfitted estimator
    n_train: int
    large: bool = False  # a large-n case, where TIC is expected to be right
    path: bool = True  # candidates along one penalty (else nested designs)


def _pairs(X):
    return PolynomialFeatures(2, include_bias=False).fit_transform(X)


class Powers:
    """``[x, x², ..., x^d]`` of every column (binary columns only to the first)."""

    def __init__(self, degree, binary):
        self.degree = degree
        self.binary = np.asarray(binary, dtype=bool)

    def __call__(self, X):
        out = [X]
        for d in range(2, self.degree + 1):
            out.append(X[:, ~self.binary] ** d)
        return np.hstack(out)


def _logit(C):
    return LogisticRegression(C=C, tol=TOL, max_iter=1000, solver="newton-cholesky")


def _poisson(alpha):
    return PoissonRegressor(
        alpha=alpha, tol=TOL, max_iter=1000, solver="newton-cholesky"
    )


def _path(name, X, y, kind, make, grid, n_train, param, large=False):
    labels = [f"{param}={v:.3g}" for v in grid]
    makers = [lambda v=v: make(v) for v in grid]
    return Case(name, X, y, kind, labels, makers, n_train, large=large)


def cases():
    """``name -> Case``, in the order of the tables."""
    fair = sm.datasets.fair.load_pandas().data
    Xf = fair.drop(columns="affairs").to_numpy(float)
    affairs = fair["affairs"].to_numpy(float)
    rh = sm.datasets.randhie.load_pandas().data
    Xr, yr = rh.drop(columns="mdvis").to_numpy(float), rh["mdvis"].to_numpy(float)
    dia = load_diabetes()
    bc = load_breast_cancer()
    c_grid = np.logspace(-3, 2, 12)
    a_grid = np.logspace(-3, 3, 12)  # the best penalty lies inside (0.3–10)
    binary = [len(np.unique(c)) == 2 for c in dia.data.T]
    ols = Case(
        "diabetes, unpenalised OLS on the powers 1..d of the 10 features",
        dia.data, dia.target, "gaussian",
        [f"degree {d}" for d in (1, 2, 3, 4)],
        [
            lambda d=d: make_pipeline(
                FunctionTransformer(Powers(d, binary)), LinearRegression()
            )
            for d in (1, 2, 3, 4)
        ],
        150, path=False,
    )  # fmt: skip
    out = [
        _path("fair affairs (logistic: any affair), 44 = 8 + pairwise features",
              _pairs(Xf), (affairs > 0).astype(int), "class", _logit, c_grid, 200, "C"),
        _path("diabetes (Gaussian ridge), 65 = 10 + pairwise features",
              _pairs(dia.data), dia.target, "gaussian", lambda a: Ridge(alpha=a),
              np.logspace(-2, 3, 12), 150, "alpha"),
        ols,
        _path("fair affairs as counts (Poisson, rounded), 44 = 8 + pairwise features",
              _pairs(Xf), np.round(affairs), "poisson", _poisson, a_grid, 300,
              "alpha"),
        _path("RAND HIE doctor visits (Poisson), 54 = 9 + pairwise features",
              _pairs(Xr), yr, "poisson", _poisson, a_grid, 300, "alpha"),
        _path("breast cancer (logistic), 30 features",
              bc.data, bc.target, "class", _logit, c_grid, 100, "C"),
        _path("large n: fair affairs (logistic), 44 = 8 + pairwise features",
              _pairs(Xf), (affairs > 0).astype(int), "class", _logit, c_grid, 3000,
              "C", large=True),
        _path("large n: RAND HIE doctor visits (Poisson), 9 features",
              Xr, yr, "poisson", _poisson, np.logspace(-5, 1, 12), 5000, "alpha",
              large=True),
    ]  # fmt: skip
    return {c.name: c for c in out}
