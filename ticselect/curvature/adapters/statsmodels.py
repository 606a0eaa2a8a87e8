"""Read fitted statsmodels results (GLM, Logit, Probit, Poisson, MNLogit) into a spec.

Mapping of conventions
----------------------
- ``params`` keep statsmodels' order; the constant is an ordinary column of ``exog``.
- ``offset`` and ``exposure`` (statsmodels stores ``log(exposure)``) enter the linear
  predictor (GLM, Logit, Probit, Poisson; statsmodels' own ``MNLogit`` likelihood
  ignores an offset, and so do we); ``freq_weights`` are our frequency weights.
  ``var_weights`` other than 1 are rejected (they rescale the dispersion per
  sample, a different likelihood).
- Binomial GLMs with a two-column endog (successes, failures) use ``n_trials``.
- ``MNLogit`` uses the first class as reference (its coefficients fixed at 0), so the
  model is identified and has no gauge directions.
- statsmodels' GLM ``llf`` uses ``res.scale`` as the dispersion, except for the
  Gaussian identity model where it uses the ML variance.  Pass
  ``dispersion=res.scale`` to reproduce ``llf`` and ``aic`` exactly (the dispersion is
  then fixed, not counted, as in statsmodels' ``aic``); the default (ML dispersion,
  counted) follows R's ``AIC(glm(...))`` for the Gaussian family.
"""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError
from statsmodels.discrete import discrete_model as dm
from statsmodels.genmod import families as fam
from statsmodels.genmod import generalized_linear_model as glm

from .._families import get_family
from .._glm import GLMSpec

__all__ = [
    "check_own_data",
    "is_regularized",
    "is_statsmodels_results",
    "model_spec",
    "statsmodels_spec",
]


def _unwrap(res):
    return getattr(res, "_results", res)


def is_statsmodels_results(obj):
    """Whether ``obj`` is a statsmodels (wrapped) results object.

    Parameters
    ----------
    obj : object
        Anything.

    Returns
    -------
    bool
    """
    return type(_unwrap(obj)).__module__.startswith("statsmodels.")


def _differs(name, given, own_options):
    """``""`` if ``given`` equals one of ``own_options``, else how it differs."""
    reasons = []
    for own in own_options:
        if own is None:
            continue
        try:
            a = np.asarray(given, dtype=float)
            b = np.asarray(own, dtype=float)
        except (TypeError, ValueError):
            a, b = np.asarray(given, dtype=object), np.asarray(own, dtype=object)
        if a.ndim == 2 and a.shape[1] == 1 and b.ndim == 1:
            a = a[:, 0]
        if a.shape != b.shape:
            reasons.append(f"shape {a.shape} instead of {b.shape}")
            continue
        if a.dtype == object or b.dtype == object:
            bad = np.asarray(a != b)
        else:
            # rounding of a copy (e.g. through a DataFrame) is not a difference
            bad = ~np.isclose(a, b, rtol=1e-10, atol=0.0) & ~(a == b)
        if not np.any(bad):
            return ""
        first = np.argwhere(bad)[0]
        where = ", ".join(str(int(i)) for i in first)
        reasons.append(
            f"{int(np.count_nonzero(bad))} differing entries (first at [{where}]: "
            f"{a[tuple(first)]!r} instead of {b[tuple(first)]!r})"
        )
    return f"{name} has {reasons[0]}" if reasons else ""


