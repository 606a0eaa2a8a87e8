"""``ticselect select``: the ALO column, the picks and the recommended row."""

import contextlib
import io
import json

import numpy as np
import pytest

from ticselect.cli import main
from ticselect.cli._select import SCREEN, format_select
from ticselect.curvature._result import FIT_FLAGS, TIC_FLAGS


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    assert status == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture(scope="module")
def result():
    return json.loads(_run(["select", "--grid", "0.01,1,100", "--cv", "0", "--json"]))


def test_alo_column_and_pick(result):
    rows = result["candidates"]
    alo = [r["alo"] for r in rows]
    assert result["picks"]["alo"]["index"] == int(np.argmin(alo))
    n = result["data"]["n_samples"]
    for r in rows:
        assert r["alo_per_sample"] == pytest.approx(r["alo"] / (2 * n), rel=1e-12)
        assert r["alo_se_per_sample"] == pytest.approx(r["alo_se"] / (2 * n), rel=1e-12)
        # leaving rows out costs likelihood: ALO exceeds the training deviance
        assert r["alo"] > -2 * r["loglik"]
        # AIC and BIC with the effective degrees of freedom
        assert r["aic_edf"] == pytest.approx(
            -2 * r["loglik"] + 2 * r["effective_dim"], rel=1e-12
        )
    # along a penalty the nominal AIC and BIC get no pick (they pick the weakest)
    assert {"aic", "bic"}.isdisjoint(result["picks"])
    assert {"aic_edf", "bic_edf", "tic", "alo"} <= set(result["picks"])


def test_recommended_row_is_alo_pick_and_unflagged(result):
    rows, rec = result["candidates"], result["recommended"]
    # a GLM: ALO's pick (TIC's only where it is the same and unflagged)
    assert rec["index"] == result["picks"]["alo"]["index"]
    assert rec["criterion"] in ("alo", "tic")
    assert not set(rows[rec["index"]]["flags"]) & set(FIT_FLAGS)
    tic = result["picks"]["tic"]["index"]
    if rec["criterion"] == "tic":
        assert tic == rec["index"] and not set(rows[tic]["flags"]) & set(TIC_FLAGS)
    text = format_select(result)
    lines = text.splitlines()
    assert sum(line.startswith("recommended: ") for line in lines) == 1
    lead = [line for line in lines if line.startswith("> ")]
    assert len(lead) == 1 and lead[0].split()[1] == f"{rows[rec['index']]['C']:.4g}"
    assert max(len(line) for line in lines) <= SCREEN


def test_default_select_first_screen_fits_and_recommends_unflagged_row():
    """Issue 23 acceptance: the default command's first screen."""
    text = _run(["select"])
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= SCREEN
    res = json.loads(_run(["select", "--json"]))
    rec = res["recommended"]
    flags = res["candidates"][rec["index"]]["flags"]
    # an unflagged row, or one line saying why none is
    assert (
        flags == []
        or "question TIC, not" in rec["note"]
        or "trustworthy" in rec["note"]
    )
    # the weak penalties where TIC fails on the separable data are flagged
    tic = res["picks"]["tic"]["index"]
    assert set(res["candidates"][tic]["flags"]) & set(TIC_FLAGS)
    # one wording: the recommended line is the only one that speaks of TIC's pick
    assert sum("TIC's pick" in line for line in lines) == 1
    # grid-edge advice for the recommended criterion only
    edge = [n for n in res["notes"] if "extend the grid" in n]
    last = len(res["candidates"]) - 1
    assert bool(edge) == (rec["index"] in (0, last))


def test_all_shows_every_column():
    text = _run(["select", "--grid", "0.01,1", "--cv", "2", "--all"])
    header = next(line for line in text.splitlines() if "loglik" in line)
    for title in ("AIC", "BIC", "AIC(edf)", "BIC(edf)", "TIC", "ALO", "edf", "CV2"):
        assert title in header.split()
