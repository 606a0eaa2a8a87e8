"""Property-based tests (hypothesis) of approximate leave-one-out (issue 24).

Over random GLM designs (Gaussian, binomial, Poisson, multinomial; penalised or
not; integer weights):

- the rows' order does not matter: ALO of permuted data is the permuted ALO;
- integer weights are frequency weights, left out whole (the convention of
  :mod:`ticselect.selection._loo`): a row of weight 1 has the value of its single
  copy in the duplicated data, and a row of weight 2, refined to its exact
  leave-one-out fit, the NLL of a refit on the duplicated data without both copies;
- the totals are the sums of the parts: ``Σ wᵢ pointwise = loo_nll``, ``loo =
  2 loo_nll``.

Examples are bounded and derandomised so that the module stays under a minute.
"""

import warnings

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.base import clone

import ticselect as ts

from ..curvature.test_identification_properties import _data as _glm_data
from ..curvature.test_identification_properties import _model

SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
families = st.sampled_from(["gaussian", "binomial", "poisson", "multinomial"])


def _data(family, n, p, seed):
    """The designs of the criteria's property tests, with weights 1 or 2."""
    X, y = _glm_data(family, n, p, seed)
    w = np.random.default_rng(seed + 7).integers(1, 3, size=n).astype(float)
    return X, y, w


def _fitted(family, penalised, X, y, w):
    model = _model(family, penalised)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # solver chatter
        return model.fit(X, y, sample_weight=w)


def _alo(model, X, y, w, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation, leverage-1 rows: documented
        return ts.approximate_loo(ts.curvature(model, X, y, w), **kw)


def _row_nll(family, fit, x, yi, sigma2):
    if family == "gaussian":
        return -stats.norm.logpdf(yi, fit.predict(x)[0], np.sqrt(sigma2))
    if family == "poisson":
        return -stats.poisson.logpmf(yi, fit.predict(x)[0])
    proba = fit.predict_proba(x)[0]
    return -np.log(proba[list(fit.classes_).index(yi)])


@SETTINGS
@given(
    family=families,
    n=st.integers(20, 40),
    p=st.integers(1, 3),
    penalised=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_row_order_does_not_matter(family, n, p, penalised, seed):
    X, y, w = _data(family, n, p, seed)
    model = _fitted(family, penalised, X, y, w)
    perm = np.random.default_rng(seed + 1).permutation(n)
    a = _alo(model, X, y, w)
    b = _alo(model, X[perm], y[perm], w[perm])
    # the same fitted model: the same per-row quantities in another order.  One-step
    # values are sums in another order (rounding); refined rows stop at a Newton
    # decrement of 1e-10 nats, which the row's NLL can amplify to ~1e-6
    for name in ("leverage", "high_leverage", "refined", "no_fit"):
        assert_allclose(getattr(b, name), getattr(a, name)[perm], rtol=1e-8, atol=1e-12)
    one = ~a.refined[perm]
    assert_allclose(b.pointwise[one], a.pointwise[perm][one], rtol=1e-9)
    assert_allclose(b.pointwise, a.pointwise[perm], rtol=1e-5)
    assert_allclose(b.loo, a.loo, rtol=1e-5)


@settings(SETTINGS, max_examples=10)
@given(
    family=families,
    n=st.integers(15, 22),
    penalised=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_weights_are_rows_left_out_whole(family, n, penalised, seed):
    X, y, w = _data(family, n, 2, seed)
    model = _fitted(family, penalised, X, y, w)
    rows = np.repeat(np.arange(n), w.astype(int))
    every = {"refine_tol": 1e-12, "max_refine": 10 * n}  # refine every row
    weighted = _alo(model, X, y, w, **every)
    # separated classes: the MLE (and with it every left-out fit) is at infinity,
    # where refinement and refits stop wherever their tolerances say
    assume(weighted.n_no_fit == 0 and "separation" not in weighted.flags)
    dup = _alo(model, X[rows], y[rows], None, **every)
    # the same fit and the same sums: a row of weight 1 is its single copy
    first = np.searchsorted(rows, np.arange(n))
    # rows whose left-out fit runs towards separation (NLL above 30 nats: a
    # probability below 1e-13) have no digits to compare: where Newton stops decides
    single = (w == 1) & (weighted.pointwise < 30)
    assert_allclose(
        weighted.pointwise[single], dup.pointwise[first][single], rtol=1e-6
    )  # fmt: skip (refined to a 1e-10 nats decrement)
    # a row of weight 2 is both copies left out: a refit on the duplicated data
    n_dup = rows.size
    for i in np.flatnonzero((w == 2) & (weighted.pointwise < 30))[:3]:
        keep = rows != i
        fit = clone(model)
        if family == "poisson":  # scikit-learn averages: same penalty in loss units
            fit.set_params(alpha=model.alpha * n_dup / keep.sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit.fit(X[rows][keep], y[rows][keep])
        sigma2 = None
        if family == "gaussian":  # the refit's ML variance
            sigma2 = np.mean((y[rows][keep] - fit.predict(X[rows][keep])) ** 2)
        exact = _row_nll(family, fit, X[i : i + 1], y[i], sigma2)
        # refinement to 1e-10 nats vs the solvers' 1e-12 tolerance, amplified by
        # the row's NLL gradient
        assert_allclose(weighted.pointwise[i], exact, rtol=1e-5)


@SETTINGS
@given(
    family=families,
    n=st.integers(15, 60),
    p=st.integers(1, 4),
    penalised=st.booleans(),
    seed=st.integers(0, 2**16),
    refine=st.booleans(),
)
def test_pointwise_sums_to_the_total(family, n, p, penalised, seed, refine):
    X, y, w = _data(family, n, p, seed)
    model = _fitted(family, penalised, X, y, w)
    alo = _alo(model, X, y, w, refine=refine)
    assert_allclose(alo.loo_nll, np.sum(w * alo.pointwise), rtol=1e-12)
    assert alo.loo == 2 * alo.loo_nll
    # infinite where a row has no leave-one-out fit, or (one step, refine=False)
    # where its step leaves the parameter space (a dispersion ≤ 0); flagged either way
    assert np.isinf(alo.loo_nll) == bool(np.any(~np.isfinite(alo.pointwise)))
    assert np.all(np.isinf(alo.pointwise[alo.no_fit]))
    assert np.all(alo.high_leverage[~np.isfinite(alo.pointwise)])
    assert_allclose(alo.n_samples, w.sum())
