"""Independent oracle tests for ``ticselect.curvature._families``.

Every expected value here is computed without looking at the implementation's
formulas:

- log-densities come from :mod:`scipy.stats` (``norm``, ``binom``, ``poisson``,
  ``gamma``, ``invgauss``, ``nbinom``, ``multinomial``);
- derivatives come from a second, complex-safe transcription of the same densities
  (written below from the textbook pdf/pmf and itself checked against scipy),
  differentiated numerically: complex step for first derivatives, fourth-order central
  differences of the complex-step derivative for second and cross derivatives;
- expected (Fisher) information comes from summing the pmf / integrating the pdf;
- values at extreme ``eta`` come from exact closed forms evaluated stably (``mpmath``
  is not a dependency of this project, so Mills-ratio asymptotic series stand in for
  high-precision arithmetic where the probit needs it).

Numerical step sizes (float64, machine epsilon ``eps ≈ 2.2e-16``):

- complex step ``h = 1e-30``: no subtractive cancellation, so ``Im f(x + ih) / h``
  equals ``f'(x)`` to a few ulps;
- fourth-order central difference of a complex-step derivative, ``h = 1e-3``:
  truncation ``h⁴ f⁽⁵⁾ / 30 ≈ 3e-14 · f⁽⁵⁾`` and rounding ``≈ 1.5 eps |f'| / h ≈
  3e-13 |f'|``; both are far below the ``rtol = 1e-7`` used for second derivatives
  (the acceptance criterion is ``rtol ≤ 1e-6``);
- fourth-order central differences of the real NLL itself (second derivatives from
  function values), ``h = 2e-3 ≈ eps^(1/6)`` balances truncation ``h⁴ ≈ 2e-11`` against
  rounding ``≈ 5 eps |ℓ| / h² ≈ 3e-10 |ℓ|``; we compare at ``rtol = 1e-6``.
"""

import warnings

import numpy as np
import pytest
import scipy.integrate as si
import scipy.optimize as so
import scipy.special as sc
import scipy.stats as st
from numpy.testing import assert_allclose
from sklearn.linear_model import PoissonRegressor

import ticselect as ts
from ticselect.curvature._families import FAMILIES, get_family

# ---------------------------------------------------------------------------------
# The specification: families and links (from the interface description)
# ---------------------------------------------------------------------------------

FAMILY_LINKS = {
    "gaussian": ("identity", "log"),
    "binomial": ("logit", "probit", "cloglog"),
    "poisson": ("log", "identity", "sqrt"),
    "gamma": ("log", "inverse", "identity"),
    "inverse_gaussian": ("inverse_squared", "log", "identity"),
    "negative_binomial": ("log",),
    "multinomial": ("softmax",),
}
DISPERSION_FAMILIES = ("gaussian", "gamma", "inverse_gaussian")
CANONICAL = {
    "gaussian": "identity",
    "binomial": "logit",
    "poisson": "log",
    "gamma": "inverse",  # eta = 1/mu is minus the canonical parameter
    "inverse_gaussian": "inverse_squared",  # eta = 1/mu² is -2 × canonical parameter
}
NB_ALPHA = 0.7
PHI = {"gaussian": 0.6, "gamma": 0.35, "inverse_gaussian": 0.45}

# (family, link, kwargs) for every univariate family × link; the binomial twice
# (Bernoulli and 4 trials) because the trial count enters the constants.
UNIVARIATE_CASES = []
for _fam, _links in FAMILY_LINKS.items():
    if _fam == "multinomial":
        continue
    for _link in _links:
        if _fam == "binomial":
            UNIVARIATE_CASES.append((_fam, _link, {"n_trials": 1}))
            UNIVARIATE_CASES.append((_fam, _link, {"n_trials": 4}))
        elif _fam == "negative_binomial":
            UNIVARIATE_CASES.append((_fam, _link, {"alpha": NB_ALPHA}))
        else:
            UNIVARIATE_CASES.append((_fam, _link, {}))


def _case_id(case):
    fam, link, kw = case
    extra = "".join(f"-{k}={v}" for k, v in kw.items())
    return f"{fam}-{link}{extra}"


UNIVARIATE_IDS = [_case_id(c) for c in UNIVARIATE_CASES]
DISPERSION_CASES = [c for c in UNIVARIATE_CASES if c[0] in DISPERSION_FAMILIES]
DISPERSION_IDS = [_case_id(c) for c in DISPERSION_CASES]

# ---------------------------------------------------------------------------------
# Oracles written from the densities (complex-safe in eta and phi)
# ---------------------------------------------------------------------------------

INVERSE_LINKS = {
    "identity": lambda e: e,
    "log": np.exp,
    "sqrt": lambda e: e * e,
    "inverse": lambda e: 1.0 / e,
    "inverse_squared": lambda e: 1.0 / np.sqrt(e),
    "logit": lambda e: 1.0 / (1.0 + np.exp(-e)),
    "probit": sc.ndtr,
    "cloglog": lambda e: -np.expm1(-np.exp(e)),
}


def _binomial_log_probs(link, eta):
    """(log mu, log(1 - mu)) written so that complex eta is fine."""
    if link == "logit":
        return -np.log1p(np.exp(-eta)), -np.log1p(np.exp(eta))
    if link == "probit":
        return sc.log_ndtr(eta), sc.log_ndtr(-eta)
    if link == "cloglog":
        t = np.exp(eta)
        return np.log(-np.expm1(-t)), -t
    raise AssertionError(link)


