"""InformationCriteria: delegation, weights, pickling, cloning."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts


@pytest.fixture
def binary(rng):
    X = rng.normal(size=(150, 3)) * [1.0, 5.0, 0.2] + 2.0
    y = (rng.random(150) < 1 / (1 + np.exp(-X[:, 0] + 2))).astype(int)
    return X, y


def test_delegates_predictions(binary):
    X, y = binary
    model = ts.InformationCriteria(LogisticRegression(C=0.5, tol=1e-10)).fit(X, y)
    inner = model.estimator_
    assert_allclose(model.predict_proba(X), inner.predict_proba(X))
    assert_allclose(model.decision_function(X), inner.decision_function(X))
    assert_allclose(model.predict_log_proba(X), inner.predict_log_proba(X))
    assert model.score(X, y) == inner.score(X, y)
    assert list(model.classes_) == [0, 1] and model.n_features_in_ == 3


def test_no_predict_proba_for_regressors(rng):
    X = rng.normal(size=(40, 2))
    y = rng.poisson(1.0, size=40)
    model = ts.InformationCriteria(PoissonRegressor()).fit(X, y)
    assert not hasattr(model, "predict_proba")
    assert not hasattr(model, "classes_")


def test_sample_weight_reaches_every_pipeline_step(binary, rng):
    """Frequency weights: weighting the whole pipeline equals duplicating rows."""
    X, y = binary
    w = rng.integers(1, 4, size=len(y))
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, tol=1e-12))
    a = ts.InformationCriteria(pipe).fit(X, y, sample_weight=w)
    b = ts.InformationCriteria(clone(pipe)).fit(np.repeat(X, w, 0), np.repeat(y, w))
    assert_allclose(a.estimator_[0].mean_, b.estimator_[0].mean_, rtol=1e-12)
    for field in ("loglik", "tic", "aic", "bic"):
        assert_allclose(
            getattr(a.criteria_, field), getattr(b.criteria_, field), rtol=1e-7
        )


def test_pickle_and_clone(binary):
    X, y = binary
    model = ts.InformationCriteria(LogisticRegression(tol=1e-10), dispersion=None)
    fitted = model.fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    assert again.criteria_ == fitted.criteria_
    assert_allclose(again.predict_proba(X), fitted.predict_proba(X))
    fresh = clone(model)
    assert not hasattr(fresh, "criteria_")
    assert fresh.get_params()["estimator"].get_params() == model.estimator.get_params()


def test_fixed_dispersion_is_passed_on(rng):
    from sklearn.linear_model import Ridge

    X = rng.normal(size=(60, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=60)
    model = ts.InformationCriteria(Ridge(alpha=1.0), dispersion=2.0).fit(X, y)
    assert model.curvature_.dispersion == 2.0
    assert not model.curvature_.dispersion_is_param
    assert model.criteria_.n_params == 3  # coefficients + intercept
