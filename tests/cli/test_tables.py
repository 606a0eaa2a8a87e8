"""The command line on real tables: pandas reading, categorical predictors, missing
values, ``ticselect compare`` and the tqdm progress bar."""

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import ticselect as ts

from .test_cli import _one_line_error, console, run_main


@pytest.fixture(scope="module")
def regions_csv(tmp_path_factory):
    """Counts with a text column (region), an interaction, two missing b's."""
    rng = np.random.default_rng(0)
    n = 240
    region = rng.choice(["north", "south", "east"], size=n)
    a, b = rng.normal(size=n), rng.normal(size=n)
    eta = 0.2 + 0.4 * a + 0.3 * (region == "south") + 0.3 * a * (region == "north")
    frame = pd.DataFrame({"y": rng.poisson(np.exp(eta)), "a": a, "b": b})
    frame["region"] = region
    frame.loc[[5, 17], "b"] = np.nan
    path = tmp_path_factory.mktemp("tables") / "regions.csv"
    frame.to_csv(path, index=False)
    return path, frame


FORMULAS = ["y ~ a", "y ~ a + b", "y ~ a * C(region)"]


def test_compare_prints_the_table(regions_csv):
    path, _ = regions_csv
    proc = console("compare", str(path), *FORMULAS, "--family", "poisson")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.lstrip().startswith("model ")
    )
    assert lines[header].split()[:4] == ["model", "k", "loglik", "aic"]
    assert "d_tic_se" in lines[header].split()  # differences with their errors
    body = lines[header + 2 : header + 2 + len(FORMULAS)]
    assert sorted(line[2:].split("  ")[0].strip() for line in body) == sorted(FORMULAS)
    assert sum(line.startswith("> ") for line in body) == 1  # the recommended one
    assert "2 rows with missing values dropped (b 2)" in proc.stdout


def test_compare_json_equals_statsmodels(regions_csv):
    path, frame = regions_csv
    argv = ["compare", str(path), *FORMULAS, "--family", "poisson", "--json"]
    status, out, err = run_main(argv)
    assert status == 0, err
    res = json.loads(out)
    assert res["data"]["n_dropped"] == 2 and res["data"]["missing"] == {"b": 2}
    common = frame.dropna()
    rows = {m["formula"]: m for m in res["models"]}
    pointwise_tic = {}
    for f in FORMULAS:
        fit = smf.glm(f, common, family=sm.families.Poisson()).fit()
        # the same statsmodels fit: rounding only
        assert_allclose(rows[f]["loglik"], fit.llf, rtol=1e-10)
        assert_allclose(rows[f]["aic"], fit.aic, rtol=1e-10)
        assert_allclose(rows[f]["bic"], fit.bic_llf, rtol=1e-10)
        pointwise_tic[f] = ts.pointwise(ts.curvature(fit)).tic
    best = pointwise_tic[res["models"][0]["formula"]]
    for f in FORMULAS:
        d = pointwise_tic[f] - best  # paired differences to the best, per row
        # same fits, same arithmetic: rounding only
        assert_allclose(rows[f]["d_tic"], d.sum(), rtol=1e-8, atol=1e-8)
        assert_allclose(
            rows[f]["d_tic_se"],
            np.sqrt(len(d) * np.var(d, ddof=1)),
            rtol=1e-8,
            atol=1e-12,
        )
    assert rows["y ~ a * C(region)"]["lr_vs"] == "y ~ a"
    assert rows["y ~ a * C(region)"]["lr_df"] == 4


@pytest.mark.parametrize(
    "formulas, family, expected",
    [
        (["y ~ a", "y ~ a + regoin"], "poisson", "'regoin' is not a column of data"),
        (["y ~ a", "y ~ a +"], "poisson", "formula 'y ~ a +': expected a noun"),
        (["a ~ b"], "poisson", "outside the support of the poisson family"),
    ],
)
def test_compare_errors_are_one_line(regions_csv, formulas, family, expected):
    path, _ = regions_csv
    proc = console("compare", str(path), *formulas, "--family", family)
    assert expected in _one_line_error(proc, 1)


