"""``select``'s total time budget (issue 24 item 8): estimate, refusal, progress bar."""

import importlib
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.neural_network import MLPClassifier

from .test_cli import _one_blas_thread, run_main  # noqa: F401 (the fixture)

budget = importlib.import_module("ticselect.cli._budget")
timing = importlib.import_module("ticselect.curvature._timing")


def test_large_network_is_refused_before_any_fit(monkeypatch):
    # d = 6 401: minutes per candidate on any machine; 12 values × 6 fits by default
    def no_fit(self, *args, **kwargs):
        raise AssertionError("a candidate was fitted")

    monkeypatch.setattr(MLPClassifier, "fit", no_fit)
    status, out, err = run_main(["select", "--model", "mlp", "--hidden", "200"])
    assert status == 2 and out == ""
    line = err.strip()
    assert line.startswith("ticselect: error: this run would take about")
    assert "12 candidates" in line and "--max-seconds 600" in line
    assert "--hidden" in line and "--n-grid" in line and "--cv" in line
    assert len(err.splitlines()) == 1


def test_the_budget_is_the_users(monkeypatch):
    # the same refusal at a budget below a small run's estimate; 'inf' lifts it
    argv = ["select", "--grid", "0.1,1", "--cv", "0", "--json"]
    status, _, err = run_main([*argv, "--max-seconds", "1e-6"])
    assert status == 2 and "more than --max-seconds 1e-06" in err
    status, out, err = run_main([*argv, "--max-seconds", "inf"])
    assert status == 0, err
    assert len(json.loads(out)["candidates"]) == 2


@pytest.mark.parametrize("bad", ["0", "-5", "abc", "nan"])
def test_max_seconds_must_be_positive(bad):
    status, _, err = run_main(["select", "--max-seconds", bad])
    assert status == 2 and "--max-seconds" in err and "positive" in err


@pytest.mark.parametrize("model", ["glm", "mlp"])
def test_estimate_counts_candidates_and_folds(model):
    # fixed rate: the estimate is a pure function of the sizes
    kw = dict(hidden=50, n_classes=2, rate=1e10)
    one = budget.estimate_run(569, 30, "binomial", model, 1, 0, **kw)
    run = budget.estimate_run(569, 30, "binomial", model, 12, 5, **kw)
    floor = budget._FLOOR
    per = one.fit + one.curvature + one.alo
    # five folds refit on 4/5 of the rows each: four fits' worth, plus their floors
    cv = 4 * (one.fit - floor) + 5 * floor
    assert_allclose(run.seconds, 12 * (per + cv))
    assert_allclose(run.cv, cv)
    # the network's curvature is the time guard's bound; the subspace route below it
    if model == "mlp":
        d = 31 * 50 + 51
        assert_allclose(one.curvature - floor, timing.dense_seconds(d, 569, 1e10))
        assert one.low < one.seconds
        sub = timing.dense_seconds(d, 569, 1e10, route="subspace")
        assert_allclose(one.curvature_low - floor, sub)
    else:
        assert one.low == one.seconds


def test_estimate_grows_with_the_network():
    small = budget.estimate_run(569, 30, "binomial", "mlp", 12, 5, hidden=8, rate=1e10)
    big = budget.estimate_run(569, 30, "binomial", "mlp", 12, 5, hidden=200, rate=1e10)
    # ALO and the criteria are cubic in d: 25× the units, > 25² the time
    assert big.seconds > 600 > small.seconds
    assert big.alo > big.curvature > big.fit


def test_progress_bar_shows_the_estimate():
    argv = ["select", "--grid", "0.1,1", "--cv", "0", "--json", "--progress"]
    status, out, err = run_main(argv)
    assert status == 0 and "select, est. about" in err and "2/2 [" in err
    json.loads(out)


def test_long_run_without_a_bar_says_its_estimate(monkeypatch):
    # no terminal (no bar): one line on stderr when the estimate exceeds 30 s
    real = budget.estimate_run

    def slow(*args, **kwargs):
        est = real(*args, **kwargs)
        return budget.RunEstimate(est.fit + 20, est.curvature, est.alo, est.cv,
                                  est.curvature_low, est.n_values)  # fmt: skip

    monkeypatch.setattr(budget, "estimate_run", slow)
    argv = ["select", "--grid", "0.1,1", "--cv", "0", "--no-progress"]
    status, out, err = run_main(argv)
    assert status == 0 and err.startswith("ticselect: select, est. about")
    status, out, err = run_main([*argv, "--quiet"])
    assert status == 0 and "est." not in err


def test_categorical_columns_count_their_dummies():
    ds = type("D", (), {})()
    ds.X = np.zeros((10, 3), dtype=object)
    ds.extra = {"categorical": [1], "encoded": {"region": ["a", "b", "c", "d"]}}
    ds.categorical = [1]
    assert budget.design_columns(ds) == 2 + 3
