"""Read fitted dask-ml linear models into a :class:`GLMSpec`.

dask-ml's ``LogisticRegression``, ``LinearRegression`` and ``PoissonRegression`` hand
the fit to dask-glm, which appends a column of ones for the intercept (last) and
minimises ``f(β) + λ R(β)`` over **all** of ``β``, intercept included, with
``λ = 1 / C`` (``lamduh``) and dask-glm's ``L2`` regulariser ``R(β) = ‖β‖² / 2``
(``dask_glm/regularizers.py``).  The data terms ``f`` are (``dask_glm/families.py``):

======================  =====================  ================================
estimator               ``f(β)``               L2 strength in summed-NLL units
======================  =====================  ================================
``LogisticRegression``  ``Σ log(1+e^η) - yη``  ``1/C`` (``f`` is the NLL)
``PoissonRegression``   ``Σ e^η - yη``         ``1/C`` (NLL minus ``Σ log y!``)
``LinearRegression``    ``Σ (y - η)²``         ``1/(2C)``, over ``σ̂²``
                                               (``f = 2σ² NLL`` + const)
======================  =====================  ================================

The same strength applies to the intercept.  By default (``normalize=True`` in
``solver_kwargs``) dask-glm solves on the standardised design ``(x - m) / s``
(population standard deviation ``s``; ``m`` is the column mean when an intercept or
constant column is present, else 0) and maps the solution back: the penalty
``λ ‖γ‖² / 2`` acts on the standardised coefficients ``γ`` (``γⱼ = βⱼ sⱼ``, intercept
``γ₀ = β₀ + Σ βⱼ mⱼ``), which is not diagonal in ``β``.  The curvature is then
reported in dask-glm's own coordinates ``γ`` and the standardised design, where the
penalty is ``λ I``: a linear reparameterisation, so every criterion (TIC, AIC, the
NLL) is unchanged, but ``params`` are ``γ``, not ``coef_``.  The equivalent
scikit-learn fit is a ``Pipeline`` of ``StandardScaler`` and the estimator.
The solvers ``"newton"`` and
``"gradient_descent"`` ignore the penalty (dask-ml drops it), so ``λ = 0`` for them;
``solver_kwargs`` may override ``regularizer`` and ``lamduh``, and are read too.  The
units are pinned by a test of the stationarity of the penalised gradient at the fit.
This module reads attributes only: it imports neither dask nor dask-ml.
"""

from __future__ import annotations

import numpy as np

from .._families import get_family
from .._glm import GLMSpec

__all__ = ["DASK_ML_GLMS", "dask_ml_spec", "is_dask_ml_glm"]

#: Class names of the supported estimators in ``dask_ml.linear_model``.
DASK_ML_GLMS = ("LogisticRegression", "LinearRegression", "PoissonRegression")

_FAMILY = {
    "LogisticRegression": ("binomial", "logit"),
    "LinearRegression": ("gaussian", "identity"),
    "PoissonRegression": ("poisson", "log"),
}
_UNPENALISED_SOLVERS = ("newton", "gradient_descent")


def is_dask_ml_glm(model):
    """Whether ``model`` is one of dask-ml's supported GLMs (without importing it).

    Parameters
    ----------
    model : object
        Anything.

    Returns
    -------
    bool
    """
    cls = type(model)
    return (
        cls.__module__.startswith("dask_ml.linear_model")
        and cls.__name__ in DASK_ML_GLMS
    )


def _lamduh(est):
    """``λ`` of dask-glm's objective ``f(β) + λ ‖β‖² / 2`` (0 when unpenalised)."""
    if est.solver in _UNPENALISED_SOLVERS:
        return 0.0  # dask-ml passes no regulariser to newton and gradient descent
    kwargs = dict(est.solver_kwargs or {})
    penalty = kwargs.get("regularizer", est.penalty)
    lam = float(kwargs.get("lamduh", 1.0 / est.C))
    if lam == 0.0:
        return 0.0
    name = penalty if isinstance(penalty, str) else getattr(penalty, "name", None)
    if name != "l2":
        raise ValueError(
            f"dask-ml {type(est).__name__} with penalty={penalty!r} is not supported: "
            "only the L2 penalty is differentiable, so the Hessian and TIC are "
            "undefined at a sparse solution. Use penalty='l2' (or C=np.inf)."
        )
    return lam


def dask_ml_spec(est, X, y, sample_weight, feature_names):
    """Describe a fitted dask-ml GLM as a :class:`GLMSpec`.

    Parameters
    ----------
    est : fitted estimator
        A ``dask_ml.linear_model`` ``LogisticRegression``, ``LinearRegression`` or
        ``PoissonRegression``.
    X : ndarray, sparse matrix or dask array of shape (n_samples, n_features)
        The design the model was fitted on (without the intercept column).
    y : ndarray or dask array of shape (n_samples,)
        Targets: 0/1 labels for ``LogisticRegression``.
    sample_weight : ndarray or dask array of shape (n_samples,)
        Frequency weights.  dask-ml fits take none: anything but ones makes the fit
        non-stationary for the weighted loss (flagged by the stationarity check).
    feature_names : list of str
        Names of the columns of ``X``.

    Returns
    -------
    GLMSpec
    """
    name = type(est).__name__
    fam_name, link = _FAMILY[name]
    coef = np.asarray(est.coef_, dtype=float).reshape(1, -1)
    intercept = (
        np.asarray(est.intercept_, dtype=float).reshape(1)
        if est.fit_intercept
        else None
    )
    lam = _lamduh(est)
    standardised = lam > 0 and dict(est.solver_kwargs or {}).get("normalize", True)
    if standardised:
        X, coef, intercept = _standardise(X, coef, intercept)
        name = f"{name} (standardised design)"
    gaussian = fam_name == "gaussian"
    l2 = lam / 2.0 if gaussian else lam
    return GLMSpec(
        family=get_family(fam_name, link),
        X=X,
        y=y,
        coef=coef,
        intercept=intercept,
        sample_weight=sample_weight,
        l2=l2,
        l2_intercept=l2 if est.fit_intercept else 0.0,
        l2_over_dispersion=gaussian,
        feature_names=feature_names,
        model_name=f"dask_ml.{name}",
    )


def _standardise(X, coef, intercept):
    """dask-glm's ``normalize``: the design and coefficients it solves in.

    Works on numpy and dask arrays alike (``mean`` and ``std`` are array methods).
    """
    if not hasattr(X, "std"):
        raise ValueError(
            "dask-ml fits standardise the design (normalize=True), which needs a "
            f"dense X; got {type(X).__name__}. Pass a dense array."
        )
    mean = np.asarray(X.mean(axis=0), dtype=float).copy()
    std = np.asarray(X.std(axis=0), dtype=float).copy()
    const = np.flatnonzero(std == 0)
    if intercept is not None or const.size:
        mean[const] = 0.0
    else:
        mean[:] = 0.0
    std[const] = 1.0
    beta = coef[0]
    gamma = beta * std
    shift = float(np.sum(beta * mean))
    if intercept is not None:
        intercept = intercept + shift
    elif const.size:
        gamma[const[0]] += shift
    return (X - mean) / std, gamma.reshape(1, -1), intercept
