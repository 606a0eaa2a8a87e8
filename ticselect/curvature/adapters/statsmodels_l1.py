"""Read statsmodels ``fit_regularized`` results into a :class:`GLMSpec` with ``l1``.

Penalties, in the summed-NLL units of :mod:`ticselect.curvature._result` (``n`` the
number of rows, ``model.nobs``):

- ``Logit``/``Probit``/``Poisson``/``MNLogit`` ``.fit_regularized(alpha)`` (the L1
  results): ``l1 = alpha``, ``λ = 0``;
- ``GLM(...).fit_regularized(alpha=a, L1_wt=ρ)``: ``l1 = n·a·ρ/φ̂``,
  ``λ = n·a·(1 − ρ)/φ̂``;
- ``OLS(...).fit_regularized(alpha=a, L1_wt=ρ)``: ``l1 = n·a·ρ/σ̂²``,
  ``λ = n·a·(1 − ρ)/σ̂²``.

The discrete models minimise ``−llf + Σₖ alphaₖ|βₖ|`` and record ``alpha`` in
``mle_settings``.  ``GLM``/``OLS.fit_regularized`` minimise ``−llf(scale=1)/n +
a·((1 − ρ)‖β‖²/2 + ρ‖β‖₁)`` (``0.5·RSS/n + ...`` for OLS), a deviance-scale objective
like scikit-learn's, so the strengths are divided by the dispersion for families
that have one (``φ̂ = 1`` for Binomial and Poisson).  Their ``RegularizedResults``
do not record ``alpha`` and ``L1_wt``: pass them as ``regularization={"alpha": a,
"L1_wt": ρ}`` (a vector ``alpha`` gives one strength per parameter; statsmodels
penalises the constant too unless its entry is 0).  ``OLS`` fits with
``profile_scale=True`` minimise a different objective and are refused, as are WLS
fits.  ``refit=True`` results are the unpenalised refit on the selected columns:
they are read as that model (the zero columns are not parameters, and no
subgradient check applies), conditional on the selection.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from statsmodels.discrete import discrete_model as dm
from statsmodels.genmod import generalized_linear_model as glm
from statsmodels.regression import linear_model as lm

from .._families import get_family
from .._glm import GLMSpec
from .statsmodels import _unwrap, is_regularized, model_spec

__all__ = ["statsmodels_l1_spec"]

_DISCRETE = (dm.Logit, dm.Probit, dm.Poisson, dm.MNLogit)
_KEYS = ("alpha", "L1_wt", "profile_scale")


def _discrete(res, regularization):
    model = res.model
    if type(model) not in _DISCRETE:
        raise TypeError(
            f"statsmodels {type(model).__name__} L1 fits are not supported; "
            "supported: Logit, Probit, Poisson, MNLogit (and GLM/OLS "
            "fit_regularized)."
        )
    if regularization is not None:
        raise ValueError(
            "regularization= is for GLM/OLS RegularizedResults only: the L1 "
            f"strength of this {type(res).__name__} is read from its mle_settings."
        )
    spec = model_spec(res)
    alpha = np.asarray(res.mle_settings["alpha"], dtype=float)
    m, p = spec.coef.shape
    if type(model) is dm.MNLogit:  # params (p, K-1), alpha in their column order
        l1 = np.zeros((m, p))
        l1[1:] = np.broadcast_to(alpha, (p * (m - 1),)).reshape(m - 1, p)
    else:
        l1 = np.broadcast_to(alpha, (p,)).copy()
    name = f"{spec.model_name} fit_regularized(L1)"
    return replace(spec, l1=l1, model_name=name)


def _strengths(regularization, n_params, n):
    if regularization is None:
        raise ValueError(
            "statsmodels RegularizedResults do not record their penalty: pass the "
            "arguments of fit_regularized, e.g. ticselect.curvature(res, "
            "regularization={'alpha': 0.1, 'L1_wt': 0.5})."
        )
    unknown = set(regularization) - set(_KEYS)
    if unknown or "alpha" not in regularization:
        raise ValueError(
            f"regularization must give 'alpha' (and optionally 'L1_wt'), got keys "
            f"{sorted(regularization)}."
        )
    if regularization.get("profile_scale", False):
        raise ValueError(
            "OLS.fit_regularized(profile_scale=True) minimises the profile "
            "likelihood, not a penalised NLL with a fixed dispersion; refit with "
            "profile_scale=False."
        )
    alpha = np.broadcast_to(
        np.asarray(regularization["alpha"], dtype=float), (n_params,)
    )
    ratio = float(regularization.get("L1_wt", 1.0))
    if not 0.0 <= ratio <= 1.0 or np.any(alpha < 0):
        raise ValueError(
            f"regularization needs alpha >= 0 and 0 <= L1_wt <= 1, got "
            f"{regularization!r}."
        )
    return n * alpha * (1.0 - ratio), n * alpha * ratio


def _elastic_net(res, regularization):
    model = res.model
    if isinstance(model, glm.GLM):
        spec = model_spec(res)
    elif type(model) is lm.OLS:
        params = np.asarray(res.params, dtype=float)
        X = np.asarray(model.exog, dtype=float)
        spec = GLMSpec(
            family=get_family("gaussian", "identity"),
            X=X,
            y=np.asarray(model.endog, dtype=float),
            coef=params[None, :],
            intercept=None,
            sample_weight=np.ones(X.shape[0]),
            feature_names=list(model.exog_names),
            model_name="statsmodels OLS",
        )
    else:
        raise TypeError(
            f"statsmodels {type(model).__name__} regularised fits are not supported; "
            "supported: GLM, OLS, and the L1 fits of Logit, Probit, Poisson, MNLogit."
        )
    l2, l1 = _strengths(regularization, spec.coef.shape[1], float(model.nobs))
    return replace(
        spec,
        l2=l2,
        l1=l1,
        l2_over_dispersion=True,
        model_name=f"{spec.model_name} fit_regularized(elastic net)",
    )


def _refit(res):
    """``refit=True``: the unpenalised model on the selected (non-zero) columns."""
    spec = model_spec(res)
    cols = np.flatnonzero(spec.coef[0] != 0)
    return replace(
        spec,
        X=spec.X[:, cols],
        coef=spec.coef[:, cols],
        feature_names=[spec.feature_names[c] for c in cols],
        model_name=f"{spec.model_name} refit on the L1-selected columns",
    )


def statsmodels_l1_spec(results, regularization=None):
    """Describe statsmodels ``fit_regularized`` results as a :class:`GLMSpec`.

    Parameters
    ----------
    results : statsmodels results
        From ``fit_regularized`` (see :func:`is_regularized`).
    regularization : dict or None, default=None
        ``{"alpha": ..., "L1_wt": ...}`` as passed to ``GLM``/``OLS``
        ``fit_regularized`` (required for their ``RegularizedResults``, refused
        otherwise).

    Returns
    -------
    GLMSpec
        With ``l1`` set (the full model; the dispatcher restricts it to the active
        set), or the refit model on its selected columns.

    Examples
    --------
    >>> import numpy as np, statsmodels.api as sm, ticselect as ts
    >>> data = sm.datasets.spector.load_pandas()
    >>> exog = sm.add_constant(data.exog)
    >>> res = sm.Logit(data.endog, exog).fit_regularized(alpha=[0, 1, 1, 1], disp=0)
    >>> curv = ts.curvature(res)
    >>> curv.param_names
    ['const', 'GPA', 'TUCE', 'PSI']
    >>> bool(curv.stationarity < 1e-5)   # ∇L + alpha·sign(β) = 0 on the active set
    True
    """
    res = _unwrap(results)
    if not is_regularized(res):  # pragma: no cover - the dispatcher checks first
        raise ValueError("these results are not from fit_regularized.")
    if type(res).__name__.startswith("L1") or isinstance(res.model, _DISCRETE):
        return _discrete(res, regularization)
    if type(res).__name__.startswith("Regularized"):
        return _elastic_net(res, regularization)
    if regularization is not None:
        raise ValueError(
            "regularization= is for RegularizedResults; these are refit=True "
            "results, an unpenalised fit on the selected columns."
        )
    return _refit(res)
