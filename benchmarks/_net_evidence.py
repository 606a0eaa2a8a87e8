"""Networks chosen by their Laplace evidence, against 3-fold CV, TIC and the soft rank
(run through ``python benchmarks/selection.py --networks``).

Grid: ``MLPClassifier(width, activation="tanh", alpha=decay, solver="lbfgs")`` to
convergence (``tol=1e-8``, ``max_iter=5000``) for widths {4, 8, 16, 32, 64} × 8 decays
(``np.logspace(-2, 1.5, 8)``) × 3 seeds (the seed draws the train/test split and the
initial weights) on

- digits (``load_digits``, pixels / 16): 500 training rows, 1 297 test rows;
- breast cancer (standardised on the training rows): 300 training rows, 269 test.

Every network is fitted once on the training rows; then

- ``ggn_*`` / ``kfac_*``: ``ts.evidence(ts.curvature(net, X, y, hessian=False),
  hessian=..., unpenalized=...)`` (no ``H``, no ``C``), the biases maximised over
  (``profile``, the networks' default) or integrated (``integrate``), without and
  with (``+sym``) the symmetry term;
- ``exact_*``: ``ts.evidence(curv, hessian="exact")`` on the full curvature (``nan``
  where ``H_λ`` is indefinite: such a network is never picked and is left out of its
  τ);
- ``TIC`` and ``soft rank`` (``-loglik + soft_rank``, the gap estimate of Shoham et
  al.) from ``ts.criteria`` of the full curvature;
- ``CV3``: stratified 3-fold CV refits, held-out NLL per row.

Truth: the test NLL per row.  Per seed and data set, over the 40 networks: the regret
of each method's pick (milli-nats per test row; its mean over seeds ± SE, and the
paired difference to CV3 ± SE) and Kendall's τ of the method's score with the test
NLL.  Wall times (one BLAS thread, same run): the evidence route (fit + light
curvature + evidence) against 3-fold CV (three refits), summed over the grid and per
width.  Which networks break τ: the same τ without the near-interpolating fits
(training NLL below :data:`INTERPOLATING` nats per row).  Rows are written to
``--out`` (JSON lines) as they come, so a table can be redrawn with
``--table-only``.  ``benchmarks/gap_prediction.py --networks`` runs the same grid
and adds each method's predicted gap (:func:`predicted_gap`) against the measured
one.
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
from scipy.stats import kendalltau
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import ticselect as ts

WIDTHS = (4, 8, 16, 32, 64)
DECAYS = tuple(np.logspace(-2, 1.5, 8))
SEEDS = (0, 1, 2)
#: Training rows per data set (the rest of the rows are the test set).
N_TRAIN = {"digits": 500, "breast_cancer": 300}
#: Training NLL per row below which a fit counts as near-interpolating (see
#: :func:`interpolation_table`).
INTERPOLATING = 0.01
#: Evidence variants: curvature × treatment of the biases (integrated under a flat
#: prior, REML; or maximised, ML), each without and with the symmetry term.
VARIANTS = tuple(f"{h}_{u}" for h in ("kfac", "ggn", "exact")
                 for u in ("profile", "integrate"))  # fmt: skip
METHODS = (
    *VARIANTS, *(f"{v}+sym" for v in VARIANTS if not v.startswith("exact")), "tic",
    "soft_rank", "cv3",
)  # fmt: skip


def data(name, seed):
    """``(X_train, y_train, X_test, y_test)`` of one seed's split."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
    else:
        X, y = load_breast_cancer(return_X_y=True)
    n_train = N_TRAIN[name]
    idx = np.random.default_rng(seed).permutation(len(y))
    tr, te = idx[:n_train], idx[n_train:]
    Xtr, Xte = X[tr], X[te]
    if name != "digits":
        sc = StandardScaler().fit(Xtr)
        Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    return Xtr, y[tr], Xte, y[te]


def network(width, decay, seed):
    return MLPClassifier(
        (width,), activation="tanh", alpha=decay, solver="lbfgs", tol=1e-8,
        max_iter=5000, random_state=seed,
    )  # fmt: skip


def _nll(net, X, y):
    return log_loss(y, net.predict_proba(X), labels=net.classes_)


