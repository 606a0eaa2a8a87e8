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

from ticselect.calibration import expected_calibration_error  # noqa: E402
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
