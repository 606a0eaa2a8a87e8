"""Model averaging over fitted candidates: :class:`ModelAverage`.

The candidates are the models of a :func:`~ticselect.compare` table, the fits along
a :func:`~ticselect.criterion_path`, or a list of models fitted on the same rows.
The averaged model predicts with the weighted **mixture of the candidates'
predictive distributions** ``p(y | x) = Σₖ wₖ pₖ(y | x)``: class probabilities are
averaged, a regression predicts the mixture's mean ``Σₖ wₖ μₖ(x)``, and
:meth:`ModelAverage.predictive_nll` is ``-log Σₖ wₖ pₖ(yᵢ | xᵢ)``, each ``pₖ`` the
candidate's own likelihood (family and maximum-likelihood dispersion of its
:class:`~ticselect.Curvature`).

Weights
-------
``"akaike"``, ``"tic"``: ``wₖ ∝ exp(-Δₖ / 2)`` of AIC or TIC (Burnham & Anderson
2002, §2.9).  ``"alo"``: the same of ALO, the pseudo-BMA weights of Yao, Vehtari,
Simpson & Gelman (2018).  ``"pseudo_bma_plus"``: those averaged over the Bayesian
bootstrap.  ``"stacking"``: the simplex point that maximises the ALO log score of the
mixture (Yao et al. 2018), the weighting that targets prediction and does not
concentrate on one candidate when several predict differently but equally well.
See :mod:`ticselect.selection._weights`.

Coefficients
------------
:meth:`ModelAverage.coef_table` averages the coefficients the candidates share by
name (formulas of :func:`~ticselect.compare_formulas`, feature subsets named by a
Pipeline, every coefficient along a penalty path).  With ``θ̂ₖ`` and ``se_k`` a
candidate's estimate and standard error (:func:`ticselect.inference`),

- the **full** average ``θ̄ = Σₖ wₖ θ̂ₖ`` counts ``θ̂ₖ = 0`` (and ``se_k = 0``) where
  a candidate lacks the coefficient (MuMIn's "full" average, Burnham & Anderson's
  shrinkage estimator);
- the **conditional** average uses only the candidates that have it, with their
  weights renormalised (MuMIn's "conditional", AICcmodavg's ``modavg``);
- each has the **unconditional standard error** of Burnham & Anderson's revised
  estimator, ``√(Σₖ wₖ (se_k² + (θ̂ₖ - θ̄)²))`` (Burnham & Anderson 2004, Sociological
  Methods & Research 33(2), eq. 4; MuMIn's ``revised.var = TRUE``, AICcmodavg's
  ``uncond.se = "revised"``), which adds the spread between candidates to each
  candidate's own sampling variance;
- the **importance** of a coefficient is the sum of the weights of the candidates
  that have it.

Same rows
---------
Weights compare pointwise values row by row, so every candidate must have been
fitted to the same rows (same number, weights and response); otherwise ``fit``
raises a one-line ``ValueError``.  A fitted scikit-learn candidate passed with
``fit(X, y)`` is checked to be at a stationary point of its loss on those rows,
which fails when it was fitted to other rows.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..criteria import criteria
from ..curvature import curvature
from ..curvature._families import Gaussian
from ..curvature._result import DECREMENT_TOL, STATIONARITY_TOL
from ..curvature._rows import GLMRows, MLPRows
from ..curvature.adapters.statsmodels import is_statsmodels_results
from ._compare import Comparison, _default_name, _is_fitted, akaike_weights
from ._estimator import _weight_params
from ._inference import _pipeline_names, inference_from_curvature
from ._loo import approximate_loo
from ._path import CriterionPath
from ._weights import pseudo_bma_weights, stacking_weights

__all__ = ["ModelAverage"]

WEIGHTS = ("akaike", "tic", "alo", "stacking", "pseudo_bma_plus")
_ALO_WEIGHTS = ("alo", "stacking", "pseudo_bma_plus")


class _Candidate:
    """One fitted candidate: name, model, curvature, criteria and ALO."""

    def __init__(self, name, model, curv, crit=None, loo=None):
        self.name = name
        self.model = model
        self.curv = curv
        self.crit = criteria(curv) if crit is None else crit
        self.loo = loo


def _is_clf(model):
    return (
        model is not None
        and not is_statsmodels_results(model)
        and (is_classifier(model))
    )


def _rows_key(c):
    """``(n_rows, weights, response or None)`` of a candidate's fit."""
    rows = getattr(c.curv, "rows", None)
    y = rows.spec.y if isinstance(rows, GLMRows) else None
    return c.curv.n_rows, c.curv.sample_weight, y


