"""Slow, independent oracle for GLM curvature: autograd on densities written anew.

Nothing here imports ticselect.  Each density is written from its textbook form in
``autograd.numpy``; autograd then differentiates the per-sample NLL with respect to the
full parameter vector ``θ`` in ticselect's documented layout (coefficients, intercept,
per class for the multinomial, then the dispersion).  Exact to float64 rounding, so the
fast path is compared to it with tight tolerances.
"""

import autograd.numpy as anp
import numpy as np
from autograd import hessian, jacobian
from autograd.scipy.special import gammaln
from autograd.scipy.stats import norm as anorm

LOG2PI = np.log(2.0 * np.pi)


def _mean(link, eta):
    if link == "identity":
        return eta
    if link == "log":
        return anp.exp(eta)
    if link == "logit":
        return 1.0 / (1.0 + anp.exp(-eta))
    if link == "probit":
        return anorm.cdf(eta)
    if link == "cloglog":
        return 1.0 - anp.exp(-anp.exp(eta))
    if link == "inverse":
        return 1.0 / eta
    if link == "inverse_squared":
        return eta**-0.5
    if link == "sqrt":
        return eta**2
    raise ValueError(link)


def per_sample_nll(family, link, y, eta, phi=None, alpha=None):
    """-log p(y | eta) per sample, from the densities."""
    if family == "multinomial":
        lse = anp.log(
            anp.sum(anp.exp(eta - anp.max(eta, axis=1, keepdims=True)), axis=1)
        )
        lse = lse + anp.max(eta, axis=1)
        onehot = np.eye(eta.shape[1])[y.astype(int)]
        return lse - anp.sum(onehot * eta, axis=1)
    mu = _mean(link, eta)
    if family == "gaussian":
        return 0.5 * (LOG2PI + anp.log(phi)) + (y - mu) ** 2 / (2.0 * phi)
    if family == "binomial":
        return -(y * anp.log(mu) + (1.0 - y) * anp.log(1.0 - mu))
    if family == "poisson":
        return mu - y * anp.log(mu) + gammaln(y + 1.0)
    if family == "gamma":
        shape = 1.0 / phi  # density y^(k-1) e^(-y k / mu) (k/mu)^k / Gamma(k)
        return -(
            (shape - 1.0) * anp.log(y)
            - y * shape / mu
            + shape * anp.log(shape / mu)
            - gammaln(shape)
        )
    if family == "inverse_gaussian":
        lam = (
            1.0 / phi
        )  # density sqrt(lam / (2 pi y^3)) exp(-lam (y-mu)^2 / (2 mu^2 y))
        return -(
            0.5 * (anp.log(lam) - LOG2PI - 3.0 * anp.log(y))
            - lam * (y - mu) ** 2 / (2.0 * mu**2 * y)
        )
    if family == "negative_binomial":
        r = 1.0 / alpha
        return -(
            gammaln(y + r)
            - gammaln(r)
            - gammaln(y + 1.0)
            + r * anp.log(r / (r + mu))
            + y * anp.log(mu / (r + mu))
        )
    raise ValueError(family)


def reference_curvature(
    family,
    link,
    X,
    y,
    theta,
    *,
    fit_intercept,
    n_classes=1,
    has_dispersion=False,
    weights=None,
    offset=None,
    alpha=None,
):
    """Return (per-sample NLL, per-sample gradients G, summed Hessian H) by autograd.

    ``theta`` follows ticselect's layout: for each linear predictor the coefficients
    then (if any) the intercept; then the dispersion when ``has_dispersion``.
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    pt = p + int(fit_intercept)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)

    def losses(th):
        B = anp.reshape(th[: n_classes * pt], (n_classes, pt))
        eta = anp.dot(X, anp.transpose(B[:, :p]))
        if fit_intercept:
            eta = eta + B[:, p]
        eta = eta + off[:, None]
        phi = th[-1] if has_dispersion else None
        if family != "multinomial":
            eta = eta[:, 0]
        return per_sample_nll(family, link, y, eta, phi=phi, alpha=alpha)

    def total(th):
        return anp.sum(w * losses(th))

    theta = np.asarray(theta, dtype=float)
    return losses(theta), jacobian(losses)(theta), hessian(total)(theta)
