"""Cost of ALO's refinement against the one-step ALO, one fit and 5-fold CV.

For logistic regression on digits (10 classes, 650 parameters; the case of issue 24
item 12, where ``refine=True`` cost 31 s per fit against 0.7 s for the one-step
values) and on breast cancer (binary, 31 parameters), at several ``C``, prints in one
run (best of ``--repeat``, one BLAS thread):

- ``fit``: the estimator's own ``fit`` (lbfgs, ``max_iter=1000``);
- ``1-step``: ``approximate_loo(curv, refine=False)``;
- ``ALO``: ``approximate_loo(curv)`` at the library defaults (refinement on);
- ``refine``: ``ALO − 1-step``, and ``r/bound``: its ratio to the bound of the issue
  in this run's seconds, ``1-step + ⌈rows/10⌉ · fit`` (refinement ≤ one-step ALO +
  one fit per batch of 10 rows; the library counts it in gradient passes,
  ``passes/budget``);
- ``CV``: 5-fold ``cross_val_score`` (log loss) of the same estimator;
- ``rows``: rows refined / candidates, and whether the budget stopped it.

Usage: ``python benchmarks/alo_refine.py [--repeat 3] [--quick] [--cpu]`` (``--cpu``:
CPU time instead of wall time, for a loaded machine).
"""

import argparse
import importlib
import warnings

import numpy as np
from _timing import best_of, use_cpu_clock
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

import ticselect as ts

_loo = importlib.import_module("ticselect.selection._loo")


def _spy():
    """Record the passes spent and the budget of each refinement."""
    spent = []
    try:
        refine = importlib.import_module("ticselect.selection._loo_refine")
    except ImportError:  # before the bound: nothing to record
        return spent
    real = refine.refine_rows

    def recorded(curv, rows, Q, cand, budget=None):
        out = real(curv, rows, Q, cand, budget)
        total = refine.budget_passes(
            rows.n_rows, rows.n_local, curv.n_params, Q.shape[1], len(cand)
        )
        spent.append((out[3], total, int(np.sum(out[1])), len(cand), out[2]))
        return out

    _loo.refine_rows = recorded
    return spent


def run(name, X, y, C, repeat, spent):
    model = LogisticRegression(C=C, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fit, fitted = best_of(lambda: model.fit(X, y), repeat)
        curv = ts.curvature(fitted, X, y)
        t_one, _ = best_of(lambda: ts.approximate_loo(curv, refine=False), repeat)
        spent.clear()
        t_alo, alo = best_of(lambda: ts.approximate_loo(curv), repeat)
        t_cv, _ = best_of(
            lambda: cross_val_score(model, X, y, cv=5, scoring="neg_log_loss"), 1
        )
    extra = max(t_alo - t_one, 0.0)
    batches = -(-spent[-1][3] // 10) if spent else 1
    bound = t_one + batches * t_fit  # the bound, in this run's seconds
    passes = f"{spent[-1][0]:.0f}/{spent[-1][1]:.0f}" if spent else "-"
    rows = (
        f"{spent[-1][2]}/{spent[-1][3]}{' budget' if spent[-1][4] else ''}"
        if spent
        else f"{alo.n_refined}"
    )
    print(
        f"{name:<8}{C:>7g}{t_fit:>8.2f}{t_one:>8.2f}{t_alo:>8.2f}{extra:>8.2f}"
        f"{extra / bound:>10.2f}{passes:>12}{t_cv:>8.2f}"
        f"{t_alo / t_cv:>8.2f}{rows:>14}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one C per data set")
    parser.add_argument(
        "--cpu", action="store_true", help="CPU time, not wall time (loaded machine)"
    )
    args = parser.parse_args()
    use_cpu_clock(args.cpu)
    spent = _spy()
    header = (
        f"{'data':<8}{'C':>7}{'fit':>8}{'1-step':>8}{'ALO':>8}{'refine':>8}"
        f"{'r/bound':>10}{'passes':>12}{'CV':>8}{'ALO/CV':>8}{'rows':>14}"
    )
    print(header + "\n" + "-" * len(header))
    sets = [("digits", load_digits, [1.0, 0.1, 0.01]),
            ("breast", load_breast_cancer, [100.0, 10.0, 1.0])]  # fmt: skip
    for name, loader, Cs in sets:
        X, y = loader(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        for C in Cs[:1] if args.quick else Cs:
            run(name, X, y, C, args.repeat, spent)


if __name__ == "__main__":
    main()
