"""Calibration and the gap estimate
================================

TIC's penalty divided by ``n`` (``Criteria.gap_estimate``) estimates the
generalisation gap: expected test NLL per sample minus training NLL per sample.  Here
logistic regressions on breast-cancer data are fitted on 70% of the rows over a grid
of ``C``, 20 times over random splits; the observed gap on the 30% held out, averaged
over the splits (one split is too noisy), sits next to the averaged estimate and
``effective_dim/n``, what TIC's estimate becomes for a calibrated model (``C = H``).
TIC does not assume calibration; the calibrated-model estimate does, and so does the
soft rank of Shoham et al.  The held-out calibration report of the TIC-selected model
on the first split follows, with its reliability diagram when matplotlib is
installed.

Run: ``python examples/calibration_gap.py`` (a few seconds).
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts

X, y = load_breast_cancer(return_X_y=True)
splits = [
    train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    for seed in range(20)
]

print(
    f"{'C':>8} {'train NLL':>9} {'TIC gap':>9} {'calib.':>9} {'test NLL':>9} "
    f"{'obs. gap':>9}"
)
fits = {}
for C in np.logspace(-2, 1, 7):
    stats = []
    for i, (X_tr, X_te, y_tr, y_te) in enumerate(splits):
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=C, tol=1e-10, max_iter=10_000)
        ).fit(X_tr, y_tr)
        crit = ts.criteria(ts.curvature(model, X_tr, y_tr))
        train = -crit.loglik / crit.n_samples
        test = log_loss(y_te, model.predict_proba(X_te))
        stats.append(
            (train, crit.gap_estimate, crit.effective_dim / crit.n_samples, test)
        )
        if i == 0:
            fits[C] = (crit, model)
    train, gap, calib, test = np.mean(stats, axis=0)
    print(
        f"{C:>8.3g} {train:>9.4f} {gap:>9.4f} {calib:>9.4f} {test:>9.4f} "
        f"{test - train:>9.4f}"
    )

best_C = min(fits, key=lambda C: fits[C][0].tic)
model = fits[best_C][1]
X_tr, X_te, y_tr, y_te = splits[0]
print(
    f"\nTIC picks C={best_C:.3g} on the first split; calibration on its held-out rows:"
)
report = ts.calibration_report(model, X_te, y_te, n_bins=10)
print(report.summary())

try:
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover - the plot is optional
    pass
else:
    disp = ts.ReliabilityDisplay.from_estimator(model, X_te, y_te, n_bins=10)
    plt.show()

# What to look for: at strong penalties (small C) the gap estimate tracks the observed
# gap; towards separation (large C) it falls behind, TIC keeps preferring larger C, and
# the held-out calibration slope below 1 of its pick flags the over-confidence.
