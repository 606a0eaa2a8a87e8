"""Criterion paths along one hyperparameter, with warm starts, and their plot.

:func:`criterion_path` fits one estimator along a grid of values of one
hyperparameter, computes the curvature and criteria at each fit, and records each
criterion's pick.  It is the fast alternative to
``GridSearchCV(..., cv=InSample())``: one fit per value, no refit, and warm starts
along the grid when the estimator supports ``warm_start`` (``LogisticRegression``,
``PoissonRegressor``, ``GammaRegressor``, ``TweedieRegressor``, the MLPs).  When the
varied parameter is the L2 strength of a GLM (``C`` of a binary
``LogisticRegression``, ``alpha`` of the scikit-learn GLM regressors) each start is
the previous solution moved by one Newton step for the new penalty, using the
curvature already computed for TIC (see ``ticselect.selection._path_start``).
With ``alo=True`` (the default) each point also gets its approximate leave-one-out
deviance (:func:`ticselect.approximate_loo`), read and picked as ``"alo"``.

The recommended value (``path.best_index()``, ``path.best_value()``: the default
criterion is ``"recommended"``) follows the rule of
:mod:`ticselect.selection._recommend`: ALO's pick for GLMs, TIC's where it is
unflagged and agrees or where ALO is unavailable, the networks' own rule for
networks; :attr:`CriterionPath.pick_note` says why in one line.  Along a penalty AIC
and BIC count every parameter whatever the penalty and always pick the weakest one:
the path reads and picks them with the effective degrees of freedom instead
(``"aic_edf"``, ``"bic_edf"``: ``2L + 2·edf``, ``edf = tr(H_λ⁻¹H)``), and
:meth:`CriterionPath.to_dict` gives nominal AIC/BIC no pick there.

Every point carries the reliability flags of its criteria
(:attr:`ticselect.Criteria.flags`, e.g. ``"overconfident"`` for a near-interpolating
network, ``"high_leverage"`` where TIC's first-order penalty fails, including where
ALO contradicts TIC's ranking, see :func:`ticselect.selection._recommend.alo_flags`)
and their ``penalty_ratio``: the ``flags`` and ``penalty_ratio`` columns of
:meth:`CriterionPath.to_frame` and :meth:`CriterionPath.to_dict` (flags joined by
``","``, empty when reliable), hollow markers in :meth:`CriterionPath.plot`, and the
flags column of :meth:`CriterionPath.summary`.

Warm starts only change the *starting point* of each fit, so with a tolerance tight
enough for the criteria (which assume a stationary point; see
:attr:`ticselect.Curvature.stationarity`) the path and picks equal those of cold
fits.  For the smoothest path pass ``values`` from the most to the least regularised
(e.g. increasing ``C``, decreasing ``alpha``).
"""

from __future__ import annotations

import copy
import time

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from .._html import table
from ..criteria import criteria
from ..curvature import curvature
from ..curvature._result import TIC_FLAGS
from ._estimator import InformationCriteria
from ._flags import flags_text
from ._loo import approximate_loo
from ._path_start import NewtonStart, warm_start_key
from ._recommend import alo_flags, edge_note, recommend
from ._table import COLUMNS, format_cell, text_table

__all__ = ["CriterionPath", "criterion_path"]

PATH_CRITERIA = ("aic", "aicc", "bic", "aic_edf", "bic_edf", "tic", "alo", "evidence")


def _tic_flags(crit):
    return [f for f in crit.flags if f in TIC_FLAGS]


#: Criteria with no pick along a penalty (they count every parameter whatever it is).
NOMINAL = ("aic", "aicc", "bic")
#: First screen of :meth:`CriterionPath.summary` (``full=True``: every column).
SUMMARY_COLUMNS = ("alo", "tic", "aic_edf", "bic_edf", "effective_dim", "flags")
FULL_COLUMNS = (
    "loglik", "k", "effective_dim", "aic", "aicc", "bic", "aic_edf", "bic_edf", "tic",
    "alo", "alo_se", "n_high_leverage", "gap_estimate", "penalty_ratio",
    "log_evidence", "stationarity", "flags",
)  # fmt: skip


