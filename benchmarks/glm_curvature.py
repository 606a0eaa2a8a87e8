"""Time of exact GLM curvature + criteria against the fits and the BLAS limit.

For logistic and Poisson regression at n in {1e5, 2e5, 1e6} and p in {50, 200}, prints
in one run:

- ``ours``: ``ts.criteria(ts.curvature(est, X, y))`` (H, C, stationarity, TIC,
  soft rank, the separation check);
- ``sep``: the separation check's share of ``ours`` (the no-separation certificate,
  or the linear programme when the certificate fails), and ``LP``: the linear
  programme alone on the same fit, what the check cost before the certificate;
- ``blas``: the two products ``X.T @ (w[:, None] * X)`` that any exact method needs
  (one for H, one for C) -- the lower bound we measure against;
- ``sklearn fit``: the estimator's own ``fit`` (lbfgs, default tol);
- ``sm fit+HC0``: statsmodels ``GLM(...).fit(cov_type="HC0")``, the sandwich that
  carries the same information as the TIC penalty.

The hard case ``logistic C=1e-4`` is a strongly penalised fit: the Newton step to the
unpenalised fit is long, the certificate fails and the programme runs (as before).
Each timing is the best of ``--repeat`` runs (default 3; statsmodels once at n = 1e6).
Usage: ``python benchmarks/glm_curvature.py [--quick] [--n 200000 ...] [--no-sm]
[--cpu]`` (``--cpu``: CPU time instead of wall time, for a loaded machine).
"""

import argparse
import importlib
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import statsmodels.api as sm
from _timing import CLOCK, best_of, use_cpu_clock
from sklearn.linear_model import LogisticRegression, PoissonRegressor

import ticselect as ts

_dispatch = importlib.import_module("ticselect.curvature._dispatch")
_separation = importlib.import_module("ticselect.curvature._separation")


def make(kind, n, p, rng):
    X = rng.standard_normal((n, p)) / np.sqrt(p)
    beta = rng.standard_normal(p)
    eta = X @ beta
    if kind.startswith("logistic"):
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        est = LogisticRegression(C=1e-4 if "1e-4" in kind else 1.0)
        fam = sm.families.Binomial()
    else:
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
        est = PoissonRegressor(alpha=1e-4)
        fam = sm.families.Poisson()
    return X, y, est, fam


def blas_products(X, w):
    return X.T @ (w[:, None] * X), X.T @ (w[:, None] * X)


def _timed_separation(spent):
    """Wrap the dispatcher's separation check to record its time in ``spent``."""
    real = _dispatch.check_separation

    def timed(*args, **kwargs):
        t0 = CLOCK["clock"]()
        out = real(*args, **kwargs)
        spent.append(CLOCK["clock"]() - t0)
        return out

    return real, timed


def run_case(kind, n, p, seed, repeat, with_sm=True):
    """Return (ours, separation check, LP alone, blas, sklearn fit, sm fit + HC0)."""
    rng = np.random.default_rng(seed)
    X, y, est, fam = make(kind, n, p, rng)
    spent = []
    real, timed = _timed_separation(spent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fit, _ = best_of(lambda: est.fit(X, y), 1)
        w = rng.random(n)
        _dispatch.check_separation = timed
        t_ours = t_blas = float("inf")
        for _ in range(repeat):  # interleaved: both see the same machine load
            t_ours = min(t_ours, best_of(lambda: _ours(est, X, y), 1)[0])
            t_blas = min(t_blas, best_of(lambda: blas_products(X, w), 1)[0])
        _dispatch.check_separation = real
        spec = ts.curvature(est, X, y, stationarity_tol=np.inf).rows.spec
        t_lp = min(
            best_of(lambda: _lp_alone(spec), 1)[0] for _ in range(max(1, repeat))
        )
        t_sm = float("nan")
        if with_sm:
            Xc = sm.add_constant(X)
            t_sm, _ = best_of(lambda: sm.GLM(y, Xc, family=fam).fit(cov_type="HC0"), 1)
    return t_ours, min(spent), t_lp, t_blas, t_fit, t_sm


def _ours(est, X, y):
    return ts.criteria(ts.curvature(est, X, y, stationarity_tol=np.inf))


def _lp_alone(spec):
    _separation._CACHE.clear()  # the programme's cache would hide its cost
    return _separation.separating_direction(spec)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="n = 1e5 only")
    parser.add_argument("--n", type=int, nargs="+", help="sample sizes")
    parser.add_argument("--p", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--no-sm", action="store_true", help="skip statsmodels")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--cpu", action="store_true", help="CPU time, not wall time (loaded machine)"
    )
    args = parser.parse_args()
    use_cpu_clock(args.cpu)
    sizes = args.n or ([100_000] if args.quick else [100_000, 200_000, 1_000_000])
    header = (
        f"{'model':<17}{'n':>8}{'p':>5}{'ours [s]':>10}{'sep [s]':>9}{'LP [s]':>8}"
        f"{'blas [s]':>10}{'ours/blas':>11}{'sk fit [s]':>12}{'ours/skfit':>11}"
        f"{'sm+HC0 [s]':>12}{'ours/sm':>9}"
    )
    print(header)
    print("-" * len(header))
    for kind in ("logistic", "logistic C=1e-4", "poisson"):
        for n in sizes:
            for p in args.p:
                # a fresh process per case: statsmodels' IRLS keeps several n x p
                # copies, and memory must not accumulate across cases
                with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
                    job = pool.submit(
                        run_case, kind, n, p, 0, args.repeat, not args.no_sm
                    )
                    t_ours, t_sep, t_lp, t_blas, t_fit, t_sm = job.result()
                print(
                    f"{kind:<17}{n:>8.0e}{p:>5}{t_ours:>10.3f}{t_sep:>9.3f}"
                    f"{t_lp:>8.3f}{t_blas:>10.3f}{t_ours / t_blas:>11.2f}"
                    f"{t_fit:>12.3f}{t_ours / t_fit:>11.2f}"
                    f"{t_sm:>12.3f}{t_ours / t_sm:>9.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
