"""MLP criteria through the public path vs autograd and vs kernel + one eigvalsh.

Run: nice -n 10 python benchmarks/mlp_curvature.py [--widths 16 32 64 96]
                                                 [--brute-max-d 5000]

Digits (n = 1797, 64 standardised inputs, 10 classes), tanh networks with one hidden
layer at scikit-learn's default ``alpha=1e-4``, fitted by lbfgs to convergence
(``max_iter=5000``, ``tol=1e-9``); ``--alpha``, ``--max-iter`` and ``--tol`` change
that (e.g. ``--alpha 1`` for fits whose ``H_λ`` is positive definite, the Cholesky
route; ``--max-iter 200 --tol 1e-4`` for scikit-learn's own stopping rule, which
stops these fits early and non-stationary).  Everything runs in one process on ONE
BLAS thread (as CI runs), best of ``--repeat`` for every timed column (autograd too):

- public: ``ts.criteria(ts.curvature(net, X, y))``, end to end;
- IC.fit: ``InformationCriteria(net).fit(X, y)`` minus the plain fit of the same
  network (deterministic lbfgs, so the same iterations): its curvature + criteria;
- kernel: ``mlp_exact`` (H, C and the per-sample gradients G);
- eigvalsh: ``scipy.linalg.eigvalsh(H)``, the issue's reference cost of a soft rank (the
  subspace route now needs no eigenvalues);
- autograd: ``autograd.hessian`` of the summed loss + ``autograd.jacobian`` of the
  per-sample losses (H and G by brute force; criteria not included), skipped above
  ``--brute-max-d`` (it takes many minutes there);
- breakdown of *public* (same run, best of ``--repeat``): ``factor`` the one
  factorisation of ``H_λ`` (:func:`ticselect.curvature._factor.penalized_solve`,
  gauge restriction included, and on the subspace route the Woodbury trace and the
  Lanczos ``‖H_SS‖₂`` of the soft rank), ``eig`` the rest of the soft rank:
  ``eigvalsh`` of the gauge-restricted ``H`` on the Cholesky route, the Woodbury
  read-out on the subspace route (no eigenvalues, see :func:`ticselect.criteria`),
  ``fisher`` the Fisher soft rank (Gram matrix + Cholesky), ``rest`` = public
  minus kernel, factor, eig and fisher (validation, gradients, copies, Python);
- guard: the time guard's estimate (:func:`ticselect.curvature._timing.dense_seconds`)
  for the same network (the runs above pass ``max_seconds=None`` to measure it): its
  bound (the Cholesky route) and, after the slash, its estimate for the route the
  fit took (``route="subspace"`` on the subspace route).
"""

import argparse
import time
import warnings

import numpy as np
from scipy import linalg
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import ticselect as ts
from ticselect.criteria import (
    _default_lambda,
    _eigvalsh,
    _fisher_soft_rank,
    _gradient_gram,
    _subspace_soft_rank,
)
from ticselect.curvature._factor import penalized_solve
from ticselect.curvature._linalg import DEFAULT_RCOND, GaugeComplement
from ticselect.curvature._mlp import (
    brute_force_hessian,
    brute_force_per_sample_grads,
    mlp_exact,
)
from ticselect.curvature._timing import dense_seconds
from ticselect.curvature.adapters.sklearn_mlp import mlp_spec