def check_own_data(results, X=None, y=None, sample_weight=None):
    """Check that ``X``, ``y``, ``sample_weight`` are the results' own data.

    statsmodels results carry their data (``exog``, ``endog``, ``freq_weights``);
    passing the same arrays again is accepted, passing other data raises.  An
    unfitted statsmodels model raises scikit-learn's ``NotFittedError``.

    Parameters
    ----------
    results : statsmodels results (or an unfitted model)
        The object handed to :func:`ticselect.curvature`.
    X, y, sample_weight : array-like or None
        What the caller passed.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        For a model without ``.fit()``.
    ValueError
        When a given array differs from the results' own data, saying how.
    """
    res = _unwrap(results)
    if not hasattr(res, "params") or not hasattr(res, "model"):
        raise NotFittedError(
            f"This statsmodels {type(res).__name__} is a model, not fitted results. "
            "Call its 'fit' method and pass the results: "
            "ts.curvature(model.fit())."
        )
    params = np.asarray(res.params, dtype=float)
    if not np.all(np.isfinite(params)):
        raise ValueError(
            f"The statsmodels fit ({type(res.model).__name__}) returned "
            f"{int(np.count_nonzero(~np.isfinite(params)))} non-finite parameters: "
            "its optimiser diverged, typically because the classes are separated "
            "and the maximum-likelihood estimate does not exist. Add a penalty, "
            "or drop the separating columns."
        )
    model = res.model
    data = getattr(model, "data", None)
    problems = []
    if X is not None:
        problems.append(
            _differs("X", X, [model.exog, getattr(data, "orig_exog", None)])
        )
    if y is not None:
        own = [model.endog, getattr(data, "orig_endog", None)]
        if isinstance(model, glm.GLM) and np.ndim(model.endog) == 1:
            own.append(np.asarray(model.endog) * np.asarray(model.n_trials))
        problems.append(_differs("y", y, own))
    if sample_weight is not None:
        own_w = getattr(model, "freq_weights", None)
        if own_w is None:
            own_w = np.ones(np.shape(model.endog)[0])
        problems.append(_differs("sample_weight", sample_weight, [own_w]))
    problems = [p for p in problems if p]
    if problems:
        raise ValueError(
            "statsmodels results carry their own data (exog, endog, freq_weights), "
            f"and the data passed differ: {'; '.join(problems)}. Call "
            "curvature(results) without X, y, sample_weight, or refit the model on "
            "the new data."
        )


_SM_LINKS = {
    "Probit": "probit",
    "CLogLog": "cloglog",
    "Logit": "logit",
    "Log": "log",
    "Identity": "identity",
    "Sqrt": "sqrt",
    "InverseSquared": "inverse_squared",
    "InversePower": "inverse",
    # subclasses of the supported links that are different links
    "LogLog": None,
    "Cauchy": None,
    "CDFLink": None,
    "LogC": None,
    "NegativeBinomial": None,
}
_POWERS = {1.0: "identity", 0.5: "sqrt", -1.0: "inverse", -2.0: "inverse_squared"}


def _glm_link_name(link):
    """Our name for a statsmodels link, or None (first known class in the MRO)."""
    for cls in type(link).__mro__:
        if cls.__name__ in _SM_LINKS:
            return _SM_LINKS[cls.__name__]
        if cls.__name__ == "Power":
            return _POWERS.get(float(link.power))
    return None


def _offset(model, n):
    """``offset + log(exposure)`` of a model (statsmodels stores the log)."""
    offset = np.zeros(n)
    for extra in (getattr(model, "offset", None), getattr(model, "exposure", None)):
        if extra is not None:
            offset = offset + np.asarray(extra, dtype=float)
    return offset


def _glm_spec(res, model, feature_names):
    fam_map = (
        (fam.Gaussian, "gaussian"),
        (fam.Binomial, "binomial"),
        (fam.Poisson, "poisson"),
        (fam.Gamma, "gamma"),
        (fam.InverseGaussian, "inverse_gaussian"),
        (fam.NegativeBinomial, "negative_binomial"),
    )
    fname = next((n for c, n in fam_map if type(model.family) is c), None)
    link = _glm_link_name(model.family.link)
    if fname is None or link is None:
        raise TypeError(
            f"statsmodels GLM with family {type(model.family).__name__} and link "
            f"{type(model.family.link).__name__} is not supported. Supported: "
            "Gaussian, Binomial, Poisson, Gamma, InverseGaussian, NegativeBinomial "
            "(fixed alpha) with the links of ticselect.curvature._families."
        )
    vw = np.asarray(model.var_weights, dtype=float)
    if not np.allclose(vw, 1.0):
        raise ValueError(
            "statsmodels GLMs with var_weights are not supported (they rescale the "
            "dispersion sample by sample); use freq_weights for frequency weights."
        )
    kwargs = {}
    y = np.asarray(model.endog, dtype=float)
    if fname == "binomial":
        n_trials = np.asarray(model.n_trials, dtype=float)
        kwargs["n_trials"] = n_trials
        y = y * n_trials  # statsmodels stores proportions: back to integer counts
        y_int = np.round(y)
        if np.allclose(y, y_int, rtol=0, atol=1e-8 * max(1.0, n_trials.max())):
            y = y_int
    if fname == "negative_binomial":
        kwargs["alpha"] = float(model.family.alpha)
    offset = _offset(model, len(y))
    return GLMSpec(
        family=get_family(fname, link, **kwargs),
        X=np.asarray(model.exog, dtype=float),
        y=y,
        coef=np.asarray(res.params, dtype=float)[None, :],
        intercept=None,
        sample_weight=np.asarray(model.freq_weights, dtype=float),
        offset=offset,
        feature_names=feature_names,
        model_name=f"statsmodels GLM({type(model.family).__name__}, {link})",
    )