def _check_same_rows(cands):
    """A one-line ValueError when the candidates were fitted to different rows."""
    n0, w0, y0 = _rows_key(cands[0])
    for c in cands[1:]:
        n, w, y = _rows_key(c)
        if n != n0:
            detail = f"{cands[0].name!r}: {n0} rows, {c.name!r}: {n} rows"
        elif not np.array_equal(w, w0):
            detail = f"{cands[0].name!r} and {c.name!r} have different sample weights"
        elif y is not None and y0 is not None and not np.array_equal(y, y0):
            detail = f"{cands[0].name!r} and {c.name!r} have different responses"
        else:
            continue
        raise ValueError(
            f"ModelAverage: the candidates were fitted to different rows ({detail}); "
            "fit every candidate on the same rows (drop missing values once, for all)."
        )


def _check_stationary(c):
    curv = c.curv
    if curv.stationarity > STATIONARITY_TOL and curv.newton_decrement > DECREMENT_TOL:
        raise ValueError(
            f"ModelAverage: candidate {c.name!r} is not at a stationary point of its "
            f"loss on the rows passed to fit (relative gradient "
            f"{curv.stationarity:.2g}): it was fitted to different rows or did not "
            "converge; pass the rows it was fitted on, or an unfitted estimator."
        )


def _fit_one(model, X, y, sample_weight):
    model = clone(model)
    kw = {} if sample_weight is None else _weight_params(model, sample_weight)
    return model.fit(X, y, **kw)


