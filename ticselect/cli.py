"""The ``ticselect`` command line.

``ticselect select`` fits a grid of candidate models on a dataset and prints, for each,
its log-likelihood, parameter count and criteria, marking each criterion's pick.
The default job uses scikit-learn's bundled breast-cancer data and logistic regression
over a grid of ``C``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["main"]

_COLUMNS = ("loglik", "n_params", "aic", "bic", "tic", "gap_estimate")


def _select(args):
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import criteria, curvature

    X, y = load_breast_cancer(return_X_y=True)
    grid = np.logspace(-3, 2, args.n_grid)
    rows = []
    for C in grid:
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=C, tol=1e-10, max_iter=10_000)
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.fit(X, y)
            crit = criteria(curvature(model, X, y))
        rows.append((C, crit.to_dict(), time.perf_counter() - t0))
    picks = {
        name: int(np.argmin([r[1][name] for r in rows]))
        for name in ("aic", "bic", "tic")
    }
    head = f"{'C':>10}" + "".join(f"{c:>14}" for c in _COLUMNS) + f"{'time [s]':>10}"
    print(
        "breast cancer (n=569, p=30), logistic regression, criteria on the deviance "
        "scale; * marks each criterion's pick"
    )
    print(head)
    for i, (C, d, dt) in enumerate(rows):
        cells = []
        for c in _COLUMNS:
            val = f"{d[c]:d}" if c == "n_params" else f"{d[c]:.4g}"
            cells.append(f"{val + ('*' if picks.get(c) == i else ''):>14}")
        print(f"{C:>10.4g}" + "".join(cells) + f"{dt:>10.3f}")
    return 0


def main(argv=None):
    """Run the ``ticselect`` command.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (``sys.argv[1:]`` when ``None``).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(
        prog="ticselect", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command")
    sel = sub.add_parser(
        "select", help="rank a grid of candidate models by TIC/AIC/BIC"
    )
    sel.add_argument("--n-grid", type=int, default=12, help="grid size (default 12)")
    args = parser.parse_args(argv)
    if args.command != "select":
        parser.print_help()
        return 0 if args.command is None else 2
    return _select(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
