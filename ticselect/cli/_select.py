"""``ticselect select``: fit a grid of candidates, rank by ALO, TIC, AIC/BIC and CV.

For each grid value the candidate is fitted once on all rows; its exact curvature
gives the log-likelihood, ``k``, the effective degrees of freedom, AIC and BIC (with
the nominal ``k`` and with ``edf``: along a penalty only the latter get a pick), TIC,
the gap estimate and the approximate leave-one-out deviance ALO
(:func:`ticselect.approximate_loo`).  The recommended pick (``recommended`` in the
JSON, the ``recommended:`` line and the ``>`` row of the table) follows the rule of
:mod:`ticselect.selection._recommend` shared with ``ts.compare`` and
``ts.criterion_path``: ALO's pick for GLMs (TIC's where it agrees and no flag
questions it), CV's where K-fold CV is advised and was run, and for networks TIC's
unless it is flagged, then CV's.  Optionally
(``--cv K``, default 5) the same candidate is refitted on K stratified (classification)
or plain (regression) shuffled folds and scored by held-out negative log-likelihood
per sample, on the scale of ``TIC / (2n)`` (for classifiers this is scikit-learn's
``log_loss``, so it equals ``-cross_val_score(..., scoring="neg_log_loss").mean()``
on the same folds).
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
import time
import warnings

import numpy as np

from .._validation import final_step
from ..curvature._timing import DEFAULT_MAX_SECONDS as DEFAULT_CURVATURE_SECONDS
from ._budget import check_run_time
from ._data import (
    CLASSIFICATION,
    CLIError,
    HeldOutLoss,
    blas_threads,
    check_target,
    data_notes,
    default_grid,
    format_data_notes,
    load_dataset,
    make_estimator,
)

__all__ = ["run_select"]

#: Criteria that get a pick (along a penalty AIC and BIC only with the edf).
PICKED = ("aic_edf", "bic_edf", "tic", "alo", "evidence", "cv")
#: Width of the first screen (the table and the lines under it).
SCREEN = 100
#: Bound of ``--grid`` and ``--n-grid`` (see ``ticselect.cli._main.MAX_GRID``).
MAX_GRID_VALUES = 200


class Progress:
    """A tqdm progress bar on a text stream; silent when disabled or without tqdm."""

    def __init__(self, total, enabled, stream=None, note=None):
        self.total = total
        self.done = 0
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is in the [cli] extra
                return
            self.bar = tqdm(
                total=total, file=sys.stderr if stream is None else stream,
                unit="fit", dynamic_ncols=True, leave=True, desc=note,
            )  # fmt: skip

    def update(self, label=""):
        """Advance by one step, showing ``label``; close the bar after the last."""
        self.done += 1
        if self.bar is None:
            return
        self.bar.set_postfix_str(label, refresh=False)
        self.bar.update(1)
        if self.done == self.total:
            self.bar.close()


def _splits(family, y, n_folds, seed, groups=None):
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    if groups is not None:
        if len(np.unique(groups)) < n_folds:
            raise CLIError(
                f"--cv {n_folds} needs at least {n_folds} groups in --groups.",
                status=2,
            )
        folds = GroupKFold(n_splits=n_folds)
        return list(folds.split(np.zeros((y.shape[0], 1)), y, groups))
    cls = StratifiedKFold if family in CLASSIFICATION else KFold
    return list(
        cls(n_splits=n_folds, shuffle=True, random_state=seed).split(
            np.zeros((y.shape[0], 1)), y
        )
    )


def parse_grid(text):
    """Parse ``--grid``: comma-separated positive numbers, or ``lo:hi:n`` (log10).

    Parameters
    ----------
    text : str
        ``"0.01,0.1,1"`` or ``"-3:2:12"`` (``np.logspace(lo, hi, n)``).

    Returns
    -------
    ndarray of shape (n_values,)

    Raises
    ------
    ValueError
        When the text is not a valid grid.
    """
    text = text.strip()
    if text.count(":") == 2:
        lo, hi, n = text.split(":")
        n = int(n)
        if n < 1:
            raise ValueError("the grid needs at least one value")
        if n > MAX_GRID_VALUES:
            raise ValueError(
                f"{n} values is too many: each is a full fit plus one per CV fold; "
                f"use at most {MAX_GRID_VALUES}"
            )
        return np.logspace(float(lo), float(hi), n)
    values = np.array([float(v) for v in text.split(",") if v.strip()])
    if values.size > MAX_GRID_VALUES:
        raise ValueError(f"{values.size} values is too many; use at most 200")
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("grid values must be positive numbers")
    return values


def run_select(args, out=None, err=None):
    """Run ``ticselect select`` and return ``(result dict, text table)``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options.
    out, err : file-like or None, default=None
        Streams (``sys.stdout`` / ``sys.stderr``).

    Returns
    -------
    dict
        Machine-readable result (what ``--json`` prints).
    """
    err = sys.stderr if err is None else err
    n_folds = args.cv
    if args.plot:
        _check_plot_path(args.plot)  # fail before the fits, not after
    data = load_dataset(
        args.csv,
        args.target,
        args.features,
        args.groups,
        dropna=getattr(args, "dropna", False),
    )
    groups = data.extra.get("groups")
    family, y = check_target(data, args.family, n_folds=n_folds)
    if args.grid is not None:
        param = make_estimator(family, args.model, 1.0)[1]
        grid = args.grid
    else:
        param, grid = default_grid(family, args.model, args.n_grid)
    X = data.X
    loss = HeldOutLoss(family)
    splits = _splits(family, y, n_folds, args.seed, groups) if n_folds else []
    estimate = check_run_time(args, data, family, y, len(grid), n_folds)  # or refuse
    note = f"select, est. {estimate.label()}"
    if not args.progress and estimate.seconds > 30 and not getattr(args, "quiet", 0):
        err.write(f"ticselect: {note}\n")
    progress = Progress(len(grid), args.progress, err, note=note)
    rows, crits, fitted_all, loos, tics = [], [], [], [], []
    # the run's budget bounds each curvature too (not only the time guard's 60 s)
    curv_limit = max(DEFAULT_CURVATURE_SECONDS, getattr(args, "max_seconds", 0))
    with (
        warnings.catch_warnings(record=True) as caught,
        blas_threads(args.threads, data),
    ):
        warnings.simplefilter("always")
        for value in grid:
            est, curv, crit, loo, tic, cv, times = _fit_candidate(
                args, data, family, y, value, groups, splits, loss, curv_limit
            )
            rows.append(_candidate_row(param, value, crit, loo, cv, times))
            tics.append(tic)
            crits.append(crit)
            loos.append(loo)
            fitted_all.append(est)
            progress.update(f"{param}={value:.3g}")
    crits, picks, recommended = _recommendation(
        rows, crits, loos, param, curv.family, grouped=groups is not None
    )
    chance = _uncertainty(rows, loos, tics, groups, recommended,
                          getattr(args, "rule", "min"), param)  # fmt: skip
    messages = _distinct_messages(caught)
    result = {
        "data": {
            "source": data.source,
            "n_samples": int(data.n_samples),
            "n_features": int(X.shape[1]),
            "target": data.target_name,
            "groups": args.groups,
            "n_groups": None if groups is None else int(len(np.unique(groups))),
            **data_notes(data),
        },
        "family": family,
        "model": args.model,
        "estimator": type(final_step(fitted_all[0])).__name__,
        "param": param,
        "cv_folds": n_folds,
        "seed": args.seed,
        "candidates": rows,
        "picks": picks,
        "recommended": recommended,
        "chance_note": chance,
        "warnings": messages,
    }
    result["notes"] = select_notes(result)
    if getattr(args, "tune", False):  # the search beside the grid (cli._tune)
        from ._tune import run_tune

        result["tune"] = run_tune(args, data, family, y, param, grid)
    if args.plot:
        _save_plot(args.plot, param, grid, crits, fitted_all, rows, loos,
                   curv.family, rule=recommended["rule"], tics=tics,
                   groups=groups)  # fmt: skip
    return result


def _fit_candidate(args, data, family, y, value, groups, splits, loss, curv_limit):
    """Fit one grid value: estimator, curvature, criteria, ALO, per-row TIC and CV.

    Returns ``(estimator, curvature, criteria, loo, per-row TIC or None, (CV loss,
    its standard error) or (None, None), {"fit", "criteria", "alo", "cv"} seconds)``.
    """
    from sklearn.base import clone

    from ..criteria import criteria
    from ..curvature import curvature
    from ..selection import approximate_loo
    from ..stattests import pointwise

    X = data.X
    est, _ = make_estimator(
        family, args.model, value, hidden=args.hidden, seed=args.seed,
        scale=not args.no_scale, categorical=data.categorical,
        n_features=X.shape[1],
    )  # fmt: skip
    t0 = time.perf_counter()
    est.fit(X, y)
    t1 = time.perf_counter()
    curv = curvature(est, X, y, groups=groups, max_seconds=curv_limit)
    crit = criteria(curv)
    t2 = time.perf_counter()
    loo = approximate_loo(curv)
    # per-row TIC costs an n × d solve: only for networks, whose pick is TIC's
    tic = pointwise(curv).tic if curv.family == "mlp" else None
    t3 = time.perf_counter()
    cv = (None, None)
    if splits:
        fold = []
        for train, test in splits:
            f = clone(est).fit(X[train], y[train])
            fold.append(loss(f, X[train], y[train], X[test], y[test]))
        cv = (float(np.mean(fold)), _standard_error(fold))
    times = {"fit": t1 - t0, "criteria": t2 - t1, "alo": t3 - t2,
             "cv": time.perf_counter() - t3}  # fmt: skip
    return est, curv, crit, loo, tic, cv, times


def _candidate_row(param, value, crit, loo, cv, times):
    """One row of the ``candidates`` list (what ``--json`` prints per grid value)."""
    d = crit.to_dict()
    two_n = 2.0 * d["n_samples"]
    return {
        param: float(value),
        "loglik": d["loglik"],
        "k": d["n_params"],
        "effective_dim": d["effective_dim"],
        "aic": d["aic"],
        "aicc": d["aicc"],  # written "inf" when n ≤ k + 1, as in report
        "bic": d["bic"],
        "aic_edf": d["aic_edf"],
        "bic_edf": d["bic_edf"],
        "tic": d["tic"],
        "tic_penalty": d["tic_penalty"],
        "tic_per_sample": d["tic"] / two_n,
        "alo": loo.loo,
        "alo_per_sample": loo.loo / two_n,
        "alo_se": loo.loo_se,
        "alo_se_per_sample": loo.loo_se / two_n,
        "n_high_leverage": loo.n_high_leverage,
        "gap_estimate": d["gap_estimate"],
        "soft_rank": d["soft_rank"],
        "stationarity": d["stationarity"],
        "penalty_ratio": d["penalty_ratio"],
        "log_evidence": d["log_evidence"],
        "cv_log_loss": cv[0],
        "cv_se": cv[1],
        "flags": list(crit.flags),
        "fit_time": times["fit"],
        "criteria_time": times["criteria"],
        "alo_time": times["alo"],
        "cv_time": times["cv"],
    }


def _distinct_messages(caught):
    """Warning texts, one per kind: texts that differ only in numbers count once."""
    seen, out = set(), []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        key = re.sub(r"[-+]?\d[\d.]*(e[-+]?\d+)?%?", "#", text)
        if key not in seen:
            seen.add(key)
            out.append(text)
    return sorted(out)


def _standard_error(values):
    """Standard error of a mean over folds (``std(ddof=1)/sqrt(K)``)."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return 0.0
    return float(np.std(values, ddof=1) / np.sqrt(values.size))


