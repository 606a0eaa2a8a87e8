"""ALO of L1/elastic-net fits and leave-group-out ALO vs exact refits (issue 29).

Times what users call: ``ts.approximate_loo(ts.curvature(model, X, y))`` (curvature
included) at the library defaults (``max_refine=20``) and tuned (``max_refine=200``),
against the exact refits it replaces, measured in the same run (best of
``--repeat`` for ours, one pass for the refits), one BLAS thread.  Also prints the
accuracy of each against the exact value, and TIC/2 for reference.

Cases
-----
- ``ElasticNet(alpha, l1_ratio=0.5)`` on diabetes (442 × 10, standardised), exact
  leave-one-out by scikit-learn refits with ``alpha·n/(n−1)`` (the same penalty in
  loss units);
- L1 ``LogisticRegression(liblinear)`` on breast cancer (569 × 30, standardised) at
  ``C = 0.1`` and the hard ``C = 5`` (weak penalty, nearly separable: 43 rows
  change the active set);
- leave-group-out of logistic fits on ``fair`` by occupation (6 groups of up to 2800
  rows) and by 1000 random groups (the per-group loop), and Poisson on ``grunfeld``
  by firm, against refits without each group.

Run: nice -n 10 python benchmarks/l1_groups.py [--repeat 3] [--quick]
"""

import argparse
import time
import warnings

import numpy as np
import statsmodels.api as sm
from _timing import best_of
from scipy import special, stats
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import ElasticNet, LogisticRegression, PoissonRegressor
from threadpoolctl import threadpool_limits

import ticselect as ts


def _std(X):
    return (X - X.mean(0)) / X.std(0)


def exact_loo_gaussian(est, X, y):
    n, total = len(y), 0.0
    for i in range(n):
        keep = np.arange(n) != i
        fit = clone(est).set_params(alpha=est.alpha * n / (n - 1)).fit(X[keep], y[keep])
        sd = np.sqrt(np.mean((y[keep] - fit.predict(X[keep])) ** 2))
        total -= stats.norm.logpdf(y[i], fit.predict(X[i : i + 1])[0], sd)
    return total


def exact_loo_logistic(est, X, y):
    total = 0.0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        eta = clone(est).fit(X[keep], y[keep]).decision_function(X[i : i + 1])[0]
        total += np.logaddexp(0.0, eta) - y[i] * eta
    return total


def exact_lgo(est, X, y, groups):
    total, n = 0.0, len(y)
    for g in np.unique(groups):
        keep = groups != g
        fit = clone(est)
        if isinstance(est, PoissonRegressor):
            fit.set_params(alpha=est.alpha * n / keep.sum())
        fit.fit(X[keep], y[keep])
        if isinstance(est, LogisticRegression):
            eta = fit.decision_function(X[~keep])
            total += np.sum(np.logaddexp(0.0, eta) - y[~keep] * eta)
        else:
            mu = fit.predict(X[~keep])
            total += np.sum(
                mu - special.xlogy(y[~keep], mu) + special.gammaln(y[~keep] + 1)
            )
    return total


def row(name, model, X, y, exact_fn, repeat, groups=None):
    model = clone(model).fit(X, y)
    t0 = time.perf_counter()
    truth = exact_fn(model, X, y) if groups is None else exact_fn(model, X, y, groups)
    t_exact = time.perf_counter() - t0
    out = []
    for max_refine in (20, 200):

        def ours(max_refine=max_refine):
            curv = ts.curvature(model, X, y)
            return curv, ts.approximate_loo(curv, groups=groups, max_refine=max_refine)

        t, (curv, loo) = best_of(ours, repeat)
        out.append((t, loo))
    tic2 = ts.criteria(curv).tic / 2
    (t20, l20), (t200, l200) = out
    print(
        f"{name:<26} {t_exact:9.2f} {t20:8.3f} {t_exact / t20:8.0f}x "
        f"{(l20.loo_nll - truth) / truth:+9.1e} {l20.n_refined:4d} "
        f"{t200:8.3f} {(l200.loo_nll - truth) / truth:+9.1e} {l200.n_refined:4d} "
        f"{(tic2 - truth) / truth:+9.1e}"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip the slow C=5 case")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    Xd, yd = load_diabetes(return_X_y=True)
    Xd = _std(Xd)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xb = _std(Xb)
    fair = sm.datasets.fair.load_pandas().data
    Xf = _std(
        fair[
            ["rate_marriage", "age", "yrs_married", "children", "religious", "educ"]
        ].to_numpy(float)
    )
    yf = (fair.affairs > 0).astype(float).to_numpy()
    grun = sm.datasets.grunfeld.load_pandas().data
    Xg = _std(np.log(grun[["value", "capital"]].to_numpy(float)))
    yg = np.round(grun.invest.to_numpy())
    enet = ElasticNet(l1_ratio=0.5, tol=1e-12, max_iter=100000)
    l1 = LogisticRegression(
        l1_ratio=1.0, solver="liblinear", tol=1e-10, max_iter=100000
    )
    logit = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000)
    print(
        f"{'case':<26} {'exact[s]':>9} {'ALO[s]':>8} {'speedup':>9} {'ALO err':>9} "
        f"{'ref':>4} {'ALO200':>8} {'err200':>9} {'ref':>4} {'TIC/2 err':>9}"
    )
    with threadpool_limits(limits=1, user_api="blas"):
        row(
            "enet diabetes a=0.1",
            enet.set_params(alpha=0.1),
            Xd,
            yd,
            exact_loo_gaussian,
            args.repeat,
        )
        row(
            "enet diabetes a=1",
            clone(enet).set_params(alpha=1.0),
            Xd,
            yd,
            exact_loo_gaussian,
            args.repeat,
        )
        row(
            "l1 logit cancer C=0.1",
            l1.set_params(C=0.1),
            Xb,
            yb,
            exact_loo_logistic,
            args.repeat,
        )
        if not args.quick:
            row(
                "l1 logit cancer C=5",
                clone(l1).set_params(C=5.0),
                Xb,
                yb,
                exact_loo_logistic,
                args.repeat,
            )
        row(
            "LGO fair/occupation",
            logit,
            Xf,
            yf,
            exact_lgo,
            args.repeat,
            groups=fair.occupation.to_numpy(),
        )
        rand = np.random.default_rng(0).integers(0, 1000, size=len(yf))
        row("LGO fair/1000 groups", logit, Xf, yf, exact_lgo, args.repeat, groups=rand)
        row(
            "LGO grunfeld/firm Pois",
            PoissonRegressor(alpha=1e-3, tol=1e-12),
            Xg,
            yg,
            exact_lgo,
            args.repeat,
            groups=grun.firm.to_numpy(),
        )


if __name__ == "__main__":
    main()
