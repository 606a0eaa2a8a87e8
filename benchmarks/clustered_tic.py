"""Clustered vs iid TIC penalty against the true generalisation gap (issue 11).

Data: G clusters of m rows, y = 1 + x + z + u_g + e with a row-level covariate x, a
cluster-level covariate z, a cluster effect u_g ~ N(0, tau2) and e ~ N(0, 1).  The
working model is an ordinary Gaussian linear regression (iid rows), whose
pseudo-true parameters are the true coefficients and sigma*² = tau2 + 1.

True gap  E[L_test(θ̂) - L_train(θ̂)]  (summed NLL of a fresh, independent data set of
the same size, at the fitted θ̂), estimated without its mean-zero noise term:
  n·(E_new ℓ(θ̂) - E_new ℓ(θ*)) + (L_train(θ*) - L_train(θ̂)),
with E_new ℓ(θ) in closed form (x, z ~ N(0, 1) independent).  TIC's penalty
tr(H⁻¹C) estimates this gap; the iid C ignores the within-cluster correlation of the
scores, the clustered C = Σ_g s_g s_gᵀ does not.

Run: nice -n 10 python benchmarks/clustered_tic.py
"""

import sys
import time

import numpy as np
from sklearn.linear_model import LinearRegression

import ticselect as ts


def expected_nll(beta, b0, s2, tau2):
    """E_new ℓ(θ) per row for the Gaussian working model (closed form)."""
    mse = (beta[0] - 1.0) ** 2 + (beta[1] - 1.0) ** 2 + (b0 - 1.0) ** 2 + tau2 + 1.0
    return 0.5 * np.log(2 * np.pi * s2) + mse / (2 * s2)


def nll_rows(y, mu, s2):
    return 0.5 * np.log(2 * np.pi * s2) + (y - mu) ** 2 / (2 * s2)


def one_setting(G, m, tau2, reps, seed=0):
    rng = np.random.default_rng(seed)
    n = G * m
    gaps, iid, clus = [], [], []
    for _ in range(reps):
        g = np.repeat(np.arange(G), m)
        x = rng.normal(size=n)
        z = rng.normal(size=G)[g]
        u = rng.normal(scale=np.sqrt(tau2), size=G)[g]
        y = 1.0 + x + z + u + rng.normal(size=n)
        X = np.column_stack([x, z])
        fit = LinearRegression().fit(X, y)
        mu = fit.predict(X)
        s2 = np.mean((y - mu) ** 2)
        true_mu = 1.0 + x + z
        s2_star = tau2 + 1.0
        gap = n * (
            expected_nll(fit.coef_, fit.intercept_, s2, tau2)
            - expected_nll(np.ones(2), 1.0, s2_star, tau2)
        ) + (nll_rows(y, true_mu, s2_star).sum() - nll_rows(y, mu, s2).sum())
        gaps.append(gap)
        iid.append(ts.criteria(ts.curvature(fit, X, y)).tic_penalty)
        clus.append(ts.criteria(ts.curvature(fit, X, y, groups=g)).tic_penalty)
    return np.array(gaps), np.array(iid), np.array(clus)


def main(reps=400):
    print(f"{reps} data sets per row; penalties and gaps in NLL units (summed)")
    head = (
        f"{'G':>4} {'m':>3} {'tau2':>5}  {'true gap':>14}  {'iid tr(H⁻¹C)':>13}  "
        f"{'clustered':>10}  {'AIC k':>5}  {'|iid-gap|':>9}  {'|clus-gap|':>10}"
    )
    print(head)
    print("-" * len(head))
    t0 = time.perf_counter()
    for G, m, tau2 in [(40, 10, 0.0), (40, 10, 0.5), (40, 10, 1.0), (100, 5, 1.0)]:
        gaps, iid, clus = one_setting(G, m, tau2, reps)
        se = gaps.std(ddof=1) / np.sqrt(reps)
        print(
            f"{G:>4} {m:>3} {tau2:>5.1f}  {gaps.mean():>8.2f} ± {se:4.2f}  "
            f"{iid.mean():>13.2f}  {clus.mean():>10.2f}  {4:>5d}  "
            f"{abs(iid.mean() - gaps.mean()):>9.2f}  "
            f"{abs(clus.mean() - gaps.mean()):>10.2f}"
        )
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
