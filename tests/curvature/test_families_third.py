"""Third derivatives of the families (``eta_third_derivative``,
``dispersion_third_derivatives``) and of the links, against numerical oracles.

The oracle NLL is the textbook transcription of ``test_families`` (complex-safe); its
first derivative comes from the complex step (exact to rounding) and the third from a
fourth-order central *second* difference of that derivative, ``h = 1e-3``:
truncation ``h⁴ f⁽⁶⁾/90 ≈ 1e-14 f⁽⁶⁾`` and rounding ``≈ 16 eps |f'| / (12 h²) ≈
3e-10 |f'|``, far below the ``rtol = 1e-7`` used.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ticselect.curvature._families import get_family
from ticselect.curvature._links import LINKS

from .test_families import (
    DISPERSION_CASES,
    DISPERSION_IDS,
    INVERSE_LINKS,
    UNIVARIATE_CASES,
    UNIVARIATE_IDS,
    _scale,
    central4,
    central4_second,
    complex_step,
    make_data,
    oracle_nll,
)

RTOL = 1e-7


@pytest.mark.parametrize("case", UNIVARIATE_CASES, ids=UNIVARIATE_IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_eta_third_derivative_vs_oracle(case, seed):
    family, link, kw = case
    rng = np.random.default_rng(seed)
    y, eta, phi = make_data(family, link, kw, rng)
    fam = get_family(family, link, **kw)

    def d1(e):
        return complex_step(lambda z: oracle_nll(family, link, y, z, phi, **kw), e)

    expected = central4_second(d1, eta, 1e-3)
    got = fam.eta_third_derivative(y, eta, phi)
    assert got.shape == y.shape
    assert_allclose(got, expected, rtol=RTOL, atol=RTOL * _scale(expected))


@pytest.mark.parametrize("case", UNIVARIATE_CASES, ids=UNIVARIATE_IDS)
def test_eta_third_derivative_is_derivative_of_own_second(case):
    # ties the new method to eta_derivatives (real arithmetic, h = 2e-3)
    family, link, kw = case
    rng = np.random.default_rng(7)
    y, eta, phi = make_data(family, link, kw, rng)
    fam = get_family(family, link, **kw)
    numeric = central4(lambda e: fam.eta_derivatives(y, e, phi)[1], eta, 2e-3)
    got = fam.eta_third_derivative(y, eta, phi)
    assert_allclose(got, numeric, rtol=1e-6, atol=1e-6 * _scale(numeric))


@pytest.mark.parametrize("case", DISPERSION_CASES, ids=DISPERSION_IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_dispersion_third_derivatives_vs_oracle(case, seed):
    family, link, kw = case
    rng = np.random.default_rng(seed)
    y, eta, phi = make_data(family, link, kw, rng)
    fam = get_family(family, link, **kw)

    def dphi(e, p):  # ∂ℓ/∂φ by the complex step in φ
        return complex_step(lambda z: oracle_nll(family, link, y, e, z, **kw), p)

    def deta(e, p):  # ∂ℓ/∂η by the complex step in η
        return complex_step(lambda z: oracle_nll(family, link, y, z, p, **kw), e)

    expected = (
        central4_second(lambda e: dphi(e, phi), eta, 1e-3),  # ∂³/∂η²∂φ
        central4_second(lambda p: deta(eta, p), phi, 1e-3),  # ∂³/∂η∂φ²
        central4_second(lambda p: dphi(eta, p), phi, 1e-3),  # ∂³/∂φ³
    )
    got = fam.dispersion_third_derivatives(y, eta, phi)
    for name, g, e in zip(("eep", "epp", "ppp"), got, expected, strict=True):
        assert np.shape(g) == y.shape, name
        assert_allclose(g, e, rtol=RTOL, atol=RTOL * _scale(e), err_msg=name)


def test_dispersion_third_derivatives_need_a_dispersion():
    fam = get_family("poisson")
    with pytest.raises(TypeError, match="no dispersion"):
        fam.dispersion_third_derivatives(np.ones(2), np.zeros(2), 1.0)


@pytest.mark.parametrize("name", sorted(set(LINKS) - {"softmax"}))
def test_link_third_derivative_vs_complex_step(name):
    link = LINKS[name]()
    eta = np.linspace(0.3, 2.0, 9)  # inside every link's domain
    d1 = lambda e: complex_step(INVERSE_LINKS[name], e)  # noqa: E731
    expected = central4_second(d1, eta, 1e-3)
    assert_allclose(link.inverse_third_derivative(eta), expected, rtol=RTOL, atol=RTOL)


@pytest.mark.parametrize("K", [2, 3, 5])
def test_multinomial_third_derivative_vs_own_hessian(K):
    # T[:, :, :, c] is the derivative of the (oracle-tested) Hessian along η_c
    rng = np.random.default_rng(K)
    eta = rng.normal(0.0, 1.5, size=(6, K))
    y = rng.integers(0, K, size=6)
    fam = get_family("multinomial")
    T = fam.eta_third_derivative(y, eta)
    assert T.shape == (6, K, K, K)
    for c in range(K):
        e_c = np.zeros(K)
        e_c[c] = 1.0
        numeric = central4(
            lambda t, e_c=e_c: fam.eta_derivatives(y, eta + t * e_c)[1], 0.0, 1e-3
        )
        assert_allclose(T[:, :, :, c], numeric, rtol=1e-8, atol=1e-10)
    # symmetric in all three indices, and every index sums to zero (softmax gauge)
    assert_allclose(T, np.transpose(T, (0, 2, 1, 3)), atol=1e-15)
    assert_allclose(T, np.transpose(T, (0, 3, 2, 1)), atol=1e-15)
    assert_allclose(T.sum(axis=3), 0.0, atol=1e-14)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_binary_third_derivative_finite_at_extreme_eta(link):
    fam = get_family("binomial", link)
    eta = np.array([-40.0, -20.0, -1e-6, 0.0, 1e-6, 8.0, 20.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        d3 = fam.eta_third_derivative(y, eta)
    assert np.all(np.isfinite(d3))
