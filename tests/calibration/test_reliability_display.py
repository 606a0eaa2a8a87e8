"""Tests for ReliabilityDisplay (headless, Agg backend)."""

import matplotlib
import numpy as np
import pytest
from numpy.testing import assert_allclose

# matplotlib is a test dependency (pyproject [test]): a missing install must fail
# the suite, not skip this module silently.
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

from ticselect.calibration import expected_calibration_error, smooth_ece  # noqa: E402
from ticselect.calibration._display import ReliabilityDisplay  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_from_predictions_matches_calibration_curve_and_wilson(strategy):
    rng = np.random.default_rng(0)
    p = rng.beta(2, 3, size=800)
    y = (rng.uniform(size=800) < p).astype(int)
    disp = ReliabilityDisplay.from_predictions(
        y, p, n_bins=8, strategy=strategy, confidence=0.9
    )
    prob_true, prob_pred = calibration_curve(y, p, n_bins=8, strategy=strategy)
    assert_allclose(disp.prob_true, prob_true, rtol=1e-12)
    assert_allclose(disp.prob_pred, prob_pred, rtol=1e-12)
    counts = np.rint(disp.bin_weight).astype(int)
    successes = np.rint(disp.prob_true * counts).astype(int)
    lo, hi = proportion_confint(successes, counts, alpha=0.1, method="wilson")
    # closed-form Wilson interval in both: rounding only
    assert_allclose(disp.lower, lo, rtol=1e-10)
    assert_allclose(disp.upper, hi, rtol=1e-10)
    assert_allclose(
        disp.ece,
        expected_calibration_error(y, p, n_bins=8, strategy=strategy),
        rtol=1e-12,
    )
    assert disp.ax_ is not None and disp.figure_ is disp.ax_.figure
    assert_allclose(disp.line_.get_xdata(), disp.prob_pred)
    assert disp.band_ is not None


def test_from_estimator_multiclass_pipeline_and_plot_on_given_axes():
    X, y = make_classification(
        n_samples=400, n_classes=3, n_informative=4, random_state=0
    )
    labels = np.array(["a", "b", "c"])[y]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, labels)
    fig, ax = plt.subplots()
    disp = ReliabilityDisplay.from_estimator(model, X, labels, n_bins=5, ax=ax)
    assert disp.ax_ is ax
    assert "LogisticRegression" in disp.line_.get_label()
    prob = model.predict_proba(X)
    assert_allclose(disp.ece, expected_calibration_error(y, prob, n_bins=5), rtol=1e-12)
    # plot() again on new axes returns self and keeps the data
    fig2, ax2 = plt.subplots()
    assert disp.plot(ax=ax2, show_band=False, ref_line=False) is disp
    assert disp.band_ is None and disp.ax_ is ax2
    # class-wise view of one class
    d2 = ReliabilityDisplay.from_estimator(
        model, X, labels, multiclass="classwise", class_index=2, n_bins=5
    )
    assert_allclose(
        d2.prob_true,
        calibration_curve(y == 2, prob[:, 2], n_bins=5)[0],
        rtol=1e-12,
    )


def test_display_errors():
    with pytest.raises(ValueError, match="class_index"):
        ReliabilityDisplay.from_predictions(
            [0, 1], [[0.3, 0.7], [0.6, 0.4]], multiclass="classwise"
        )
    with pytest.raises(ValueError, match="confidence"):
        ReliabilityDisplay.from_predictions([0, 1], [0.3, 0.6], confidence=1.5)
    with pytest.raises(ValueError, match="predict_proba"):
        ReliabilityDisplay.from_estimator(object(), [[0.0]], [0])
    with pytest.raises(ValueError, match="NaN"):
        ReliabilityDisplay.from_predictions([0, 1], [0.3, np.nan])


def test_missing_matplotlib_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"ticselect\[plot\]"):
        ReliabilityDisplay.from_predictions([0, 1], [0.3, 0.6])


# --------------------------------------------------------------- smoothed curve
def _reflected_kernel(t, s, sigma, images=4):
    """Gaussian kernel reflected at 0 and 1 by explicit images (period 2)."""
    total = np.zeros(np.broadcast(t, s).shape)
    for j in range(-images, images + 1):
        for u in (s + 2 * j, -s + 2 * j):
            total += np.exp(-((t - u) ** 2) / (2 * sigma**2))
    return total / (sigma * np.sqrt(2 * np.pi))


