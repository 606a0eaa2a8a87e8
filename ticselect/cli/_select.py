"""``ticselect select``: fit a grid of candidates, rank by AIC/BIC/TIC/ALO and by CV.

For each grid value the candidate is fitted once on all rows; its exact curvature
gives the log-likelihood, ``k``, AIC, BIC, TIC, the gap estimate and the approximate
leave-one-out deviance ALO (:func:`ticselect.approximate_loo`).  The default pick
(``default_pick`` in the JSON, the ``pick:`` line of the table) is TIC's, unless TIC's
candidate carries the ``"overconfident"`` or ``"separation"`` reliability flag
(:attr:`ticselect.Criteria.flags`), where TIC's first-order penalty fails: then it is
ALO's.  Optionally
(``--cv K``, default 5) the same candidate is refitted on K stratified (classification)
or plain (regression) shuffled folds and scored by held-out negative log-likelihood
per sample, on the scale of ``TIC / (2n)`` (for classifiers this is scikit-learn's
``log_loss``, so it equals ``-cross_val_score(..., scoring="neg_log_loss").mean()``
on the same folds).
"""

from __future__ import annotations

import math
import os
import re
import sys
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

PICKED = ("aic", "bic", "tic", "alo", "cv")
#: Reliability flags on TIC's pick that hand the default pick to ALO.
ALO_FALLBACK_FLAGS = ("overconfident", "separation")
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


def _fmt(value, width, mark=False):
    if isinstance(value, str):
        return f"{value + ('*' if mark else ' '):>{width}}"
    if isinstance(value, int):
        text = f"{value:d}"
    elif value is None or not math.isfinite(value):
        text = "-" if value is None else str(value)
    else:
        text = f"{value:.5g}" if abs(value) < 1e5 else f"{value:.4e}"
    return f"{text + ('*' if mark else ' '):>{width}}"


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
    from sklearn.base import clone

    from ..criteria import criteria
    from ..curvature import curvature
    from ..selection import approximate_loo

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
    rows, crits, fitted_all, loos = [], [], [], []
    # the run's budget bounds each curvature too (not only the time guard's 60 s)
    curv_limit = max(DEFAULT_CURVATURE_SECONDS, getattr(args, "max_seconds", 0))
    with (
        warnings.catch_warnings(record=True) as caught,
        blas_threads(args.threads, data),
    ):
        warnings.simplefilter("always")
        for value in grid:
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
            t_alo = time.perf_counter() - t2
            t2 += t_alo
            cv_loss = cv_se = None
            if splits:
                fold = []
                for train, test in splits:
                    f = clone(est).fit(X[train], y[train])
                    fold.append(loss(f, X[train], y[train], X[test], y[test]))
                cv_loss = float(np.mean(fold))
                cv_se = _standard_error(fold)
            t3 = time.perf_counter()
            d = crit.to_dict()
            rows.append(
                {
                    param: float(value),
                    "loglik": d["loglik"],
                    "k": d["n_params"],
                    "aic": d["aic"],
                    "aicc": d["aicc"],  # written "inf" when n ≤ k + 1, as in report
                    "bic": d["bic"],
                    "tic": d["tic"],
                    "tic_penalty": d["tic_penalty"],
                    "tic_per_sample": d["tic"] / (2.0 * d["n_samples"]),
                    "alo": loo.loo,
                    "alo_per_sample": loo.loo / (2.0 * d["n_samples"]),
                    "alo_se": loo.loo_se,
                    "n_high_leverage": loo.n_high_leverage,
                    "gap_estimate": d["gap_estimate"],
                    "soft_rank": d["soft_rank"],
                    "stationarity": d["stationarity"],
                    "penalty_ratio": d["penalty_ratio"],
                    "log_evidence": d["log_evidence"],
                    "cv_log_loss": cv_loss,
                    "cv_se": cv_se,
                    "flags": list(crit.flags),
                    "fit_time": t1 - t0,
                    "criteria_time": t2 - t1 - t_alo,
                    "alo_time": t_alo,
                    "cv_time": t3 - t2,
                }
            )
            crits.append(crit)
            loos.append(loo)
            fitted_all.append(est)
            progress.update(f"{param}={value:.3g}")
    picks = {}
    for name in PICKED:
        key = "cv_log_loss" if name == "cv" else name
        vals = [r[key] for r in rows]
        if any(v is None for v in vals):
            continue
        i = int(np.argmin(vals))
        picks[name] = {"index": i, param: rows[i][param]}
    default = _default_pick(picks, crits, param, args.model)
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
        "default_pick": default,
        "warnings": messages,
    }
    result["notes"] = select_notes(result)
    if args.plot:
        _save_plot(args.plot, param, grid, crits, fitted_all, rows, loos)
    return result


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


