"""Any statsmodels likelihood model, and OLS/WLS, read into a :class:`Curvature`.

The GLM fast path (:mod:`ticselect.curvature.adapters.statsmodels`) keeps GLM,
``Logit``, ``Probit``, ``Poisson`` and ``MNLogit`` results.  Every other fitted
``LikelihoodModelResults`` whose model has ``loglikeobs``, ``score_obs`` and
``hessian`` (``NegativeBinomial`` nb1/nb2/geometric, ``NegativeBinomialP``,
``GeneralizedPoisson``, the zero-inflated and hurdle count models, ``OrderedModel``,
any ``GenericLikelihoodModel`` subclass...) is read here, from statsmodels' own
functions at ``res.params``:

- ``θ`` is ``params`` in statsmodels' order and names (extra parameters such as
  ``alpha`` or the ordinal thresholds included, in statsmodels' parameterisation);
- ``ℓᵢ = -loglikeobs(θ)ᵢ``, ``gᵢ = -score_obs(θ)ᵢ``, ``H = -hessian(θ)``: offsets,
  exposure and weights enter exactly as the model holds them.  These are exact where
  statsmodels' derivatives are analytic (the count models) and numerical where
  statsmodels differentiates numerically (``GenericLikelihoodModel`` without its own
  ``score_obs``/``hessian``, ``OrderedModel``): ticselect then inherits their
  accuracy (on a user-written NB2: gradients to 1e-10, Hessian to 5e-8
  relative);
- ``k`` (AIC, BIC) is the count statsmodels uses in its ``aic``, read as
  ``(res.aic + 2·llf) / 2`` (``df_model + k_constant + k_extra``, the rank of the
  design plus the extra parameters).  When it is below ``len(params)`` (aliased
  columns) the missing directions are the flattest eigenvectors of ``H``, held as
  gauge directions, and the curvature is flagged ``"rank_deficient"``;
- a fit whose optimiser reports ``converged=False`` (``mle_retvals``), or whose
  negative-binomial ``alpha`` ended at its boundary 0 (below 1e-6: the Poisson
  model), warns (:class:`~ticselect.NotStationaryWarning`) and is flagged
  ``"not_stationary"``.

``OLS`` and ``WLS`` results go through the Gaussian GLM kernel on the whitened data
``(√w·y, √w·X)``, with ``σ²`` **fixed** at statsmodels' maximum-likelihood value
``SSR_w / n`` and not counted, as statsmodels counts it (``aic = -2 llf + 2(df_model
+ k_constant)``): then ``loglik == llf``, ``aic == res.aic`` and ``bic == res.bic``.
WLS weights are precision weights (``Var yᵢ = σ²/wᵢ``), not frequency weights: the
NLL carries ``-½ Σ log wᵢ`` as statsmodels' ``llf`` does, and ``n = nobs``.  Pass
``dispersion=<float>`` to fix ``σ²`` elsewhere; fit ``sm.GLM(..., Gaussian())`` to
estimate and count it (R's convention).

``fit_regularized`` results are rejected: statsmodels' ``RegularizedResults`` do not
record the penalty (``alpha``, ``L1_wt``), so its units cannot be read from them.
"""

from __future__ import annotations

import warnings

import numpy as np
from statsmodels.base.model import LikelihoodModelResults
from statsmodels.discrete import discrete_model as dm
from statsmodels.genmod import generalized_linear_model as glm
from statsmodels.regression import linear_model as lm

from .._families import get_family
from .._glm import GLMSpec, glm_curvature
from .._identify import check_likelihood_exists
from .._numdiff import gradient_differences, hessian_mismatch
from .._result import Curvature, NotStationaryWarning
from .statsmodels import is_regularized

__all__ = ["is_generic_statsmodels", "statsmodels_generic_curvature"]

#: Models of the GLM fast path (exact types: subclasses may change the likelihood).
_FAST_PATH = (dm.Logit, dm.Probit, dm.Poisson, dm.MNLogit)


