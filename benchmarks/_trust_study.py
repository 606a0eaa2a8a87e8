"""Which pick deserves trust? TIC, ALO, AIC/BIC and 5-fold CV on real data, with flags.

Run through ``python benchmarks/selection.py --trust`` (cases in ``_trust_cases``).
Each case is split at random ``--splits`` times into a small training set and a test
set (the remaining rows); on each split every candidate is fitted once on the
training rows and passed, as a user would, to ``ts.compare`` (TIC, AIC and BIC with
the effective degrees of freedom, ALO, the reliability flags and the recommended
pick); 5-fold CV refits every candidate on each fold and scores the held-out NLL.
The regret of a pick is its test NLL per sample minus the best candidate's, in
milli-nats.  ``--save FILE`` keeps the per-candidate raw numbers (pickle) for
:func:`rule_table`, which prints how candidate flag rules separate TIC's failures
from its successes (the evidence behind ``ticselect.criteria.LEVERAGE_RATIO`` and the
rest).
"""

from __future__ import annotations

import pickle
import time
import warnings

import numpy as np
from _alo_study import test_nll
from _trust_cases import cases
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.selection._recommend import recommend


def _split(case, seed):
    """Training and test rows of one split, and the 5 CV folds of the training rows.

    Features are standardised on the training rows.
    """
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(case.y))
    tr, te = idx[: case.n_train], idx[case.n_train :]
    scaler = StandardScaler().fit(case.X[tr])
    Xtr, Xte = scaler.transform(case.X[tr]), scaler.transform(case.X[te])
    ytr, yte = case.y[tr], case.y[te]
    folds_cls = StratifiedKFold if case.kind == "class" else KFold
    folds = list(folds_cls(5, shuffle=True, random_state=seed).split(Xtr, ytr))
    return Xtr, Xte, ytr, yte, folds