def oracle_nll(family, link, y, eta, phi=1.0, n_trials=1, alpha=NB_ALPHA):
    """-log p(y | mu = g^{-1}(eta), phi) transcribed from the textbook densities."""
    y = np.asarray(y, dtype=float)
    mu = INVERSE_LINKS[link](eta)
    if family == "gaussian":
        return 0.5 * np.log(2 * np.pi * phi) + (y - mu) ** 2 / (2 * phi)
    if family == "binomial":
        n = np.asarray(n_trials, dtype=float)
        log_mu, log_1m = _binomial_log_probs(link, eta)
        log_choose = sc.gammaln(n + 1) - sc.gammaln(y + 1) - sc.gammaln(n - y + 1)
        return -(log_choose + y * log_mu + (n - y) * log_1m)
    if family == "poisson":
        return mu - y * np.log(mu) + sc.gammaln(y + 1)
    if family == "gamma":
        k = 1.0 / phi  # shape; scale = mu * phi so that the mean is mu
        scale = mu * phi
        return -(-sc.loggamma(k) - k * np.log(scale) + (k - 1) * np.log(y) - y / scale)
    if family == "inverse_gaussian":
        lam = 1.0 / phi
        return -(
            0.5 * np.log(lam / (2 * np.pi * y**3))
            - lam * (y - mu) ** 2 / (2 * mu**2 * y)
        )
    if family == "negative_binomial":
        r = 1.0 / alpha
        return -(
            sc.gammaln(y + r)
            - sc.gammaln(r)
            - sc.gammaln(y + 1)
            - r * np.log1p(alpha * mu)
            + y * (np.log(alpha * mu) - np.log1p(alpha * mu))
        )
    raise AssertionError(family)


def scipy_nll(family, y, mu, phi=1.0, n_trials=1, alpha=NB_ALPHA):
    """-logpdf / -logpmf from scipy.stats with the documented parameterisation."""
    if family == "gaussian":
        return -st.norm.logpdf(y, loc=mu, scale=np.sqrt(phi))
    if family == "binomial":
        return -st.binom.logpmf(y, n_trials, mu)
    if family == "poisson":
        return -st.poisson.logpmf(y, mu)
    if family == "gamma":
        return -st.gamma.logpdf(y, a=1.0 / phi, scale=mu * phi)
    if family == "inverse_gaussian":
        # scipy: invgauss(m, scale=s) has mean m*s and shape parameter lambda = s.
        lam = 1.0 / phi
        return -st.invgauss.logpdf(y, mu / lam, scale=lam)
    if family == "negative_binomial":
        return -st.nbinom.logpmf(y, 1.0 / alpha, 1.0 / (1.0 + alpha * mu))
    raise AssertionError(family)


def scipy_dist(family, mu, phi=1.0, n_trials=1, alpha=NB_ALPHA):
    """Frozen scipy distribution of y given the mean (for sampling and moments)."""
    if family == "gaussian":
        return st.norm(loc=mu, scale=np.sqrt(phi))
    if family == "binomial":
        return st.binom(n_trials, mu)
    if family == "poisson":
        return st.poisson(mu)
    if family == "gamma":
        return st.gamma(a=1.0 / phi, scale=mu * phi)
    if family == "inverse_gaussian":
        return st.invgauss(mu * phi, scale=1.0 / phi)
    if family == "negative_binomial":
        return st.nbinom(1.0 / alpha, 1.0 / (1.0 + alpha * mu))
    raise AssertionError(family)


def variance(family, mu, phi=1.0, n_trials=1, alpha=NB_ALPHA):
    """Var(y) from the moment formulas of each family."""
    return {
        "gaussian": lambda: phi * np.ones_like(mu),
        "binomial": lambda: n_trials * mu * (1 - mu),
        "poisson": lambda: mu,
        "gamma": lambda: phi * mu**2,
        "inverse_gaussian": lambda: phi * mu**3,
        "negative_binomial": lambda: mu + alpha * mu**2,
    }[family]()


ETA_RANGE = {
    "logit": (-3.0, 3.0),
    "probit": (-3.0, 3.0),
    "cloglog": (-3.0, 1.5),
    "log": (-1.5, 1.5),
    "sqrt": (0.5, 2.5),
    "inverse": (0.3, 2.0),
    "inverse_squared": (0.3, 2.0),
}


def make_data(family, link, kw, rng, n=12):
    """Seeded (y, eta, phi) inside the support, y drawn from the model itself."""
    if link == "identity":
        lo, hi = (-3.0, 3.0) if family == "gaussian" else (0.5, 4.0)
    else:
        lo, hi = ETA_RANGE[link]
    eta = rng.uniform(lo, hi, size=n)
    phi = PHI.get(family, 1.0)
    mu = INVERSE_LINKS[link](eta)
    y = scipy_dist(family, mu, phi, **kw).rvs(random_state=rng).astype(float)
    if family == "binomial":  # make sure both ends of the support are exercised
        y[0], y[1] = 0.0, float(kw["n_trials"])
    return y, eta, phi


def complex_step(f, x, h=1e-30):
    """f'(x) elementwise, exact to rounding (f must be analytic and elementwise)."""
    return np.imag(f(x + 1j * h)) / h


def central4(g, x, h):
    """Fourth-order central difference of g at x (elementwise)."""
    return (-g(x + 2 * h) + 8 * g(x + h) - 8 * g(x - h) + g(x - 2 * h)) / (12 * h)


def central4_second(f, x, h):
    """Fourth-order central second difference of f at x (elementwise)."""
    return (
        -f(x + 2 * h) + 16 * f(x + h) - 30 * f(x) + 16 * f(x - h) - f(x - 2 * h)
    ) / (12 * h * h)