def test_select_encodes_text_columns(regions_csv, tmp_path):
    path, frame = regions_csv
    argv = ["select", "--csv", str(path), "--target", "y", "--family", "poisson"]
    argv += ["--features", "a,region", "--grid", "0.01,1", "--cv", "0"]
    status, out, err = run_main([*argv, "--json"])
    assert status == 0, err
    res = json.loads(out)
    assert res["data"]["encoded"] == {
        "region": {"reference": "east", "levels": ["east", "north", "south"]}
    }
    # the same Pipeline by hand: reference level dropped, then scaled
    X = frame[["a", "region"]].to_numpy(dtype=object)
    y = frame["y"].to_numpy()
    for row in res["candidates"]:
        onehot = OneHotEncoder(drop="first", sparse_output=False)
        pipe = make_pipeline(
            ColumnTransformer([("oh", onehot, [1])], remainder="passthrough"),
            StandardScaler(),
            PoissonRegressor(alpha=row["alpha"], tol=1e-10, max_iter=10_000),
        ).fit(X, y)
        crit = ts.criteria(ts.curvature(pipe, X, y))
        assert row["k"] == 4 == crit.n_params  # a, north, south, intercept
        assert_allclose(row["tic"], crit.tic, rtol=1e-6)
    status, text, _ = run_main(argv)
    assert "one-hot encoded inside the Pipeline: region (3 levels, reference" in text


def test_missing_values_error_or_dropna(regions_csv):
    path, frame = regions_csv
    argv = ["select", "--csv", str(path), "--target", "y", "--family", "poisson"]
    argv += ["--grid", "1", "--cv", "0"]
    proc = console(*argv)
    assert "'b' has 2; drop those rows with --dropna" in _one_line_error(proc, 1)
    status, out, err = run_main([*argv, "--dropna", "--json"])
    assert status == 0, err
    res = json.loads(out)
    assert res["data"]["n_samples"] == len(frame) - 2
    assert res["data"]["n_dropped"] == 2 and res["data"]["missing"] == {"b": 2}


def test_infinite_values_are_named_by_column_and_line(regions_csv, tmp_path):
    # "inf" in a CSV reads as a float: it was scikit-learn's "Input X contains
    # infinity" without the column (--dropna does not drop it: it is not missing)
    _, frame = regions_csv
    bad = frame.dropna().reset_index(drop=True)
    bad.loc[3, "a"] = -np.inf
    path = tmp_path / "inf.csv"
    bad.to_csv(path, index=False)
    argv = ["select", "--csv", str(path), "--target", "y", "--family", "poisson"]
    status, out, err = run_main([*argv, "--grid", "1", "--cv", "0"])
    assert status == 1
    assert err.strip().splitlines() == [
        f"ticselect: error: infinite values in {path}: 'a' has 1 (line 5); fix those "
        "values or leave the column out with --features."
    ]


def test_parquet_equals_csv(regions_csv, tmp_path):
    pytest.importorskip("pyarrow")  # an optional reader; the CSV path is the oracle
    path, frame = regions_csv
    pq = tmp_path / "regions.parquet"
    frame.to_parquet(pq)
    results = []
    for src in (path, pq):
        status, out, err = run_main(["compare", str(src), *FORMULAS, "--json"])
        assert status == 0, err
        results.append(json.loads(out)["models"])
    for a, b in zip(*results, strict=True):
        assert a["name"] == b["name"]
        # CSV stores floats in shortest round-trip form: identical values
        assert_allclose(a["loglik"], b["loglik"], rtol=1e-12)


def test_progress_bar_is_tqdm_and_quiet_silences_it():
    argv = ["select", "--grid", "0.1,1", "--cv", "0", "--json"]
    status, out, err = run_main([*argv, "--progress"])
    assert status == 0 and "2/2 [" in err and "fit/s" in err  # tqdm's format
    status, out, err = run_main([*argv, "--progress", "--quiet"])
    assert status == 0 and err == ""
    json.loads(out)
