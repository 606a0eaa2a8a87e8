"""Layer 3 — :class:`CriterionSearch`: L2 penalties chosen by ALO, TIC or evidence.

A grid of refits (:func:`ticselect.criterion_path`, ``GridSearchCV``) scores
penalties it was told to try; a search that follows the criterion's derivative
needs a handful.  :class:`CriterionSearch` minimises the approximate leave-one-out
deviance (:func:`ticselect.approximate_loo`), TIC or minus twice the Laplace evidence
(:func:`ticselect.evidence`) over the penalty on a log scale,
each evaluation a warm-started refit plus one curvature; the slopes come from
implicit differentiation of the fit (:mod:`ticselect.selection._tuning_grad`), the
optimisers are in :mod:`ticselect.selection._tuning_optim`, one evaluation in
:mod:`ticselect.selection._tuning_eval`, and several penalties (``groups=``) are
column scales (:mod:`ticselect.selection._group_scale`).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
)

from .._validation import check_sample_weight
from ..curvature._result import FIT_FLAGS, MODEL_BASED_FLAGS, TIC_FLAGS
from ..curvature._separation import SeparationWarning
from ._delegate import DelegatingMixin
from ._flags import flags_text
from ._group_scale import GroupScaler, group_scales
from ._path_start import warm_start_key
from ._tuning_eval import Evaluator, l1_box, resolve_penalty
from ._tuning_optim import (
    minimize_1d,
    minimize_nd,
    minimize_values_1d,
    one_se_point,
)

__all__ = ["CriterionSearch"]

CRITERIA = ("alo", "tic", "evidence")
UNPENALIZED = ("auto", "integrate", "profile")
RULES = ("best", "one_se")
#: Default box, in loss units: the penalty between these multiples of the mean
#: diagonal of the data Hessian over the penalised coefficients (from the first fit).
DEFAULT_SPAN = (1e-6, 1e4)
#: ``xtol="auto"``: ALO, TIC and values-only searches; the evidence of a GLM with
#: one penalty; with groups.
AUTO_XTOL = {"noisy": 1e-2, "evidence": 1e-3, "evidence_groups": 1e-4}


class CriterionSearch(DelegatingMixin, MetaEstimatorMixin, BaseEstimator):
    """Tune penalties by minimising ALO, TIC or -2·evidence: a few refits, no grid.

    ``fit`` searches the penalty parameter ``param`` of ``estimator`` (``C`` of a
    ``LogisticRegression``, ``alpha`` of ``Ridge``, the scikit-learn GLMs and the
    MLPs, in the estimator's own units) on a log scale, minimising the criterion on
    the training data, then keeps the fit at the optimum: ``predict``, ``score``
    and friends are those of ``best_estimator_``.  Each evaluation is one refit,
    started from the previous solution moved by one Newton step for the new penalty,
    plus one curvature; the criterion's derivative in ``log(param)`` comes from
    implicit differentiation of the fit (``dθ̂/dλ = −H_λ⁻¹Pθ̂``, with the third
    derivative of the loss for the moving leverages), so about four to eight
    evaluations suffice where a grid takes twenty.  Networks (no closed-form third
    derivatives) and fits whose penalised Hessian is not positive definite are
    searched from values alone (Brent's method on ``log(param)``), and so is the
    strength of an L1 or elastic-net penalty (``Lasso``, ``ElasticNet``, an L1
    ``LogisticRegression``: the active set moves, the criteria have kinks), by ALO
    or TIC, between ``λ_max`` (every weight 0) and ``1e-4·λ_max`` by default.

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn ``LogisticRegression``, ``Ridge``, ``PoissonRegressor``,
        ``GammaRegressor``, ``TweedieRegressor``, ``Lasso``, ``ElasticNet``,
        ``MLPClassifier`` or ``MLPRegressor``, or a Pipeline ending in one (its
        other steps are fitted once, before the search).  Its own value of
        ``param`` is the start (L1: the middle of the default bounds).
    param : str
        The penalty strength: ``"C"`` or ``"alpha"`` (also as the Pipeline key,
        ``"logisticregression__C"``).  Not ``l1_ratio``, a mixing share in
        ``[0, 1]`` rather than a strength: search ``alpha`` for each of a few
        ``l1_ratio`` values (:func:`ticselect.criterion_path` also runs along
        ``l1_ratio``).
    criterion : {"alo", "tic", "evidence"}, default="alo"
        ``"alo"``: the approximate leave-one-out deviance of
        :func:`ticselect.approximate_loo` at its defaults (exact leave-one-out for
        Gaussian/identity fits, refined high-leverage rows).  ``"tic"``: TIC,
        ``2L + 2 tr(H_λ⁻¹C)``.  ``"evidence"``: ``-2 log p(y)``, the Laplace
        evidence of :func:`ticselect.evidence` with the penalty as the prior
        (mgcv's REML score; ``unpenalized="profile"``: its ML score), a dispersion
        maximised over (``dispersion="profile"`` of :func:`ticselect.evidence`).
        All on the deviance scale, minimised.
    bounds : tuple of float or None, default=None
        ``(low, high)`` for ``param``, in its own units, ``0 < low < high``.
        ``None``: the penalty in loss units between ``1e-6`` and ``1e4`` times the
        mean diagonal of the data Hessian over the penalised coefficients at the
        first fit (from an unpenalised fit to one with almost no effective
        parameters); for an L1 strength ``λ_max·(1e-4, 1)``, ``λ_max`` the
        smallest penalty that sets every weight to 0 (glmnet's default range);
        ``bounds_`` holds the values used.
    rule : {"best", "one_se"}, default="best"
        ``"best"``: the minimiser.  ``"one_se"``: the most regularised value whose
        criterion is within one standard error (of the criterion at the minimiser,
        from its pointwise terms) of the minimum; with groups, along the ray that
        scales every group's penalty by the same factor.  Not with the evidence,
        which has no pointwise terms.
    groups : array-like or None, default=None
        One penalty per group of the columns the final estimator sees (after the
        Pipeline's other steps): an array of shape (n_columns,) of group labels, or
        a sequence of lists of column indices covering every column once.  The
        estimator still takes one penalty; each group's columns are scaled by
        ``s_g = (v₀/v_g)^(e/2)`` inside the pipeline (``v₀`` the estimator's value,
        ``pen ∝ v^e``), which is the same fit as penalising group ``g`` by ``v_g``
        (:mod:`ticselect.selection._group_scale`).  All group values are searched
        jointly (L-BFGS-B with the analytic gradient).  GLMs only.
    dispersion : None or float, default=None
        Passed to :func:`ticselect.curvature` (``None`` estimates it).
    unpenalized : {"auto", "integrate", "profile"}, default="auto"
        With ``criterion="evidence"``: integrate the unpenalised coefficients under
        a flat prior (REML) or maximise over them (ML); ``"auto"`` is
        :func:`ticselect.evidence`'s: ``"integrate"``, and ``"profile"`` for
        networks (a network's biases are often nearly unidentified, a hidden unit's
        bias wherever its outgoing weights vanish, and integrating over them leaves
        the evidence undefined: flag ``"singular"``).
    warm_start : bool, default=True
        Start each refit from the previous one (moved by a Newton step where the
        estimator allows it); ``False`` fits every evaluation from scratch.
    xtol : float or "auto", default="auto"
        Tolerance on ``log(param)``: the search stops when its next step would be
        shorter (``0.01`` is about 1 % of the value).  ``"auto"``: ``0.01`` for
        ALO and TIC, whose standard error (of order ``√n`` on the deviance scale)
        dwarfs what a 1 % move of the penalty changes near the minimum;
        for the evidence, whose optimum is an estimate in its own right (mgcv's
        REML/ML smoothing parameter), ``1e-3`` with one penalty and ``1e-4``
        with ``groups`` (L-BFGS-B stops on the gain, ``0.1·xtol²`` per sample,
        which is coarser in ``log(param)`` than the 1-D search's step rule).  At
        these values the penalties match mgcv's to 1e-6 (one penalty) and 1e-5
        (three groups) relative; at ``0.01`` they were 1.6e-3 and 5e-3 off.  The
        tighter tolerance costs 0–3 more refits.  A network's evidence (values
        only, costly refits) keeps ``0.01``.
    max_evals : int, default=30
        Most refits the search may spend; when they run out the best value so far
        is kept, with a warning.

    Attributes
    ----------
    best_params_ : dict
        ``{param: value}``; with ``groups``, ``{param: {label: value}}``.
    best_score_ : float
        Minus the criterion per sample at the chosen value, ``-criterion / (2n)``
        (greater is better, the scale of ``neg_log_loss``).
    best_estimator_ : estimator
        The estimator fitted at the chosen value (a Pipeline with the fitted
        preprocessing and, with ``groups``, the :class:`GroupScaler` step).
    best_index_ : int
        Row of ``path_`` of the chosen value.
    n_fits_ : int
        Refits of the final estimator spent by the search.
    path_ : dict of list
        One entry per evaluation, in order: the parameter value(s) (one column per
        group, ``"param[label]"``), ``"criterion"`` (deviance scale),
        ``"criterion_se"``, ``"per_sample"`` (``criterion / (2n)``),
        ``"gradient"`` (``d criterion / d log(param)``, per group; ``nan`` where
        none), ``"flags"`` (the fit's reliability flags joined by ``","``, ``""``
        when reliable), ``"fit_time"`` and ``"criterion_time"`` (s).
        ``pandas.DataFrame(search.path_)`` is the table.
    bounds_ : tuple of float
        The bounds used, in the estimator's units.
    at_bound_ : bool
        Whether the chosen value lies at a bound (then a warning says so).
    flags_ : tuple of str
        Reliability flags of the chosen fit (see :attr:`ticselect.Criteria.flags`).
        A warning says so when one concerns the criterion: any of
        ``TIC_FLAGS`` for TIC (``overconfident``, ``high_leverage``, ``separation``,
        ``not_stationary``), ``separation`` or ``not_stationary`` for ALO, and
        those or ``misspecified`` for the evidence.
    stopped_ : str
        Why the search ended: ``"converged"``, ``"bound"`` or ``"budget"``.
    groups_ : list or None
        The group labels, in the order of ``best_params_``.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    ticselect.criterion_path : the criteria along a grid of the same parameter.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import ticselect as ts
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-8))
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the classes are separable
    ...     search = ts.CriterionSearch(pipe, "C").fit(X, y)
    >>> round(search.best_params_["C"], 2), search.n_fits_ <= 10, search.flags_
    (0.7, True, ())
    >>> search.predict(X[:3]).shape
    (3,)
    """

    #: :func:`ticselect.curvature` reads ``estimator_`` (``curvature._dispatch``).
    _ticselect_wrapper = True

    def __init__(
        self,
        estimator,
        param,
        *,
        criterion="alo",
        bounds=None,
        rule="best",
        groups=None,
        dispersion=None,
        unpenalized="auto",
        warm_start=True,
        xtol="auto",
        max_evals=30,
    ):
        self.estimator = estimator
        self.param = param
        self.criterion = criterion
        self.bounds = bounds
        self.rule = rule
        self.groups = groups
        self.dispersion = dispersion
        self.unpenalized = unpenalized
        self.warm_start = warm_start
        self.xtol = xtol
        self.max_evals = max_evals

    # -- fit ------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Search the penalty, then keep the fit at the chosen value.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights, passed to the final estimator (and to the earlier
            Pipeline steps whose ``fit`` takes them).

        Returns
        -------
        self : CriterionSearch
            Fitted search.
        """
        self._check_options()
        if not hasattr(self.estimator, "get_params"):
            raise TypeError(
                f"Expected a scikit-learn estimator, got {self.estimator!r}."
            )
        spec = resolve_penalty(self.estimator, self.param)
        if spec.l1 and self.criterion == "evidence":
            raise ValueError(
                f"The evidence is undefined for the L1 penalty of {spec.estimator_name}"
                " (a Laplace prior has a kink at 0); use criterion='alo'."
            )
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y = column_or_1d(y_arr, warn=True)  # one target: DataConversionWarning
        pre, final, final_name, Xt = self._preprocess(X, y, sample_weight)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, Xt.shape[0])
        key = warm_start_key(final)
        if key is not None:
            final.set_params(**{key: bool(self.warm_start)})
        column_groups, labels = self._check_groups(Xt.shape[1], spec)
        start = float(final.get_params()[spec.name])
        if not (np.isfinite(start) and start > 0):
            start = 1.0
        G = 1 if labels is None else len(labels)
        xtol = self._xtol(G, spec)
        ev = Evaluator(
            final, spec, Xt, y, sample_weight, self.criterion, column_groups, start,
            self.dispersion, self.max_evals, bool(self.warm_start), self.unpenalized,
        )  # fmt: skip
        lo, hi, t0 = self._box(ev, spec, start, G)
        best, stopped = self._optimise(ev, spec, t0, lo, hi, G, xtol)
        chosen = best
        if self.rule == "one_se":
            chosen = one_se_point(
                _memo(ev), best, spec.exponent * np.ones(G), lo, hi, xtol,
                points=ev.points,
            )  # fmt: skip
        self._store(ev, spec, chosen, stopped, lo, hi, labels, pre, final_name, Xt)
        return self

    def _check_options(self):
        if self.criterion not in CRITERIA:
            raise ValueError(
                f"criterion must be one of {list(CRITERIA)}, got {self.criterion!r}."
            )
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {list(RULES)}, got {self.rule!r}.")
        if self.unpenalized not in UNPENALIZED:
            raise ValueError(
                f"unpenalized must be one of {list(UNPENALIZED)}, got "
                f"{self.unpenalized!r}."
            )
        if self.rule == "one_se" and self.criterion == "evidence":
            raise ValueError(
                "rule='one_se' needs the criterion's pointwise standard error, which "
                "the evidence does not have; use rule='best' or criterion='alo'."
            )
        if self.bounds is not None:
            try:
                lo, hi = (float(b) for b in self.bounds)
            except (TypeError, ValueError):
                raise ValueError(
                    f"bounds must be (low, high) or None, got {self.bounds!r}."
                ) from None
            if not (0 < lo < hi < np.inf):
                raise ValueError(
                    f"bounds must satisfy 0 < low < high < inf (the parameter is "
                    f"searched on a log scale), got {self.bounds!r}."
                )
        auto = isinstance(self.xtol, str) and self.xtol == "auto"
        number = not isinstance(self.xtol, str) and np.isscalar(self.xtol)
        if not (auto or (number and self.xtol > 0)):
            raise ValueError(
                f"xtol must be a positive number or 'auto', got {self.xtol!r}."
            )
        if not (isinstance(self.max_evals, int | np.integer) and self.max_evals >= 1):
            raise ValueError(
                f"max_evals must be a positive integer, got {self.max_evals!r}."
            )

    def _preprocess(self, X, y, sample_weight):
        """Fit the Pipeline's earlier steps once; return them and the final step."""
        est = clone(self.estimator)
        if not isinstance(est, Pipeline) or len(est.steps) == 1:
            sparse = get_tags(est).input_tags.sparse
            X = check_array(X, accept_sparse=("csr", "csc") if sparse else False)
            if not isinstance(est, Pipeline):
                return None, est, None, X
            return None, est.steps[-1][1], est.steps[-1][0], X
        name, final = est.steps[-1]
        pre = Pipeline(est.steps[:-1])
        kw = {}
        if sample_weight is not None:
            kw = {
                f"{n}__sample_weight": sample_weight
                for n, step in pre.steps
                if step not in (None, "passthrough")
                and has_fit_parameter(step, "sample_weight")
            }
        Xt = pre.fit(X, y, **kw).transform(X)
        return pre, final, name, check_array(Xt, accept_sparse=("csr", "csc"))

    def _check_groups(self, n_columns, spec):
        """``(column -> group index, labels)`` from ``groups``, or ``(None, None)``."""
        if self.groups is None:
            return None, None
        if spec.l1:
            raise ValueError(
                f"groups= needs an L2 penalty; the L1 penalty of {spec.estimator_name} "
                "is not a column rescaling of one penalty (tune alpha alone)."
            )
        if not spec.has_slopes:
            raise ValueError(
                f"groups= needs a GLM; {spec.estimator_name} has one penalty on all "
                "its weights."
            )
        return parse_groups(self.groups, n_columns)

    def _box(self, ev, spec, start, G):
        """Bounds on ``t = log(param)`` and the start (one evaluation if needed)."""
        if self.bounds is not None:
            lo, hi = np.log(float(self.bounds[0])), np.log(float(self.bounds[1]))
            t0 = min(max(np.log(start), lo), hi)
            return np.full(G, lo), np.full(G, hi), np.full(G, t0)
        box = l1_box(ev.final, ev.X, ev.y, ev.sample_weight) if spec.l1 else None
        if box is not None:  # λ_max down to 1e-4 of it; start in the middle
            lo, hi = np.log(box[0]), np.log(box[1])
            return np.full(G, lo), np.full(G, hi), np.full(G, 0.5 * (lo + hi))
        t0 = np.full(G, np.log(start))
        first = ev(t0)
        curv = first.extra["curvature"]
        pen = np.any(ev.masks, axis=0)
        scale = float(np.mean(np.diag(curv.hessian)[pen]))
        lam = float(np.mean(curv.penalty[pen]))
        if not (np.isfinite(scale) and scale > 0 and lam > 0):
            scale, lam = 1.0, 1.0
        e = spec.exponent
        ends = sorted(np.log(np.array(DEFAULT_SPAN) * scale / lam) / e)
        lo, hi = np.log(start) + ends[0], np.log(start) + ends[1]
        return np.full(G, lo), np.full(G, hi), np.clip(t0, lo, hi)

    def _xtol(self, G, spec):
        """The tolerance on ``log(param)``: ``xtol``, or ``AUTO_XTOL``'s for "auto"."""
        if not isinstance(self.xtol, str):
            return float(self.xtol)
        if self.criterion != "evidence" or not spec.has_slopes:
            return AUTO_XTOL["noisy"]
        return AUTO_XTOL["evidence_groups" if G > 1 else "evidence"]

    def _optimise(self, ev, spec, t0, lo, hi, G, xtol):
        memo = _memo(ev)
        if G > 1:
            n = ev.points[0].extra["n_samples"] if ev.points else 1.0
            return minimize_nd(memo, t0, lo, hi, n, xtol)
        if spec.has_slopes:
            best, stopped = minimize_1d(memo, t0[0], lo[0], hi[0], xtol)
            if stopped != "no_slope":
                return best, stopped
            t0 = best.t
        return minimize_values_1d(
            memo, float(t0[0]), lo[0], hi[0], xtol,
            start=ev.points[-1] if ev.points else None,
        )  # fmt: skip

    # -- results --------------------------------------------------------------------
    def _store(self, ev, spec, chosen, stopped, lo, hi, labels, pre, final_name, Xt):
        values = chosen.extra["values"]
        if labels is None:
            self.best_params_ = {self.param: float(values[0])}
        else:
            self.best_params_ = {
                self.param: {
                    lab: float(v) for lab, v in zip(labels, values, strict=True)
                }
            }
        n = chosen.extra["n_samples"]
        self.best_score_ = -chosen.value / (2.0 * n)
        self.best_index_ = next(i for i, p in enumerate(ev.points) if p is chosen)
        self.n_fits_ = ev.n_fits
        self.path_ = _path_table(ev.points, self.param, labels)
        self.bounds_ = (float(np.exp(lo[0])), float(np.exp(hi[0])))
        edge = np.isclose(chosen.t, lo, rtol=0, atol=1e-9) | np.isclose(
            chosen.t, hi, rtol=0, atol=1e-9
        )
        self.at_bound_ = bool(np.any(edge))
        self.flags_ = tuple(chosen.extra["flags"])
        self.stopped_ = stopped
        self.groups_ = None if labels is None else list(labels)
        final = chosen.extra["estimator"]
        steps = [] if pre is None else list(pre.steps)
        if labels is not None:
            scale = group_scales(values, ev.base, spec.exponent)[ev.column_groups]
            steps.append(("groupscaler", GroupScaler(scale=scale).fit(Xt)))
        if steps:
            steps.append((final_name or type(final).__name__.lower(), final))
            self.best_estimator_ = Pipeline(steps)
        else:
            self.best_estimator_ = final
        self._warn(chosen, stopped, edge)
        for p in ev.points:  # the rest is not needed after fit (and holds the data)
            p.extra.pop("curvature", None)
            if p is not chosen:
                p.extra.pop("estimator", None)
        est = self.best_estimator_
        self.n_features_in_ = est.n_features_in_
        if hasattr(est, "feature_names_in_"):
            self.feature_names_in_ = est.feature_names_in_
        if hasattr(est, "classes_"):
            self.classes_ = est.classes_

    def _warn(self, chosen, stopped, edge):
        for w in chosen.extra["warnings"]:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        where = ", ".join(
            f"{k}={v:.4g}" for k, v in _flat_params(self.best_params_).items()
        )
        if self.at_bound_:
            names = list(_flat_params(self.best_params_).items())
            at = ", ".join(
                f"{k}={v:.4g}" for (k, v), e in zip(names, edge, strict=True) if e
            )
            warnings.warn(
                f"CriterionSearch: the chosen {at} lies at a bound of the search "
                f"({self.bounds_[0]:.3g}, {self.bounds_[1]:.3g}); the best value may "
                "lie beyond it: widen bounds=.",
                UserWarning,
                stacklevel=3,
            )
        if stopped == "budget":
            warnings.warn(
                f"CriterionSearch: max_evals={self.max_evals} refits were spent "
                f"before the search converged; keeping the best so far ({where}).",
                UserWarning,
                stacklevel=3,
            )
        concern = TIC_FLAGS if self.criterion == "tic" else FIT_FLAGS
        if self.criterion == "evidence":  # the model's own likelihood: its variance
            concern = concern + MODEL_BASED_FLAGS
        fired = tuple(f for f in self.flags_ if f in concern)
        if fired:
            note = (
                "ALO stays usable on separated or overconfident fits, where TIC "
                "fails, but not on a non-stationary one"
                if self.criterion == "alo"
                else f"its {self.criterion.upper()} may not be trusted there"
            )
            warnings.warn(
                f"CriterionSearch: the fit at the chosen {where} is flagged "
                f"{flags_text(fired)}: {note}; check the choice by "
                "cross-validation.",
                UserWarning,
                stacklevel=3,
            )
        separated = any(
            issubclass(w.category, SeparationWarning) for w in chosen.extra["warnings"]
        )
        if self.criterion == "evidence" and separated:
            warnings.warn(
                f"CriterionSearch: the classes are separated at the chosen {where}: "
                "the Laplace evidence keeps rising as the penalty weakens there and "
                "picks too weak a penalty (see the tuning guide, 'Where the evidence "
                "loses to CV'); use criterion='alo', or check the choice by "
                "cross-validation.",
                UserWarning,
                stacklevel=3,
            )

    # -- the estimator interface ----------------------------------------------------
    @property
    def estimator_(self):
        """The fitted estimator, ``best_estimator_`` (read by ``ts.curvature``)."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_


def _memo(ev):
    """``ev`` that returns an already evaluated point instead of refitting it."""

    def evaluate(t):
        t = np.asarray(t, dtype=float)
        for p in ev.points:
            if p.t.shape == t.shape and np.allclose(p.t, t, rtol=0, atol=1e-12):
                return p
        return ev(t)

    return evaluate


def parse_groups(groups, n_columns):
    """Column -> group index and the group labels, from ``groups=``.

    Parameters
    ----------
    groups : array-like of shape (n_columns,) or sequence of sequences of int
        A label per column, or the column indices of each group.
    n_columns : int
        Columns the final estimator sees.

    Returns
    -------
    column_groups : ndarray of int of shape (n_columns,)
    labels : list

    Raises
    ------
    ValueError
        When the groups do not cover every column exactly once.
    """
    items = list(groups) if not isinstance(groups, str) else [groups]
    nested = bool(items) and all(
        isinstance(g, list | tuple | range | np.ndarray) for g in items
    )
    if nested:
        owner = np.full(n_columns, -1)
        for g, cols in enumerate(items):
            cols = np.asarray(list(cols))
            if cols.size == 0 or cols.dtype.kind not in "iu":
                raise ValueError(
                    f"groups[{g}] must be a non-empty list of column indices, got "
                    f"{list(cols)!r}."
                )
            if np.any((cols < 0) | (cols >= n_columns)):
                raise ValueError(
                    f"groups[{g}] has column indices outside 0..{n_columns - 1}."
                )
            if np.any(owner[cols] >= 0):
                raise ValueError(
                    f"groups[{g}] repeats columns of an earlier group; each column "
                    "belongs to one group."
                )
            owner[cols] = g
        missing = np.flatnonzero(owner < 0)
        if missing.size:
            raise ValueError(
                f"groups covers {n_columns - missing.size} of the {n_columns} columns "
                f"the estimator sees; columns {missing[:10].tolist()} are in no "
                "group. Give every column a group."
            )
        return owner, list(range(len(items)))
    labels_in = np.asarray(items, dtype=object)
    if labels_in.shape != (n_columns,):
        raise ValueError(
            f"groups has {labels_in.size} labels but the estimator sees {n_columns} "
            "columns (after the Pipeline's other steps); give one label per column, "
            "or a list of column indices per group."
        )
    labels, owner = [], np.empty(n_columns, dtype=int)
    for j, lab in enumerate(labels_in.tolist()):
        if lab not in labels:
            labels.append(lab)
        owner[j] = labels.index(lab)
    return owner, labels


def _flat_params(best_params):
    out = {}
    for k, v in best_params.items():
        if isinstance(v, dict):
            out.update({f"{k}[{lab}]": x for lab, x in v.items()})
        else:
            out[k] = v
    return out


def _path_table(points, param, labels):
    """``path_``: one entry per evaluation (see :class:`CriterionSearch`)."""
    names = [param] if labels is None else [f"{param}[{lab}]" for lab in labels]
    table = {name: [] for name in names}
    table.update(
        criterion=[], criterion_se=[], per_sample=[], gradient=[], flags=[],
        fit_time=[], criterion_time=[],
    )  # fmt: skip
    for p in points:
        for name, v in zip(names, p.extra["values"], strict=True):
            table[name].append(float(v))
        table["criterion"].append(p.value)
        table["criterion_se"].append(p.se)
        table["per_sample"].append(p.value / (2.0 * p.extra["n_samples"]))
        grad = np.full(len(names), np.nan) if p.grad is None else p.grad
        table["gradient"].append(float(grad[0]) if labels is None else list(grad))
        table["flags"].append(flags_text(p.extra["flags"]))
        table["fit_time"].append(p.extra["fit_time"])
        table["criterion_time"].append(p.extra["criterion_time"])
    return table
