"""Comparing model formulas on a data frame
========================================

The statistician's workflow: write candidate models as formulas, fit each on the
same rows, read one table.  ``ts.compare_formulas`` fits every formula with
statsmodels (so ``C(PID)`` and ``selfLR * C(PID)`` mean what they mean there), drops
the rows missing any candidate's variables once, and ranks the candidates by TIC,
with AIC, BIC, their differences and weights, a likelihood-ratio test of each
candidate against the next smaller nested one, and reliability flags.

The data: the 1996 American National Election Study bundled with statsmodels
(944 voters; ``vote`` is 1 for Dole, 0 for Clinton; ``selfLR`` the voter's own
left-right placement, 1-7; ``PID`` party identification, 0 strong Democrat to 6
strong Republican; ``educ`` education, 1-7).
"""

# %%
# Candidates and the table
# ------------------------
# ``PID`` is coded 0-6 but is not a measurement: ``C(PID)`` makes it categorical
# (one dummy per level against the first).  The interaction lets the effect of
# ideology differ by party.
import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm

import ticselect as ts

data = sm.datasets.anes96.load_pandas().data
formulas = {
    "ideology": "vote ~ selfLR",
    "+ party": "vote ~ selfLR + C(PID)",
    "party as a number": "vote ~ selfLR + PID",
    "+ party x ideology": "vote ~ selfLR * C(PID)",
    "+ education": "vote ~ selfLR + C(PID) + educ",
}
table = ts.compare_formulas(data, formulas, family="binomial")
print(table)

# %%
# ``lr`` tests each candidate against the largest candidate nested in it.  Party
# identification as a linear trend is overwhelming evidence beyond ideology (LR
# about 400 on one degree of freedom); the six dummies of ``C(PID)`` add little to
# that trend (p = 0.12), and neither education nor the interaction earns its
# parameters.  All three criteria agree on the ranking here; BIC's ``log n``
# penalty separates the candidates most.  In a notebook, ``table`` alone renders as
# an HTML table; ``table.to_frame()`` is a pandas DataFrame of every column.
frame = table.to_frame()
print(frame[["k", "aic", "bic", "tic", "w_tic", "lr_vs"]].round(2))

# %%
# Is a difference resolved?  ``d_tic_se`` is the standard error of ``d_tic`` from
# the paired per-row TIC contributions (``ts.pointwise``): the top four candidates
# are within a fraction of a standard error of each other (1.4 ± 6.1 TIC points for
# the party dummies), while ideology alone is worse by about ten standard errors.
print(table.summary(["k", "tic", "d_tic", "d_tic_se", "w_tic"]))

# %%
# The same table as a notebook shows it (its ``_repr_html_``):
table  # noqa: B018 - the last expression of a cell is displayed

# %%
# Missing values: dropped once, for every candidate
# -------------------------------------------------
# Criteria are comparable only on the same rows.  Blank out education for 30
# voters: every candidate, including those that do not use ``educ``, is fitted on
# the 914 complete rows, and the table says so.
rng = np.random.default_rng(0)
holes = data.copy()
holes.loc[rng.choice(len(holes), 30, replace=False), "educ"] = np.nan
smaller = ts.compare_formulas(holes, formulas, family="binomial")
print(smaller.summary(["k", "loglik", "aic", "tic", "lr", "lr_p"]))

# %%
# The differences at a glance
# ---------------------------
# Differences to the best model by each criterion (TIC's with ``± d_tic_se``).
# BIC's ``log n`` penalty punishes the 14-parameter interaction model hardest;
# TIC's penalty is estimated from the data, not counted.
names = table.names
rows = table.to_dict()
fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
y = np.arange(len(names))
for shift, crit in zip((-0.25, 0.0, 0.25), ("aic", "bic", "tic"), strict=True):
    delta = [rows[n][f"d_{crit}"] for n in names]
    err = [rows[n]["d_tic_se"] for n in names] if crit == "tic" else None
    ax.barh(y + shift, delta, height=0.25, xerr=err, label=crit.upper())
ax.set_yticks(y, names)
ax.invert_yaxis()
ax.set_xscale("symlog", linthresh=10)
ax.set_xlabel("difference to the best model (deviance scale)")
ax.legend(loc="lower right")
ax.set_title("anes96: vote for Dole")
plt.show()
