"""Reference values from R with their provenance (scripts beside the data)."""

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: Pointwise matrices compared with R loo (make_loo_inputs.py, loo_weights.R).
LOO_CASES = ("breast_subsets", "poisson_path", "diabetes_small")


def loo_matrix(case):
    """``losses[i, k]`` (deviance scale) of one stored case."""
    return np.loadtxt(HERE / f"loo_{case}.csv", delimiter=",", skiprows=1)


def loo_reference():
    """R loo's values on those matrices (loo_reference.json)."""
    return json.loads((HERE / "loo_reference.json").read_text())
