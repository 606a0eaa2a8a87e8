"""Comparison tables of several fitted models: :func:`compare` and :class:`Comparison`.

Ranking and the recommended model
---------------------------------
:attr:`Comparison.recommended` is the model the evidence supports, with the reason
in :attr:`Comparison.pick_note` (the rule of :mod:`ticselect.selection._recommend`:
ALO's pick for GLMs, with TIC beside it; TIC's pick where it is unflagged and agrees,
or where ALO is unavailable).  Models are ranked by one criterion (``sort_by``,
lowest first; ties keep the input order): by default ``"recommended"``, the
criterion the recommendation rests on (ALO for GLMs whose ALO is available, TIC
otherwise).

Weights
-------
For every criterion ``c`` in AIC, AICc, BIC, AIC and BIC with the effective degrees
of freedom (``aic_edf``, ``bic_edf``: ``2L + 2·edf``, the standard for penalised
fits, ``edf = tr(H_λ⁻¹H)``), TIC and ALO the table holds

- ``d_c = c - min(c)``, the difference to the best model by that criterion, and
- ``w_c = exp(-d_c / 2) / Σⱼ exp(-d_cⱼ / 2)``, the Akaike-type weight (Burnham &
  Anderson 2002, §2.9; the ``AICcWt`` of R's AICcmodavg and the ``weight`` of MuMIn).
  For BIC it is the posterior model probability under equal priors (to the BIC
  approximation); for TIC it is the same transform applied to TIC, which estimates the
  same expected test deviance as AIC without assuming a correct model.

Standard error of a TIC difference
----------------------------------
``d_tic_se`` is the standard error of ``d_tic`` from the paired per-row
contributions of :func:`ticselect.pointwise`: with ``dᵢ = ticᵢ(model) - ticᵢ(best)``
(the best by TIC), ``d_tic_se = √(n · Var_w(d))``, the ``dse`` of ArviZ's
``compare`` (Vehtari, Gelman & Gabry 2017) on the deviance scale (0 for the best
model; ``nan`` for inputs without per-row values, i.e. :class:`~ticselect.Criteria`).
With ``groups=`` the differences are summed within groups first.  A ``d_tic`` of a
few ``d_tic_se`` is a difference the data resolve; for two non-nested models,
:meth:`Comparison.vuong_test` turns it into a test.

Approximate leave-one-out
-------------------------
``alo`` is the approximate leave-one-out deviance ``2·Σᵢwᵢℓᵢ(θ₋ᵢ)`` of
:func:`~ticselect.approximate_loo` (``alo_se`` its standard error over rows,
``n_high_leverage`` the rows where one Newton step is unreliable); ``w_alo`` is then the
pseudo-BMA weight of Yao, Vehtari, Simpson & Gelman (2018, Bayesian Analysis 13(3)),
and ``d_alo_se`` the standard error of ``d_alo`` from the paired pointwise
leave-one-out terms (as ``d_tic_se``).  A :class:`~ticselect.Criteria` input has no
per-row model: its ALO entries are ``nan``.

Reliability flags
-----------------
``flags`` is each row's :attr:`ticselect.Criteria.flags` joined by ``","`` (empty
when the row is reliable; e.g. ``"overconfident"`` for a near-interpolating network,
where TIC predicts almost no gap), with ``"high_leverage"`` added where ALO
contradicts TIC's ranking beyond its paired standard error
(:func:`ticselect.selection._recommend.alo_flags`), and ``penalty_ratio`` its
:attr:`~ticselect.Criteria.penalty_ratio`.  :attr:`Comparison.pick_note` says in one
line why the recommended model is recommended (and when TIC's pick is flagged), under
:meth:`Comparison.summary` and in the HTML table.

Weights of a criterion sum to 1 over the models; a model whose criterion is infinite
(AICc with ``n <= k + 1``) gets ``d = inf`` and weight 0.  All criteria are on the
deviance scale of :mod:`ticselect.criteria` (``2·NLL + penalty``), so they are only
comparable between models fitted on the same rows with the same likelihood; models
with different ``n`` are refused.
"""

from __future__ import annotations

import html
import re

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._evidence import evidence
from ..criteria import Criteria, criteria
from ..curvature import curvature
from ..curvature.adapters.statsmodels import is_statsmodels_results
from ..stattests import paired_difference_se, pointwise, vuong_test
from ._estimator import InformationCriteria
from ._flags import flags_text
from ._loo import approximate_loo
from ._recommend import alo_flags, recommend
from ._table import format_cell, text_table