def criterion_path(
    estimator,
    param_name,
    values,
    X,
    y,
    *,
    sample_weight=None,
    warm_start=True,
    dispersion=None,
    keep_estimators=True,
    alo=True,
):
    """Fit along a grid of one hyperparameter and compute the criteria at each point.

    Parameters
    ----------
    estimator : estimator object
        A supported scikit-learn estimator, a Pipeline ending in one, or an
        :class:`~ticselect.InformationCriteria` (its inner estimator and
        ``dispersion`` are used).  It is cloned, never modified.
    param_name : str
        Parameter to vary, as in ``set_params`` (e.g. ``"C"`` or
        ``"logisticregression__C"``; ``"estimator__C"`` for a wrapper).
    values : array-like of shape (n_values,)
        Grid, fitted in the given order.
    X : array-like of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,)
        Targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.
    warm_start : bool or {"newton", "previous"}, default=True
        Start each fit from the previous solution when the estimator has a
        ``warm_start`` parameter (ignored otherwise).  ``True`` or ``"newton"``
        moves that start by one Newton step for the new penalty where supported
        (the L2 strength of a binary ``LogisticRegression`` or a scikit-learn GLM
        regressor) and uses the previous solution elsewhere; ``"previous"`` always
        uses the previous solution; ``False`` fits every value from scratch.
    dispersion : None or float, default=None
        Passed to :func:`ticselect.curvature`.
    keep_estimators : bool, default=True
        Keep a copy of every fitted estimator in ``estimators_``.
    alo : bool, default=True
        Also compute the approximate leave-one-out deviance
        (:func:`ticselect.approximate_loo`, ``O(n·k²)`` per point, about the cost of
        the Hessian) so that ``"alo"`` can be read and picked like the criteria.

    Returns
    -------
    CriterionPath

    Raises
    ------
    ValueError
        If ``param_name`` is not a parameter of the estimator, ``values`` is empty
        or ``warm_start`` is not one of the accepted values.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from ticselect.selection._path import criterion_path
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-8))
    >>> path = criterion_path(pipe, "logisticregression__C", [0.01, 0.1, 1.0], X, y)
    >>> tics = [c.tic for c in path.criteria]  # the pick is the smallest TIC
    >>> path.warm_started, path.best_value("tic") == [0.01, 0.1, 1.0][np.argmin(tics)]
    (True, True)
    >>> path.best_value(), path.recommendation.criterion  # ALO's pick, TIC agrees
    (1.0, 'tic')
    >>> path.best_estimator()[-1].C == path.best_value()
    True
    """
    if isinstance(estimator, InformationCriteria):
        if dispersion is None:
            dispersion = estimator.dispersion
        if param_name.startswith("estimator__"):
            param_name = param_name[len("estimator__") :]
        estimator = estimator.estimator
    if not hasattr(estimator, "get_params"):
        raise TypeError(f"Expected a scikit-learn estimator, got {estimator!r}.")
    est = clone(estimator)
    valid = sorted(est.get_params())
    if param_name not in valid:
        raise ValueError(
            f"{param_name!r} is not a parameter of {type(est).__name__}. Valid "
            f"parameters: {valid}."
        )
    values = list(np.asarray(values, dtype=object).ravel())
    if not values:
        raise ValueError("values must contain at least one parameter value.")
    if warm_start not in (True, False, "newton", "previous"):
        raise ValueError(
            "warm_start must be True, False, 'newton' or 'previous', got "
            f"{warm_start!r}."
        )
    key = warm_start_key(est)
    warm = bool(warm_start) and key is not None
    if key is not None:  # also switch off a warm_start=True set on the estimator
        est.set_params(**{key: warm})
    newton = NewtonStart(est, param_name, enabled=warm and warm_start != "previous")
    fit_kw = {}
    if sample_weight is not None:
        sw_key = "sample_weight"
        if isinstance(est, Pipeline):
            sw_key = f"{est.steps[-1][0]}__sample_weight"
        fit_kw[sw_key] = sample_weight

    crits, fitted, loos = [], [], []
    start = time.perf_counter()
    curv = None
    for i, value in enumerate(values):
        est.set_params(**{param_name: value})
        if curv is not None:
            newton.apply(est, curv, values[i - 1], value)
        est.fit(X, y, **fit_kw)
        curv = curvature(est, X, y, sample_weight, dispersion=dispersion)
        crits.append(criteria(curv))
        loos.append(approximate_loo(curv) if alo and curv.rows is not None else None)
        if keep_estimators:
            fitted.append(copy.deepcopy(est))
    elapsed = time.perf_counter() - start
    return CriterionPath(
        param_name,
        values,
        crits,
        fitted if keep_estimators else None,
        warm_started=warm,
        fit_time=elapsed,
        newton_starts=newton.n_applied,
        loo=loos,
        family=curv.family,
    )


