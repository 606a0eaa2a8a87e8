"""``ticselect select --model mlp``: overconfident rows carry the flag, in the JSON
and in a note when TIC picks one (issue 15)."""

import contextlib
import io
import json

import pytest
from numpy.testing import assert_allclose

import ticselect as ts
from ticselect.cli import main
from ticselect.cli._data import check_target, load_dataset, make_estimator


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.filterwarnings("ignore::ticselect.OverconfidenceWarning")
@pytest.mark.filterwarnings("ignore::ticselect.SingularHessianWarning")
def test_mlp_rows_carry_the_overconfident_flag_of_their_criteria():
    grid = "0.001,3"
    status, out, _ = _run(["select", "--model", "mlp", "--grid", grid, "--cv", "0",
                           "--json"])  # fmt: skip
    assert status == 0
    result = json.loads(out)
    rows = result["candidates"]
    # the flags are those of ts.criteria on the same fits (the CLI's own estimator)
    data = load_dataset()
    family, y = check_target(data, "auto")
    for row in rows:
        est, _ = make_estimator(family, "mlp", row["alpha"])
        crit = ts.criteria(ts.curvature(est.fit(data.X, y), data.X, y))
        assert row["flags"] == list(crit.flags)
        # same fit, same float64 traces: rounding only
        assert_allclose(row["penalty_ratio"], crit.penalty_ratio, rtol=1e-10)
    weak = next(r for r in rows if r["alpha"] == 0.001)
    assert "overconfident" in weak["flags"]  # interpolates 569 rows with 257 params
    assert result["picks"]["tic"]["alpha"] == 0.001


def test_text_output_notes_a_flagged_tic_pick():
    status, out, _ = _run(["select", "--model", "mlp", "--grid", "0.001,3", "--cv",
                           "0"])  # fmt: skip
    assert status == 0
    note = [line for line in out.splitlines() if "TIC's pick" in line]
    assert len(note) == 1 and "overconfident" in note[0]
