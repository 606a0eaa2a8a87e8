"""``ticselect select --tune``: the penalty :class:`~ticselect.CriterionSearch` picks.

Beside the grid table, the search minimises the same approximate leave-one-out
deviance (ALO) over the grid's range without a grid: a few warm-started refits,
each with its curvature and the ALO's derivative in the penalty.  The result goes
into ``result["tune"]`` (``--json``) and one ``tuned:`` line under the table.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ._data import make_estimator

__all__ = ["format_tune", "run_tune"]


def run_tune(args, data, family, y, param, grid):
    """Run the search over the grid's range and return its summary.

    Parameters
    ----------
    args : argparse.Namespace
        Options of ``select``.
    data : Dataset
        The loaded data (``data.X``, ``data.categorical``).
    family : str
        Resolved family.
    y : ndarray of shape (n_samples,)
        Target.
    param : str
        ``"C"`` or ``"alpha"``.
    grid : ndarray
        The grid of the table (its range bounds the search).

    Returns
    -------
    dict
        ``criterion``, ``param``, ``value``, ``alo``, ``alo_per_sample``,
        ``n_fits``, ``time`` (s), ``stopped``, ``at_bound``, ``flags``, ``bounds``.
    """
    from ..selection import CriterionSearch

    lo, hi = float(np.min(grid)), float(np.max(grid))
    est, _ = make_estimator(
        family, args.model, float(np.sqrt(lo * hi)), hidden=args.hidden,
        seed=args.seed, scale=not args.no_scale, categorical=data.categorical,
        n_features=data.X.shape[1],
    )  # fmt: skip
    search = CriterionSearch(est, param, criterion="alo", bounds=(lo, hi))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the grid's rows already carry the flags
        search.fit(data.X, y)
    elapsed = time.perf_counter() - t0
    crit = search.path_["criterion"][search.best_index_]
    return {
        "criterion": "alo",
        "param": param,
        "value": float(search.best_params_[param]),
        "alo": float(crit),
        "alo_per_sample": float(-search.best_score_),
        "n_fits": int(search.n_fits_),
        "time": elapsed,
        "stopped": search.stopped_,
        "at_bound": bool(search.at_bound_),
        "flags": list(search.flags_),
        "bounds": [lo, hi],
    }


def format_tune(result):
    """The ``tuned:`` line of a ``select --tune`` result, or ``""``.

    Parameters
    ----------
    result : dict
        From :func:`ticselect.cli._select.run_select` with ``"tune"``.

    Returns
    -------
    str
    """
    tune = result.get("tune")
    if not tune:
        return ""
    rows = result["candidates"]
    grid_time = sum(
        r["fit_time"] + r["criteria_time"] + r.get("alo_time", 0.0) for r in rows
    )
    where = (
        "at the edge of the grid's range: widen --grid"
        if tune["at_bound"]
        else "within the grid's range"
    )
    flags = f"; flagged {','.join(tune['flags'])}" if tune["flags"] else ""
    return (
        f"tuned: ALO {tune['param']}={tune['value']:.4g} (ALO {tune['alo']:.5g}, "
        f"{tune['alo_per_sample']:.4g} per sample) by CriterionSearch in "
        f"{tune['n_fits']} fits, {tune['time']:.2f} s ({where}{flags}); the grid's "
        f"{len(rows)} fits with their criteria took {grid_time:.2f} s"
    )
