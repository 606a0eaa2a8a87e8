"""scikit-learn's estimator checks on every estimator ticselect ships."""

import pytest
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    TweedieRegressor,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from ticselect import InformationCriteria

WRAPPED = [
    InformationCriteria(LogisticRegression()),
    InformationCriteria(LogisticRegression(C=float("inf"))),
    InformationCriteria(Ridge()),
    InformationCriteria(LinearRegression()),
    InformationCriteria(PoissonRegressor()),
    InformationCriteria(GammaRegressor()),
    InformationCriteria(TweedieRegressor(power=0)),
    InformationCriteria(make_pipeline(StandardScaler(), LogisticRegression())),
    InformationCriteria(
        MLPClassifier(
            hidden_layer_sizes=(3,), solver="lbfgs", max_iter=50, random_state=0
        )
    ),
    InformationCriteria(
        MLPRegressor(
            hidden_layer_sizes=(3,), solver="lbfgs", max_iter=50, random_state=0
        )
    ),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@parametrize_with_checks(WRAPPED)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
