"""Reliability flags in the tables of compare() and criterion_path() (issue 15).

Every output form (to_dict, to_frame, CSV, text, HTML, repr, JSON, the plot) shows
each row's ``flags`` (Criteria.flags joined by ",", "" when reliable) and
``penalty_ratio``, and says when TIC's pick is flagged.  The oracle is ts.criteria
computed independently on the same fits.
"""

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from ticselect.criteria import OVERCONFIDENCE_RATIO
from ticselect.selection._flags import flags_text, parse_flags

# The same float64 criteria copied into the table: equal up to rounding.
RTOL = 1e-12
# The path is fitted cold (warm_start=False) from the same seed: the very fits of the
# loop, so only the order of float operations may differ.
RTOL_REFIT = 1e-10
ALPHAS = [10.0, 1e-5]  # a penalised network, then one that interpolates its rows


def _net(alpha):
    # the interpolating network of tests/criteria/test_overconfidence.py
    return MLPClassifier(
        (8,), alpha=alpha, solver="lbfgs", max_iter=5000, tol=1e-10, random_state=0
    )


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:100] / 16, y[:100]


@pytest.fixture(scope="module")
def nets(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OverconfidenceWarning of the weak penalty
        fitted = {f"alpha={a:g}": _net(a).fit(X, y) for a in ALPHAS}
        ref = {n: ts.criteria(ts.curvature(m, X, y)) for n, m in fitted.items()}
        table = ts.compare(fitted, X, y)
    return fitted, ref, table


@pytest.fixture(scope="module")
def specified():
    """A correctly specified logistic model (test_overconfidence's fixture)."""
    rng = np.random.default_rng(0)
    n = 400
    X = rng.normal(size=(n, 3))
    eta = 0.3 + X @ np.array([1.0, -0.5, 0.25])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return X, y


def test_flags_cell_round_trips():
    for flags in [(), ("overconfident",), ("not_stationary", "overconfident")]:
        assert parse_flags(flags_text(flags)) == flags
    assert parse_flags(float("nan")) == () and parse_flags(None) == ()
    assert flags_text(()) == ""  # falsy: bool(row["flags"]) says "flagged"


def test_compare_rows_carry_flags_and_penalty_ratio(nets):
    _, ref, table = nets
    weak, strong = "alpha=1e-05", "alpha=10"
    # the premise: one network interpolates (flagged), the penalised one does not
    assert "overconfident" in ref[weak].flags and ref[strong].flags == ()
    rows = table.to_dict()
    for name, crit in ref.items():
        assert rows[name]["flags"] == ",".join(crit.flags)
        assert_allclose(
            rows[name]["penalty_ratio"], crit.tic_penalty / crit.effective_dim,
            rtol=RTOL,
        )  # fmt: skip
    assert rows[weak]["penalty_ratio"] < OVERCONFIDENCE_RATIO
    assert rows[strong]["flags"] == ""
    assert {"flags", "penalty_ratio"} <= set(table.columns)
    # JSON: the two columns survive a round trip unchanged (nan ALO cells aside)
    back = json.loads(json.dumps(rows))
    for name in rows:
        assert back[name]["flags"] == rows[name]["flags"]
        assert back[name]["penalty_ratio"] == rows[name]["penalty_ratio"]


def test_compare_frame_and_csv(nets):
    _, ref, table = nets
    frame = table.to_frame()
    assert list(frame.columns) == table.columns
    for name, crit in ref.items():
        assert frame.loc[name, "flags"] == flags_text(crit.flags)
    # CSV: an empty cell is read back as "" with keep_default_na=False
    text = frame.to_csv()
    back = pd.read_csv(io.StringIO(text), index_col="model", keep_default_na=False)
    assert back["flags"].to_dict() == frame["flags"].to_dict()
    assert_allclose(back["penalty_ratio"], frame["penalty_ratio"], rtol=1e-12)
    # with the default NaN for the empty cell, parse_flags still reads "no flag"
    default = pd.read_csv(io.StringIO(text), index_col="model")
    assert {n: parse_flags(v) for n, v in default["flags"].items()} == {
        n: c.flags for n, c in ref.items()
    }


def test_compare_text_html_and_repr_say_tic_pick_is_flagged(nets):
    _, ref, table = nets
    tic = {n: c.tic for n, c in ref.items()}
    pick = min(tic, key=tic.get)
    assert table.tic_pick == pick == "alpha=1e-05"  # TIC prefers the interpolator
    # networks keep their rule: TIC's pick is flagged, so not TIC's (no CV here)
    assert table.recommended == "alpha=10"
    note = table.pick_note
    assert note.startswith(
        "ALO's pick 'alpha=10': TIC's pick 'alpha=1e-05' is flagged overconfident"
    )
    assert "for networks ALO is not reliable either" in note
    lines = table.summary().splitlines()
    header = lines[0].split()
    assert header[-1] == "flags"
    row = {line.split()[1] if line.startswith(">") else line.split()[0]: line
           for line in lines[2:4]}  # fmt: skip
    assert row["alpha=1e-05"].split()[-1] == ",".join(ref["alpha=1e-05"].flags)
    assert "overconfident" not in row["alpha=10"]
    assert row["alpha=10"].startswith("> ")  # the recommended row
    assert lines[-1] == f"recommended: 'alpha=10'; {note}"
    assert sum("TIC's pick" in line for line in lines) == 1  # one wording, once
    html = table._repr_html_()
    assert "<td>overconfident</td>" in html and "TIC&#x27;s pick" in html
    assert "recommended='alpha=10'" in repr(table)


def test_correctly_specified_compare_has_no_flag(specified):
    X, y = specified
    models = {
        "full": LogisticRegression(C=np.inf, tol=1e-12),
        "C=0.1": LogisticRegression(C=0.1, tol=1e-12),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error", ts.OverconfidenceWarning)
        table = ts.compare(models, X, y)
    rows = table.to_dict()
    for name, model in models.items():
        crit = ts.criteria(ts.curvature(model.fit(X, y), X, y))
        assert crit.flags == () and rows[name]["flags"] == ""
        assert_allclose(rows[name]["penalty_ratio"], crit.penalty_ratio, rtol=1e-6)
        # C ≈ H: the ratio is near 1, far above the overconfidence threshold
        assert rows[name]["penalty_ratio"] > OVERCONFIDENCE_RATIO
    # TIC and ALO agree on an unflagged row: TIC's pick is the recommended one
    assert table.recommendation.criterion == "tic"
    assert table.pick_note.startswith("TIC and ALO both pick ")
    assert "flagged" not in table.summary() and "flagged" not in repr(table)
    assert "flagged" not in table._repr_html_()


@pytest.fixture(scope="module")
def net_path(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # cold fits: a warm start moves a non-convex fit to another interpolant
        return ts.criterion_path(_net(1.0), "alpha", ALPHAS, X, y, warm_start=False)


def test_criterion_path_columns_and_dict(net_path, nets):
    _, ref, _ = nets
    loop = [ref[f"alpha={a:g}"] for a in ALPHAS]
    frame = net_path.to_frame()
    assert frame["flags"].tolist() == [flags_text(c.flags) for c in loop]
    assert_allclose(
        frame["penalty_ratio"], [c.penalty_ratio for c in loop], rtol=RTOL_REFIT
    )
    back = pd.read_csv(io.StringIO(frame.to_csv(index=False)), keep_default_na=False)
    assert back["flags"].tolist() == frame["flags"].tolist()
    d = net_path.to_dict()
    assert d["flags"] == ["", "overconfident"]
    assert_allclose(d["penalty_ratio"], frame["penalty_ratio"], rtol=RTOL)
    assert json.loads(json.dumps(d)) == d
    # TIC picks the interpolating network: the pick line says it is flagged, and
    # the recommended value is another one (networks' rule, no CV: ALO's)
    assert net_path.best_value("tic") == 1e-5
    assert d["pick_note"] == net_path.pick_note
    assert net_path.pick_note.startswith(
        "ALO's pick alpha=10: TIC's pick alpha=1e-05 is flagged overconfident"
    )
    assert net_path.best_value() == d["picks"]["recommended"] == 10.0
    assert "recommended alpha=10 (ALO's pick)" in repr(net_path)


def test_criterion_path_plot_marks_flagged_points(net_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    net_path.plot(ax=ax, criteria=["tic", "aic"])
    marked = [line for line in ax.get_lines() if line.get_gid() == "flagged"]
    assert len(marked) == 2  # one per curve
    for line in marked:
        assert line.get_xdata().tolist() == [1e-5]  # the flagged grid value only
        assert line.get_markerfacecolor() in ("white", (1.0, 1.0, 1.0, 1.0))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "flagged (overconfident)" in labels
    plt.close(fig)


def test_unflagged_path_has_no_flag_marks(specified):
    plt = pytest.importorskip("matplotlib.pyplot")
    X, y = specified
    grid = [0.01, 1.0, 1e4]
    path = ts.criterion_path(LogisticRegression(tol=1e-12), "C", grid, X, y)
    for C, flags in zip(grid, path.to_dict()["flags"], strict=True):
        ref = ts.criteria(
            ts.curvature(LogisticRegression(C=C, tol=1e-12).fit(X, y), X, y)
        )
        assert flags == "" == flags_text(ref.flags)
    assert path.pick_note.startswith("TIC and ALO both pick ")
    assert path.recommendation.criterion == "tic" and "flagged" not in repr(path)
    fig, ax = plt.subplots()
    path.plot(ax=ax)
    assert not [line for line in ax.get_lines() if line.get_gid() == "flagged"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any(text.startswith("flagged") for text in labels)
    plt.close(fig)
