"""ALO vs TIC, AIC, BIC, 5-fold CV and exact leave-one-out on real data, few rows per
feature (run through ``python benchmarks/selection.py --alo``).

Each data set is split at random ``--splits`` times into a small training set and a
test set (the remaining rows).  On each split every grid value is fitted once on the
training rows; TIC, AIC and BIC come from :func:`ticselect.criteria` and ALO from
:func:`ticselect.approximate_loo` of the same curvature; 5-fold CV refits every value
on each fold and scores the held-out NLL; exact leave-one-out refits every value
without each training row (warm-started from the full fit, on the first
``--exact-splits`` splits).  The regret of a pick is its test NLL per sample minus the
best grid value's.  Times per split: TIC/AIC/BIC = the fits plus the curvature and
criteria; ALO = the fits plus the curvature and ``approximate_loo`` at its defaults
(timed alone: the one-step run, ``refine=False``, is timed separately); CV = the
``5 × grid`` fold fits and their held-out NLL (the final refit of CV's pick is not
counted).  A breakdown of the times per split is printed under each table.  The exact
leave-one-out refits run after the timed loop over the grid.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import statsmodels.api as sm
from scipy.special import gammaln
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

import ticselect as ts

TOL = 1e-8


def _interactions(X):
    return PolynomialFeatures(2, include_bias=False).fit_transform(X)


def datasets():
    """``name -> (X, y, kind, make(value), grid, n_train)``."""
    bc = load_breast_cancer()
    wine = load_wine()
    dia = load_diabetes()
    rh = sm.datasets.randhie.load_pandas().data
    Xr, yr = rh.drop(columns="mdvis").to_numpy(float), rh["mdvis"].to_numpy(float)
    c_grid = np.logspace(-3, 2, 12)

    def logit(C):
        return LogisticRegression(C=C, tol=TOL, max_iter=20_000)

    return {
        "breast cancer (logistic, 30 features)": (
            bc.data, bc.target, "class", logit, c_grid, 100,
        ),
        "wine (multinomial, 13 features, 3 classes)": (
            wine.data, wine.target, "class", logit, c_grid, 50,
        ),
        "diabetes (Gaussian ridge, 65 = 10 + pairwise features)": (
            _interactions(dia.data), dia.target, "gaussian",
            lambda a: Ridge(alpha=a), np.logspace(-2, 3, 12), 100,
        ),
        "RAND HIE doctor visits (Poisson, 54 = 9 + pairwise features; "
        "overdispersed)": (
            _interactions(Xr), yr, "poisson",
            lambda a: PoissonRegressor(
                alpha=a, tol=TOL, max_iter=1000, solver="newton-cholesky"
            ),
            np.logspace(-4, 0, 12), 150,
        ),
    }  # fmt: skip


def _sigma2(model, X, y):
    return float(np.mean((y - model.predict(X)) ** 2))  # ML variance of the fit


def test_nll(kind, model, Xtr, ytr, X, y):
    """Mean NLL per sample of ``(X, y)`` under ``model`` (fitted on ``Xtr, ytr``)."""
    if kind == "class":
        return log_loss(y, model.predict_proba(X), labels=model.classes_)
    if kind == "poisson":
        mu = model.predict(X)
        return float(np.mean(mu - y * np.log(mu) + gammaln(y + 1.0)))
    s2 = _sigma2(model, Xtr, ytr)
    r = y - model.predict(X)
    return float(np.mean(0.5 * np.log(2 * np.pi * s2) + r**2 / (2 * s2)))


def exact_loo(kind, model, X, y):
    """Exact leave-one-out NLL per sample: refit without each row, warm-started."""
    n = len(y)
    out = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        m = copy.deepcopy(model)
        if kind == "poisson":  # penalty fixed in loss units (alpha·Σw), as ALO
            m.set_params(alpha=model.alpha * n / (n - 1))
        if kind != "gaussian":
            m.set_params(warm_start=True)
        m.fit(X[keep], y[keep])
        out[i] = test_nll(kind, m, X[keep], y[keep], X[i : i + 1], y[i : i + 1])
    return float(np.mean(out))


def split(spec, seed):
    """Random training/test split of a data set, standardised on the training rows,
    and the 5 CV folds of the training rows: ``(Xtr, Xte, ytr, yte, folds)``."""
    X, y, kind, _, _, n_train = spec
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    tr, te = idx[:n_train], idx[n_train:]
    scaler = StandardScaler().fit(X[tr])
    Xtr, Xte = scaler.transform(X[tr]), scaler.transform(X[te])
    ytr, yte = y[tr], y[te]
    folds_cls = StratifiedKFold if kind == "class" else KFold
    folds = list(folds_cls(5, shuffle=True, random_state=seed).split(Xtr, ytr))
    return Xtr, Xte, ytr, yte, folds


def one_split(name, spec, seed, exact):
    _, _, kind, make, grid, n_train = spec
    Xtr, Xte, ytr, yte, folds = split(spec, seed)
    G = len(grid)
    crit = {c: np.empty(G) for c in ("tic", "aic", "bic", "alo", "alo1", "cv", "loo")}
    test = np.empty(G)
    n_high = np.empty(G)
    t = dict(fit=0.0, curv=0.0, crit=0.0, alo=0.0, alo1=0.0, cv=0.0, loo=0.0)
    models = []
    for g, value in enumerate(grid):
        t0 = time.perf_counter()
        model = make(value).fit(Xtr, ytr)
        t1 = time.perf_counter()
        curv = ts.curvature(model, Xtr, ytr)  # at the defaults, as users call it
        t2 = time.perf_counter()
        c = ts.criteria(curv)
        t3 = time.perf_counter()
        loo = ts.approximate_loo(curv)
        t4 = time.perf_counter()
        crit["alo1"][g] = ts.approximate_loo(curv, refine=False).loo
        t["alo1"] += time.perf_counter() - t4
        t["fit"] += t1 - t0
        t["curv"] += t2 - t1
        t["crit"] += t3 - t2
        t["alo"] += t4 - t3
        crit["tic"][g], crit["aic"][g], crit["bic"][g] = c.tic, c.aic, c.bic
        crit["alo"][g] = loo.loo
        n_high[g] = loo.n_high_leverage
        t4 = time.perf_counter()
        cv = 0.0
        for a, b in folds:
            f = make(value).fit(Xtr[a], ytr[a])
            cv += len(b) * test_nll(kind, f, Xtr[a], ytr[a], Xtr[b], ytr[b])
        crit["cv"][g] = cv / n_train
        t["cv"] += time.perf_counter() - t4
        models.append(model)
        test[g] = test_nll(kind, model, Xtr, ytr, Xte, yte)
    # exact LOO after the timed passes: its n refits per value would otherwise evict
    # the timed code from the caches between grid values
    for g, model in enumerate(models):
        t5 = time.perf_counter()
        crit["loo"][g] = exact_loo(kind, model, Xtr, ytr) if exact else np.nan
        t["loo"] += time.perf_counter() - t5
    # inf (ALO of a fit whose one-step leaves the parameter space) ranks last
    picks = {k: int(np.argmin(v)) for k, v in crit.items() if not np.any(np.isnan(v))}
    regret = {k: test[i] - test.min() for k, i in picks.items()}
    excess = np.nan
    if exact:  # exact LOO's value at ALO's pick minus its minimum, nats per sample
        excess = crit["loo"][picks["alo"]] - crit["loo"].min()
    return picks, regret, t, n_high, crit["alo"], excess


def _g(v, sign=""):
    return f"{v:{sign}.1f}" if abs(v) < 1e4 else f"{v:{sign}.2e}"


def run_study(n_splits=30, n_exact=10, names=None, out=print):
    """Run every data set and print one markdown table per data set."""
    sets = datasets()
    for name, spec in sets.items():
        if names and not any(s in name for s in names):
            continue
        res = [one_split(name, spec, s, s < n_exact) for s in range(n_splits)]
        methods = ["aic", "bic", "tic", "alo", "alo1", "cv", "loo"]
        R = {m: np.array([r[1][m] for r in res if m in r[1]]) for m in methods}
        cv_r = R["cv"]
        times = {
            "tic": np.mean([r[2]["fit"] + r[2]["curv"] + r[2]["crit"] for r in res]),
            "alo": np.mean([r[2]["fit"] + r[2]["curv"] + r[2]["alo"] for r in res]),
            "alo1": np.mean([r[2]["fit"] + r[2]["curv"] + r[2]["alo1"] for r in res]),
            "cv": np.mean([r[2]["cv"] for r in res]),
            "loo": np.sum([r[2]["loo"] for r in res]) / max(1, n_exact),
        }
        times["aic"] = times["bic"] = times["tic"]
        agree = [r[0]["alo"] == r[0]["loo"] for r in res if "loo" in r[0]]
        agree1 = [r[0]["alo1"] == r[0]["loo"] for r in res if "loo" in r[0]]
        n_high = np.array([r[3] for r in res])
        n_inf = sum(int(np.sum(~np.isfinite(r[4]))) for r in res)
        excess = np.array([r[5] for r in res if np.isfinite(r[5])])
        X, y, kind, make, grid, n_train = spec
        out(
            f"\n### {name}: n_train = {n_train}, p = {X.shape[1]}, grid of "
            f"{len(grid)}, {n_splits} splits (exact LOO on {len(agree)})"
        )
        out(
            "| method | mean regret (milli-nats) ± SE | paired diff. to CV ± SE | "
            "time per split (s) | time / CV's |"
        )
        out("|---|---|---|---|---|")
        label = {"aic": "AIC", "bic": "BIC", "tic": "TIC", "alo": "ALO",
                 "alo1": "ALO, one step only (refine=False)",
                 "cv": "5-fold CV", "loo": "exact LOO (refits)"}  # fmt: skip
        for m in methods:
            r = R[m]
            se = r.std(ddof=1) / np.sqrt(len(r)) if len(r) > 1 else np.nan
            if m == "loo":
                d = r - cv_r[: len(r)]
            else:
                d = r - cv_r
            dse = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
            diff = "—" if m == "cv" else f"{_g(1e3 * d.mean(), '+')} ± {_g(1e3 * dse)}"
            out(
                f"| {label[m]} | {_g(1e3 * r.mean())} ± {_g(1e3 * se)} | {diff} | "
                f"{times[m]:.3f} | {times[m] / times['cv']:.2f} |"
            )
        out(
            f"ALO picks what exact LOO picks on {np.sum(agree)}/{len(agree)} splits "
            f"(one-step ALO on {np.sum(agree1)}/{len(agree1)}) "
            + (
                f"(exact LOO at ALO's pick exceeds its minimum by "
                f"{1e3 * excess.mean():.2f} milli-nats on average, at most "
                f"{1e3 * excess.max():.2f})"
                if excess.size
                else ""
            )
            + f"; time per split (ms): the {len(grid)} fits "
            + ", curvature ".join(
                f"{1e3 * np.mean([r[2][k] for r in res]):.1f}" for k in ("fit", "curv")
            )
            + f", criteria {1e3 * np.mean([r[2]['crit'] for r in res]):.1f}"
            f", approximate_loo {1e3 * np.mean([r[2]['alo'] for r in res]):.1f}"
            f" (refine=False: {1e3 * np.mean([r[2]['alo1'] for r in res]):.1f})"
            f", 5-fold CV {1e3 * times['cv']:.1f}; "
            f"rows flagged high-leverage (h·w·ℓ'' > 0.7) per fit: mean "
            f"{n_high.mean():.2f}, max {n_high.max():.0f} (of {n_train}); fits whose "
            f"ALO is inf (a one-step dispersion ≤ 0): {n_inf} of "
            f"{n_splits * len(grid)}."
        )
