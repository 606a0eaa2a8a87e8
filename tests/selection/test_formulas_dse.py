"""compare_formulas' ``d_tic_se`` against a hand computation from statsmodels alone."""

import numpy as np
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose

import ticselect as ts

RANDHIE = {
    "coins": "mdvis ~ lncoins",
    "+ health": "mdvis ~ lncoins + physlm + disea",
    "+ idp": "mdvis ~ lncoins + physlm + disea + C(idp)",
}


@pytest.fixture(scope="module")
def randhie():
    return sm.datasets.randhie.load_pandas().data.head(3000)


def _pointwise_tic_by_hand(res):
    """``2 (ℓᵢ + gᵢᵀ H⁻¹ gᵢ)`` from statsmodels' own score_obs, hessian, loglike."""
    model = res.model
    nll = -model.family.loglike_obs(model.endog, res.fittedvalues)
    G = -model.score_obs(res.params)  # gradients of the NLL
    H = -model.hessian(res.params, observed=True)
    return 2.0 * (nll + np.einsum("ij,ij->i", G, np.linalg.solve(H, G.T).T)), G, H


def test_d_tic_se_equals_hand_computation(randhie):
    table = ts.compare_formulas(randhie, RANDHIE, family="poisson")
    tic = {}
    for name, f in RANDHIE.items():
        res = smf.glm(f, randhie, family=sm.families.Poisson()).fit(tol=1e-12)
        tic[name] = _pointwise_tic_by_hand(res)[0]
        # our pointwise arrays are the same contributions: the table's IRLS stops at
        # statsmodels' default tol, this one at 1e-12; measured agreement 4e-13
        assert_allclose(ts.pointwise(table.curvatures[name]).tic, tic[name], rtol=1e-9)
    rows = table.to_dict()
    best = min(tic, key=lambda m: tic[m].sum())
    assert table.best == best
    n = len(randhie)
    for name in RANDHIE:
        d = tic[name] - tic[best]
        se = np.sqrt(n * np.var(d, ddof=1))  # loo's se_diff on the deviance scale
        # measured agreement 3e-13; 1e-9 leaves room for the fits' stopping points
        # (the divisor n instead of n - 1 would be off by 1.7e-4)
        assert_allclose(rows[name]["d_tic_se"], se, rtol=1e-9, atol=1e-9)
        assert_allclose(rows[name]["d_tic"], d.sum(), rtol=1e-9, atol=1e-8)
    assert rows[best]["d_tic_se"] == 0.0
    assert all(rows[m]["d_tic_se"] > 0 for m in RANDHIE if m != best)
    text = table.summary()
    assert "d_tic_se" in text.splitlines()[0]
    assert "d_tic_se" in table._repr_html_()


def test_d_tic_se_with_groups_sums_within_clusters(randhie):
    groups = np.arange(len(randhie)) // 5
    table = ts.compare_formulas(randhie, RANDHIE, family="poisson", groups=groups)
    parts = {}
    for name, f in RANDHIE.items():
        res = smf.glm(f, randhie, family=sm.families.Poisson()).fit(tol=1e-12)
        _, G, H = _pointwise_tic_by_hand(res)
        nll = -res.model.family.loglike_obs(res.model.endog, res.fittedvalues)
        S = np.zeros((groups.max() + 1, G.shape[1]))
        np.add.at(S, groups, G)
        # grouped contribution gᵢᵀ H⁻¹ s_{g(i)}: sums to tr(H⁻¹ Σ_g s_g s_gᵀ)
        pen = np.einsum("ij,ij->i", G, np.linalg.solve(H, S[groups].T).T)
        parts[name] = 2.0 * (nll + pen)
        assert_allclose(table.criteria[name].tic, parts[name].sum(), rtol=1e-8)
    best = table.best
    for name in RANDHIE:
        d_g = np.bincount(groups, weights=parts[name] - parts[best])
        se = np.sqrt(len(d_g) * np.var(d_g, ddof=1))
        assert_allclose(table.to_dict()[name]["d_tic_se"], se, rtol=1e-9, atol=1e-9)
