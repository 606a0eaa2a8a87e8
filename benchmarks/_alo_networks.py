"""Networks: ALO vs 5-fold CV over a small digits grid (width × alpha), and the
per-row Gauss–Newton downdate timed against the ``n·d²·K`` bound (run through
``python benchmarks/selection.py --alo-mlp``).

On each random split (``n_train`` rows of scikit-learn's digits, pixels / 16, the rest
as test set) every ``MLPClassifier(tanh, lbfgs)`` of the grid is fitted once on the
training rows; TIC and ALO come from its exact curvature, 5-fold CV refits it on each
fold.  Regret as in ``_alo_study``.  The bound: a dense ``Aᵀ A`` with ``A`` of shape
``(n·K, d)`` (``n·K·d²`` multiply-adds) timed on the same machine.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier

import ticselect as ts

WIDTHS = (2, 4, 8)
ALPHAS = (0.1, 1.0, 10.0)


def _net(width, alpha):
    return MLPClassifier(
        (width,), activation="tanh", alpha=alpha, solver="lbfgs", tol=1e-7,
        max_iter=3000, random_state=0,
    )  # fmt: skip


def _split(X, y, seed, n_train):
    idx = np.random.default_rng(seed).permutation(len(y))
    return X[idx[:n_train]], y[idx[:n_train]], X[idx[n_train:]], y[idx[n_train:]]


def run_networks(n_splits=5, n_train=150, out=print):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    grid = [(w, a) for w in WIDTHS for a in ALPHAS]
    regrets = {m: [] for m in ("tic", "alo", "ij", "cv")}
    times = {m: 0.0 for m in ("fit", "curv", "alo", "cv")}
    bound = {}
    for seed in range(n_splits):
        Xtr, ytr, Xte, yte = _split(X, y, seed, n_train)
        kf = StratifiedKFold(5, shuffle=True, random_state=seed)
        folds = list(kf.split(Xtr, ytr))
        crit = {m: [] for m in regrets}
        test = []
        for w, a in grid:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                net = _net(w, a).fit(Xtr, ytr)
                t1 = time.perf_counter()
                curv = ts.curvature(net, Xtr, ytr, stationarity_tol=np.inf)
                t2 = time.perf_counter()
                alo = ts.approximate_loo(curv)
                t3 = time.perf_counter()
                crit["ij"].append(ts.approximate_loo(curv, method="ij").loo)
                crit["tic"].append(ts.criteria(curv).tic)
                crit["alo"].append(alo.loo)
                t4 = time.perf_counter()
                cv = 0.0
                for tr, te in folds:
                    f = _net(w, a).fit(Xtr[tr], ytr[tr])
                    cv += len(te) * log_loss(ytr[te], f.predict_proba(Xtr[te]),
                                             labels=f.classes_)  # fmt: skip
                crit["cv"].append(cv / n_train)
                t5 = time.perf_counter()
            times["fit"] += t1 - t0
            times["curv"] += t2 - t1
            times["alo"] += t3 - t2
            times["cv"] += t5 - t4
            test.append(log_loss(yte, net.predict_proba(Xte), labels=net.classes_))
            if seed == 0:
                d, K = curv.n_params, 10
                A = np.random.default_rng(0).normal(size=(n_train * K, d))
                tb = time.perf_counter()
                A.T @ A
                bound[(w, a)] = (d, t3 - t2, time.perf_counter() - tb)
        test = np.array(test)
        for m in regrets:
            regrets[m].append(test[int(np.argmin(crit[m]))] - test.min())
    out(
        f"\n### digits MLP (tanh, lbfgs), n_train = {n_train}, grid width "
        f"{WIDTHS} × alpha {ALPHAS}, {n_splits} splits"
    )
    out("| method | mean regret (milli-nats) ± SE | paired diff. to CV ± SE | "
        "time per split (s) | time / CV's |")  # fmt: skip
    out("|---|---|---|---|---|")
    per = {
        "tic": times["fit"] + times["curv"],
        "alo": times["fit"] + times["curv"] + times["alo"],
        "ij": times["fit"] + times["curv"] + times["alo"],
        "cv": times["cv"],
    }
    label = {"tic": "TIC", "alo": "ALO (Gauss–Newton downdate)",
             "ij": "ALO, infinitesimal jackknife", "cv": "5-fold CV"}  # fmt: skip
    cv = np.array(regrets["cv"])
    for m, r in regrets.items():
        r = np.array(r)
        se = r.std(ddof=1) / np.sqrt(len(r))
        d = r - cv
        dse = d.std(ddof=1) / np.sqrt(len(d))
        diff = "—" if m == "cv" else f"{1e3 * d.mean():+.1f} ± {1e3 * dse:.1f}"
        out(
            f"| {label[m]} | {1e3 * r.mean():.1f} ± {1e3 * se:.1f} | {diff} | "
            f"{per[m] / n_splits:.2f} | {per[m] / per['cv']:.2f} |"
        )
    out("\nper-row downdate vs the n·d²·K bound (split 0; K = 10):")
    out("| width, alpha | d | ALO (s) | dense AᵀA, A (n·K × d) (s) | ratio |")
    out("|---|---|---|---|---|")
    for (w, a), (d, t_alo, t_b) in bound.items():
        out(f"| {w}, {a:g} | {d} | {t_alo:.3f} | {t_b:.3f} | {t_alo / t_b:.2f} |")
