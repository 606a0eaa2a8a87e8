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
import sys
import time
import warnings

import numpy as np

from .._validation import final_step
from ._data import (
    CLASSIFICATION,
    HeldOutLoss,
    blas_threads,
    check_target,
    default_grid,
    load_dataset,
    make_estimator,
)

__all__ = ["run_select"]

PICKED = ("aic", "bic", "tic", "alo", "cv")
#: Reliability flags on TIC's pick that hand the default pick to ALO.
ALO_FALLBACK_FLAGS = ("overconfident", "separation")


class Progress:
    """A one-line progress bar on a text stream (no dependency)."""

    def __init__(self, total, enabled, stream=None, width=30):
        self.total = total
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.done = 0
        self.start = time.perf_counter()

    def update(self, label=""):
        """Advance by one step and redraw."""
        self.done += 1
        if not self.enabled:
            return
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        self.stream.write(
            f"\r[{bar}] {self.done}/{self.total} {label:<18} {elapsed:6.1f} s"
        )
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def _splits(family, y, n_folds, seed):
    from sklearn.model_selection import KFold, StratifiedKFold

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
        return np.logspace(float(lo), float(hi), n)
    values = np.array([float(v) for v in text.split(",") if v.strip()])
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("grid values must be positive numbers")
    return values


def _fmt(value, width, mark=False):
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
    data = load_dataset(args.csv, args.target, args.features)
    family, y = check_target(data, args.family, n_folds=n_folds)
    if args.grid is not None:
        param = make_estimator(family, args.model, 1.0)[1]
        grid = args.grid
    else:
        param, grid = default_grid(family, args.model, args.n_grid)
    X = data.X
    loss = HeldOutLoss(family)
    splits = _splits(family, y, n_folds, args.seed) if n_folds else []
    progress = Progress(len(grid), args.progress)
    rows, crits, fitted_all, loos = [], [], [], []
    with (
        warnings.catch_warnings(record=True) as caught,
        blas_threads(args.threads, data),
    ):
        warnings.simplefilter("always")
        for value in grid:
            est, _ = make_estimator(
                family, args.model, value, hidden=args.hidden, seed=args.seed,
                scale=not args.no_scale,
            )  # fmt: skip
            t0 = time.perf_counter()
            est.fit(X, y)
            t1 = time.perf_counter()
            curv = curvature(est, X, y)
            crit = criteria(curv)
            t2 = time.perf_counter()
            loo = approximate_loo(curv)
            t_alo = time.perf_counter() - t2
            t2 += t_alo
            cv_loss = None
            if splits:
                fold = []
                for train, test in splits:
                    f = clone(est).fit(X[train], y[train])
                    fold.append(loss(f, X[train], y[train], X[test], y[test]))
                cv_loss = float(np.mean(fold))
            t3 = time.perf_counter()
            d = crit.to_dict()
            rows.append(
                {
                    param: float(value),
                    "loglik": d["loglik"],
                    "k": d["n_params"],
                    "aic": d["aic"],
                    "aicc": d["aicc"] if math.isfinite(d["aicc"]) else None,
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
                    "cv_log_loss": cv_loss,
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
    default = _default_pick(picks, crits, param)
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    result = {
        "data": {
            "source": data.source,
            "n_samples": int(data.n_samples),
            "n_features": int(X.shape[1]),
            "target": data.target_name,
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
    if args.plot:
        _save_plot(args.plot, param, grid, crits, fitted_all, rows, loos)
    return result


def _default_pick(picks, crits, param):
    """TIC's pick, or ALO's when TIC's candidate is flagged overconfident/separated."""
    if "tic" not in picks:
        return None
    i = picks["tic"]["index"]
    fired = [f for f in crits[i].flags if f in ALO_FALLBACK_FLAGS]
    name = "alo" if fired and "alo" in picks else "tic"
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
    ]
    if has_cv:
        cols.append((f"CV{result['cv_folds']} logloss", "cv_log_loss", "cv"))
    cols += [("fit [s]", "fit_time", None), ("crit [s]", "criteria_time", None)]
    if has_cv:
        cols.append(("CV [s]", "cv_time", None))
    cells = []
    for i, r in enumerate(rows):
        line = []
        for _, key, pick in cols:
            v = r[key]
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
        f"{result['estimator']} ({result['family']}) over {param}",
        "criteria on the deviance scale (lower is better); TIC/2n, ALO/2n and CV "
        "logloss are NLL per sample; * marks each pick",
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
    note = _disagreement_note(result)
    if note:
        lines.append(note)
    return "\n".join(lines)


def _default_pick_line(result):
    """``pick: ...`` — TIC's pick, or ALO's where TIC's candidate is flagged."""
    pick = result.get("default_pick")
    if not pick:
        return ""
    param = result["param"]
    text = f"pick: {pick['criterion'].upper()} {param}={pick[param]:.4g}"
    if pick["criterion"] == "alo":
        text += (
            f" (TIC's pick is flagged {', '.join(pick['tic_flags'])}: its first-order "
            "penalty predicts almost no gap there, so the approximate leave-one-out "
            "ALO picks instead)"
        )
    return text


def _disagreement_note(result):
    """One line explaining a TIC pick that differs from CV's, or ``""``.

    Compares, at TIC's pick, the TIC gap estimate ``tr(H_λ⁻¹C)/n`` with the gap CV
    measured (CV log-loss minus the training NLL per sample): when the first falls
    far behind the second, TIC's first-order penalty is not to be trusted there.
    """
    picks = result["picks"]
    if "tic" not in picks or "cv" not in picks:
        return ""
    i, j = picks["tic"]["index"], picks["cv"]["index"]
    if i == j:
        return ""
    row = result["candidates"][i]
    n = result["data"]["n_samples"]
    cv_gap = row["cv_log_loss"] + row["loglik"] / n
    param = result["param"]
    return (
        f"note: TIC and CV disagree. At {param}={row[param]:.4g} TIC's gap estimate "
        f"is {row['gap_estimate']:.3g} nats per sample and CV's (log-loss minus "
        f"training NLL) {cv_gap:.3g}: where the first falls behind, TIC's large-sample "
        "penalty does not hold (near separation, overconfident or unconverged fits); "
        "see 'When TIC and CV disagree' in the selection guide."
    )
