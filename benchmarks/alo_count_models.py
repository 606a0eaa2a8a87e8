"""ALO of statsmodels count models against their peers (issue 24).

What a user calls: ``ts.approximate_loo(ts.curvature(res))`` for statsmodels
``Poisson`` (GLM kernel), ``NegativeBinomial`` and ``ZeroInflatedPoisson`` (per-row
Hessians by central differences) on RAND HIE, timed against what it replaces, in the
same run and best of ``REPEAT``:

- one statsmodels fit of the model (the unit every alternative is counted in);
- 5-fold cross-validation (5 statsmodels refits on 80 % of the rows, from the full
  fit's parameters);
- exact leave-one-out: ``n`` refits, timed on ``N_EXACT`` rows and scaled by ``n``.

On a subsample of ``N_SUB`` rows it also prints ALO's error against the exact
leave-one-out NLL (refits from ``θ̂``), beside TIC's.  Also the hard case of
statsmodels' ``NegativeBinomial``, whose ``score_obs`` is itself a complex-step
derivative, so that its per-row Hessians take second differences of ``loglikeobs``.

Run: nice -n 10 python benchmarks/alo_count_models.py [--quick]
"""

import sys
import warnings

import numpy as np
import statsmodels.api as sm
from _timing import best_of

import ticselect as ts

QUICK = "--quick" in sys.argv
REPEAT = 1 if QUICK else 3
N_EXACT = 20
N_SUB = 150 if QUICK else 300


def _fit(make, y, X, start=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {"start_params": start, "method": "newton"} if start is not None else {}
        return make(y, X).fit(disp=0, maxiter=500, **kw)


MODELS = {
    "Poisson": lambda y, X: sm.Poisson(y, X),
    "NegativeBinomial": lambda y, X: sm.NegativeBinomial(y, X),
    "ZeroInflatedPoisson": lambda y, X: sm.ZeroInflatedPoisson(y, X, exog_infl=X),
}


def _alo(res):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' ZIP Hessian is replaced
        return ts.approximate_loo(ts.curvature(res))


def timings(name, y, X):
    make = MODELS[name]
    t_fit, res = best_of(lambda: _fit(make, y, X), REPEAT)
    t_alo, alo = best_of(lambda: _alo(res), REPEAT)
    n = len(y)
    folds = np.array_split(np.random.default_rng(0).permutation(n), 5)

    def cv():
        for test in folds:
            keep = np.setdiff1d(np.arange(n), test)
            _fit(make, y[keep], X[keep], res.params)

    t_cv, _ = best_of(cv, REPEAT)

    def some_exact():
        for i in range(N_EXACT):
            keep = np.arange(n) != i
            _fit(make, y[keep], X[keep], res.params)

    t_exact = best_of(some_exact, 1)[0] * n / N_EXACT
    return n, t_fit, t_alo, t_cv, t_exact, alo


def accuracy(name, y, X):
    make = MODELS[name]
    res = _fit(make, y, X)
    res = _fit(make, y, X, res.params)  # Newton from there: a tight optimum
    curv = ts.curvature(res)
    alo = _alo(res)
    exact = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        refit = _fit(make, y[keep], X[keep], res.params)
        exact[i] = -res.model.loglikeobs(refit.params)[i]
    tic = ts.criteria(curv).tic / 2
    return exact.sum(), alo.loo_nll, tic, curv.nll, alo.n_refined


def main():
    d = sm.datasets.randhie.load()
    y = np.asarray(d.endog, float)
    X = sm.add_constant(np.asarray(d.exog, float))
    print(f"RAND HIE, n = {len(y)}, {X.shape[1]} columns; best of {REPEAT}")
    print(
        f"{'model':<20} {'fit [s]':>8} {'ALO [s]':>8} {'ALO/fit':>8} "
        f"{'ALO/CV5':>8} {'ALO/exact':>10} {'refined':>8}"
    )
    for name in MODELS:
        n, t_fit, t_alo, t_cv, t_exact, alo = timings(name, y, X)
        print(
            f"{name:<20} {t_fit:8.2f} {t_alo:8.2f} {t_alo / t_fit:8.2f} "
            f"{t_alo / t_cv:8.3f} {t_alo / t_exact:10.2e} {alo.n_refined:8d}"
        )
    idx = np.random.default_rng(1).choice(len(y), N_SUB, replace=False)
    print(f"\naccuracy on {N_SUB} random rows: summed LOO NLL (nats), exact by refits")
    print(
        f"{'model':<20} {'exact':>9} {'ALO':>9} {'ALO err':>8} {'TIC/2':>9} "
        f"{'TIC err':>8} {'optimism':>9} {'ALO opt':>8} {'refined':>8}"
    )
    for name in ("NegativeBinomial", "ZeroInflatedPoisson"):
        ex, alo, tic, nll, n_ref = accuracy(name, y[idx], X[idx])
        print(
            f"{name:<20} {ex:9.2f} {alo:9.2f} {100 * (alo - ex) / ex:7.2f}% "
            f"{tic:9.2f} {100 * (tic - ex) / ex:7.2f}% {ex - nll:9.2f} "
            f"{alo - nll:8.2f} {n_ref:8d}"
        )


if __name__ == "__main__":
    main()