def _unwrap(res):
    return getattr(res, "_results", res)


def is_generic_statsmodels(results):
    """Whether statsmodels ``results`` are read by this module (not the GLM path).

    Parameters
    ----------
    results : statsmodels results
        Any (wrapped) statsmodels results object.

    Returns
    -------
    bool
        ``False`` for GLM, ``Logit``, ``Probit``, ``Poisson`` and ``MNLogit``
        results (and regularised fits, which the GLM path rejects).
    """
    res = _unwrap(results)
    model = getattr(res, "model", None)
    if model is None or isinstance(model, glm.GLM) or type(model) in _FAST_PATH:
        return False
    return not is_regularized(res)


def _param_names(res, d):
    model = res.model
    for names in (
        getattr(getattr(model, "data", None), "param_names", None),
        getattr(model, "exog_names", None),
    ):
        if names is not None and len(names) == d:
            return [str(n) for n in names]
    return [f"x{j}" for j in range(d)]


def _statsmodels_k(res, d):
    """Parameters statsmodels counts in ``aic`` (``d`` when it cannot be read)."""
    try:
        k = (float(res.aic) + 2.0 * float(res.llf)) / 2.0
    except (AttributeError, TypeError, ValueError, NotImplementedError):
        return d
    if not np.isfinite(k) or abs(k - round(k)) > 1e-6 * max(1.0, abs(k)):
        return d
    return int(round(k))


def _apply_count(curv, k):
    """Hold ``n_params - k`` flattest directions of ``H`` as gauge (aliased columns).

    Only directions along which ``H`` is numerically flat (eigenvalue below
    ``1e-8 ‖H‖₂``) qualify: otherwise statsmodels' count is not a rank deficiency
    and all parameters are kept.
    """
    r = curv.n_params - k
    if r <= 0:
        return curv
    H = 0.5 * (curv.hessian + curv.hessian.T)
    evals, evecs = np.linalg.eigh(H)
    order = np.argsort(np.abs(evals))
    flat = np.abs(evals[order[:r]]) <= 1e-8 * max(np.abs(evals).max(), 1e-300)
    if not np.all(flat):
        return curv
    curv.gauge = evecs[:, order[:r]]
    curv.add_flag("rank_deficient")
    return curv


def _check_converged(curv, res):
    retvals = getattr(res, "mle_retvals", None) or {}
    converged = retvals.get("converged", True)  # a list for hurdle models
    if not all(bool(c) for c in np.atleast_1d(np.asarray(converged, dtype=object))):
        curv.add_flag("not_stationary")
        warnings.warn(
            f"{curv.model_name}: statsmodels reports that the fit did not converge "
            "(mle_retvals['converged'] is False). TIC assumes a stationary point: "
            "refit with a larger maxiter, another method= or better start_params.",
            NotStationaryWarning,
            stacklevel=5,
        )
    return _check_boundary(curv, res)


#: Negative-binomial heterogeneity ``alpha`` must be > 0; 0 is the Poisson boundary.
_ALPHA_BOUNDARY = 1e-6


def _check_boundary(curv, res):
    """Warn when a negative-binomial ``alpha`` sits at its boundary 0 (Poisson)."""
    if "NegativeBinomial" not in type(res.model).__name__:
        return curv
    if getattr(res.model, "loglike_method", "") == "geometric":
        return curv
    names = curv.param_names
    if not names or names[-1] != "alpha":
        return curv
    alpha = float(curv.params[-1])
    if alpha < _ALPHA_BOUNDARY:
        curv.add_flag("not_stationary")
        warnings.warn(
            f"{curv.model_name}: alpha = {alpha:.3g} is at the boundary alpha = 0 of "
            "its parameter space (the Poisson model): the likelihood theory behind "
            "TIC and AIC does not hold there. Fit the Poisson model instead.",
            NotStationaryWarning,
            stacklevel=5,
        )
    return curv


def _model_name(model):
    name = f"statsmodels {type(model).__name__}"
    method = getattr(model, "loglike_method", None)
    return f"{name}({method})" if isinstance(method, str) else name


