"""Stacking and pseudo-BMA(+) weights: R loo's values, optimality, invariances."""

import numpy as np
import pytest
from scipy import special

from tests.reference import LOO_CASES, loo_matrix, loo_reference
from ticselect.selection._weights import pseudo_bma_weights, stacking_weights


@pytest.fixture(scope="module")
def loo_ref():
    return loo_reference()


@pytest.mark.parametrize("case", LOO_CASES)
def test_stacking_equals_loo_model_weights(case, loo_ref):
    # R's constrOptim run with reltol = 1e-14 (its defaults stop ~1e-3 short of
    # the optimum on diabetes_small, stored as stacking_default for the record)
    w = stacking_weights(loo_matrix(case))
    np.testing.assert_allclose(w, loo_ref[case]["stacking"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("case", LOO_CASES)
def test_pseudo_bma_equals_loo(case, loo_ref):
    L = loo_matrix(case)
    plain = pseudo_bma_weights(L, bootstrap=False)
    np.testing.assert_allclose(plain, loo_ref[case]["pseudobma"], rtol=0, atol=1e-12)
    # Bayesian bootstrap, 1e5 replicates on each side: a weight per replicate lies
    # in [0, 1] (sd <= 0.5), so the difference of the two means has sd <=
    # 0.5·sqrt(2/1e5) = 2.2e-3; 4 sd = 9e-3
    plus = pseudo_bma_weights(L, n_bootstrap=100_000, random_state=0)
    np.testing.assert_allclose(plus, loo_ref[case]["pseudobma_plus"], atol=9e-3)


def _log_score(L, w):
    return np.sum(special.logsumexp(-L / 2, b=w, axis=1))


@pytest.mark.parametrize("case", LOO_CASES)
def test_stacking_is_optimal(case):
    """KKT on the simplex: equal gradients on the support, lower elsewhere."""
    L = loo_matrix(case)
    w = stacking_weights(L)
    assert np.isclose(w.sum(), 1.0, atol=1e-14) and np.all(w >= 0)
    E = np.exp(-L / 2)
    grad = E.T @ (1 / (E @ w))  # ∂ log score / ∂w
    on = w > 1e-8
    assert np.ptp(grad[on]) < 1e-7 * grad[on].max()
    assert np.all(grad[~on] <= grad[on].max() * (1 + 1e-7))
    rng = np.random.default_rng(0)
    best = _log_score(L, w)
    for _ in range(200):  # no random simplex point does better
        assert _log_score(L, rng.dirichlet(np.ones(L.shape[1]))) <= best + 1e-9


def test_stacking_invariances():
    rng = np.random.default_rng(1)
    L = rng.gamma(3.0, 1.0, size=(60, 4))
    counts = rng.integers(0, 3, size=60)
    a = stacking_weights(L, sample_weight=counts)
    b = stacking_weights(np.repeat(L, counts, axis=0))
    np.testing.assert_allclose(a, b, atol=1e-8)
    perm = rng.permutation(4)
    np.testing.assert_allclose(
        stacking_weights(L[:, perm]), stacking_weights(L)[perm], atol=1e-8
    )
    # adding a constant per row (e.g. a change of units of y) changes nothing
    shift = rng.normal(size=(60, 1))
    np.testing.assert_allclose(
        stacking_weights(L + shift), stacking_weights(L), atol=1e-8
    )
    assert stacking_weights(L[:, :1]).tolist() == [1.0]


def test_pseudo_bma_plus_properties():
    rng = np.random.default_rng(2)
    L = rng.normal(2, 1, size=(200, 3)) + [0.0, 0.01, 0.2]
    plus = pseudo_bma_weights(L, random_state=0)
    again = pseudo_bma_weights(L, random_state=0)
    assert plus.tolist() == again.tolist()
    assert np.isclose(plus.sum(), 1.0)
    plain = pseudo_bma_weights(L, bootstrap=False)
    # the bootstrap shrinks the winner's weight: its advantage is partly noise
    assert plus.max() < plain.max()
    counts = rng.integers(1, 3, size=200)
    np.testing.assert_allclose(
        pseudo_bma_weights(L, counts, bootstrap=False),
        pseudo_bma_weights(np.repeat(L, counts, axis=0), bootstrap=False),
        rtol=1e-10,
    )


def test_bad_input():
    with pytest.raises(ValueError, match="non-finite"):
        stacking_weights(np.array([[1.0, np.inf], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="2-D"):
        stacking_weights(np.ones(3))
    with pytest.raises(ValueError, match="n_bootstrap"):
        pseudo_bma_weights(np.ones((3, 2)), n_bootstrap=0)
    with pytest.raises(ValueError, match="one entry per row"):
        pseudo_bma_weights(np.ones((3, 2)), sample_weight=np.ones(2))
