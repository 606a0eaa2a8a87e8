"""ticselect inside a Pipeline with GridSearchCV
=============================================

``ts.InformationCriteria`` wraps an estimator and computes its criteria and its
approximate leave-one-out (ALO) at fit time; as the last step of a Pipeline it makes
``GridSearchCV`` rank candidates by ALO, the criterion ticselect recommends for GLMs,
with one fit each (``cv=ts.InSample()``: train = test = all rows), and
``ts.criteria_scoring`` reports several criteria from one curvature (TIC beside ALO:
on these nearly separable data TIC picks a weak penalty, and ``neg_tic`` says so once
for the search).  The same grid searched by 5-fold cross-validated log-loss needs five
fits per candidate; both searches print their pick and time.

Run: ``python examples/pipeline_gridsearch.py`` (a few seconds).
"""

import time

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts

X, y = load_breast_cancer(return_X_y=True)
grid = {"informationcriteria__estimator__C": np.logspace(-3, 1, 9)}
pipe = make_pipeline(
    StandardScaler(),
    ts.InformationCriteria(LogisticRegression(tol=1e-10, max_iter=10_000)),
)

t0 = time.perf_counter()
by_alo = GridSearchCV(
    pipe,
    grid,
    cv=ts.InSample(),
    scoring=ts.criteria_scoring("neg_alo", "neg_tic"),
    refit="neg_alo",
).fit(X, y)
t1 = time.perf_counter()
by_cv = GridSearchCV(
    pipe,
    grid,
    cv=StratifiedKFold(5, shuffle=True, random_state=0),
    scoring="neg_log_loss",
).fit(X, y)
t2 = time.perf_counter()

res = by_alo.cv_results_
print(f"{'C':>8} {'-ALO/2n':>9} {'-TIC/2n':>9} {'CV -logloss':>11}")
for i, C in enumerate(res["param_informationcriteria__estimator__C"]):
    print(
        f"{C:>8.3g} {res['mean_test_neg_alo'][i]:>9.4f} "
        f"{res['mean_test_neg_tic'][i]:>9.4f} "
        f"{by_cv.cv_results_['mean_test_score'][i]:>11.4f}"
    )
key = "informationcriteria__estimator__C"
print(f"ALO search picks C={by_alo.best_params_[key]:.3g} in {t1 - t0:.1f} s")
print(f"5-fold CV picks  C={by_cv.best_params_[key]:.3g} in {t2 - t1:.1f} s")

# the refitted best pipeline carries its criteria and its ALO
best = by_alo.best_estimator_[-1]
print(
    f"refitted best model: ALO = {best.loo_.loo:.2f}, TIC = {best.criteria_.tic:.2f}, "
    f"k = {best.criteria_.n_params}, flags = {best.criteria_.flags}"
)

# %%
# Both searches' scores against ``C``: the in-sample criteria per sample and the
# cross-validated log-loss are on the same scale (NLL per sample, negated).
import matplotlib.pyplot as plt  # noqa: E402

Cs = np.asarray(res["param_informationcriteria__estimator__C"], dtype=float)
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for name in ("neg_alo", "neg_tic"):
    label = "-" + name[4:].upper() + "/2n"
    ax.semilogx(Cs, res[f"mean_test_{name}"], marker="o", label=label)
ax.semilogx(Cs, by_cv.cv_results_["mean_test_score"], marker="s", label="CV -logloss")
ax.set_xlabel("C")
ax.set_ylabel("score (higher is better)")
ax.legend()
plt.show()
