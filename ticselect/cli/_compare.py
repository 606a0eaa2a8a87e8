"""``ticselect compare``: model formulas on one data file, in one ranked table.

A thin wrapper of :func:`ticselect.compare_formulas`: the file is read with pandas
(:func:`~ticselect.cli._data.read_table`), every formula is fitted by statsmodels on
the rows where all of them are complete, and the table (k, loglik, AIC, BIC,
approximate leave-one-out, TIC, differences with the standard error ``d_tic_se`` of
the TIC difference, likelihood-ratio tests with robust Wald tests beside them where a
model is flagged misspecified, reliability flags, the recommended formula and why;
``--all`` for every column) is printed, or with ``--json`` its rows (``flags`` a
list, ``penalty_ratio``).
"""

from __future__ import annotations

import warnings

from ._data import read_table

__all__ = ["format_compare", "run_compare"]

#: ``--family`` choices of ``ticselect compare``.
FORMULA_FAMILIES = ("gaussian", "binomial", "poisson", "gamma", "inverse_gaussian")


def run_compare(args):
    """Run ``ticselect compare``; return the JSON-ready result.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``data``, ``formulas``, ``family``, ``link``, ``weights``,
        ``offset``, ``groups``, ``sort_by``).

    Returns
    -------
    dict
        ``data`` (source, rows read, rows used, rows dropped and missing values per
        column), ``family``, ``sort_by``, ``best``, ``recommended`` (the
        recommended formula's name), ``pick_note`` (one line saying why),
        ``models`` (one dict
        per row, best first, with its ``formula``, its ``flags`` as a list and its
        ``penalty_ratio``), ``warnings`` and the ``table`` text.
    """
    from ..selection import compare_formulas
    from ..selection._flags import parse_flags

    frame = read_table(args.data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = compare_formulas(
            frame, args.formulas, family=args.family, link=args.link,
            weights=args.weights, offset=args.offset, groups=args.groups,
            sort_by=args.sort_by,
        )  # fmt: skip
    rows = table.to_dict()
    models = []
    for name in table.names:
        row = dict(rows[name])
        row["flags"] = list(parse_flags(row["flags"]))  # the cell "a,b" as a list
        models.append({"name": name, "formula": table.formulas[name], **row})
    return {
        "data": {
            "source": str(args.data),
            "n_rows": int(len(frame)),
            "n_samples": float(models[0]["n_samples"]),
            "n_dropped": table.n_dropped,
            "missing": table.missing,
        },
        "family": table.family,
        "sort_by": table.sort_by,
        "best": table.best,
        "pick_note": table.pick_note,
        "models": models,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        "recommended": table.recommended,
        "table": table.summary(full=getattr(args, "all", False)),
    }


def format_compare(result):
    """The text table of a :func:`run_compare` result.

    Parameters
    ----------
    result : dict
        From :func:`run_compare`.

    Returns
    -------
    str
    """
    d = result["data"]
    head = f"{d['source']}: {d['n_rows']} rows; criteria on the deviance scale"
    return head + " (lower is better)\n" + result["table"]