def one_split(case, seed):
    """Fit every candidate on one split; return the raw numbers and the comparison."""
    Xtr, Xte, ytr, yte, folds = _split(case, seed)
    fitted, rows = {}, []
    t_fit = t_cv = 0.0
    for label, make in zip(case.labels, case.makers, strict=True):
        t0 = time.perf_counter()
        model = make().fit(Xtr, ytr)
        t_fit += time.perf_counter() - t0
        fitted[label] = model
        t0 = time.perf_counter()
        fold = []
        for a, b in folds:
            f = clone(model).fit(Xtr[a], ytr[a])
            fold.append(test_nll(case.kind, f, Xtr[a], ytr[a], Xtr[b], ytr[b]))
        t_cv += time.perf_counter() - t0
        sizes = np.array([len(b) for _, b in folds], dtype=float)
        rows.append(
            {
                "label": label,
                "cv": float(np.dot(sizes, fold) / sizes.sum()),
                "cv_folds": fold,
                "test": test_nll(case.kind, model, Xtr, ytr, Xte, yte),
            }
        )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = ts.compare(fitted, Xtr, ytr)
    t_cmp = time.perf_counter() - t0
    for row in rows:
        name = row["label"]
        crit, loo = table.criteria[name], table.loo[name]
        curv = table.curvatures[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pw = ts.pointwise(curv)
        row.update(
            crit=crit.to_dict(),
            alo=loo.loo,
            alo_nll=loo.loo_nll,
            nll=loo.nll,
            alo_pointwise=np.asarray(loo.pointwise),
            tic_pointwise=np.asarray(pw.tic),
            leverage=np.asarray(loo.leverage),
            n_refined=loo.n_refined,
            family=curv.family,
            penalised=bool(np.any(curv.penalty > 0)),
        )
    # the rule of ticselect select, which also ran CV: its recommendation
    labels = list(case.labels)
    with_cv = recommend(
        labels, [table.criteria[n] for n in labels], [table.loo[n] for n in labels],
        family=rows[0]["family"], cv=[r["cv"] for r in rows],
    )  # fmt: skip
    return {
        "rows": rows,
        "recommended": table.recommended,
        "recommended_criterion": table.recommendation.criterion,
        "recommended_cv": labels[with_cv.index],
        "recommended_cv_criterion": with_cv.criterion,
        "times": {"fit": t_fit, "cv": t_cv, "compare": t_cmp},
    }


def collect(n_splits=30, names=None, out=print):
    """Raw results ``{case name: [split dict, ...]}`` of every selected case."""
    res = {}
    for name, case in cases().items():
        if names and not any(s in name for s in names):
            continue
        t0 = time.perf_counter()
        res[name] = [one_split(case, s) for s in range(n_splits)]
        out(f"# {name}: {n_splits} splits in {time.perf_counter() - t0:.0f} s")
    return res


def run_trust(n_splits=30, names=None, save=None, load=None, out=print):
    """Collect (or load) the raw results, then print the tables."""
    if load:
        with open(load, "rb") as fh:
            res = pickle.load(fh)
    else:
        res = collect(n_splits, names, out)
        if save:
            with open(save, "wb") as fh:
                pickle.dump(res, fh)
    from _trust_tables import print_tables

    print_tables(res, cases(), out)
    null_study(out=out)


def null_study(n_seeds=20, out=print):
    """Correctly specified GLMs: ``penalty_ratio`` and ``edf/n`` where nothing fails.

    Logistic and Poisson regressions with standard-normal features and their own
    link, ``n`` from 100 to 2000 and ``n/k`` from 5 to 200, unpenalised; the range
    of ``penalty_ratio`` over ``n_seeds`` draws is the evidence for the
    ``misspecified`` threshold (it must stay below it); ``high_leverage`` fires by its
    ``edf/n`` part exactly where ``k/n`` exceeds 0.15.
    """
    from sklearn.linear_model import (
        LinearRegression,
        LogisticRegression,
        PoissonRegressor,
    )

    out("\n| model | n | k | penalty_ratio min | median | max | misspecified | "
        "high_leverage |")  # fmt: skip
    out("|---|---|---|---|---|---|---|---|")
    for kind in ("logistic", "poisson", "gaussian"):
        for n, k in ((100, 20), (200, 10), (300, 60), (1000, 20), (2000, 10)):
            ratios, flagged = [], {"misspecified": 0, "high_leverage": 0}
            for seed in range(n_seeds):
                rng = np.random.default_rng(seed)
                X = rng.normal(size=(n, k - 1))
                beta = rng.normal(scale=1.5 / np.sqrt(k), size=k - 1)
                eta = 0.2 + X @ beta
                if kind == "logistic":
                    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
                    est = LogisticRegression(penalty=None, tol=1e-10, max_iter=10_000)
                elif kind == "gaussian":
                    y = eta + rng.normal(size=n)
                    est = LinearRegression()
                else:
                    y = rng.poisson(np.exp(eta))
                    est = PoissonRegressor(alpha=0, tol=1e-10, max_iter=1000,
                                           solver="newton-cholesky")  # fmt: skip
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    crit = ts.criteria(ts.curvature(est.fit(X, y), X, y))
                ratios.append(crit.penalty_ratio)
                for flag in flagged:
                    flagged[flag] += flag in crit.flags
            q = np.percentile(ratios, [0, 50, 100])
            out(f"| {kind} | {n} | {k} | {q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} | "
                f"{flagged['misspecified']} of {n_seeds} | "
                f"{flagged['high_leverage']} of {n_seeds} |")  # fmt: skip


def exact_check(name="RAND HIE doctor visits (Poisson), 54", n_splits=30, out=print):
    """Exact leave-one-out refits beside ALO and 5-fold CV on one case.

    Refits every candidate without each training row (warm-started, as
    ``_alo_study.exact_loo``) and prints, per split, the pick and regret of exact
    LOO, ALO and CV, then their means: does exact leave-one-out trail CV as ALO does?
    About ``12 × n_train`` refits per split.
    """
    from _alo_study import exact_loo

    case = next(c for k, c in cases().items() if name in k)
    regrets, same = [], 0
    for seed in range(n_splits):
        Xtr, Xte, ytr, yte, folds = _split(case, seed)
        models = [make().fit(Xtr, ytr) for make in case.makers]
        test = np.array([test_nll(case.kind, m, Xtr, ytr, Xte, yte) for m in models])
        ex = [exact_loo(case.kind, m, Xtr, ytr) for m in models]
        alo = [ts.approximate_loo(ts.curvature(m, Xtr, ytr)).loo for m in models]
        cv = [
            np.mean([test_nll(case.kind, clone(m).fit(Xtr[a], ytr[a]), Xtr[a],
                              ytr[a], Xtr[b], ytr[b]) for a, b in folds])
            for m in models
        ]  # fmt: skip
        picks = [int(np.argmin(v)) for v in (ex, alo, cv)]
        same += picks[0] == picks[1]
        regrets.append([1e3 * (test[i] - test.min()) for i in picks])
        out(f"split {seed}: picks exact {picks[0]}, ALO {picks[1]}, CV {picks[2]}")
    r = np.array(regrets)
    d = r[:, 0] - r[:, 2]
    out(
        f"mean regret (milli-nats): exact LOO {r[:, 0].mean():.1f}, ALO "
        f"{r[:, 1].mean():.1f}, CV {r[:, 2].mean():.1f}; exact − CV {d.mean():+.1f} ± "
        f"{d.std(ddof=1) / np.sqrt(len(d)):.1f}; exact and ALO pick the same on "
        f"{same} of {len(r)} splits"
    )
