"""An elastic-net logistic fit against R's glmnet (reference values with provenance).

The values come from ``tests/reference/glmnet_enet_logistic.R`` (run once with R and
Debian's r-cran-glmnet; CI has no R): glmnet fits of the Pima data at four
``lambda`` with ``alpha = 0.5``.  scikit-learn's
``LogisticRegression(C = 1/(n·lambda), l1_ratio = alpha)`` minimises the same
objective (times ``C·n``).
"""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import ticselect as ts

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "glmnet_enet_logistic.json").read_text()
)


def _data():
    X_raw = np.asarray(REFERENCE["X_raw"], dtype=float)
    # R's scale(): mean 0, standard deviation with n - 1
    X = (X_raw - X_raw.mean(0)) / X_raw.std(0, ddof=1)
    return X, np.asarray(REFERENCE["y"], dtype=float)


def _twin(fit, n):
    """A LogisticRegression holding glmnet's coefficients (the same objective)."""
    model = LogisticRegression(C=1.0 / (n * fit["lambda"]), l1_ratio=REFERENCE["alpha"])
    model.coef_ = np.asarray(fit["coef"], dtype=float)[None, :]
    model.intercept_ = np.array([fit["intercept"]])
    model.classes_ = np.array([0.0, 1.0])
    model.n_features_in_ = len(fit["coef"])
    return model


@pytest.mark.parametrize("index", range(len(REFERENCE["fits"])))
def test_glmnet_solution_is_stationary_with_its_active_set(index):
    """At glmnet's own coefficients the penalised gradient vanishes in our units."""
    X, y = _data()
    fit = REFERENCE["fits"][index]
    curv = ts.curvature(_twin(fit, len(y)), X, y)
    names = REFERENCE["feature_names"]
    assert curv.active_set.active_names == [f"x{j}" for j in fit["active"]] + [
        "intercept"
    ]
    assert len(fit["active"]) == fit["df"]
    # glmnet's thresh=1e-16: its solution is stationary to rounding in our units
    assert curv.stationarity < 1e-8
    assert curv.active_set.violation == 0.0
    crit = ts.criteria(curv)
    # binary y: the saturated log-likelihood is 0, so loglik = -deviance / 2
    np.testing.assert_allclose(crit.loglik, -fit["deviance"] / 2, rtol=1e-12)
    np.testing.assert_allclose(crit.null_loglik, -fit["null_deviance"] / 2, rtol=1e-12)
    np.testing.assert_allclose(crit.mcfadden_r2, fit["dev_ratio"], rtol=1e-10)
    assert crit.n_params == fit["df"] + 1  # + the intercept
    assert len(names) == X.shape[1]


@pytest.mark.parametrize("index", range(len(REFERENCE["fits"])))
def test_sklearn_elastic_net_logistic_matches_glmnet(index):
    """scikit-learn's fit, read by ticselect, has glmnet's loglik and active set."""
    X, y = _data()
    fit = REFERENCE["fits"][index]
    n = len(y)
    model = LogisticRegression(
        C=1.0 / (n * fit["lambda"]),
        l1_ratio=REFERENCE["alpha"],
        solver="saga",
        tol=1e-12,
        max_iter=100000,
    ).fit(X, y)
    curv = ts.curvature(model, X, y)
    crit = ts.criteria(curv)
    assert curv.active_set.active_names[:-1] == [f"x{j}" for j in fit["active"]]
    # saga at tol=1e-12 vs glmnet at 1e-16: the objective agrees to ~1e-10 nats
    np.testing.assert_allclose(crit.loglik, -fit["deviance"] / 2, rtol=1e-9)
    np.testing.assert_allclose(
        curv.params[:-1], np.asarray(fit["coef"])[fit["active"]], rtol=1e-5, atol=1e-7
    )
    assert crit.n_params == fit["df"] + 1
    np.testing.assert_allclose(
        crit.aic, fit["deviance"] + 2 * (fit["df"] + 1), rtol=1e-9
    )