__all__ = ["Comparison", "compare"]

CRITERIA = ("aic", "aicc", "bic", "aic_edf", "bic_edf", "tic", "alo")
#: ``sort_by`` values: a criterion, or the one the recommendation rests on.
SORT_BY = (*CRITERIA, "recommended")
COLUMNS = (
    ("loglik", "loglik"),
    ("k", "n_params"),
    *[(c, None if c == "alo" else c) for c in CRITERIA],  # alo: from the LOOResult
    *[(f"d_{c}", None) for c in CRITERIA],
    *[(f"w_{c}", None) for c in CRITERIA],
    ("d_tic_se", None),
    ("d_alo_se", None),
    ("alo_se", None),
    ("n_high_leverage", None),
    ("tic_penalty", "tic_penalty"),
    ("effective_dim", "effective_dim"),
    ("gap_estimate", "gap_estimate"),
    ("stationarity", "stationarity"),
    ("n_samples", "n_samples"),
    ("penalty_ratio", "penalty_ratio"),
    ("log_evidence", "log_evidence"),  # Laplace evidence, nats, greater is better
)
#: First screen of :meth:`Comparison.summary` (``full=True`` shows every column).
SUMMARY_COLUMNS = (
    "k", "loglik", "alo", "d_alo", "d_alo_se", "tic", "d_tic", "d_tic_se", "flags",
)  # fmt: skip
#: The first screen when ALO is unavailable (``Criteria`` inputs, generic models).
SUMMARY_COLUMNS_NO_ALO = (
    "k", "loglik", "aic", "d_aic", "bic", "tic", "d_tic", "d_tic_se", "w_tic", "flags",
)  # fmt: skip


def akaike_weights(values):
    """Differences to the minimum and weights ``exp(-Δ/2) / Σ exp(-Δ/2)``.

    Parameters
    ----------
    values : array-like of shape (n_models,)
        Criterion values (deviance scale); ``inf`` allowed.

    Returns
    -------
    delta : ndarray of shape (n_models,)
        ``values - min(values)`` (``inf`` where the value is infinite, ``nan``
        everywhere when no value is finite).
    weights : ndarray of shape (n_models,)
        Weights summing to 1 (``nan`` when no value is finite).

    Examples
    --------
    >>> delta, w = akaike_weights([10.0, 12.0, np.inf])
    >>> delta.tolist(), np.round(w, 4).tolist()
    ([0.0, 2.0, inf], [0.7311, 0.2689, 0.0])
    """
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    if not np.any(finite):
        return np.full(v.shape, np.nan), np.full(v.shape, np.nan)
    delta = np.full(v.shape, np.inf)
    delta[finite] = v[finite] - v[finite].min()
    rel = np.zeros(v.shape)
    rel[finite] = np.exp(-0.5 * delta[finite])
    return delta, rel / rel.sum()


def _is_fitted(model):
    try:
        check_is_fitted(model[-1] if isinstance(model, Pipeline) else model)
    except NotFittedError:
        return False
    return True


def _default_name(model):
    if is_statsmodels_results(model):
        inner = getattr(model, "model", model)
        fam = getattr(inner, "family", None)
        base = type(inner).__name__
        return f"{base}({type(fam).__name__})" if fam is not None else base
    if isinstance(model, InformationCriteria):
        model = model.estimator
    if isinstance(model, Pipeline):
        model = model[-1]
    text = re.sub(r"\s+", "", repr(model))
    return text if len(text) <= 48 else text[:45] + "..."


def _model_criteria(model, X, y, sample_weight, dispersion, groups=None):
    """Return ``(criteria, fitted_model, curvature)``, fitting a clone when unfitted.

    ``curvature`` is ``None`` for a :class:`Criteria` input.
    """
    if isinstance(model, Criteria):
        return model, None, None
    if is_statsmodels_results(model):
        curv = curvature(model, dispersion=dispersion, groups=groups)
        return criteria(curv), model, curv
    if not hasattr(model, "fit"):
        raise TypeError(
            f"compare() takes estimators, Pipelines, InformationCriteria, statsmodels "
            f"results or Criteria, got {type(model).__name__}."
        )
    if (
        isinstance(model, InformationCriteria)
        and hasattr(model, "criteria_")
        and groups is None
    ):
        return model.criteria_, model, getattr(model, "curvature_", None)
    if not _is_fitted(model):
        if X is None or y is None:
            raise ValueError(
                f"{type(model).__name__} is not fitted: pass X and y so that compare() "
                "can fit it."
            )
        model = clone(model)
        if isinstance(model, InformationCriteria):
            if dispersion is not None:
                model.set_params(dispersion=dispersion)
            model.fit(X, y, sample_weight=sample_weight)
            if groups is None:
                return model.criteria_, model, model.curvature_
        else:
            kw = {}
            if sample_weight is not None:
                key = "sample_weight"
                if isinstance(model, Pipeline):
                    key = f"{model.steps[-1][0]}__sample_weight"
                kw[key] = sample_weight
            model.fit(X, y, **kw)
    curv = curvature(model, X, y, sample_weight, dispersion=dispersion, groups=groups)
    return criteria(curv), model, curv