def select_notes(result):
    """The notes of a ``select`` result (also in ``--json``), one line each.

    An "extend the grid" note for each criterion that picks the first or last grid
    value, then the TIC/CV disagreement note (:func:`_disagreement_note`), one line
    when TIC's own pick is flagged (:func:`_flagged_pick_note`), then one line per
    reliability flag raised on some rows.

    Parameters
    ----------
    result : dict
        From :func:`run_select` (without ``"notes"``).

    Returns
    -------
    list of str
    """
    notes = _edge_notes(result)
    note = _disagreement_note(result)
    if note:
        notes.append(note)
    flagged = _flagged_pick_note(result)
    if flagged:
        notes.append(flagged)
    notes += _flag_notes(result)
    return notes


def _edge_notes(result):
    param, rows = result["param"], result["candidates"]
    if len(rows) < 2:
        return []
    ends = {0: [], len(rows) - 1: []}
    for name in PICKED:
        pick = result["picks"].get(name)
        if pick is not None and pick["index"] in ends:
            ends[pick["index"]].append(name.upper())
    notes = []
    for i, names in ends.items():
        if not names:
            continue
        value = rows[i][param]
        other = rows[1 if i == 0 else -2][param]
        side = "above" if value > other else "below"
        notes.append(
            f"warning: {_join(names)} pick{'s' if len(names) == 1 else ''} "
            f"the {'first' if i == 0 else 'last'} grid value {param}={value:.4g}: "
            f"the best value may lie {side} it; extend the grid (--grid=lo:hi:n, "
            "log10 bounds)."
        )
    return notes


