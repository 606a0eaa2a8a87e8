"""Temperature scaling of a miscalibrated network, with its intervals
===================================================================

A small network trained to convergence on the digits with almost no weight decay
is over-confident: its held-out accuracy is good, its probabilities are too
sharp.  The calibration metrics of ``ticselect.calibration`` say by how much, with
95 % bootstrap intervals (``ci=0.95``: rows of the test split resampled, the
metric recomputed on each resample), and the log-loss decomposition says how much
of the test log-loss the best temperature would remove.

The repair is scikit-learn's own temperature scaling,
``CalibratedClassifierCV(FrozenEstimator(net), method="temperature")``, fitted on a
calibration split that neither trained the network nor tests it
(:func:`ticselect.calibration.temperature_scale`).  After it, the same metrics and
the smoothed reliability diagram with its bootstrap band, and the soft-rank gap
estimate of the temperature-scaled network (Shoham et al. state it for calibrated
models; :func:`ticselect.calibrated_soft_rank_gap`).

Run: ``python examples/temperature_scaling.py`` (about half a minute).
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from ticselect.calibration import (
    calibration_slope,
    expected_calibration_error,
    fitted_temperature,
    log_loss_decomposition,
    smooth_ece,
    temperature_scale,
)

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_rest, y_train, y_rest = train_test_split(
    X, y, train_size=600, random_state=0, stratify=y
)
X_cal, X_test, y_cal, y_test = train_test_split(
    X_rest, y_rest, train_size=500, random_state=0, stratify=y_rest
)
net = MLPClassifier(
    (32,), activation="tanh", solver="lbfgs", alpha=1e-4, max_iter=2000, random_state=0
).fit(X_train, y_train)
calibrated = temperature_scale(net, X_cal, y_cal)
T = fitted_temperature(calibrated)
print(f"temperature T = {T:.2f} fitted on {len(y_cal)} calibration rows")
print(f"test accuracy {net.score(X_test, y_test):.3f} (unchanged by temperature)\n")

# %%
# The metrics on the test split, before and after, with their 95 % intervals.
# ``ci_method`` is the default (see the coverage table of the calibration guide).


def report(name, model):
    """Print the held-out calibration of ``model`` with bootstrap intervals."""
    prob = model.predict_proba(X_test)
    kw = {"ci": 0.95, "n_resamples": 500, "random_state": 0}
    ece = expected_calibration_error(y_test, prob, **kw)
    smece = smooth_ece(y_test, prob, **kw)
    slope = calibration_slope(y_test, prob, **kw).slope
    parts = log_loss_decomposition(y_test, prob)
    print(name)
    for label, iv in (("ECE", ece), ("smooth ECE", smece), ("slope", slope)):
        print(f"  {label:<11} {iv.estimate:.3f}  [{iv.low:.3f}, {iv.high:.3f}]")
    print(
        f"  log-loss {parts.log_loss:.3f} = refinement {parts.refinement:.3f} "
        f"+ calibration {parts.calibration:.3f}"
    )
    return prob


before = report("network", net)
after = report("temperature-scaled", calibrated)

# %%
# Reliability diagrams: the kernel-smoothed top-label curve with its pointwise
# 95 % bootstrap band (``kind="smooth"``).

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
for ax, prob, title in ((axes[0], before, "network"), (axes[1], after, f"T = {T:.2f}")):
    ts.ReliabilityDisplay.from_predictions(
        y_test, prob, kind="smooth", n_resamples=500, random_state=0, ax=ax, name=title
    )
    ax.set_title(title)
fig.tight_layout()

# %%
# The soft-rank gap estimate of the temperature-scaled network next to the
# network's own (both per sample, in nats) and the measured gap.

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the scaled net is not a minimum: by design
    raw = ts.criteria(ts.curvature(net, X_train, y_train)).soft_rank_gap_estimate
    gap = ts.calibrated_soft_rank_gap(net, X_train, y_train, X_cal, y_cal)
test_nll = log_loss_decomposition(y_test, before).log_loss
train_nll = log_loss_decomposition(y_train, net.predict_proba(X_train)).log_loss
print(
    f"\nsoft-rank gap estimate: {raw:.3f} (network), {gap.soft_rank_gap_estimate:.3f}"
)
print(f"(temperature-scaled); measured gap of the network {test_nll - train_nll:.3f}")
plt.show()
