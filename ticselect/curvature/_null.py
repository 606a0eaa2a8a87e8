"""Layer 1 — the null model and Pearson statistic of a GLM (for pseudo-R² and QAIC).

Null model
    The **intercept-only** model with the same family, link, offset (and exposure),
    frequency weights, binomial trial counts and dispersion treatment as the fit: the
    intercept is its maximum-likelihood value, the dispersion is the ML estimate of
    the null model when the fit estimates it and the same fixed value otherwise.
    Without an offset its mean is the weighted mean of ``y`` (per trial for the
    binomial) for every family and link here (the score of a constant mean is
    ``Σ wᵢ(yᵢ − μ)/V(μ)``), so the intercept is ``g(ȳ)`` in closed form (one pass for
    the likelihood, none for the fit: issue 24 item 14); with an offset, damped
    Newton in one dimension from the mean of the fitted linear predictor, converged
    to 1e-13.  This is statsmodels' ``llnull``
    (a constant-only model with the offset kept) and R's null deviance model.  The
    multinomial null model has the weighted class frequencies as probabilities.
    ``Curvature.null_nll`` holds its summed NLL, in the units of ``nll``.
Pearson statistic
    ``X² = Σᵢ wᵢ (yᵢ − μ̂ᵢ)² / V(μ̂ᵢ)`` with the variance functions of the binomial
    (``mᵢμ(1 − μ)`` for ``yᵢ`` successes out of ``mᵢ``), Poisson (``μ``) and negative
    binomial (``μ + αμ²``) families, the families for which an overdispersion factor
    ``ĉ = X²/(n − k)`` is meaningful (Burnham & Anderson 2002, §6.2; statsmodels'
    ``pearson_chi2``).  ``Curvature.pearson_chi2`` is ``None`` for other models.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._glm import _linear_predictor

__all__ = ["attach_null", "null_nll", "pearson_chi2"]

_NEWTON_STEPS, _NEWTON_TOL = 100, 1e-13
_PEARSON = ("binomial", "poisson", "negative_binomial")
#: The links ``η = g(μ)`` (the families hold their inverses).
_LINKS = {
    "identity": lambda mu: mu,
    "log": np.log,
    "logit": special.logit,
    "probit": special.ndtri,
    "cloglog": lambda mu: np.log(-np.log1p(-mu)),
    "inverse": lambda mu: 1.0 / mu,
    "inverse_squared": lambda mu: mu**-2.0,
    "sqrt": np.sqrt,
}


def _objective(fam, y, w, off, phi):
    def f(b):
        with np.errstate(all="ignore"):
            eta = b + off
            try:
                fam.check_mu(fam.mean(eta))
            except ValueError:
                return np.inf
            value = float(np.sum(w * fam.nll(y, eta, phi)))
        return value if np.isfinite(value) else np.inf

    return f


def _null_intercept(fam, y, w, off, start, phi):
    """ML intercept of ``η = b + offset`` by damped Newton (``None`` if it fails)."""
    f = _objective(fam, y, w, off, phi)
    b, value = float(start), f(float(start))
    if not np.isfinite(value):
        return None
    for _ in range(_NEWTON_STEPS):
        d1, d2 = fam.eta_derivatives(y, b + off, phi)
        g, h = float(np.sum(w * d1)), float(np.sum(w * d2))
        step = g / h if h > 0 else g / max(abs(g), 1.0)
        t = 1.0
        for _half in range(60):
            v_new = f(b - t * step)
            if v_new <= value:
                break
            t *= 0.5
        else:
            return b  # no decrease along the Newton direction: at the optimum
        b_new = b - t * step
        done = abs(b_new - b) <= _NEWTON_TOL * (1.0 + abs(b)) or value - v_new < 1e-15
        b, value = b_new, v_new
        if done:
            break
    return b


def _closed_form_intercept(fam, y, w):
    """``g(ȳ)``, the ML intercept without an offset, or ``None`` outside the range."""
    m = getattr(fam, "n_trials", 1.0) if fam.name == "binomial" else 1.0
    total = float(np.sum(w * m)) if np.ndim(m) else float(np.sum(w)) * float(m)
    link = _LINKS.get(fam.link.name)
    if link is None or not total > 0:
        return None
    mean = float(np.dot(w, y)) / total
    with np.errstate(all="ignore"):
        b = float(link(mean))
        back = float(fam.mean(np.array([b]))[0]) if np.isfinite(b) else np.nan
    # the inverse must give ȳ back (a mean on the boundary, e.g. ȳ = 0: Newton's)
    return b if np.isfinite(back) and np.isclose(back, mean, rtol=1e-10) else None


def _is_bernoulli_logit(fam):
    trials = getattr(fam, "n_trials", None)
    return (
        fam.name == "binomial"
        and fam.link.name == "logit"
        and np.ndim(trials) == 0
        and float(trials) == 1.0
    )


def null_nll(spec, phi, phi_is_param, eta=None):
    """Summed NLL of the intercept-only model of ``spec`` (see the module docstring).

    Parameters
    ----------
    spec : GLMSpec
        The fitted model (its family, data, offset and weights are used).
    phi : float or None
        The fit's dispersion.
    phi_is_param : bool
        Whether the fit estimates it (then the null model does too).
    eta : ndarray of shape (n, m) or None, default=None
        The fit's linear predictor when already computed (the start of Newton's
        iteration with an offset).

    Returns
    -------
    float or None
        ``None`` when the null fit fails (it does not for convex families).

    Examples
    --------
    >>> import numpy as np
    >>> from ticselect.curvature._families import get_family
    >>> from ticselect.curvature._glm import GLMSpec
    >>> y = np.array([0.0, 1.0, 1.0, 1.0])
    >>> spec = GLMSpec(family=get_family("binomial"), X=np.zeros((4, 0)), y=y,
    ...                coef=np.zeros((1, 0)), intercept=np.zeros(1),
    ...                sample_weight=np.ones(4))
    >>> bool(np.isclose(null_nll(spec, None, False), -np.log(0.75) * 3 - np.log(0.25)))
    True
    """
    fam = spec.family
    y = spec.y
    w = np.asarray(spec.sample_weight, dtype=float)
    if fam.name == "multinomial":
        K = spec.coef.shape[0]
        counts = np.bincount(np.asarray(y, dtype=int), weights=w, minlength=K)
        p = counts / counts.sum()
        return float(-np.sum(special.xlogy(counts, p)))
    off = np.zeros(y.shape[0]) if spec.offset is None else np.asarray(spec.offset)
    phi_fit = 1.0 if phi is None or phi_is_param else float(phi)
    b = None if spec.offset is not None else _closed_form_intercept(fam, y, w)
    if b is None:
        eta = _linear_predictor(spec) if eta is None else eta
        start = float(np.average(eta[:, 0], weights=w))
        b = _null_intercept(fam, y, w, off, start, phi_fit)
    if b is None:
        return None
    if spec.offset is None and _is_bernoulli_logit(fam):
        # ℓ = log(1 + e^b) − y b at a constant b: two sums, no pass for the NLL
        value = float(np.sum(w)) * float(np.logaddexp(0.0, b)) - b * float(np.dot(w, y))
        return value if np.isfinite(value) else None
    eta = b + off
    phi0 = fam.ml_dispersion(y, eta, w) if phi_is_param else phi_fit
    if phi_is_param and not phi0 > 0:
        return None
    with np.errstate(all="ignore"):
        value = float(np.sum(w * fam.nll(y, eta, phi0)))
    return value if np.isfinite(value) else None


#: (family, link) pairs whose canonical link makes ``ℓ''`` the variance function:
#: there ``(y − μ)²/V(μ) = ℓ'²/ℓ''`` from the derivatives the curvature has.
_CANONICAL = {("binomial", "logit"), ("poisson", "log")}


def pearson_chi2(spec, eta=None, derivatives=None):
    """Pearson's ``X²`` of a binomial, Poisson or negative binomial fit, else None.

    Parameters
    ----------
    spec : GLMSpec
    eta : ndarray of shape (n, m) or None, default=None
        The fit's linear predictor when already computed.
    derivatives : tuple of ndarray or None, default=None
        ``(ℓ', ℓ'')`` of the NLL in ``η`` per row (shapes ``(n, 1)`` and
        ``(n, 1, 1)``) when already computed: for a canonical link (binomial-logit,
        Poisson-log) ``ℓ' = m·μ − y`` and ``ℓ'' = m·μ(1 − μ)`` or ``μ``, so the
        squared Pearson residual is ``ℓ'²/ℓ''`` without another pass over the rows.

    Returns
    -------
    float or None
    """
    fam = spec.family
    if fam.name not in _PEARSON:
        return None
    w = np.asarray(spec.sample_weight, dtype=float)
    if derivatives is not None and (fam.name, fam.link.name) in _CANONICAL:
        d1, d2 = derivatives
        if d1.shape[1:] == (1,):
            # a row fitted at μ ≈ 0 or 1 has ℓ'' → 0: X² is then inf, as from
            # the mean and variance
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                resid2 = d1[:, 0] ** 2 / d2[:, 0, 0]
            if w.min(initial=1.0) > 0:  # (a zero weight drops its row, inf or not)
                return float(np.dot(w, resid2))
            return float(np.sum(np.where(w > 0, w * resid2, 0.0)))
    y = np.asarray(spec.y, dtype=float)
    mu = fam.mean((_linear_predictor(spec) if eta is None else eta)[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        if fam.name == "binomial":
            m = fam.n_trials
            resid2 = (y - m * mu) ** 2 / (m * mu * (1.0 - mu))
        elif fam.name == "poisson":
            resid2 = (y - mu) ** 2 / mu
        else:
            resid2 = (y - mu) ** 2 / (mu + fam.alpha * mu**2)
    return float(np.sum(np.where(w > 0, w * resid2, 0.0)))


def attach_null(curv, spec, eta=None, derivatives=None):
    """Set ``curv.null_nll`` and ``curv.pearson_chi2`` of a GLM (in place).

    Parameters
    ----------
    curv : Curvature
    spec : GLMSpec
        The spec ``curv`` was built from.
    eta : ndarray of shape (n, m) or None, default=None
        Its linear predictor when already computed.
    derivatives : tuple of ndarray or None, default=None
        ``(ℓ', ℓ'')`` per row when already computed (see :func:`pearson_chi2`).

    Returns
    -------
    Curvature
    """
    curv.null_nll = null_nll(spec, curv.dispersion, curv.dispersion_is_param, eta)
    curv.pearson_chi2 = pearson_chi2(spec, eta, derivatives)
    return curv
