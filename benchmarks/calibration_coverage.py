"""How often do the calibration metrics' bootstrap intervals contain the truth?

Simulates forecasts ``s ~ Beta(2, 2)`` with outcomes ``y ~ Bernoulli(f(s))`` for
``n = 500`` rows and asks, over many simulated data sets, how often the 95 %
interval of each metric (``ci=0.95``, 1000 resamples, the library defaults)
contains the metric's *population* value — the value the estimator converges to:

- ``calibrated``: ``f(s) = s`` (perfectly calibrated forecasts; every calibration
  error is 0 in the population, the slope 1 and the intercept 0);
- ``overconfident``: ``logit f(s) = 0.6 · logit s`` (slope 0.6; the population
  ECE, smooth ECE and Brier parts are computed by quadrature below).

Population values by quadrature (Gauss–Legendre on ``[0, 1]``, 4000 nodes, with
the Beta(2, 2) density ``6 s (1 - s)``): binned ECE ``Σ_b |∫_b (f - s) g|`` with the
estimator's bins (uniform; quantile bins at the population quantiles), the squared
ℓ2 binned error of the debiased ECE, Murphy's reliability/resolution and the Brier
score, and the smooth ECE of the population (its kernel sums over the quadrature
nodes, with its own fixed-point bandwidth).

Each interval is reported twice from one bootstrap distribution: the percentile
interval (what ``ci_method="percentile"`` returns) and the basic interval
``[2θ̂ - q_hi, 2θ̂ - q_lo]`` (``ci_method="basic"``) computed from it.  Coverage is
a quality number and does not depend on machine load.

Run ``python benchmarks/calibration_coverage.py [--n-sims 2000] [--jobs 2]
[--log runs.jsonl]``; about 1 s of CPU per simulated data set (the run resumes from
``--log``).  ``--quick`` runs 40 simulations.  Output: Markdown tables on stdout
(and ``--out`` JSON).  ``--timing`` instead times each metric with ``ci=0.95`` (1000
resamples) against the same metric without, at n = 500, 5000 and 50000 (best of 3,
CPU time of this process; ratios are what to read on a loaded machine).
"""

from __future__ import annotations

import argparse
import json
import time
from multiprocessing import Pool

import numpy as np
from scipy import special, stats

from ticselect.calibration import (
    brier_decomposition,
    calibration_slope,
    debiased_ece,
    expected_calibration_error,
    smooth_ece,
)
from ticselect.calibration._smooth import smece_rows
from ticselect.calibration._utils import auto_n_bins

N = 500
SLOPES = {"calibrated": 1.0, "overconfident": 0.6}


def truth(s, slope):
    """``P(y = 1 | s)`` with ``logit = slope · logit s``."""
    return special.expit(slope * special.logit(s))


# ------------------------------------------------------------ population values
def _nodes(a, b, m=4000):
    x, w = np.polynomial.legendre.leggauss(m)
    return 0.5 * (b - a) * x + 0.5 * (a + b), 0.5 * (b - a) * w


def _bin_moments(edges, slope):
    """Per bin: mass, ∫ s g and ∫ f g (Beta(2, 2) density g)."""
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        s, w = _nodes(a, b, 400)
        g = w * stats.beta.pdf(s, 2, 2)
        out.append((g.sum(), (g * s).sum(), (g * truth(s, slope)).sum()))
    return np.array(out)