def _loo_of(curv):
    """Approximate LOO of a curvature with a per-row model, else ``None``."""
    return approximate_loo(curv) if getattr(curv, "rows", None) is not None else None


def compare(
    models, X=None, y=None, *, sample_weight=None, names=None, sort_by="recommended",
    dispersion=None, groups=None,
):  # fmt: skip
    """Compare models by log-likelihood, AIC, AICc, BIC and TIC, with weights.

    Parameters
    ----------
    models : list or dict
        Candidates: fitted or unfitted scikit-learn estimators and Pipelines (unfitted
        ones are cloned and fitted on ``X, y``), fitted or unfitted
        :class:`~ticselect.InformationCriteria` (a fitted one contributes the
        ``criteria_`` of its own training data), statsmodels results (which carry their
        data) or :class:`~ticselect.Criteria`.  A dict maps names to models.
    X : array-like of shape (n_samples, n_features), default=None
        Training data of the scikit-learn models.
    y : array-like of shape (n_samples,), default=None
        Targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.
    names : list of str or None, default=None
        Model names (defaults: the dict keys, or the models' reprs).
    sort_by : {"recommended", "alo", "tic", "aic", "aicc", "bic", "aic_edf", \
"bic_edf"}, default="recommended"
        Criterion that ranks the rows (lowest first); ``"recommended"`` is the one
        the recommendation rests on (ALO for GLMs whose ALO is available, TIC
        otherwise).
    dispersion : None or float, default=None
        Passed to :func:`ticselect.curvature`.
    groups : array-like of shape (n_samples,), default=None
        Cluster labels passed to :func:`ticselect.curvature` (clustered TIC and
        ``d_tic_se``; statsmodels results use them too).

    Returns
    -------
    Comparison
        The ranked table; see the module docstring for ``d_*`` and ``w_*``.

    Raises
    ------
    ValueError
        For an unknown ``sort_by``, mismatched ``names``, an empty list, or models
        fitted on different numbers of samples.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from ticselect.selection._compare import compare
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> models = {
    ...     f"C={C}": make_pipeline(StandardScaler(), LogisticRegression(C=C, tol=1e-8))
    ...     for C in (0.01, 0.1, 1.0)
    ... }
    >>> table = compare(models, X, y)
    >>> alo = {name: row["alo"] for name, row in table.to_dict().items()}
    >>> table.best == min(alo, key=alo.get)  # ranked by ALO, the recommended criterion
    True
    >>> table.recommended, table.recommendation.criterion
    ('C=1.0', 'tic')
    >>> table.pick_note
    "TIC and ALO both pick 'C=1.0', and no flag questions TIC there."
    >>> round(sum(row["w_tic"] for row in table.to_dict().values()), 12)
    1.0
    """
    if sort_by not in SORT_BY:
        raise ValueError(f"sort_by must be one of {list(SORT_BY)}, got {sort_by!r}.")
    if isinstance(models, dict):
        if names is not None:
            raise ValueError("Pass names either as dict keys or as names=, not both.")
        names, models = [str(k) for k in models], list(models.values())
    else:
        models = list(models)
    if not models:
        raise ValueError("compare() needs at least one model.")
    if names is None:
        names = [_default_name(m) for m in models]
    names = list(names)
    if len(names) != len(models):
        raise ValueError(f"Got {len(names)} names for {len(models)} models.")
    seen = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")

    crits, fitted, curvs, loos = [], [], [], []
    for m in models:
        c, f, cv = _model_criteria(m, X, y, sample_weight, dispersion, groups)
        crits.append(c)
        fitted.append(f)
        curvs.append(cv)
        loos.append(None if cv is None else _loo_of(cv))
    ns = np.array([c.n_samples for c in crits])
    if not np.allclose(ns, ns[0], rtol=1e-12, atol=0):
        sizes = dict(zip(unique, ns.tolist(), strict=True))
        raise ValueError(
            f"Models were fitted on different numbers of samples ({sizes}); "
            "information criteria are only comparable on the same data."
        )
    return Comparison(
        unique, crits, fitted, sort_by=sort_by, curvatures=curvs, loos=loos
    )


