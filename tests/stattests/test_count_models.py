"""Poisson against negative binomial and zero-inflated Poisson on RAND HIE: the
textbook Vuong comparison, by ``ts.compare``/``ts.vuong_test`` and by hand from
statsmodels' own ``loglikeobs``, ``score_obs`` and ``hessian`` (issue 24 item 1)."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.tools.numdiff import approx_fprime

import ticselect as ts


def _fit(model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence chatter
        return model.fit(disp=0, **kw)


#: Rows of RAND HIE used (the first 5000 of 20 190, for a test of seconds; the whole
#: data gives the same agreement, checked once with ``N = None``: NB then takes ~5 s
#: for its per-row Hessians alone).
N = 5000


@pytest.fixture(scope="module")
def randhie():
    d = sm.datasets.randhie.load()
    y = np.asarray(d.endog, float)[:N]
    X = sm.add_constant(np.asarray(d.exog, float))[:N]
    fits = {
        "poisson": _fit(sm.Poisson(y, X)),
        "nb": _fit(sm.NegativeBinomial(y, X), maxiter=200),
        "zip": _fit(sm.ZeroInflatedPoisson(y, X, exog_infl=X), maxiter=500),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ZIP Hessian is replaced, with a warning
        table = ts.compare(fits)
    hand = {name: _by_hand(res) for name, res in fits.items()}
    return fits, table, hand


def _hessian(res):
    """H of the summed NLL: statsmodels' numdiff of its analytic summed score."""
    H = -approx_fprime(res.params, lambda t: res.model.score_obs(t).sum(0),
                       centered=True)  # fmt: skip
    return 0.5 * (H + H.T)


def _by_hand(res):
    """Per-row NLL, per-row TIC, tr(H⁻¹C) and H from statsmodels' own functions."""
    model, theta = res.model, np.asarray(res.params)
    nll = -model.loglikeobs(theta)
    G = -model.score_obs(theta)
    H = _hessian(res)
    pen = np.einsum("ij,ji->i", G, np.linalg.solve(H, G.T))  # gᵢᵀH⁻¹gᵢ
    return nll, 2.0 * (nll + pen), pen.sum(), H


def test_zip_hessian_of_statsmodels_is_replaced(randhie):
    # statsmodels 0.15's ZeroInflatedPoisson.hessian zeroes the cross-derivatives
    # between the inflation and the count parameters (it copies its lower triangle
    # over the upper one); ticselect checks a model's hessian along one direction
    # and rebuilds it from differences of score_obs when it is off
    fits, table, hand = randhie
    res = fits["zip"]
    own = -res.model.hessian(res.params)
    k = res.model.k_inflate
    H = hand["zip"][3]
    assert np.all(own[:k, k:] == 0) and np.abs(H[:k, k:]).max() > 1e3
    curv = table.curvatures["zip"]
    # two central-difference schemes (statsmodels' numdiff, ours): ~1e-9 apart
    assert_allclose(curv.hessian, H, rtol=1e-6, atol=1e-6 * np.abs(H).max())
    for name in ("poisson", "nb"):  # their analytic Hessians are kept
        own = -fits[name].model.hessian(fits[name].params)
        assert_allclose(table.curvatures[name].hessian, 0.5 * (own + own.T))


def test_pointwise_nll_is_loglikeobs(randhie):
    fits, table, hand = randhie
    for name, res in fits.items():
        pw = ts.pointwise(table.curvatures[name])
        # the same statsmodels function at the same parameters: rounding only
        assert_allclose(pw.nll, -res.model.loglikeobs(res.params), rtol=1e-10)
        assert_allclose(pw.tic, hand[name][1], rtol=1e-8)


def test_compare_equals_a_hand_computation(randhie):
    fits, table, hand = randhie
    rows = table.to_dict()
    for name, (nll, tic, trace, _) in hand.items():
        # float64 sums over the rows: rounding only
        assert_allclose(rows[name]["loglik"], -nll.sum(), rtol=1e-10)
        assert_allclose(rows[name]["tic"], tic.sum(), rtol=1e-9)
        assert_allclose(rows[name]["tic_penalty"], trace, rtol=1e-7)
    best = min(hand, key=lambda name: hand[name][1].sum())
    assert table.best == best == "nb"
    for name, (_, tic, _, _) in hand.items():
        d = tic - hand[best][1]
        assert_allclose(rows[name]["d_tic"], d.sum(), rtol=1e-8, atol=1e-6)
        se = np.sqrt(len(d) * np.var(d))
        assert_allclose(rows[name]["d_tic_se"], se, rtol=1e-7, atol=1e-9)
    # the approximate leave-one-out of every model, no longer nan
    for name in fits:
        assert (
            np.isfinite(rows[name]["alo"])
            and rows[name]["alo"] > -2 * rows[name]["loglik"]
        )
    assert "alo is nan" not in table.summary()


@pytest.mark.parametrize(("a", "b"), [("nb", "poisson"), ("zip", "poisson"),
                                      ("nb", "zip")])  # fmt: skip
def test_vuong_equals_a_hand_computation(randhie, a, b):
    fits, table, hand = randhie
    nll_a, _, tr_a, _ = hand[a]
    nll_b, _, tr_b, _ = hand[b]
    m = nll_b - nll_a  # log f_a - log f_b per row
    lr = m.sum() - (tr_a - tr_b)
    z = lr / (np.sqrt(len(m)) * np.std(m))
    res = ts.vuong_test(table.curvatures[a], table.curvatures[b])
    assert_allclose(res.statistic, z, rtol=1e-7)
    assert_allclose(res.pvalue, 2 * stats.norm.sf(abs(z)), rtol=1e-6, atol=1e-300)
    assert_allclose(table.vuong_test(a, b).statistic, z, rtol=1e-7)
    # overdispersed visit counts: NB and ZIP both beat Poisson clearly
    if b == "poisson":
        assert res.direction == "a" and z > 10
