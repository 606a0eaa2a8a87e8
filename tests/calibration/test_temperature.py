"""Log-loss decomposition and temperature scaling.

Oracles: scipy's bounded scalar minimiser of the log-loss over the temperature
(``sklearn.metrics.log_loss`` of the rescaled forecasts), scikit-learn's own
``CalibratedClassifierCV(FrozenEstimator(...), method="temperature")`` predictions,
closed-form limits, and invariances (duplicated rows, class relabelling).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import optimize, special
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits, make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.calibration import (
    brier_decomposition,
    fitted_temperature,
    log_loss_decomposition,
    scale_logits,
    temperature_scale,
)
from ticselect.calibration._temperature import (
    SKLEARN_TEMPERATURE,
    _TemperatureScaledClassifier,
)


def _forecasts(n, k, seed, sharpen=1.0):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=1.5, size=(n, k))
    q = special.softmax(z, axis=1)
    y = np.array([rng.choice(k, p=row) for row in q])
    return y, special.softmax(sharpen * z, axis=1)


def _scipy_refinement(y, prob, w=None):
    """Log-loss after the best temperature, by a bounded scalar minimiser."""
    logp = np.log(prob)
    labels = np.arange(prob.shape[1])

    def loss(log_t):
        p = special.softmax(logp / np.exp(log_t), axis=1)
        return log_loss(y, p, sample_weight=w, labels=labels)

    res = optimize.minimize_scalar(
        loss, bounds=(-5, 5), method="bounded", options={"xatol": 1e-12}
    )
    return res.fun, float(np.exp(res.x))


@pytest.mark.parametrize("k, sharpen", [(2, 2.5), (4, 0.5), (6, 1.8)])
def test_refinement_is_the_log_loss_after_the_best_temperature(k, sharpen):
    y, prob = _forecasts(700, k, seed=k, sharpen=sharpen)
    w = np.random.default_rng(1).integers(1, 4, size=700).astype(float)
    for weights in (None, w):
        d = log_loss_decomposition(y, prob, sample_weight=weights)
        ref, t_ref = _scipy_refinement(y, prob, weights)
        # both at the minimum of a smooth convex function: the loss agrees to
        # O(Δβ²), far below 1e-8; the temperature to the minimiser's xatol
        assert_allclose(d.refinement, ref, rtol=0, atol=1e-8)
        assert_allclose(d.temperature, t_ref, rtol=1e-6)
        assert_allclose(
            d.log_loss, log_loss(y, prob, sample_weight=weights), rtol=1e-12
        )
        # the parts sum to the log-loss (subtraction then addition: one rounding)
        assert abs(d.refinement + d.calibration - d.log_loss) <= 4e-16 * d.log_loss
        assert d.calibration >= 0.0
    # over-confident forecasts (logits sharpened) need T > 1, soft ones T < 1
    assert (d.temperature > 1) == (sharpen > 1)


def test_binary_1d_equals_two_columns_and_recovers_the_temperature():
    rng = np.random.default_rng(3)
    q = rng.uniform(0.02, 0.98, size=20_000)
    y = (rng.uniform(size=q.size) < q).astype(int)
    sharp = special.expit(2.0 * special.logit(q))
    one = log_loss_decomposition(y, sharp)
    two = log_loss_decomposition(y, np.column_stack([1 - sharp, sharp]))
    assert_allclose(tuple(one), tuple(two), rtol=1e-12)
    # the population optimum is T = 2; SE of the fitted T at n = 20000 is ~0.03
    assert_allclose(one.temperature, 2.0, atol=0.1)


def test_calibration_part_vanishes_for_temperature_optimal_forecasts():
    y, prob = _forecasts(500, 3, seed=4, sharpen=2.0)
    d = log_loss_decomposition(y, prob)
    optimal = special.softmax(np.log(prob) / d.temperature, axis=1)
    d2 = log_loss_decomposition(y, optimal)
    # rescaling by the fitted T gives forecasts whose best temperature is 1 and
    # whose log-loss is the refinement of the originals
    assert_allclose(d2.temperature, 1.0, rtol=1e-9)
    assert d2.calibration <= 1e-14
    assert_allclose(d2.log_loss, d.refinement, rtol=1e-12)
    assert_allclose(d2.refinement, d.refinement, rtol=1e-12)


def test_invariances_duplication_and_relabelling():
    y, prob = _forecasts(300, 4, seed=5, sharpen=1.5)
    w = np.random.default_rng(2).integers(1, 4, size=300)
    rep = np.repeat(np.arange(300), w)
    assert_allclose(
        tuple(log_loss_decomposition(y, prob, sample_weight=w)),
        tuple(log_loss_decomposition(y[rep], prob[rep])),
        rtol=1e-10,
    )
    perm = np.array([2, 0, 3, 1])
    inv = np.argsort(perm)
    assert_allclose(
        tuple(log_loss_decomposition(inv[y], prob[:, perm])),
        tuple(log_loss_decomposition(y, prob)),
        rtol=1e-12,
    )


def test_limits_of_the_temperature():
    # every row's class has the largest probability: sharpening without bound
    d = log_loss_decomposition([0, 1, 1], [[0.7, 0.3], [0.4, 0.6], [0.1, 0.9]])
    assert d.temperature == 0.0 and d.refinement == 0.0
    assert_allclose(d.calibration, d.log_loss)
    # a tie at the top counts log 2 in the limit
    d = log_loss_decomposition([0, 1], [[0.5, 0.5], [0.2, 0.8]])
    assert d.temperature == 0.0
    assert_allclose(d.refinement, np.log(2) / 2)
    # anti-informative forecasts: the uniform forecast is best (T = inf)
    d = log_loss_decomposition([1, 0, 1, 0], [0.2, 0.9, 0.3, 0.7])
    assert d.temperature == np.inf
    assert_allclose(d.refinement, np.log(2), rtol=1e-12)
    # uniform forecasts: no temperature changes them
    d = log_loss_decomposition([0, 1, 2], np.full((3, 3), 1 / 3))
    assert d.temperature == 1.0 and d.calibration == 0.0


def test_documented_beside_the_brier_decomposition():
    y, prob = _forecasts(400, 3, seed=6, sharpen=2.0)
    ll = log_loss_decomposition(y, prob)
    bd = brier_decomposition(y, prob)
    # both split a proper score into a part recalibration removes and the rest:
    # the over-confident forecasts have a positive calibration part in both
    assert ll.calibration > 0.05 and bd.reliability > 0.01
    softened = special.softmax(np.log(prob) / ll.temperature, axis=1)
    assert brier_decomposition(y, softened).reliability < bd.reliability


# ------------------------------------------------------------ recalibration
@pytest.fixture(scope="module")
def digits_net():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    net = MLPClassifier(
        (16,),
        activation="tanh",
        solver="lbfgs",
        alpha=1e-4,
        max_iter=500,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X[:500], y[:500])
    return net, X, y


@pytest.mark.skipif(not SKLEARN_TEMPERATURE, reason="scikit-learn < 1.8")
def test_temperature_scale_is_sklearns_temperature_scaling(digits_net):
    net, X, y = digits_net
    ours = temperature_scale(net, X[500:1100], y[500:1100])
    ref = CalibratedClassifierCV(FrozenEstimator(net), method="temperature")
    ref.fit(X[500:1100], y[500:1100])
    assert_array_equal(ours.predict_proba(X[1100:]), ref.predict_proba(X[1100:]))
    # binary, with a decision function and string labels, in a pipeline
    Xb, yb = make_classification(n_samples=800, random_state=0)
    labels = np.array(["no", "yes"])[yb]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=100.0))
    model.fit(Xb[:400], labels[:400])
    ours = temperature_scale(model, Xb[400:], labels[400:])
    ref = CalibratedClassifierCV(FrozenEstimator(model), method="temperature")
    ref.fit(Xb[400:], labels[400:])
    assert_array_equal(ours.predict_proba(Xb), ref.predict_proba(Xb))


def test_fitted_temperature_on_the_probabilities(digits_net):
    net, X, y = digits_net
    p = net.predict_proba(X[1100:])
    # exact logits: the recalibrated forecasts are softmax(log p / T) and T is
    # the log-loss decomposition's temperature on the calibration rows
    cal = temperature_scale(net, X[500:1100], y[500:1100], exact_logits=True)
    T = fitted_temperature(cal)
    assert_allclose(
        cal.predict_proba(X[1100:]),
        special.softmax(np.log(p) / T, axis=1),
        rtol=1e-12,
        atol=1e-15,
    )
    d = log_loss_decomposition(y[500:1100], net.predict_proba(X[500:1100]))
    # scikit-learn's Brent (xatol 64 eps on log β) against our Newton
    assert_allclose(T, d.temperature, rtol=1e-7)
    assert T > 1  # a converged net with no weight decay is over-confident
    # scikit-learn's own logits log(p + 1e-12) cap the logits of probabilities
    # far below 1e-12, and this net has many: a different temperature
    t0 = fitted_temperature(temperature_scale(net, X[500:1100], y[500:1100]))
    assert p.min() < 1e-14 and abs(t0 - T) > 0.05 * T
    # with weight decay no probability is that small: the two agree (the offset
    # moves each logit by at most 1e-12/p)
    soft = MLPClassifier(
        (16,),
        activation="tanh",
        solver="lbfgs",
        alpha=3.0,
        max_iter=500,
        random_state=0,
    ).fit(X[:500], y[:500])
    assert soft.predict_proba(X[500:1100]).min() > 1e-8
    t_soft = fitted_temperature(temperature_scale(soft, X[500:1100], y[500:1100]))
    t_exact = fitted_temperature(
        temperature_scale(soft, X[500:1100], y[500:1100], exact_logits=True)
    )
    assert_allclose(t_soft, t_exact, rtol=1e-4)
    # binary logistic regression: scikit-learn scales (-d, d), so T = 1/(2β)
    Xb, yb = make_classification(n_samples=1000, random_state=1)
    lr = LogisticRegression(C=1e-2).fit(Xb[:500], yb[:500])
    cal = temperature_scale(lr, Xb[500:], yb[500:])
    pb = lr.predict_proba(Xb[500:])[:, 1]
    assert_allclose(
        cal.predict_proba(Xb[500:])[:, 1],
        special.expit(special.logit(pb) / fitted_temperature(cal)),
        rtol=1e-10,
    )
    dd = log_loss_decomposition(yb[500:], pb)
    assert_allclose(fitted_temperature(cal), dd.temperature, rtol=1e-6)


def test_fallback_matches_sklearn(digits_net):
    net, X, y = digits_net
    fallback = _TemperatureScaledClassifier(net).fit(X[500:1100], y[500:1100])
    ref = temperature_scale(net, X[500:1100], y[500:1100])
    # Newton on β against scikit-learn's Brent on log β (xatol 64 eps): the
    # predictions agree to the optimisers' tolerance
    assert_allclose(
        fallback.predict_proba(X[1100:]), ref.predict_proba(X[1100:]), atol=1e-8
    )
    assert_allclose(fitted_temperature(fallback), fitted_temperature(ref), rtol=1e-7)
    assert_array_equal(fallback.predict(X[1100:]), ref.predict(X[1100:]))


def test_scale_logits_and_errors(digits_net):
    net, X, y = digits_net
    before = [c.copy() for c in net.coefs_]
    scaled = scale_logits(net, 2.5)
    p = net.predict_proba(X[:50])
    assert_allclose(
        scaled.predict_proba(X[:50]),
        special.softmax(np.log(p) / 2.5, axis=1),
        rtol=1e-9,
        atol=1e-14,
    )
    assert all(np.array_equal(a, b) for a, b in zip(before, net.coefs_, strict=True))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:300], y[:300])
    pm = model.predict_proba(X[:50])
    assert_allclose(
        scale_logits(model, 0.5).predict_proba(X[:50]),
        special.softmax(np.log(pm) / 0.5, axis=1),
        rtol=1e-9,
        atol=1e-14,
    )
    with pytest.raises(TypeError, match="scale_logits supports"):
        scale_logits(make_pipeline(StandardScaler()).fit(X), 2.0)
    with pytest.raises(ValueError, match="temperature must be"):
        scale_logits(net, 0.0)
    with pytest.raises(ValueError, match="predict_proba"):
        temperature_scale(StandardScaler().fit(X), X, y)
    with pytest.raises(TypeError, match="fitted_temperature takes"):
        fitted_temperature(net)


def test_calibrated_soft_rank_gap_is_the_benchmark_recipe(digits_net):
    net, X, y = digits_net
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gap = ts.calibrated_soft_rank_gap(
            net, X[:500], y[:500], X[500:1100], y[500:1100]
        )
        cal = temperature_scale(net, X[500:1100], y[500:1100], exact_logits=True)
        T = fitted_temperature(cal)
        manual = ts.criteria(
            ts.curvature(
                scale_logits(net, T), X[:500], y[:500], stationarity_tol=np.inf
            )
        )
    assert gap.temperature == T
    assert gap.soft_rank_gap_estimate == manual.soft_rank_gap_estimate
    # the benchmark's former temperature: a bounded minimiser of the held-out
    # log-loss of softmax(log p / T) over log T in (-4, 4)
    _, t_bench = _scipy_refinement(y[500:1100], net.predict_proba(X[500:1100]))
    assert_allclose(T, t_bench, rtol=1e-6)
    assert gap.soft_rank_gap_estimate > 0
