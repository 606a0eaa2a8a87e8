"""``ticselect report``: coefficients, criteria, calibration (curvature, flatness).

The model is fitted at ``--value`` or, by default, at the value ``ticselect
select`` recommends with the same data and model options (its ``recommended``, from
all rows, with select's own defaults for everything else): the report then describes
the model ``select`` would have you fit.  The report opens with the coefficient table
of :func:`ticselect.inference` (GLMs; ``--cov-type``, default ``HC1``, or ``cluster``
with ``--groups``), named after the data's columns (a text column ``job`` with level
``mgmt`` gives ``job[mgmt]``), then the criteria, the per-sample NLL and the
calibration report; ``--details`` adds the curvature summary and the flatness and
PAC-Bayes measures (computed only then; ``null`` in the JSON otherwise).  With
``--groups`` the train/test split keeps groups whole and the curvature is clustered.

The model is fitted on a training split (``--test-size``, default 0.25, stratified
for classifiers); curvature and criteria are computed on the training rows, the
held-out rows give the observed test NLL per sample (to set against ``TIC / (2n)``)
and the calibration report.  With ``--test-size 0`` everything is computed on all
rows and the calibration report is in-sample.  The criteria include QAIC/QAICc
(``--c-hat``, else ĉ estimated for binomial and Poisson models) and the McFadden,
Cox–Snell and Nagelkerke pseudo-R² (:func:`ticselect.criteria`).
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
import warnings

import numpy as np
from scipy import linalg

from .._validation import final_step
from ._data import (
    CLASSIFICATION,
    CLIError,
    HeldOutLoss,
    blas_threads,
    check_target,
    data_notes,
    format_data_notes,
    load_dataset,
    make_estimator,
)

__all__ = ["format_report", "run_report"]


def _flatness(curv, seed):
    """Flatness measures when :mod:`ticselect.flatness` is available, else ``None``.

    Uses ``ticselect.flatness.flatness(curv)`` (an object with ``to_dict()``), seeded
    with ``random_state=seed`` when it accepts one.
    """
    try:
        module = importlib.import_module("ticselect.flatness")
        fn = module.flatness
    except (ImportError, AttributeError):
        return None
    kw = {}
    if "random_state" in inspect.signature(fn).parameters:
        kw["random_state"] = seed
    return {k: _plain(v) for k, v in fn(curv, **kw).to_dict().items()}


def _plain(v):
    if isinstance(v, tuple):  # Criteria.flags: a list in the JSON
        return list(v)
    if hasattr(v, "item") and np.ndim(v) == 0:
        v = v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def _curvature_summary(curv):
    ev = linalg.eigvalsh(curv.hessian) if curv.n_params else np.zeros(0)
    ev_pen = linalg.eigvalsh(curv.hessian + np.diag(curv.penalty))
    top = float(ev.max()) if ev.size else 0.0
    pos = ev_pen[ev_pen > 0]
    return {
        "model": curv.model_name,
        "family": curv.family,
        "link": curv.link,
        "n_params": int(curv.n_params),
        "n_free_params": int(curv.n_free_params),
        "n_samples": float(curv.n_samples),
        "nll": float(curv.nll),
        "dispersion": None if curv.dispersion is None else float(curv.dispersion),
        "penalty_max": float(curv.penalty.max()) if curv.penalty.size else 0.0,
        "hessian_max_eigenvalue": top,
        "hessian_min_eigenvalue": float(ev.min()) if ev.size else 0.0,
        "penalized_condition_number": (
            float(pos.max() / pos.min())
            if pos.size == ev_pen.size and pos.size
            else None
        ),
        "trace_grad_cov": float(np.trace(curv.grad_cov)),
        "stationarity": float(curv.stationarity),
        "newton_decrement": float(curv.newton_decrement),
    }


def _recommended(select_args):
    """``(value, source)``: the value ``select`` recommends, and how it was chosen."""
    import io

    from ._select import run_select

    result = run_select(select_args, err=io.StringIO())
    pick = result.get("recommended")
    if not pick:
        raise CLIError("select made no recommendation here; pass --value.")
    param = result["param"]
    return float(pick[param]), {
        "command": "select",
        "criterion": pick["criterion"],
        "n_rows": int(result["data"]["n_samples"]),
        "grid": [float(r[param]) for r in result["candidates"]],
    }


def run_report(args, select_args=None):
    """Fit one model and collect its report.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options.
    select_args : argparse.Namespace or None, default=None
        ``select``'s arguments: when given (no ``--value``), the model is fitted at
        the value ``select`` recommends with them.

    Returns
    -------
    dict
        Machine-readable report (what ``--json`` prints).

    Raises
    ------
    CLIError
        For a bad ``--test-size`` or data problems.
    """
    from ..calibration import calibration_report
    from ..criteria import criteria
    from ..curvature import curvature
    from ..selection import inference

    if not 0.0 <= args.test_size < 1.0:
        raise CLIError("--test-size must be in [0, 1).", status=2)
    data = load_dataset(
        args.csv,
        args.target,
        args.features,
        args.groups,
        dropna=getattr(args, "dropna", False),
    )
    groups = data.extra.get("groups")
    cov_type = args.cov_type or ("cluster" if groups is not None else "HC1")
    if cov_type == "cluster" and groups is None:
        raise CLIError("--cov-type cluster needs --groups COLUMN.", status=2)
    family, y = check_target(data, args.family)
    X = data.X
    value, source = args.value, {"command": "--value"}
    if select_args is not None:
        value, source = _recommended(select_args)
    elif value is None:
        value, source = 1.0, {"command": "default"}
    est, param = make_estimator(
        family, args.model, value,
        hidden=args.hidden, seed=args.seed, scale=not args.no_scale,
        categorical=data.categorical,
    )  # fmt: skip
    X_tr, X_te, y_tr, y_te, g_tr = _train_test(args, X, y, groups, family)
    with (
        warnings.catch_warnings(record=True) as caught,
        blas_threads(args.threads, data),
    ):
        warnings.simplefilter("always")
        est.fit(X_tr, y_tr)
        curv = curvature(est, X_tr, y_tr, groups=g_tr)
        coef = None
        if args.model == "glm":
            g_inf = g_tr if cov_type == "cluster" else None
            coef = _coefficients(
                inference(est, X_tr, y_tr, cov_type=cov_type, groups=g_inf), data
            )
            if not args.no_scale:
                coef["footer"].append(
                    "coefficients per standard deviation of each feature (the "
                    "model standardises them; --no-scale for raw units)"
                )
        crit = criteria(curv, c_hat=getattr(args, "c_hat", None))
        details = bool(getattr(args, "details", False))
        flat = _flatness(curv, args.seed) if details else None
        heldout = _held_out(crit, family, est, X_tr, y_tr, X_te, y_te)
        cal_X, cal_y = (X_tr, y_tr) if X_te is None else (X_te, y_te)
        calib = calibration_report(est, cal_X, cal_y)
    last = final_step(est)
    return {
        "data": {
            "source": data.source,
            "n_samples": int(data.n_samples),
            "n_train": int(X_tr.shape[0]),
            "n_test": 0 if X_te is None else int(X_te.shape[0]),
            "n_features": int(X.shape[1]),
            "target": data.target_name,
            **data_notes(data),
        },
        "family": family,
        "model": args.model,
        "estimator": type(last).__name__,
        "param": {param: float(last.get_params()[param])},
        "param_source": source,
        "details": details,
        "coefficients": coef,
        "curvature": _curvature_summary(curv),
        "criteria": {k: _plain(v) for k, v in crit.to_dict().items()},
        "held_out": heldout,
        "flatness": flat,
        "calibration": {
            "data": "training" if X_te is None else "held-out",
            "kind": calib.kind,
            "metrics": {k: _plain(v) for k, v in calib.to_dict().items()},
        },
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }


def _held_out(crit, family, est, X_tr, y_tr, X_te, y_te):
    """Training NLL, TIC/2n, AIC/2n and the test NLL per sample (None without one)."""
    n = crit.n_samples
    test = None if X_te is None else HeldOutLoss(family)(est, X_tr, y_tr, X_te, y_te)
    return {
        "train_nll_per_sample": -crit.loglik / n,
        "tic_per_sample": crit.tic / (2 * n),
        "aic_per_sample": crit.aic / (2 * n),
        "test_nll_per_sample": test,
    }


def _train_test(args, X, y, groups, family):
    """The report's split: ``(X_tr, X_te, y_tr, y_te, groups_tr)``.

    Whole groups go to one side with ``--groups``; classification splits are
    stratified; ``--test-size 0`` gives ``X_te = y_te = None`` (training data only).
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    if args.test_size > 0 and groups is not None:
        split = GroupShuffleSplit(
            n_splits=1, test_size=args.test_size, random_state=args.seed
        )
        tr, te = next(split.split(X, y, groups))
        return X[tr], X[te], y[tr], y[te], groups[tr]
    if args.test_size > 0:
        strat = y if family in CLASSIFICATION else None
        try:
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=args.test_size, random_state=args.seed, stratify=strat
            )
        except ValueError as exc:
            raise CLIError(f"cannot split the data: {exc}") from exc
        return X_tr, X_te, y_tr, y_te, groups
    return X, None, y, None, groups


