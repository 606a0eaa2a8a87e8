"""``ticselect compare`` and ``ticselect report``: the reliability flags per row, in
the text and in ``--json`` (a list, with ``penalty_ratio``), issue 15."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import ticselect as ts
from ticselect.cli._select import select_notes

from .test_cli import run_main

FORMULAS = ["y ~ a", "y ~ a + b", "y ~ a + sep"]


@pytest.fixture(scope="module")
def separated_csv(tmp_path_factory):
    """``sep`` is the label itself: ``y ~ a + sep`` separates the classes."""
    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["y"] = (frame["a"] + rng.normal(size=n) > 0).astype(float)
    frame["sep"] = frame["y"]
    path = tmp_path_factory.mktemp("flags") / "separated.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_compare_json_carries_flag_lists_and_penalty_ratio(separated_csv):
    path, frame = separated_csv
    status, out, err = run_main(
        ["compare", str(path), *FORMULAS, "--family", "binomial", "--json"]
    )
    assert status == 0, err
    res = json.loads(out)
    rows = {m["formula"]: m for m in res["models"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the separation warnings
        ref = ts.compare_formulas(frame, FORMULAS, family="binomial")
    for f in FORMULAS:
        crit = ref.criteria[f]
        assert rows[f]["flags"] == list(crit.flags)  # a list, [] when reliable
        assert_allclose(rows[f]["penalty_ratio"], crit.penalty_ratio, rtol=1e-10)
    assert "separation" in rows["y ~ a + sep"]["flags"]
    assert rows["y ~ a"]["flags"] == []
    # TIC picks the separated formula (log-likelihood 0); the unpenalised fit has no
    # estimate, so the recommendation is another formula and the note says why
    assert res["recommended"] != "y ~ a + sep"
    assert "TIC's pick 'y ~ a + sep' is flagged separation" in res["pick_note"]
    assert "cannot be trusted" in res["pick_note"]


def test_compare_text_shows_flags_and_the_warning(separated_csv):
    path, _ = separated_csv
    status, out, err = run_main(["compare", str(path), *FORMULAS, "--family",
                                 "binomial"])  # fmt: skip
    assert status == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("model "))
    assert header.split()[-1] == "flags"
    row = next(line for line in lines if line[2:].startswith("y ~ a + sep "))
    assert "separation" in row.split()[-1].split(",")
    plain = next(line for line in lines if line[2:].startswith("y ~ a  "))
    assert "separation" not in plain
    rec = [line for line in lines if line.startswith("recommended: ")]
    assert len(rec) == 1 and "TIC's pick 'y ~ a + sep' is flagged" in rec[0]
    assert sum("TIC's pick" in line for line in lines) == 1


def test_report_flags_are_a_list_in_json_and_named_in_text():
    # breast cancer is separable: C = 1000 is penalised (an estimate exists, no
    # "separation" flag) but TIC's first-order penalty fails there: flagged
    status, out, err = run_main(["report", "--value", "1000", "--json"])
    assert status == 0, err
    crit = json.loads(out)["criteria"]
    assert isinstance(crit["flags"], list) and "high_leverage" in crit["flags"]
    assert "separation" not in crit["flags"]
    assert (
        0
        <= crit["penalty_ratio"]
        == pytest.approx(crit["tic_penalty"] / crit["effective_dim"], rel=1e-12)
    )
    status, out, _ = run_main(["report", "--value", "1000"])
    flag_line = next(line for line in out.splitlines() if line.startswith("flags "))
    assert "high_leverage" in flag_line and "(" not in flag_line  # not a tuple repr
    assert "warning: flagged high_leverage: " in out
    status, out, _ = run_main(["report", "--value", "0.01", "--json"])
    assert json.loads(out)["criteria"]["flags"] == []


def test_select_recommended_line_is_the_tables_pick_note():
    # one wording for a flagged TIC pick: the recommendation's note, which compare
    # and criterion_path show as pick_note
    from ticselect.selection._recommend import recommend

    rows = [{"C": 1.0, "flags": ["overconfident"]}, {"C": 10.0, "flags": []}]
    result = {
        "param": "C", "candidates": rows, "family": "binomial",
        "data": {"n_samples": 100},
        "picks": {"tic": {"index": 0, "C": 1.0}, "alo": {"index": 1, "C": 10.0}},
        "recommended": {"criterion": "alo", "index": 1, "C": 10.0,
                        "note": "ALO's pick C=10: TIC's pick C=1 is flagged "
                        "overconfident: TIC cannot be trusted there."},
    }  # fmt: skip
    notes = select_notes(result)
    assert notes[0] == f"recommended: {result['recommended']['note']}"
    assert sum("TIC's pick" in n for n in notes) == 1
    assert recommend.__module__ == "ticselect.selection._recommend"