def one_network(name, width, decay, seed, split):
    Xtr, ytr, Xte, yte = split
    row = {"data": name, "width": width, "decay": decay, "seed": seed}
    t0 = time.perf_counter()
    net = network(width, decay, seed).fit(Xtr, ytr)
    row.update(t_fit=time.perf_counter() - t0, n_iter=int(net.n_iter_))
    row.update(light_evidences(net, Xtr, ytr))
    t0 = time.perf_counter()
    curv = ts.curvature(net, Xtr, ytr, stationarity_tol=np.inf, max_seconds=None)
    crit = ts.criteria(curv)
    row.update(
        t_full=time.perf_counter() - t0,
        tic=crit.tic / 2.0,
        soft_rank=-crit.loglik + crit.soft_rank,
        crit_flags=list(crit.flags),
    )
    for u in ("profile", "integrate"):
        ev = ts.evidence(curv, "exact", unpenalized=u)
        row[f"exact_{u}"] = ev.log_evidence
        row[f"flags_exact_{u}"] = list(ev.flags)  # fmt: skip
    t0 = time.perf_counter()
    folds = StratifiedKFold(3, shuffle=True, random_state=seed).split(Xtr, ytr)
    cv = 0.0
    for a, b in folds:
        f = clone(net).fit(Xtr[a], ytr[a])
        cv += len(b) * _nll(f, Xtr[b], ytr[b])
    row.update(t_cv3=time.perf_counter() - t0, cv3=cv / len(ytr))
    row["train_nll"] = curv.nll / curv.n_samples
    row["test_nll"] = _nll(net, Xte, yte)
    return row


def light_evidences(net, X, y):
    """Evidence variants from a curvature without ``H``; timed (light curvature
    included in each)."""
    out = {}
    t0 = time.perf_counter()
    light = ts.curvature(net, X, y, hessian=False)
    t_light = time.perf_counter() - t0
    for h in ("kfac", "ggn"):
        for u in ("profile", "integrate"):
            t0 = time.perf_counter()
            ev = ts.evidence(light, h, unpenalized=u, symmetry=True)
            out[f"t_{h}_{u}"] = t_light + time.perf_counter() - t0
            out[f"{h}_{u}"] = ev.log_evidence - ev.log_symmetry
            out[f"{h}_{u}+sym"] = ev.log_evidence
            out[f"flags_{h}_{u}"] = list(ev.flags)
            out[f"gamma_{h}_{u}"] = ev.gamma
            out[f"mackay_{h}_{u}"] = ev.mackay_update
    out.update(n_params=light.n_params, stationarity=light.stationarity,
               log_symmetry=ev.log_symmetry)  # fmt: skip
    return out


def add_grid_arguments(parser, rows_flag, default):
    """The options of a script that runs this grid: where its rows go, redrawing the
    tables from them, and a subset of the seeds."""
    parser.add_argument(
        rows_flag, default=default, help="network grid rows (JSON lines; resumes)"
    )
    parser.add_argument(
        "--table-only", action="store_true", help=f"redraw from {rows_flag}"
    )
    parser.add_argument(
        "--seeds", type=int, nargs="*", help="network grid: only these seeds"
    )


def run_grid(out_path, names=("digits", "breast_cancer"), quick=False, seeds=None):
    """Fit and score the grid; rows already in ``out_path`` are kept (a resumed run)."""
    widths = (4, 16) if quick else WIDTHS
    decays = DECAYS[::3] if quick else DECAYS
    seeds = (SEEDS[:1] if quick else SEEDS) if seeds is None else seeds
    try:
        rows = load(out_path)
    except FileNotFoundError:
        rows = []
    done = {(r["data"], r["seed"], r["width"], r["decay"]): r for r in rows}
    with open(out_path, "a") as fh:
        for name in names:
            for seed in seeds:
                split = data(name, seed)
                for w in widths:
                    for a in decays:
                        old = done.get((name, seed, w, a))
                        if old is not None and "kfac_profile" in old:
                            continue
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            if old is None:
                                row = one_network(name, w, a, seed, split)
                            else:  # a row of an older run: refit (deterministic)
                                row = _augment(old, split)
                        fh.write(json.dumps(row) + "\n")
                        fh.flush()
                        rows.append(row)
    return rows