def _regression_curvature(res, dispersion):
    model = res.model
    if type(model) not in (lm.OLS, lm.WLS):
        raise TypeError(
            f"statsmodels {type(model).__name__} results are not supported: its rows "
            "are correlated (GLS, GLSAR) or it is not a likelihood fit, and TIC "
            "needs independent rows. Supported regression models: OLS, WLS."
        )
    params = np.asarray(res.params, dtype=float)
    X = np.asarray(model.wexog, dtype=float)
    y = np.asarray(model.wendog, dtype=float)
    if params.ndim != 1 or y.ndim != 1:
        raise ValueError(
            "OLS/WLS with several endogenous columns is not supported: fit one "
            "model per column."
        )
    n = X.shape[0]
    names = _param_names(res, params.shape[0])
    spec = GLMSpec(
        family=get_family("gaussian", "identity"),
        X=X,
        y=y,
        coef=params[None, :],
        intercept=None,
        sample_weight=np.ones(n),
        feature_names=names,
        model_name=f"statsmodels {type(model).__name__}",
    )
    estimated = dispersion is None
    if estimated:
        resid = y - X @ params
        dispersion = float(resid @ resid) / n  # statsmodels' llf uses SSR/n
        if not dispersion > 0:
            raise ValueError(
                f"{spec.model_name} reproduces y exactly (SSR = 0): the likelihood is "
                "unbounded. Use more rows than parameters, or pass dispersion=<float>."
            )
    curv = glm_curvature(spec, dispersion=dispersion)
    if estimated:  # σ² estimated by the fit, as for LinearRegression: n ≤ k refused
        check_likelihood_exists(curv, y, np.ones(n), estimated=True)
    w = np.asarray(getattr(model, "weights", 1.0), dtype=float)
    if w.ndim and np.any(w <= 0):
        raise ValueError(
            "WLS with non-positive weights is not supported: drop those rows."
        )
    half_log_w = 0.5 * np.log(np.broadcast_to(w, (n,)))
    log_w = float(np.sum(half_log_w))
    if log_w:
        curv.nll -= log_w  # the Jacobian of the whitening, in statsmodels' llf
        curv._per_sample_nll = curv.per_sample_nll - half_log_w
        base = curv.loss_fn

        def loss_fn(theta):
            return base(theta) - log_w

        curv.loss_fn = loss_fn
    # the per-row model (attached by the dispatcher): a refit re-estimates σ²
    curv._row_model = (
        "glm",
        {
            "spec": spec,
            "refit_dispersion": estimated,
            "nll_offset": -half_log_w if log_w else None,
        },
    )
    return _apply_count(curv, _statsmodels_k(res, curv.n_params))


def _loglikeobs(model):
    """``model.loglikeobs``, or its hurdle composition (statsmodels has none).

    A hurdle model is two separately fitted likelihoods: the zero model on every row
    and the zero-truncated count model on the rows with ``y > 0`` (statsmodels'
    ``score_obs`` and ``hessian`` are built the same way).
    """
    if callable(getattr(model, "loglikeobs", None)):
        return model.loglikeobs
    if not all(hasattr(model, a) for a in ("model1", "model2", "_k_zero")):
        return None
    nonzero = np.flatnonzero(np.asarray(model.endog) != 0)

    def loglikeobs(params):
        k = model._k_zero
        out = np.asarray(model.model1.loglikeobs(params[:k]), dtype=float).copy()
        out[nonzero] += np.asarray(model.model2.loglikeobs(params[k:]), dtype=float)
        return out

    return loglikeobs


