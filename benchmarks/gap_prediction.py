"""How well does each flatness measure predict the real generalisation gap?

Trains a grid of models, measures each model's true gap — held-out mean NLL minus
training mean NLL, on held-out data never used for fitting — and reports, per model
group and for every measure of :func:`ticselect.flatness`, Kendall's τ with the true
gap, plus the mean absolute error of the measures that estimate the gap in NLL units
per sample (TIC ``tr(H_λ⁻¹C)/n``, soft rank ``rank_λ(H)/n``, its trace/spectral-norm
estimate, and AIC ``k/n``).

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
for training; Shoham et al. state the soft-rank estimate for calibrated models), and
the same τ/MAE restricted to the **unflagged** models (neither ``"overconfident"`` nor
measurably non-stationary: relative gradient > 1e-2 and Newton decrement > 1e-3).

Run ``python benchmarks/gap_prediction.py`` (about 5-10 min on 2 shared cores);
``--quick`` runs a small subset.  Output: a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import gammaln, ndtr, softmax
from scipy.stats import kendalltau
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from ticselect.flatness import flatness

MEASURES = [
    ("gap_estimate", "TIC tr(H_λ⁻¹C)/n"),
    ("soft_rank_gap_estimate", "soft rank rank_λ(H)/n"),
    ("soft_rank_estimate_gap", "soft-rank estimate t/(s+λ)/n"),
    ("soft_rank_calibrated_gap", "soft rank after temperature scaling /n"),
    ("fisher_soft_rank_gap", "Fisher soft rank rank_λ(C)/n"),
    ("aic_gap", "AIC k/n"),
    ("trace", "tr(H)"),
    ("frobenius", "‖H‖_F"),
    ("spectral_norm", "‖H‖₂"),
    ("logdet", "log det H_λ"),
    ("relative_flatness", "relative flatness κ_Tr"),
    ("pacgen", "PACGen Ψ"),
    ("expected_sharpness", "expected sharpness (σ=0.01)"),
    ("magnitude_sharpness", "magnitude-aware sharpness"),
    ("pacbayes_flatness", "PAC-Bayes 1/σ²"),
    ("pacbayes_magnitude_flatness", "PAC-Bayes mag. 1/σ'²"),
    ("fisher_rao_norm", "Fisher–Rao norm"),
]
GAP_MEASURES = [
    "gap_estimate",
    "soft_rank_gap_estimate",
    "soft_rank_calibrated_gap",
    "soft_rank_estimate_gap",
    "aic_gap",
]


def _measures(curv, seed):
    fl = flatness(curv, n_rho=2, n_sharpness=16, random_state=seed)
    d = fl.to_dict()
    n = curv.n_samples
    d["soft_rank_estimate_gap"] = fl.soft_rank_estimate / n
    d["fisher_soft_rank_gap"] = fl.fisher_soft_rank / n
    d["aic_gap"] = curv.n_free_params / n
    d["newton_decrement"] = curv.newton_decrement
    d["flagged"] = "overconfident" in curv.flags or (
        curv.stationarity > 1e-2 and curv.newton_decrement > 1e-3
    )
    d["soft_rank_calibrated_gap"] = np.nan
    return d


def _temperature(net, X_cal, y_cal):
    """Temperature ``T`` minimising the held-out log-loss of ``softmax(z / T)``."""
    logp = np.log(np.clip(net.predict_proba(X_cal), 1e-300, None))  # z - lse(z)

    def loss(log_t):
        p = softmax(logp / np.exp(log_t), axis=1)
        return log_loss(y_cal, p, labels=net.classes_)

    return float(np.exp(minimize_scalar(loss, bounds=(-4, 4), method="bounded").x))


def _calibrated_soft_rank_gap(net, X_tr, y_tr, X_cal, y_cal):
    """Soft rank / n of the temperature-scaled network (last layer divided by T)."""
    T = _temperature(net, X_cal, y_cal)
    scaled = copy.deepcopy(net)
    scaled.coefs_[-1] = net.coefs_[-1] / T
    scaled.intercepts_[-1] = net.intercepts_[-1] / T
    curv = ts.curvature(scaled, X_tr, y_tr, stationarity_tol=np.inf)
    return ts.criteria(curv).soft_rank_gap_estimate


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
                    test = log_loss(
                        y_test, net.predict_proba(X_test), labels=net.classes_
                    )
                    row = _measures(curv, seed=len(rows))
                    # calibration split: pool rows 800+, never used for training
                    row["soft_rank_calibrated_gap"] = _calibrated_soft_rank_gap(
                        net, Xtr, ytr, X_pool[800:], y_pool[800:]
                    )
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
def table(rows):
    groups = [
        "MLP",
        "MLP unflagged",
        "GLM (logistic)",
        "GLM (poisson)",
        "all GLMs",
        "GLMs unflagged",
    ]
    sel = {
        "MLP": [r for r in rows if r["group"] == "MLP"],
        "MLP unflagged": [r for r in rows if r["group"] == "MLP" and not r["flagged"]],
        "GLMs unflagged": [
            r for r in rows if r["group"].startswith("GLM") and not r["flagged"]
        ],
        "GLM (logistic)": [r for r in rows if r["group"] == "GLM (logistic)"],
        "GLM (poisson)": [r for r in rows if r["group"] == "GLM (poisson)"],
        "all GLMs": [r for r in rows if r["group"].startswith("GLM")],
    }
    head = "| measure | " + " | ".join(f"τ {g} (n={len(sel[g])})" for g in groups)
    head += " | " + " | ".join(f"MAE {g}" for g in groups) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(groups))]
    for key, label in MEASURES:
        taus, maes = [], []
        for g in groups:
            gap = np.array([r["gap"] for r in sel[g]])
            val = np.array([r[key] for r in sel[g]], dtype=float)
            ok = np.isfinite(val)
            tau = kendalltau(val[ok], gap[ok]).statistic if ok.sum() > 2 else np.nan
            taus.append(f"{tau:+.2f}" if np.isfinite(tau) else "")
            maes.append(
                f"{np.mean(np.abs(val[ok] - gap[ok])):.4f}"
                if key in GAP_MEASURES and ok.any()
                else ""
            )
        lines.append(
            f"| {label} | " + " | ".join(taus) + " | " + " | ".join(maes) + " |"
        )
    gaps = " | ".join(f"{np.mean([r['gap'] for r in sel[g]]):.4f}" for g in groups)
    lines.append(f"| (mean true gap) | {gaps} |" + " |" * len(groups))
    return "\n".join(lines)


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
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular Hessians, unconverged adam, ...
        rows = glm_rows(args.quick) + mlp_rows(args.quick, args.activation)
    print(table(rows))
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
