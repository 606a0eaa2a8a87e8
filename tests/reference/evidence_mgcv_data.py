"""Data behind ``evidence_mgcv.R`` (the mgcv reference values of the evidence tests).

Run ``python -m tests.reference.evidence_mgcv_data DIR`` from the repository root to
write the CSV files the R script reads; the tests rebuild the same arrays with the
functions below and check them against the checksums stored in
``evidence_mgcv.json``.  Every design is standardised (mean 0, population sd 1) so that
one ridge precision is meaningful for all columns.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def _standardise(X):
    X = np.asarray(X, dtype=float)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def breast_cancer():
    """Logistic data: scikit-learn's breast cancer, the ten "mean" features."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return _standardise(data.data[:, :10]), data.target.astype(float)


def randhie():
    """Poisson data: statsmodels' RAND HIE, first 1000 rows, ``mdvis`` counts."""
    import statsmodels.api as sm

    df = sm.datasets.randhie.load_pandas().data.iloc[:1000]
    y = df["mdvis"].to_numpy(dtype=float)
    return _standardise(df.drop(columns="mdvis").to_numpy()), y


def three_groups(n=400, seed=2025):
    """Synthetic logistic data: three groups of three features (strong to weak)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 9))
    beta = np.array([1.5, -1.0, 1.0, 0.5, -0.4, 0.4, 0.25, -0.2, 0.2])
    eta = -0.3 + X @ beta
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y


DATASETS = {"breast_cancer": breast_cancer, "randhie": randhie,
            "three_groups": three_groups}  # fmt: skip


def checksum(X, y):
    """Sums that identify a data set: ``[Σ y, Σ X, Σ X²]``."""
    return [float(np.sum(y)), float(np.sum(X)), float(np.sum(X**2))]


def main(out):  # pragma: no cover - run by hand before evidence_mgcv.R
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, fn in DATASETS.items():
        X, y = fn()
        cols = ["y"] + [f"x{j}" for j in range(X.shape[1])]
        np.savetxt(out / f"{name}.csv", np.column_stack([y, X]), delimiter=",",
                   header=",".join(cols), comments="", fmt="%.17g")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1] if len(sys.argv) > 1 else "evidence_mgcv_data")
