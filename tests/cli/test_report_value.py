"""``ticselect report`` without ``--value``, its column names, duplicate CSV columns,
and NaN in ``--json`` (issue 24 items 11 and 13)."""

import json

import numpy as np
import pandas as pd
import pytest

from ticselect.cli._main import _json_safe

from .test_cli import _one_line_error, console, run_main


@pytest.fixture(scope="module")
def jobs_csv(tmp_path_factory):
    """A binary target, two numeric columns and a text column with three levels."""
    rng = np.random.default_rng(3)
    n = 150
    job = rng.choice(["mgmt", "tech", "sales"], size=n)
    age, income = rng.normal(40, 10, size=n), rng.normal(size=n)
    eta = 0.8 * income + 0.7 * (job == "tech") - 0.03 * (age - 40)
    frame = pd.DataFrame({"age": age, "job": job, "income": income})
    frame["bought"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    path = tmp_path_factory.mktemp("report") / "jobs.csv"
    frame.to_csv(path, index=False)
    return path


def test_report_fits_at_selects_recommendation(jobs_csv):
    data = ["--csv", str(jobs_csv), "--target", "bought"]
    status, out, err = run_main(["select", *data, "--json"])
    assert status == 0, err
    pick = json.loads(out)["recommended"]
    status, out, err = run_main(["report", *data, "--json"])
    assert status == 0, err
    rep = json.loads(out)
    # the same select run, so the same value, not the old default C = 1
    assert rep["param"] == {"C": pick["C"]} and pick["C"] != 1.0
    source = rep["param_source"]
    assert source["command"] == "select" and source["criterion"] == pick["criterion"]
    assert source["n_rows"] == 150
    status, text, _ = run_main(["report", *data])
    assert f"C={pick['C']:g}" in text.splitlines()[0]
    assert "'ticselect select' recommends" in text.splitlines()[1]
    # --value still fixes it
    status, out, _ = run_main(["report", *data, "--value", "2", "--json"])
    assert json.loads(out)["param"] == {"C": 2.0}


def test_report_names_coefficients_after_the_columns(jobs_csv):
    argv = ["report", "--csv", str(jobs_csv), "--target", "bought", "--value", "1"]
    status, out, err = run_main([*argv, "--json"])
    assert status == 0, err
    names = [row[0] for row in json.loads(out)["coefficients"]["rows"]]
    # dummies of the text column (reference 'mgmt'), then the numeric columns
    assert names == ["job[sales]", "job[tech]", "age", "income", "intercept"]
    status, text, _ = run_main(argv)
    assert "onehot__" not in text and "remainder__" not in text


def test_report_leads_with_coefficients_and_criteria(jobs_csv):
    argv = ["report", "--csv", str(jobs_csv), "--target", "bought", "--value", "1"]
    status, text, err = run_main(argv)
    assert status == 0, err
    lines = text.splitlines()
    assert lines.index("Coefficients (training rows)") < 6
    assert text.index("Coefficients") < text.index("Criteria") < text.index("Calibr")
    assert "Flatness" not in text and "Curvature" not in text
    assert len(lines) < 75  # was 128 with the curvature, flatness and PAC-Bayes
    status, detailed, _ = run_main([*argv, "--details"])
    assert "Flatness (training rows)" in detailed and "Curvature" in detailed
    assert len(detailed.splitlines()) > len(lines) + 40


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("age,income,age,y\n1,2,3,0\n4,5,6,1\n7,8,9,0\n")
    for command in ("select", "report"):
        line = _one_line_error(console(command, "--csv", str(path), "--target", "y"), 1)
        assert "duplicate column names: 'age'" in line
    # names that only differ by surrounding spaces are the same column
    path.write_text("a, a,y\n1,2,0\n3,4,1\n")
    line = _one_line_error(console("select", "--csv", str(path), "--target", "y"), 1)
    assert "duplicate column names: 'a'" in line


def test_json_writes_nan_as_null_and_infinities_as_strings(tmp_path):
    assert _json_safe({"a": [float("nan"), float("inf"), -float("inf"), 1.5]}) == {
        "a": [None, "inf", "-inf", 1.5]
    }
    # end to end: compare's first model has no nested partner, so no LR test
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "z": rng.normal(size=60)})
    frame["y"] = rng.poisson(np.exp(0.3 * frame["x"]))
    path = tmp_path / "counts.csv"
    frame.to_csv(path, index=False)
    argv = ["compare", str(path), "y ~ x", "y ~ x + z", "--family", "poisson"]
    status, out, err = run_main([*argv, "--json"])
    assert status == 0, err
    assert "NaN" not in out and '"nan"' not in out  # 12 "nan" strings before
    models = {m["formula"]: m for m in json.loads(out)["models"]}
    assert models["y ~ x"]["lr_p"] is None and models["y ~ x"]["lr_df"] is None
    assert 0 < models["y ~ x + z"]["lr_p"] < 1
