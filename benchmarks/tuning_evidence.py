"""Why the evidence search loses to 5-fold CV in ``benchmarks/tuning.py``.

On the same splits as ``tuning.py``'s quality study (the grid's range as bounds):

- the classification sets: how many training sets are linearly separable (the
  exact linear programme of :mod:`ticselect.curvature._separation`, read from the
  ``SeparationWarning`` of the fit at the grid's weakest penalty), how often the
  evidence search ends at the grid's upper ``C`` and which flags its pick carries;
  and ``−2 log p(y)`` along ``C`` on one split (the Laplace evidence keeps rising
  as the penalty vanishes when the classes separate);
- RAND HIE: the Pearson dispersion of the full-data Poisson fit (over-dispersion)
  and the flags of the evidence's picks.

Run: ``python benchmarks/tuning_evidence.py [--splits 30]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import statsmodels.api as sm
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from tuning import _key, problems

import ticselect as ts


def _train(P, seed):
    idx = np.random.default_rng(seed).permutation(len(P["y"]))[: P["n_train"]]
    return P["X"][idx], P["y"][idx]


def _separable(pipe, key, v, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = clone(pipe).set_params(**{key: v}).fit(X, y)
        ts.curvature(m[-1], m[0].transform(X), y)
    return any(issubclass(w.category, ts.SeparationWarning) for w in caught)


def study(name, P, n_splits):
    pipe = make_pipeline(StandardScaler(), clone(P["est"]))
    key, grid = _key(pipe, P["param"]), P["grid"]
    sep, bound, flags = 0, 0, {}
    for seed in range(n_splits):
        X, y = _train(P, seed)
        sep += _separable(pipe, key, grid[-1] if P["param"] == "C" else grid[0], X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = ts.CriterionSearch(
                pipe, key, criterion="evidence", bounds=(grid[0], grid[-1])
            ).fit(X, y)
        bound += bool(s.at_bound_)
        for f in s.flags_:
            flags[f] = flags.get(f, 0) + 1
    shown = ", ".join(f"{f} {k}" for f, k in sorted(flags.items())) or "none"
    print(
        f"{name}: {sep} of {n_splits} training sets separable (zero-count cells for "
        f"Poisson); the evidence's pick at a bound {bound}, flagged: {shown}"
    )


def curve(P, seed=2):
    """``−2 log p(y)`` and the training NLL along ``C`` on one training set."""
    X, y = _train(P, seed)
    Z = StandardScaler().fit_transform(X)
    print(f"breast cancer, split {seed}: C, -2 log p(y), training NLL (nats)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for C in np.logspace(-2, 5, 8):
            m = clone(P["est"]).set_params(C=C).fit(Z, y)
            c = ts.curvature(m, Z, y)
            print(f"  {C:8.3g}  {-2 * ts.evidence(c).log_evidence:7.2f}  {c.nll:7.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=30)
    args = parser.parse_args()
    P = problems(quick=True)  # the synthetic set is not studied
    with threadpool_limits(1):
        curve(P["breast cancer"])
        for name in ("breast cancer", "wine", "RAND HIE (Poisson)"):
            study(name, P[name], args.splits)
        rh = sm.datasets.randhie.load_pandas().data
        X = sm.add_constant(rh.drop(columns="mdvis").to_numpy(float))
        y = rh["mdvis"].to_numpy(float)
        r = sm.GLM(y, X, family=sm.families.Poisson()).fit()
        print(
            f"RAND HIE: Pearson dispersion of the full-data Poisson GLM "
            f"{r.pearson_chi2 / r.df_resid:.2f} (1 for Poisson counts)"
        )


if __name__ == "__main__":
    main()