#: Names the candidate Pipelines give their columns: ``x3`` (scaled only),
#: ``remainder__x3`` (passed through) and ``onehot__x3_level`` (a dummy).
_PIPELINE_NAME = re.compile(r"^(?:(onehot|remainder)__)?x(\d+)(?:_(.*))?$", re.DOTALL)


def _column_name(name, feature_names):
    """The data's name for a Pipeline's output column (``job[mgmt]`` for a dummy)."""
    match = _PIPELINE_NAME.match(name)
    if match is None:
        return name
    kind, j, level = match.group(1), int(match.group(2)), match.group(3)
    if j >= len(feature_names) or (level is not None) != (kind == "onehot"):
        return name
    column = feature_names[j]
    return f"{column}[{level}]" if kind == "onehot" else column


def _coefficients(res, data):
    """The coefficient table as plain data, named after the data's columns."""
    names = [_column_name(n, data.feature_names) for n in res.param_names]
    frame = res._columns(0.05)
    cols = list(frame)
    rows = [[names[i], *[float(frame[c][i]) for c in cols]] for i in range(len(names))]
    return {
        "cov_type": res.cov_type,
        "n_groups": res.n_groups,
        "columns": cols,
        "rows": rows,
        "footer": res.footer(),
    }


def _coef_lines(coef):
    header = ["", *coef["columns"]]
    rows = [
        [r[0], *[f"{v:.3f}" if c.startswith("P>") else f"{v:.4g}"
                 for c, v in zip(coef["columns"], r[1:], strict=True)]]
        for r in coef["rows"]
    ]  # fmt: skip
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    lines = ["Coefficients (training rows)", "-" * max(28, sum(widths) + 12)]
    for r in [header, *rows]:
        lines.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return lines + coef["footer"]


