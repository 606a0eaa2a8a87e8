"""ModelAverage: weights, averaged predictive distributions, coefficients, refusals."""

import dataclasses
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import special, stats
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge

import ticselect as ts
from ticselect.selection._weights import pseudo_bma_weights, stacking_weights


def _logistic(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return X, y


def _path(X, y, grid=(0.01, 0.1, 1.0, 10.0)):
    est = LogisticRegression(tol=1e-10, max_iter=10_000)
    return ts.criterion_path(est, "C", list(grid), X, y)


@pytest.fixture(scope="module")
def logistic():
    X, y = _logistic()
    return X, y, _path(X, y)


def test_weights_are_the_functions_of_the_candidates(logistic):
    X, y, path = logistic
    L = 2.0 * np.column_stack([r.pointwise for r in path.loo])
    stack = ts.ModelAverage(path).fit(X, y)
    np.testing.assert_allclose(stack.loo_losses_, L, rtol=1e-12)
    np.testing.assert_allclose(stack.weights_, stacking_weights(L), atol=1e-9)
    alo = ts.ModelAverage(path, weights="alo").fit(X, y)
    rel = np.exp(-(L.sum(0) - L.sum(0).min()) / 2)
    np.testing.assert_allclose(alo.weights_, rel / rel.sum(), rtol=1e-10)
    plus = ts.ModelAverage(path, weights="pseudo_bma_plus", random_state=3).fit(X, y)
    np.testing.assert_allclose(plus.weights_, pseudo_bma_weights(L, random_state=3))
    for method, attr in (("tic", "tic"), ("akaike", "aic")):
        v = np.array([getattr(c, attr) for c in path.criteria])
        rel = np.exp(-(v - v.min()) / 2)
        got = ts.ModelAverage(path, weights=method).fit(X, y).weights_
        np.testing.assert_allclose(got, rel / rel.sum(), rtol=1e-10)
        assert ts.ModelAverage(path, weights=method).fit(X, y).loo_losses_ is not None


def test_every_input_form_gives_the_same_average(logistic):
    X, y, path = logistic
    models = {f"C={C:g}": e for C, e in zip(path.values, path.estimators_, strict=True)}
    unfitted = [clone(e) for e in path.estimators_]
    table = ts.compare(models, X, y)
    forms = [
        ts.ModelAverage(path).fit(X, y),
        ts.ModelAverage(list(models.values())).fit(X, y),
        ts.ModelAverage(models).fit(X, y),
        ts.ModelAverage(unfitted).fit(X, y),
        ts.ModelAverage(table).fit(),
    ]
    ref = forms[0].predict_proba(X)
    for f in forms[1:]:
        np.testing.assert_allclose(f.predict_proba(X), ref, atol=1e-7)
    assert forms[2].names_ == list(models)
    assert forms[4].names_ == table.names  # ranked


def test_averaged_distribution_by_hand(logistic):
    X, y, path = logistic
    avg = ts.ModelAverage(path).fit(X, y)
    rng = np.random.default_rng(1)
    Xt = rng.normal(size=(40, 5))
    yt = rng.integers(0, 2, size=40)
    P = [e.predict_proba(Xt) for e in path.estimators_]
    mix = sum(w * p for w, p in zip(avg.weights_, P, strict=True))
    np.testing.assert_allclose(avg.predict_proba(Xt), mix, rtol=1e-12)
    assert avg.predict(Xt).tolist() == np.argmax(mix, axis=1).tolist()
    np.testing.assert_allclose(
        avg.predictive_nll(Xt, yt), -np.log(mix[np.arange(40), yt]), rtol=1e-10
    )
    np.testing.assert_allclose(
        avg.candidate_nll(Xt, yt),
        -np.log(np.column_stack([p[np.arange(40), yt] for p in P])),
        rtol=1e-12,
    )
    assert avg.score(Xt, yt) == np.mean(avg.predict(Xt) == yt)


def test_regression_densities_by_hand():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 4))
    y = X @ [1.0, 0.5, 0.0, 0.0] + rng.normal(size=120)
    avg = ts.ModelAverage([Ridge(alpha=a) for a in (0.1, 10.0, 100.0)]).fit(X, y)
    Xt = rng.normal(size=(30, 4))
    yt = Xt @ [1.0, 0.5, 0.0, 0.0] + rng.normal(size=30)
    cols = []
    for m in avg.estimators_:
        s2 = np.mean((y - m.predict(X)) ** 2)  # ML variance on the training rows
        cols.append(-stats.norm.logpdf(yt, m.predict(Xt), np.sqrt(s2)))
    nll = np.column_stack(cols)
    np.testing.assert_allclose(avg.candidate_nll(Xt, yt), nll, rtol=1e-10)
    mix = -special.logsumexp(-nll, b=avg.weights_, axis=1)
    np.testing.assert_allclose(avg.predictive_nll(Xt, yt), mix, rtol=1e-10)
    means = np.column_stack([m.predict(Xt) for m in avg.estimators_])
    np.testing.assert_allclose(avg.predict(Xt), means @ avg.weights_, rtol=1e-12)
    counts = rng.poisson(np.exp(0.3 * X[:, 0]))
    pois = ts.ModelAverage([PoissonRegressor(alpha=a, tol=1e-10) for a in (0.01, 1)])
    pois.fit(X, counts)
    mu = np.column_stack([m.predict(X[:10]) for m in pois.estimators_])
    np.testing.assert_allclose(
        pois.candidate_nll(X[:10], counts[:10]),
        -stats.poisson.logpmf(counts[:10, None], mu),
        rtol=1e-10,
    )


