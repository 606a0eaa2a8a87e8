"""Selection by information criteria vs 5-fold cross-validation.

For each problem: a grid of 20 penalties, and in one run

- 5-fold ``GridSearchCV`` with a held-out log-loss (``neg_log_loss`` /
  ``neg_mean_poisson_deviance``, which ranks like the Poisson log-loss), refit on all;
- ``GridSearchCV(cv=ts.InSample(), scoring=criteria_scoring("neg_tic", ...))``,
  one fit per value plus the refit;
- ``criterion_path`` cold, warm from the previous solution, and warm from the
  previous solution moved by one Newton step for the new penalty (its default), one
  fit per value and no refit;

printing wall times, the penalty each picks (TIC, AIC, BIC and CV) and each pick's
log-loss (mean NLL per sample) on an independent test set of 2·10⁵ rows.

``--alo`` runs instead the real-data study of approximate leave-one-out (ALO) beside
TIC, AIC, BIC, 5-fold CV and exact leave-one-out refits (``_alo_study``),
``--alo-mlp`` the digits network grid (``_alo_networks``), ``--trust`` the study of
the recommended pick and the reliability flags on 8 real-data cases
(``_trust_study``, ``_trust_cases``, ``_trust_tables``; ``--trust-exact CASE`` adds
exact leave-one-out refits on one of them), ``--average`` compares
``ts.ModelAverage`` over the ALO study's paths with single picks (``_averaging``),
``--best-of-many`` measures how often the best-of-many check fires
(``_best_of_many``), ``--networks`` the networks chosen by their evidence against
3-fold CV (``_net_evidence``).  Otherwise the synthetic
runs add ALO's pick along the warm path.

Run: ``python benchmarks/selection.py`` (add ``--quick`` for a smoke run).  Everything
runs serially with BLAS limited to one thread, so the timings compare algorithms, not
scheduling; each wall time is the best of ``--repeat`` (default 3) runs.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _alo_networks import run_networks
from _alo_study import run_study
from _averaging import run_averaging
from _best_of_many import run_best_of_many
from _net_evidence import add_grid_arguments, load, report, run_grid, tuning_timing
from _timing import best_of
from _trust_study import exact_check, run_trust
from scipy.special import gammaln
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, KFold
from threadpoolctl import threadpool_limits

from ticselect.scoring import InSample, criteria_scoring
from ticselect.selection._path import criterion_path

TOL = 1e-6  # tight enough that every fit is stationary to ~1e-6 (TIC's premise)
N_TEST = 200_000


def design(rng, m, p, rho):
    """Rows with AR(1) correlation ``rho`` between neighbouring columns (iid at 0)."""
    Z = rng.normal(size=(m, p))
    if rho == 0:
        return Z
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * Z[:, j]
    return X


def logistic_problem(n, p=100, informative=10, seed=0, rho=0.0):
    """Binary data from a complementary log-log link (misspecified for logistic)."""
    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    beta[:informative] = rng.choice([-1, 1], informative) * rng.uniform(
        0.2, 0.6, informative
    )

    def draw(m):
        X = design(rng, m, p, rho)
        eta = X @ beta - 0.3
        prob = -np.expm1(-np.exp(eta))
        return X, (rng.uniform(size=m) < prob).astype(int)

    X, y = draw(n)
    Xt, yt = draw(N_TEST)
    return X, y, Xt, yt


def poisson_problem(n, p=100, informative=10, seed=1, rho=0.0):
    """Overdispersed counts (negative binomial, shape 2) fitted by a Poisson GLM."""
    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    beta[:informative] = rng.choice([-1, 1], informative) * rng.uniform(
        0.05, 0.2, informative
    )

    def draw(m):
        X = design(rng, m, p, rho)
        mu = np.exp(0.5 + X @ beta)
        shape = 2.0
        return X, rng.poisson(mu * rng.gamma(shape, 1.0 / shape, size=m))

    X, y = draw(n)
    Xt, yt = draw(N_TEST)
    return X, y, Xt, yt


def poisson_nll(y, mu):
    """Mean Poisson negative log-likelihood per sample (all constants)."""
    return float(np.mean(mu - y * np.log(mu) + gammaln(y + 1.0)))


def test_loss(kind, est, Xt, yt):
    if kind == "logistic":
        return log_loss(yt, est.predict_proba(Xt))
    return poisson_nll(yt, est.predict(Xt))


def run(kind, n, grid, quick=False, rho=0.0, repeat=3):
    if kind == "logistic":
        X, y, Xt, yt = logistic_problem(n, rho=rho)
        est = LogisticRegression(tol=TOL, max_iter=10_000)
        param, cv_scoring = "C", "neg_log_loss"
    else:
        X, y, Xt, yt = poisson_problem(n, rho=rho)
        est = PoissonRegressor(tol=TOL, max_iter=10_000)
        param, cv_scoring = "alpha", "neg_mean_poisson_deviance"
    if quick:
        Xt, yt = Xt[:20_000], yt[:20_000]
    rows = []

    t_cv, cv = best_of(
        lambda: GridSearchCV(
            est,
            {param: grid},
            cv=KFold(5, shuffle=True, random_state=0),
            scoring=cv_scoring,
        ).fit(X, y),
        repeat,
    )
    rows.append(("5-fold CV", t_cv, cv.best_params_[param], cv.best_estimator_))

    t_ins, ins = best_of(
        lambda: GridSearchCV(
            est,
            {param: grid},
            cv=InSample(),
            scoring=criteria_scoring("neg_tic", "neg_aic", "neg_bic"),
            refit="neg_tic",
        ).fit(X, y),
        repeat,
    )
    rows.append(("TIC, GridSearchCV(InSample)", t_ins, ins.best_params_[param], None))

    paths = {}
    labels = {False: "cold", "previous": "warm, previous", True: "warm, Newton"}
    for warm, label in labels.items():
        elapsed, paths[warm] = best_of(
            lambda warm=warm: criterion_path(
                est, param, grid, X, y, warm_start=warm, alo=False
            ),
            repeat,
        )
        rows.append(
            (
                f"TIC, criterion_path ({label})",
                elapsed,
                paths[warm].best_value("tic"),
                paths[warm].best_estimator("tic"),
            )
        )
    path = paths[True]
    elapsed, alo_path = best_of(
        lambda: criterion_path(est, param, grid, X, y, warm_start=True), repeat
    )
    pick = alo_path.best_value("alo")
    rows.append(("ALO, criterion_path (warm, Newton)", elapsed, pick, None))
    for c in ("aic", "bic"):
        rows.append((f"{c.upper()} pick (same path)", None, path.best_value(c), None))

    # same picks from the InSample search, the warm path and the cold path?
    ins_picks = {
        c: grid[int(np.argmax(ins.cv_results_[f"mean_test_neg_{c}"]))]
        for c in ("tic", "aic", "bic")
    }
    agree = {
        c: (
            ins_picks[c] == path.best_value(c),
            paths[False].best_value(c) == path.best_value(c),
        )
        for c in ins_picks
    }
    tic_dev = np.max(
        np.abs(paths[False].deviance("tic") - path.deviance("tic"))
        / np.abs(paths[False].deviance("tic"))
    )
    n_iter = {
        w: int(np.sum([np.max(e.n_iter_) for e in paths[w].estimators_]))
        for w in labels
    }

    # test losses: picks refitted on all training rows are the path's estimators
    by_value = dict(zip(grid, path.estimators_, strict=True))
    cv_loss = test_loss(kind, cv.best_estimator_, Xt, yt)
    design_ = f"AR(1) features, rho = {rho}" if rho else "iid features"
    print(
        f"\n### {kind}, n = {n}, p = {X.shape[1]}, {design_}, grid of {len(grid)} "
        f"{param}"
    )
    print(
        f"| method | wall time (s) | speed-up vs CV | picked {param} | test log-loss "
        "| vs CV pick |"
    )
    print("|---|---|---|---|---|---|")
    for label, elapsed, pick, fitted in rows:
        fitted = fitted if fitted is not None else by_value[pick]
        loss = test_loss(kind, fitted, Xt, yt)
        ts_ = "" if elapsed is None else f"{elapsed:.2f}"
        sp = "" if elapsed is None else f"{t_cv / elapsed:.1f}×"
        print(
            f"| {label} | {ts_} | {sp} | {pick:.4g} | {loss:.5f} | "
            f"{100 * (loss - cv_loss) / cv_loss:+.3f}% |"
        )
    print(
        "picks agree (InSample search == warm path, cold path == warm path): "
        + ", ".join(f"{c.upper()} {a}/{b}" for c, (a, b) in agree.items())
        + f"; max rel. TIC difference cold vs warm {tic_dev:.1e}; solver iterations "
        "along the path: " + ", ".join(f"{labels[w]} {n_iter[w]}" for w in labels)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--alo",
        action="store_true",
        help="only the real-data study of ALO vs TIC/AIC/BIC/CV/exact LOO",
    )
    parser.add_argument(
        "--alo-mlp",
        action="store_true",
        help="only the digits network study of ALO vs 5-fold CV",
    )
    parser.add_argument(
        "--average",
        action="store_true",
        help="only ModelAverage over the ALO study's paths vs single picks",
    )
    parser.add_argument(
        "--best-of-many",
        action="store_true",
        help="only the firing rates of the best-of-many check",
    )
    parser.add_argument(
        "--networks",
        action="store_true",
        help="only the network study: widths × decays × seeds on digits and breast "
        "cancer, chosen by the evidence (GGN, KFAC, exact), TIC, soft rank, 3-fold CV",
    )
    parser.add_argument(
        "--networks-tune",
        action="store_true",
        help="only the decay of one width tuned by CriterionSearch(criterion="
        "'evidence') against GridSearchCV(cv=3) over 8 decays (needs issue 26)",
    )
    add_grid_arguments(parser, "--out", "net_evidence.jsonl")
    parser.add_argument(
        "--trust",
        action="store_true",
        help="only the study of the recommended pick and the flags (issue 23)",
    )
    parser.add_argument("--save", help="--trust: keep the raw results in this pickle")
    parser.add_argument("--load", help="--trust: print the tables of a saved run")
    parser.add_argument(
        "--trust-exact",
        metavar="CASE",
        help="exact leave-one-out refits beside ALO and CV on the --trust case whose "
        "name contains CASE (--splits splits; slow: 12 × n refits per split)",
    )
    parser.add_argument(
        "--splits", type=int, default=30, help="splits (--alo, --average, --trust)"
    )
    parser.add_argument(
        "--exact-splits", type=int, default=10, help="splits with exact LOO (--alo)"
    )
    parser.add_argument("--only", nargs="*", help="data sets whose name has this")
    parser.add_argument(
        "--repeat", type=int, default=3, help="report the best of this many runs"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    warnings.simplefilter("ignore", UserWarning)
    with threadpool_limits(1):
        if args.alo:
            run_study(args.splits, args.exact_splits, args.only)
            return
        if args.trust_exact:
            exact_check(args.trust_exact, args.splits)
            return
        if args.trust:
            run_trust(args.splits, args.only, args.save, args.load)
            return
        if args.alo_mlp:
            run_networks()
            return
        if args.average:
            run_averaging(args.splits, args.only)
            return
        if args.best_of_many:
            run_best_of_many(args.splits)
            return
        if args.networks_tune:
            for name, width in (("breast_cancer", 8), ("digits", 16)):
                if not args.only or name in args.only:
                    tuning_timing(name, width, repeat=1 if args.quick else 2)
            return
        if args.networks:
            names = args.only or ("digits", "breast_cancer")
            rows = (
                load(args.out)
                if args.table_only
                else run_grid(args.out, names, args.quick, args.seeds)
            )
            report(rows)
            return
        if args.quick:
            run("logistic", 2000, list(np.logspace(-3, 1, 5)), True, repeat=1)
            run("poisson", 2000, list(np.logspace(-1, -5, 5)), True, repeat=1)
            return
        c_grid = list(np.logspace(-4, 1, 20))
        a_grid = list(np.logspace(0, -5, 20))
        r = args.repeat
        run("logistic", 20_000, c_grid, repeat=r)
        run("logistic", 20_000, c_grid, rho=0.9, repeat=r)
        run("poisson", 20_000, a_grid, repeat=r)
        run("poisson", 20_000, a_grid, rho=0.9, repeat=r)
        run("logistic", 2_000, c_grid, repeat=r)  # hard case


if __name__ == "__main__":
    main()
