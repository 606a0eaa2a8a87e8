"""compare(): d_tic_se from paired pointwise TIC, and the Vuong test."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import ticselect as ts


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return X, y


def test_d_tic_se_equals_hand_computation():
    X, y = _data()
    models = {
        f"C={C}": LogisticRegression(C=C, tol=1e-12).fit(X, y) for C in (0.01, 1.0)
    }
    table = ts.compare(models, X, y)
    rows = table.to_dict()
    best = table.names[0]
    other = table.names[1]
    pw = {k: ts.pointwise(ts.curvature(m, X, y)) for k, m in models.items()}
    d = pw[other].tic - pw[best].tic
    # R loo's se_diff (x 2): sqrt(n · var(d)) with the divisor n - 1
    assert np.isclose(
        rows[other]["d_tic_se"], np.sqrt(len(d) * np.var(d, ddof=1)), rtol=1e-10
    )
    assert rows[best]["d_tic_se"] == 0.0
    assert np.isclose(rows[other]["d_tic"], d.sum(), rtol=1e-8)
    assert "d_tic_se" in table.summary() and "d_tic_se" in table._repr_html_()


def test_d_tic_se_grouped_and_criteria_inputs():
    X, y = _data()
    g = np.arange(len(y)) % 30
    ma = LogisticRegression(C=0.05, tol=1e-12).fit(X, y)
    mb = LogisticRegression(C=1.0, tol=1e-12).fit(X, y)
    table = ts.compare({"a": ma, "b": mb}, X, y, groups=g)
    pa = ts.pointwise(ts.curvature(ma, X, y, groups=g))
    pb = ts.pointwise(ts.curvature(mb, X, y, groups=g))
    sign = 1 if table.best == "b" else -1
    dg = np.bincount(g, weights=sign * (pa.tic - pb.tic))
    other = table.names[1]
    assert np.isclose(
        table.to_dict()[other]["d_tic_se"], np.sqrt(30 * np.var(dg, ddof=1)), rtol=1e-10
    )
    # clustered TIC in the table
    assert np.isclose(
        table.criteria["a"].tic, ts.criteria(ts.curvature(ma, X, y, groups=g)).tic
    )
    crit_only = ts.compare({"a": ts.criteria(ts.curvature(ma, X, y)), "b": mb}, X, y)
    assert np.isnan(crit_only.to_dict()["a"]["d_tic_se"])  # no per-row values
    with pytest.raises(ValueError, match="Criteria"):
        crit_only.vuong_test("a", "b")


def test_comparison_vuong_is_vuong_test():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = X[:, 0] + 0.2 * X[:, 1] + rng.normal(size=300)
    ma = LinearRegression().fit(X[:, :1], y)
    mb = LinearRegression().fit(X[:, 1:], y)
    ca, cb = ts.curvature(ma, X[:, :1], y), ts.curvature(mb, X[:, 1:], y)
    table = ts.compare(
        [ts.criteria(ca), ts.criteria(cb)], names=["x0", "x1"]
    )  # Criteria only: no pointwise
    assert np.isnan(table.to_dict()["x1"]["d_tic_se"])
    # with the fitted curvatures: a Comparison built with them gives the same test
    from ticselect.selection._compare import Comparison

    full = Comparison(
        ["x0", "x1"],
        [ts.criteria(ca), ts.criteria(cb)],
        [ma, mb],
        curvatures=[ca, cb],
    )
    r = full.vuong_test("x0", "x1")
    assert r.statistic == ts.vuong_test(ca, cb).statistic
    assert r.names == ("x0", "x1")
    with pytest.raises(ValueError, match="Unknown model"):
        full.vuong_test("x0", "nope")