def oracle_eta_derivatives(family, link, kw, y, eta, phi):
    """(dℓ/dη, d²ℓ/dη²) of the oracle NLL by complex step (+ 4th-order FD)."""

    def d1(e):
        return complex_step(lambda z: oracle_nll(family, link, y, z, phi, **kw), e)

    return d1(eta), central4(d1, eta, 1e-3)


def oracle_dispersion_derivatives(family, link, kw, y, eta, phi):
    """(dℓ/dφ, d²ℓ/dφ², d²ℓ/dηdφ) of the oracle NLL."""

    def dphi(p):
        return complex_step(lambda z: oracle_nll(family, link, y, eta, z, **kw), p)

    def deta(p):
        return complex_step(lambda z: oracle_nll(family, link, y, z, p, **kw), eta)

    return dphi(phi), central4(dphi, phi, 1e-3), central4(deta, phi, 1e-3)


def _scale(a):
    """Magnitude used to turn a relative tolerance into an absolute floor."""
    return max(1.0, float(np.max(np.abs(a))))


# ---------------------------------------------------------------------------------
# 0. The registry matches the specification
# ---------------------------------------------------------------------------------


def test_registry_matches_spec():
    assert set(FAMILIES) == set(FAMILY_LINKS)
    for name, links in FAMILY_LINKS.items():
        fam = get_family(name)
        assert set(fam.links) == set(links), name
        assert bool(fam.has_dispersion) == (name in DISPERSION_FAMILIES), name


# ---------------------------------------------------------------------------------
# 1. NLL against scipy.stats
# ---------------------------------------------------------------------------------

# rtol 1e-10: scipy and the family evaluate the same log-density through different
# float64 expressions (lgamma sums, log1p, ...); with terms of size ≲ 1e2 the rounding
# differences are ≲ 1e-13 absolute, so 1e-10 relative (with a 1e-12 floor for
# near-zero values) is loose for rounding yet tight for any algebraic slip.
NLL_RTOL, NLL_ATOL = 1e-10, 1e-12


