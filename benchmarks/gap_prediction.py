"""How well does each flatness measure predict the real generalisation gap?

Trains a grid of models, measures each model's true gap — held-out mean NLL minus
training mean NLL, on held-out data never used for fitting — and reports, per model
group and for every measure of :func:`ticselect.flatness`, Kendall's τ with the true
gap, pooled over the sample sizes and within each sample size (averaged over the
sizes, weighted by the number of models), plus the mean absolute error of the measures
that estimate the gap in NLL units per sample (TIC ``tr(H_λ⁻¹C)/n``, its calibrated
form ``tr(H_λ⁻¹H)/n``, soft ranks ``rank_λ(·)/n`` of the Hessian, of the model Fisher
and of its KFAC and diagonal approximations, ticselect's trace/spectral-norm estimate,
and AIC ``k/n``).  Hessian norms are reported on the summed loss and on the mean loss
``H/n`` (the papers' scale): only the latter is comparable across sample sizes.
A second table splits the networks by held-out calibration (top-label ECE, at its
median); a third reports the error of KFAC and of the diagonal against the exact model
Fisher.

Grids
-----
- MLPs on digits (``load_digits``, inputs /16; a fixed held-out third of the rows):
  widths (4, 8, 12) × alpha (1e-4, 1e-2, 1e-1, 1) × training size (300, 800) ×
  {early stopped: adam for 25 epochs; converged: lbfgs to tol 1e-9} = 48 networks,
  relu hidden units (``--activation tanh`` for smooth ones).
- GLMs on synthetic misspecified data (held-out: 20 000 fresh draws):
  logistic regression fitted to a probit truth with an interaction and heavy-tailed
  features, and Poisson regression fitted to overdispersed (negative binomial) counts
  with a quadratic term; features (4, 12, 24) × penalty (3 strengths) × n (100, 300,
  1000) = 54 models.

Two additions (issue 15): the soft-rank gap estimate of the network after
**temperature scaling** on a held-out calibration split (rows of the pool never used
for training; Shoham et al. state the soft-rank estimate for calibrated models;
computed by :func:`ticselect.calibrated_soft_rank_gap` since issue 30), and
the same τ/MAE restricted to the **unflagged** models (neither ``"overconfident"`` nor
measurably non-stationary: relative gradient > 1e-2 and Newton decrement > 1e-3).

Run ``nice -n 10 python benchmarks/gap_prediction.py`` (about 40 s per activation on
one core; 5 minutes before issue 15 made the network criteria fast); ``--quick``
runs a small subset.  Output: a Markdown table on stdout.

Networks chosen by their evidence (issue 27, ``--networks``)
------------------------------------------------------------
The grid of :mod:`_net_evidence` (shared with ``selection.py --networks``): tanh
``MLPClassifier`` fitted by lbfgs to convergence, widths {4, 8, 16, 32, 64} × 8
decays × 3 seeds on digits and breast cancer, one BLAS thread.  For the evidence
(GGN and exact Hessian; KFAC beside them), the soft rank, TIC and 3-fold CV: the
regret of each method's pick and Kendall τ with the held-out test NLL, wall times
against 3-fold CV in the same run, and, this script's subject, Kendall τ of each
method's *predicted gap* (:func:`_net_evidence.predicted_gap`) with the measured
gap (test NLL − training NLL per row), with its mean absolute error; then which
networks break τ (:func:`_net_evidence.interpolation_table`) and the evidence's
reliability flags.  ``--save rows.jsonl`` keeps the rows as they come (a rerun
resumes), ``--table-only`` redraws the tables from them; ``--only digits`` and
``--seeds 0`` run a part.  Run: ``nice -n 5 python benchmarks/gap_prediction.py
--networks --save net_gap.jsonl`` (about an hour on one core).
"""

from __future__ import annotations

import argparse
import time
import warnings

import _net_evidence as ne
import numpy as np
from scipy.special import gammaln, ndtr
from scipy.stats import kendalltau
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

import ticselect as ts
from ticselect.calibration import expected_calibration_error
from ticselect.flatness import flatness, relative_flatness

