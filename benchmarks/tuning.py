"""Penalty tuning without a grid: ``CriterionSearch`` vs ``GridSearchCV`` and
``criterion_path``.

Speed (one run, BLAS limited to one thread, each time the best of ``--repeat``, the
separation test's cache emptied before every timed call: each is a first call): on
breast cancer (logistic, 30 features), wine (multinomial, 13), diabetes (ridge,
65 = 10 + pairwise), RAND HIE doctor visits (Poisson, 54 = 9 + pairwise, 20 190
rows) and a synthetic logistic problem of 200 000 rows (100 features, 10
informative, complementary log-log truth: misspecified), each estimator behind a
``StandardScaler`` in a Pipeline, the times of

- ``GridSearchCV(pipe, {param: grid}, cv=5)`` over a 20-point log grid, scored by
  the held-out log-loss (``neg_log_loss``, ``neg_mean_poisson_deviance``, and
  ``neg_mean_squared_error`` for ridge), refit on all rows;
- ``ts.criterion_path(pipe, param, grid, X, y)`` over the same 20 values (warm,
  Newton-started, ALO at each point, its defaults);
- ``ts.CriterionSearch(pipe, param)`` (ALO, its defaults; also over the grid's
  range) and with ``criterion="evidence"`` and ``criterion="tic"``;
- ``RidgeCV(alphas=grid)`` for ridge (exact leave-one-out for every alpha from one
  decomposition, scored by squared error).

Quality (``--splits`` random splits, default 30, at the small training sizes of the
ALO study of ``benchmarks/selection.py``: 100, 50, 100 and 150 rows; 2 000 for the
synthetic problem, tested on 20 000 fresh rows): the test NLL per sample of each
method's choice minus the best of the 20 grid values, for 5-fold CV (the grid, the
held-out NLL of ``_alo_study.test_nll``), the ALO, evidence and TIC searches over
the grid's range (the search space CV is given), the ALO search with its default
bounds, and
the ``criterion_path`` ALO pick; mean regret ± SE and the paired difference to CV ±
its SE, in milli-nats; and how often each search chose a weaker penalty than CV.
For ridge the Gaussian test NLL needs a variance: ``test_nll`` plugs in the fit's
in-sample ``RSS/n``; a second table uses ``RSS/(n − edf)`` for every fit (CV's folds
included), which does not favour strong penalties (:func:`ridge_nll_unbiased`).

Run: ``python benchmarks/tuning.py`` (``--quick`` for a smoke run, ``--only`` to
select data sets, ``--no-quality`` / ``--no-speed``, ``--cpu`` to time by the
process's CPU time, which the other jobs of a loaded machine stretch far less).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import statsmodels.api as sm
from _alo_study import test_nll
from _timing import best_of, use_cpu_clock
from selection import logistic_problem
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from threadpoolctl import threadpool_limits

import ticselect as ts
from ticselect.curvature import _separation

TOL = 1e-8
N_SYNTH = 200_000


def _interactions(X):
    return PolynomialFeatures(2, include_bias=False).fit_transform(X)


def problems(quick=False):
    """``name -> dict(X, y, kind, est, param, grid, scoring, n_train, test)``."""
    bc, wine, dia = load_breast_cancer(), load_wine(), load_diabetes()
    rh = sm.datasets.randhie.load_pandas().data
    Xr, yr = rh.drop(columns="mdvis").to_numpy(float), rh["mdvis"].to_numpy(float)
    n_synth = 20_000 if quick else N_SYNTH
    Xs, ys, Xs_test, ys_test = logistic_problem(n_synth, seed=3)

    def logit():
        return LogisticRegression(tol=TOL, max_iter=20_000)

    return {
        "breast cancer": dict(
            X=bc.data, y=bc.target, kind="class", est=logit(), param="C",
            grid=np.logspace(-3, 2, 20), scoring="neg_log_loss", n_train=100,
        ),
        "wine": dict(
            X=wine.data, y=wine.target, kind="class", est=logit(), param="C",
            grid=np.logspace(-3, 2, 20), scoring="neg_log_loss", n_train=50,
        ),
        "diabetes (ridge)": dict(
            X=_interactions(dia.data), y=dia.target, kind="gaussian", est=Ridge(),
            param="alpha", grid=np.logspace(-2, 4, 20),
            scoring="neg_mean_squared_error", n_train=100,
        ),
        "RAND HIE (Poisson)": dict(
            X=_interactions(Xr), y=yr, kind="poisson",
            est=PoissonRegressor(tol=TOL, max_iter=1000, solver="newton-cholesky"),
            param="alpha", grid=np.logspace(-6, 0, 20),
            scoring="neg_mean_poisson_deviance", n_train=150,
        ),
        f"synthetic logistic ({n_synth} rows)": dict(
            X=Xs, y=ys, kind="class", est=logit(), param="C",
            grid=np.logspace(-4, 1, 20), scoring="neg_log_loss", n_train=2000,
            test=(Xs_test[:20_000], ys_test[:20_000]),
        ),
    }  # fmt: skip


def _key(pipe, param):
    return f"{pipe.steps[-1][0]}__{param}"


def cold(fn):
    """``fn`` with the separation test's cache emptied first, as a user's first call.

    The linear programme's verdict is cached by a fingerprint of the data
    (:mod:`ticselect.curvature._separation`); without this the repeats (and every
    method after the first on the same data) would time it as free.
    """

    def run():
        _separation._CACHE.clear()
        return fn()

    return run


def speed(name, P, repeat, out=print):
    """Times of the peers on all rows of one problem, in one run."""
    X, y = P["X"], P["y"]
    pipe = make_pipeline(StandardScaler(), clone(P["est"]))
    key = _key(pipe, P["param"])
    grid = P["grid"]
    times, notes = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gs = GridSearchCV(pipe, {key: grid}, cv=5, scoring=P["scoring"])
        times["GridSearchCV(cv=5), 20 values"], gs = best_of(lambda: gs.fit(X, y), 1)
        notes["GridSearchCV(cv=5), 20 values"] = f"{key}={gs.best_params_[key]:.4g}"
        t, path = best_of(
            cold(lambda: ts.criterion_path(pipe, key, grid, X, y)), repeat
        )
        times["criterion_path, 20 values"] = t
        notes["criterion_path, 20 values"] = f"ALO's pick {path.best_value('alo'):.4g}"
        box = (float(grid[0]), float(grid[-1]))
        for crit, bounds in (("alo", None), ("alo", box), ("evidence", None),
                             ("tic", None)):  # fmt: skip
            label = f"CriterionSearch({crit}{', grid range' if bounds else ''})"
            s = ts.CriterionSearch(pipe, key, criterion=crit, bounds=bounds)
            times[label], s = best_of(cold(lambda s=s: s.fit(X, y)), repeat)
            v = s.best_params_[key]
            notes[label] = f"{key}={v:.4g}, {s.n_fits_} fits, {s.stopped_}"
        if P["kind"] == "gaussian":
            rcv = make_pipeline(StandardScaler(), RidgeCV(alphas=grid))
            times["RidgeCV, 20 values"], rcv = best_of(lambda: rcv.fit(X, y), repeat)
            notes["RidgeCV, 20 values"] = f"alpha={rcv[-1].alpha_:.4g}"
    cv = times["GridSearchCV(cv=5), 20 values"]
    cp = times["criterion_path, 20 values"]
    out(f"\n### {name}: n = {X.shape[0]}, p = {X.shape[1]}")
    out("| method | time (s) | / CV's | / criterion_path's | result |")
    out("|---|---|---|---|---|")
    for label, t in times.items():
        out(f"| {label} | {t:.3f} | {t / cv:.3f} | {t / cp:.3f} | {notes[label]} |")
    return times


def ridge_nll_unbiased(model, Xtr, ytr, X, y):
    """Gaussian test NLL per sample with ``σ² = RSS/(n − edf)`` of the ridge fit.

    ``test_nll`` plugs in the in-sample ML variance ``RSS/n``, biased low by the
    factor ``(n − edf)/n``, most at weak penalties; ``edf = tr((ZᵀZ + αI)⁻¹ZᵀZ) + 1``
    (columns ``Z`` after the scaler, centred: the intercept is the ``+ 1``).
    """
    Z = model[:-1].transform(Xtr)
    Z = Z - Z.mean(axis=0)
    G = Z.T @ Z
    edf = np.trace(np.linalg.solve(G + model[-1].alpha * np.eye(len(G)), G)) + 1.0
    s2 = np.sum((ytr - model.predict(Xtr)) ** 2) / (len(ytr) - edf)
    r = y - model.predict(X)
    return float(np.mean(0.5 * np.log(2 * np.pi * s2) + r**2 / (2 * s2)))


def one_split(P, seed, out_rows, sigma2="ml"):
    """Test-NLL regret of each method on one random split (vs the best grid value).

    ``sigma2="unbiased"`` (ridge): the test NLL with ``RSS/(n − edf)`` for every
    fit, CV's folds included (:func:`ridge_nll_unbiased`).
    """
    X, y, kind, grid = P["X"], P["y"], P["kind"], P["grid"]
    rng = np.random.default_rng(seed)
    if "test" in P:
        idx = rng.permutation(len(y))[: P["n_train"]]
        Xtr, ytr = X[idx], y[idx]
        Xte, yte = P["test"]
    else:
        idx = rng.permutation(len(y))
        tr, te = idx[: P["n_train"]], idx[P["n_train"] :]
        Xtr, ytr, Xte, yte = X[tr], y[tr], X[te], y[te]
    pipe = make_pipeline(StandardScaler(), clone(P["est"]))
    key = _key(pipe, P["param"])

    def loss(model, Xa, ya, Xb, yb):
        if sigma2 == "unbiased":
            return ridge_nll_unbiased(model, Xa, ya, Xb, yb)
        return test_nll(kind, model, Xa, ya, Xb, yb)

    test = np.array(
        [loss(clone(pipe).set_params(**{key: v}).fit(Xtr, ytr), Xtr, ytr, Xte, yte)
         for v in grid]
    )  # fmt: skip
    folds = (StratifiedKFold if kind == "class" else KFold)(
        5, shuffle=True, random_state=seed
    ).split(Xtr, ytr)
    cv = np.zeros(len(grid))
    for a, b in folds:
        for g, v in enumerate(grid):
            f = clone(pipe).set_params(**{key: v}).fit(Xtr[a], ytr[a])
            cv[g] += len(b) * loss(f, Xtr[a], ytr[a], Xtr[b], ytr[b])
    best = test.min()
    out = {"cv": test[int(np.argmin(cv))] - best}
    cv_pick = grid[int(np.argmin(cv))]

    def weaker(v):  # a weaker penalty than CV's pick (C larger, alpha smaller)
        ratio = v / cv_pick if P["param"] == "C" else cv_pick / v
        return bool(ratio > 1.0 + 1e-6)

    path = ts.criterion_path(pipe, key, grid, Xtr, ytr)
    out["path_alo"] = test[path.best_index("alo")] - best
    box = (float(grid[0]), float(grid[-1]))  # the search space of CV's grid
    for crit in ("alo", "evidence", "tic"):
        s = ts.CriterionSearch(pipe, key, criterion=crit, bounds=box).fit(Xtr, ytr)
        out[crit] = loss(s.best_estimator_, Xtr, ytr, Xte, yte) - best
        out_rows.setdefault(f"{crit}_fits", []).append(s.n_fits_)
        out_rows.setdefault(f"{crit}_weaker", []).append(weaker(s.best_params_[key]))
    s = ts.CriterionSearch(pipe, key).fit(Xtr, ytr)  # default bounds
    out["alo_default"] = loss(s.best_estimator_, Xtr, ytr, Xte, yte) - best
    return out


def quality(name, P, n_splits, out=print, sigma2="ml"):
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = [one_split(P, s, rows, sigma2) for s in range(n_splits)]
    R = {m: np.array([r[m] for r in res]) for m in res[0]}
    np.seterr(over="ignore", invalid="ignore")  # TIC's overflowing test losses
    what = ", test NLL with σ² = RSS/(n − edf)" if sigma2 == "unbiased" else ""
    out(
        f"\n### {name}: n_train = {P['n_train']}, {n_splits} splits{what}, regret "
        "against the best of the 20 grid values (milli-nats per sample)"
    )
    out("| method | mean regret ± SE | paired diff. to CV ± SE | within CV + 1 SE |")
    out("|---|---|---|---|")
    label = {"cv": "5-fold CV (grid)", "path_alo": "criterion_path ALO pick (grid)",
             "alo": "CriterionSearch(alo), the grid's range",
             "evidence": "CriterionSearch(evidence), the grid's range",
             "tic": "CriterionSearch(tic), the grid's range",
             "alo_default": "CriterionSearch(alo), default bounds"}  # fmt: skip
    for m, r in R.items():
        se = r.std(ddof=1) / np.sqrt(len(r))
        d = r - R["cv"]
        dse = d.std(ddof=1) / np.sqrt(len(d))
        diff = "—" if m == "cv" else f"{1e3 * d.mean():+.1f} ± {1e3 * dse:.1f}"
        ok = "—" if m == "cv" else ("yes" if d.mean() <= dse < np.inf else "no")
        out(f"| {label[m]} | {1e3 * r.mean():.1f} ± {1e3 * se:.1f} | {diff} | {ok} |")
    out(
        "fits per search: "
        + ", ".join(
            f"{c.upper()} mean {np.mean(rows[f'{c}_fits']):.1f} "
            f"(max {np.max(rows[f'{c}_fits'])})"
            for c in ("alo", "evidence", "tic")
        )
    )
    out(
        "a weaker penalty than CV's pick: "
        + ", ".join(
            f"{c.upper()} {int(np.sum(rows[f'{c}_weaker']))} of {n_splits}"
            for c in ("alo", "evidence", "tic")
        )
    )


def group_problem(seed, n_train=200, n_test=20_000, per_group=8):
    """Logistic data with three column groups: strong, weak and no signal."""
    rng = np.random.default_rng(seed)
    p = 3 * per_group
    beta = np.zeros(p)
    beta[:per_group] = rng.choice([-1.0, 1.0], per_group) * 1.0
    beta[per_group : 2 * per_group] = rng.choice([-1.0, 1.0], per_group) * 0.15

    def draw(m):
        X = rng.normal(size=(m, p))
        prob = 1.0 / (1.0 + np.exp(-(X @ beta)))
        return X, (rng.uniform(size=m) < prob).astype(int)

    X, y = draw(n_train)
    Xt, yt = draw(n_test)
    return X, y, Xt, yt, np.repeat([0, 1, 2], per_group)


def groups_quality(n_splits, out=print):
    """Grouped search vs one penalty (searched, and the best of a grid on test)."""
    grid = np.logspace(-3, 2, 20)
    est = LogisticRegression(tol=TOL, max_iter=20_000)
    R = {"grouped": [], "grouped_evidence": [], "single": [], "oracle": []}
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(n_splits):
            X, y, Xt, yt, groups = group_problem(seed)
            grouped = ts.CriterionSearch(est, "C", groups=groups).fit(X, y)
            by_evidence = ts.CriterionSearch(
                est, "C", groups=groups, criterion="evidence"
            ).fit(X, y)
            R["grouped_evidence"].append(test_nll("class", by_evidence, X, y, Xt, yt))
            single = ts.CriterionSearch(est, "C").fit(X, y)
            R["grouped"].append(test_nll("class", grouped, X, y, Xt, yt))
            R["single"].append(test_nll("class", single, X, y, Xt, yt))
            R["oracle"].append(min(
                test_nll("class", clone(est).set_params(C=C).fit(X, y), X, y, Xt, yt)
                for C in grid
            ))  # fmt: skip
            fits.append(grouped.n_fits_)
    R = {k: np.array(v) for k, v in R.items()}
    out(
        f"\n### three groups (8 strong, 8 weak, 8 null columns), logistic, n_train = "
        f"200, {n_splits} splits: test NLL per sample (milli-nats)"
    )
    labels = {
        "grouped": "CriterionSearch(groups=), ALO",
        "grouped_evidence": "CriterionSearch(groups=), evidence",
        "single": "CriterionSearch, one penalty, ALO",
        "oracle": "best single C of a 20-grid, chosen on test",
    }
    out("| method | mean test NLL ± SE |")
    out("|---|---|")
    for m, label in labels.items():
        r = R[m]
        se = r.std(ddof=1) / np.sqrt(len(r))
        out(f"| {label} | {1e3 * r.mean():.1f} ± {1e3 * se:.1f} |")
    out("\n| grouped search | minus | paired difference ± SE | in SEs |")
    out("|---|---|---|---|")
    for g in ("grouped", "grouped_evidence"):
        for m in ("single", "oracle"):
            d = R[g] - R[m]
            dse = d.std(ddof=1) / np.sqrt(len(d))
            diff = f"{1e3 * d.mean():+.1f} ± {1e3 * dse:.1f}"
            out(f"| {labels[g]} | {labels[m]} | {diff} | {d.mean() / dse:+.1f} |")
    out(f"grouped search: {np.mean(fits):.1f} fits on average (max {max(fits)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--splits", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="data sets whose name has this")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--groups", action="store_true", help="only the group study")
    parser.add_argument(
        "--cpu", action="store_true", help="CPU time, not wall time (loaded machine)"
    )
    args = parser.parse_args()
    use_cpu_clock(args.cpu)
    splits = 3 if args.quick else args.splits
    repeat = 1 if args.quick else args.repeat
    with threadpool_limits(1):
        if args.groups:
            groups_quality(splits)
            return
        for name, P in problems(args.quick).items():
            if args.only and not any(s in name for s in args.only):
                continue
            t0 = time.perf_counter()
            if not args.no_speed:
                speed(name, P, repeat)
            if not args.no_quality:
                quality(name, P, splits)
                if P["kind"] == "gaussian":  # the plug-in σ² of test_nll, and not
                    quality(name, P, splits, sigma2="unbiased")
            print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
