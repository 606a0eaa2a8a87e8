"""The uncertainty columns in the tables: compare, criterion_path, ticselect select.

Every column is checked against a hand computation from the models' own per-row
values (``ts.pointwise``, ``LOOResult.pointwise``), independent of
``selection._uncertainty``: loo's ``se_diff`` (divisor n - 1), ``Φ(d / se)``,
Akaike weights, their cumulative sums, ``exp(d / 2)`` and the 95 % set.
"""

import contextlib
import io
import json
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression

import ticselect as ts
from ticselect.cli import main
from ticselect.selection._uncertainty import best_of_many

# same fits, same arithmetic in another order: rounding only
RTOL = 1e-9


def _data(n=150, p=6, seed=0, noise=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    signal = 0.0 if noise else X[:, 0] + 0.5 * X[:, 1]
    y = (signal + rng.normal(size=n) > 0).astype(int)
    return X, y


def _hand_columns(losses, totals):
    """Hand computation of every uncertainty column from a per-row matrix."""
    b = int(np.argmin(totals))
    n = losses.shape[0]
    d = totals - totals[b]
    delta = losses - losses[:, [b]]
    se = np.sqrt(n) * delta.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = norm.cdf(d / se)
    p[b] = np.nan
    w = np.exp(-d / 2) / np.exp(-d / 2).sum()
    order = np.argsort(d, kind="stable")
    cum = np.empty_like(w)
    cum[order] = np.cumsum(w[order])
    in_set = (cum - w) < 0.95
    return d, se, p, cum, np.exp(d / 2), in_set


@pytest.fixture(scope="module")
def table():
    X, y = _data()
    models = {
        f"C={C:g}": LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
        for C in (0.003, 0.03, 0.3, 3.0, 30.0)
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.compare(models, X, y), models, X, y


@pytest.mark.parametrize("crit", ["alo", "tic"])
def test_compare_columns_equal_a_hand_computation(table, crit):
    cmp, models, X, y = table
    names = cmp.names
    if crit == "alo":
        losses = np.column_stack([2 * cmp.loo[m].pointwise for m in names])
    else:
        losses = np.column_stack(
            [ts.pointwise(ts.curvature(models[m], X, y)).tic for m in names]
        )
    totals = losses.sum(axis=0)
    d, se, p, cum, er, in_set = _hand_columns(losses, totals)
    rows = cmp.to_dict()
    got = {k: np.array([rows[m][k] for m in names]) for k in rows[names[0]]}
    assert_allclose(got[f"d_{crit}"], d, rtol=RTOL, atol=1e-8)
    assert_allclose(got[f"d_{crit}_se"], se, rtol=RTOL, atol=1e-10)
    assert_allclose(got[f"p_worse_{crit}"], p, rtol=1e-7, atol=1e-12)
    assert_allclose(got[f"cum_w_{crit}"], cum, rtol=1e-7)
    assert_allclose(got[f"er_{crit}"], er, rtol=1e-7)
    assert got[f"in_set_{crit}"].tolist() == in_set.tolist()
    # n = 150 >= 100: only "similar predictions" is diagnosed, where 0 < d < 8
    assert got[f"diag_{crit}"].tolist() == ["|d|<8" if 0 < x < 8 else "" for x in d]
    assert set(cmp.columns) >= {f"p_worse_{crit}", f"in_set_{crit}"}


def test_compare_summary_shows_the_columns_and_small_n_diagnostic():
    X, y = _data(n=60)
    models = [LogisticRegression(C=C, tol=1e-10).fit(X, y) for C in (0.01, 1.0)]
    cmp = ts.compare(models, X, y, names=["a", "b"])
    header = cmp.summary().splitlines()[0].split()
    assert {"d_alo_se", "p_worse_alo", "diag_alo", "set95_alo"} <= set(header)
    rows = cmp.to_dict()
    other = cmp.names[1]
    assert rows[other]["diag_alo"] == "n<100" and rows[cmp.names[0]]["diag_alo"] == ""
    # two models: the best-of-many check has no verdict, no warning line
    assert not cmp.best_of_many["alo"].diagnosed and cmp.chance_note == ""
    # a Criteria input: no per-row values, but weights, evidence ratio and set
    crit_only = ts.compare(
        {"a": ts.criteria(ts.curvature(models[0], X, y)), "b": models[1]}, X, y
    )
    row = crit_only.to_dict()["a"]
    assert np.isnan(row["p_worse_tic"]) and np.isnan(row["d_tic_se"])
    assert row["diag_tic"] == "" and isinstance(row["in_set_tic"], bool)
    assert row["er_tic"] == pytest.approx(np.exp(row["d_tic"] / 2), rel=1e-12)


def _one_feature_each(X, y):
    """One logistic model per column of ``X`` (all fitted on the same rows)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    return {
        f"x{j}": make_pipeline(
            ColumnTransformer([("pick", "passthrough", [j])]),
            LogisticRegression(tol=1e-10),
        ).fit(X, y)
        for j in range(X.shape[1])
    }


def test_compare_warns_when_the_best_of_many_may_be_chance():
    # eight logistic models on pure noise, each with a different single feature:
    # equal in truth, so the best one's margin is an order statistic
    X, y = _data(n=400, p=8, seed=3, noise=True)
    pipes = _one_feature_each(X, y)
    cmp = ts.compare(pipes, X, y)
    check = cmp.best_of_many["alo"]
    losses = np.column_stack([2 * cmp.loo[m].pointwise for m in pipes])
    ref = best_of_many(losses)
    assert (check.chance, check.margin) == (ref.chance, pytest.approx(ref.margin))
    assert check.diagnosed and check.chance
    text = cmp.summary()
    assert "warning: the best of 8 candidates may have won by chance" in text
    # a real optimum: one model has the signal
    Xs, ys = _data(n=400, p=8, seed=3)
    real = ts.compare(_one_feature_each(Xs, ys), Xs, ys)
    assert real.best == "x0" and not real.best_of_many["alo"].chance
    assert real.chance_note == "" and "may have won by chance" not in real.summary()


@pytest.fixture(scope="module")
def path():
    X, y = _data(n=120, p=10, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.criterion_path(
            LogisticRegression(tol=1e-10, max_iter=10_000), "C",
            np.logspace(-3, 2, 10), X, y,
        ), X, y  # fmt: skip


def test_path_one_se_rule_equals_hand_computation(path):
    p, X, y = path
    edf = np.array([c.effective_dim for c in p.criteria])
    # without ALO the path keeps TIC's per-row values instead
    p_tic = ts.criterion_path(
        LogisticRegression(tol=1e-10, max_iter=10_000), "C", p.values, X, y,
        alo=False,
    )  # fmt: skip
    assert_allclose([c.tic for c in p_tic.criteria], [c.tic for c in p.criteria])
    with pytest.raises(ValueError, match="per-row values were not kept"):
        p.uncertainty("tic")
    for crit, q in (("alo", p), ("tic", p_tic)):
        if crit == "alo":
            losses = np.column_stack([2 * r.pointwise for r in p.loo])
        else:
            losses = np.column_stack(
                [ts.pointwise(ts.curvature(m, X, y)).tic for m in p.estimators_]
            )
        d, se, *_ = _hand_columns(losses, losses.sum(axis=0))
        cols, _ = q.uncertainty(crit)
        # separate fits (ALO's path and TIC's): the solver's tolerance, 1e-10
        assert_allclose(cols[f"d_{crit}_se"], se, rtol=1e-6, atol=1e-8)
        within = np.flatnonzero(d <= np.where(np.isnan(se), 0, se))
        expect = within[np.argmin(edf[within])]
        assert q.best_index(crit, rule="one_se") == expect
        assert edf[expect] <= edf[q.best_index(crit, rule="min")]
    # the recommended pick's rule reads ALO's per-row values (a GLM path recommends
    # TIC only where TIC and ALO pick the same value)
    assert p.best_index(rule="one_se") == p.best_index("alo", rule="one_se")
    assert p_tic.best_index(rule="one_se") == p_tic.best_index("tic", rule="one_se")
    assert p.best_index(rule="min") == p.recommendation.index
    with pytest.raises(ValueError, match="rule must be one of"):
        p.best_index(rule="1se")
    with pytest.raises(ValueError, match="per-row values"):
        p.best_index("aic_edf", rule="one_se")


def test_criterion_path_rule_one_se_is_the_default_pick(path):
    p, X, y = path
    one = ts.criterion_path(
        LogisticRegression(tol=1e-10, max_iter=10_000), "C", p.values, X, y,
        rule="one_se",
    )  # fmt: skip
    assert one.best_index() == p.best_index(rule="one_se")
    assert one.best_value() == one.to_dict()["picks"]["recommended"]
    assert "One-SE rule" in one.pick_note and "One-SE rule" not in p.pick_note
    lead = [line for line in one.summary().splitlines() if line.startswith("> ")]
    assert lead[0].split()[1] == f"{one.best_value():.4g}"
    with pytest.raises(ValueError, match="rule must be one of"):
        ts.criterion_path(LogisticRegression(), "C", [1.0], X, y, rule="1se")


def test_path_tables_carry_the_columns_and_the_check(path):
    p, *_ = path
    cols, check = p.uncertainty("alo")
    out = p.to_dict()
    assert out["d_alo_se"] == cols["d_alo_se"].tolist()
    assert out["p_worse_alo"][p.best_index("alo")] is None  # nan as null
    assert out["best_of_many_alo"] == check.message and out["rule"] == "min"
    frame = p.to_frame()
    assert_allclose(frame["p_worse_alo"], cols["p_worse_alo"])
    assert "p_worse_tic" not in frame  # TIC's per-row values are not kept with ALO
    header = p.summary().splitlines()[0].split()
    assert {"d_alo", "d_alo_se", "p_worse_alo", "diag_alo"} <= set(header)
    assert ("may have won by chance" in p.summary()) == p.best_of_many.chance
    with pytest.raises(ValueError, match="'alo' or 'tic'"):
        p.uncertainty("bic")


def test_cli_select_columns_rule_and_check(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = (X[:, 0] + rng.normal(size=150) > 0).astype(int)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.c_[X, y], delimiter=",", header="a,b,c,d,y", comments="")
    base = ["select", "--csv", str(path), "--target", "y", "--grid", "-3:2:8",
            "--cv", "0", "--json"]  # fmt: skip
    out = {}
    for rule in ("min", "one_se"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main([*base, "--rule", rule]) == 0
        out[rule] = json.loads(buf.getvalue())
    rows = out["min"]["candidates"]
    losses_tot = np.array([r["alo"] for r in rows])
    d = losses_tot - losses_tot.min()
    assert_allclose([r["d_alo"] for r in rows], d, rtol=1e-9, atol=1e-8)
    se = np.array([np.nan if r["d_alo_se"] is None else r["d_alo_se"] for r in rows])
    p_worse = [r["p_worse_alo"] for r in rows]
    best = int(np.argmin(d))
    assert p_worse[best] is None
    for i in range(len(rows)):
        if i != best:
            assert p_worse[i] == pytest.approx(norm.cdf(d[i] / se[i]), rel=1e-9)
    edf = np.array([r["effective_dim"] for r in rows])
    rec = out["min"]["recommended"]
    assert rec["rule"] == "min"
    one = out["one_se"]["recommended"]
    if rec["criterion"] in ("alo", "tic"):
        # a GLM: per-row TIC is not computed, TIC is recommended only where ALO
        # picks the same row, and the rule reads ALO's paired differences
        assert all(r["d_tic_se"] is None for r in rows)
        c = "alo"
        dc = np.array([r[f"d_{c}"] for r in rows])
        sc = np.array([r[f"d_{c}_se"] for r in rows])
        within = np.flatnonzero(dc <= sc)
        assert one["index"] == within[np.argmin(edf[within])]
        assert "One-SE rule" in one["note"]
    assert out["min"]["chance_note"] == out["one_se"]["chance_note"]


def test_plot_of_a_one_se_path_marks_its_pick(path):
    import matplotlib.pyplot as plt

    p, X, y = path
    one = ts.criterion_path(
        LogisticRegression(tol=1e-10, max_iter=10_000), "C", p.values, X, y,
        rule="one_se",
    )  # fmt: skip
    fig, ax = plt.subplots()
    one.plot(ax=ax)  # AIC/BIC with edf keep their minimum: no one-SE for them
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "recommended"]
    assert line.get_xdata()[0] == pytest.approx(one.best_value())
    assert "one-SE rule" in line.get_label()
    plt.close(fig)
