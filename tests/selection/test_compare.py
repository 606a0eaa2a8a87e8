"""The comparison table: compare(), Comparison and Akaike-type weights."""

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.selection._compare import Comparison, akaike_weights, compare

# Table entries are copied from Criteria computed in float64 by the same code path.
RTOL = 1e-12
# Two independent lbfgs fits with tol=1e-10 agree to ~1e-8 relative in the criteria.
RTOL_REFIT = 1e-6


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] - X[:, 1] + rng.logistic(size=300) > 0).astype(int)
    return X, y


def _hand_weights(values):
    v = np.asarray(values, dtype=float)
    d = v - v.min()
    e = np.exp(-d / 2)
    return d, e / e.sum()


def test_akaike_weights_hand_formula():
    values = [100.0, 101.5, 104.0, 99.2]
    d, w = akaike_weights(values)
    d_ref, w_ref = _hand_weights(values)
    assert_allclose(d, d_ref, rtol=RTOL)
    assert_allclose(w, w_ref, rtol=RTOL)
    # Burnham & Anderson (2002) Table 2.x style check: Δ = 2 gives a ratio e^{-1}
    d, w = akaike_weights([0.0, 2.0])
    assert_allclose(w[1] / w[0], np.exp(-1.0), rtol=RTOL)
    d, w = akaike_weights([5.0, np.inf])
    assert d[1] == np.inf and w[1] == 0.0 and w[0] == 1.0
    d, w = akaike_weights([np.inf, np.inf])
    assert np.all(np.isnan(w))


def test_compare_matches_criteria_and_weights(data):
    X, y = data
    Cs = [0.003, 0.03, 1.0]
    models = {f"C={C}": LogisticRegression(C=C, tol=1e-10) for C in Cs}
    table = compare(models, X, y)
    ref = {
        f"C={C}": ts.criteria(
            ts.curvature(LogisticRegression(C=C, tol=1e-10).fit(X, y), X, y)
        )
        for C in Cs
    }
    rows = table.to_dict()
    assert list(rows) == sorted(ref, key=lambda k: ref[k].tic)  # ranked by TIC
    assert table.best == min(ref, key=lambda k: ref[k].tic)
    for crit_name in ["aic", "aicc", "bic", "tic"]:
        values = [getattr(ref[name], crit_name) for name in rows]
        d_ref, w_ref = _hand_weights(values)
        assert_allclose([r[crit_name] for r in rows.values()], values, rtol=RTOL_REFIT)
        # Δ is a difference of ~300-sized numbers: compare absolutely
        assert_allclose([r[f"d_{crit_name}"] for r in rows.values()], d_ref, atol=1e-5)
        assert_allclose([r[f"w_{crit_name}"] for r in rows.values()], w_ref, atol=1e-6)
        assert_allclose(
            sum(r[f"w_{crit_name}"] for r in rows.values()), 1.0, rtol=1e-12
        )
    for name, row in rows.items():
        assert row["k"] == ref[name].n_params == 6
        assert_allclose(row["loglik"], ref[name].loglik, rtol=RTOL_REFIT)
        assert_allclose(row["gap_estimate"], ref[name].gap_estimate, rtol=RTOL_REFIT)
        assert row["stationarity"] < 1e-4


def test_compare_fitted_unfitted_wrapped_and_statsmodels_agree(data):
    X, y = data
    est = LogisticRegression(C=np.inf, tol=1e-10)
    fitted = LogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    wrapped = ts.InformationCriteria(LogisticRegression(C=np.inf, tol=1e-10)).fit(X, y)
    res = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12)
    table = compare([est, fitted, wrapped, res], X, y, names=["a", "b", "c", "d"])
    tic = [table.to_dict()[n]["tic"] for n in "abcd"]
    # unpenalised logistic MLE from two solvers (lbfgs vs IRLS): ~1e-7 relative
    assert_allclose(tic, tic[0], rtol=1e-6)
    assert_allclose(table.to_dict()["d"]["loglik"], res.llf, rtol=1e-8)
    assert_allclose(table.to_dict()["d"]["aic"], res.aic, rtol=1e-8)
    assert table.estimators["b"] is fitted  # fitted models are used as they are
    assert table.estimators["a"] is not est  # unfitted ones are cloned, not mutated
    assert not hasattr(est, "coef_")


