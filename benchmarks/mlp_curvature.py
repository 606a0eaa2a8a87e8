"""Exact MLP curvature on digits: closed form vs autograd.hessian vs the flop bound.

Run: python benchmarks/mlp_curvature.py [--no-brute] [--widths 16 32 64]

Each measurement runs in a fresh forked process so that its peak resident memory
(ru_maxrss) is its own; the table reports the peak minus the resident size just before
the measured call.  The flop bound is n·d² flop at the matmul rate measured
here (one 2000×2000 float64 product, both cores).  Per-sample gradients are timed
in-process (best of 5).
"""

import argparse
import multiprocessing as mp
import resource
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from ticselect.curvature._mlp import brute_force_hessian, mlp_exact
from ticselect.curvature.adapters.sklearn_mlp import mlp_spec


def _rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(kind, spec, q):
    base = _rss_mib()
    t0 = time.perf_counter()
    if kind == "exact":
        mlp_exact(spec)  # G, H and C
    else:
        brute_force_hessian(spec)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put((dt, peak - base))


def measure(kind, spec):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(kind, spec, q))
    p.start()
    out = q.get()
    p.join()
    return out


def matmul_rate():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2000, 2000))
    A @ A
    t0 = time.perf_counter()
    for _ in range(3):
        A @ A
    dt = (time.perf_counter() - t0) / 3
    return 2 * 2000**3 / dt  # flop/s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--no-brute", action="store_true")
    args = ap.parse_args()
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n = X.shape[0]
    rate = matmul_rate()
    print(f"digits: n={n}, p={X.shape[1]}, 10 classes; matmul {rate / 1e9:.1f} GFLOP/s")
    hdr = (
        f"{'hidden':>6} {'d':>5} | {'exact H+G+C s':>13} {'MiB':>6} | "
        f"{'grads s':>8} | {'autograd.hessian s':>18} {'MiB':>6} | "
        f"{'n·d² bound s':>12} | {'speed-up':>8}"
    )
    print(hdr)
    print("-" * len(hdr))
    for h in args.widths:
        net = MLPClassifier(
            hidden_layer_sizes=(h,),
            activation="tanh",
            solver="lbfgs",
            alpha=1.0,
            max_iter=300,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            net.fit(X, y)
        spec = mlp_spec(net, X, y, np.ones(n))
        d = spec.n_params
        bound = n * d * d / rate  # n·d² flop (the bound quoted in the issue)
        t_ex, m_ex = min((measure("exact", spec) for _ in range(2)), key=lambda r: r[0])
        t_g = np.inf
        for _ in range(5):
            t0 = time.perf_counter()
            mlp_exact(spec, hessian=False)
            t_g = min(t_g, time.perf_counter() - t0)
        if args.no_brute:
            t_bf, m_bf = float("nan"), float("nan")
        else:
            t_bf, m_bf = measure("brute", spec)
        print(
            f"{h:>6} {d:>5} | {t_ex:>13.3f} {m_ex:>6.0f} | {t_g:>8.4f} | "
            f"{t_bf:>18.2f} {m_bf:>6.0f} | {bound:>12.3f} | {t_bf / t_ex:>7.1f}x"
        )


if __name__ == "__main__":
    main()
