"""How often the best-of-many check fires: candidates equal in truth vs a real optimum
(run through ``python benchmarks/selection.py --best-of-many``).

The check (:func:`ticselect.selection._uncertainty.best_of_many`) reads the ALO
pointwise matrix of the candidates.  Cases, ``--splits`` replicates each:

- **equal in truth**: 15 logistic regressions, each on the intercept and one
  different pure-noise feature (n = 200, ``y`` independent of every feature), so
  every candidate has the same expected test loss: the check should fire (its
  detection rate);
- **one real feature** of log-odds effect 0.3 or 0.5 per sd among the 15 (a real but
  modest optimum): firing there is a false alarm;
- **penalty paths with a real optimum**: the 12-value paths of the ALO study's real
  data sets (``_alo_study``, small training sets) and a synthetic logistic path
  (n = 200, 20 features, 6 of effect 0.5, 15 values of ``C``): firing is a false
  alarm.

Beside it, R ``loo``'s heuristic (``loo_order_stat_check`` of loo ≥ 2.7, written
out here from its definition: the median-ranked candidate as baseline, the root mean
square of the improvements at or above their median as the half-normal scale ``σ``,
and a warning when the best improvement is at most ``σ·Φ⁻¹(1 - 1/(2(M - 1)))``;
diagnosed for more than 11 candidates).
"""

from __future__ import annotations

import warnings

import numpy as np
from _alo_study import datasets, split
from scipy import stats
from sklearn.linear_model import LogisticRegression

import ticselect as ts
from ticselect.selection._uncertainty import best_of_many


def loo_heuristic(totals):
    """R loo's order-statistic warning on criterion totals (lower is better)."""
    t = np.asarray(totals, dtype=float)
    M = t.size
    if M <= 11:
        return None
    base = np.argsort(t, kind="stable")[M // 2 - 1]
    m = t[base] - t
    upper = m[m >= np.median(m)]
    sd = np.sqrt(np.mean(upper**2))
    return bool(m.max() <= sd * stats.norm.ppf(1 - 1 / (2 * (M - 1))))


def _alo_losses(models, designs, y):
    cols = []
    for m, X in zip(models, designs, strict=True):
        curv = ts.curvature(m.fit(X, y), X, y)
        cols.append(2.0 * ts.approximate_loo(curv).pointwise)
    return np.column_stack(cols)


def feature_grid(effect, seed, n=200, K=15):
    """One-feature logistic candidates; feature 0 has log-odds ``effect`` per sd."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, K))
    prob = 1.0 / (1.0 + np.exp(-(-0.4 + effect * X[:, 0])))
    y = (rng.uniform(size=n) < prob).astype(int)
    models = [LogisticRegression(C=np.inf, tol=1e-10) for _ in range(K)]
    return _alo_losses(models, [X[:, [k]] for k in range(K)], y)


def synthetic_path(seed, n=200, p=20):
    rng = np.random.default_rng(seed)
    beta = np.r_[rng.choice([-1.0, 1.0], 6) * 0.5, np.zeros(p - 6)]
    X = rng.normal(size=(n, p))
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-X @ beta))).astype(int)
    models = [
        LogisticRegression(C=C, tol=1e-10, max_iter=10_000)
        for C in np.logspace(-3, 2, 15)
    ]
    return _alo_losses(models, [X] * len(models), y)


def data_path(spec, seed):
    make, grid = spec[3], spec[4]
    Xtr, _, ytr, _, _ = split(spec, seed)
    return _alo_losses([make(v) for v in grid], [Xtr] * len(grid), ytr)


def run_best_of_many(n_splits=30, out=print):
    """Print the firing rates as one markdown table."""
    cases = {
        "15 candidates equal in truth (one noise feature each)": (
            lambda s: feature_grid(0.0, s), "detection"),
        "15 candidates, one real feature (effect 0.3)": (
            lambda s: feature_grid(0.3, s), "false alarm"),
        "15 candidates, one real feature (effect 0.5)": (
            lambda s: feature_grid(0.5, s), "false alarm"),
        "synthetic logistic penalty path (15 C)": (synthetic_path, "false alarm"),
    }  # fmt: skip
    for name, spec in datasets().items():
        short = name.split(":")[0].split(" (")[0]
        cases[f"{short} penalty path ({len(spec[4])} values)"] = (
            lambda s, spec=spec: data_path(spec, s), "false alarm",
        )  # fmt: skip
    out(
        f"\n### Best-of-many check: firing rate over {n_splits} replicates "
        "(ALO pointwise)"
    )
    out("| case | reading | ticselect's check | R loo's heuristic |")
    out("|---|---|---|---|")
    for name, (make, reading) in cases.items():
        ours, loo = [], []
        for s in range(n_splits):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                L = make(s)
            ours.append(best_of_many(L).chance)
            loo.append(loo_heuristic(L.sum(axis=0)))
        loo_text = (
            "not diagnosed (≤ 11 candidates)"
            if loo[0] is None
            else f"{sum(loo)}/{n_splits}"
        )
        out(f"| {name} | {reading} | {sum(ours)}/{n_splits} | {loo_text} |")