def _augment(row, split):
    """Add the light-curvature variants to a row that lacks them (same fit)."""
    Xtr, ytr, Xte, yte = split
    net = network(row["width"], row["decay"], row["seed"]).fit(Xtr, ytr)
    assert np.isclose(_nll(net, Xte, yte), row["test_nll"], rtol=1e-9)
    curv = ts.curvature(net, Xtr, ytr, stationarity_tol=np.inf, max_seconds=None)
    row = {**row, **light_evidences(net, Xtr, ytr)}
    for u in ("profile", "integrate"):
        ev = ts.evidence(curv, "exact", unpenalized=u)
        row[f"exact_{u}"] = ev.log_evidence
        row[f"flags_exact_{u}"] = list(ev.flags)
    return row


def load(path):
    """Rows of a JSON-lines file, the last one of each network kept."""
    with open(path) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    last = {(r["data"], r["seed"], r["width"], r["decay"]): r for r in rows}
    return list(last.values())


# ---------------------------------------------------------------------- tables
def _score(rows, m):
    """Lower is better: minus the log evidences, TIC/2, soft rank, CV3."""
    v = np.array([r[m] for r in rows], dtype=float)
    return -v if m.startswith(("kfac", "ggn", "exact")) else v


def _per_seed(rows):
    out = {}
    for r in rows:
        out.setdefault((r["data"], r["seed"]), []).append(r)
    return out


def predicted_gap(row, m):
    """Method ``m``'s estimate of the generalisation gap of one network: its
    estimate of the test NLL per row minus the training NLL per row.

    ``cv3``: the 3-fold CV NLL per row; ``tic``: ``tr(H_λ⁻¹C)/n`` (TIC/2 is
    ``L + tr(H_λ⁻¹C)``); ``soft_rank``: ``rank_λ(H)/n``; the evidences: ``-log Z/n``
    minus the training NLL, the Occam factor and the prior's energy per row
    (``-log Z/n`` is the mean prequential NLL of the Bayesian predictive, so it
    estimates the test NLL of the posterior, not of the MAP network).
    """
    n = N_TRAIN[row["data"]]
    if m == "cv3":
        return row["cv3"] - row["train_nll"]
    return _score([row], m)[0] / n - row["train_nll"]


def quality(rows, methods=METHODS):
    """``{data: {method: (regrets, taus)}}`` over seeds."""
    res = {}
    for (name, _), sub in sorted(_per_seed(rows).items()):
        test = np.array([r["test_nll"] for r in sub])
        for m in methods:
            s = _score(sub, m)
            ok = np.isfinite(s)
            pick = int(np.nanargmin(np.where(ok, s, np.inf)))
            tau = kendalltau(s[ok], test[ok]).statistic if ok.sum() > 2 else np.nan
            reg, taus = res.setdefault(name, {}).setdefault(m, ([], []))
            reg.append(1e3 * (test[pick] - test.min()))
            taus.append(tau)
    return res


def _se(x):
    x = np.asarray(x, dtype=float)
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def quality_table(rows, methods=METHODS):
    lines = []
    for name, per in quality(rows, methods).items():
        n_seeds = len(per["cv3"][0])
        n_nets = sum(r["data"] == name for r in rows) // n_seeds
        lines += [
            f"\n### {name}: {n_seeds} seeds × {n_nets} networks (regret in "
            "milli-nats per test row)\n",
            "| method | regret, mean ± SE | per seed | paired diff. to CV3 ± SE "
            "| Kendall τ with test NLL, mean (per seed) |",
            "|---|---|---|---|---|",
        ]
        cv = np.array(per["cv3"][0])
        for m in methods:
            reg, taus = np.array(per[m][0]), np.array(per[m][1])
            d = reg - cv
            lines.append(
                f"| {m} | {reg.mean():.1f} ± {_se(reg):.1f} | "
                f"{', '.join(f'{x:.0f}' for x in reg)} | {d.mean():+.1f} ± {_se(d):.1f}"
                f" | {np.nanmean(taus):.2f} ({', '.join(f'{t:.2f}' for t in taus)}) |"
            )
    return "\n".join(lines)