def _recommendation(rows, crits, loos, param, family, grouped=False):
    """Flags with ALO's part, each criterion's pick, and the recommended row.

    ``family`` is the curvature's (``"mlp"`` for networks).  The rule is
    :func:`ticselect.selection._recommend.recommend`, with CV's losses when CV ran.
    """
    from ..selection._recommend import alo_flags, recommend

    kind = "mlp" if family == "mlp" else "glm"
    crits = alo_flags(crits, [None] * len(loos) if grouped else loos,
                      [kind] * len(crits))  # fmt: skip
    for row, crit in zip(rows, crits, strict=True):
        row["flags"] = list(crit.flags)
    picks = {}
    for name in PICKED:
        key = {"cv": "cv_log_loss", "evidence": "log_evidence"}.get(name, name)
        vals = [r[key] for r in rows]
        if any(v is None for v in vals):
            continue
        v = np.asarray(vals, dtype=float) * (-1.0 if name == "evidence" else 1.0)
        if np.all(np.isnan(v)):  # an undefined evidence (no penalty) has no pick
            continue
        i = int(np.argmin(np.where(np.isnan(v), np.inf, v)))
        picks[name] = {"index": i, param: rows[i][param]}
    labels = [f"{param}={r[param]:.4g}" for r in rows]
    cv = [r["cv_log_loss"] for r in rows]
    rec = recommend(labels, crits, loos, family=family,
                    cv=None if None in cv else cv, grouped=grouped)  # fmt: skip
    recommended = {
        "criterion": rec.criterion,
        "index": rec.index,
        param: rows[rec.index][param],
        "note": rec.note,
        "cv_advised": rec.cv_advised,
    }
    return crits, picks, recommended


