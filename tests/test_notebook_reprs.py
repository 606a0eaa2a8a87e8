"""What a notebook and the docs show: HTML reprs, plain reprs and the top bar of the
documentation (issue 24 items 10 and 13)."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import ticselect as ts
from ticselect.selection._table import format_cell

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curv = ts.curvature(LogisticRegression(tol=1e-10).fit(X, y), X, y)
        path = ts.criterion_path(LogisticRegression(tol=1e-10), "C", [0.1, 1, 10],
                                 X, y)  # fmt: skip
    return curv, path


def _cells(text):
    return re.findall(r"<td>(.*?)</td>", text)


def _tic_cell(path):
    """TIC's cell at its pick, as the path's text summary writes it."""
    i = path.best_index("tic")
    return format_cell("tic", path.deviance("tic")[i]) + "*"


def test_html_reprs(fitted):
    curv, path = fitted
    alo = ts.approximate_loo(curv)
    flat = ts.flatness(curv)
    for obj, caption, cell in (
        (curv, "Curvature of LogisticRegression", f"{curv.nll:.6g}"),
        (alo, "Approximate leave-one-out", f"{alo.loo:.6g}"),
        (flat, "Flatness measures", f"{flat.trace:.6g}"),
        (path, "Criterion path over C", _tic_cell(path)),
    ):
        text = obj._repr_html_()
        assert text.startswith("<table><caption>") and text.endswith("</table>")
        assert caption in text and cell in _cells(text)
    # a path marks each criterion's pick and says what the marks mean
    text = path._repr_html_()
    assert sum(c.endswith("*") for c in _cells(text)) >= 4
    assert "marks each criterion" in text
    # and leads the recommended value with ">", as its summary does
    assert f"&gt; {path.best_value():g}" in _cells(text)
    assert f"recommended: C={path.best_value():g}" in text


def test_criteria_repr_holds_plain_numbers():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = X[:, 0] + rng.normal(size=40)
    crit = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    assert "np.float64" not in repr(crit) and "np.int64" not in repr(crit)
    plain = (float, int, tuple, type(None))  # None: undefined (pseudo-R² of a network)
    assert all(type(v) in plain for v in crit.to_dict().values())


def _top_level_docs():
    """The root toctree entries of docs/index.md, in order."""
    text = (DOCS / "index.md").read_text()
    entries = []
    for block in re.findall(r"```\{toctree\}(.*?)```", text, re.DOTALL):
        entries += [
            line.strip()
            for line in block.splitlines()
            if line.strip() and not line.strip().startswith(":")
        ]
    return entries


def test_selection_and_api_are_in_the_top_bar():
    # pydata-sphinx-theme shows the first `header_links_before_dropdown` top-level
    # pages and hides the rest under "More"
    conf = (DOCS / "conf.py").read_text()
    shown = int(re.search(r'"header_links_before_dropdown":\s*(\d+)', conf).group(1))
    entries = _top_level_docs()
    for page in ("guide/selection", "api"):
        assert entries.index(page) < shown, (page, entries[:shown])


def test_getting_started_installs_from_the_source_tree():
    text = (DOCS / "getting_started.md").read_text()
    install = text.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "pip install ticselect" not in install  # not on a package index yet
    assert "pip install ." in install and "source tree" in install