def _quiet_curvature(model, X, y, sample_weight, dispersion):
    """Curvature without the non-stationarity warning (checked and raised by us)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not a stationary point")
        return curvature(model, X, y, sample_weight, dispersion=dispersion)


def _from_models(models, names, X, y, sample_weight, dispersion, need_loo,
                 crits=None):  # fmt: skip
    if X is None or y is None:
        if not all(is_statsmodels_results(m) for m in models):
            raise ValueError(
                "ModelAverage requires y to be passed, but the target y is None: pass "
                "the training rows X, y to fit (statsmodels results carry their own)."
            )
    cands = []
    crits = [None] * len(models) if crits is None else crits
    for name, model, crit in zip(names, models, crits, strict=True):
        if is_statsmodels_results(model):
            curv = curvature(model, dispersion=dispersion)
            fitted, own = model, True
        elif not hasattr(model, "fit"):
            raise TypeError(
                "ModelAverage takes a Comparison, a CriterionPath, or a list of "
                f"estimators or statsmodels results; got {type(model).__name__}."
            )
        else:
            own = not _is_fitted(model)
            fitted = _fit_one(model, X, y, sample_weight) if own else model
            curv = _quiet_curvature(fitted, X, y, sample_weight, dispersion)
        cand = _Candidate(name, fitted, curv, crit)
        if not own:
            _check_stationary(cand)
        cands.append(cand)
    _check_same_rows(cands)
    if need_loo:
        for c in cands:
            c.loo = _loo_or_none(c.curv)
    return cands


def _loo_or_none(curv):
    return approximate_loo(curv) if getattr(curv, "rows", None) is not None else None


def _from_comparison(cmp, need_loo):
    cands = []
    for name in cmp.names:
        if cmp.estimators[name] is None:
            raise ValueError(
                f"ModelAverage: {name!r} was given to compare() as Criteria, without "
                "the model; pass the models themselves."
            )
        curv = cmp.curvatures[name]
        loo = cmp.loo[name]
        if need_loo and loo is None:
            loo = _loo_or_none(curv)
        cands.append(_Candidate(name, cmp.estimators[name], curv, cmp.criteria[name],
                                loo))  # fmt: skip
    _check_same_rows(cands)
    return cands


def _from_path(path, X, y, sample_weight, dispersion, need_loo):
    if path.estimators_ is None:
        raise ValueError(
            "ModelAverage: the path kept no estimators; build it with "
            "criterion_path(..., keep_estimators=True)."
        )
    names = [path._label(i) for i in range(len(path.values))]
    n_path = next((r.pointwise.shape[0] for r in path.loo if r is not None), None)
    if n_path is not None and y is not None and len(y) != n_path:
        raise ValueError(
            f"ModelAverage: the path was computed on {n_path} rows but fit got "
            f"{len(y)}; pass the rows of criterion_path."
        )
    with warnings.catch_warnings():
        # criterion_path has already warned about these very fits on these rows
        warnings.simplefilter("ignore")
        cands = _from_models(
            path.estimators_, names, X, y, sample_weight, dispersion,
            need_loo=False, crits=path.criteria,
        )  # fmt: skip
    for c, loo in zip(cands, path.loo, strict=True):
        c.loo = loo if loo is not None or not need_loo else _loo_or_none(c.curv)
    return cands


def _loss_matrix(cands):
    """``(losses, weights)``: ``2·ℓᵢ(θ₋ᵢ)`` per row and candidate (deviance scale)."""
    missing = [c.name for c in cands if c.loo is None]
    if missing:
        raise ValueError(
            f"ModelAverage: no approximate leave-one-out for {missing} (it needs a "
            "GLM, a statsmodels GLM or a network); use weights='tic' or 'akaike'."
        )
    L = 2.0 * np.column_stack([c.loo.pointwise for c in cands])
    return L, cands[0].loo.weights


def _compute_weights(method, cands, n_bootstrap, random_state):
    if method in ("akaike", "tic"):
        attr = "aic" if method == "akaike" else "tic"
        return akaike_weights([getattr(c.crit, attr) for c in cands])[1]
    L, w = _loss_matrix(cands)
    ok = np.all(np.isfinite(L[w > 0]), axis=0)
    if not ok.any():
        raise ValueError("ModelAverage: every candidate has a non-finite ALO.")
    if not ok.all():
        bad = [c.name for c, good in zip(cands, ok, strict=True) if not good]
        warnings.warn(
            f"ModelAverage: {bad} have non-finite ALO values (a leave-one-out step "
            "left the parameter space) and get weight 0.",
            UserWarning,
            stacklevel=3,
        )
    out = np.zeros(len(cands))
    if method == "stacking":
        out[ok] = stacking_weights(L[:, ok], w)
    else:
        out[ok] = pseudo_bma_weights(
            L[:, ok], w, bootstrap=method == "pseudo_bma_plus",
            n_bootstrap=n_bootstrap, random_state=random_state,
        )  # fmt: skip
    return out


def _density(curv):
    """``(family, dispersion)`` of a candidate's likelihood for new rows."""
    rows = getattr(curv, "rows", None)
    if isinstance(rows, GLMRows):
        family = rows.spec.family
        trials = getattr(family, "n_trials", None)
        if trials is not None and np.ndim(trials):  # per training row
            if not np.all(trials == 1):
                raise ValueError(
                    "ModelAverage: binomial counts out of several trials have no "
                    "predictive density at new rows (their trials are unknown)."
                )
            family = type(family)(link=family.link.name)
        return family, 1.0 if rows.phi is None else rows.phi
    if isinstance(rows, MLPRows) and rows.spec.output == "identity" and rows.K == 1:
        return Gaussian(), rows.spec.sigma2
    raise ValueError(
        f"ModelAverage: no predictive density for {curv.model_name} (GLMs, "
        "statsmodels GLMs and single-output networks have one)."
    )


def _as_1d(y):
    y = np.asarray(y)
    return column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y


def _candidates_type(candidates):
    if isinstance(candidates, Comparison):
        models = [m for m in candidates.estimators.values() if m is not None]
    elif isinstance(candidates, CriterionPath):
        models = candidates.estimators_ or []
    elif isinstance(candidates, dict):
        models = list(candidates.values())
    else:
        models = list(candidates) if candidates is not None else []
    return models[0] if models else None