def test_compare_sort_by_and_forms(data):
    X, y = data
    pipes = [
        make_pipeline(StandardScaler(), LogisticRegression(C=C, tol=1e-10))
        for C in (0.001, 0.1)
    ]
    table = compare(pipes, X, y, sort_by="bic")
    rows = table.to_dict()
    bics = [r["bic"] for r in rows.values()]
    assert bics == sorted(bics)
    assert list(rows) == table.names
    # default names come from the last step, de-duplicated
    assert all(n.startswith("LogisticRegression(C=") for n in table.names)
    frame = table.to_frame()
    assert list(frame.index) == table.names
    assert list(frame.columns) == table.columns
    assert_allclose(frame["w_bic"].to_numpy(), [r["w_bic"] for r in rows.values()])
    text = table.summary()
    assert text.splitlines()[0].split()[:3] == ["model", "k", "loglik"]
    assert "ranked by BIC" in text
    assert "<table>" in table._repr_html_() and table.names[0] in table._repr_html_()
    dup = compare([pipes[0], pipes[0]], X, y)
    # two distinct names for the same model, the second occurrence marked "#2"
    # (the table is ranked, so the order of the two rows is not fixed)
    base = next(n for n in dup.names if not n.endswith("#2"))
    assert sorted(dup.names) == [base, base + "#2"]


def test_compare_infinite_aicc_gets_zero_weight():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 6))
    y = rng.poisson(2.0, size=8)
    est = PoissonRegressor(alpha=1.0, tol=1e-12)
    small = est.fit(X[:, :1], y)
    small = ts.criteria(ts.curvature(small, X[:, :1], y))  # k = 2: finite AICc
    big = ts.criteria(ts.curvature(clone(est).fit(X, y), X, y))  # k = 7 = n - 1
    assert np.isfinite(small.aicc) and big.aicc == np.inf
    rows = compare({"big": big, "small": small}).to_dict()
    assert rows["big"]["d_aicc"] == np.inf and rows["big"]["w_aicc"] == 0.0
    assert rows["small"]["w_aicc"] == 1.0
    # every AICc infinite: no ranking information, weights are nan
    rows = compare({"a": big, "b": big}).to_dict()
    assert np.isnan(rows["a"]["w_aicc"]) and np.isnan(rows["b"]["w_aicc"])


def test_compare_misuse(data):
    X, y = data
    with pytest.raises(ValueError, match="sort_by must be one of"):
        compare([LogisticRegression()], X, y, sort_by="dic")
    with pytest.raises(ValueError, match="not fitted: pass X and y"):
        compare([LogisticRegression()])
    with pytest.raises(ValueError, match="2 names for 1 models"):
        compare([LogisticRegression()], X, y, names=["a", "b"])
    a = LogisticRegression().fit(X, y)
    small = ts.InformationCriteria(LogisticRegression()).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="different numbers of samples"):
        compare([a, small], X, y)
    with pytest.raises(TypeError, match="compare\\(\\) takes"):
        compare([object()], X, y)
    with pytest.raises(ValueError, match="at least one"):
        compare([], X, y)
    with pytest.raises(ValueError, match="Unknown columns"):
        compare([small]).summary(columns=["tic", "dic"])


def test_comparison_accepts_criteria_objects(data):
    X, y = data
    crits = [
        ts.criteria(ts.curvature(LogisticRegression(C=C).fit(X, y), X, y))
        for C in (0.01, 1.0)
    ]
    table = compare(crits, names=["lo", "hi"])
    assert isinstance(table, Comparison)
    assert table.estimators == {"lo": None, "hi": None}
    assert_allclose(table.to_dict()["lo"]["tic"], crits[0].tic, rtol=RTOL)


def test_compare_recommends_alo_pick_where_tic_fails():
    """Issue 23: 100 rows of breast cancer, where TIC picks the weakest penalty."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))[:100]
    X, y = StandardScaler().fit_transform(X[idx]), y[idx]
    models = {
        f"C={C:g}": LogisticRegression(C=C, tol=1e-10, max_iter=10_000)
        for C in (0.01, 0.1, 1.0, 10.0, 100.0)
    }
    table = compare(models, X, y)
    alo = {name: row["alo"] for name, row in table.to_dict().items()}
    tic = {name: row["tic"] for name, row in table.to_dict().items()}
    assert table.recommended == min(alo, key=alo.get) == "C=10"
    assert table.tic_pick == min(tic, key=tic.get) == "C=100"
    assert table.sort_by == "alo" and table.names == sorted(alo, key=alo.get)
    assert table.recommendation.criterion == "alo"
    assert table.pick_note.startswith(
        "ALO's pick 'C=10': TIC's pick 'C=100' is flagged"
    )
    text = table.summary().splitlines()
    assert text[2].startswith("> C=10 ") and text[-1].startswith("recommended: 'C=10'")
    # d_alo_se: the paired standard error of d_alo from the pointwise terms
    row, best = table.loo["C=100"], table.loo["C=10"]
    d = 2.0 * (row.pointwise - best.pointwise)
    assert_allclose(
        table.to_dict()["C=100"]["d_alo_se"], np.sqrt(len(d) * d.var()), rtol=RTOL
    )
    assert compare(models, X, y, sort_by="tic").names[0] == "C=100"
