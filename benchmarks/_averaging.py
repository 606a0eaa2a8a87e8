"""Averaging beats picking? ``ts.ModelAverage`` over a penalty path vs single picks
(run through ``python benchmarks/selection.py --average``).

The data sets, splits, grids and training sizes of the ALO study (``_alo_study``):
each data set is split at random ``--splits`` times into a small training set and
the remaining rows as test set.  On each split :func:`ticselect.criterion_path` fits
the grid on the training rows (with ALO); 5-fold CV (the study's folds) picks one
value, refitted on all training rows (the path's fit); ALO and TIC pick theirs; and
``ts.ModelAverage(path, weights=...)`` averages the path's predictive distributions
with each weighting.  The score of every method is its test NLL per sample (nats;
for an average, ``-log Σₖ wₖ pₖ(y | x)``, the candidates' likelihoods with their
training ML dispersion, as the study scores single fits).  The table shows the mean
test NLL, the mean paired difference to CV's pick ± its standard error over the
splits (milli-nats) and on how many splits the method beats CV's pick.  Also: the
pick of the one-SE rule on ALO and how often the best-of-many check fired.
"""

from __future__ import annotations

import numpy as np
from _alo_study import _g, datasets, split, test_nll
from sklearn.linear_model import LogisticRegression

import ticselect as ts
from ticselect.selection._uncertainty import (
    best_of_many,
    one_se_index,
    paired_differences,
)

WEIGHTS = ("stacking", "pseudo_bma_plus", "alo", "tic", "akaike")


def _param(estimator):
    return "C" if isinstance(estimator, LogisticRegression) else "alpha"


def one_split(spec, seed):
    """Test NLL per sample of every method on one split, ``{method: nats}``."""
    X, y, kind, make, grid, n_train = spec
    Xtr, Xte, ytr, yte, folds = split(spec, seed)
    est = make(grid[0])
    path = ts.criterion_path(est, _param(est), list(grid), Xtr, ytr)
    cv = np.zeros(len(grid))
    for g, value in enumerate(grid):
        for a, b in folds:
            f = make(value).fit(Xtr[a], ytr[a])
            cv[g] += len(b) * test_nll(kind, f, Xtr[a], ytr[a], Xtr[b], ytr[b])
    test = np.array([test_nll(kind, m, Xtr, ytr, Xte, yte) for m in path.estimators_])
    out = {
        "CV pick": test[int(np.argmin(cv))],
        "ALO pick": test[path.best_index("alo")],
        "TIC pick": test[path.best_index("tic")],
        "best candidate (oracle)": test.min(),
    }
    L = 2.0 * np.column_stack([r.pointwise for r in path.loo])
    diff = paired_differences(L)
    edf = np.array([c.effective_dim for c in path.criteria])
    out["ALO, one-SE rule"] = test[one_se_index(diff.d, diff.se, edf)]
    for w in WEIGHTS:
        avg = ts.ModelAverage(path, weights=w, random_state=seed).fit(Xtr, ytr)
        out[f"average, {w}"] = float(np.mean(avg.predictive_nll(Xte, yte)))
    return out, best_of_many(L).chance


def run_averaging(n_splits=30, names=None, out=print):
    """Print one markdown table per data set."""
    for name, spec in datasets().items():
        if names and not any(s in name for s in names):
            continue
        res = [one_split(spec, s) for s in range(n_splits)]
        methods = list(res[0][0])
        R = {m: np.array([r[0][m] for r in res]) for m in methods}
        fired = sum(r[1] for r in res)
        X, y, kind, make, grid, n_train = spec
        out(
            f"\n### {name}: n_train = {n_train}, p = {X.shape[1]}, path of "
            f"{len(grid)}, {n_splits} splits"
        )
        out(
            "| method | test NLL per sample | − CV pick (milli-nats) ± paired SE "
            "| splits better than CV |"
        )
        out("|---|---|---|---|")
        for m in methods:
            d = 1e3 * (R[m] - R["CV pick"])
            se = d.std(ddof=1) / np.sqrt(len(d))
            diff = "—" if m == "CV pick" else f"{_g(d.mean(), '+')} ± {_g(se)}"
            better = "—" if m == "CV pick" else f"{int(np.sum(d < 0))}/{len(d)}"
            mean = R[m].mean()
            shown = f"{mean:.4f}" if abs(mean) < 1e4 else f"{mean:.2e}"
            out(f"| {m} | {shown} | {diff} | {better} |")
        out(
            f"best-of-many check (ALO) fired on {fired}/{n_splits} splits "
            "(the best's margin within what equally good candidates show)."
        )
