"""Exponential families and links, pointwise in the linear predictor.

Conventions
-----------
Everything here is *per sample* and *unweighted*:

- ``nll(y, eta, phi)`` is ``ℓ = -log p(y | eta, phi)`` **with all normalising
  constants** (``lgamma(y + 1)`` for Poisson, ``log(2 pi phi) / 2`` for Gaussian, ...),
  so that summing it over samples gives minus the log-likelihood that statsmodels
  reports as ``llf`` for the same model and scale.
- ``eta_derivatives(y, eta, phi)`` returns ``(dℓ/dη, d²ℓ/dη²)``: the **observed**
  information, which differs from the expected (Fisher) one for non-canonical links.
  For the multinomial family ``eta`` has shape ``(n, K)`` and the two returned arrays
  have shapes ``(n, K)`` and ``(n, K, K)``.
- The dispersion ``phi`` is the scale of the exponential dispersion model: the variance
  ``sigma²`` for the Gaussian, ``1 / shape`` for the Gamma, ``lambda⁻¹`` for the inverse
  Gaussian (``Var y = phi mu³``).  ``dispersion_derivatives`` returns
  ``(dℓ/dφ, d²ℓ/dφ², d²ℓ/dηdφ)`` in that parameterisation (φ itself, not log φ).
- ``eta_third_derivative`` and ``dispersion_third_derivatives`` return ``d³ℓ/dη³``
  and ``(∂³ℓ/∂η²∂φ, ∂³ℓ/∂η∂φ², ∂³ℓ/∂φ³)``: how the observed information moves
  when the fit moves, which the derivatives of ALO, TIC and the evidence in the
  penalty need (:mod:`ticselect.selection._tuning_grad`).  Multinomial: a
  ``(n, K, K, K)`` tensor.
- Links map the mean to the predictor, ``eta = g(mu)``; each link object
  (:mod:`ticselect.curvature._links`) exposes the inverse ``mu = g⁻¹(eta)`` and its
  first three derivatives in ``eta``.

A new family is one small subclass of :class:`Family` overriding ``_nll_mu``,
``_mu_derivatives`` and ``_mu_third_derivative`` (derivatives in the mean); canonical
pairs may override ``eta_derivatives`` and ``eta_third_derivative`` with a
numerically stabler closed form.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from scipy import special

from ._family_base import Family, _validated_phi
from ._links import LINKS, Link

__all__ = ["Family", "Link", "get_family", "FAMILIES", "LINKS"]


class _DevianceDispersionFamily(Family):
    """Families with ``ℓ = log(2 pi phi a(y)) / 2 + d(y, mu) / (2 phi)``.

    This covers the Gaussian (``d = (y-mu)²``, ``a = 1``) and the inverse Gaussian
    (``d = (y-mu)² / (mu² y)``, ``a = y³``); ``d`` is the unit deviance.
    """

    has_dispersion = True

    @abstractmethod
    def _unit_deviance(self, y, mu):
        """Unit deviance ``d(y, mu)`` and its first two derivatives in mu."""

    @abstractmethod
    def _log_a(self, y):
        """``log a(y)``."""

    @abstractmethod
    def _unit_deviance_third(self, y, mu):
        """``d³d(y, mu)/dmu³``."""

    def _mu_third_derivative(self, y, mu, phi):
        return self._unit_deviance_third(y, mu) / (2.0 * phi)

    def dispersion_third_derivatives(self, y, eta, phi):  # noqa: D102
        phi = _validated_phi(phi)
        mu = self.mean(eta)
        d, d1, d2 = self._unit_deviance(y, mu)
        m1, m2 = self.link.inverse_derivatives(eta)
        # ℓ = log(2πφa)/2 + d/(2φ): each φ-derivative of φ^-k multiplies by -k/φ
        l_eep = -(d2 * m1**2 + d1 * m2) / (2.0 * phi**2)
        l_epp = d1 * m1 / phi**3
        l_ppp = 1.0 / phi**3 - 3.0 * d / phi**4
        return l_eep, l_epp, l_ppp

    def _nll_mu(self, y, mu, phi):
        d = self._unit_deviance(y, mu)[0]
        return 0.5 * (np.log(2.0 * np.pi * phi) + self._log_a(y)) + d / (2.0 * phi)

    def _mu_derivatives(self, y, mu, phi):
        _, d1, d2 = self._unit_deviance(y, mu)
        return d1 / (2.0 * phi), d2 / (2.0 * phi)

    def dispersion_derivatives(self, y, eta, phi):  # noqa: D102
        phi = _validated_phi(phi)
        mu = self.mean(eta)
        d, d1, _ = self._unit_deviance(y, mu)
        m1, _ = self.link.inverse_derivatives(eta)
        l_phi = 0.5 / phi - d / (2.0 * phi**2)
        l_phiphi = -0.5 / phi**2 + d / phi**3
        l_etaphi = -d1 * m1 / (2.0 * phi**2)
        return l_phi, l_phiphi, l_etaphi

    def ml_dispersion(self, y, eta, weights):  # noqa: D102
        d = self._unit_deviance(y, self.mean(eta))[0]
        return float(np.sum(weights * d) / np.sum(weights))


class Gaussian(_DevianceDispersionFamily):
    """Normal responses; ``phi`` is the variance."""

    name = "gaussian"
    links = ("identity", "log")
    support = "all real numbers"

    def _in_support(self, y):
        return np.isfinite(y)

    def _unit_deviance(self, y, mu):
        r = y - mu
        return r**2, -2.0 * r, np.full_like(r, 2.0)

    def _unit_deviance_third(self, y, mu):
        return np.zeros_like(y - mu)

    def _log_a(self, y):
        return 0.0


class InverseGaussian(_DevianceDispersionFamily):
    """Inverse Gaussian responses, ``Var y = phi mu³``."""

    name = "inverse_gaussian"
    links = ("inverse_squared", "log", "identity")
    support = "y > 0"
    positive_mean = True

    def _in_support(self, y):
        return np.isfinite(y) & (y > 0)

    def _unit_deviance(self, y, mu):
        r = y - mu
        return r**2 / (mu**2 * y), -2.0 * r / mu**3, (6.0 * y - 4.0 * mu) / mu**4

    def _unit_deviance_third(self, y, mu):
        return (12.0 * mu - 24.0 * y) / mu**5

    def _log_a(self, y):
        return 3.0 * np.log(y)


class Gamma(Family):
    """Gamma responses with mean ``mu`` and shape ``1 / phi``."""

    name = "gamma"
    links = ("log", "inverse", "identity")
    has_dispersion = True
    support = "y > 0"
    positive_mean = True

    def _in_support(self, y):
        return np.isfinite(y) & (y > 0)

    def _nll_mu(self, y, mu, phi):
        nu = 1.0 / _validated_phi(phi)
        return -nu * np.log(nu * y / mu) + nu * y / mu + special.gammaln(nu) + np.log(y)

    def _mu_derivatives(self, y, mu, phi):
        nu = 1.0 / phi
        return nu * (mu - y) / mu**2, nu * (2.0 * y - mu) / mu**3

    def _mu_third_derivative(self, y, mu, phi):
        return (2.0 * mu - 6.0 * y) / (phi * mu**4)

    def dispersion_third_derivatives(self, y, eta, phi):  # noqa: D102
        # ℓ = ν G(η) + K(ν), G = log μ + y/μ, ν = 1/φ; in φ, ν' = -ν², ν'' = 2ν³,
        # ν⁽³⁾ = -6ν⁴, and K's ν-derivatives are those of dispersion_derivatives
        phi = _validated_phi(phi)
        nu = 1.0 / phi
        mu = self.mean(eta)
        m1, m2 = self.link.inverse_derivatives(eta)
        g1, g2 = self._mu_derivatives(y, mu, 1.0)  # G's derivatives in μ
        G = np.log(mu) + y / mu
        G_e, G_ee = g1 * m1, g2 * m1**2 + g1 * m2
        n1, n2, n3 = -(nu**2), 2.0 * nu**3, -6.0 * nu**4
        K1 = -np.log(nu * y) - 1.0 + special.digamma(nu)
        K2 = -1.0 / nu + special.polygamma(1, nu)
        K3 = 1.0 / nu**2 + special.polygamma(2, nu)
        l_ppp = (G + K1) * n3 + 3.0 * K2 * n1 * n2 + K3 * n1**3
        return G_ee * n1, G_e * n2, l_ppp

    def dispersion_derivatives(self, y, eta, phi):  # noqa: D102
        phi = _validated_phi(phi)
        nu = 1.0 / phi
        mu = self.mean(eta)
        m1, _ = self.link.inverse_derivatives(eta)
        # derivatives in the shape nu, then the chain rule to phi = 1/nu
        l_nu = -np.log(nu * y / mu) - 1.0 + special.digamma(nu) + y / mu
        l_nunu = -1.0 / nu + special.polygamma(1, nu)
        dnu, d2nu = -(nu**2), 2.0 * nu**3
        l_phi = l_nu * dnu
        l_phiphi = l_nunu * dnu**2 + l_nu * d2nu
        l_etaphi = (mu - y) / mu**2 * m1 * dnu
        return l_phi, np.broadcast_to(l_phiphi, np.shape(l_phi)).copy(), l_etaphi

    def ml_dispersion(self, y, eta, weights):  # noqa: D102
        # The ML shape solves log(nu) - digamma(nu) = D / (2 sum w), D the deviance.
        mu = self.mean(eta)
        half_dev = np.sum(weights * (y / mu - np.log(y / mu) - 1.0))
        s = half_dev / np.sum(weights)
        if s <= 0:
            return 0.0  # exact fit; the caller reports it
        return 1.0 / _solve_log_minus_digamma(s)


def _solve_log_minus_digamma(s):
    """Solve ``log(nu) - digamma(nu) = s`` for ``nu > 0`` (Newton on log nu)."""
    # Minka's starting point, then Newton iterations in log-space (monotone function).
    nu = (3.0 - s + np.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    for _ in range(100):
        f = np.log(nu) - special.digamma(nu) - s
        fp = 1.0 / nu - special.polygamma(1, nu)
        step = f / (fp * nu)
        nu = nu * np.exp(-step)
        if abs(step) < 1e-15:
            break
    return float(nu)


class Poisson(Family):
    """Poisson counts (dispersion fixed at 1)."""

    name = "poisson"
    links = ("log", "identity", "sqrt")
    support = "y >= 0"
    positive_mean = True

    def _in_support(self, y):
        return np.isfinite(y) & (y >= 0)

    def _nll_mu(self, y, mu, phi):
        return mu - special.xlogy(y, mu) + special.gammaln(y + 1.0)

    def _mu_derivatives(self, y, mu, phi):
        return 1.0 - y / mu, y / mu**2

    def _mu_third_derivative(self, y, mu, phi):
        return -2.0 * y / mu**3

    def eta_derivatives(self, y, eta, phi=1.0):  # noqa: D102
        if self.link.name == "log":
            mu = np.exp(eta)
            return mu - y, mu
        return super().eta_derivatives(y, eta, phi)

    def eta_third_derivative(self, y, eta, phi=1.0):  # noqa: D102
        if self.link.name == "log":
            return np.exp(eta) + np.zeros_like(y, dtype=float)
        return super().eta_third_derivative(y, eta, phi)


class NegativeBinomial(Family):
    """NB2 counts with ``Var y = mu + alpha mu²`` and a fixed ``alpha``.

    Parameters
    ----------
    link : str or None, default=None
        Only ``"log"``.
    alpha : float, default=1.0
        The (fixed, known) ancillary parameter.
    """

    name = "negative_binomial"
    links = ("log",)
    support = "y >= 0"

    def __init__(self, link=None, alpha=1.0):
        super().__init__(link)
        alpha = float(alpha)
        if not (np.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a positive finite number, got {alpha}.")
        self.alpha = alpha

    def __repr__(self):
        return f"NegativeBinomial(link={self.link.name!r}, alpha={self.alpha})"

    def _in_support(self, y):
        return np.isfinite(y) & (y >= 0)

    def _nll_mu(self, y, mu, phi):
        a = self.alpha
        r = 1.0 / a
        return -(
            special.gammaln(y + r)
            - special.gammaln(r)
            - special.gammaln(y + 1.0)
            + special.xlogy(y, a * mu)
            - (y + r) * np.log1p(a * mu)
        )

    def _mu_derivatives(self, y, mu, phi):
        a = self.alpha
        return (
            -(y / mu - (1.0 + a * y) / (1.0 + a * mu)),
            y / mu**2 - a * (1.0 + a * y) / (1.0 + a * mu) ** 2,
        )

    def _mu_third_derivative(self, y, mu, phi):
        a = self.alpha
        return -2.0 * y / mu**3 + 2.0 * a**2 * (1.0 + a * y) / (1.0 + a * mu) ** 3


class Binomial(Family):
    """Binomial successes ``y`` out of ``n_trials`` (Bernoulli when ``n_trials`` is 1).

    Parameters
    ----------
    link : str or None, default=None
        ``"logit"``, ``"probit"`` or ``"cloglog"``.
    n_trials : float or ndarray of shape (n_samples,), default=1
        Number of trials per sample.
    """

    name = "binomial"
    links = ("logit", "probit", "cloglog")
    support = "integer counts 0 <= y <= n_trials, y in {0, 1} for Bernoulli"

    def __init__(self, link=None, n_trials=1.0):
        super().__init__(link)
        self.n_trials = np.asarray(n_trials, dtype=float)

    def rows(self, idx):  # noqa: D102
        if self.n_trials.ndim == 0:
            return self
        return Binomial(self.link.name, n_trials=self.n_trials[idx])

    def _in_support(self, y):
        if self._bernoulli():  # (the common case, in two comparisons)
            return (y == 0.0) | (y == 1.0)
        return np.isfinite(y) & (y >= 0) & (y <= self.n_trials) & (y == np.round(y))

    def _log_binom(self, y):
        m = self.n_trials
        if m.ndim == 0 and m == 1.0:
            return 0.0  # Bernoulli: log C(1, y) = 0 for y in {0, 1}
        return (
            special.gammaln(m + 1.0)
            - special.gammaln(y + 1.0)
            - special.gammaln(m - y + 1.0)
        )

    def _nll_mu(self, y, mu, phi):
        m = self.n_trials
        return -(
            self._log_binom(y) + special.xlogy(y, mu) + special.xlog1py(m - y, -mu)
        )

    def _mu_derivatives(self, y, mu, phi):
        m = self.n_trials
        return -y / mu + (m - y) / (1.0 - mu), y / mu**2 + (m - y) / (1.0 - mu) ** 2

    def _mu_third_derivative(self, y, mu, phi):
        m = self.n_trials
        return -2.0 * y / mu**3 + 2.0 * (m - y) / (1.0 - mu) ** 3

    def _bernoulli(self):
        m = self.n_trials
        return m.ndim == 0 and m == 1.0

    def nll(self, y, eta, phi=1.0):  # noqa: D102
        m = self.n_trials
        name = self.link.name
        if name == "logit":
            if self._bernoulli():  # the same numbers, two passes fewer
                out = np.logaddexp(0.0, eta)
                out -= y * eta
                return out
            return m * np.logaddexp(0.0, eta) - y * eta - self._log_binom(y)
        if name == "probit":
            return -(
                y * special.log_ndtr(eta)
                + (m - y) * special.log_ndtr(-eta)
                + self._log_binom(y)
            )
        t = np.exp(eta)  # cloglog: log(mu) = log(-expm1(-t)), log(1 - mu) = -t
        return -(y * np.log(-np.expm1(-t)) - (m - y) * t + self._log_binom(y))

    def eta_derivatives(self, y, eta, phi=1.0):  # noqa: D102
        m = self.n_trials
        name = self.link.name
        if name == "logit":
            # mu and 1 - mu each from expit, so neither tail cancels
            mu, one_minus = special.expit(eta), special.expit(-eta)
            if self._bernoulli() and np.ndim(y):
                # y is 0 or 1 (the support): the same numbers, three passes fewer
                return np.where(y > 0, -one_minus, mu), mu * one_minus
            return (m - y) * mu - y * one_minus, m * mu * one_minus
        if name == "probit":
            # inverse Mills ratios r(±eta) = pdf / cdf, computed in log-space
            log_pdf = -0.5 * eta**2 - 0.5 * np.log(2.0 * np.pi)
            rp = np.exp(log_pdf - special.log_ndtr(eta))
            rm = np.exp(log_pdf - special.log_ndtr(-eta))
            d1 = -y * rp + (m - y) * rm
            d2 = y * rp * (eta + rp) + (m - y) * rm * (rm - eta)
            return d1, d2
        # cloglog, t = e^eta:  d1 = (m - y) t - y q,  q = t / (e^t - 1) = u e^-t
        # with u = t / (1 - e^-t);  d2 = (m - y) t - y q (1 - u).  1 - u is taken from
        # its series for small t (it cancels there), u from -expm1(-t) otherwise, so
        # nothing overflows for large eta.
        t = np.exp(eta)
        u = t / -np.expm1(-t)
        one_minus_u = np.where(t < 1e-3, -t / 2.0 - t**2 / 12.0 + t**4 / 720.0, 1.0 - u)
        q = u * np.exp(-t)
        d1 = (m - y) * t - y * q
        d2 = (m - y) * t - y * q * one_minus_u
        return d1, d2

    def eta_third_derivative(self, y, eta, phi=1.0):  # noqa: D102
        m = self.n_trials
        name = self.link.name
        if name == "logit":
            mu, one_minus = special.expit(eta), special.expit(-eta)
            return m * mu * one_minus * (one_minus - mu)
        if name == "probit":
            # d/dη of the inverse Mills ratios: rp' = -rp(η + rp), rm' = rm(rm - η)
            log_pdf = -0.5 * eta**2 - 0.5 * np.log(2.0 * np.pi)
            rp = np.exp(log_pdf - special.log_ndtr(eta))
            rm = np.exp(log_pdf - special.log_ndtr(-eta))
            return y * rp * (1.0 - (eta + rp) * (eta + 2.0 * rp)) + (m - y) * rm * (
                (rm - eta) * (2.0 * rm - eta) - 1.0
            )
        # cloglog, with t, u, q as in eta_derivatives: t·dq/dt = q(1 - u) and
        # t·du/dt = u(1 - q), so d/dη [q(1 - u)] = q((1 - u)² - u(1 - q))
        t = np.exp(eta)
        u = t / -np.expm1(-t)
        one_minus_u = np.where(t < 1e-3, -t / 2.0 - t**2 / 12.0 + t**4 / 720.0, 1.0 - u)
        q = u * np.exp(-t)
        return (m - y) * t - y * q * (one_minus_u**2 - u * (1.0 - q))


class Multinomial(Family):
    """Categorical responses with the (over-parameterised) softmax link.

    ``y`` is either an integer class index of shape ``(n,)`` or a one-hot array of
    shape ``(n, K)``; ``eta`` has shape ``(n, K)``.
    """

    name = "multinomial"
    links = ("softmax",)
    support = "integer class labels 0..K-1"

    def _in_support(self, y):
        return np.isfinite(y) & (y >= 0) & (y == np.round(y))

    def _onehot(self, y, n_classes):
        y = np.asarray(y)
        if y.ndim == 2:
            return y.astype(float)
        out = np.zeros((y.shape[0], n_classes))
        out[np.arange(y.shape[0]), y.astype(int)] = 1.0
        return out

    def nll(self, y, eta, phi=1.0):  # noqa: D102
        Y = self._onehot(y, eta.shape[1])
        return special.logsumexp(eta, axis=1) - np.sum(Y * eta, axis=1)

    def _nll_mu(self, y, mu, phi):
        Y = self._onehot(y, mu.shape[1])
        return -np.sum(special.xlogy(Y, mu), axis=1)

    def _mu_derivatives(self, y, mu, phi):
        raise NotImplementedError("the multinomial family uses its closed form")

    def _mu_third_derivative(self, y, mu, phi):
        raise NotImplementedError("the multinomial family uses its closed form")

    def eta_derivatives(self, y, eta, phi=1.0):
        """Gradient ``p - y`` of shape (n, K) and Hessian ``diag(p) - p pᵀ`` (n, K, K).

        Parameters
        ----------
        y : ndarray of shape (n_samples,) or (n_samples, K)
            Class indices or one-hot responses.
        eta : ndarray of shape (n_samples, K)
            Linear predictors.
        phi : float, default=1.0
            Ignored.

        Returns
        -------
        d1 : ndarray of shape (n_samples, K)
        d2 : ndarray of shape (n_samples, K, K)
        """
        p = special.softmax(eta, axis=1)
        Y = self._onehot(y, eta.shape[1])
        d2 = -p[:, :, None] * p[:, None, :]
        idx = np.arange(p.shape[1])
        d2[:, idx, idx] += p
        return p - Y, d2

    def eta_third_derivative(self, y, eta, phi=1.0):
        """Third derivative tensor of ``logsumexp(η) - η_y``, shape (n, K, K, K).

        ``T_abc = p_a δ_abc - p_a p_b δ_ac - p_a p_c δ_ab - p_a p_b δ_bc +
        2 p_a p_b p_c`` (``y`` does not enter).

        Parameters
        ----------
        y : ndarray of shape (n_samples,) or (n_samples, K)
            Class indices or one-hot responses (unused).
        eta : ndarray of shape (n_samples, K)
            Linear predictors.
        phi : float, default=1.0
            Ignored.

        Returns
        -------
        d3 : ndarray of shape (n_samples, K, K, K)
        """
        p = special.softmax(eta, axis=1)
        K = p.shape[1]
        E = np.eye(K)
        pa, pb, pc = p[:, :, None, None], p[:, None, :, None], p[:, None, None, :]
        delta3 = np.einsum("ab,ac->abc", E, E)
        return (
            2.0 * pa * pb * pc
            - E[None, :, None, :] * pa * pb
            - E[None, :, :, None] * pa * pc
            - E[None, None, :, :] * pa * pb
            + delta3[None] * pa
        )


FAMILIES = {
    cls.name: cls
    for cls in (
        Gaussian,
        Binomial,
        Poisson,
        Gamma,
        InverseGaussian,
        NegativeBinomial,
        Multinomial,
    )
}


def get_family(name, link=None, **kwargs):
    """Return a family instance by name.

    Parameters
    ----------
    name : str
        One of ``"gaussian"``, ``"binomial"``, ``"poisson"``, ``"gamma"``,
        ``"inverse_gaussian"``, ``"negative_binomial"``, ``"multinomial"``.
    link : str or None, default=None
        Link name; ``None`` takes the family's first listed (canonical or usual) link.
    **kwargs
        Family parameters (``n_trials`` for the binomial, ``alpha`` for the negative
        binomial).

    Returns
    -------
    family : Family

    Examples
    --------
    >>> from ticselect.curvature._families import get_family
    >>> fam = get_family("poisson")
    >>> float(fam.nll(np.array([2.0]), np.array([0.0]))[0])  # 1 - 0 + log(2!)
    1.693...
    """
    try:
        cls = FAMILIES[name]
    except KeyError:
        raise ValueError(
            f"Unknown family {name!r}; supported: {sorted(FAMILIES)}."
        ) from None
    return cls(link, **kwargs)
