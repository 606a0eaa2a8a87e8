"""Layer 3 — the columns of every selection table, and their text form.

One registry, :data:`COLUMNS`, says for each column of :class:`~ticselect.Comparison`
(and so :func:`~ticselect.compare_formulas`), :meth:`CriterionPath.summary
<ticselect.CriterionPath.summary>` and ``ticselect select`` how its cells are written
and what it means; :func:`text_table` lays any of them out.  A new column is one entry
here plus the code that fills it.

Conventions of the text
-----------------------
Deviance-scale criteria (``2·NLL + penalty``) with 2 decimals, per-sample values
(``criterion / 2n``, NLL per sample) with 4, weights with 3, ratios with 2
significant digits, p-values with 3; a missing value is ``-`` (``""`` for the
likelihood-ratio and Wald columns of models that are tested against none).  In a
column that has a pick, ``*`` follows the picked cell; ``>`` opens the recommended
row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["COLUMNS", "Column", "format_cell", "text_table"]


def _num(spec):
    def fmt(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        if isinstance(v, float) and math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if spec == "d" or isinstance(v, int):
            return f"{int(v):d}"
        if spec == ".4f" and abs(v) >= 1e4:
            return f"{v:.3e}"
        if spec == ".2f" and abs(v) >= 1e7:
            return f"{v:.4e}"
        return f"{v:{spec}}"

    return fmt


def _blank_if_missing(fmt):
    def inner(v):
        out = fmt(v)
        return "" if out == "-" else out

    return inner


def _flags(v):
    if isinstance(v, str):
        return v
    return ",".join(v) if v else ""


@dataclass(frozen=True)
class Column:
    """How one table column is written, and what it holds.

    Attributes
    ----------
    fmt : callable
        ``fmt(value) -> str``.
    doc : str
        One line: what the column holds.
    title : str or None
        Header in text tables (``None``: the column's key).
    """

    fmt: object
    doc: str
    title: str | None = None


_DEV, _PS = _num(".2f"), _num(".4f")
COLUMNS = {
    "k": Column(_num("d"), "free parameters counted by AIC/BIC (nominal k)"),
    "loglik": Column(_DEV, "log-likelihood with all constants"),
    "n_samples": Column(_num("g"), "n = Σ wᵢ"),
    "aic": Column(_DEV, "2L + 2k"),
    "aicc": Column(_DEV, "AIC + 2k(k+1)/(n-k-1)"),
    "bic": Column(_DEV, "2L + k log n"),
    "aic_edf": Column(_DEV, "2L + 2·edf, edf = tr(H_λ⁻¹H) (AIC of a penalised fit)"),
    "bic_edf": Column(_DEV, "2L + edf·log n"),
    "tic": Column(_DEV, "2L + 2 tr(H_λ⁻¹C)"),
    "alo": Column(_DEV, "approximate leave-one-out deviance 2·Σwᵢℓᵢ(θ₋ᵢ)"),
    "alo_se": Column(_DEV, "standard error of alo over rows"),
    "d_tic_se": Column(_DEV, "standard error of d_tic (paired pointwise TIC)"),
    "d_alo_se": Column(_DEV, "standard error of d_alo (paired pointwise ALO)"),
    "n_high_leverage": Column(_num("d"), "rows of ALO leverage above 0.7"),
    "tic_penalty": Column(_DEV, "tr(H_λ⁻¹C)"),
    "effective_dim": Column(_DEV, "edf = tr(H_λ⁻¹H)"),
    "gap_estimate": Column(_num(".2g"), "tic_penalty / n (nats per sample)"),
    "stationarity": Column(_num(".2g"), "relative gradient at the fit"),
    "penalty_ratio": Column(_num(".2g"), "tic_penalty / effective_dim"),
    "log_evidence": Column(_DEV, "Laplace log evidence, nats (greater is better)"),
    "flags": Column(_flags, "reliability flags, joined by ','"),
    "lr": Column(_blank_if_missing(_DEV), "likelihood-ratio statistic"),
    "lr_df": Column(_blank_if_missing(_num("d")), "its degrees of freedom"),
    "lr_p": Column(_blank_if_missing(_num(".3g")), "its p-value (χ²)"),
    "lr_vs": Column(lambda v: v or "", "the model tested against"),
    "wald": Column(_blank_if_missing(_DEV), "robust Wald statistic (sandwich)"),
    "wald_p": Column(_blank_if_missing(_num(".3g")), "its p-value (χ²)"),
    # per-sample columns of ticselect select (criterion / 2n, NLL per sample)
    "alo_per_sample": Column(_PS, "ALO / 2n", "ALO/2n"),
    "alo_se_per_sample": Column(_PS, "standard error of ALO / 2n", "se"),
    "tic_per_sample": Column(_PS, "TIC / 2n", "TIC/2n"),
    "cv_log_loss": Column(_PS, "K-fold CV held-out NLL per sample", "CV"),
    "cv_se": Column(_PS, "its standard error over the folds", "se"),
    "fit_time": Column(_num(".3f"), "wall time of the fit, s"),
    "criteria_time": Column(_num(".3f"), "wall time of curvature and criteria, s"),
    "alo_time": Column(_num(".3f"), "wall time of approximate_loo, s"),
    "cv_time": Column(_num(".3f"), "wall time of the K fold fits, s"),
}
for _c in ("aic", "aicc", "bic", "tic", "alo", "aic_edf", "bic_edf"):
    COLUMNS[f"d_{_c}"] = Column(_DEV, f"{_c} minus its minimum over the rows")
    COLUMNS[f"w_{_c}"] = Column(_num(".3f"), f"Akaike-type weight of {_c}")


def format_cell(column, value):
    """The text of one cell (see the module conventions).

    Parameters
    ----------
    column : str
        A key of :data:`COLUMNS` (other keys are written with ``str``).
    value : object
        The cell's value.

    Returns
    -------
    str
    """
    col = COLUMNS.get(column)
    return str(value) if col is None else col.fmt(value)


def text_table(index_title, index, columns, rows, *, marks=None, lead=None,
               titles=None):  # fmt: skip
    """Aligned text table: an index column, then ``columns`` from ``rows``.

    Parameters
    ----------
    index_title : str
        Header of the index column.
    index : list of str
        One label per row.
    columns : list of str
        Column keys (see :data:`COLUMNS`).
    rows : list of dict
        One ``{column: value}`` per row.
    marks : dict of str to int, default=None
        ``{column: row}``: that cell is followed by ``*`` (a criterion's pick).
    lead : int or None, default=None
        Row opened by ``>`` (the recommended one).
    titles : dict of str to str, default=None
        Headers overriding :attr:`Column.title`.

    Returns
    -------
    list of str
        Header, rule and one line per row (right-aligned numbers, trailing blanks
        stripped).
    """
    marks = marks or {}
    titles = titles or {}
    head = [index_title] + [
        titles.get(c) or (COLUMNS[c].title if c in COLUMNS else None) or c
        for c in columns
    ]
    body = []
    for i, (label, row) in enumerate(zip(index, rows, strict=True)):
        cells = [("> " if i == lead else "  ") + label if lead is not None else label]
        for c in columns:
            text = format_cell(c, row.get(c))
            cells.append(text + ("*" if marks.get(c) == i else " "))
        body.append(cells)
    if lead is not None:
        head[0] = "  " + head[0]
    widths = [max(len(r[j]) for r in [head, *body]) for j in range(len(head))]
    lines = [
        "  ".join(
            [head[0].ljust(widths[0])]
            + [f"{h} ".rjust(w) for h, w in zip(head[1:], widths[1:], strict=True)]
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for cells in body:
        lines.append(
            "  ".join(
                [cells[0].ljust(widths[0])]
                + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
            )
        )
    return [line.rstrip() for line in lines]