MEASURES = [
    ("gap_estimate", "TIC tr(H_λ⁻¹C)/n"),
    ("effective_dim_gap", "calibrated TIC tr(H_λ⁻¹H)/n"),
    ("soft_rank_gap_estimate", "soft rank rank_λ(H)/n"),
    ("soft_rank_estimate_gap", "ticselect's estimate t/(s+λ)/n"),
    ("soft_rank_calibrated_gap", "soft rank after temperature scaling /n"),
    ("model_fisher_gap", "model-Fisher soft rank rank_λ(F)/n"),
    ("kfac_gap", "KFAC soft rank /n"),
    ("diagonal_fisher_gap", "diagonal-Fisher soft rank /n"),
    ("fisher_soft_rank_gap", "empirical-Fisher soft rank rank_λ(C)/n"),
    ("aic_gap", "AIC k/n"),
    ("trace", "tr(H) (summed loss)"),
    ("spectral_norm", "‖H‖₂ (summed loss)"),
    ("trace_mean", "tr(H/n)"),
    ("frobenius_mean", "‖H/n‖_F"),
    ("spectral_norm_mean", "‖H/n‖₂"),
    ("logdet_mean", "log det(H_λ/n)"),
    ("relative_flatness", "κ_Tr (normalised)"),
    ("relative_flatness_lambda_max", "κ_λmax (normalised)"),
    ("relative_flatness_raw", "κ_Tr (raw, Petzka et al.)"),
    ("pacgen", "PACGen Ψ (γ = ε = 1)"),
    ("pacbayes_kl", "PAC-Bayes KL of Ψ's Gaussians"),
    ("expected_sharpness", "expected sharpness (σ=0.01)"),
    ("magnitude_sharpness", "magnitude-aware sharpness"),
    ("pacbayes_flatness", "PAC-Bayes 1/σ²"),
    ("pacbayes_magnitude_flatness", "PAC-Bayes mag. 1/σ'²"),
    ("fisher_rao_norm", "Fisher–Rao norm"),
]
GAP_MEASURES = [
    "gap_estimate",
    "effective_dim_gap",
    "soft_rank_gap_estimate",
    "soft_rank_calibrated_gap",
    "soft_rank_estimate_gap",
    "model_fisher_gap",
    "kfac_gap",
    "diagonal_fisher_gap",
    "aic_gap",
]
GROUPS = ["MLP", "GLM (logistic)", "GLM (poisson)"]


def _measures(curv, seed):
    fl = flatness(curv, n_rho=2, n_sharpness=16, random_state=seed)
    d = fl.to_dict()
    n = curv.n_samples
    d["n"] = n
    d["soft_rank_estimate_gap"] = fl.soft_rank_estimate / n
    d["fisher_soft_rank_gap"] = fl.fisher_soft_rank / n
    d["aic_gap"] = curv.n_free_params / n
    d["newton_decrement"] = curv.newton_decrement
    d.update(_paper_measures(curv, fl))
    d["flagged"] = "overconfident" in curv.flags or (
        curv.stationarity > 1e-2 and curv.newton_decrement > 1e-3
    )
    d["soft_rank_calibrated_gap"] = np.nan
    return d


def _paper_measures(curv, fl):
    """Issue 13's columns: calibrated TIC, model-Fisher soft ranks, raw κ."""
    n = curv.n_samples
    return {
        "effective_dim_gap": fl.effective_dim_gap_estimate,
        "model_fisher_gap": fl.model_fisher_soft_rank_gap_estimate,
        "kfac_gap": fl.kfac_soft_rank / n,
        "diagonal_fisher_gap": fl.diagonal_fisher_soft_rank / n,
        "relative_flatness_raw": relative_flatness(curv, normalize=False),
    }


def _calibration(y_test, proba):
    """Held-out top-label ECE (15 equal-width bins)."""
    return {"ece": expected_calibration_error(y_test, proba)}