def _uncertainty(rows, loos, tics, groups, recommended, rule, param):
    """Add the uncertainty columns of ALO and TIC to ``rows``; apply ``rule``.

    Returns the best-of-many warning of the recommended criterion (ALO's when CV
    recommends, or TIC for a GLM, whose per-row TIC is not computed: TIC is then
    recommended only where ALO picks the same row), ``""`` when there is none.
    With ``rule="one_se"`` and a recommendation by ALO or TIC, ``recommended``
    moves to the most regularised row within one paired standard error (its
    ``rule`` says which rule applied).
    """
    from ..selection._uncertainty import one_se_index, table_columns

    checks = {}
    for c, vectors, g in (
        ("alo", [2.0 * np.asarray(r.pointwise, float) for r in loos], None),
        ("tic", tics, groups),  # ALO leaves out rows even with groups
    ):
        w = loos[0].weights if c == "alo" else None
        cols, checks[c] = table_columns(c, [r[c] for r in rows], vectors, w, g)
        for key, values in cols.items():
            for row, v in zip(rows, values, strict=True):
                v = v.item() if hasattr(v, "item") else v
                row[key] = None if isinstance(v, float) and np.isnan(v) else v
    crit = recommended["criterion"]
    if crit == "tic" and tics[0] is None:  # a GLM: TIC recommended where ALO agrees
        crit = "alo"
    recommended["rule"] = rule
    if rule == "one_se" and crit not in ("alo", "tic"):
        recommended["note"] += (
            f" --rule one_se applies to picks by ALO or TIC: {crit.upper()}'s is kept."
        )
        recommended["rule"] = "min"
    elif rule == "one_se":
        edf = [r["effective_dim"] for r in rows]
        d = [r[f"d_{crit}"] for r in rows]
        i = one_se_index(d, [r[f"d_{crit}_se"] for r in rows], edf)
        recommended["note"] += (
            f" One-SE rule: {param}={rows[i][param]:.4g}, the most regularised "
            f"value within one paired standard error of {crit.upper()}'s minimum."
        )
        recommended.update(index=i, **{param: rows[i][param]})
    return checks.get(crit, checks["alo"]).message