class ModelAverage(BaseEstimator):
    """Average fitted candidates' predictive distributions with model weights.

    Parameters
    ----------
    candidates : Comparison, CriterionPath, list or dict
        The candidates: a :func:`~ticselect.compare` table (fitted models, their
        curvatures and ALO), a :func:`~ticselect.criterion_path` built with
        ``keep_estimators=True`` (then ``fit`` takes its ``X, y``), or a list (dict:
        name to model) of scikit-learn estimators, Pipelines or statsmodels
        results.  Unfitted estimators are cloned and fitted on ``fit``'s rows;
        fitted ones are used as they are and must have been fitted on those rows.
    weights : {"stacking", "pseudo_bma_plus", "alo", "tic", "akaike"}, \
default="stacking"
        How the candidates are weighted (see :mod:`ticselect.selection._average`).
    n_bootstrap : int, default=1000
        Bayesian-bootstrap replicates of ``"pseudo_bma_plus"``.
    random_state : int, RandomState instance or None, default=None
        Seed of those replicates.
    dispersion : None or float, default=None
        Passed to :func:`ticselect.curvature` (``None``: maximum likelihood).

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted candidates, in the order of ``names_``.
    names_ : list of str
        Candidate names.
    weights_ : ndarray of shape (n_candidates,)
        Model weights, summing to 1.
    curvatures_ : list of Curvature
        Each candidate's curvature on the training rows.
    loo_losses_ : ndarray of shape (n_rows, n_candidates) or None
        ``2·ℓᵢ(θ₋ᵢ)``: each row's approximate leave-one-out deviance under each
        candidate (``None`` when not computed, for ``"akaike"``/``"tic"``).
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers).
    n_features_in_ : int
        Number of features of the candidates (scikit-learn candidates).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Their feature names, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X[:150, :10])
    >>> y = y[:150]
    >>> path = ts.criterion_path(LogisticRegression(tol=1e-10, max_iter=10_000), "C",
    ...                          [0.01, 0.1, 1.0, 10.0], X, y)
    >>> avg = ts.ModelAverage(path, weights="stacking").fit(X, y)
    >>> avg.names_
    ['C=0.01', 'C=0.1', 'C=1', 'C=10']
    >>> bool(np.isclose(avg.weights_.sum(), 1.0))
    True
    >>> avg.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(
        self, candidates, *, weights="stacking", n_bootstrap=1000, random_state=None,
        dispersion=None,
    ):  # fmt: skip
        self.candidates = candidates
        self.weights = weights
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.dispersion = dispersion

    def fit(self, X=None, y=None, sample_weight=None):
        """Fit (or collect) the candidates and compute their weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Training rows of the candidates (not needed for a ``Comparison`` or for
            statsmodels results, which carry their data).
        y : array-like of shape (n_samples,), default=None
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights for the candidates fitted here.

        Returns
        -------
        self : ModelAverage

        Raises
        ------
        ValueError
            For an unknown ``weights``, candidates fitted to different rows, or a
            weighting that needs ALO where a candidate has none.
        """
        if self.weights not in WEIGHTS:
            raise ValueError(
                f"weights must be one of {list(WEIGHTS)}, got {self.weights!r}."
            )
        need_loo = self.weights in _ALO_WEIGHTS
        y = None if y is None else _as_1d(y)
        cands = self.candidates
        if isinstance(cands, Comparison):
            cands = _from_comparison(cands, need_loo)
        elif isinstance(cands, CriterionPath):
            cands = _from_path(cands, X, y, sample_weight, self.dispersion, need_loo)
        else:
            if isinstance(cands, dict):
                names, models = [str(k) for k in cands], list(cands.values())
            elif (
                cands is None
                or isinstance(cands, str)
                or not hasattr(cands, "__iter__")
            ):
                raise TypeError(
                    "candidates must be a Comparison, a CriterionPath, or a list or "
                    f"dict of models; got {type(cands).__name__}."
                )
            else:
                models = list(cands)
                names = _unique([_default_name(m) for m in models])
            if not models:
                raise ValueError("ModelAverage needs at least one candidate.")
            cands = _from_models(models, names, X, y, sample_weight, self.dispersion,
                                 need_loo)  # fmt: skip
        n_rows = cands[0].curv.n_rows
        if y is not None and len(y) != n_rows:
            raise ValueError(
                f"ModelAverage: the candidates were fitted to {n_rows} rows but fit "
                f"got {len(y)}; pass their training rows (or none for a Comparison)."
            )
        self._set_fitted(cands)
        return self

    def _set_fitted(self, cands):
        kinds = {_is_clf(c.model) for c in cands}
        if len(kinds) > 1:
            raise ValueError(
                "ModelAverage: mix of classifiers and regressors; average models of "
                "one kind."
            )
        self.estimators_ = [c.model for c in cands]
        self.names_ = [c.name for c in cands]
        self.curvatures_ = [c.curv for c in cands]
        self.criteria_ = [c.crit for c in cands]
        self.loo_ = [c.loo for c in cands]
        have_loo = all(c.loo is not None for c in cands)
        self.loo_losses_ = _loss_matrix(cands)[0] if have_loo else None
        self.weights_ = _compute_weights(self.weights, cands, self.n_bootstrap,
                                         self.random_state)  # fmt: skip
        first = self.estimators_[0]
        if kinds == {True}:
            classes = [np.asarray(m.classes_) for m in self.estimators_]
            if any(not np.array_equal(c, classes[0]) for c in classes[1:]):
                raise ValueError(
                    "ModelAverage: the classifiers have different classes_."
                )
            self.classes_ = classes[0]
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(first, attr):
                setattr(self, attr, getattr(first, attr))

    # ------------------------------------------------------------------ predict
    def _means(self, X):
        check_is_fitted(self)
        return np.column_stack(
            [np.asarray(m.predict(X), dtype=float).ravel() for m in self.estimators_]
        )

    def _is_classifier(self):
        return _is_clf(_candidates_type(self.candidates))

    @available_if(_is_classifier)
    def predict_proba(self, X):
        """Averaged class probabilities ``Σₖ wₖ Pₖ(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        out = 0.0
        for w, m in zip(self.weights_, self.estimators_, strict=True):
            out = out + w * m.predict_proba(X)
        return out

    def predict(self, X):
        """Most probable class (classifiers) or the mixture's mean (regressors).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        if hasattr(self, "classes_"):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._means(X) @ self.weights_

    def candidate_nll(self, X, y):
        """Each candidate's negative log predictive density at new rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.
        y : array-like of shape (n_samples,)
            Their responses.

        Returns
        -------
        ndarray of shape (n_samples, n_candidates)
            ``-log pₖ(yᵢ | xᵢ)`` in nats, constants included (the scale of the
            criteria divided by 2).
        """
        check_is_fitted(self)
        y = _as_1d(y)
        if hasattr(self, "classes_"):
            idx = np.searchsorted(self.classes_, y)
            idx = np.clip(idx, 0, len(self.classes_) - 1)
            if not np.array_equal(self.classes_[idx], y):
                raise ValueError("y has labels the classifiers were not fitted on.")
            cols = []
            for m in self.estimators_:
                p = m.predict_proba(X)[np.arange(len(y)), idx]
                with np.errstate(divide="ignore"):
                    cols.append(-np.log(p))
            return np.column_stack(cols)
        means = self._means(X)
        y = np.asarray(y, dtype=float)
        cols = []
        for k, curv in enumerate(self.curvatures_):
            family, phi = _density(curv)
            family.check_y(y)
            cols.append(family.nll_mean(y, means[:, k], phi))
        return np.column_stack(cols)

    def predictive_nll(self, X, y):
        """Negative log density of the averaged predictive distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.
        y : array-like of shape (n_samples,)
            Their responses.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``-log Σₖ wₖ pₖ(yᵢ | xᵢ)`` (nats); its mean is the test log-loss.
        """
        nll = self.candidate_nll(X, y)
        keep = self.weights_ > 0
        lw = np.log(self.weights_[keep])
        z = lw - nll[:, keep]
        top = np.max(z, axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):
            out = -(top[:, 0] + np.log(np.sum(np.exp(z - top), axis=1)))
        return np.where(np.isfinite(top[:, 0]), out, np.inf)

    def score(self, X, y, sample_weight=None):
        """Accuracy (classifiers) or R² (regressors) of :meth:`predict`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows.
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        float
        """
        metric = accuracy_score if hasattr(self, "classes_") else r2_score
        return float(metric(_as_1d(y), self.predict(X), sample_weight=sample_weight))

    # ----------------------------------------------------------------- tables
    def coef_table(self, cov_type="nonrobust"):
        """Model-averaged coefficients, unconditional standard errors, importance.

        Parameters
        ----------
        cov_type : {"nonrobust", "HC0", "HC1"}, default="nonrobust"
            Each candidate's covariance (:func:`ticselect.inference`).

        Returns
        -------
        pandas.DataFrame
            One row per coefficient name (dispersions left out), in order of first
            appearance: ``estimate`` and ``se`` (full average and its unconditional
            standard error), ``estimate_cond`` and ``se_cond`` (conditional
            average), ``importance`` (sum of the weights of the candidates that
            have the coefficient) and ``n_models``.  See
            :mod:`ticselect.selection._average` for the formulas.

        Raises
        ------
        ImportError
            When pandas is not installed.
        ValueError
            When two or more candidates are networks (their weights do not match by
            name: hidden units can be permuted).
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - exercised without pandas
            raise ImportError(
                "coef_table needs pandas: pip install 'ticselect[pandas]'."
            ) from exc
        check_is_fitted(self)
        est, se = self._coefficients(cov_type)
        names = list(dict.fromkeys(n for e in est for n in e))
        w = self.weights_
        rows = {}
        for name in names:
            has = np.array([name in e for e in est])
            th = np.array([e.get(name, 0.0) for e in est])
            s = np.array([v.get(name, 0.0) for v in se])
            full = w @ th
            full_se = np.sqrt(w @ (s**2 + (th - full) ** 2))
            imp = float(w[has].sum())
            if imp > 0:
                wc = np.where(has, w, 0.0) / imp
                cond = wc @ th
                cond_se = np.sqrt(wc @ (s**2 + (th - cond) ** 2))
            else:
                cond = cond_se = np.nan
            rows[name] = {"estimate": full, "se": full_se, "estimate_cond": cond,
                          "se_cond": cond_se, "importance": imp,
                          "n_models": int(has.sum())}  # fmt: skip
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "coefficient"
        return frame

    def _coefficients(self, cov_type):
        nets = [n for n, c in zip(self.names_, self.curvatures_, strict=True)
                if isinstance(c.rows, MLPRows)]  # fmt: skip
        if len(nets) > 1:
            raise ValueError(
                f"coef_table cannot average the weights of the networks {nets}: a "
                "network's hidden units can be permuted, so weights of the same name "
                "are not the same parameter; average their predictions (predict, "
                "predictive_nll) instead."
            )
        est, se = [], []
        for m, curv in zip(self.estimators_, self.curvatures_, strict=True):
            res = inference_from_curvature(
                curv, cov_type=cov_type, param_names=_pipeline_names(m, curv)
            )
            keep = [i for i, n in enumerate(res.param_names) if n != "dispersion"]
            est.append({res.param_names[i]: float(res.params[i]) for i in keep})
            se.append({res.param_names[i]: float(res.bse[i]) for i in keep})
        return est, se

    def summary(self):
        """Return the candidates with their weights, as aligned text.

        Returns
        -------
        str
        """
        check_is_fitted(self)
        width = max(len(n) for n in self.names_)
        lines = [f"{'candidate':<{width}}  weight", "-" * (width + 8)]
        lines += [f"{n:<{width}}  {w:6.3f}" for n, w in
                  zip(self.names_, self.weights_, strict=True)]  # fmt: skip
        lines.append(f"weights: {self.weights}")
        return "\n".join(lines)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        first = _candidates_type(self.candidates)
        if first is None or is_statsmodels_results(first):
            tags.estimator_type = "regressor"
            return tags
        inner = get_tags(first)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.target_tags = inner.target_tags
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags


def _unique(names):
    seen, out = {}, []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out
