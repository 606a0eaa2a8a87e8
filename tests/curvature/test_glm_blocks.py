"""The fused dense GLM pass (issue 24 item 14) against the materialised design.

:func:`ticselect.curvature._glm_blocks.fused_dense` forms ``η``, the family's rows
and ``H``, ``C``, the gradient, its absolute scale and the row norms block by block,
with the intercept analytic (an appended √weight column) and the Bernoulli-logit and
Poisson-log rows from one exponential.  The reference here is independent of all
that: the family's own ``nll`` / ``eta_derivatives`` on the whole ``η``, and the
general accumulator on the design with a materialised column of ones
(``_accumulate_general``), or plain NumPy.  Tolerance 1e-12 relative: the two sum
the same terms in different orders and groupings (a few ulps per term, ~1e-15
relative on these sizes), and the shortcut rows round differently from the
family's ``expit``/``logaddexp`` by a few ulps.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import gammaln

from ticselect.curvature import _glm, _glm_blocks
from ticselect.curvature._families import get_family
from ticselect.curvature._glm import GLMSpec, glm_curvature
from ticselect.curvature._glm_blocks import accumulate_dense

CASES = {  # name -> (family, link, kwargs, y from eta)
    "bernoulli-logit": ("binomial", "logit", {}, "bernoulli"),
    "binomial-probit": ("binomial", "probit", {}, "bernoulli"),
    "binomial-counts": ("binomial", "logit", {"n_trials": "rows"}, "counts"),
    "poisson-log": ("poisson", "log", {}, "poisson"),
    "poisson-sqrt": ("poisson", "sqrt", {}, "poisson"),
    "gamma-log": ("gamma", "log", {}, "gamma"),  # ML dispersion: η formed first
    "gamma-identity": ("gamma", "identity", {}, "gamma"),  # ℓ'' < 0 on some rows
}


def _spec(case, rng, *, n=157, p=4, weighted=False, fit_intercept=True, offset=False):
    name, link, kwargs, kind = CASES[case]
    X = rng.normal(size=(n, p))
    coef = rng.normal(scale=0.4, size=(1, p))
    icpt = np.array([0.2]) if fit_intercept else None
    eta = X @ coef[0] + (0.2 if fit_intercept else 0.0)
    if kind == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif kind == "counts":
        kwargs = {"n_trials": rng.integers(1, 6, size=n).astype(float)}
        y = rng.binomial(kwargs["n_trials"].astype(int), 1 / (1 + np.exp(-eta)))
    elif kind == "poisson":
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
    else:
        y = rng.gamma(3.0, np.exp(0.5 * eta) / 3.0)
    if link in ("sqrt", "identity"):  # a positive linear predictor
        X, coef = np.abs(X), np.abs(coef) * 0.1 + 0.05
    w = rng.uniform(0.2, 3.0, size=n) if weighted else np.ones(n)
    if weighted:
        w[:5] = 0.0  # rows of zero weight
    return GLMSpec(
        family=get_family(name, link, **kwargs),
        X=X,
        y=np.asarray(y, dtype=float),
        coef=coef,
        intercept=icpt if fit_intercept else None,
        sample_weight=w,
        offset=rng.uniform(0.0, 0.1, size=n) if offset else None,
    )


def _reference(spec, phi):
    """Whole-array family rows and the general accumulator on ``[X, 1]``."""
    fam = spec.family
    eta = _glm._linear_predictor(spec)[:, 0]
    nll = fam.nll(spec.y, eta, phi)
    d1, d2 = fam.eta_derivatives(spec.y, eta, phi)
    H, C, grad, abs_grad = _glm._accumulate_general(
        spec.X,
        spec.sample_weight,
        d1[:, None],
        d2[:, None, None],
        spec.intercept is not None,
    )
    return eta, nll, d1, d2, H, C, grad, abs_grad


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("block_floats", [7, 64, 10**9])
def test_fused_equals_the_materialised_design(
    case, weighted, fit_intercept, block_floats
):
    rng = np.random.default_rng([list(CASES).index(case), weighted, fit_intercept])
    spec = _spec(
        case, rng, weighted=weighted, fit_intercept=fit_intercept, offset=weighted
    )
    phi = 1.7 if spec.family.has_dispersion else 1.0
    eta, nll, d1, d2, H, C, grad, abs_grad = _reference(spec, phi)
    given = eta.copy() if spec.family.has_dispersion else None
    out = _glm_blocks.fused_dense(spec, phi, given, block_floats=block_floats)
    tol = dict(rtol=1e-12, atol=1e-12 * np.abs(H).max())
    assert_allclose(out["eta"], eta, rtol=1e-12, atol=1e-14)
    assert_allclose(out["nll_rows"], nll, rtol=1e-12, atol=1e-14)
    assert_allclose(out["d1"], d1, rtol=1e-12, atol=1e-14)
    assert_allclose(out["d2"], d2, rtol=1e-12, atol=1e-14)
    assert_allclose(out["H"], H, **tol)
    assert_allclose(out["C"], C, rtol=1e-12, atol=1e-12 * np.abs(C).max())
    assert_allclose(out["grad"], grad, rtol=1e-12, atol=1e-12 * abs_grad.max())
    assert_allclose(out["abs_grad"], abs_grad, rtol=1e-12)
    assert_allclose(out["row_norms"], np.sum(spec.X**2, axis=1), rtol=1e-13)
    if case == "gamma-identity":  # the general-product blocks were exercised
        assert np.any(d2 < 0) and np.any(d2 > 0)


@pytest.mark.parametrize("case", ["bernoulli-logit", "poisson-log", "gamma-log"])
def test_public_curvature_matches_the_general_path(case, monkeypatch):
    """glm_curvature's fused route against its general route (forced) end to end:
    H and C with the dispersion border, gradient, NLL, per-sample NLL."""
    rng = np.random.default_rng(7)
    spec = _spec(case, rng, weighted=True, offset=True)
    fused = glm_curvature(spec, _point=(pf := {}))
    monkeypatch.setattr(_glm, "_fused_route", lambda X, m: False)
    general = glm_curvature(spec, _point=(pg := {}))
    assert_allclose(fused.hessian, general.hessian, rtol=1e-12, atol=1e-12)
    assert_allclose(fused.grad_cov, general.grad_cov, rtol=1e-12, atol=1e-12)
    assert_allclose(fused.gradient, general.gradient, rtol=1e-12, atol=1e-11)
    assert_allclose(fused.nll, general.nll, rtol=1e-13)
    assert_allclose(fused.per_sample_nll, general.per_sample_nll, rtol=1e-12)
    for key in ("eta", "d1", "d2"):
        assert_allclose(pf[key], pg[key], rtol=1e-12, atol=1e-14)
    assert pf["row_norms"] is not None and pg["row_norms"] is None


def test_bernoulli_logit_rows_at_extreme_predictors():
    """The one-exponential rows equal the family's at every scale of η, tails too."""
    fam = get_family("binomial", "logit")
    eta = np.r_[-800.0, -40.0, -1e-3, 0.0, 1e-3, 3.0, 40.0, 700.0]
    for y in (np.zeros(eta.size), np.ones(eta.size)):
        nll, d1, d2 = np.empty(eta.size), np.empty(eta.size), np.empty(eta.size)
        assert _glm_blocks._bernoulli_logit_rows(y, eta, nll, d1, d2)
        r1, r2 = fam.eta_derivatives(y, eta)
        assert_allclose(nll, fam.nll(y, eta), rtol=1e-14, atol=1e-300)
        assert_allclose(d1, r1, rtol=1e-14, atol=1e-300)
        assert_allclose(d2, r2, rtol=1e-14, atol=1e-300)


