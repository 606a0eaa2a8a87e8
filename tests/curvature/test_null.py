"""The null model's closed-form intercept (issue 24 item 14) against Newton's."""

from dataclasses import replace

import numpy as np
import pytest
import statsmodels.api as sm

from ticselect.curvature import _null
from ticselect.curvature._families import get_family
from ticselect.curvature._glm import GLMSpec

# (family, link, family kwargs, response generator, a valid start for Newton: an
# intercept near, not at, the optimum); every link the families take
CASES = [
    ("binomial", "logit", {}, lambda r, n: (r.random(n) < 0.3).astype(float), 0.0),
    ("binomial", "probit", {}, lambda r, n: (r.random(n) < 0.7).astype(float), 0.0),
    ("binomial", "cloglog", {}, lambda r, n: (r.random(n) < 0.4).astype(float), 0.0),
    ("poisson", "log", {}, lambda r, n: r.poisson(2.5, n).astype(float), 0.0),
    ("poisson", "sqrt", {}, lambda r, n: r.poisson(2.5, n).astype(float), 1.0),
    ("gaussian", "identity", {}, lambda r, n: r.normal(1.0, 2.0, n), 0.0),
    ("gaussian", "log", {}, lambda r, n: r.gamma(3.0, 1.0, n), 0.0),
    ("gamma", "log", {}, lambda r, n: r.gamma(2.0, 1.5, n), 0.0),
    ("gamma", "inverse", {}, lambda r, n: r.gamma(2.0, 1.5, n), 0.5),
    ("inverse_gaussian", "inverse_squared", {}, lambda r, n: r.wald(1.5, 4.0, n), 0.3),
    (
        "negative_binomial",
        "log",
        {"alpha": 0.7},
        lambda r, n: r.poisson(3.0, n) * 1.0,
        0.0,
    ),
]


def _spec(name, link, kwargs, y, w, offset=None):
    return GLMSpec(
        family=get_family(name, link, **kwargs),
        X=np.zeros((y.size, 0)),
        y=y,
        coef=np.zeros((1, 0)),
        intercept=np.zeros(1),
        sample_weight=w,
        offset=offset,
    )


_DISPERSION = ("gaussian", "gamma", "inverse_gaussian")


@pytest.mark.parametrize(
    "name, link, kwargs, draw, start, phi_is_param",
    [(*c, False) for c in CASES] + [(*c, True) for c in CASES if c[0] in _DISPERSION],
)
def test_closed_form_intercept_equals_newton(
    name, link, kwargs, draw, start, phi_is_param
):
    rng = np.random.default_rng(3)
    y = draw(rng, 300)
    w = rng.uniform(0.2, 3.0, 300)
    spec = _spec(name, link, kwargs, y, w)
    phi = 1.3 if spec.family.has_dispersion else None
    closed = _null.null_nll(spec, phi, phi_is_param)
    # an all-zero offset is the same model, fitted by damped Newton to 1e-13 from the
    # fitted linear predictor (here the constant ``start``)
    iterated = replace(spec, offset=np.zeros(300), intercept=np.array([start]))
    newton = _null.null_nll(iterated, phi, phi_is_param)
    # both are the optimum of a smooth 1-D problem: agreement to rounding (the NLL is
    # O(300) nats, Newton stops at a step of 1e-13)
    assert closed == pytest.approx(newton, rel=1e-11, abs=1e-9)


def test_binomial_trials_and_statsmodels_llnull():
    rng = np.random.default_rng(0)
    trials = rng.integers(1, 9, 200).astype(float)
    k = rng.binomial(trials.astype(int), 0.35).astype(float)
    x = rng.normal(size=200)
    res = sm.GLM(
        np.column_stack([k, trials - k]),
        sm.add_constant(x),
        family=sm.families.Binomial(),
    ).fit()
    spec = GLMSpec(
        family=get_family("binomial", "logit", n_trials=trials),
        X=np.zeros((200, 0)),
        y=k,
        coef=np.zeros((1, 0)),
        intercept=np.zeros(1),
        sample_weight=np.ones(200),
    )
    assert -_null.null_nll(spec, None, False) == pytest.approx(res.llnull, rel=1e-12)


def test_no_newton_without_an_offset(monkeypatch):
    """The intercept of a model without offset is g(ȳ): no iteration, one NLL pass."""

    def refuse(*args, **kwargs):
        raise AssertionError("Newton's iteration ran for a model without offset")

    monkeypatch.setattr(_null, "_null_intercept", refuse)
    y = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    spec = _spec("binomial", "logit", {}, y, np.ones(6))
    p = 4 / 6
    expected = -(4 * np.log(p) + 2 * np.log(1 - p))
    assert _null.null_nll(spec, None, False) == pytest.approx(expected, rel=1e-14)


def test_boundary_mean_falls_back_to_newton():
    """ȳ = 0 under a log link has no finite intercept: the iterative path decides."""
    spec = _spec("poisson", "log", {}, np.zeros(5), np.ones(5))
    out = _null.null_nll(spec, None, False)
    assert out is None or (np.isfinite(out) and out >= 0)
