"""Paired differences, p_worse, diagnostics, weight summaries, best-of-many, one-SE.

Hand-computed oracles (numpy/scipy written out here) and R ``loo``'s own
``loo_compare`` on the same matrices (tests/reference/loo_weights.R).
"""

import numpy as np
import pytest
from scipy import integrate, stats

from tests.reference import LOO_CASES, loo_matrix, loo_reference
from ticselect.selection._uncertainty import (
    UNCERTAINTY_COLUMNS,
    best_of_many,
    criterion_columns,
    one_se_index,
    paired_differences,
    weight_summary,
)


@pytest.fixture(scope="module")
def loo_ref():
    return loo_reference()


@pytest.mark.parametrize("case", LOO_CASES)
def test_differences_equal_loo_compare(case, loo_ref):
    """elpd_diff, se_diff and p_worse of R loo on the same matrix, to 1e-6."""
    ref = loo_ref[case]
    L = loo_matrix(case)
    res = paired_differences(L)
    order = [ref["models"].index(m) for m in ref["compare_order"]]
    assert order[0] == res.best
    # loo's ELPD scale: elpd_diff = -d/2, se_diff = se/2
    np.testing.assert_allclose(-res.d[order] / 2, ref["elpd_diff"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.se[order] / 2, ref["se_diff"], rtol=0, atol=1e-6)
    p_ref = np.array([np.nan if p is None else p for p in ref["p_worse"]])
    np.testing.assert_allclose(res.p_worse[order], p_ref, rtol=0, atol=1e-6)


def test_differences_by_hand():
    rng = np.random.default_rng(3)
    L = rng.gamma(2.0, 1.0, size=(150, 4)) + [0.3, 0.0, 0.1, 0.02]
    res = paired_differences(L)
    tot = L.sum(axis=0)
    b = int(np.argmin(tot))
    assert res.best == b
    np.testing.assert_allclose(res.totals, tot, rtol=1e-13)
    np.testing.assert_allclose(res.d, tot - tot[b], rtol=1e-12, atol=1e-12)
    for k in range(4):
        delta = L[:, k] - L[:, b]
        se = np.sqrt(150) * np.std(delta, ddof=1)
        assert np.isclose(res.se[k], se, rtol=1e-12, atol=1e-14)
        if k != b:
            z = (tot[k] - tot[b]) / se
            assert np.isclose(res.p_worse[k], stats.norm.cdf(z), rtol=1e-12)
    assert np.isnan(res.p_worse[b]) and res.se[b] == 0.0
    assert res.n == 150


def test_weights_equal_duplicated_rows_and_permutation():
    rng = np.random.default_rng(4)
    L = rng.normal(2.0, 0.4, size=(80, 3))
    w = rng.integers(0, 4, size=80)
    dup = np.repeat(L, w, axis=0)
    a, b = paired_differences(L, sample_weight=w), paired_differences(dup)
    np.testing.assert_allclose(a.d, b.d, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-12)
    assert a.n == b.n == w.sum()
    perm = rng.permutation(80)
    c = paired_differences(L[perm], sample_weight=w[perm])
    np.testing.assert_allclose(c.se, a.se, rtol=1e-12)


def test_groups_sum_within_groups():
    rng = np.random.default_rng(5)
    L = rng.normal(2.0, 0.4, size=(90, 2))
    g = rng.integers(0, 12, size=90)
    res = paired_differences(L, groups=g)
    sums = np.bincount(g, weights=L[:, 1] - L[:, 0])
    sign = 1 if res.best == 0 else -1
    assert np.isclose(res.se[1 - res.best], np.sqrt(12) * np.std(sign * sums, ddof=1))
    assert res.n == 12
    assert res.diag[1 - res.best] == "n<100"  # 12 groups: the units are small


def test_diagnostics_follow_loo_diag_diff():
    rng = np.random.default_rng(6)
    base = rng.normal(1.0, 0.3, size=200)
    # d = 2·(shift)·n: shifts give d = 4 (similar) and d = 40 (resolved)
    L = np.column_stack([base, base + 4 / 200, base + 40 / 200])
    res = paired_differences(L)
    assert res.diag == ("", "|d|<8", "")
    small = paired_differences(L[:60])
    assert small.diag == ("", "n<100", "n<100")


def test_non_finite_candidate_and_bad_input():
    L = np.column_stack([np.ones(10), np.r_[np.inf, np.ones(9)]])
    res = paired_differences(L)
    assert res.best == 0 and np.isinf(res.d[1]) and np.isnan(res.se[1])
    with pytest.raises(ValueError, match="2-D"):
        paired_differences(np.ones(5))
    with pytest.raises(ValueError, match="one entry per row"):
        paired_differences(np.ones((5, 2)), sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="best must be"):
        paired_differences(np.ones((5, 2)), best=2)


def test_weight_summary_by_hand():
    delta = np.array([3.0, 0.0, 1.0, 12.0, np.inf])
    rel = np.exp(-delta / 2)
    w = rel / rel.sum()
    cum, er, in_set = weight_summary(delta, w)
    order = [1, 2, 0, 3, 4]
    np.testing.assert_allclose(cum[order], np.cumsum(w[order]), rtol=1e-14)
    np.testing.assert_allclose(er[:4], 1 / (w[:4] / w[1]), rtol=1e-12)
    assert np.isinf(er[4])
    # AICcmodavg's confset(method="raw"): top models until the weights reach 0.95
    expected = np.zeros(5, dtype=bool)
    total = 0.0
    for k in order:
        if total < 0.95:
            expected[k] = True
        total += w[k]
    assert in_set.tolist() == expected.tolist()
    assert in_set.tolist() == [True, True, True, False, False]
    with pytest.raises(ValueError, match="level"):
        weight_summary(delta, w, level=1.5)


def _expected_max(K):
    """E[max of K standard normals] by quadrature."""
    f = lambda x: x * K * stats.norm.pdf(x) * stats.norm.cdf(x) ** (K - 1)  # noqa: E731
    return integrate.quad(f, -np.inf, np.inf)[0]


@pytest.mark.parametrize("K", [5, 12, 20])
def test_best_of_many_threshold_is_the_expected_maximum(K):
    """Uncorrelated candidates of equal variance: E[mean - min] = s·E[max of K]."""
    n, s = 200, 3.0
    rng = np.random.default_rng(K)
    G = rng.normal(size=(n, K))
    Q = np.linalg.qr(G - G.mean(axis=0))[0]  # orthonormal, centred columns
    L = 5.0 + s * np.sqrt((n - 1) / n) * Q  # n·Cov(L) = s²·I exactly
    res = best_of_many(L)
    assert res.diagnosed and res.n_candidates == K
    tot = L.sum(axis=0)
    assert np.isclose(res.margin, tot.mean() - tot.min(), rtol=1e-12)
    # Monte Carlo error of the mean of 4000 draws: 4 standard errors
    tol = 4 * res.sd / np.sqrt(4000)
    assert abs(res.threshold - s * _expected_max(K)) < tol
    assert res.chance == (res.margin <= res.threshold)


def test_best_of_many_invariances():
    rng = np.random.default_rng(7)
    L = rng.normal(1.0, 0.5, size=(150, 12))
    L[:, 3] -= 0.05
    ref = best_of_many(L)
    # a per-row constant (the row's difficulty, shared by all candidates) cancels
    shifted = best_of_many(L + rng.normal(0, 5, size=(150, 1)))
    assert np.isclose(shifted.threshold, ref.threshold, rtol=1e-8)
    assert np.isclose(shifted.margin, ref.margin, rtol=1e-8)
    counts = rng.integers(1, 3, size=150)
    a = best_of_many(L, sample_weight=counts)
    b = best_of_many(np.repeat(L, counts, axis=0))
    assert np.isclose(a.threshold, b.threshold, rtol=1e-8)
    assert np.isclose(a.margin, b.margin, rtol=1e-10)
    # identical candidates: no chance spread at all, and a zero margin
    same = best_of_many(np.repeat(L[:, :1], 6, axis=1))
    assert same.threshold < 1e-8 and same.margin < 1e-8 and same.chance


def test_best_of_many_fires_on_equal_candidates_not_on_a_clear_winner():
    fired = []
    for seed in range(40):
        L = np.random.default_rng(seed).normal(1.0, 0.5, size=(300, 15))
        fired.append(best_of_many(L).chance)
        L[:, seed % 15] -= 0.3  # better by 90 deviance units, SE about 12
        assert not best_of_many(L).chance
    assert 0.3 < np.mean(fired) < 0.8  # P(A <= E[A]) for iid candidates: ~0.55
    res = best_of_many(np.ones((10, 4)))
    assert not res.diagnosed and not res.chance and res.message == ""
    assert best_of_many(np.c_[np.ones((10, 4)), np.full(10, np.inf)]).n_candidates == 4
    groups = np.repeat(np.arange(30), 10)
    grouped = best_of_many(
        np.random.default_rng(0).normal(size=(300, 8)), groups=groups
    )
    assert grouped.diagnosed


def test_one_se_index():
    d = np.array([0.0, 0.5, 2.0, 6.0])
    se = np.array([0.0, 1.0, 1.5, 3.0])
    edf = np.array([10.0, 8.0, 4.0, 2.0])
    assert one_se_index(d, se, edf) == 1  # 2.0 > 1.5, 6.0 > 3.0
    assert one_se_index(d, se * 2, edf) == 3
    assert one_se_index(d, np.full(4, np.nan), edf) == 0
    with pytest.raises(ValueError, match="d = 0"):
        one_se_index(d + 1, se, edf)


@pytest.mark.parametrize("case", LOO_CASES)
def test_criterion_columns_combine_the_pieces(case, loo_ref):
    L = loo_matrix(case)
    cols, check = criterion_columns("alo", L)
    res = paired_differences(L)
    np.testing.assert_array_equal(cols["d_alo"], res.d)
    np.testing.assert_array_equal(cols["d_alo_se"], res.se)
    np.testing.assert_array_equal(cols["p_worse_alo"], res.p_worse)
    assert tuple(cols["diag_alo"]) == res.diag
    # the weights behind cum_w/er/in_set are loo's pseudo-BMA (no bootstrap) weights
    ref = loo_ref[case]
    w = np.array(ref["pseudobma"])
    order = np.argsort(res.d, kind="stable")
    np.testing.assert_allclose(
        cols["cum_w_alo"][order], np.cumsum(w[order]), atol=1e-10
    )
    np.testing.assert_allclose(cols["er_alo"], w.max() / w, rtol=1e-8)
    assert check.n_candidates == L.shape[1]
    assert set(cols) == {c.format(c="alo") for c in UNCERTAINTY_COLUMNS}