def population(slope):
    """Population value of every reported metric for ``logit f = slope·logit s``."""
    uniform15 = np.linspace(0, 1, 16)
    quantile15 = stats.beta.ppf(np.linspace(0, 1, 16), 2, 2)
    auto = np.linspace(0, 1, auto_n_bins(N) + 1)
    uniform10 = np.linspace(0, 1, 11)
    m15, q15, ma, m10 = (
        _bin_moments(e, slope) for e in (uniform15, quantile15, auto, uniform10)
    )
    ece = lambda m: float(np.sum(np.abs(m[:, 2] - m[:, 1])))  # noqa: E731
    d2 = float(np.sum((q15[:, 2] - q15[:, 1]) ** 2 / q15[:, 0]))
    s, w = _nodes(0.0, 1.0)
    g = w * stats.beta.pdf(s, 2, 2)
    f = truth(s, slope)
    smece = float(smece_rows([(s, f)], g[None])[0])
    mean_f = float(np.sum(g * f))
    rel = float(np.sum((m10[:, 2] - m10[:, 1]) ** 2 / m10[:, 0]))
    res = float(np.sum(m10[:, 0] * (m10[:, 2] / m10[:, 0] - mean_f) ** 2))
    brier = float(np.sum(g * (s**2 - 2 * s * f + f)))
    values = {
        "ECE (15 uniform bins)": ece(m15),
        "ECE (15 quantile bins)": ece(q15),
        f"ECE (n_bins='auto' = {auto_n_bins(N)})": ece(ma),
        "debiased ECE², squared=True (15 quantile)": d2,
        "debiased ECE (root)": float(np.sqrt(d2)),
        "smooth ECE": smece,
        "calibration slope": slope,
        "calibration intercept": 0.0,
        "Brier reliability (10 bins)": rel,
        "Brier resolution (10 bins)": res,
        "Brier score": brier,
    }
    # quadrature rounding (~1e-17) where the population value is exactly 0
    return {k: 0.0 if abs(v) < 1e-12 else v for k, v in values.items()}


# ------------------------------------------------------------------ simulation
def one(args):
    """Percentile and basic intervals of every metric on one simulated data set."""
    scenario, sim, seed, n_resamples = args
    rng = np.random.default_rng([seed, sim])
    s = rng.beta(2, 2, size=N)
    y = (rng.uniform(size=N) < truth(s, SLOPES[scenario])).astype(int)
    kw = {
        "ci": 0.95,
        "n_resamples": n_resamples,
        "ci_method": "percentile",  # the basic interval is derived from it below
        "random_state": [seed, sim, 1],
    }
    slope = calibration_slope(y, s, **kw)
    brier = brier_decomposition(y, s, **kw)
    out = {
        "ECE (15 uniform bins)": expected_calibration_error(y, s, **kw),
        "ECE (15 quantile bins)": expected_calibration_error(
            y, s, strategy="quantile", **kw
        ),
        f"ECE (n_bins='auto' = {auto_n_bins(N)})": expected_calibration_error(
            y, s, n_bins="auto", **kw
        ),
        "debiased ECE², squared=True (15 quantile)": debiased_ece(
            y, s, squared=True, **kw
        ),
        "debiased ECE (root)": debiased_ece(y, s, **kw),
        "smooth ECE": smooth_ece(y, s, **kw),
        "calibration slope": slope.slope,
        "calibration intercept": slope.intercept,
        "Brier reliability (10 bins)": brier.reliability,
        "Brier resolution (10 bins)": brier.resolution,
        "Brier score": brier.brier,
    }
    return {k: (v.estimate, v.low, v.high) for k, v in out.items()}


def _run(scenario, count, args):
    """Results of ``count`` simulations, resumed from and appended to ``--log``."""
    done = {}
    if args.log:
        try:
            with open(args.log) as fh:
                for line in fh:
                    rec = json.loads(line)
                    if rec["scenario"] == scenario and rec["seed"] == args.seed:
                        done[rec["sim"]] = rec["result"]
        except FileNotFoundError:
            pass
    todo = [
        (scenario, i, args.seed, args.n_resamples)
        for i in range(count)
        if i not in done
    ]
    with Pool(args.jobs) as pool:
        for (_, sim, _, _), result in zip(
            todo, pool.imap(one, todo, chunksize=2), strict=True
        ):
            done[sim] = result
            if args.log:
                with open(args.log, "a") as fh:
                    rec = {"scenario": scenario, "seed": args.seed, "sim": sim}
                    fh.write(json.dumps({**rec, "result": result}) + "\n")
    return [done[i] for i in range(count)]


