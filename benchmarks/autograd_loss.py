"""Per-sample gradients of an autograd likelihood: the route of ``curvature_from_loss``.

For a logistic and a heteroscedastic-Gaussian likelihood at several (n, d), prints in
one run the time of the per-sample gradient matrix ``G`` (n × d) by

- ``rev-jvp``: ``d`` Jacobian-vector products through the transposed VJP
  (``autograd.differential_operators.make_jvp_reversemode``) — what
  :func:`ticselect.curvature_from_loss` does;
- ``fwd-jvp``: ``d`` forward-mode JVPs (``autograd.make_jvp``);
- ``jacobian``: ``autograd.jacobian`` (one reverse pass per row; skipped above
  n = 20000, where it takes minutes);

plus the whole ``ts.curvature_from_loss`` (G, H, C, stationarity), the GLM path
``ts.curvature`` on the same logistic model, and one evaluation of the function.
Best of ``--repeat`` runs (default 3).  Usage:
``python benchmarks/autograd_loss.py [--quick]``.
"""

import argparse

import autograd.numpy as anp
import numpy as np
from _timing import best_of
from autograd import jacobian, make_jvp
from autograd.differential_operators import make_jvp_reversemode
from sklearn.linear_model import LogisticRegression

import ticselect as ts


def logistic(n, d, rng):
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.standard_normal(d)))).astype(float)

    def nll(theta):
        eta = anp.dot(X, theta)
        return anp.logaddexp(0.0, eta) - y * eta

    est = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10).fit(X, y)
    return nll, est.coef_.ravel(), (est, X, y)


def hetero_gaussian(n, d, rng):
    k = d // 2
    X = rng.standard_normal((n, k)) / np.sqrt(k)
    y = X @ rng.standard_normal(k) + np.exp(0.5 * X[:, 0]) * rng.standard_normal(n)

    def nll(theta):
        mean, log_var = anp.dot(X, theta[:k]), anp.dot(X, theta[k:])
        resid2 = (y - mean) ** 2
        return 0.5 * (anp.log(2 * anp.pi) + log_var + resid2 / anp.exp(log_var))

    return nll, 0.01 * rng.standard_normal(2 * k), None


def grads_rev(f, theta):
    jvp = make_jvp_reversemode(f)(theta)
    return np.column_stack([jvp(e) for e in np.eye(theta.size)])


def grads_fwd(f, theta):
    jvp = make_jvp(f)(theta)
    return np.column_stack([jvp(e)[1] for e in np.eye(theta.size)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = [(5000, 20), (100000, 20), (100000, 100)]
    if args.quick:
        cases = [(2000, 10)]
    rng = np.random.default_rng(0)
    head = (
        f"{'model':<10} {'n':>7} {'d':>4} {'eval[ms]':>9} {'rev-jvp':>9} "
        f"{'fwd-jvp':>9} {'jacobian':>9} {'fwd/rev':>8} {'jac/rev':>8} "
        f"{'curv_from_loss':>14} {'glm path':>9}"
    )
    print(head + "\n" + "-" * len(head))
    for name, make in (("logistic", logistic), ("hetero", hetero_gaussian)):
        for n, d in cases:
            run_case(name, make(n, d, rng), n, d, args.repeat)


def run_case(name, case, n, d, repeat):
    f, theta, glm = case
    t_eval, _ = best_of(lambda: f(theta), repeat)
    t_rev, G1 = best_of(lambda: grads_rev(f, theta), repeat)
    t_fwd, G2 = best_of(lambda: grads_fwd(f, theta), repeat)
    assert np.allclose(G1, G2, rtol=1e-10, atol=1e-12)
    t_jac = np.nan
    if n <= 20000:
        t_jac, G3 = best_of(lambda: jacobian(f)(theta), 1)
        assert np.allclose(G1, G3, rtol=1e-10, atol=1e-12)
    t_all, _ = best_of(
        lambda: ts.curvature_from_loss(f, theta, stationarity_tol=np.inf), repeat
    )
    t_glm = np.nan
    if glm is not None:
        t_glm, _ = best_of(lambda: ts.curvature(*glm), repeat)
    print(
        f"{name:<10} {n:>7} {d:>4} {1e3 * t_eval:>9.2f} {t_rev:>9.4f} "
        f"{t_fwd:>9.4f} {t_jac:>9.3f} {t_fwd / t_rev:>8.2f} "
        f"{t_jac / t_rev:>8.1f} {t_all:>14.4f} {t_glm:>9.4f}"
    )


if __name__ == "__main__":
    main()
