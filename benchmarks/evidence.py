"""The Laplace evidence: its pick along penalty paths, its cost, its Laplace error.

Three parts (all by default; ``--only regret|cost|laplace`` runs one):

``regret``
    The real-data penalty paths of ``benchmarks/selection.py --alo`` (``_alo_study``:
    breast cancer, wine, diabetes, RAND HIE; a grid of 12 penalties, ``--splits``
    random small training sets, default 30).  On each split every grid value is
    fitted once; TIC and the evidence come from :func:`ticselect.criteria`
    (``crit.log_evidence``: the fit's penalty as the prior, exact Hessian,
    intercepts integrated, the dispersion of the Gaussian ridge held at its ML
    estimate; ``evidence_phi`` profiles it, ``dispersion="profile"``), ALO from
    :func:`ticselect.approximate_loo`, 5-fold CV refits.  The regret of a pick is
    its test NLL per sample minus the best grid value's.
``cost``
    A digits network (64 inputs, tanh, 10 classes; ``--width`` 32 gives d = 2410) on
    the public path: ``criteria(curvature(mlp))`` against ``evidence(curv)`` read
    from the factorisation cached on the curvature (what ``crit.log_evidence``
    costs; ``curvature`` already factorises ``H_λ`` for its Newton-decrement
    check), with per-layer precisions
    (one Cholesky and triangular inverse), and with ``hessian="ggn"`` (forms the
    model Fisher).  Best of ``--repeat`` runs, one BLAS thread; ratios to the public
    path measured in the same run.
``laplace``
    Logistic regression with two parameters (slope and intercept, both with prior
    precision 1) at n = 50 and n = 500: the Laplace evidence against the 2-D
    quadrature of the exact marginal likelihood (``scipy.integrate.dblquad``), over
    ``--seeds`` data sets.

Run: ``python benchmarks/evidence.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _alo_study import datasets, split, test_nll
from _timing import best_of
from scipy import integrate
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import ticselect as ts

METHODS = ("evidence", "evidence_phi", "alo", "tic", "cv")


def one_split(spec, seed):
    _, _, kind, make, grid, _ = spec
    Xtr, Xte, ytr, yte, folds = split(spec, seed)
    G = len(grid)
    score = {m: np.empty(G) for m in METHODS}  # lower is better
    test = np.empty(G)
    t_ev = 0.0
    for g, value in enumerate(grid):
        model = make(value).fit(Xtr, ytr)
        curv = ts.curvature(model, Xtr, ytr)
        crit = ts.criteria(curv)
        t0 = time.perf_counter()
        ev = ts.evidence(curv)  # crit.log_evidence, timed alone
        t_ev += time.perf_counter() - t0
        assert ev.log_evidence == crit.log_evidence or np.isnan(crit.log_evidence)
        score["evidence"][g] = -crit.log_evidence
        # the dispersion profiled (REML estimate) where it is a parameter
        score["evidence_phi"][g] = (
            -ts.evidence(curv, dispersion="profile").log_evidence
            if curv.dispersion_is_param
            else -crit.log_evidence
        )
        score["tic"][g] = crit.tic
        score["alo"][g] = ts.approximate_loo(curv).loo
        cv = 0.0
        for a, b in folds:
            f = make(value).fit(Xtr[a], ytr[a])
            cv += len(b) * test_nll(kind, f, Xtr[a], ytr[a], Xtr[b], ytr[b])
        score["cv"][g] = cv
        test[g] = test_nll(kind, model, Xtr, ytr, Xte, yte)
    picks = {m: int(np.nanargmin(v)) for m, v in score.items()}
    regret = {m: 1e3 * (test[i] - test.min()) for m, i in picks.items()}
    return picks, regret, t_ev / G


def _g(v, sign=""):
    return f"{v:{sign}.1f}" if abs(v) < 1e4 else f"{v:{sign}.2e}"


def run_regret(n_splits, only=None):
    print("\n## Regret of the evidence's pick (milli-nats per test row)\n")
    for name, spec in datasets().items():
        if only and only.lower() not in name.lower():
            continue
        rows = [one_split(spec, s) for s in range(n_splits)]
        picks = {m: np.array([r[0][m] for r in rows]) for m in METHODS}
        reg = {m: np.array([r[1][m] for r in rows]) for m in METHODS}
        grid = spec[4]
        print(f"### {name}: n_train = {spec[5]}, grid of {len(grid)}, "
              f"{n_splits} splits\n")  # fmt: skip
        print("| method | mean regret ± SE | median regret | paired diff. to CV ± SE "
              "| same pick as evidence | median pick (grid index) |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for m in METHODS:
            r, d = reg[m], reg[m] - reg["cv"]
            se = r.std(ddof=1) / np.sqrt(len(r))
            sd = d.std(ddof=1) / np.sqrt(len(d))
            same = int(np.sum(picks[m] == picks["evidence"]))
            print(f"| {m} | {_g(r.mean())} ± {_g(se)} | {_g(np.median(r))} | "
                  f"{_g(d.mean(), '+')} ± {_g(sd)} | "
                  f"{same}/{n_splits} | {np.median(picks[m]):g} |")  # fmt: skip
        t = np.mean([r[2] for r in rows])
        print(f"\nevidence(curv) per fit after criteria: {1e3 * t:.3f} ms\n")


def run_cost(width, repeat, alpha):
    print("\n## Cost on a digits network (one BLAS thread)\n")
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    net = MLPClassifier((width,), activation="tanh", solver="lbfgs", alpha=alpha,
                        max_iter=3000, tol=1e-9, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X, y)
        ts.criteria(ts.curvature(net, X[:200], y[:200], max_seconds=None))  # warm-up

        def public():
            curv = ts.curvature(net, X, y, max_seconds=None)
            return curv, ts.criteria(curv)

        t_pub, (curv, crit) = best_of(public, repeat)
        t_cached, ev = best_of(lambda: ts.evidence(curv), repeat)

        def fresh_curv():
            return ts.curvature(net, X, y, max_seconds=None)

        t_curv, _ = best_of(fresh_curv, 1)
        layers = np.array([alpha, alpha * 1.0001])
        t_layer, ev_l = best_of(lambda: ts.evidence(curv, prior_precision=layers),
                                repeat)  # fmt: skip
        t_ggn, ev_g = best_of(lambda: ts.evidence(curv, hessian="ggn"), repeat)
    print(f"d = {curv.n_params}, n = {len(y)}; log_evidence exact {ev.log_evidence:.2f}"
          f" (flags {ev.flags}), ggn {ev_g.log_evidence:.2f}, per-layer "
          f"{ev_l.log_evidence:.2f}; gamma {ev.gamma:.1f}, MacKay update of alpha "
          f"{ev.mackay_update:.3g}\n")  # fmt: skip
    print("| what | seconds | / criteria(curvature(mlp)) |")
    print("|---|---|---|")
    for what, t in [
        ("criteria(curvature(mlp)) (public path, evidence included)", t_pub),
        ("evidence(curv) after criteria (= crit.log_evidence)", t_cached),
        ("evidence(curv, prior_precision=per layer)", t_layer),
        ('evidence(curv, hessian="ggn")', t_ggn),
        ("curvature(mlp) alone", t_curv),
    ]:
        print(f"| {what} | {t:.3f} | {t / t_pub:.3f} |")


def laplace_vs_quadrature(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.5 + x)))).astype(int)
    X = np.column_stack([x, np.ones(n)])
    model = LogisticRegression(C=1.0, fit_intercept=False, tol=1e-12).fit(X, y)
    ev = ts.evidence(ts.curvature(model, X, y))
    a0, b0 = model.coef_[0]
    ll0 = -ts.curvature(model, X, y).nll - 0.5 * (a0 * a0 + b0 * b0)

    def f(b, a):
        eta = a * x + b
        ll = np.sum(y * eta - np.logaddexp(0, eta)) - 0.5 * (a * a + b * b)
        return np.exp(ll - ll0) / (2 * np.pi)

    w = 12 / np.sqrt(n)  # ±12 posterior sd around the mode
    val, _ = integrate.dblquad(f, a0 - w, a0 + w, b0 - w, b0 + w, epsabs=1e-14,
                               epsrel=1e-12)  # fmt: skip
    return ev.log_evidence, np.log(val) + ll0


def run_laplace(seeds):
    print("\n## Laplace vs 2-D quadrature (logistic, slope + intercept, precision 1)\n")
    print("| n | mean log evidence | Laplace − quadrature: mean | max abs |")
    print("|---|---|---|---|")
    for n in (50, 500):
        d = np.array([laplace_vs_quadrature(n, s) for s in range(seeds)])
        err = d[:, 0] - d[:, 1]
        print(f"| {n} | {d[:, 1].mean():.2f} | {err.mean():+.4f} | "
              f"{np.abs(err).max():.4f} |")  # fmt: skip


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["regret", "cost", "laplace"])
    ap.add_argument("--splits", type=int, default=30)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=1e-2, help="network's alpha")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--data", help="only the data sets whose name contains this")
    args = ap.parse_args()
    if args.quick:
        args.splits, args.width, args.repeat, args.seeds = 2, 8, 1, 2
    with threadpool_limits(1):
        if args.only in (None, "laplace"):
            run_laplace(args.seeds)
        if args.only in (None, "cost"):
            run_cost(args.width, args.repeat, args.alpha)
        if args.only in (None, "regret"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_regret(args.splits, args.data)


if __name__ == "__main__":
    main()