def test_poisson_underflow_reports_every_row():
    """A mean check failing in one block reports the count over all rows (the
    family's message), not the block's."""
    rng = np.random.default_rng(0)
    spec = _spec("poisson-log", rng, n=60)
    spec.X[[3, 30, 59], 0] = -1e4  # exp(η) = 0 in three different blocks
    with pytest.raises(ValueError, match=r"underflows to 0 for 3 sample"):
        _glm_blocks.fused_dense(spec, 1.0, block_floats=40)


def test_log_factorial_table_is_gammaln():
    """The Poisson rows' table of log k! is gammaln exactly; non-integer, large or
    negative values take gammaln itself."""
    y = np.r_[0.0, 1.0, 2.0, 7.0, 1023.0]
    assert np.array_equal(_glm_blocks._log_factorial(y), gammaln(y + 1.0))
    for y in (np.r_[0.0, 2.5], np.r_[3.0, 1024.0], np.r_[1.0, 5000.0]):
        assert np.array_equal(_glm_blocks._log_factorial(y), gammaln(y + 1.0))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_dense_block_sizes_agree(rng, fit_intercept):
    """The cache-blocked dense pass sums row blocks exactly, including a ragged last
    block and rows with negative curvature weights (non-PSD general product)."""
    X = rng.normal(size=(101, 4))
    w, r, h = rng.random(101), rng.normal(size=101), rng.normal(size=101)

    def rows(start, stop, _):
        return r[start:stop], h[start:stop]

    ref = accumulate_dense(X, w, fit_intercept, rows, block_floats=10**9)
    for block_floats in (4, 7, 40):
        out = accumulate_dense(X, w, fit_intercept, rows, block_floats=block_floats)
        for a, b in zip(out, ref, strict=True):
            assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    Xt = np.column_stack([X, np.ones(101)]) if fit_intercept else X
    assert_allclose(ref[0], Xt.T @ ((w * h)[:, None] * Xt), rtol=1e-12, atol=1e-12)
    assert_allclose(ref[1], Xt.T @ ((w * r**2)[:, None] * Xt), rtol=1e-12)
    assert_allclose(ref[2], Xt.T @ (w * r), rtol=1e-12, atol=1e-12)
    assert_allclose(ref[3], np.abs(Xt).T @ (w * np.abs(r)), rtol=1e-12)
