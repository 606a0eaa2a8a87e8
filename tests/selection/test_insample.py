"""The InSample splitter (ticselect/selection/_insample.py)."""

import pickle

import numpy as np
import pandas as pd
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from ticselect import InSample


def test_insample_split_forms():
    for X in [np.zeros((4, 2)), pd.DataFrame(np.zeros((4, 2))), [[0], [1], [2], [3]]]:
        (split,) = list(InSample().split(X))
        assert_array_equal(split[0], np.arange(4))
        assert_array_equal(split[1], np.arange(4))
    assert InSample().get_n_splits() == 1


def test_insample_scores_the_training_rows():
    """cross_val_score with InSample = the estimator's score on its own fit."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + rng.logistic(size=60) > 0).astype(int)
    est = LogisticRegression()
    (score,) = cross_val_score(est, X, y, cv=InSample())
    assert score == clone(est).fit(X, y).score(X, y)
    assert repr(pickle.loads(pickle.dumps(InSample()))) == "InSample()"