# ------------------------------------------------------------------------ MLPs
def mlp_rows(quick=False, activation="relu"):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=0.33, random_state=0, stratify=y
    )
    widths = (4, 8) if quick else (4, 8, 12)
    alphas = (1e-2, 1.0) if quick else (1e-4, 1e-2, 1e-1, 1.0)
    sizes = (300,) if quick else (300, 800)
    rows = []
    for w in widths:
        for alpha in alphas:
            for n in sizes:
                for mode in ("early", "converged"):
                    Xtr, ytr = X_pool[:n], y_pool[:n]
                    if mode == "early":
                        net = MLPClassifier(
                            (w,),
                            activation=activation,
                            alpha=alpha,
                            solver="adam",
                            max_iter=25,
                            random_state=1,
                        )
                    else:
                        net = MLPClassifier(
                            (w,),
                            activation=activation,
                            alpha=alpha,
                            solver="lbfgs",
                            max_iter=3000,
                            tol=1e-9,
                            random_state=1,
                        )
                    net.fit(Xtr, ytr)
                    curv = ts.curvature(net, Xtr, ytr, stationarity_tol=np.inf)
                    train = curv.nll / curv.n_samples
                    proba = net.predict_proba(X_test)
                    test = log_loss(y_test, proba, labels=net.classes_)
                    row = _measures(curv, seed=len(rows))
                    row.update(_calibration(y_test, proba))
                    # calibration split: pool rows 800+, never used for training
                    row["soft_rank_calibrated_gap"] = ts.calibrated_soft_rank_gap(
                        net, Xtr, ytr, X_pool[800:], y_pool[800:]
                    ).soft_rank_gap_estimate
                    row.update(
                        group="MLP",
                        gap=test - train,
                        name=f"w{w} a{alpha:g} n{n} {mode}",
                    )
                    rows.append(row)
    return rows


# ------------------------------------------------------------------------ GLMs
def _draw(kind, n, beta, rng):
    """``n`` draws from the misspecified truth with coefficients ``beta``."""
    p = beta.size
    # heavy-tailed (t₄) features, clipped at ±4 so that held-out NLLs stay finite
    X = np.clip(rng.standard_t(df=4, size=(n, p)) / np.sqrt(2.0), -4.0, 4.0)
    eta = X @ beta
    if kind == "logistic":  # probit truth with an interaction: misspecified logit
        prob = ndtr(eta + 0.8 * X[:, 0] * X[:, 1 % p])
        return X, (rng.uniform(size=n) < prob).astype(int)
    # overdispersed (negative binomial, shape 2) counts with a quadratic term
    mu = np.exp(0.5 + 0.5 * eta + 0.1 * X[:, 0] ** 2)
    return X, rng.negative_binomial(2.0, 2.0 / (2.0 + mu))


def _nll_mean(kind, est, X, y):
    if kind == "logistic":
        return log_loss(y, est.predict_proba(X), labels=[0, 1])
    mu = est.predict(X)
    return float(np.mean(mu - y * np.log(mu) + gammaln(y + 1.0)))


def glm_rows(quick=False):
    rng = np.random.default_rng(0)
    rows = []
    feats = (4, 24) if quick else (4, 12, 24)
    sizes = (100, 1000) if quick else (100, 300, 1000)
    for kind in ("logistic", "poisson"):
        for p in feats:
            for strength in ("weak", "medium", "strong"):
                for n in sizes:
                    beta = 1.5 / np.sqrt(p) * rng.normal(size=p)
                    X, y = _draw(kind, n, beta, rng)
                    Xh, yh = _draw(kind, 20000, beta, rng)  # never used for fitting
                    lam = {"weak": 1e-3, "medium": 1.0, "strong": 30.0}[strength]
                    if kind == "logistic":
                        est = LogisticRegression(C=1.0 / lam, tol=1e-12, max_iter=5000)
                    else:
                        est = PoissonRegressor(alpha=lam / n, tol=1e-12, max_iter=5000)
                    est.fit(X, y)
                    curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
                    train = curv.nll / curv.n_samples
                    row = _measures(curv, seed=len(rows))
                    row.update(
                        group=f"GLM ({kind})",
                        gap=_nll_mean(kind, est, Xh, yh) - train,
                        name=f"{kind} p{p} λ{lam:g} n{n}",
                    )
                    rows.append(row)
    return rows


# ---------------------------------------------------------------------- report
def _tau(rows, key):
    gap = np.array([r["gap"] for r in rows])
    val = np.array([r[key] for r in rows], dtype=float)
    ok = np.isfinite(val)  # e.g. the temperature-scaled soft rank: networks only
    gap, val = gap[ok], val[ok]
    if len(gap) < 3 or np.ptp(val) == 0:
        return np.nan
    return kendalltau(val, gap).statistic


