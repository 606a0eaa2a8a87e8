"""Per-sample gradients and Hessians *in the parameters* against complex step.

``tests/test_families.py`` checks the derivatives in the linear predictor η; this file
checks what the user receives, ``curvature.per_sample_grads`` and ``curvature.hessian``
in ``θ = (coef, intercept, dispersion)``, for **every** family × link of issue 2
(with sample weights and an offset), for the multinomial softmax, and for the
``TweedieRegressor`` powers 0/1/2/3.

Oracle: the textbook densities of ``tests/test_families.py`` (``oracle_nll``, itself
checked there against :mod:`scipy.stats`), evaluated at ``θ + i h eⱼ``:

- per-sample gradients by complex step, ``h = 1e-30``: exact to a few ulps, compared
  at ``rtol = 1e-10``;
- the summed weighted Hessian by a fourth-order central difference (step ``h = 1e-4``)
  of the complex-step gradient: truncation ``h⁴ f⁽⁵⁾/30 ≈ 3e-18 f⁽⁵⁾`` and rounding
  ``≈ 1.5 eps Σ|wᵢ gᵢ| / h ≈ 3e-12 Σ|wᵢ gᵢ|``; compared at ``rtol = 1e-7`` with an
  absolute floor of ``1e-7 · max|H|`` (10x stricter than the acceptance ``1e-6``).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import TweedieRegressor

import ticselect as ts
from ticselect.curvature._families import get_family
from ticselect.curvature._glm import GLMSpec, glm_curvature

from .test_families import (
    ETA_RANGE,
    INVERSE_LINKS,
    PHI,
    UNIVARIATE_CASES,
    UNIVARIATE_IDS,
    _oracle_multinomial_nll,
    oracle_nll,
    scipy_dist,
)

H_CS = 1e-30
H_FD = 1e-4
G_RTOL = 1e-10
H_RTOL = 1e-7


def _complex_step_grads(nll_at, theta):
    """Per-sample gradients (n, d) of ``nll_at(theta) -> (n,)`` by complex step."""
    theta = np.asarray(theta, dtype=complex)
    cols = []
    for j in range(theta.size):
        t = theta.copy()
        t[j] += 1j * H_CS
        cols.append(np.imag(nll_at(t)) / H_CS)
    return np.column_stack(cols)


def _fd_hessian(nll_at, theta, w):
    """Fourth-order central difference of the summed complex-step gradient."""
    theta = np.asarray(theta, dtype=float)
    d = theta.size
    H = np.empty((d, d))

    def grad(t):
        return w @ _complex_step_grads(nll_at, t)

    for j in range(d):
        e = np.zeros(d)
        e[j] = H_FD
        H[:, j] = (
            -grad(theta + 2 * e)
            + 8 * grad(theta + e)
            - 8 * grad(theta - e)
            + grad(theta - 2 * e)
        ) / (12 * H_FD)
    return H


def _check(curv, nll_at, w):
    theta = curv.params
    G = _complex_step_grads(nll_at, theta)
    assert curv.per_sample_grads.shape == G.shape
    assert_allclose(
        curv.per_sample_grads, G, rtol=G_RTOL, atol=G_RTOL * np.abs(G).max()
    )
    H = _fd_hessian(nll_at, theta, w)
    assert_allclose(curv.hessian, H, rtol=H_RTOL, atol=H_RTOL * np.abs(H).max())
    # C is the weighted Gram matrix of the (oracle) per-sample gradients.
    C = (G * w[:, None]).T @ G
    assert_allclose(curv.grad_cov, C, rtol=1e-9, atol=1e-10 * np.abs(C).max())
    assert_allclose(curv.nll, float(w @ nll_at(theta).real), rtol=1e-11)


@pytest.mark.parametrize("case", UNIVARIATE_CASES, ids=UNIVARIATE_IDS)
def test_param_derivatives_every_family_link(case):
    family, link, kw = case
    rng = np.random.default_rng(11)
    n, p = 40, 2
    if link == "identity":
        lo, hi = (-3.0, 3.0) if family == "gaussian" else (0.5, 4.0)
    else:
        lo, hi = ETA_RANGE[link]
    mid, half = 0.5 * (lo + hi), 0.25 * (hi - lo)
    X = rng.uniform(-1.0, 1.0, size=(n, p))
    coef = np.array([[0.5 * half, -0.3 * half]])
    offset = 0.1 * half * rng.uniform(-1.0, 1.0, size=n)
    eta = X @ coef[0] + mid + offset  # |eta - mid| <= 0.9 half: inside [lo, hi]
    phi = PHI.get(family, 1.0)
    y = scipy_dist(family, INVERSE_LINKS[link](eta), phi, **kw).rvs(random_state=rng)
    y = y.astype(float)
    w = rng.uniform(0.2, 3.0, size=n)
    fam = get_family(family, link, **kw)
    spec = GLMSpec(
        family=fam,
        X=X,
        y=y,
        coef=coef,
        intercept=np.array([mid]),
        sample_weight=w,
        offset=offset,
        feature_names=["a", "b"],
    )
    curv = glm_curvature(spec)  # ML dispersion, a parameter where the family has one
    assert curv.dispersion_is_param == (family in PHI)
    assert curv.n_params == p + 1 + int(family in PHI)

    def nll_at(theta):
        e = X @ theta[:p] + theta[p] + offset
        ph = theta[p + 1] if family in PHI else 1.0
        return oracle_nll(family, link, y, e, ph, **kw)

    _check(curv, nll_at, w)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_param_derivatives_multinomial(fit_intercept):
    """Over-parameterised softmax, class-major layout [coef_k, intercept_k]."""
    rng = np.random.default_rng(12)
    n, p, K = 30, 2, 3
    X = rng.normal(size=(n, p))
    coef = rng.normal(scale=0.7, size=(K, p))
    intercept = rng.normal(scale=0.5, size=K) if fit_intercept else None
    eta = X @ coef.T + (0.0 if intercept is None else intercept)
    prob = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(K, p=pr) for pr in prob])
    w = rng.uniform(0.2, 3.0, size=n)
    spec = GLMSpec(
        family=get_family("multinomial"),
        X=X,
        y=y.astype(float),
        coef=coef,
        intercept=intercept,
        sample_weight=w,
        feature_names=["a", "b"],
        class_names=["0", "1", "2"],
        softmax_gauge=True,
    )
    curv = glm_curvature(spec)
    pt = p + int(fit_intercept)

    def nll_at(theta):
        B = theta.reshape(K, pt)
        e = X @ B[:, :p].T
        if fit_intercept:
            e = e + B[:, p]
        return _oracle_multinomial_nll(y, e)

    _check(curv, nll_at, w)


# (power, link, response kind): every power of issue 2 with its default link, plus
# the non-default links the estimator accepts.
TWEEDIE = [
    (0, "identity", "gaussian"),
    (0, "log", "positive"),
    (1, "log", "count"),
    (1, "identity", "count"),
    (2, "log", "positive"),
    (2, "identity", "positive"),
    (3, "log", "positive"),
]
TWEEDIE_FAMILY = {0: "gaussian", 1: "poisson", 2: "gamma", 3: "inverse_gaussian"}


@pytest.mark.parametrize(("power", "link", "kind"), TWEEDIE)
def test_param_derivatives_tweedie(power, link, kind):
    rng = np.random.default_rng(13)
    n = 80
    X = rng.uniform(0.0, 1.0, size=(n, 2))
    mu = 2.0 + X @ [1.0, -0.5]  # in [1.5, 3]: positive for every family
    if kind == "gaussian":
        y = mu + rng.normal(scale=0.5, size=n)
    elif kind == "count":
        y = rng.poisson(mu).astype(float)
    else:
        y = rng.gamma(shape=4.0, scale=mu / 4.0)
    w = rng.integers(1, 4, size=n).astype(float)
    est = TweedieRegressor(
        power=power, link=link, alpha=0.01, tol=1e-12, max_iter=10_000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y, sample_weight=w)
    curv = ts.curvature(est, X, y, w)
    family = TWEEDIE_FAMILY[power]
    assert (curv.family, curv.link) == (family, link)
    assert curv.stationarity <= 1e-4

    def nll_at(theta):
        e = X @ theta[:2] + theta[2]
        ph = theta[3] if family in PHI else 1.0
        return oracle_nll(family, link, y, e, ph)

    _check(curv, nll_at, w)