def statsmodels_spec(results):
    """Describe a fitted statsmodels results object as a :class:`GLMSpec`.

    Parameters
    ----------
    results : statsmodels results
        From ``GLM(...).fit()``, ``Logit``, ``Probit``, ``Poisson`` or ``MNLogit``.

    Returns
    -------
    GLMSpec

    Raises
    ------
    TypeError
        For other statsmodels models or regularised fits.
    """
    res = _unwrap(results)
    if is_regularized(res):
        raise TypeError(
            "This regularised statsmodels fit is not supported here; "
            "ticselect.curvature reads GLM, OLS and Logit/Probit/Poisson/MNLogit "
            "fit_regularized results (ticselect.curvature.adapters.statsmodels_l1)."
        )
    return model_spec(res)


def is_regularized(results):
    """Whether ``results`` come from a statsmodels ``fit_regularized``.

    ``GLM``/``OLS.fit_regularized`` return ``RegularizedResults`` (or, with
    ``refit=True``, ordinary results marked ``regularized``); the discrete models'
    L1 fits return ``L1BinaryResults``, ``L1PoissonResults``,
    ``L1MultinomialResults`` (optimizer ``"l1"``).

    Parameters
    ----------
    results : statsmodels results

    Returns
    -------
    bool
    """
    res = _unwrap(results)
    optimizer = (getattr(res, "mle_settings", None) or {}).get("optimizer", "")
    return bool(
        type(res).__name__.startswith(("Regularized", "L1"))
        or getattr(res, "regularized", False)
        or str(optimizer).startswith("l1")
    )


def model_spec(res):
    """The :class:`GLMSpec` of (unwrapped) results at their ``params``, any fit.

    Parameters
    ----------
    res : statsmodels results
        Unwrapped results of a GLM, Logit, Probit, Poisson or MNLogit model.

    Returns
    -------
    GLMSpec

    Raises
    ------
    TypeError
        For other models.
    """
    model = res.model
    names = list(model.exog_names)
    if isinstance(model, glm.GLM):
        return _glm_spec(res, model, names)
    X = np.asarray(model.exog, dtype=float)
    y = np.asarray(model.endog, dtype=float)
    ones = np.ones(len(y))
    if type(model) in (dm.Logit, dm.Probit):
        link = "logit" if type(model) is dm.Logit else "probit"
        return GLMSpec(
            family=get_family("binomial", link),
            X=X,
            y=y,
            coef=np.asarray(res.params, dtype=float)[None, :],
            intercept=None,
            sample_weight=ones,
            offset=_offset(model, len(y)),  # Logit/Probit accept an offset too
            feature_names=names,
            model_name=f"statsmodels {type(model).__name__}",
        )
    if type(model) is dm.Poisson:
        offset = _offset(model, len(y))
        return GLMSpec(
            family=get_family("poisson", "log"),
            X=X,
            y=y,
            coef=np.asarray(res.params, dtype=float)[None, :],
            intercept=None,
            sample_weight=ones,
            offset=offset,
            feature_names=names,
            model_name="statsmodels Poisson",
        )
    if type(model) is dm.MNLogit:
        params = np.asarray(res.params, dtype=float)  # (p, K - 1)
        K = params.shape[1] + 1
        coef = np.vstack([np.zeros(params.shape[0]), params.T])
        labels = model._ynames_map if hasattr(model, "_ynames_map") else None
        class_names = [str(labels[k]) if labels else str(k) for k in range(K)]
        return GLMSpec(
            family=get_family("multinomial"),
            X=X,
            y=y,
            coef=coef,
            intercept=None,
            sample_weight=ones,
            feature_names=names,
            class_names=class_names,
            model_name="statsmodels MNLogit",
            drop_classes=(0,),
        )
    raise TypeError(
        f"statsmodels {type(model).__name__} results are not supported. Supported: "
        "GLM (Gaussian, Binomial, Poisson, Gamma, InverseGaussian, NegativeBinomial), "
        "Logit, Probit, Poisson, MNLogit."
    )