def _tau_within_n(rows, key):
    """Kendall's τ within each sample size, averaged (weighted by the counts)."""
    taus, weights = [], []
    for n in sorted({r["n"] for r in rows}):
        sub = [r for r in rows if r["n"] == n]
        t = _tau(sub, key)
        if np.isfinite(t):
            taus.append(t)
            weights.append(len(sub))
    return float(np.average(taus, weights=weights)) if taus else np.nan


def _mae(rows, key):
    err = [abs(r[key] - r["gap"]) for r in rows if np.isfinite(r[key])]
    return float(np.mean(err)) if err else np.nan


def table(rows):
    sel = {g: [r for r in rows if r["group"] == g] for g in GROUPS}
    sel["MLP unflagged"] = [r for r in sel["MLP"] if not r["flagged"]]
    sel["GLMs unflagged"] = [
        r for r in rows if r["group"].startswith("GLM") and not r["flagged"]
    ]
    sel = {g: v for g, v in sel.items() if v}
    groups = list(sel)
    head = "| measure | " + " | ".join(
        f"τ {g} pooled (n={len(sel[g])}) | τ {g} within n" for g in groups
    )
    head += " | " + " | ".join(f"MAE {g}" for g in groups) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(groups))]
    for key, label in MEASURES:
        taus = []
        for g in groups:
            taus.append(f"{_tau(sel[g], key):+.2f}")
            taus.append(f"{_tau_within_n(sel[g], key):+.2f}")
        maes = [
            f"{_mae(sel[g], key):.4f}" if key in GAP_MEASURES else "" for g in groups
        ]
        lines.append(f"| {label} | " + " | ".join(taus + maes) + " |")
    cells = []
    for g in groups:
        cells += [f"{np.mean([r['gap'] for r in sel[g]]):.4f}", ""]
    cells += [""] * len(groups)
    lines.append("| (mean true gap) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration_table(rows):
    """The networks split at the median held-out ECE: τ and MAE in each half."""
    mlp = [r for r in rows if r["group"] == "MLP" and "ece" in r]
    if len(mlp) < 6:
        return ""
    med = np.median([r["ece"] for r in mlp])
    halves = {
        "calibrated (ECE ≤ median)": [r for r in mlp if r["ece"] <= med],
        "miscalibrated (ECE > median)": [r for r in mlp if r["ece"] > med],
    }
    head = "| measure | " + " | ".join(
        f"τ {h} (n={len(v)}) | MAE {h}" for h, v in halves.items()
    )
    lines = [head + " |", "|---|" + "---|" * (2 * len(halves))]
    for key, label in MEASURES:
        if key not in GAP_MEASURES:
            continue
        cells = []
        for v in halves.values():
            cells += [f"{_tau(v, key):+.2f}", f"{_mae(v, key):.4f}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for what, key, fmt in (("true gap", "gap", ".4f"), ("held-out ECE", "ece", ".3f")):
        cells = []
        for v in halves.values():
            cells += [f"{np.mean([r[key] for r in v]):{fmt}}", ""]
        lines.append(f"| (mean {what}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def approximation_table(rows):
    """Error of KFAC and of the diagonal against the exact model Fisher."""
    lines = [
        "| group | models | KFAC ‖K−F‖_F/‖F‖_F median (max) | diagonal median (max) "
        "| KFAC soft rank / exact, median (range) | diagonal / exact, median (range) "
        "| PACGen curvature share, mean |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in GROUPS:
        sub = [r for r in rows if r["group"] == g]
        if not sub:
            continue
        ke = np.array([r["kfac_error"] for r in sub])
        de = np.array([r["diagonal_fisher_error"] for r in sub])
        exact = np.array([r["model_fisher_soft_rank"] for r in sub])
        kr = np.array([r["kfac_soft_rank"] for r in sub]) / exact
        dr = np.array([r["diagonal_fisher_soft_rank"] for r in sub]) / exact
        share = np.mean([r["pacgen_curvature_share"] for r in sub])
        lines.append(
            f"| {g} | {len(sub)} | {np.median(ke):.3f} ({ke.max():.3f}) | "
            f"{np.median(de):.3f} ({de.max():.3f}) | {np.median(kr):.3f} "
            f"({kr.min():.3f}–{kr.max():.3f}) | {np.median(dr):.3f} "
            f"({dr.min():.3f}–{dr.max():.3f}) | {share:.2f} |"
        )
    return "\n".join(lines)


# ------------------------------------------------- networks by their evidence
#: The methods of the network report: the evidence (GGN and exact Hessian, the
#: biases maximised or integrated; KFAC beside them), TIC, the soft rank, 3-fold CV.
NET_METHODS = ("ggn_profile", "ggn_integrate", "exact_profile", "exact_integrate",
               "kfac_profile", "tic", "soft_rank", "cv3")  # fmt: skip


def network_gap_table(rows, methods=NET_METHODS):
    """Kendall τ of each method's predicted gap with the measured gap (test NLL −
    training NLL per row) over the networks of one seed, mean over seeds, and the
    mean absolute error of the prediction (nats per row)."""
    lines = ["\n### Predicted against measured generalisation gap (per seed over its "
             "networks; τ mean (per seed); MAE and means in nats per row)\n",
             "| data | method | τ(predicted gap, measured gap) | MAE | mean predicted "
             "gap | mean measured gap |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name in sorted({r["data"] for r in rows}):
        seeds = sorted(ne._per_seed([r for r in rows if r["data"] == name]).items())
        for m in methods:
            taus, err, pred_all, gap_all = [], [], [], []
            for _, sub in seeds:
                gap = np.array([r["test_nll"] - r["train_nll"] for r in sub])
                pred = np.array([ne.predicted_gap(r, m) for r in sub])
                ok = np.isfinite(pred)  # the exact evidence: nan where indefinite
                taus.append(kendalltau(pred[ok], gap[ok]).statistic)
                err.extend(np.abs(pred[ok] - gap[ok]))
                pred_all.extend(pred[ok])
                gap_all.extend(gap[ok])
            lines.append(
                f"| {name} | {m} | {np.mean(taus):+.2f} ("
                + ", ".join(f"{t:+.2f}" for t in taus)
                + f") | {np.mean(err):.3f} | {np.mean(pred_all):.3f} | "
                f"{np.mean(gap_all):.3f} |"
            )
    return "\n".join(lines)


def network_report(rows, out=print):
    """The tables of ``--networks`` (see the module docstring)."""
    out(ne.quality_table(rows, NET_METHODS))
    out(ne.time_table(rows))
    out(network_gap_table(rows))
    out(ne.interpolation_table(rows))
    out(ne.diagnostics(rows))


def run_networks(args):
    with threadpool_limits(1):
        names = args.only or ("digits", "breast_cancer")
        if args.table_only:
            rows = [r for r in ne.load(args.save) if r["data"] in names]
        else:
            rows = ne.run_grid(args.save, names, args.quick, args.seeds)
    network_report(rows)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grid")
    parser.add_argument(
        "--activation",
        choices=("relu", "tanh"),
        default="relu",
        help="hidden activation of the MLPs (tanh: a smooth loss, so converged fits "
        "are stationary points; relu: L-BFGS often stops at a kink)",
    )
    parser.add_argument(
        "--networks",
        action="store_true",
        help="instead: networks chosen by their evidence against TIC, the soft rank "
        "and 3-fold CV (issue 27): regret, τ with the test NLL and with the gap, time",
    )
    ne.add_grid_arguments(parser, "--save", "net_gap.jsonl")
    parser.add_argument("--only", nargs="*", help="--networks: these data sets")
    args = parser.parse_args(argv)
    if args.networks:
        return run_networks(args)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular Hessians, unconverged adam, ...
        rows = glm_rows(args.quick) + mlp_rows(args.quick, args.activation)
    print(table(rows))
    print("\nNetworks split by held-out calibration:\n")
    print(calibration_table(rows))
    print("\nModel-Fisher approximations:\n")
    print(approximation_table(rows))
    print(f"\n{len(rows)} models in {time.perf_counter() - t0:.0f} s")
    over = [r for r in rows if r["group"] == "MLP"]
    worst = sorted(over, key=lambda r: r["gap"] - r["gap_estimate"])[-5:]
    print("\nMLPs whose gap TIC underestimates most (name: true gap, TIC, soft rank):")
    for r in worst:
        print(
            f"  {r['name']}: {r['gap']:.3f}, {r['gap_estimate']:.3f}, "
            f"{r['soft_rank_gap_estimate']:.3f} "
            f"(Newton decrement {r['newton_decrement']:.2g} nats)"
        )
    return rows


if __name__ == "__main__":
    main()