def _check_supported(res, model, loglikeobs):
    """Refuse results that are not a maximum-likelihood fit of independent rows."""
    missing = [
        m
        for m in ("loglikeobs", "score_obs", "hessian")
        if not callable(loglikeobs if m == "loglikeobs" else getattr(model, m, None))
    ]
    if missing or not isinstance(res, LikelihoodModelResults):
        raise TypeError(
            f"statsmodels {type(model).__name__} results are not supported: ticselect "
            "needs a maximum-likelihood fit whose model has loglikeobs, score_obs and "
            f"hessian (missing: {', '.join(missing) or 'a likelihood results class'})."
        )
    if type(model).__module__.startswith("statsmodels.tsa"):
        raise TypeError(
            f"statsmodels {type(model).__name__} (a time-series model) is not "
            "supported: its observations are dependent and its parameters are "
            "transformed during the fit, so per-observation scores do not give TIC."
        )


def _evaluate(res, model, loglikeobs, params, name):
    """``loglikeobs``, ``score_obs`` and ``hessian`` at the fit, checked."""
    d = params.shape[0]
    with np.errstate(all="ignore"):
        ll = np.asarray(loglikeobs(params), dtype=float)
        S = np.asarray(model.score_obs(params), dtype=float)
        Hs = np.asarray(model.hessian(params), dtype=float)
    if ll.ndim != 1 or S.shape != (ll.shape[0], d) or Hs.shape != (d, d):
        raise ValueError(
            f"{name}: loglikeobs, score_obs and hessian returned shapes "
            f"{ll.shape}, {S.shape}, {Hs.shape}; expected (n,), (n, {d}), "
            f"({d}, {d})."
        )
    if not (
        np.all(np.isfinite(ll)) and np.all(np.isfinite(S)) and np.all(np.isfinite(Hs))
    ):
        raise ValueError(
            f"{name}: the log-likelihood, scores or Hessian are not finite at the "
            "fitted parameters. Check the fit (res.mle_retvals) and the data."
        )
    llf = float(getattr(res, "llf", np.nan))
    if np.isfinite(llf) and abs(ll.sum() - llf) > 1e-8 * max(1.0, abs(llf)):
        raise ValueError(
            f"{name}: the model's loglikeobs at res.params sums to {ll.sum():.10g}, "
            f"but the results report llf = {llf:.10g}. The model object changed "
            "after the fit (e.g. NegativeBinomial._transparams), or its likelihood "
            "is not the sum of loglikeobs; refit and pass the fresh results."
        )
    return ll, S, Hs


def _generic_curvature(res):
    model = res.model
    loglikeobs = _loglikeobs(model)
    _check_supported(res, model, loglikeobs)
    params = np.asarray(res.params, dtype=float)
    if params.ndim != 1:
        raise TypeError(
            f"statsmodels {type(model).__name__} has a parameter matrix; only models "
            "with a parameter vector are supported here."
        )
    d = params.shape[0]
    name = _model_name(model)
    ll, S, Hs = _evaluate(res, model, loglikeobs, params, name)
    G = -S
    H = -0.5 * (Hs + Hs.T)
    n = ll.shape[0]
    H, hessian_of = _checked_hessian(model, params, H, name)

    def loss_fn(theta):
        with np.errstate(all="ignore"):
            try:
                value = -float(np.sum(loglikeobs(np.asarray(theta, float))))
            except (ValueError, FloatingPointError, OverflowError):
                return np.inf
        return value if np.isfinite(value) else np.inf

    def hessian_fn(theta):
        return hessian_of(np.asarray(theta, float))

    curv = Curvature(
        params=params,
        param_names=_param_names(res, d),
        hessian=H,
        grad_cov=G.T @ G,
        penalty=np.zeros(d),
        nll=-float(np.sum(ll)),
        n_samples=float(n),
        n_rows=n,
        gradient=G.sum(axis=0),
        abs_grad_sum=np.abs(G).sum(axis=0),
        per_sample_grads=G,
        family="statsmodels",
        link="",
        model_name=name,
        loss_fn=loss_fn,
        hessian_fn=hessian_fn,
        per_sample_nll=-ll,
    )
    # the per-row model (attached by the dispatcher, see _rows.LikelihoodRows)
    curv._row_model = (
        "likelihood",
        {
            "params": params,
            "nll": -ll,
            "grads": G,
            "loglikeobs": loglikeobs,
            "score_obs": model.score_obs,
            "hessian": lambda theta: -hessian_of(np.asarray(theta, float)),
        },
    )
    return _apply_count(curv, _statsmodels_k(res, d))


