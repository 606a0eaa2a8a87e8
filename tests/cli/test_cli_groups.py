"""``ticselect report``'s coefficient table and ``--groups`` in both commands."""

import contextlib
import io
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import PoissonRegressor
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.cli import main


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def clustered_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    n, G = 240, 30
    site = np.repeat([f"s{k:02d}" for k in range(G)], n // G)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    u = np.repeat(rng.normal(scale=0.5, size=G), n // G)
    y = rng.poisson(np.exp(0.3 + 0.5 * x1 + u))
    path = tmp_path_factory.mktemp("csv") / "clustered.csv"
    with open(path, "w") as fh:
        fh.write("x1,site,x2,count\n")
        for row in zip(x1, site, x2, y, strict=True):
            fh.write(f"{row[0]:.17g},{row[1]},{row[2]:.17g},{row[3]}\n")
    return path, np.column_stack([x1, x2]), y, site


def test_report_prints_coefficients_first():
    status, out, err = run_main(["report", "--value", "0.5"])
    assert status == 0, err
    assert out.index("Coefficients") < out.index("Criteria")
    assert "HC1" in out and "penalised estimator" in out


def test_report_groups_cluster_table_matches_api(clustered_csv):
    path, X, y, site = clustered_csv
    argv = ["report", "--csv", str(path), "--target", "count", "--groups", "site",
            "--family", "poisson", "--value", "1e-8", "--json"]  # fmt: skip
    status, out, err = run_main(argv)
    assert status == 0, err
    rep = json.loads(out)
    assert rep["data"]["n_features"] == 2  # the group column is not a feature
    coef = rep["coefficients"]
    assert coef["cov_type"] == "cluster"
    assert [r[0] for r in coef["rows"]] == ["x1", "x2", "intercept"]
    # by hand: the documented group-wise split, the scaled Poisson fit, clustered
    tr, _ = next(
        GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=0).split(X, y, site)
    )
    assert rep["data"]["n_train"] == len(tr)
    pipe = make_pipeline(
        StandardScaler(), PoissonRegressor(alpha=1e-8, tol=1e-10, max_iter=10_000)
    ).fit(X[tr], y[tr])
    res = ts.inference(pipe, X[tr], y[tr], cov_type="cluster", groups=site[tr])
    assert coef["n_groups"] == len(np.unique(site[tr]))
    # fits agree to the solver's tolerance
    assert_allclose([r[2] for r in coef["rows"]], res.bse, rtol=1e-4)
    crit = ts.criteria(ts.curvature(pipe, X[tr], y[tr], groups=site[tr]))
    assert_allclose(rep["criteria"]["tic"], crit.tic, rtol=1e-6)


def test_select_with_groups(clustered_csv):
    path, X, y, site = clustered_csv
    argv = ["select", "--csv", str(path), "--target", "count", "--groups", "site",
            "--family", "poisson", "--grid", "0.001,0.1", "--cv", "3",
            "--json"]  # fmt: skip
    status, out, err = run_main(argv)
    assert status == 0, err
    result = json.loads(out)
    assert result["data"]["n_groups"] == 30
    rows = result["candidates"]
    pipe = make_pipeline(
        StandardScaler(), PoissonRegressor(alpha=0.001, tol=1e-10, max_iter=10_000)
    ).fit(X, y)
    tic = ts.criteria(ts.curvature(pipe, X, y, groups=site)).tic
    assert_allclose(rows[0]["tic"], tic, rtol=1e-6)
    status, out, err = run_main([a for a in argv if a != "--json"])
    assert status == 0 and "clustered by 'site' (30 groups)" in out


def test_groups_errors(clustered_csv):
    path, *_ = clustered_csv
    status, _, err = run_main(["report", "--groups", "site"])
    assert status == 2 and "--groups need --csv" in err
    status, _, err = run_main(
        ["report", "--csv", str(path), "--target", "count", "--groups", "nope"]
    )
    assert status != 0 and "nope" in err
    status, _, err = run_main(
        ["report", "--csv", str(path), "--target", "count", "--features", "x1,x2",
         "--cov-type", "cluster"]
    )  # fmt: skip
    assert status == 2 and "needs --groups" in err