def test_candidate_order_does_not_matter(logistic):
    X, y, path = logistic
    est = path.estimators_
    a = ts.ModelAverage(est).fit(X, y)
    b = ts.ModelAverage(est[::-1]).fit(X, y)
    np.testing.assert_allclose(b.weights_, a.weights_[::-1], atol=1e-8)
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), atol=1e-8)


def test_pickle_and_clone(logistic):
    X, y, path = logistic
    avg = ts.ModelAverage(path.estimators_).fit(X, y)
    back = pickle.loads(pickle.dumps(avg))
    np.testing.assert_array_equal(back.predict_proba(X), avg.predict_proba(X))
    np.testing.assert_array_equal(back.weights_, avg.weights_)
    assert not hasattr(clone(avg), "weights_")


def test_refuses_candidates_fitted_to_different_rows(logistic):
    X, y, path = logistic
    other = LogisticRegression(C=1.0, tol=1e-10).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="stationary point.*different rows") as err:
        ts.ModelAverage([path.estimators_[1], other]).fit(X, y)
    assert "\n" not in str(err.value)
    table = ts.compare(dict(zip("ab", path.estimators_[:2], strict=True)), X, y)
    with pytest.raises(ValueError, match="fitted to 150 rows but fit got 100"):
        ts.ModelAverage(table).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="path was computed on 150 rows"):
        ts.ModelAverage(path).fit(X[:100], y[:100])
    data = sm.datasets.anes96.load_pandas().data
    a = smf.glm("vote ~ selfLR", data, family=sm.families.Binomial()).fit()
    b = smf.glm("vote ~ selfLR + age", data.iloc[:800],
                family=sm.families.Binomial()).fit()  # fmt: skip
    with pytest.raises(ValueError, match="different rows .*944 rows.*800 rows") as err:
        ts.ModelAverage([a, b], weights="tic").fit()
    assert "\n" not in str(err.value)
    flipped = data.assign(vote=1 - data["vote"])
    c = smf.glm("vote ~ selfLR", flipped, family=sm.families.Binomial()).fit()
    with pytest.raises(ValueError, match="different responses"):
        ts.ModelAverage([a, c], weights="tic").fit()


def test_bad_arguments(logistic):
    X, y, path = logistic
    with pytest.raises(ValueError, match="weights must be one of"):
        ts.ModelAverage(path, weights="bma").fit(X, y)
    with pytest.raises(TypeError, match="candidates must be"):
        ts.ModelAverage("C").fit(X, y)
    with pytest.raises(ValueError, match="requires y"):
        ts.ModelAverage([LogisticRegression()]).fit(X)
    with pytest.raises(ValueError, match="at least one"):
        ts.ModelAverage([]).fit(X, y)
    crit_only = ts.compare({"a": path.criteria[0], "b": path.estimators_[1]}, X, y)
    with pytest.raises(ValueError, match="as Criteria"):
        ts.ModelAverage(crit_only).fit()
    nopath = ts.criterion_path(LogisticRegression(), "C", [1.0], X, y,
                               keep_estimators=False)  # fmt: skip
    with pytest.raises(ValueError, match="keep_estimators"):
        ts.ModelAverage(nopath).fit(X, y)


@pytest.fixture(scope="module")
def anes_table():
    data = sm.datasets.anes96.load_pandas().data
    formulas = {
        "ideology": "vote ~ selfLR",
        "+ age": "vote ~ selfLR + age",
        "+ age + educ": "vote ~ selfLR + age + educ",
        "+ TV": "vote ~ selfLR + TVnews",
        "+ educ + TV": "vote ~ selfLR + educ + TVnews",
    }
    return data, formulas, ts.compare_formulas(data, formulas, family="binomial")


