"""``ticselect report`` shows QAIC/QAICc (``--c-hat``) and the pseudo-R²."""

import contextlib
import io
import json

import pytest

from ticselect.cli import main


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def test_report_has_quasi_aic_and_pseudo_r2():
    status, out, err = _run(["report", "--value", "0.5", "--json"])
    assert status == 0, err
    crit = json.loads(out)["criteria"]
    assert 0 < crit["mcfadden_r2"] < 1 and 0 < crit["nagelkerke_r2"] < 1
    assert crit["mcfadden_r2"] == pytest.approx(
        1 - crit["loglik"] / crit["null_loglik"], rel=1e-12
    )
    assert crit["c_hat"] > 0  # estimated: Pearson X²/(n - k), binomial
    status, out, _ = _run(["report", "--value", "0.5", "--json", "--c-hat", "2"])
    crit = json.loads(out)["criteria"]
    assert crit["c_hat"] == 2.0
    k = crit["n_params"]
    assert crit["qaic"] == pytest.approx(-crit["loglik"] + 2 * k, rel=1e-12)
    status, text, _ = _run(["report", "--value", "0.5", "--c-hat", "2"])
    assert "qaicc" in text and "nagelkerke_r2" in text


def test_report_refuses_a_bad_c_hat():
    status, _, err = _run(["report", "--c-hat", "0"])
    assert status == 2 and "--c-hat: expected a positive finite number" in err