#: Relative error, along one direction, above which a model's own ``hessian`` is
#: replaced by central differences of its ``score_obs``.
HESSIAN_CHECK_TOL = 1e-5


def _checked_hessian(model, params, H, name):
    """``H`` of the loss, checked against differences of ``score_obs``.

    statsmodels 0.15's zero-inflated models with a logit inflation (e.g.
    ``ZeroInflatedPoisson``) return a ``hessian`` whose block of cross-derivatives
    between the inflation and the count parameters is zero (its ``hessian`` copies
    the lower triangle over the upper one after filling the upper one).  One central
    difference of the summed ``score_obs`` along a fixed direction (two calls)
    catches such a Hessian; it is then rebuilt from ``2d`` differences of the
    analytic ``score_obs`` (about ``1e-10`` relative), with a warning.

    Returns
    -------
    H : ndarray of shape (d, d)
    hessian_of : callable
        ``theta -> H(θ)`` by the same route.
    """

    def grad_obs(theta):
        return -np.asarray(model.score_obs(theta), dtype=float)

    def own(theta):
        Ht = -np.asarray(model.hessian(theta), dtype=float)
        return 0.5 * (Ht + Ht.T)

    err = hessian_mismatch(grad_obs, params, H)
    if not err > HESSIAN_CHECK_TOL:
        return H, own

    def by_differences(theta):
        return gradient_differences(grad_obs, theta, summed=True)

    warnings.warn(
        f"{name}: statsmodels' hessian() differs from differences of its score_obs "
        f"by {err:.2g} (relative, along one direction); ticselect uses the Hessian "
        "from central differences of score_obs instead.",
        UserWarning,
        stacklevel=5,
    )
    return by_differences(params), by_differences


def statsmodels_generic_curvature(results, *, dispersion=None):
    """:class:`~ticselect.Curvature` of statsmodels results outside the GLM path.

    Parameters
    ----------
    results : statsmodels results
        A fitted ``LikelihoodModelResults`` whose model has ``loglikeobs``,
        ``score_obs`` and ``hessian``, or ``OLS``/``WLS`` results.
    dispersion : None or float, default=None
        Only for OLS/WLS: ``None`` fixes ``σ²`` at statsmodels' ML value
        ``SSR_w / n`` (not counted, as in statsmodels' ``aic``); a float fixes it
        there.  Other models carry any dispersion-like parameter (``alpha``) in
        ``params``: passing one raises.

    Returns
    -------
    Curvature

    Raises
    ------
    TypeError
        Models without the likelihood methods, time-series models, GLS/GLSAR.
    ValueError
        Non-finite likelihood or derivatives, or ``dispersion`` for a model that has
        none.

    Examples
    --------
    >>> import numpy as np, statsmodels.api as sm, ticselect as ts
    >>> data = sm.datasets.randhie.load()
    >>> exog = sm.add_constant(np.asarray(data.exog, float))
    >>> res = sm.NegativeBinomial(np.asarray(data.endog, float), exog).fit(
    ...     disp=0, maxiter=200)
    >>> crit = ts.criteria(ts.curvature(res))
    >>> bool(np.isclose(crit.aic, res.aic)), bool(np.isclose(crit.tic,
    ...                                                      res.info_criteria("tic")))
    (True, True)
    """
    res = _unwrap(results)
    if isinstance(res.model, lm.RegressionModel):
        curv = _regression_curvature(res, dispersion)
    else:
        if dispersion is not None:
            raise ValueError(
                f"dispersion= applies to GLMs and OLS/WLS only; "
                f"{type(res.model).__name__} estimates its own extra parameters "
                "(they are in params). Call curvature(results) without it."
            )
        curv = _generic_curvature(res)
    return _check_converged(curv, res)