@pytest.mark.parametrize("case", UNIVARIATE_CASES, ids=UNIVARIATE_IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nll_matches_scipy(case, seed):
    family, link, kw = case
    rng = np.random.default_rng(seed)
    y, eta, phi = make_data(family, link, kw, rng)
    fam = get_family(family, link, **kw)
    mu = INVERSE_LINKS[link](eta)
    expected = scipy_nll(family, y, mu, phi, **kw)
    got = fam.nll(y, eta, phi)
    assert got.shape == y.shape
    assert_allclose(got, expected, rtol=NLL_RTOL, atol=NLL_ATOL)
    # The mean map is the inverse link (rounding-level agreement, moderate eta).
    assert_allclose(fam.mean(eta), mu, rtol=1e-13, atol=1e-15)
    # The complex-safe oracle used for derivatives below is the same density.
    assert_allclose(
        oracle_nll(family, link, y, eta, phi, **kw),
        expected,
        rtol=NLL_RTOL,
        atol=NLL_ATOL,
    )


@pytest.mark.parametrize("link", FAMILY_LINKS["binomial"])
def test_binomial_nll_per_sample_trials(link):
    rng = np.random.default_rng(3)
    n_int = rng.integers(1, 9, size=15)
    n_trials = n_int.astype(float)
    eta = rng.uniform(-2.0, 2.0, size=15)
    mu = INVERSE_LINKS[link](eta)
    y = st.binom(n_int, mu).rvs(random_state=rng).astype(float)
    y[0], y[1] = 0.0, n_trials[1]
    fam = get_family("binomial", link, n_trials=n_trials)
    assert_allclose(
        fam.nll(y, eta), -st.binom.logpmf(y, n_trials, mu), rtol=NLL_RTOL, atol=1e-12
    )


NO_DISPERSION_CASES = [c for c in UNIVARIATE_CASES if c[0] not in DISPERSION_FAMILIES]


@pytest.mark.parametrize(
    "case", NO_DISPERSION_CASES, ids=[_case_id(c) for c in NO_DISPERSION_CASES]
)
def test_phi_ignored_without_dispersion(case):
    family, link, kw = case
    rng = np.random.default_rng(4)
    y, eta, _ = make_data(family, link, kw, rng)
    fam = get_family(family, link, **kw)
    # Exactly the same arithmetic, so exact equality.
    assert_allclose(fam.nll(y, eta, 1.0), fam.nll(y, eta, 3.7), rtol=0, atol=0)
    with pytest.raises(TypeError, match=f"{family} family has no dispersion"):
        fam.dispersion_derivatives(y, eta, 1.0)
    with pytest.raises(TypeError, match=f"{family} family has no dispersion"):
        fam.ml_dispersion(y, eta, np.ones_like(y))


@pytest.mark.parametrize("K", [2, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_multinomial_nll_matches_scipy(K, seed):
    rng = np.random.default_rng(seed)
    n = 10
    eta = rng.normal(0.0, 1.5, size=(n, K))
    p = np.exp(eta - sc.logsumexp(eta, axis=1, keepdims=True))
    y = rng.integers(0, K, size=n)
    onehot = np.eye(K)[y]
    expected = np.array([-st.multinomial.logpmf(onehot[i], 1, p[i]) for i in range(n)])
    fam = get_family("multinomial")
    assert_allclose(fam.nll(y, eta), expected, rtol=NLL_RTOL, atol=NLL_ATOL)
    # Class indices and one-hot rows are the same response.
    assert_allclose(fam.nll(onehot, eta), expected, rtol=NLL_RTOL, atol=NLL_ATOL)
    assert_allclose(fam.mean(eta), p, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------------
# 2. Derivatives against numerical differentiation
# ---------------------------------------------------------------------------------

# First derivatives vs complex step: the oracle is exact to rounding, so 1e-10
# relative (floor 1e-10 × the largest |d1|) only absorbs the implementation's rounding.
D1_RTOL = 1e-10
# Second/cross derivatives vs 4th-order FD of a complex-step derivative: error
# ≲ 1e-12 (see module docstring); 1e-7 is 10x stricter than the acceptance criterion.
D2_RTOL = 1e-7


@pytest.mark.parametrize("case", UNIVARIATE_CASES, ids=UNIVARIATE_IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_eta_derivatives_vs_complex_step(case, seed):
    family, link, kw = case
    rng = np.random.default_rng(seed)
    y, eta, phi = make_data(family, link, kw, rng)
    fam = get_family(family, link, **kw)
    d1, d2 = fam.eta_derivatives(y, eta, phi)
    e1, e2 = oracle_eta_derivatives(family, link, kw, y, eta, phi)
    assert d1.shape == d2.shape == y.shape
    assert_allclose(d1, e1, rtol=D1_RTOL, atol=D1_RTOL * _scale(e1))
    assert_allclose(d2, e2, rtol=D2_RTOL, atol=D2_RTOL * _scale(e2))


@pytest.mark.parametrize("case", UNIVARIATE_CASES, ids=UNIVARIATE_IDS)
def test_eta_derivatives_consistent_with_own_nll(case):
    # Ties the returned derivatives to the returned nll itself (real arithmetic, no
    # oracle density): 4th-order central differences, h = 2e-3 (module docstring).
    family, link, kw = case
    rng = np.random.default_rng(5)
    y, eta, phi = make_data(family, link, kw, rng)
    fam = get_family(family, link, **kw)

    def f(e):
        return fam.nll(y, e, phi)

    d1, d2 = fam.eta_derivatives(y, eta, phi)
    n1 = central4(f, eta, 2e-3)
    n2 = central4_second(f, eta, 2e-3)
    assert_allclose(d1, n1, rtol=1e-6, atol=1e-6 * _scale(n1))
    assert_allclose(d2, n2, rtol=1e-6, atol=1e-6 * _scale(n2))


@pytest.mark.parametrize("case", DISPERSION_CASES, ids=DISPERSION_IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_dispersion_derivatives_vs_complex_step(case, seed):
    family, link, kw = case
    rng = np.random.default_rng(seed)
    y, eta, phi = make_data(family, link, kw, rng)
    fam = get_family(family, link, **kw)
    got = fam.dispersion_derivatives(y, eta, phi)
    expected = oracle_dispersion_derivatives(family, link, kw, y, eta, phi)
    names = ("l_phi", "l_phiphi", "l_etaphi")
    rtols = (D1_RTOL, D2_RTOL, D2_RTOL)
    for name, g, e, rtol in zip(names, got, expected, rtols, strict=True):
        assert g.shape == y.shape, name
        assert_allclose(g, e, rtol=rtol, atol=rtol * _scale(e), err_msg=name)

    # Same quantities from the family's own nll / eta-derivatives (real FD, h=2e-3).
    def f(p):
        return fam.nll(y, eta, p)

    assert_allclose(got[0], central4(f, phi, 2e-3), rtol=1e-6, atol=1e-6)
    assert_allclose(got[1], central4_second(f, phi, 2e-3), rtol=1e-6, atol=1e-6)
    cross = central4(lambda p: fam.eta_derivatives(y, eta, p)[0], phi, 2e-3)
    assert_allclose(got[2], cross, rtol=1e-6, atol=1e-6)


def _oracle_multinomial_nll(y, eta):
    """logsumexp(eta) - eta[y], complex-safe (shift by the real maximum)."""
    m = np.max(eta.real, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(eta - m), axis=1))
    return lse - eta[np.arange(eta.shape[0]), y]


def _oracle_multinomial_grad(y, eta):
    n, K = eta.shape
    grad = np.empty((n, K))
    for j in range(K):
        e_j = np.zeros(K)
        e_j[j] = 1.0
        grad[:, j] = np.imag(_oracle_multinomial_nll(y, eta + 1e-30j * e_j)) / 1e-30
    return grad


@pytest.mark.parametrize("K", [2, 3, 5])
def test_multinomial_derivatives_vs_numerics(K):
    rng = np.random.default_rng(K)
    n = 8
    eta = rng.normal(0.0, 1.5, size=(n, K))
    y = rng.integers(0, K, size=n)
    fam = get_family("multinomial")
    d1, d2 = fam.eta_derivatives(y, eta)
    assert d1.shape == (n, K) and d2.shape == (n, K, K)

    g = _oracle_multinomial_grad(y, eta)
    h = 1e-3
    hess = np.empty((n, K, K))
    for k in range(K):
        e_k = np.zeros(K)
        e_k[k] = 1.0

        def grad_k(t, e_k=e_k):
            return _oracle_multinomial_grad(y, eta + t * e_k)

        hess[:, :, k] = (
            -grad_k(2 * h) + 8 * grad_k(h) - 8 * grad_k(-h) + grad_k(-2 * h)
        ) / (12 * h)
    assert_allclose(d1, g, rtol=D1_RTOL, atol=1e-12)
    # Entries are O(0.25); 1e-9 absolute is ≥ 100x the FD error (module docstring).
    assert_allclose(d2, hess, rtol=D2_RTOL, atol=1e-9)
    # Hessian is symmetric and each row sums to 0 (softmax is shift-invariant).
    assert_allclose(d2, np.swapaxes(d2, 1, 2), rtol=0, atol=1e-15)
    assert_allclose(d2.sum(axis=2), 0.0, atol=1e-15)
    # One-hot responses give the same derivatives.
    o1, o2 = fam.eta_derivatives(np.eye(K)[y], eta)
    assert_allclose(o1, d1, rtol=0, atol=1e-15)
    assert_allclose(o2, d2, rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------
# 3. Observed vs expected information
# ---------------------------------------------------------------------------------

NONCANONICAL = [
    c for c in UNIVARIATE_CASES if c[0] in CANONICAL and c[1] != CANONICAL[c[0]]
] + [c for c in UNIVARIATE_CASES if c[0] == "negative_binomial"]
CANONICAL_CASES = [
    c for c in UNIVARIATE_CASES if c[0] in CANONICAL and c[1] == CANONICAL[c[0]]
]


def _expected_d2(fam, family, link, kw, eta0, phi):
    """E_y[d²ℓ/dη²] at a single eta0 under the model's own distribution."""
    mu0 = float(INVERSE_LINKS[link](eta0))
    dist = scipy_dist(family, mu0, phi, **kw)
    if family in ("binomial", "poisson", "negative_binomial"):
        # Binomial: the whole support. Poisson/NB with mean ≤ 10 and NB alpha < 1:
        # P(y > 400) < 1e-40, negligible even against d2 growing linearly in y.
        upper = kw.get("n_trials", 400)
        ys = np.arange(0, upper + 1, dtype=float)
        d2 = fam.eta_derivatives(ys, np.full_like(ys, eta0), phi)[1]
        return float(np.sum(dist.pmf(ys) * d2))

    def integrand(t):
        arr = np.array([t])
        return dist.pdf(t) * fam.eta_derivatives(arr, np.array([eta0]), phi)[1][0]

    lo = -np.inf if family == "gaussian" else 0.0
    val, _ = si.quad(integrand, lo, np.inf, epsabs=0.0, epsrel=1e-12, limit=200)
    return val


def _fisher(family, link, kw, eta0, phi):
    """(dE[y]/dη)² / Var(y); for the binomial E[y] = n_trials · mu."""
    m = kw.get("n_trials", 1.0) if family == "binomial" else 1.0
    dmu = m * complex_step(INVERSE_LINKS[link], np.array([eta0]))[0]
    mu0 = float(INVERSE_LINKS[link](eta0))
    return dmu**2 / float(variance(family, np.array([mu0]), phi, **kw)[0])


@pytest.mark.parametrize("case", NONCANONICAL, ids=[_case_id(c) for c in NONCANONICAL])
def test_observed_information_averages_to_fisher(case):
    family, link, kw = case
    fam = get_family(family, link, **kw)
    phi = PHI.get(family, 1.0)
    lo, hi = (0.5, 4.0) if link == "identity" else ETA_RANGE.get(link, (-1.0, 1.0))
    for eta0 in (lo + 0.3 * (hi - lo), lo + 0.8 * (hi - lo)):
        fisher = _fisher(family, link, kw, eta0, phi)
        # Sums over the pmf are exact up to rounding; quad is asked for 1e-12.
        assert_allclose(_expected_d2(fam, family, link, kw, eta0, phi), fisher, 1e-9)
        # ... but the observed information at given y is not the Fisher information.
        mu0 = float(INVERSE_LINKS[link](eta0))
        sd = np.sqrt(float(variance(family, np.array([mu0]), phi, **kw)[0]))
        if family == "binomial":
            ys = np.array([0.0, float(kw["n_trials"])])
        elif family in ("poisson", "negative_binomial"):
            ys = np.array([0.0, np.ceil(mu0 + 2 * sd)])
        else:
            ys = np.array([mu0 * 0.5, mu0 + 2 * sd])
        d2 = fam.eta_derivatives(ys, np.full(2, eta0), phi)[1]
        assert np.all(np.abs(d2 - fisher) > 1e-3 * fisher), (d2, fisher)
        assert abs(d2[0] - d2[1]) > 1e-3 * fisher


@pytest.mark.parametrize(
    "case", CANONICAL_CASES, ids=[_case_id(c) for c in CANONICAL_CASES]
)
def test_canonical_link_information_does_not_depend_on_y(case):
    family, link, kw = case
    fam = get_family(family, link, **kw)
    rng = np.random.default_rng(6)
    y, eta, phi = make_data(family, link, kw, rng, n=20)
    eta0 = float(eta[2])
    d2 = fam.eta_derivatives(y, np.full_like(y, eta0), phi)[1]
    fisher = _fisher(family, link, kw, eta0, phi)
    # Same expression at different y: equal up to rounding.
    assert_allclose(d2, fisher, rtol=1e-10)


def test_multinomial_hessian_does_not_depend_on_y():
    K = 4
    eta = np.tile(np.random.default_rng(7).normal(size=K), (K, 1))
    d2 = get_family("multinomial").eta_derivatives(np.arange(K), eta)[1]
    p = np.exp(eta[0] - sc.logsumexp(eta[0]))
    assert_allclose(d2, np.broadcast_to(np.diag(p) - np.outer(p, p), d2.shape), 1e-12)


# ---------------------------------------------------------------------------------
# 4. Maximum-likelihood dispersion
# ---------------------------------------------------------------------------------


def _ml_data(family, link, kw, seed, n=200):
    rng = np.random.default_rng(seed)
    y, eta, _ = make_data(family, link, kw, rng, n=n)
    w = rng.uniform(0.2, 3.0, size=n)
    return y, eta, w


@pytest.mark.parametrize("case", DISPERSION_CASES, ids=DISPERSION_IDS)
def test_ml_dispersion_minimises_weighted_nll(case):
    family, link, kw = case
    y, eta, w = _ml_data(family, link, kw, seed=8)
    fam = get_family(family, link, **kw)
    phi_hat = fam.ml_dispersion(y, eta, w)
    assert np.isscalar(phi_hat) or np.ndim(phi_hat) == 0
    phi_hat = float(phi_hat)
    mu = INVERSE_LINKS[link](eta)

    # Stationarity of the weighted score, relative to the size of its terms.
    l_phi = fam.dispersion_derivatives(y, eta, phi_hat)[0]
    assert abs(np.sum(w * l_phi)) <= 1e-8 * np.sum(w * np.abs(l_phi))

    # Root of the oracle score (complex step of Σ w ℓ in φ), bracketed by brentq
    # (xtol ~ 1e-15 relative): the ML estimate must match to solver precision.
    def score(p):
        z = p + 1e-30j
        return np.sum(w * np.imag(oracle_nll(family, link, y, eta, z, **kw))) / 1e-30

    root = so.brentq(score, 1e-3, 1e2, xtol=1e-15, rtol=1e-14)
    assert_allclose(phi_hat, root, rtol=1e-9)

    # And the direct minimiser of the scipy-summed NLL: an argmin of a smooth
    # function is only determined to ~sqrt(eps) relative, hence rtol 1e-6.
    def objective(p):
        return np.sum(w * scipy_nll(family, y, mu, p, **kw))

    res = so.minimize_scalar(
        objective, bounds=(1e-3, 1e2), method="bounded", options={"xatol": 1e-12}
    )
    assert_allclose(phi_hat, res.x, rtol=1e-6)
    assert objective(phi_hat) <= objective(res.x) + 1e-10 * abs(objective(res.x))


@pytest.mark.parametrize("case", DISPERSION_CASES, ids=DISPERSION_IDS)
def test_ml_dispersion_weight_conventions(case):
    family, link, kw = case
    y, eta, _ = _ml_data(family, link, kw, seed=9, n=60)
    rng = np.random.default_rng(10)
    w_int = rng.integers(1, 4, size=y.size).astype(float)
    fam = get_family(family, link, **kw)
    phi_w = fam.ml_dispersion(y, eta, w_int)
    # Integer weights are row duplication.
    rep = np.repeat(np.arange(y.size), w_int.astype(int))
    phi_dup = fam.ml_dispersion(y[rep], eta[rep], np.ones(rep.size))
    assert_allclose(phi_w, phi_dup, rtol=1e-9)
    # Rescaling all weights leaves the ML estimate unchanged.
    assert_allclose(fam.ml_dispersion(y, eta, 7.5 * w_int), phi_w, rtol=1e-9)


@pytest.mark.parametrize("link", FAMILY_LINKS["gaussian"])
def test_ml_dispersion_gaussian_closed_form(link):
    y, eta, w = _ml_data("gaussian", link, {}, seed=11)
    mu = INVERSE_LINKS[link](eta)
    expected = np.sum(w * (y - mu) ** 2) / np.sum(w)
    phi_hat = get_family("gaussian", link).ml_dispersion(y, eta, w)
    assert_allclose(phi_hat, expected, rtol=1e-12)


@pytest.mark.parametrize("link", FAMILY_LINKS["inverse_gaussian"])
def test_ml_dispersion_inverse_gaussian_closed_form(link):
    y, eta, w = _ml_data("inverse_gaussian", link, {}, seed=12)
    mu = INVERSE_LINKS[link](eta)
    expected = np.sum(w * (y - mu) ** 2 / (mu**2 * y)) / np.sum(w)
    phi_hat = get_family("inverse_gaussian", link).ml_dispersion(y, eta, w)
    assert_allclose(phi_hat, expected, rtol=1e-12)


# ---------------------------------------------------------------------------------
# 5. Support and bad input
# ---------------------------------------------------------------------------------

BAD_Y = [
    ("poisson", {}, [1.0, -1.0]),
    ("poisson", {}, [np.nan]),
    ("negative_binomial", {}, [2.0, -1.0]),
    ("negative_binomial", {}, [np.nan]),
    ("gamma", {}, [1.0, 0.0]),
    ("gamma", {}, [1.0, -2.0]),
    ("gamma", {}, [np.nan]),
    ("inverse_gaussian", {}, [1.0, 0.0]),
    ("inverse_gaussian", {}, [1.0, -2.0]),
    ("inverse_gaussian", {}, [np.nan]),
    ("binomial", {}, [0.0, 2.0]),
    ("binomial", {}, [0.0, -1.0]),
    ("binomial", {}, [0.5]),
    ("binomial", {"n_trials": 3}, [0.0, 4.0]),
    ("binomial", {"n_trials": 3}, [1.5]),
    ("binomial", {}, [np.nan]),
    ("gaussian", {}, [np.nan]),
    ("multinomial", {}, [np.nan]),
]
GOOD_Y = [
    ("poisson", {}, [0.0, 3.0, 17.0]),
    ("negative_binomial", {}, [0.0, 3.0, 17.0]),
    ("gamma", {}, [1e-3, 2.0]),
    ("inverse_gaussian", {}, [1e-3, 2.0]),
    ("binomial", {}, [0.0, 1.0]),
    ("binomial", {"n_trials": 3}, [0.0, 1.0, 2.0, 3.0]),
    ("gaussian", {}, [-5.0, 0.0, 3.0]),
    ("multinomial", {}, [0, 2, 1]),
]


def _y_id(param):
    family, kw, y = param
    return f"{family}{kw.get('n_trials', '')}-{y}"


@pytest.mark.parametrize(("family", "kw", "y"), BAD_Y, ids=[_y_id(p) for p in BAD_Y])
def test_check_y_rejects_outside_support(family, kw, y):
    # a bare ValueError could come from anywhere: require the support message, with
    # the family's name and the count of offending values (one in every BAD_Y case)
    msg = rf"y has 1 value\(s\) outside the support of the {family} family"
    with pytest.raises(ValueError, match=msg):
        get_family(family, **kw).check_y(np.array(y))


@pytest.mark.parametrize(("family", "kw", "y"), GOOD_Y, ids=[_y_id(p) for p in GOOD_Y])
def test_check_y_accepts_support(family, kw, y):
    get_family(family, **kw).check_y(np.array(y))


def test_unknown_family_lists_options():
    with pytest.raises(ValueError) as exc:
        get_family("tweedie")
    for name in FAMILY_LINKS:
        assert name in str(exc.value)


@pytest.mark.parametrize("family", sorted(FAMILY_LINKS))
def test_unknown_link_lists_options(family):
    with pytest.raises(ValueError) as exc:
        get_family(family, "not_a_link")
    for link in FAMILY_LINKS[family]:
        assert repr(link) in str(exc.value) or link in str(exc.value)


# ---------------------------------------------------------------------------------
# 6. Extreme linear predictors (binary links)
# ---------------------------------------------------------------------------------


def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    # Both branches are evaluated on the safe side only.
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _mills_series(u, terms=12):
    """S(u) = Σ_k (-1)^k (2k-1)!! / u^{2k} and 1 - S(u), for large u.

    Φ(-u) = φ(u) / u · S(u) (asymptotic); with u ≥ 20 and 12 terms the truncation
    error is below (23)!! / u^24 < 1e-15.
    """
    u2 = u * u
    term = np.ones_like(u)
    one_minus = np.zeros_like(u)
    for k in range(1, terms):
        term = -term * (2 * k - 1) / u2
        one_minus -= term
    return 1.0 - one_minus, one_minus


def _log_phi_and_derivatives(x):
    """log Φ(x) and its first two derivatives, stable for large |x| (|x| ≥ 20)."""
    u = np.abs(x)
    s, one_minus_s = _mills_series(u)
    log_pdf = -0.5 * u * u - 0.5 * np.log(2 * np.pi)
    log_tail = log_pdf - np.log(u) + np.log(s)  # log Φ(-u)
    lam_neg = u / s  # φ(u)/Φ(-u), inverse Mills ratio at -u
    lam_pos = np.exp(log_pdf - np.log1p(-np.exp(log_tail)))  # φ(u)/Φ(u)
    a = np.where(x < 0, log_tail, np.log1p(-np.exp(log_tail)))
    lam = np.where(x < 0, lam_neg, lam_pos)  # d/dx log Φ(x) = φ(x)/Φ(x)
    # d²/dx² log Φ(x) = -λ(x)(x + λ(x)); for x = -u, x + λ = u(1 - S)/S exactly.
    x_plus_lam = np.where(x < 0, u * one_minus_s / s, x + lam)
    return a, lam, -lam * x_plus_lam


def _expm1_neg_plus_t(t):
    """t + expm1(-t) = Σ_{k≥2} (-t)^k / k!, without cancellation for small t."""
    out = np.empty_like(t)
    big = t >= 0.5
    out[big] = t[big] + np.expm1(-t[big])
    small = t[~big]  # 30 terms: remainder < 0.5^31 / 31! ≈ 6e-44 relative to t²/2
    series = np.zeros_like(small)
    term = -small
    for k in range(2, 32):
        term = -term * small / k
        series += term
    out[~big] = series
    return out


def _binary_closed_forms(link, eta):
    """(A, A', A'', B, B', B'') with A = log mu and B = log(1 - mu) in eta."""
    if link == "logit":
        s_pos, s_neg = _sigmoid(eta), _sigmoid(-eta)
        curv = -s_pos * s_neg
        return -_softplus(-eta), s_neg, curv, -_softplus(eta), -s_pos, curv
    if link == "probit":
        a, a1, a2 = _log_phi_and_derivatives(eta)
        b, b1, b2 = _log_phi_and_derivatives(-eta)
        return a, a1, a2, b, -b1, b2
    if link == "cloglog":
        t = np.exp(eta)
        one_m = -np.expm1(-t)  # 1 - exp(-t) = mu
        a = np.log(one_m)
        a1 = t * np.exp(-t) / one_m  # = t / expm1(t)
        a2 = -t * np.exp(-t) * _expm1_neg_plus_t(t) / one_m**2
        return a, a1, a2, -t, -t, -t
    raise AssertionError(link)


EXTREME_ETA = np.array([-30.0, -25.0, -20.0, 20.0, 25.0, 30.0])


@pytest.mark.parametrize("link", FAMILY_LINKS["binomial"])
def test_closed_forms_agree_with_numerics_at_moderate_eta(link):
    # Validates the closed forms used below against the complex-step oracle where the
    # latter is reliable (the probit series only at |eta| ≥ 20; see its docstring).
    eta = np.array([-2.5, -0.7, 0.4, 1.3]) if link != "probit" else EXTREME_ETA[:3]
    a, a1, a2, _, b1, b2 = _binary_closed_forms(link, eta)
    assert_allclose(a, _binomial_log_probs(link, eta)[0], rtol=1e-12)
    assert_allclose(
        a1, complex_step(lambda z: _binomial_log_probs(link, z)[0], eta), 1e-12
    )
    assert_allclose(
        b1, complex_step(lambda z: _binomial_log_probs(link, z)[1], eta), 1e-12
    )
    # h = 1e-4: at |eta| = 30 the probit terms vary on a scale 1/|eta|, so the FD
    # truncation error (h·|eta|)⁴/30 must stay below 1e-9.
    d_a1 = central4(lambda e: _binary_closed_forms(link, e)[1], eta, 1e-4)
    d_b1 = central4(lambda e: _binary_closed_forms(link, e)[4], eta, 1e-4)
    assert_allclose(a2, d_a1, rtol=1e-8)
    assert_allclose(b2, d_b1, rtol=1e-8)


# Tolerances at extreme eta. NLL: rtol 1e-8 with an absolute floor of 1e-14, since a
# per-sample NLL is only ever summed with O(1) others and float64 cannot resolve less.
# Mean and derivatives: rtol 1e-8 with a floor of only 1e-100, i.e. relative accuracy
# is required even for values like e^-30 ≈ 1e-13: under (quasi-)separation every
# sample sits at large |eta|, so H and C are built from these tiny numbers alone and
# tr(H⁻¹C) inherits their relative error. The floor only forgives values such as
# Φ(-30) ≈ 5e-198 returned as an exact 0.
EXTREME_TOL = {
    "nll": {"rtol": 1e-8, "atol": 1e-14},
    "mean": {"rtol": 1e-8, "atol": 1e-100},
    "d1": {"rtol": 1e-8, "atol": 1e-100},
    "d2": {"rtol": 1e-8, "atol": 1e-100},
}


@pytest.mark.parametrize("quantity", sorted(EXTREME_TOL))
@pytest.mark.parametrize("link", FAMILY_LINKS["binomial"])
@pytest.mark.parametrize("n_trials", [1, 3])
def test_binary_links_extreme_eta(link, n_trials, quantity):
    eta = np.repeat(EXTREME_ETA, n_trials + 1)
    y = np.tile(np.arange(n_trials + 1, dtype=float), EXTREME_ETA.size)
    fam = get_family("binomial", link, n_trials=n_trials)
    # RuntimeWarnings (overflow, divide by zero, invalid) are errors in this config.
    if quantity == "nll":
        got = fam.nll(y, eta)
    elif quantity == "mean":
        got = fam.mean(eta)
    else:
        got = fam.eta_derivatives(y, eta)[0 if quantity == "d1" else 1]
    assert np.all(np.isfinite(got)), quantity

    a, a1, a2, b, b1, b2 = _binary_closed_forms(link, eta)
    log_choose = (
        sc.gammaln(n_trials + 1) - sc.gammaln(y + 1) - sc.gammaln(n_trials - y + 1)
    )
    expected = {
        "nll": -(log_choose + y * a + (n_trials - y) * b),
        "d1": -(y * a1 + (n_trials - y) * b1),
        "d2": -(y * a2 + (n_trials - y) * b2),
        "mean": np.exp(a),
    }[quantity]
    assert_allclose(got, expected, err_msg=quantity, **EXTREME_TOL[quantity])


def test_multinomial_extreme_eta():
    eta = np.array([[800.0, 0.0, -800.0]] * 3)
    y = np.array([0, 1, 2])
    fam = get_family("multinomial")
    nll = fam.nll(y, eta)
    d1, d2 = fam.eta_derivatives(y, eta)
    # p = (1, e^-800, e^-1600) = (1, 0, 0) in float64: all exact.
    assert_allclose(nll, [0.0, 800.0, 1600.0], rtol=1e-15, atol=1e-300)
    p = np.array([1.0, 0.0, 0.0])
    assert_allclose(d1, p - np.eye(3)[y], rtol=0, atol=1e-300)
    assert_allclose(d2, np.broadcast_to(np.diag(p) - np.outer(p, p), d2.shape), 0, 0)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_in_mean_space_is_check_mu_row_by_row(name):
    # the vectorised mask of the per-row models (issue 24 item 10) against the
    # family's own check, one row at a time
    fam = get_family(name)
    rng = np.random.default_rng(0)
    shape = (40, 3) if name == "multinomial" else (40,)
    mu = rng.normal(size=shape)
    mu[rng.uniform(size=shape) < 0.1] = np.inf
    mu[rng.uniform(size=shape) < 0.05] = np.nan
    expected = np.empty(40, dtype=bool)
    for i in range(40):
        try:
            fam.check_mu(mu[i : i + 1])
            expected[i] = True
        except ValueError:
            expected[i] = False
    assert np.array_equal(fam.in_mean_space(mu), expected)
    assert 0 < expected.sum() < 40


def test_binomial_rows_slice_the_trials():
    fam = get_family("binomial", n_trials=np.array([1.0, 5.0, 9.0, 2.0]))
    sub = fam.rows(np.array([2, 0]))
    y, eta = np.array([4.0, 1.0]), np.array([0.3, -0.2])
    full = fam.nll(np.array([1.0, 0, 4.0, 0]), np.array([-0.2, 0, 0.3, 0]))
    assert_allclose(sub.nll(y, eta), full[[2, 0]])
    assert get_family("poisson").rows(slice(0, 2)) is not None


def test_log_link_underflow_is_not_told_to_use_the_log_link():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 2)), np.zeros(20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PoissonRegressor().fit(X, y)
    with pytest.raises(ValueError, match="y is 0 on every row") as err:
        ts.curvature(model, X, y)
    assert "Use the log link" not in str(err.value)
