"""Time of exact GLM curvature + criteria against the fits and the BLAS limit.

For logistic and Poisson regression at n in {1e5, 1e6} and p in {50, 200}, prints in
one run:

- ``ours``: ``ts.criteria(ts.curvature(est, X, y))`` (H, C, stationarity, TIC,
  soft rank);
- ``blas``: the two products ``X.T @ (w[:, None] * X)`` that any exact method needs
  (one for H, one for C) -- the lower bound we measure against;
- ``sklearn fit``: the estimator's own ``fit`` (lbfgs, default tol);
- ``sm fit+HC0``: statsmodels ``GLM(...).fit(cov_type="HC0")``, the sandwich that
  carries the same information as the TIC penalty.

Each timing is the best of ``--repeat`` runs (default 3; statsmodels once at n = 1e6).
Usage: ``python benchmarks/glm_curvature.py [--quick]``.
"""

import argparse
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import statsmodels.api as sm
from _timing import best_of
from sklearn.linear_model import LogisticRegression, PoissonRegressor

import ticselect as ts


def make(kind, n, p, rng):
    X = rng.standard_normal((n, p)) / np.sqrt(p)
    beta = rng.standard_normal(p)
    eta = X @ beta
    if kind == "logistic":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        est = LogisticRegression(C=1.0)
        fam = sm.families.Binomial()
    else:
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
        est = PoissonRegressor(alpha=1e-4)
        fam = sm.families.Poisson()
    return X, y, est, fam


def blas_products(X, w):
    return X.T @ (w[:, None] * X), X.T @ (w[:, None] * X)


def run_case(kind, n, p, seed, repeat):
    """Return (ours, blas, sklearn fit, statsmodels fit + HC0) wall times."""
    rng = np.random.default_rng(seed)
    X, y, est, fam = make(kind, n, p, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fit, _ = best_of(lambda: est.fit(X, y), 1)
        t_ours, _ = best_of(
            lambda: ts.criteria(ts.curvature(est, X, y, stationarity_tol=np.inf)),
            repeat,
        )
        w = rng.random(n)
        t_blas, _ = best_of(lambda: blas_products(X, w), repeat)
        Xc = sm.add_constant(X)
        t_sm, _ = best_of(lambda: sm.GLM(y, Xc, family=fam).fit(cov_type="HC0"), 1)
    return t_ours, t_blas, t_fit, t_sm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="n = 1e5 only")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    header = (
        f"{'model':<9}{'n':>9}{'p':>5}{'ours [s]':>10}{'blas [s]':>10}"
        f"{'ours/blas':>11}{'sk fit [s]':>12}{'ours/skfit':>11}"
        f"{'sm+HC0 [s]':>12}{'ours/sm':>9}"
    )
    print(header)
    print("-" * len(header))
    for kind in ("logistic", "poisson"):
        for n in sizes:
            for p in (50, 200):
                # a fresh process per case: statsmodels' IRLS keeps several n x p
                # copies, and memory must not accumulate across cases
                with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
                    job = pool.submit(run_case, kind, n, p, 0, args.repeat)
                    t_ours, t_blas, t_fit, t_sm = job.result()
                print(
                    f"{kind:<9}{n:>9.0e}{p:>5}{t_ours:>10.3f}{t_blas:>10.3f}"
                    f"{t_ours / t_blas:>11.2f}{t_fit:>12.3f}{t_ours / t_fit:>11.2f}"
                    f"{t_sm:>12.3f}{t_ours / t_sm:>9.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