def _d_tic_se(tic, curvatures):
    """``√(n·Var(dᵢ))`` of each model's pointwise TIC minus the best model's."""
    out = np.full(len(tic), np.nan)
    finite = np.isfinite(tic)
    if not np.any(finite):
        return out
    best = int(np.argmin(np.where(finite, tic, np.inf)))
    if curvatures[best] is None:
        return out
    ref = pointwise(curvatures[best])
    for i, curv in enumerate(curvatures):
        if curv is None:
            continue
        pw = ref if i == best else pointwise(curv)
        same_rows = pw.n_rows == ref.n_rows and np.array_equal(
            pw.sample_weight, ref.sample_weight
        )
        if same_rows:
            out[i] = paired_difference_se(pw.tic - ref.tic, pw.sample_weight, pw.groups)
    return out


def _d_alo_se(alo, loos):
    """``√(n·Var(dᵢ))`` of each model's pointwise ALO minus the best model's."""
    out = np.full(len(alo), np.nan)
    finite = np.isfinite(alo)
    if not np.any(finite):
        return out
    ref = loos[int(np.argmin(np.where(finite, alo, np.inf)))]
    for i, r in enumerate(loos):
        if r is None or r.pointwise.shape != ref.pointwise.shape:
            continue
        diff = 2.0 * (np.asarray(r.pointwise) - np.asarray(ref.pointwise))
        if np.array_equal(r.weights, ref.weights) and np.all(np.isfinite(diff)):
            out[i] = paired_difference_se(diff, r.weights)
    return out


def _family(curvatures):
    """``"mlp"`` when any candidate is a network, else the common family, or ``""``."""
    fams = {getattr(c, "family", "") for c in curvatures if c is not None}
    if "mlp" in fams:
        return "mlp"
    return fams.pop() if len(fams) == 1 else ""


