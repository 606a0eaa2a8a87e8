"""The base class of the exponential families (conventions in :mod:`._families`).

:class:`Family` turns a subclass's derivatives in the mean into the per-sample
negative log-likelihood and its first three derivatives in the linear predictor;
the concrete families and the registry live in :mod:`ticselect.curvature._families`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ._links import LINKS

__all__ = ["Family"]


class Family(ABC):
    """Per-sample negative log-likelihood of an exponential family and its derivatives.

    Parameters
    ----------
    link : str or None, default=None
        Name of the link; ``None`` takes the family's default (canonical) link.

    Notes
    -----
    See the module docstring for the conventions.  The public entry points
    (:meth:`nll`, :meth:`eta_derivatives`, :meth:`dispersion_derivatives`) work in the
    linear predictor; subclasses provide the same quantities in the mean ``mu``.
    """

    name: str = "family"
    links: tuple[str, ...] = ()
    has_dispersion: bool = False
    support: str = ""

    def __init__(self, link=None):
        link = self.links[0] if link is None else link
        if link not in self.links:
            raise ValueError(
                f"The {self.name} family supports the links {list(self.links)}; "
                f"got link={link!r}."
            )
        self.link = LINKS[link]()

    def __repr__(self):
        return f"{type(self).__name__}(link={self.link.name!r})"

    # -- support -------------------------------------------------------------------
    @abstractmethod
    def _in_support(self, y):
        """Boolean mask of the valid responses."""

    def check_y(self, y):
        """Raise ``ValueError`` if any response lies outside the family's support.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Responses.
        """
        y = np.asarray(y)
        ok = self._in_support(y)
        if not np.all(ok):
            bad = y[~ok].ravel()[:3]
            raise ValueError(
                f"y has {np.size(ok) - np.count_nonzero(ok)} value(s) outside the "
                f"support of the {self.name} family ({self.support}), e.g. "
                f"{bad.tolist()}. Transform y or choose a family whose support "
                "contains it."
            )

    #: Whether the mean space is ``mu > 0`` (else every finite ``mu`` is allowed).
    positive_mean: bool = False

    def in_mean_space(self, mu):
        """Row-wise mask of the means inside the family's mean space.

        The vectorised form of :meth:`check_mu`: finite, and positive where the
        family needs it (Poisson, Gamma, inverse Gaussian).

        Parameters
        ----------
        mu : ndarray of shape (n_samples,) or (n_samples, K)
            Means (one row per sample; a row of a multinomial is inside when all
            its entries are finite).

        Returns
        -------
        ndarray of bool of shape (n_samples,)
        """
        mu = np.asarray(mu, dtype=float)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(mu) & (mu > 0) if self.positive_mean else np.isfinite(mu)
        return ok.all(axis=tuple(range(1, ok.ndim))) if ok.ndim > 1 else ok

    def rows(self, idx):
        """The family of the rows ``idx`` (per-row family parameters sliced).

        Parameters
        ----------
        idx : slice or ndarray of int
            Rows.

        Returns
        -------
        Family
            ``self`` unless a family parameter varies by row (the binomial's
            ``n_trials``).
        """
        return self

    def check_mu(self, mu):
        """Raise ``ValueError`` if the fitted mean is outside the family's mean space.

        Parameters
        ----------
        mu : ndarray
            Fitted means.
        """
        if not np.all(np.isfinite(mu)):
            raise ValueError(
                f"The fitted mean of the {self.name} family is not finite for some "
                "samples; the linear predictor overflows the "
                f"{self.link.name} link."
            )
        if self.positive_mean:
            _check_positive_mean(self, mu)

    # -- quantities in mu (override) ----------------------------------------------
    @abstractmethod
    def _nll_mu(self, y, mu, phi):
        """Per-sample NLL as a function of the mean."""

    @abstractmethod
    def _mu_derivatives(self, y, mu, phi):
        """Return ``(dℓ/dmu, d²ℓ/dmu²)``."""

    @abstractmethod
    def _mu_third_derivative(self, y, mu, phi):
        """Return ``d³ℓ/dmu³``."""

    # -- public, in eta ------------------------------------------------------------
    def mean(self, eta):
        """Return the mean ``mu = g⁻¹(eta)``.

        Parameters
        ----------
        eta : ndarray
            Linear predictor.

        Returns
        -------
        mu : ndarray
            Mean, same shape as ``eta``.
        """
        return self.link.inverse(eta)

    def nll(self, y, eta, phi=1.0):
        """Per-sample negative log-likelihood, constants included.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Responses.
        eta : ndarray of shape (n_samples,)
            Linear predictor.
        phi : float, default=1.0
            Dispersion (ignored by families without one).

        Returns
        -------
        nll : ndarray of shape (n_samples,)
        """
        return self._nll_mu(y, self.mean(eta), phi)

    def nll_mean(self, y, mu, phi=1.0):
        """Per-sample negative log-likelihood at the mean ``mu``, constants included.

        :meth:`nll` with ``mu = g⁻¹(eta)`` given directly (e.g. a model's
        ``predict``), for densities at new rows.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Responses.
        mu : ndarray of shape (n_samples,)
            Means.
        phi : float, default=1.0
            Dispersion (ignored by families without one).

        Returns
        -------
        nll : ndarray of shape (n_samples,)
        """
        return self._nll_mu(y, np.asarray(mu, dtype=float), phi)

    def eta_derivatives(self, y, eta, phi=1.0):
        """First and second derivative of the per-sample NLL in ``eta``.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Responses.
        eta : ndarray of shape (n_samples,)
            Linear predictor.
        phi : float, default=1.0
            Dispersion.

        Returns
        -------
        d1, d2 : ndarray of shape (n_samples,)
            ``dℓ/dη`` and ``d²ℓ/dη²`` (observed information).
        """
        mu = self.mean(eta)
        m1, m2 = self.link.inverse_derivatives(eta)
        l1, l2 = self._mu_derivatives(y, mu, phi)
        return l1 * m1, l2 * m1**2 + l1 * m2

    def eta_third_derivative(self, y, eta, phi=1.0):
        """Third derivative of the per-sample NLL in ``eta``.

        ``ℓ⁽³⁾ = f⁽³⁾μ'³ + 3f''μ'μ'' + f'μ⁽³⁾`` with ``f`` the NLL as a function of
        the mean and ``μ`` the inverse link (closed forms for the canonical pairs).

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Responses.
        eta : ndarray of shape (n_samples,)
            Linear predictor.
        phi : float, default=1.0
            Dispersion.

        Returns
        -------
        d3 : ndarray of shape (n_samples,)
            ``d³ℓ/dη³``.
        """
        mu = self.mean(eta)
        m1, m2 = self.link.inverse_derivatives(eta)
        m3 = self.link.inverse_third_derivative(eta)
        l1, l2 = self._mu_derivatives(y, mu, phi)
        l3 = self._mu_third_derivative(y, mu, phi)
        return l3 * m1**3 + 3.0 * l2 * m1 * m2 + l1 * m3

    def dispersion_third_derivatives(self, y, eta, phi):
        """Third derivatives of the per-sample NLL involving the dispersion.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Responses.
        eta : ndarray of shape (n_samples,)
            Linear predictor.
        phi : float
            Dispersion.

        Returns
        -------
        l_eep, l_epp, l_ppp : ndarray of shape (n_samples,)
            ``∂³ℓ/∂η²∂φ``, ``∂³ℓ/∂η∂φ²`` and ``∂³ℓ/∂φ³``.
        """
        raise TypeError(f"The {self.name} family has no dispersion parameter.")

    def dispersion_derivatives(self, y, eta, phi):
        """Derivatives of the per-sample NLL involving the dispersion.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Responses.
        eta : ndarray of shape (n_samples,)
            Linear predictor.
        phi : float
            Dispersion.

        Returns
        -------
        l_phi, l_phiphi, l_etaphi : ndarray of shape (n_samples,)
            ``dℓ/dφ``, ``d²ℓ/dφ²`` and ``d²ℓ/dηdφ``.
        """
        raise TypeError(f"The {self.name} family has no dispersion parameter.")

    def ml_dispersion(self, y, eta, weights):
        """Maximum-likelihood dispersion given the linear predictor.

        Parameters
        ----------
        y, eta, weights : ndarray of shape (n_samples,)
            Responses, linear predictor and sample weights.

        Returns
        -------
        phi : float
        """
        raise TypeError(f"The {self.name} family has no dispersion parameter.")


def _validated_phi(phi):
    phi = float(phi)
    if not (np.isfinite(phi) and phi > 0):
        raise ValueError(f"The dispersion must be a positive finite number, got {phi}.")
    return phi


def _check_positive_mean(family, mu):
    bad = int(np.sum(mu <= 0))
    if not bad:
        return
    if family.link.name == "log":  # exp(η) = 0: the fit ran off towards μ = 0
        raise ValueError(
            f"The fitted mean of the {family.name} family underflows to 0 for {bad} "
            "sample(s) (log link, linear predictor below -745): the fit diverged "
            "towards mu = 0, as it does when y is 0 on every row, or on every row "
            "of a category, where the maximum-likelihood estimate does not exist. "
            "Check y, or drop the columns that single out the rows with y = 0."
        )
    raise ValueError(
        f"The fitted mean of the {family.name} family with the "
        f"{family.link.name} link is not positive for {bad} sample(s); the "
        "likelihood is undefined there. Use the log link or refit."
    )