@pytest.mark.parametrize("method", ["akaike", "stacking"])
def test_coef_table_is_burnham_anderson_by_hand(anes_table, method):
    """Revised unconditional SEs computed from statsmodels' own fits."""
    data, formulas, table = anes_table
    avg = ts.ModelAverage(table, weights=method).fit()
    w = dict(zip(avg.names_, avg.weights_, strict=True))
    fits = {k: smf.glm(f, data, family=sm.families.Binomial()).fit(tol=1e-12)
            for k, f in formulas.items()}  # fmt: skip
    if method == "akaike":  # Akaike weights from statsmodels' AIC
        aic = pd.Series({k: r.aic for k, r in fits.items()})
        rel = np.exp(-(aic - aic.min()) / 2)
        for k in fits:
            assert np.isclose(w[k], rel[k] / rel.sum(), rtol=1e-6, atol=1e-12)
    got = avg.coef_table()
    names = list(dict.fromkeys(n for r in fits.values() for n in r.params.index))
    assert sorted(got.index) == sorted(names)
    for name in names:
        wk = np.array([w[k] for k in fits])
        has = np.array([name in r.params.index for r in fits.values()])
        b = np.array([r.params.get(name, 0.0) for r in fits.values()])
        s = np.array([r.bse.get(name, 0.0) for r in fits.values()])
        full = np.sum(wk * b)
        full_se = np.sqrt(np.sum(wk * (s**2 + (b - full) ** 2)))
        wc = wk * has / np.sum(wk * has)
        cond = np.sum(wc * b)
        cond_se = np.sqrt(np.sum(wc * (s**2 + (b - cond) ** 2)))
        row = got.loc[name]
        # statsmodels' IRLS stops at tol=1e-12 (relative deviance); the expected
        # information equals the observed one for the canonical logit link
        assert np.isclose(row["estimate"], full, rtol=1e-6, atol=1e-9)
        assert np.isclose(row["se"], full_se, rtol=1e-6)
        assert np.isclose(row["estimate_cond"], cond, rtol=1e-6, atol=1e-9)
        assert np.isclose(row["se_cond"], cond_se, rtol=1e-6)
        assert np.isclose(row["importance"], np.sum(wk * has), rtol=1e-12)
        assert row["n_models"] == has.sum()


def test_coef_table_one_model_is_its_inference(anes_table):
    data, formulas, table = anes_table
    res = smf.glm(formulas["+ age"], data, family=sm.families.Binomial()).fit()
    avg = ts.ModelAverage([res], weights="tic").fit()
    got = avg.coef_table()
    np.testing.assert_allclose(got["estimate"], res.params, rtol=1e-6)
    np.testing.assert_allclose(got["se"], res.bse, rtol=1e-6)
    np.testing.assert_allclose(got["importance"], 1.0)
    robust = avg.coef_table(cov_type="HC0")
    ref = smf.glm(formulas["+ age"], data, family=sm.families.Binomial()).fit(
        cov_type="HC0"
    )
    np.testing.assert_allclose(robust["se"], ref.bse, rtol=1e-5)


def test_coef_table_refuses_to_average_network_weights():
    # Two networks of the same shape fit the same function with their hidden units
    # in another order: "coefs_[0][x0,0]" was averaged across them as if it were one
    # parameter.  One network beside GLMs keeps its rows (n_models = 1).
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = X[:, 0] + rng.normal(size=60)
    nets = [
        MLPRegressor(
            hidden_layer_sizes=(2,),
            solver="lbfgs",
            alpha=1.0,
            random_state=seed,
            max_iter=2000,
        )  # fmt: skip
        for seed in (0, 1)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small networks' own fit warnings
        avg = ts.ModelAverage(nets, weights="akaike").fit(X, y)
        with pytest.raises(ValueError, match="hidden units can be permuted"):
            avg.coef_table()
        table = ts.ModelAverage([nets[0], Ridge()], weights="akaike").fit(X, y)
        table = table.coef_table()
    assert table.loc["coefs_[0][x0,0]", "n_models"] == 1
    assert table.loc["x0", "n_models"] == 1


def test_non_finite_alo_gets_zero_weight(logistic):
    X, y, path = logistic
    loo = path.loo[0]
    bad = loo.pointwise.copy()
    bad[0] = np.inf  # a one-step leave-one-out that left the parameter space
    path.loo[0] = dataclasses.replace(loo, pointwise=bad)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            avg = ts.ModelAverage(path).fit(X, y)
        assert avg.weights_[0] == 0.0 and np.isclose(avg.weights_.sum(), 1.0)
        assert any("non-finite ALO" in str(c.message) for c in caught)
    finally:
        path.loo[0] = loo