class Comparison:
    """A ranked comparison table of models (built by :func:`compare`).

    Attributes
    ----------
    names : list of str
        Model names, best first.
    criteria : dict of str to Criteria
        Criteria of each model (``flags`` include ALO's ``"high_leverage"``, see the
        module docstring).
    estimators : dict of str to object
        The fitted models (``None`` for a :class:`~ticselect.Criteria` input).
    loo : dict of str to LOOResult or None
        Approximate leave-one-out of each model (``None`` for a
        :class:`~ticselect.Criteria` input).
    sort_by : str
        Ranking criterion (``"recommended"`` resolved to ``"alo"`` or ``"tic"``).
    recommendation : Recommendation
        The recommended model's position, criterion and reason (see
        :mod:`ticselect.selection._recommend`); :attr:`recommended` is its name.
    columns : list of str
        Column names of :meth:`to_dict` / :meth:`to_frame`.  ``flags`` holds the
        row's reliability flags joined by ``","`` (``""`` when reliable; the tuple is
        ``criteria[name].flags``), ``penalty_ratio`` its
        :attr:`~ticselect.Criteria.penalty_ratio`.
    curvatures : dict of str to Curvature or None
        Curvature of each model (``None`` for a :class:`~ticselect.Criteria` input),
        used for ``d_tic_se`` and :meth:`vuong_test`.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = X[:, 0] + rng.normal(size=100)
    >>> small = LinearRegression().fit(X[:, :1], y)
    >>> table = ts.compare([small], X[:, :1], y, names=["x0 only"])
    >>> table.names, table.criteria["x0 only"].n_params, table.recommended
    (['x0 only'], 3, 'x0 only')
    """

    def __init__(
        self, names, crits, fitted, *, sort_by="recommended", curvatures=None,
        loos=None,
    ):  # fmt: skip
        loos = [None] * len(crits) if loos is None else list(loos)
        curvatures = [None] * len(names) if curvatures is None else list(curvatures)
        family = _family(curvatures)
        # clustered data: ALO leaves out rows, not groups, so it neither flags nor
        # recommends (its column stays, as the leave-one-row-out estimate)
        grouped = any(getattr(c, "groups", None) is not None for c in curvatures)
        kinds = ["mlp" if family == "mlp" else "glm"] * len(crits)
        crits = alo_flags(crits, [None] * len(loos) if grouped else loos, kinds)
        rec = recommend([repr(n) for n in names], crits, loos, family=family,
                        grouped=grouped)  # fmt: skip
        if sort_by == "recommended":
            sort_by = "alo" if rec.alo_index is not None and family != "mlp" else "tic"
        self.sort_by = sort_by
        table = {
            col: np.array([getattr(c, src) for c in crits], dtype=float)
            for col, src in COLUMNS
            if src is not None
        }
        for col, attr in (("alo", "loo"), ("alo_se", "loo_se")):
            table[col] = np.array(
                [np.nan if r is None else getattr(r, attr) for r in loos], dtype=float
            )
        table["n_high_leverage"] = np.array(
            [np.nan if r is None else r.n_high_leverage for r in loos], dtype=float
        )
        for c in CRITERIA:
            table[f"d_{c}"], table[f"w_{c}"] = akaike_weights(table[c])
        table["d_tic_se"] = _d_tic_se(table["tic"], curvatures)
        table["d_alo_se"] = _d_alo_se(table["alo"], loos)
        order = np.argsort(table[sort_by], kind="stable")
        self.names = [names[i] for i in order]
        self.criteria = {names[i]: crits[i] for i in order}
        self.estimators = {names[i]: fitted[i] for i in order}
        self.curvatures = {names[i]: curvatures[i] for i in order}
        self.loo = {names[i]: loos[i] for i in order}
        self.recommendation = rec
        self._recommended = names[rec.index]
        numeric = [col for col, _ in COLUMNS]
        self.columns = [*numeric, "flags"]
        self._rows = {}
        for i in order:
            row = {col: table[col][i].item() for col in numeric}
            row["k"] = int(row["k"])
            row["flags"] = flags_text(crits[i].flags)
            self._rows[names[i]] = row

    def vuong_test(self, a, b, *, alpha=0.05):
        """TIC-corrected Vuong test of two (non-nested) models of the table.

        Parameters
        ----------
        a, b : str
            Model names.
        alpha : float, default=0.05
            Level for the reported direction.

        Returns
        -------
        VuongResult
            See :func:`ticselect.vuong_test`.

        Raises
        ------
        ValueError
            For an unknown name or a model without a curvature (a ``Criteria``
            input).
        """
        for name in (a, b):
            if name not in self.curvatures:
                raise ValueError(f"Unknown model {name!r}; models: {self.names}.")
            if self.curvatures[name] is None:
                raise ValueError(
                    f"{name!r} was given as Criteria: per-row values are needed; "
                    "pass the model itself to compare()."
                )
        return vuong_test(
            self.curvatures[a], self.curvatures[b], alpha=alpha, names=(a, b)
        )

    @property
    def best(self):
        """Name of the best model by ``sort_by``."""
        return self.names[0]

    @property
    def recommended(self):
        """Name of the recommended model (see :attr:`pick_note` for why)."""
        return self._recommended

    @property
    def tic_pick(self):
        """Name of the model TIC picks (the first with the smallest TIC)."""
        tic = [self._rows[name]["tic"] for name in self.names]
        return self.names[int(np.argmin(np.where(np.isnan(tic), np.inf, tic)))]

    @property
    def evidence_note(self):
        """One line when the models' evidences are not comparable, else ``""``.

        Like REML likelihoods, two evidences compare only when the models have the
        same unpenalised directions (:attr:`ticselect.Evidence.unpenalized_names`):
        a flat prior has no normalising constant.  :meth:`summary` prints the line
        when it shows ``log_evidence``.

        Returns
        -------
        str
        """
        spaces = {}
        for name, curv in self.curvatures.items():
            if curv is not None and np.isfinite(self._rows[name]["log_evidence"]):
                spaces[name] = evidence(curv).unpenalized_names
        if len(set(spaces.values())) <= 1:
            return ""
        parts = "; ".join(
            f"{name}: {', '.join(s) or 'none'}" for name, s in spaces.items()
        )
        return (
            "log_evidence is not comparable across these models: their unpenalised "
            f"(flat-prior) parameters differ ({parts})"
        )

    @property
    def pick_note(self):
        """One line: why :attr:`recommended` is recommended (and TIC's pick's flags).

        The wording is that of ``ticselect select`` (the ``recommended:`` line);
        :meth:`summary` prints it under the table.

        Returns
        -------
        str
        """
        return self.recommendation.note

    def to_dict(self):
        """Return ``{model name: {column: value}}``, best first.

        Returns
        -------
        dict
        """
        return {name: dict(row) for name, row in self._rows.items()}

    def to_frame(self):
        """Return the table as a :class:`pandas.DataFrame` indexed by model name.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        ImportError
            When pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - exercised without pandas
            raise ImportError(
                "to_frame needs pandas: pip install 'ticselect[pandas]'."
            ) from exc
        frame = pd.DataFrame.from_dict(self._rows, orient="index")[self.columns]
        frame.index.name = "model"
        return frame

    def _default_columns(self):
        has_alo = self.recommendation.alo_index is not None
        return list(SUMMARY_COLUMNS if has_alo else SUMMARY_COLUMNS_NO_ALO)

    def _marks(self, columns):
        """``{column: row}`` of each criterion's pick among ``columns``."""
        marks = {}
        for col in columns:
            if col in CRITERIA:
                v = np.array([self._rows[n][col] for n in self.names], dtype=float)
                if np.any(np.isfinite(v)):
                    marks[col] = int(np.argmin(np.where(np.isnan(v), np.inf, v)))
        return marks

    def summary(self, columns=None, full=False):
        """Return an aligned text table, best model first.

        Parameters
        ----------
        columns : list of str or None, default=None
            Columns to show; ``None`` shows the first screen: k, loglik, ALO with
            ``d_alo`` and its standard error, TIC with ``d_tic`` and its standard
            error, and the flags (AIC, BIC and TIC's weight instead of ALO when ALO
            is unavailable).
        full : bool, default=False
            Every column (when ``columns`` is ``None``).

        Returns
        -------
        str
            ``*`` marks each criterion's pick, ``>`` the recommended model; the
            footer and :attr:`pick_note` follow.

        Raises
        ------
        ValueError
            For an unknown column.
        """
        if columns is None:
            columns = self.columns if full else self._default_columns()
        columns = list(columns)
        bad = [c for c in columns if c not in self.columns]
        if bad:
            raise ValueError(f"Unknown columns {bad}; valid: {self.columns}.")
        lines = text_table(
            "model", self.names, columns, [self._rows[n] for n in self.names],
            marks=self._marks(columns), lead=self.names.index(self.recommended),
        )  # fmt: skip
        lines += self._footer()
        if "log_evidence" in columns and self.evidence_note:
            lines.append(f"note: {self.evidence_note}")
        lines.append(f"recommended: {self.recommended!r}; {self.pick_note}")
        return "\n".join(lines)

    def _footer(self):
        """Lines under the table (before the ``recommended:`` line)."""
        n = self._rows[self.names[0]]["n_samples"]
        return [
            f"ranked by {self.sort_by.upper()}; n = {n:g}; * marks each criterion's "
            "pick, > the recommended model"
        ] + self._alo_note()

    def _alo_note(self):
        """One line naming the models whose ``alo`` is ``nan``, and why (or none)."""
        missing = [name for name in self.names if self.loo[name] is None]
        if not missing:
            return []
        reasons = []
        for name in missing:
            curv = self.curvatures[name]
            why = (
                "given as Criteria, without rows"
                if curv is None
                else re.split(r"[.;] ", curv.rows_unavailable or "no per-row model")[0]
            )
            if why not in reasons:
                reasons.append(why)
        names = ", ".join(repr(m) for m in missing)
        return [f"note: alo is nan for {names}: {'; '.join(reasons)}"]

    def _html(self, columns, caption):
        caption = f"{caption}; recommended: {self.recommended!r}; {self.pick_note}"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ["model", *columns])
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(cell)}</td>"
                for cell in [
                    name,
                    *(format_cell(c, self._rows[name][c]) for c in columns),
                ]
            )
            + "</tr>"
            for name in self.names
        )
        return (
            f"<table><caption>{html.escape(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def _repr_html_(self):
        return self._html(self._default_columns(), f"ranked by {self.sort_by.upper()}")

    def __str__(self):
        return self.summary()

    def _repr_flag(self):
        return f", recommended={self.recommended!r}"

    def __repr__(self):
        return (
            f"<Comparison of {len(self.names)} models, best={self.best!r}"
            f"{self._repr_flag()}>"
        )