class CriterionPath:
    """Criteria along a grid of one hyperparameter (built by :func:`criterion_path`).

    Attributes
    ----------
    param_name : str
        The varied parameter.
    values : list
        Grid values in fitting order.
    criteria : list of Criteria
        Criteria at each value.
    estimators_ : list of estimator or None
        Fitted estimators (copies), when kept.
    warm_started : bool
        Whether fits were warm-started.
    newton_starts : int
        How many of those starts were moved by a Newton step (see
        :func:`criterion_path`).
    fit_time : float
        Wall time of all fits and criteria, in seconds.
    loo : list of LOOResult or None
        Approximate leave-one-out at each value (``None`` entries when not computed).
    recommendation : Recommendation
        The recommended value's index, criterion and reason (see
        :mod:`ticselect.selection._recommend`).
    penalised : bool
        Whether the fits carry an L2 penalty (then AIC and BIC are read with the
        effective degrees of freedom, see the module docstring).

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> y = rng.poisson(np.exp(0.3 * X[:, 0]))
    >>> path = ts.criterion_path(PoissonRegressor(tol=1e-10), "alpha",
    ...                          [1.0, 0.1, 0.01], X, y)
    >>> tic = [c.tic for c in path.criteria]
    >>> len(tic), path.best_value("tic") == [1.0, 0.1, 0.01][np.argmin(tic)]
    (3, True)
    >>> sorted(path.to_dict()["picks"])  # no nominal AIC/BIC pick along a penalty
    ['aic_edf', 'alo', 'bic_edf', 'evidence', 'recommended', 'tic']
    """

    def __init__(
        self,
        param_name,
        values,
        crits,
        estimators,
        *,
        warm_started,
        fit_time,
        newton_starts=0,
        loo=None,
        family="",
    ):
        self.param_name = param_name
        self.values = values
        self.estimators_ = estimators
        self.warm_started = warm_started
        self.fit_time = fit_time
        self.newton_starts = newton_starts
        self.loo = [None] * len(crits) if loo is None else list(loo)
        kind = "mlp" if family == "mlp" else "glm"
        self.criteria = alo_flags(crits, self.loo, [kind] * len(crits))
        self.family = family
        labels = [self._label(i) for i in range(len(values))]
        self.recommendation = recommend(labels, self.criteria, self.loo, family=family)
        self.penalised = any(c.soft_rank_lambda > 0 for c in self.criteria)

    def _check(self, criterion):
        if criterion not in PATH_CRITERIA:
            raise ValueError(
                f"criterion must be one of {list(PATH_CRITERIA)}, got {criterion!r}."
            )

    def deviance(self, criterion):
        """Criterion values on the deviance scale.

        ``"evidence"`` is ``-2 log p(y)`` from :attr:`ticselect.Criteria.log_evidence`
        (``nan`` for an unpenalised grid value).

        Parameters
        ----------
        criterion : {"aic", "aicc", "bic", "aic_edf", "bic_edf", "tic", "alo", \
"evidence"}
            Which criterion.

        Returns
        -------
        ndarray of shape (n_values,)
        """
        self._check(criterion)
        if criterion == "alo":
            if any(r is None for r in self.loo):
                raise ValueError(
                    "ALO was not computed along this path: use criterion_path(..., "
                    "alo=True)."
                )
            return np.array([r.loo for r in self.loo], dtype=float)
        if criterion == "evidence":  # -2 log p(y): lower is better, like the others
            return np.array([-2.0 * c.log_evidence for c in self.criteria], dtype=float)
        return np.array([getattr(c, criterion) for c in self.criteria], dtype=float)

    def per_sample(self, criterion):
        """Criterion divided by ``2n``: estimated test NLL per sample.

        Parameters
        ----------
        criterion : {"aic", "aicc", "bic", "aic_edf", "bic_edf", "tic", "alo", \
"evidence"}
            Which criterion.

        Returns
        -------
        ndarray of shape (n_values,)
        """
        n = np.array([c.n_samples for c in self.criteria], dtype=float)
        return self.deviance(criterion) / (2.0 * n)

    def best_index(self, criterion="recommended"):
        """Index of the grid value the criterion picks (first minimum).

        Parameters
        ----------
        criterion : {"recommended", "alo", "tic", "aic_edf", "bic_edf", "evidence", \
"aic", "aicc", "bic"}, default="recommended"
            Which criterion; ``"recommended"`` is the recommended value (see
            :attr:`pick_note` for why).

        Returns
        -------
        int

        Raises
        ------
        ValueError
            When the criterion is undefined (``nan``) at every grid value.
        """
        if criterion == "recommended":
            return self.recommendation.index
        values = self.deviance(criterion)  # nan (an undefined evidence) never wins
        if np.all(np.isnan(values)):
            raise ValueError(
                f"{criterion} is undefined at every grid value (the evidence of an "
                "unpenalised or indefinite fit is nan): nothing to pick."
            )
        return int(np.argmin(np.where(np.isnan(values), np.inf, values)))

    def best_value(self, criterion="recommended"):
        """Grid value the criterion picks.

        Parameters
        ----------
        criterion : {"recommended", "alo", "tic", "aic_edf", "bic_edf", "evidence", \
"aic", "aicc", "bic"}, default="recommended"
            Which criterion.

        Returns
        -------
        object
        """
        value = self.values[self.best_index(criterion)]
        return value.item() if hasattr(value, "item") else value

    def best_estimator(self, criterion="recommended"):
        """Fitted estimator at the criterion's pick.

        Parameters
        ----------
        criterion : {"recommended", "alo", "tic", "aic_edf", "bic_edf", "evidence", \
"aic", "aicc", "bic"}, default="recommended"
            Which criterion.

        Returns
        -------
        estimator object

        Raises
        ------
        ValueError
            When the path was built with ``keep_estimators=False``.
        """
        if self.estimators_ is None:
            raise ValueError("Estimators were not kept: use keep_estimators=True.")
        return self.estimators_[self.best_index(criterion)]

    def _label(self, index):
        value = self.values[index]
        value = value.item() if hasattr(value, "item") else value
        shown = f"{value:.4g}" if isinstance(value, int | float) else repr(value)
        return f"{self.param_name}={shown}"

    @property
    def pick_note(self):
        """One line: why :meth:`best_value` recommends its value.

        The wording of ``ticselect select``'s ``recommended:`` line (e.g. "ALO's pick
        C=1.5: TIC's pick C=100 is flagged high_leverage: TIC cannot be trusted
        there.").

        Returns
        -------
        str
        """
        return self.recommendation.note

    def _picked(self):
        """Criteria that get a pick.

        No nominal AIC/BIC along a penalty, no ALO when it was not computed, no
        evidence where it is undefined everywhere.
        """
        names = [c for c in PATH_CRITERIA if c != "alo" or self._has_alo]
        if np.all(np.isnan(self.deviance("evidence"))):
            names.remove("evidence")
        return [c for c in names if not (self.penalised and c in NOMINAL)]

    def to_dict(self):
        """Return ``{"param": values, "<criterion>": values, ..., "picks": {...}}``.

        ``"evidence"`` is ``-2 log p(y)`` (``None`` where undefined; no pick when
        it is undefined everywhere).
        Besides the criteria, ``"gap_estimate"``, ``"penalty_ratio"`` and ``"flags"``
        (each point's reliability flags joined by ``","``, ``""`` when reliable) are
        lists over the grid; ``"picks"`` has the value each criterion picks and the
        ``"recommended"`` one (no nominal AIC, AICc or BIC pick along a penalty), and
        ``"pick_note"`` is :attr:`pick_note`.

        Returns
        -------
        dict
        """
        out = {self.param_name: list(self.values)}
        names = [c for c in PATH_CRITERIA if c != "alo" or self._has_alo]
        for c in names:
            out[c] = self.deviance(c).tolist()
        # an undefined evidence (unpenalised or indefinite fit) is null, not NaN
        out["evidence"] = [None if np.isnan(v) else v for v in out["evidence"]]
        out["gap_estimate"] = [c.gap_estimate for c in self.criteria]
        out["penalty_ratio"] = [c.penalty_ratio for c in self.criteria]
        out["flags"] = [flags_text(c.flags) for c in self.criteria]
        out["picks"] = {c: self.best_value(c) for c in [*self._picked(), "recommended"]}
        out["pick_note"] = self.pick_note
        return out

    def summary(self, full=False):
        """Aligned text table, one row per grid value, and the recommended one.

        Parameters
        ----------
        full : bool, default=False
            Every column (criteria, effective dimension, gap estimate,
            ``penalty_ratio``, stationarity); by default ALO, TIC, AIC and BIC with
            the effective degrees of freedom, the effective dimension and the flags.

        Returns
        -------
        str
            ``*`` marks each criterion's pick, ``>`` the recommended value; the
            ``recommended:`` line says why.
        """
        cols, index, rows, marks = self._screen(full)
        lines = text_table(self.param_name, index, cols, rows, marks=marks,
                           lead=self.best_index())  # fmt: skip
        lines.append(
            "criteria on the deviance scale (lower is better); * marks each "
            "criterion's pick, > the recommended value"
        )
        lines.append(f"recommended: {self._label(self.best_index())}; {self.pick_note}")
        edge = edge_note(self.values, self.best_index(), self.param_name)
        return "\n".join(lines + ([f"warning: {edge}"] if edge else []))

    def _screen(self, full):
        """Columns, row labels, row values and picks of :meth:`summary`."""
        cols = list(FULL_COLUMNS if full else SUMMARY_COLUMNS)
        if not self._has_alo:
            cols = [c for c in cols if c not in ("alo", "alo_se", "n_high_leverage")]
        if not full and not self.penalised:  # without a penalty edf = k
            cols = [c if c not in ("aic_edf", "bic_edf") else c[:3] for c in cols]
        rows = []
        for c, r in zip(self.criteria, self.loo, strict=True):
            row = {**c.to_dict(), "k": c.n_params}
            if r is not None:
                row.update(
                    alo=r.loo, alo_se=r.loo_se, n_high_leverage=r.n_high_leverage
                )
            rows.append(row)
        marks = {c: self.best_index(c) for c in cols if c in self._picked()}
        index = [self._label(i).split("=", 1)[-1] for i in range(len(self.values))]
        return cols, index, rows, marks

    def to_frame(self):
        """Return one row per grid value as a :class:`pandas.DataFrame`.

        The columns are the parameter, every field of :class:`~ticselect.Criteria`
        (``flags`` joined by ``","``, ``""`` when reliable; ``penalty_ratio``) and,
        when computed, ``alo`` and ``alo_se``.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        rows = [
            {
                self.param_name: v,
                **c.to_dict(),
                "flags": flags_text(c.flags),
                **({} if r is None else {"alo": r.loo, "alo_se": r.loo_se}),
            }
            for v, c, r in zip(self.values, self.criteria, self.loo, strict=True)
        ]
        return pd.DataFrame(rows)

    def __repr__(self):
        i = self.best_index()
        return (
            f"<CriterionPath over {self.param_name}, {len(self.values)} values, "
            f"recommended {self._label(i)} ({self.recommendation.criterion.upper()}'s "
            "pick)>"
        )

    def _repr_html_(self):
        cols, index, rows, marks = self._screen(full=False)
        lead = self.best_index()
        cells = [
            [("> " if i == lead else "") + label]
            + [format_cell(c, row.get(c)) + ("*" if marks.get(c) == i else "")
               for c in cols]
            for i, (label, row) in enumerate(zip(index, rows, strict=True))
        ]  # fmt: skip
        footer = [
            "deviance scale, lower is better; * marks each criterion's pick, > the "
            "recommended value",
            f"recommended: {self._label(lead)}; {self.pick_note}",
        ]
        titles = [(COLUMNS[c].title if c in COLUMNS else None) or c for c in cols]
        head = [self.param_name, *titles]
        return table(f"Criterion path over {self.param_name}", head, cells, footer)

    @property
    def _has_alo(self):
        return all(r is not None for r in self.loo)

    def plot(self, ax=None, *, criteria=None, cv_scores=None):
        """Plot criteria per sample (and held-out loss) against the parameter.

        Each curve marks its selected point with a large hollow circle, and a dotted
        vertical line marks the recommended value.  Points whose criteria carry a
        flag that questions TIC (:data:`~ticselect.curvature._result.TIC_FLAGS`, e.g.
        ``"overconfident"``, ``"high_leverage"``) are drawn as hollow diamonds, with
        one legend entry naming the flags.  The y axis is the estimated test NLL per
        sample, ``criterion / (2n)``, the scale of ``-neg_log_loss``.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on (a new figure when ``None``).
        criteria : sequence of str or None, default=None
            Criteria to draw; ``None`` draws TIC, ALO (when computed), AIC and BIC
            (with the effective degrees of freedom along a penalty).
        cv_scores : array-like of shape (n_values,) or fitted search, default=None
            Held-out scores (greater is better, e.g. ``neg_log_loss``) aligned with
            ``values``, or a fitted ``GridSearchCV`` over the same parameter whose
            ``mean_test_score`` is used; drawn as minus the score.

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        ImportError
            When matplotlib is not installed.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(
                "CriterionPath.plot needs matplotlib: pip install 'ticselect[plot]'."
            ) from exc
        if ax is None:
            _, ax = plt.subplots()
        x = np.asarray(self.values, dtype=float)
        if criteria is None:
            ab = ("aic_edf", "bic_edf") if self.penalised else ("aic", "bic")
            criteria = ("tic", "alo", *ab) if self._has_alo else ("tic", *ab)
        flagged = np.array([bool(_tic_flags(c)) for c in self.criteria])
        for name in criteria:
            yv = self.per_sample(name)
            (line,) = ax.plot(x, yv, marker=".", label=name.upper())
            i = self.best_index(name)
            ax.plot(x[i], yv[i], marker="o", ms=10, mfc="none", color=line.get_color())
            if flagged.any():
                ax.plot(
                    x[flagged], yv[flagged], ls="none", marker="D", ms=6, mfc="white",
                    color=line.get_color(), gid="flagged",
                )  # fmt: skip
        if flagged.any():
            ax.plot(
                [], [], ls="none", marker="D", ms=6, mfc="white", color="0.3",
                label=f"flagged ({self._flag_names()})",
            )  # fmt: skip
        rec = self.recommendation
        ax.axvline(
            x[rec.index], ls=":", color="0.4", gid="recommended",
            label=f"recommended ({rec.criterion.upper()}'s pick)",
        )  # fmt: skip
        if cv_scores is not None:
            cx, cy = self._cv_curve(cv_scores)
            (line,) = ax.plot(cx, -cy, marker=".", ls="--", label="CV")
            i = int(np.argmax(cy))
            ax.plot(
                cx[i], -cy[i], marker="s", ms=10, mfc="none", color=line.get_color()
            )
        if np.all(x > 0) and x.max() / x.min() > 20:
            ax.set_xscale("log")
        ax.set_xlabel(self.param_name)
        ax.set_ylabel("estimated test NLL per sample")
        ax.legend()
        return ax

    def _flag_names(self):
        seen = []
        for c in self.criteria:
            seen += [f for f in _tic_flags(c) if f not in seen]
        return ", ".join(seen)

    def _cv_curve(self, cv_scores):
        if hasattr(cv_scores, "cv_results_"):
            res = cv_scores.cv_results_
            key = next(
                (
                    k
                    for k in res
                    if k.startswith("param_")
                    and k.endswith(self.param_name.split("__")[-1])
                ),
                None,
            )
            if key is None or "mean_test_score" not in res:
                raise ValueError(
                    "The search must vary the same parameter and have a single "
                    "metric (mean_test_score)."
                )
            cx = np.asarray(res[key], dtype=float)
            cy = np.asarray(res["mean_test_score"], dtype=float)
            order = np.argsort(cx)
            return cx[order], cy[order]
        cy = np.asarray(cv_scores, dtype=float)
        if cy.shape != (len(self.values),):
            raise ValueError(
                f"cv_scores must have one entry per value ({len(self.values)}), got "
                f"shape {cy.shape}."
            )
        return np.asarray(self.values, dtype=float), cy