def coverage(results, pop):
    """Coverage of the percentile and basic intervals, mean estimate, mean width."""
    rows = {}
    for key, value in pop.items():
        est, lo, hi = np.array([r[key] for r in results]).T
        b_lo, b_hi = 2 * est - hi, 2 * est - lo
        rows[key] = {
            "population": value,
            "mean_estimate": float(est.mean()),
            "percentile": float(np.mean((lo <= value) & (value <= hi))),
            "basic": float(np.mean((b_lo <= value) & (value <= b_hi))),
            "width": float(np.mean(hi - lo)),
        }
    return rows


def table(scenario, rows, n_sims):
    se = np.sqrt(0.95 * 0.05 / n_sims)
    lines = [
        f"**{scenario}** ({n_sims} data sets of n = {N}; Monte-Carlo SE of a "
        f"coverage near 95 %: {100 * se:.1f} points)",
        "",
        "| metric | population value | mean estimate | coverage, percentile | "
        "coverage, basic | mean width |",
        "|---|---|---|---|---|---|",
    ]
    for key, r in rows.items():
        lines.append(
            f"| {key} | {r['population']:.4g} | {r['mean_estimate']:.4g} | "
            f"{100 * r['percentile']:.1f} % | {100 * r['basic']:.1f} % | "
            f"{r['width']:.3g} |"
        )
    return "\n".join(lines)


def timing(sizes=(500, 5000, 50_000), repeats=3):
    """Markdown table: CPU seconds of each metric with and without ``ci=0.95``."""
    cases = {
        "expected_calibration_error": expected_calibration_error,
        "smooth_ece": smooth_ece,
        "debiased_ece": debiased_ece,
        "brier_decomposition": brier_decomposition,
        "calibration_slope": calibration_slope,
    }
    lines = [
        "| metric | n | without ci (s) | with ci=0.95 (s) | ratio |",
        "|---|---|---|---|---|",
    ]
    for n in sizes:
        rng = np.random.default_rng(n)
        s = rng.beta(2, 2, size=n)
        y = (rng.uniform(size=n) < s).astype(int)
        for name, metric in cases.items():
            times = []
            for kw in ({}, {"ci": 0.95, "random_state": 0}):
                best = np.inf
                for _ in range(repeats):
                    t0 = time.process_time()
                    metric(y, s, **kw)
                    best = min(best, time.process_time() - t0)
                times.append(best)
            lines.append(
                f"| {name} | {n} | {times[0]:.4f} | {times[1]:.3f} | "
                f"{times[1] / max(times[0], 1e-6):.0f} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=2000)
    parser.add_argument("--n-sims-overconfident", type=int, default=None)
    parser.add_argument(
        "--scenario", choices=("both", *SLOPES), default="both", help="which to run"
    )
    parser.add_argument("--n-resamples", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="40 simulations")
    parser.add_argument(
        "--timing", action="store_true", help="time ci=0.95 against no ci instead"
    )
    parser.add_argument("--out", default=None, help="write the results as JSON")
    parser.add_argument(
        "--log", default=None, help="JSON lines of finished simulations (resumable)"
    )
    args = parser.parse_args(argv)
    if args.timing:
        print(timing())
        return None
    n_sims = 40 if args.quick else args.n_sims
    n_over = args.n_sims_overconfident or n_sims
    t0 = time.perf_counter()
    report = {}
    for scenario, count in (("calibrated", n_sims), ("overconfident", n_over)):
        if args.scenario not in ("both", scenario):
            continue
        pop = population(SLOPES[scenario])
        results = _run(scenario, count, args)
        rows = coverage(results, pop)
        report[scenario] = {"n_sims": count, "rows": rows}
        print(table(scenario, rows, count), "\n", flush=True)
    print(f"{time.perf_counter() - t0:.0f} s")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)
    return report


if __name__ == "__main__":
    main()
