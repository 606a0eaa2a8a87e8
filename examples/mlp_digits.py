"""Choosing MLP width and weight decay on digits by TIC and soft rank
==================================================================

A one-hidden-layer tanh network on scikit-learn's digits (16 principal components,
1,797 images, 10 classes) over a small grid of widths and weight decays ``alpha``.
For each fit ticselect computes the exact Hessian and per-sample gradients, hence TIC
(``2·NLL + 2·tr(H_λ⁻¹C)``) and the soft rank ``tr(H (H + λI)⁻¹)``, the number of
parameter directions the data actually pin down.  3-fold CV log-loss is the reference.
TIC needs one fit per candidate; CV needs three more.

Run: ``python examples/mlp_digits.py`` (well under a minute).
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts

X, y = load_digits(return_X_y=True)
folds = StratifiedKFold(3, shuffle=True, random_state=0)
n = X.shape[0]


def make_model(width, alpha):
    return make_pipeline(
        StandardScaler(),
        PCA(16, random_state=0),
        MLPClassifier(
            (width,),
            activation="tanh",
            alpha=alpha,
            solver="lbfgs",
            tol=1e-12,
            max_iter=20_000,
            max_fun=100_000,
            random_state=0,
        ),
    )


print(
    f"{'width':>5} {'alpha':>6} {'k':>4} {'soft rank':>9} {'TIC/2n':>7} {'AIC/2n':>7} "
    f"{'CV NLL':>7} {'TIC [s]':>7} {'CV [s]':>6}"
)
results = []
for width in (2, 4, 8):
    for alpha in (1.0, 3.0, 10.0):
        t0 = time.perf_counter()
        model = make_model(width, alpha).fit(X, y)
        with warnings.catch_warnings():
            # lbfgs on a network stops a little short of the optimum; the criteria
            # say by how much in crit.stationarity
            warnings.simplefilter("ignore", ts.NotStationaryWarning)
            crit = ts.criteria(ts.curvature(model, X, y))
        t1 = time.perf_counter()
        cv = -cross_val_score(
            make_model(width, alpha), X, y, cv=folds, scoring="neg_log_loss"
        ).mean()
        t2 = time.perf_counter()
        results.append((width, alpha, crit.tic / (2 * n), crit.soft_rank, cv))
        print(
            f"{width:>5} {alpha:>6g} {crit.n_params:>4} {crit.soft_rank:>9.1f} "
            f"{crit.tic / (2 * n):>7.3f} {crit.aic / (2 * n):>7.3f} {cv:>7.3f} "
            f"{t1 - t0:>7.2f} {t2 - t1:>6.2f}"
        )

tic_best = min(results, key=lambda r: r[2])
cv_best = min(results, key=lambda r: r[4])
print(f"TIC picks width={tic_best[0]}, alpha={tic_best[1]:g}")
print(f"CV  picks width={cv_best[0]}, alpha={cv_best[1]:g}")
# The soft rank grows with width far more slowly than k: weight decay leaves many
# directions of a wide network unconstrained by the data.
print("soft rank / k:", [f"{r[3]:.0f}" for r in results])

# %%
# TIC per sample against the cross-validated NLL, one point per (width, alpha):
# points near the diagonal are candidates whose TIC estimate matched CV.
import matplotlib.pyplot as plt  # noqa: E402

tic_values = np.array([r[2] for r in results])
cv_values = np.array([r[4] for r in results])
fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
ax.scatter(cv_values, tic_values)
for (width, alpha, *_), xv, yv in zip(results, cv_values, tic_values, strict=True):
    ax.annotate(f"{width}/{alpha:g}", (xv, yv), fontsize=8)
lims = [min(cv_values.min(), tic_values.min()), max(cv_values.max(), tic_values.max())]
ax.plot(lims, lims, color="grey", lw=1)
ax.set_xlabel("5-fold CV NLL per sample")
ax.set_ylabel("TIC / 2n")
ax.set_title("width/alpha")
plt.show()