def select_notes(result):
    """The notes of a ``select`` result (also in ``--json``), one line each.

    The ``recommended:`` line (why the recommended row, in the wording of
    ``ts.compare``'s and ``ts.criterion_path``'s ``pick_note``), a warning when the
    recommended value is at the edge of the grid (for the recommended criterion
    only: along a penalty AIC and BIC with the nominal ``k`` always pick the
    weakest one), then one line per reliability flag raised on some rows.

    Parameters
    ----------
    result : dict
        From :func:`run_select` (without ``"notes"``).

    Returns
    -------
    list of str
    """
    from ..selection._recommend import edge_note

    rec = result.get("recommended")
    if not rec:
        return []
    param, rows = result["param"], result["candidates"]
    notes = [f"recommended: {rec['note']}"]
    edge = edge_note([r[param] for r in rows], rec["index"], param)
    if edge:
        notes.append(f"warning: {edge[:-1]} (--grid=lo:hi:n, log10 bounds).")
    if result.get("chance_note"):
        notes.append(f"warning: {result['chance_note']}")
    return notes + _flag_notes(result)


#: Short labels of the reliability flags in the ``flags`` column of ``--all``.
FLAG_LABELS = {
    "not_stationary": "nonstat",
    "separation": "sep",
    "overconfident": "overconf",
    "rank_deficient": "aliased",
    "high_leverage": "leverage",
    "misspecified": "misspec",
}


