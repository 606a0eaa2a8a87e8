"""``ticselect select --tune``: the CriterionSearch line beside the grid table."""

import contextlib
import io
import json
import warnings

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.cli import main
from ticselect.cli._tune import format_tune

ARGV = ["select", "--grid", "-2:1:4", "--cv", "0", "--tune", "--quiet"]


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(argv) == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture(scope="module")
def result():
    return json.loads(_run([*ARGV, "--json"]))


def test_tune_json_is_the_search_over_the_grid_range(result):
    tune = result["tune"]
    assert tune["criterion"] == "alo" and tune["param"] == "C"
    assert tune["bounds"] == pytest.approx([0.01, 10.0])
    assert tune["n_fits"] >= 2 and tune["time"] > 0
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(),
        LogisticRegression(tol=1e-10, max_iter=10_000, solver="newton-cholesky"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = ts.CriterionSearch(pipe, "C", bounds=(0.01, 10.0)).fit(X, y)
    assert tune["value"] == pytest.approx(search.best_params_["C"], rel=0.02)
    # never worse than the grid's ALO pick
    assert tune["alo"] <= min(r["alo"] for r in result["candidates"]) + 1e-6


def test_tune_line_under_the_table(result):
    text = _run(ARGV)
    line = [t for t in text.splitlines() if t.startswith("tuned: ")]
    assert len(line) == 1
    assert f"{result['tune']['n_fits']} fits" in line[0]
    assert "within the grid's range" in line[0] or "widen --grid" in line[0]
    assert format_tune({"candidates": []}) == ""