def _block(title, mapping):
    width = max(len(k) for k in mapping)
    lines = [title, "-" * max(len(title), width + 14)]
    for k, v in mapping.items():
        if v is None or (isinstance(v, float) and math.isnan(v)):
            text = "-"
        elif isinstance(v, bool) or isinstance(v, int | str):
            text = str(v)
        elif isinstance(v, float):
            text = f"{v:.6g}"
        elif isinstance(v, list):  # the reliability flags
            text = ", ".join(map(str, v)) or "-"
        else:
            text = str(v)
        lines.append(f"{k:<{width}}  {text}")
    return lines


#: Criteria shown beside :attr:`ticselect.Criteria.SUMMARY_FIELDS` without --details.
_FIRST_EXTRA = ("mcfadden_r2", "nagelkerke_r2", "c_hat", "qaic", "qaicc")


def format_report(rep):
    """Aligned text of a :func:`run_report` result.

    The coefficient table and the criteria first (the first screen of
    :meth:`ticselect.Criteria.summary` with the pseudo-R² and QAIC), then the
    per-sample NLL and the calibration report; every criterion, the curvature summary
    and the flatness measures only with ``--details`` (the JSON always holds every
    criterion).

    Parameters
    ----------
    rep : dict
        From :func:`run_report`.

    Returns
    -------
    str
    """
    from ..criteria import Criteria
    from ..curvature._result import RELIABILITY_FLAGS

    d = rep["data"]
    ((param, value),) = rep["param"].items()
    lines = [
        f"{rep['estimator']}({param}={value:g}), {rep['family']} family, on "
        f"{d['source']}: {d['n_train']} training rows, {d['n_test']} held out, "
        f"{d['n_features']} features",
        *_source_lines(param, rep.get("param_source") or {}),
        *(format_data_notes(d) if "encoded" in d else []),
        "",
    ]
    if rep.get("coefficients"):
        lines += _coef_lines(rep["coefficients"]) + [""]
    crit = rep["criteria"]
    if not rep.get("details"):  # Criteria's first screen (every field in --json)
        crit = {
            k: crit[k] for k in (*Criteria.SUMMARY_FIELDS, *_FIRST_EXTRA) if k in crit
        }
    title = (
        "Criteria (training rows; AIC, BIC, TIC on the deviance scale, "
        "log_evidence in nats)"
    )
    lines += _block(title, crit)
    lines += [
        f"warning: flagged {flag}: {RELIABILITY_FLAGS.get(flag, flag)}."
        for flag in rep["criteria"].get("flags") or []
    ]
    lines += [""]
    lines += _block("Per-sample NLL: train, TIC/2n, AIC/2n, held-out", rep["held_out"])
    lines += [""]
    cal = rep["calibration"]
    lines += _block(f"Calibration ({cal['data']} rows)", cal["metrics"])
    if not rep.get("details"):
        lines += [
            "",
            "(--details adds every criterion, the curvature summary and the flatness "
            "measures)",
        ]
        return "\n".join(lines)
    lines += [""] + _block("Curvature (training rows)", rep["curvature"]) + [""]
    if rep["flatness"] is None:
        lines += [
            "Flatness",
            "--------",
            "not available in this version (ticselect.flatness is not installed)",
        ]
    else:
        lines += _block("Flatness (training rows)", rep["flatness"])
    return "\n".join(lines)


def _source_lines(param, source):
    """One line saying where the value of ``param`` came from (none for --value)."""
    if source.get("command") == "select":
        return [
            f"{param} is the value 'ticselect select' recommends on the same data "
            f"({source['criterion'].upper()}'s pick on all {source['n_rows']} rows, "
            f"over {len(source['grid'])} grid values); --value V fits another"
        ]
    if source.get("command") == "default":
        return [f"{param} = 1 (no --value given)"]
    return []