def _join(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


#: Short labels of the reliability flags in the ``flags`` column.
FLAG_LABELS = {
    "not_stationary": "nonstat",
    "separation": "sep",
    "overconfident": "overconf",
    "rank_deficient": "aliased",
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
        label = FLAG_LABELS.get(flag, flag)
        reason = RELIABILITY_FLAGS.get(flag, flag)
        notes.append(f"flag {label} ({param}={shown}): {reason}.")
    return notes


def _default_pick(picks, crits, param, model="glm"):
    """The pick to recommend: TIC's, unless TIC's candidate is flagged.

    When TIC's candidate carries the ``overconfident`` or ``separation`` flag, TIC's
    first-order penalty is known to fail there.  GLMs then take ALO's pick
    (benchmarks/README.md: as good as 5-fold CV on four real data sets).  Networks
    take CV's pick when CV was run: on the digits networks the one-step ALO regretted
    far more than CV (its Gauss–Newton leverages reach 1), so it is no fallback for
    them; without CV they get ALO's pick with that caveat in the ``pick:`` line.
    """
    if "tic" not in picks:
        return None
    i = picks["tic"]["index"]
    fired = [f for f in crits[i].flags if f in ALO_FALLBACK_FLAGS]
    if not fired:
        name = "tic"
    elif model == "mlp" and "cv" in picks:
        name = "cv"
    elif "alo" in picks:
        name = "alo"
    else:
        name = "tic"
    return {"criterion": name, **picks[name], "tic_flags": list(fired)}


def _check_plot_path(path):
    from ._data import CLIError

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot save the plot to {path}: no directory {folder}.")


def _save_plot(path, param, grid, crits, fitted, rows, loos=None):
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

    path_obj = CriterionPath(
        param, list(grid), crits, fitted, warm_started=False, fit_time=0.0, loo=loos
    )
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


def format_select(result):
    """Aligned text table of a :func:`run_select` result, picks marked with ``*``.

    Parameters
    ----------
    result : dict
        From :func:`run_select`.

    Returns
    -------
    str
    """
    param = result["param"]
    rows = result["candidates"]
    picks = {k: v["index"] for k, v in result["picks"].items()}
    n = result["data"]["n_samples"]
    has_cv = result["cv_folds"] > 0
    cols = [
        (param, param, None),
        ("loglik", "loglik", None),
        ("k", "k", None),
        ("AIC", "aic", "aic"),
        ("BIC", "bic", "bic"),
        ("TIC", "tic", "tic"),
        ("TIC/2n", "tic_per_sample", None),
        ("ALO", "alo", "alo"),
        ("ALO/2n", "alo_per_sample", None),
        ("gap", "gap_estimate", None),
        ("logEv", "log_evidence", None),
    ]
    if has_cv:
        cols.append((f"CV{result['cv_folds']} logloss", "cv_log_loss", "cv"))
    cols += [("fit [s]", "fit_time", None), ("crit [s]", "criteria_time", None)]
    if has_cv:
        cols.append(("CV [s]", "cv_time", None))
    cols.append(("flags", "flags", None))
    cells = []
    for i, r in enumerate(rows):
        line = []
        for _, key, pick in cols:
            v = _flags_cell(r.get("flags", [])) if key == "flags" else r[key]
            if key.endswith("_time"):
                v = round(v, 3)
            line.append((v, pick is not None and picks.get(pick) == i))
        cells.append(line)
    widths = []
    for j, (title, _, _) in enumerate(cols):
        w = max(len(_fmt(c[j][0], 0, c[j][1])) for c in cells)
        widths.append(max(w, len(title) + 1))
    d = result["data"]
    lines = [
        f"{d['source']}: n={n}, p={d['n_features']}, target {d['target']!r}; "
        f"{result['estimator']} ({result['family']}) over {param}"
        + (
            f"; clustered by {d['groups']!r} ({d['n_groups']} groups)"
            if d.get("groups")
            else ""
        ),
        "criteria on the deviance scale (lower is better); TIC/2n, ALO/2n and CV "
        "logloss are NLL per sample; logEv: Laplace log evidence, nats (higher is "
        "better; - without a penalty); * marks each pick",
        *(format_data_notes(d) if "encoded" in d else []),
        "".join(f"{t:>{w + 1}}" for (t, _, _), w in zip(cols, widths, strict=True)),
    ]
    lines.append("-" * len(lines[-1]))
    for line in cells:
        text = "".join(
            " " + _fmt(v, w, m) for (v, m), w in zip(line, widths, strict=True)
        )
        lines.append(text.rstrip())
    summary = ", ".join(
        f"{name.upper()} {param}={result['picks'][name][param]:.4g}"
        for name in PICKED
        if name in result["picks"]
    )
    total = sum(
        r["fit_time"] + r["criteria_time"] + r.get("alo_time", 0.0) + r["cv_time"]
        for r in rows
    )
    lines.append(f"picks: {summary}  (total {total:.1f} s)")
    pick_line = _default_pick_line(result)
    if pick_line:
        lines.append(pick_line)
    notes = select_notes(result)  # from the picks shown (equal to result["notes"])
    lines += [
        n if n.startswith(("warning: ", "flag ")) else f"note: {n}" for n in notes
    ]
    return "\n".join(lines)


def _flags_cell(flags):
    """The ``flags`` column: short labels joined by commas, ``-`` when none."""
    return ",".join(FLAG_LABELS.get(f, f) for f in flags) if flags else "-"


def _flagged_pick_note(result):
    """One line when TIC's pick carries a reliability flag (e.g. overconfident), or "".

    The flags come from :attr:`ticselect.Criteria.flags` of the picked row; the
    wording is shared with the tables of ``ts.compare`` and ``ts.criterion_path``
    (``ticselect.selection._flags.flagged_pick_note``).
    """
    from ..selection._flags import flagged_pick_note

    pick = result["picks"].get("tic")
    if pick is None:
        return ""
    if (result.get("default_pick") or {}).get("criterion") in ("alo", "cv"):
        return ""  # the pick: line already says that TIC's pick is flagged
    row = result["candidates"][pick["index"]]
    flags = row.get("flags") or []
    if not flags:
        return ""
    param = result["param"]
    n_flagged = sum(bool(r.get("flags")) for r in result["candidates"])
    advice = "Prefer CV's pick." if "cv" in result["picks"] else "Use --cv K."
    note = flagged_pick_note(
        f"{param}={row[param]:.4g}", flags, n_flagged, len(result["candidates"]),
        advice=advice,
    )  # fmt: skip
    return f"warning: {note}"


def _default_pick_line(result):
    """``pick: ...`` — TIC's pick, or ALO's where TIC's candidate is flagged."""
    pick = result.get("default_pick")
    if not pick:
        return ""
    param = result["param"]
    text = f"pick: {pick['criterion'].upper()} {param}={pick[param]:.4g}"
    flagged = (
        f" (TIC's pick is flagged {', '.join(pick['tic_flags'])}: its first-order "
        "penalty predicts almost no gap there, so "
    )
    if pick["criterion"] == "cv":
        text += flagged + "cross-validation picks: for networks the one-step ALO "
        text += "is not reliable either)"
    elif pick["criterion"] == "alo" and result.get("model") == "mlp":
        text += flagged + "ALO picks; for networks ALO is not reliable either: rerun "
        text += "with --cv K)"
    elif pick["criterion"] == "alo":
        text += flagged + "the approximate leave-one-out ALO picks instead)"
    return text


def _disagreement_note(result):
    """One line explaining a TIC pick that differs from CV's, or ``""``.

    Only when the difference matters: CV's log-loss at TIC's pick exceeds its value
    at CV's own pick by more than CV's standard error there (the fold-to-fold
    standard error of the mean).  Compares, at TIC's pick, the TIC gap estimate
    ``tr(H_λ⁻¹C)/n`` with the gap CV measured (CV log-loss minus the training NLL
    per sample): when the first falls far behind the second, TIC's first-order
    penalty is not to be trusted there.
    """
    picks = result["picks"]
    if "tic" not in picks or "cv" not in picks:
        return ""
    i, j = picks["tic"]["index"], picks["cv"]["index"]
    if i == j:
        return ""
    row, best = result["candidates"][i], result["candidates"][j]
    se = best.get("cv_se") or 0.0
    excess = row["cv_log_loss"] - best["cv_log_loss"]
    if excess <= se:
        return ""
    n = result["data"]["n_samples"]
    cv_gap = row["cv_log_loss"] + row["loglik"] / n
    param = result["param"]
    causes = (
        "near separation, overconfident or unconverged fits"
        if result.get("family") in CLASSIFICATION
        else "overconfident or unconverged fits, or a misspecified variance"
    )
    return (
        f"TIC and CV disagree beyond CV's standard error ({excess:.3g} > {se:.3g} "
        f"nats per sample). At {param}={row[param]:.4g} TIC's gap estimate "
        f"is {row['gap_estimate']:.3g} nats per sample and CV's (log-loss minus "
        f"training NLL) {cv_gap:.3g}: where the first falls behind, TIC's large-sample "
        f"penalty does not hold ({causes}); "
        "see 'When TIC and CV disagree' in the selection guide."
    )
