"""Read fitted scikit-learn linear models into a :class:`GLMSpec`.

Penalty conversions (to the summed-NLL units of :mod:`ticselect.curvature._result`):

==========================  ======================================================
estimator                   L2 strength ``λ`` on the coefficients
==========================  ======================================================
``LinearRegression``        0
``Ridge(alpha)``            ``alpha / σ̂²`` (sklearn minimises ``‖y - Xβ‖² + α‖β‖²``)
``LogisticRegression(C)``   ``1 / C`` (0 when ``C = inf`` or ``penalty=None``);
                            liblinear also penalises the intercept:
                            ``1 / (C · intercept_scaling²)``
``PoissonRegressor(alpha)`` ``alpha · Σw``
``GammaRegressor(alpha)``   ``alpha · Σw / φ̂``
``TweedieRegressor``        ``alpha · Σw / φ̂`` (φ = 1 for power 1)
==========================  ======================================================

``class_weight`` of ``LogisticRegression`` multiplies the sample weights, exactly as
scikit-learn does inside ``fit`` (so the loss, ``H``, ``C`` and TIC are those of the
class-weighted fit).  Class weights are not frequency weights: the sample size ``n``
of BIC, AICc and the per-sample scalings stays ``Σ sample_weight`` (the number of
rows without sample weights), see :func:`frequency_n`.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    TweedieRegressor,
)
from sklearn.utils.class_weight import compute_class_weight

from .._families import get_family
from .._glm import GLMSpec

__all__ = ["SKLEARN_GLMS", "frequency_n", "sklearn_glm_spec"]

SKLEARN_GLMS = (
    LinearRegression,
    Ridge,
    LogisticRegression,
    PoissonRegressor,
    GammaRegressor,
    TweedieRegressor,
)

_TWEEDIE = {0: "gaussian", 1: "poisson", 2: "gamma", 3: "inverse_gaussian"}


def _coef_2d(est):
    coef = np.asarray(est.coef_, dtype=float)
    if (
        coef.ndim == 2
        and coef.shape[0] != 1
        and not isinstance(est, LogisticRegression)
    ):
        raise ValueError(
            f"{type(est).__name__} was fitted with {coef.shape[0]} targets; "
            "ticselect supports a single target. Fit one model per target."
        )
    return coef.reshape(-1, coef.shape[-1])


def _intercept(est, m):
    if not est.fit_intercept:
        return None
    return np.asarray(est.intercept_, dtype=float).reshape(m)


def _logistic_l2(est):
    """Return ``(λ_coef, λ_intercept)`` for a fitted ``LogisticRegression``."""
    penalty = getattr(est, "penalty", "deprecated")
    l1_ratio = getattr(est, "l1_ratio", None)
    if penalty == "deprecated":
        if l1_ratio in (0, None):
            penalty = "l2"
        elif l1_ratio == 1:
            penalty = "l1"
        else:
            penalty = "elasticnet"
        if est.C == np.inf:
            penalty = None
    if penalty in ("l1", "elasticnet"):
        raise ValueError(
            f"LogisticRegression with an {penalty} penalty (l1_ratio={l1_ratio}) is "
            "not supported: the L1 term is not differentiable, so the Hessian and TIC "
            "are undefined at a sparse solution. Use l1_ratio=0 (L2) or C=np.inf."
        )
    if penalty is None or est.C == np.inf:
        return 0.0, 0.0
    lam = 1.0 / est.C
    lam_int = 0.0
    if est.solver == "liblinear" and est.fit_intercept:
        lam_int = lam / est.intercept_scaling**2
    return lam, lam_int


def frequency_n(est, sample_weight):
    """The sample size ``n`` of a fit whose weights are not all frequency weights.

    Parameters
    ----------
    est : fitted estimator
        A supported scikit-learn GLM (including the SGD and CV estimators).
    sample_weight : ndarray of shape (n_samples,)
        Validated sample weights (frequency weights).

    Returns
    -------
    float or None
        ``Σ sample_weight`` for a classifier with ``class_weight`` (whose
        class weights multiply the loss but are not repeated rows), else ``None``
        (``n = Σ wᵢ`` of the spec).
    """
    if getattr(est, "class_weight", None) is not None:
        return float(np.sum(sample_weight))
    return None


def _class_codes(y, classes, name):
    """Index of each label in the sorted ``classes`` (floats); unseen labels raise.

    Two numeric classes (the common case) by two comparisons, else by
    ``isin``/``searchsorted`` (sorting the labels).
    """
    if len(classes) == 2 and y.dtype.kind in "biuf" and classes.dtype.kind in "biuf":
        top = y == classes[1]
        unknown = ~(top | (y == classes[0]))
    else:
        top, unknown = None, ~np.isin(y, classes)
    if np.any(unknown):
        raise ValueError(
            f"y contains labels {np.unique(y[unknown])[:5].tolist()} that the "
            f"fitted {name} has not seen (classes_={classes.tolist()})."
        )
    if top is not None:
        return top.astype(float)
    return np.searchsorted(classes, y).astype(float)


def sklearn_glm_spec(est, X, y, sample_weight, feature_names):
    """Describe a fitted scikit-learn linear model as a :class:`GLMSpec`.

    Parameters
    ----------
    est : fitted estimator
        One of :data:`SKLEARN_GLMS`.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Validated design (already transformed by earlier Pipeline steps).
    y : ndarray of shape (n_samples,)
        Targets.
    sample_weight : ndarray of shape (n_samples,)
        Validated non-negative weights.
    feature_names : list of str
        Names of the columns of ``X``.

    Returns
    -------
    GLMSpec
    """
    name = type(est).__name__
    common = dict(X=X, feature_names=feature_names, model_name=name)
    if isinstance(est, LogisticRegression):
        lam, lam_int = _logistic_l2(est)
        classes = np.asarray(est.classes_)
        y_arr = np.asarray(y)
        codes = _class_codes(y_arr, classes, name)
        w = sample_weight
        if est.class_weight is not None:
            cw = compute_class_weight(
                est.class_weight, classes=classes, y=y_arr, sample_weight=sample_weight
            )
            w = w * cw[codes.astype(int)]
        coef = _coef_2d(est)
        K = len(classes)
        if K == 2:
            fam = get_family("binomial", "logit")
        else:
            fam = get_family("multinomial")
        return GLMSpec(
            family=fam,
            y=codes,
            coef=coef,
            intercept=_intercept(est, coef.shape[0]),
            sample_weight=w,
            l2=lam,
            l2_intercept=lam_int,
            class_names=[str(c) for c in classes],
            softmax_gauge=K > 2,
            **common,
        )

    coef = _coef_2d(est)
    intercept = _intercept(est, 1)
    y = np.asarray(y, dtype=float)
    if isinstance(est, (LinearRegression, Ridge)):
        if getattr(est, "positive", False):
            raise ValueError(
                f"{name}(positive=True) is a constrained fit: the gradient need not "
                "vanish at the solution, so TIC does not apply. Use positive=False."
            )
        alpha = 0.0
        if isinstance(est, Ridge):
            alpha = np.asarray(est.alpha, dtype=float)
            if alpha.ndim > 0:
                raise ValueError(f"{name} with one alpha per target is not supported.")
            alpha = float(alpha)
        return GLMSpec(
            family=get_family("gaussian", "identity"),
            y=y,
            coef=coef,
            intercept=intercept,
            sample_weight=sample_weight,
            l2=alpha,
            l2_over_dispersion=True,
            **common,
        )

    # the scikit-learn GLMs: objective mean(w * half deviance) + alpha/2 ||coef||^2
    if isinstance(est, PoissonRegressor):
        fam = get_family("poisson", "log")
    elif isinstance(est, GammaRegressor):
        fam = get_family("gamma", "log")
    else:  # TweedieRegressor
        power = float(est.power)
        if power not in _TWEEDIE:
            raise ValueError(
                f"TweedieRegressor(power={est.power}) is not supported: only the "
                "powers 0 (Normal), 1 (Poisson), 2 (Gamma) and 3 (inverse Gaussian) "
                "have the closed-form likelihood used here."
            )
        link = est.link
        if link == "auto":
            link = "identity" if power <= 0 else "log"
        fam = get_family(_TWEEDIE[int(power)], link)
    return GLMSpec(
        family=fam,
        y=y,
        coef=coef,
        intercept=intercept,
        sample_weight=sample_weight,
        l2=float(est.alpha) * float(np.sum(sample_weight)),
        l2_over_dispersion=fam.has_dispersion,
        **common,
    )
