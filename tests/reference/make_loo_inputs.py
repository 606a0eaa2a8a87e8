"""Write the pointwise matrices that ``loo_weights.R`` compares with R's ``loo``.

Run once from the repository root: ``python tests/reference/make_loo_inputs.py``
(then ``Rscript tests/reference/loo_weights.R``).  Each CSV holds one matrix
``losses[i, k] = 2·ℓᵢ(θ₋ᵢ)``, the approximate leave-one-out deviance of row ``i``
under candidate ``k`` (columns named by candidate), from
:func:`ticselect.approximate_loo` on real data.  R reads
``elpd_loo = -losses / 2``.  The values are inputs, not results: any matrix
would do; real ones give realistic spreads and ties.
"""

from pathlib import Path

import numpy as np
import statsmodels.api as sm
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor
from sklearn.preprocessing import StandardScaler

import ticselect as ts

HERE = Path(__file__).resolve().parent


def _alo(model, X, y):
    curv = ts.curvature(model.fit(X, y), X, y)
    return 2.0 * ts.approximate_loo(curv).pointwise


def breast_subsets():
    """Logistic regressions on five feature subsets, 150 rows (interior stacking)."""
    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))[:150]
    X = StandardScaler().fit_transform(X[idx])
    y = y[idx]
    subsets = {
        "mean radius+texture": [0, 1],
        "worst area": [23],
        "concavity": [6, 26],
        "smoothness+symmetry": [4, 8, 24, 28],
        "mixed": [1, 7, 21],
    }
    return {
        k: _alo(LogisticRegression(C=1.0, tol=1e-10), X[:, c], y)
        for k, c in subsets.items()
    }


def poisson_path():
    """A Poisson penalty path on RAND HIE, 120 rows (stacking weight at the edge)."""
    data = sm.datasets.randhie.load_pandas().data
    rows = np.random.default_rng(1).permutation(len(data))[:120]
    X = StandardScaler().fit_transform(data.drop(columns="mdvis").to_numpy(float)[rows])
    y = data["mdvis"].to_numpy(float)[rows]
    return {
        f"alpha={a:g}": _alo(PoissonRegressor(alpha=a, tol=1e-10, max_iter=1000), X, y)
        for a in (1.0, 0.1, 0.01, 0.001)
    }


def diabetes_small():
    """Least squares on four feature subsets, 60 rows (n < 100)."""
    X, y = load_diabetes(return_X_y=True)
    idx = np.random.default_rng(2).permutation(len(y))[:60]
    X, y = X[idx], y[idx]
    subsets = {"bmi": [2], "bmi+bp": [2, 3], "s5": [8], "bmi+s5": [2, 8]}
    return {k: _alo(LinearRegression(), X[:, c], y) for k, c in subsets.items()}


def main():
    for name, make in (
        ("breast_subsets", breast_subsets),
        ("poisson_path", poisson_path),
        ("diabetes_small", diabetes_small),
    ):
        cols = make()
        header = ",".join(f'"{k}"' for k in cols)
        M = np.column_stack(list(cols.values()))
        np.savetxt(
            HERE / f"loo_{name}.csv",
            M,
            delimiter=",",
            header=header,
            comments="",
            fmt="%.17g",
        )


if __name__ == "__main__":
    main()