def within_width_table(
    rows,
    methods=(
        "kfac_profile",
        "ggn_profile",
        "ggn_integrate",
        "exact_integrate",
        "tic",
        "cv3",
    ),
):
    """The decay chosen at each width (what ``select --model mlp`` does): regret and
    τ over the 8 decays, means over seeds."""
    lines = ["\n### Decay at a fixed width: regret (milli-nats) / τ over the decays, "
             "mean over seeds\n",
             "| data | width | d | n·(K−1) | " + " | ".join(methods) + " |",
             "|---|---|---|---|" + "---|" * len(methods)]  # fmt: skip
    groups = {}
    for r in rows:
        groups.setdefault((r["data"], r["width"]), []).append(r)
    for (name, w), sub in sorted(groups.items()):
        cells = []
        for m in methods:
            reg, taus = [], []
            for _, seed_rows in sorted(_per_seed(sub).items()):
                test = np.array([r["test_nll"] for r in seed_rows])
                s = _score(seed_rows, m)
                ok = np.isfinite(s)
                if not ok.any():
                    continue
                pick = int(np.nanargmin(np.where(ok, s, np.inf)))
                reg.append(1e3 * (test[pick] - test.min()))
                if ok.sum() > 2:
                    taus.append(kendalltau(s[ok], test[ok]).statistic)
            cells.append(f"{np.mean(reg):.0f} / {np.mean(taus):.2f}" if reg else "-")
        K = 10 if name == "digits" else 2
        lines.append(f"| {name} | {w} | {sub[0]['n_params']} | "
                     f"{N_TRAIN[name] * (K - 1)} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    return "\n".join(lines)


ROUTES = ("kfac_profile", "ggn_profile", "kfac_integrate", "ggn_integrate")


def time_table(rows):
    lines = [
        "\n### Wall time over the grid (one BLAS thread; same run)\n",
        "Route = fit + light curvature + evidence, summed over the grid, / 3-fold "
        "CV's three refits.\n",
        "| data | width | d | fit [s] | CV3 [s] | "
        + " | ".join(f"{r} / CV3" for r in ROUTES)
        + " | full curvature + criteria / CV3 |",
        "|---|---|---|---|---|" + "---|" * (len(ROUTES) + 1),
    ]
    by = {}
    for r in rows:
        by.setdefault((r["data"], r["width"]), []).append(r)
        by.setdefault((r["data"], "all"), []).append(r)
    for (name, w), sub in sorted(by.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        fit = sum(r["t_fit"] for r in sub)
        cv = sum(r["t_cv3"] for r in sub)
        cells = [f"{(fit + sum(r[f't_{k}'] for r in sub)) / cv:.2f}" for k in ROUTES]
        full = sum(r["t_full"] for r in sub) / cv
        d = sub[0]["n_params"] if w != "all" else "-"
        lines.append(f"| {name} | {w} | {d} | {fit:.1f} | {cv:.1f} | "
                     + " | ".join(cells) + f" | {full:.2f} |")  # fmt: skip
    return "\n".join(lines)


def diagnostics(rows):
    """Flags and γ: which networks the evidence cannot be trusted on, and why."""
    lines = [
        "\n### Reliability of the networks' evidence (networks flagged)\n",
        "| data | variant | nan | singular | indefinite | not_stationary "
        "| negligible_gamma | γ range |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted({r["data"] for r in rows}):
        sub = [r for r in rows if r["data"] == name]
        for v in VARIANTS:
            fl = [r.get(f"flags_{v}", []) for r in sub]
            g = [r.get(f"gamma_{v}", np.nan) for r in sub]
            cnt = [
                sum(f in x for x in fl)
                for f in (
                    "singular",
                    "indefinite",
                    "not_stationary",
                    "negligible_gamma",
                )
            ]
            nan = sum(not np.isfinite(r[v]) for r in sub)
            rng = (f"{np.nanmin(g):.1f}–{np.nanmax(g):.1f}"
                   if np.isfinite(g).any() else "-")  # fmt: skip
            lines.append(f"| {name} ({len(sub)}) | {v} | {nan} | "
                         + " | ".join(map(str, cnt)) + f" | {rng} |")  # fmt: skip
    return "\n".join(lines)


def picks_table(rows, methods=("kfac_profile", "ggn_profile", "cv3")):
    """Each seed's pick by some methods, with the best network."""
    lines = ["\n### Picks per seed (width, decay; test NLL)\n",
             "| data | seed | best | " + " | ".join(methods) + " |",
             "|---|---|---|" + "---|" * len(methods)]  # fmt: skip
    for (name, seed), sub in sorted(_per_seed(rows).items()):
        test = np.array([r["test_nll"] for r in sub])

        def cell(i, sub=sub, test=test):
            r = sub[i]
            return f"{r['width']}, {r['decay']:.3g}; {test[i]:.4f}"

        picks = []
        for m in methods:
            s = _score(sub, m)
            picks.append(int(np.nanargmin(np.where(np.isfinite(s), s, np.inf))))
        lines.append(f"| {name} | {seed} | {cell(int(np.argmin(test)))} | "
                     + " | ".join(cell(i) for i in picks) + " |")  # fmt: skip
    return "\n".join(lines)


def interpolation_table(
    rows, methods=("ggn_profile", "exact_profile", "kfac_profile", "cv3")
):
    """Which networks break τ: Kendall τ with the test NLL over all networks and
    over those whose training NLL per row is at least :data:`INTERPOLATING` (the
    near-interpolating fits left out), mean over seeds.  A diagnosis, not a
    selection rule: leaving them out changes the candidates."""
    lines = [f"\n### τ with the test NLL without the near-interpolating fits (training "
             f"NLL < {INTERPOLATING} nats per row), mean over seeds\n",
             "| data | near-interpolating fits per seed | test NLL of those, mean "
             "(range) | " + " | ".join(f"{m}: all / rest" for m in methods) + " |",
             "|---|---|---|" + "---|" * len(methods)]  # fmt: skip
    for name in sorted({r["data"] for r in rows}):
        seeds = sorted(_per_seed([r for r in rows if r["data"] == name]).items())
        counts, interp_test, cells = [], [], []
        for m in methods:
            all_t, rest_t = [], []
            for _, sub in seeds:
                test = np.array([r["test_nll"] for r in sub])
                near = np.array([r["train_nll"] < INTERPOLATING for r in sub])
                s = _score(sub, m)
                ok = np.isfinite(s)
                all_t.append(kendalltau(s[ok], test[ok]).statistic)
                keep = ok & ~near
                rest_t.append(kendalltau(s[keep], test[keep]).statistic)
                if m == methods[0]:
                    counts.append(int(near.sum()))
                    interp_test.extend(test[near])
            cells.append(f"{np.mean(all_t):.2f} / {np.mean(rest_t):.2f}")
        it = np.array(interp_test)
        rng = f"{it.mean():.3f} ({it.min():.3f}–{it.max():.3f})" if it.size else "-"
        lines.append(f"| {name} | {', '.join(map(str, counts))} | {rng} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    return "\n".join(lines)


def report(rows, out=print):
    out(quality_table(rows))
    out(within_width_table(rows))
    out(time_table(rows))
    out(diagnostics(rows))
    out(interpolation_table(rows))
    out(picks_table(rows))


# ---------------------------------------------------------------------- tuning
def tuning_timing(name="breast_cancer", width=8, seed=0, repeat=2):
    """One width's decay tuned by ``CriterionSearch(criterion="evidence")`` against
    ``GridSearchCV(cv=3)`` over the 8 decays: best-of-``repeat`` wall times (same
    run, one BLAS thread), the values chosen and their test NLL."""
    from sklearn.model_selection import GridSearchCV

    search_cls = getattr(ts, "CriterionSearch", None)
    if search_cls is None:
        print("ts.CriterionSearch is not on this branch (issue 26): skipped.")
        return None
    Xtr, ytr, Xte, yte = data(name, seed)
    net = network(width, 1.0, seed)
    runs = {}
    for label, make in (
        ("CriterionSearch(evidence, profile)", lambda: search_cls(
            net, "alpha", criterion="evidence", unpenalized="profile",
            bounds=(DECAYS[0], DECAYS[-1]))),
        ("GridSearchCV(cv=3), 8 decays", lambda: GridSearchCV(
            net, {"alpha": list(DECAYS)}, cv=3, scoring="neg_log_loss")),
    ):  # fmt: skip
        best = np.inf
        for _ in range(repeat):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                fitted = make().fit(Xtr, ytr)
                best = min(best, time.perf_counter() - t0)
        alpha = fitted.best_params_["alpha"]
        runs[label] = (best, alpha, _nll(fitted.best_estimator_, Xte, yte))
    ref = runs["GridSearchCV(cv=3), 8 decays"][0]
    print(f"\n### Tuning the decay of one width ({name}, width {width}, seed {seed})\n")
    print("| search | time [s] | / GridSearchCV | alpha | test NLL |")
    print("|---|---|---|---|---|")
    for label, (t, a, nll) in runs.items():
        print(f"| {label} | {t:.1f} | {t / ref:.2f} | {a:.3g} | {nll:.4f} |")
    return runs