def test_smooth_curve_is_the_kernel_regression_of_the_residuals():
    rng = np.random.default_rng(3)
    p = rng.beta(2, 3, size=600)
    y = (rng.uniform(size=600) < p**1.3).astype(int)
    disp = ReliabilityDisplay.from_predictions(
        y, p, kind="smooth", n_resamples=50, random_state=0
    )
    assert disp.kind == "smooth" and disp.prob_true.shape == (200,)
    t = disp.prob_pred
    assert_allclose([t[0], t[-1]], np.quantile(p, [0.005, 0.995]), rtol=1e-12)
    k = _reflected_kernel(t[:, None], p[None, :], disp.bandwidth)
    mu = t + (k @ (y - p)) / k.sum(axis=1)
    # cosine series truncated at 1e-16 against 9 explicit images: rounding only
    assert_allclose(disp.prob_true, mu, rtol=1e-10, atol=1e-12)
    assert_allclose(disp.bin_weight, k.mean(axis=1), rtol=1e-10)
    # the bandwidth is smooth ECE's fixed point, shown in the legend
    assert_allclose(disp.ece, smooth_ece(y, p), rtol=1e-12)
    assert_allclose(disp.bandwidth, disp.ece, rtol=1e-8)
    assert "smECE" in disp.line_.get_label()


def test_smooth_band_is_a_bootstrap_band():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.05, 0.95, size=800)
    y = (rng.uniform(size=800) < p).astype(int)
    a = ReliabilityDisplay.from_predictions(
        y, p, kind="smooth", n_resamples=200, random_state=1
    )
    b = ReliabilityDisplay.from_predictions(
        y, p, kind="smooth", n_resamples=200, random_state=1
    )
    assert_allclose(a.lower, b.lower, rtol=0) and assert_allclose(a.upper, b.upper)
    assert np.all(a.lower < a.upper)
    # integer weights stand for repeated rows: the same band
    w = rng.integers(1, 3, size=800)
    rep = np.repeat(np.arange(800), w)
    c = ReliabilityDisplay.from_predictions(
        y, p, kind="smooth", sample_weight=w, n_resamples=50, random_state=2
    )
    d = ReliabilityDisplay.from_predictions(
        y[rep], p[rep], kind="smooth", n_resamples=50, random_state=2
    )
    assert_allclose([c.lower, c.upper], [d.lower, d.upper], rtol=1e-9)
    # a calibrated model: the 95 % band holds the diagonal over most of the range
    # and its width shrinks like 1/sqrt(n) (four times the rows: about half)
    inside = np.mean((a.lower <= a.prob_pred) & (a.prob_pred <= a.upper))
    assert inside > 0.8
    p4 = rng.uniform(0.05, 0.95, size=3200)
    y4 = (rng.uniform(size=3200) < p4).astype(int)
    e = ReliabilityDisplay.from_predictions(
        y4, p4, kind="smooth", n_resamples=200, random_state=1
    )
    # the bandwidth shrinks too (smECE's fixed point), which widens the band
    # again: between a third and three quarters of the width
    ratio = np.median(e.upper - e.lower) / np.median(a.upper - a.lower)
    assert 0.3 < ratio < 0.75


def test_smooth_band_renders():
    # draw the band on a blank figure and read the pixels back: the band colour
    # fills the area between lower and upper at a point where the band is wide,
    # and not the area far above it
    rng = np.random.default_rng(5)
    p = rng.beta(2, 2, size=300)
    y = (rng.uniform(size=300) < p).astype(int)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    disp = ReliabilityDisplay.from_predictions(
        y, p, kind="smooth", n_resamples=100, random_state=0, ax=ax, ref_line=False
    )
    ax.get_legend().remove()
    disp.line_.set_visible(False)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(float)
    height = image.shape[0]
    inner = slice(20, 180)  # away from the polygon's antialiased ends
    j = 20 + int(np.argmax((disp.upper - disp.lower)[inner]))
    x = disp.prob_pred[j]

    def pixel(yv):
        px, py = ax.transData.transform((x, yv))
        return image[height - int(round(py)), int(round(px))]

    band = np.array(disp.band_.get_facecolor()[0][:3]) * 255
    alpha = disp.band_.get_alpha()
    expected = alpha * band + (1 - alpha) * 255  # blended over the white axes
    mid = 0.5 * (disp.lower[j] + disp.upper[j])
    assert_allclose(pixel(mid), expected, atol=3)
    far = min(1.0, disp.upper[j] + 0.3) if disp.upper[j] < 0.7 else disp.lower[j] - 0.3
    assert_allclose(pixel(far), [255, 255, 255], atol=1)
    # the polygon follows the band's edges
    verts = disp.band_.get_paths()[0].vertices
    assert_allclose(verts[:, 1].min(), disp.lower.min(), rtol=1e-12)
    assert_allclose(verts[:, 1].max(), disp.upper.max(), rtol=1e-12)


def test_binned_display_auto_bins_and_kind_errors():
    rng = np.random.default_rng(6)
    p = rng.uniform(size=1000)
    y = (rng.uniform(size=1000) < p).astype(int)
    disp = ReliabilityDisplay.from_predictions(y, p, n_bins="auto")
    assert disp.prob_true.shape == (10,)  # ceil(1000^(1/3))
    assert_allclose(disp.prob_true, calibration_curve(y, p, n_bins=10)[0], rtol=1e-12)
    with pytest.raises(ValueError, match="kind must be one of"):
        ReliabilityDisplay.from_predictions(y, p, kind="isotonic")