def _timed(fn, repeat=1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _fisher(curv):
    """The Fisher soft rank as :func:`ts.criteria` computes it."""
    gc = GaugeComplement(curv.gauge if curv.gauge.shape[1] else None, curv.n_params)
    lam = _default_lambda(curv)
    gram = _gradient_gram(curv, gc.n_free) if lam > 0 else None
    C = gc.restrict(curv.grad_cov) if gram is None else None
    return _fisher_soft_rank(C, lam, DEFAULT_RCOND, gram)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 96])
    ap.add_argument("--brute-max-d", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--alpha", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=5000)
    ap.add_argument("--tol", type=float, default=1e-9)
    args = ap.parse_args()
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n = X.shape[0]
    with warnings.catch_warnings():  # warm-up: first LAPACK calls, imports
        warnings.simplefilter("ignore")
        tiny = MLPClassifier((4,), solver="lbfgs", max_iter=50, random_state=0)
        ts.criteria(ts.curvature(tiny.fit(X[:200], y[:200]), X[:200], y[:200]))
    print(
        f"digits: n={n}, p={X.shape[1]}, 10 classes; tanh, lbfgs, alpha={args.alpha}, "
        f"max_iter={args.max_iter}, tol={args.tol}"
    )
    hdr = (
        f"{'h':>3} {'d':>5} {'iters':>5} {'route':>8} | {'public':>7} {'IC.fit':>7} "
        f"| {'kernel':>7} {'eigvalsh':>8} {'k+e':>7} | {'autograd':>8} | "
        f"{'pub/(k+e)':>9} {'autograd/pub':>12} | {'factor':>6} {'eig':>5} "
        f"{'fisher':>6} {'rest':>5} | {'guard est':>11} | {'ratio':>8}"
    )
    print(hdr)
    print("-" * len(hdr))
    for h in args.widths:
        net = MLPClassifier(
            hidden_layer_sizes=(h,),
            activation="tanh",
            solver="lbfgs",
            alpha=args.alpha,
            max_iter=args.max_iter,
            tol=args.tol,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_fit, _ = _timed(lambda net=net: net.fit(X, y))
            t_pub, crit = _timed(
                lambda net=net: ts.criteria(ts.curvature(net, X, y, max_seconds=None)),
                args.repeat,
            )
            ic = ts.InformationCriteria(clone(net), max_seconds=None)
            t_ic, _ = _timed(lambda ic=ic: ic.fit(X, y))
        curv = ic.curvature_
        sol = curv.penalized_solve()
        route = sol.route
        gauge = curv.gauge if curv.gauge.shape[1] else None
        t_f, _ = _timed(
            lambda c=curv, g=gauge: penalized_solve(
                c.hessian, c.grad_cov, c.penalty, c.gradient, g
            ),
            args.repeat,
        )
        gc = GaugeComplement(gauge, curv.n_params)
        if sol.subspace is None:
            H_ = gc.restrict(curv.hessian)
            t_eig, _ = _timed(lambda H_=H_: _eigvalsh(H_), args.repeat)
            del H_
        else:  # the soft rank from the factorisation (no eigenvalues, see criteria)
            lam = _default_lambda(curv)
            t_eig, _ = _timed(
                lambda c=curv, g=gc, s=sol, la=lam: _subspace_soft_rank(c, g, s, la),
                args.repeat,
            )
        t_fi, _ = _timed(lambda c=curv: _fisher(c), args.repeat)
        del curv, ic
        spec = mlp_spec(net, X, y, np.ones(n))
        d = spec.n_params
        t_k, (_, _, H, _) = _timed(lambda spec=spec: mlp_exact(spec), args.repeat)
        t_e, _ = _timed(lambda H=H: linalg.eigvalsh(H), args.repeat)
        del H
        if d <= args.brute_max_d:
            t_bf, _ = _timed(
                lambda spec=spec: (
                    brute_force_hessian(spec),
                    brute_force_per_sample_grads(spec),
                ),
                args.repeat,
            )
        else:
            t_bf = float("nan")
        base = t_k + t_e
        print(
            f"{h:>3} {d:>5} {net.n_iter_:>5} {route:>8} | {t_pub:>7.2f} "
            f"{t_ic - t_fit:>7.2f} | {t_k:>7.2f} {t_e:>8.2f} {base:>7.2f} | "
            f"{t_bf:>8.2f} | {t_pub / base:>9.2f} {t_bf / t_pub:>11.1f}x | "
            f"{t_f:>6.2f} {t_eig:>5.2f} {t_fi:>6.2f} "
            f"{t_pub - t_k - t_f - t_eig - t_fi:>5.2f} | "
            f"{dense_seconds(d, n):>5.1f}/{dense_seconds(d, n, route=route):<5.1f} | "
            f"{crit.penalty_ratio:>8.2g}",
            flush=True,
        )


if __name__ == "__main__":
    with threadpool_limits(limits=1, user_api="blas"):
        main()