def _flag_notes(result):
    from ..curvature._result import RELIABILITY_FLAGS

    param, notes = result["param"], []
    seen = []
    for r in result["candidates"]:
        for flag in r.get("flags", []):
            if flag not in seen:
                seen.append(flag)
    for flag in seen:
        where = [r[param] for r in result["candidates"] if flag in r.get("flags", [])]
        shown = ", ".join(f"{v:.3g}" for v in where[:6]) + (
            ", ..." if len(where) > 6 else ""
        )
        reason = RELIABILITY_FLAGS.get(flag, flag)
        notes.append(f"flag {flag} ({param}={shown}): {reason}.")
    return notes


def _check_plot_path(path):
    from ._data import CLIError

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot save the plot to {path}: no directory {folder}.")


def _save_plot(path, param, grid, crits, fitted, rows, loos=None, family="", *,
               rule="min", tics=None, groups=None):  # fmt: skip
    from ._data import CLIError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise CLIError(
            "--plot needs matplotlib: pip install 'ticselect[plot]'."
        ) from exc
    from ..selection import CriterionPath

    if groups is not None or family == "mlp":  # the path knows neither groups nor CV
        rule = "min"
    path_obj = CriterionPath(
        param, list(grid), crits, fitted, warm_started=False, fit_time=0.0, loo=loos,
        family=family, tic_pointwise=tics, rule=rule,
    )  # fmt: skip
    cv = [r["cv_log_loss"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    path_obj.plot(ax=ax, cv_scores=None if None in cv else -np.asarray(cv, dtype=float))
    ax.set_title("criteria per sample vs held-out log-loss")
    try:
        fig.savefig(path, bbox_inches="tight")
    except OSError as exc:
        raise CLIError(
            f"cannot save the plot to {path}: {exc.strerror or exc}."
        ) from exc
    except ValueError as exc:  # unknown extension
        raise CLIError(f"cannot save the plot to {path}: {exc}") from exc
    finally:
        plt.close(fig)


def _screen_columns(result, full):
    """Columns and titles of the first screen (or of ``--all``)."""
    k = result["cv_folds"]
    cv = [("cv_log_loss", f"CV{k}"), ("cv_se", "se")] if k else []
    if not full:
        ev = [("log_evidence", "logEv")] if result.get("model") == "mlp" else []
        return [
            ("alo_per_sample", "ALO/2n"), ("alo_se_per_sample", "se"),
            ("p_worse_alo", "p_worse"), ("tic_per_sample", "TIC/2n"), *ev, *cv,
            ("flags", "flags"),
        ]  # fmt: skip
    cols = [
        ("loglik", "loglik"), ("k", "k"), ("effective_dim", "edf"), ("aic", "AIC"),
        ("bic", "BIC"), ("aic_edf", "AIC(edf)"), ("bic_edf", "BIC(edf)"),
        ("tic", "TIC"), ("tic_per_sample", "TIC/2n"), ("alo", "ALO"),
        ("alo_per_sample", "ALO/2n"), ("d_alo", "dALO"),
        ("d_alo_se", "dALO_se"), ("p_worse_alo", "p_worse"), ("diag_alo", "diag"),
        ("in_set_alo", "set95"), ("gap_estimate", "gap"),
        ("log_evidence", "logEv"), *cv[:1],
        ("fit_time", "fit [s]"), ("criteria_time", "crit [s]"),
        ("alo_time", "ALO [s]"),
    ]  # fmt: skip
    if k:
        cols.append(("cv_time", "CV [s]"))
    return [*cols, ("flags", "flags")]


_MARKED = {
    "aic_edf": "aic_edf", "bic_edf": "bic_edf", "tic": "tic", "tic_per_sample": "tic",
    "alo": "alo", "alo_per_sample": "alo", "cv_log_loss": "cv",
    "log_evidence": "evidence",
}  # fmt: skip


def format_select(result, full=False):
    """Text of a :func:`run_select` result: the first screen, or with ``full`` all.

    The first screen (at most :data:`SCREEN` columns) shows per grid value ALO's
    estimate of the test NLL per sample with its standard error, TIC's beside it,
    CV's when run with its standard error over the folds, and the flags; ``*``
    marks each criterion's pick and ``>`` the recommended row, and the
    ``recommended:`` line says why.  ``full`` (``--all``) adds the deviance-scale
    criteria (AIC and BIC with the nominal ``k`` and with the effective degrees of
    freedom; only the latter get a pick along a penalty), the gap estimate, the
    Laplace log evidence and the timings.

    Parameters
    ----------
    result : dict
        From :func:`run_select`.
    full : bool, default=False
        Every column.

    Returns
    -------
    str
    """
    from ..selection._table import text_table

    param, rows = result["param"], result["candidates"]
    cols = _screen_columns(result, full)
    picks = {k: v["index"] for k, v in result["picks"].items()}
    marks = {c: picks[_MARKED[c]] for c, _ in cols if _MARKED.get(c) in picks}
    cells = []
    for r in rows:
        cell = {c: r.get(c) for c, _ in cols}
        flags = r.get("flags") or []
        cell["flags"] = (
            ",".join(FLAG_LABELS.get(f, f) for f in flags) if full else ",".join(flags)
        ) or "-"
        if "diag_alo" in cell:  # every cell one word (an empty one is "-")
            cell["diag_alo"] = cell["diag_alo"] or "-"
        cells.append(cell)
    index = [f"{r[param]:.4g}" for r in rows]
    rec = result.get("recommended") or {}
    table = text_table(
        param, index, [c for c, _ in cols], cells, marks=marks, lead=rec.get("index"),
        titles=dict(cols),
    )  # fmt: skip
    d = result["data"]
    head = [
        f"{d['source']}: n={d['n_samples']}, p={d['n_features']}, target "
        f"{d['target']!r}; {result['estimator']} ({result['family']}) over {param}"
        + (
            f"; clustered by {d['groups']!r} ({d['n_groups']} groups)"
            if d.get("groups")
            else ""
        ),
        (
            "criteria on the deviance scale, /2n: NLL per sample; logEv: Laplace log "
            "evidence, nats (higher is better; - without a penalty)"
            if full
            else "estimated test NLL per sample (lower is better)"
            + (
                "; logEv: Laplace log evidence, nats (higher is better)"
                if result.get("model") == "mlp"
                else ""
            )
        )
        + "; * marks each pick, > the recommended row",
        *(format_data_notes(d) if "encoded" in d else []),
    ]
    total = sum(
        r["fit_time"] + r["criteria_time"] + r.get("alo_time", 0.0) + r["cv_time"]
        for r in rows
    )
    summary = ", ".join(
        f"{name.upper().replace('_EDF', '(edf)')} {param}="
        f"{result['picks'][name][param]:.4g}"
        for name in PICKED
        if name in result["picks"]
    )
    tail = [f"picks: {summary} (total {total:.1f} s)"]
    tail += select_notes(result)  # from the picks shown (equal to result["notes"])
    if not full:
        tail.append("--all: AIC, BIC, TIC and ALO on the deviance scale, edf, timings")
    return "\n".join([_wrap(line) for line in head] + table + [_wrap(x) for x in tail])


def _wrap(line, width=SCREEN):
    """A long note wrapped to the screen, continuation lines indented by 2."""
    return textwrap.fill(line, width=width, subsequent_indent="  ",
                         break_on_hyphens=False, break_long_words=False)  # fmt: skip
