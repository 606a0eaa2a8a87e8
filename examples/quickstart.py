"""Quick start: exact curvature and information criteria of a fitted model
=======================================================================

Fits an L2-penalised logistic regression on scikit-learn's breast-cancer data, then
prints its criteria (AIC, BIC, TIC, soft rank, ...) and compares three penalties.
Run: ``python examples/quickstart.py``.
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts

X, y = load_breast_cancer(return_X_y=True)

model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, tol=1e-10))
model.fit(X, y)
curv = ts.curvature(model, X, y)  # exact H, C and per-sample gradients at θ̂
print(curv)
print(ts.criteria(curv).summary())

candidates = {
    f"C={C:g}": make_pipeline(
        StandardScaler(), LogisticRegression(C=C, tol=1e-10, max_iter=10_000)
    )
    for C in (0.01, 0.1, 1.0)
}
table = ts.compare(list(candidates.values()), X, y, names=list(candidates))
print(table.summary())

# %%
# The criteria per sample along a grid of ``C`` (warm-started fits), each marking
# its pick.
import matplotlib.pyplot as plt  # noqa: E402

path = ts.criterion_path(
    make_pipeline(StandardScaler(), LogisticRegression(tol=1e-10, max_iter=10_000)),
    "logisticregression__C",
    np.logspace(-3, 1, 9),
    X,
    y,
)
ax = path.plot()
plt.show()
