"""The ``ticselect`` command: results against the API; error paths in a subprocess."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import ticselect as ts
from ticselect.calibration import expected_calibration_error
from ticselect.cli import main

GRID = [0.01, 0.1, 1.0, 10.0]
SOLVER = "newton-cholesky"  # the CLI's solver for small GLMs (issue 18)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # many tiny fits: multi-threaded BLAS only thrashes on a busy 2-core machine
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def console(*args, timeout=120):
    """Run the installed console script (fallback: ``python -m ticselect``)."""
    exe = shutil.which("ticselect", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "ticselect"]
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="module")
def default_json():
    grid = ",".join(str(c) for c in GRID)
    status, out, err = run_main(["select", "--grid", grid, "--json", "--seed", "3"])
    assert status == 0, err
    return json.loads(out)


def test_select_picks_equal_api_argmin(default_json):
    X, y = load_breast_cancer(return_X_y=True)
    crits = []
    for C in GRID:
        pipe = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=C, tol=1e-10, max_iter=10_000, solver=SOLVER),
        ).fit(X, y)
        crits.append(ts.criteria(ts.curvature(pipe, X, y)))
    rows = default_json["candidates"]
    assert [r["C"] for r in rows] == GRID
    for name in ("aic", "bic", "aic_edf", "bic_edf", "tic"):
        values = np.array([getattr(c, name) for c in crits])
        assert_allclose([r[name] for r in rows], values, rtol=1e-6)
        if name in ("aic", "bic"):  # along a penalty: no pick with the nominal k
            assert name not in default_json["picks"]
            continue
        assert default_json["picks"][name]["index"] == int(np.argmin(values))
        assert default_json["picks"][name]["C"] == GRID[int(np.argmin(values))]
    assert [r["k"] for r in rows] == [c.n_params for c in crits]
    assert_allclose([r["gap_estimate"] for r in rows], [c.gap_estimate for c in crits])


def test_select_cv_equals_cross_val_score(default_json):
    X, y = load_breast_cancer(return_X_y=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=3)
    expected = []
    for C in GRID:
        pipe = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=C, tol=1e-10, max_iter=10_000, solver=SOLVER),
        )
        expected.append(
            -cross_val_score(pipe, X, y, cv=folds, scoring="neg_log_loss").mean()
        )
    got = [r["cv_log_loss"] for r in default_json["candidates"]]
    # same folds, same fits: equal up to the solver's tolerance
    assert_allclose(got, expected, rtol=1e-8)
    assert default_json["picks"]["cv"]["index"] == int(np.argmin(expected))
    assert default_json["cv_folds"] == 5 and default_json["seed"] == 3


def test_select_table_marks_each_pick():
    status, out, err = run_main(["select", "--grid", "0.01,0.1,1", "--cv", "2"])
    assert status == 0, err
    lines = out.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.split()[:2] == ["C", "ALO/2n"]
    )
    body = lines[header + 2 : header + 5]
    assert len(body) == 3
    assert sum(line.count("*") for line in body) == 3  # ALO, TIC and CV
    assert sum(line.startswith("> ") for line in body) == 1  # the recommended row
    picks = next(line for line in lines if line.startswith("picks: "))
    assert picks.startswith("picks: AIC(edf) C=") and "CV C=" in picks
    # --all: the deviance-scale criteria, AIC and BIC with edf marked, nominal not
    status, out, err = run_main(["select", "--grid", "0.01,0.1,1", "--cv", "2",
                                 "--all"])  # fmt: skip
    lines = out.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.split()[:2] == ["C", "loglik"]
    )
    titles = lines[header].split()
    body = [line[2:].split() for line in lines[header + 2 : header + 5]]
    for title, marked in (("AIC", False), ("BIC", False), ("AIC(edf)", True),
                          ("TIC", True), ("ALO", True), ("CV2", True)):  # fmt: skip
        column = [row[titles.index(title)] for row in body]
        assert sum(c.endswith("*") for c in column) == int(marked), title


def test_select_csv_poisson(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=(n, 2))
    y = rng.poisson(np.exp(0.3 + 0.5 * x[:, 0]))
    path = tmp_path / "counts.csv"
    lines = ["x1;x2;count"] + [f"{a};{b};{c}" for (a, b), c in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    argv = ["select", "--csv", str(path), "--target", "count", "--family", "poisson"]
    status, out, err = run_main([*argv, "--grid", "1e-3,1e-1", "--cv", "3", "--json"])
    assert status == 0, err
    res = json.loads(out)
    assert res["family"] == "poisson" and res["param"] == "alpha"
    assert res["estimator"] == "PoissonRegressor"
    X = np.column_stack([x[:, 0], x[:, 1]])
    for row in res["candidates"]:
        pipe = make_pipeline(
            StandardScaler(),
            PoissonRegressor(
                alpha=row["alpha"], tol=1e-10, max_iter=10_000, solver=SOLVER
            ),
        ).fit(X, y)
        crit = ts.criteria(ts.curvature(pipe, X, y))
        assert_allclose(row["tic"], crit.tic, rtol=1e-6)
        assert row["k"] == 3
        assert row["cv_log_loss"] > -row["loglik"] / n  # held-out worse than train


def test_select_mlp_and_plot(tmp_path):
    plot = tmp_path / "path.png"
    argv = ["select", "--model", "mlp", "--hidden", "2", "--grid", "1,10"]
    status, out, err = run_main([*argv, "--cv", "0", "--plot", str(plot)])
    assert status == 0, err
    assert "MLPClassifier" in out
    assert plot.stat().st_size > 1000


def test_select_progress_bar_on_stderr():
    argv = ["select", "--grid", "0.1,1", "--cv", "0", "--progress", "--json"]
    status, out, err = run_main(argv)
    assert status == 0
    json.loads(out)  # stdout stays machine-readable
    assert "2/2" in err and "[" in err


def test_report_text_and_json():
    status, out, err = run_main(["report", "--value", "0.5"])
    assert status == 0, err
    for title in ("Coefficients", "Criteria", "Calibration (held-out rows)"):
        assert title in out
    # the curvature and flatness blocks (PAC-Bayes included) only with --details
    assert "Curvature" not in out and "Flatness" not in out and "--details" in out
    status, out, err = run_main(["report", "--value", "0.5", "--details"])
    assert status == 0, err
    assert out.index("Criteria") < out.index("Curvature") < out.index("Flatness")
    status, out, _ = run_main(["report", "--value", "0.5", "--json"])
    rep = json.loads(out)
    X, y = load_breast_cancer(return_X_y=True)
    assert rep["data"]["n_train"] + rep["data"]["n_test"] == X.shape[0]
    assert rep["criteria"]["n_params"] == 31
    assert rep["calibration"]["kind"] == "classification"
    # the documented defaults by hand: stratified 25 % split seeded 0, scaled
    # logistic fit on the training rows, calibration on the held-out rows
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    pipe = make_pipeline(
        StandardScaler(), LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000)
    ).fit(X_tr, y_tr)
    crit = ts.criteria(ts.curvature(pipe, X_tr, y_tr))
    assert rep["data"]["n_test"] == len(y_te)
    # same fit, same float64 criteria: rounding only
    assert_allclose(rep["criteria"]["tic"], crit.tic, rtol=1e-10)
    ece = expected_calibration_error(y_te, pipe.predict_proba(X_te)[:, 1])
    assert_allclose(rep["calibration"]["metrics"]["ece"], ece, rtol=1e-10)


def test_report_uses_flatness_when_available(monkeypatch):
    class Result:
        def to_dict(self):
            return {"hessian_trace": np.float64(2.5)}

    fake = types.ModuleType("ticselect.flatness")
    fake.flatness = lambda curv: Result()
    monkeypatch.setitem(sys.modules, "ticselect.flatness", fake)
    status, out, err = run_main(["report", "--value", "1", "--details", "--json"])
    assert status == 0, err
    assert json.loads(out)["flatness"] == {"hessian_trace": 2.5}
    status, out, err = run_main(["report", "--value", "1", "--json"])
    assert json.loads(out)["flatness"] is None  # not computed without --details


def test_no_command_prints_help():
    status, out, _ = run_main([])
    assert status == 2 and "select" in out


# ------------------------------------------------------------------ error paths
def _one_line_error(proc, status):
    assert proc.returncode == status, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ticselect: error: ")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    return lines[0]


@pytest.fixture
def small_csv(tmp_path):
    path = tmp_path / "data.csv"
    rows = ["a,b,label,count"]
    rng = np.random.default_rng(1)
    for i in range(40):
        rows.append(
            f"{rng.normal():.3f},{rng.normal():.3f},{'yes' if i % 2 else 'no'},-{i}"
        )
    path.write_text("\n".join(rows) + "\n")
    return path


def test_error_missing_file(tmp_path):
    proc = console("select", "--csv", str(tmp_path / "nope.csv"), "--target", "y")
    assert "cannot read" in _one_line_error(proc, 1)


def test_error_missing_parquet_file_says_why(tmp_path):
    pytest.importorskip("pyarrow")  # without it the error asks for pyarrow
    path = tmp_path / "nope.parquet"
    status, _, err = run_main(["select", "--csv", str(path), "--target", "y"])
    # pyarrow's FileNotFoundError carries only the path: "cannot read P: P."
    assert status == 1
    assert err.strip() == (
        f"ticselect: error: cannot read {path}: No such file or directory."
    )


def test_error_binary_file(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(bytes(range(256)) * 4)
    proc = console("select", "--csv", str(path), "--target", "y")
    assert "not a UTF-8 text CSV" in _one_line_error(proc, 1)


def test_error_unknown_column(small_csv):
    proc = console("select", "--csv", str(small_csv), "--target", "lable")
    msg = _one_line_error(proc, 1)
    assert "'lable' not found" in msg and "did you mean 'label'" in msg


def test_error_feature_listed_twice(small_csv):
    # --features a,a,b fitted a design with a duplicated column, without a word
    argv = ["--csv", str(small_csv), "--target", "label", "--features", "a,a,b"]
    status, _, err = run_main(["select", *argv])
    assert status == 1
    assert err.strip() == "ticselect: error: --features lists 'a' twice."


def test_error_target_outside_support(small_csv):
    argv = ["--csv", str(small_csv), "--target", "count", "--features", "a,b"]
    proc = console("select", *argv, "--family", "poisson")
    assert "outside the support of the poisson family" in _one_line_error(proc, 1)


def test_error_binomial_needs_two_classes(small_csv):
    argv = ["--csv", str(small_csv), "--target", "a", "--features", "b"]
    proc = console("report", *argv, "--family", "binomial")
    assert "binomial family needs exactly 2" in _one_line_error(proc, 1)


def test_error_numeric_column_with_a_typo(tmp_path):
    # a text value in an otherwise numeric column is a typo, not a category
    path = tmp_path / "typo.csv"
    rows = ["a,y"] + [f"{i / 7:.3f},{i % 2}" for i in range(30)]
    rows[3] = "oops,0"
    path.write_text("\n".join(rows) + "\n")
    proc = console("select", "--csv", str(path), "--target", "y")
    assert "'a' is numeric except 'oops' on line 4" in _one_line_error(proc, 1)


def test_error_unknown_option():
    proc = console("select", "--frobnicate")
    assert "unrecognized arguments: --frobnicate" in _one_line_error(proc, 2)


def test_error_bad_grid_and_family():
    assert "invalid grid" in _one_line_error(console("select", "--grid", "0,-1"), 2)
    proc = console("select", "--family", "cauchy")
    assert "invalid choice" in _one_line_error(proc, 2)


def test_error_too_few_rows_per_class_names_the_label(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("a,y\n0.1,0\n0.2,1\n0.3,1\n0.5,1\n")
    msg = _one_line_error(console("select", "--csv", str(path), "--target", "y"), 1)
    # the label as the user wrote it, not a NumPy repr such as np.int64(0)
    assert msg.startswith("ticselect: error: class 0 of 'y' has 1 rows")
    assert "np." not in msg


def test_error_plot_into_missing_directory(tmp_path):
    target = tmp_path / "no" / "such" / "path.png"
    proc = console("select", "--grid", "1", "--cv", "0", "--plot", str(target))
    assert "cannot save the plot" in _one_line_error(proc, 1)
    assert not target.exists()


def test_error_negative_penalty_value():
    proc = console("report", "--value", "-1")
    assert "argument --value: expected a non-negative" in _one_line_error(proc, 2)


def test_report_json_unpenalised_is_strict_json():
    # C = inf is a valid choice (no penalty); strict JSON has no Infinity literal
    status, out, err = run_main(["report", "--value", "inf", "--json"])
    assert status == 0, err
    rep = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert rep["param"] == {"C": "inf"}


def test_error_csv_without_target(small_csv):
    assert "--csv needs --target" in _one_line_error(
        console("select", "--csv", str(small_csv)), 2
    )


def test_csv_text_labels_select_runs(small_csv):
    argv = ["select", "--csv", str(small_csv), "--target", "label"]
    proc = console(*argv, "--features", "a,b", "--cv", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["family"] == "binomial" and res["data"]["n_samples"] == 40


def test_debug_reraises(tmp_path):
    from ticselect.cli._data import CLIError

    # the CLI's own error type, raised instead of the one-line message (not any
    # Exception: a crash elsewhere would satisfy pytest.raises(Exception))
    with pytest.raises(CLIError, match="cannot read .*x.csv"):
        main(["select", "--csv", str(tmp_path / "x.csv"), "--target", "y", "--debug"])


def test_python_dash_m_default_runs_quickly():
    proc = subprocess.run(
        [sys.executable, "-m", "ticselect", "select", "--n-grid", "4"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "picks: AIC" in proc.stdout


# ----------------------------------------------------------- issue 18: rough edges
def _write_csv(path, X, y, names=("x1", "x2", "x3", "x4"), target="y"):
    lines = [",".join([*names[: X.shape[1]], target])]
    lines += [
        ",".join([*(f"{v:.6f}" for v in row), str(t)])
        for row, t in zip(X, y, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_select_json_has_flags_per_row_and_notes():
    """Breast cancer is separable: the weakly penalised row is flagged for TIC."""
    proc = console("select", "--grid", "0.01,1000", "--cv", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    flags = [r["flags"] for r in res["candidates"]]
    # penalised: an estimate exists (no "separation"), TIC's penalty fails there
    assert flags[0] == [] and "high_leverage" in flags[1]
    assert not any("separation" in f for f in flags)
    # the notes: why the recommended row, the edge of the grid for it, the flag
    notes = res["notes"]
    assert notes[0].startswith("recommended: ALO's pick C=0.01")
    assert any("extend the grid" in n and "C=0.01" in n for n in notes)
    assert any(n.startswith("flag high_leverage (C=1e+03)") for n in notes)
    # the same in the text table: a flags column and the note lines
    proc = console("select", "--grid", "0.01,1000", "--cv", "0")
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["C", "ALO/2n"])
    assert header.split()[-1] == "flags"
    row = next(line for line in lines if line[2:].split()[:1] == ["1000"])
    assert row.split()[-1] == "high_leverage"
    assert "extend the grid" in " ".join(line.strip() for line in lines)  # wrapped


def test_select_negative_log_grid_is_accepted():
    proc = console("select", "--grid", "-3:2:3", "--cv", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    got = [r["C"] for r in json.loads(proc.stdout)["candidates"]]
    assert_allclose(got, np.logspace(-3, 2, 3))


def test_select_grid_size_is_bounded():
    msg = _one_line_error(console("select", "--n-grid", "1000000000"), 2)
    assert "use at most 200" in msg and "full fit" in msg
    msg = _one_line_error(console("select", "--grid=-3:2:100000"), 2)
    assert "use at most 200" in msg


def test_integer_class_target_asks_for_a_family(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = np.digitize(X[:, 0] + rng.normal(size=90), [-0.5, 0.5])  # 0, 1, 2
    path = _write_csv(tmp_path / "three.csv", X, y)
    msg = _one_line_error(console("select", "--csv", str(path), "--target", "y"), 2)
    assert "3 integer values (0, 1, 2)" in msg and "--family multinomial" in msg
    argv = ["--csv", str(path), "--target", "y", "--family", "multinomial"]
    proc = console("select", *argv, "--grid", "0.1,1", "--cv", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["family"] == "multinomial"


def test_glm_candidates_use_newton_cholesky():
    from ticselect.cli._data import NEWTON_MAX_COEF, make_estimator

    for family in ("binomial", "multinomial", "poisson", "gamma"):
        est, _ = make_estimator(family, "glm", 1.0, n_features=4)
        assert est[-1].solver == "newton-cholesky"
    est, _ = make_estimator("poisson", "glm", 1.0, n_features=NEWTON_MAX_COEF + 1)
    assert est[-1].solver == "lbfgs"


def test_select_json_writes_an_infinite_aicc_as_report_does(tmp_path):
    """n ≤ k + 1 makes AICc infinite: select and report both write the string "inf"."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 11))
    y = (X[:, 0] + rng.normal(size=12) > 0).astype(int)
    path = tmp_path / "tiny.csv"
    header = ",".join([f"x{j}" for j in range(11)] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="")
    argv = ["--csv", str(path), "--target", "y", "--grid", "0.1,1", "--cv", "0"]
    status, out, _ = run_main(["select", *argv, "--json"])
    assert status == 0
    cands = json.loads(out)["candidates"]
    assert [c["aicc"] for c in cands] == ["inf", "inf"]  # k = 12 = n
