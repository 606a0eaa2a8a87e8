"""Layer 1 — links ``eta = g(mu)`` of the exponential families, pointwise.

Each link is described through its inverse ``mu = g⁻¹(eta)`` and the first three
derivatives of that inverse in ``eta``: the first two give the observed information
(:meth:`ticselect.curvature._families.Family.eta_derivatives`), the third the
derivative of the information along a change of the fit, which the implicit
derivatives of the criteria in the penalty need
(:mod:`ticselect.selection._tuning_grad`).  The families that use them live in
:mod:`ticselect.curvature._families`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from scipy import special

__all__ = ["LINKS", "Link"]


class Link(ABC):
    """A link ``eta = g(mu)``, described through its inverse.

    Subclasses implement :meth:`inverse`, :meth:`inverse_derivatives`
    (``dmu/deta`` and ``d²mu/deta²``) and :meth:`inverse_third_derivative`
    pointwise.
    """

    name: str = "link"

    @abstractmethod
    def inverse(self, eta):
        """Return ``mu = g⁻¹(eta)``."""

    @abstractmethod
    def inverse_derivatives(self, eta):
        """Return ``(dmu/deta, d²mu/deta²)`` evaluated at ``eta``."""

    @abstractmethod
    def inverse_third_derivative(self, eta):
        """Return ``d³mu/deta³`` evaluated at ``eta``."""

    def __repr__(self):
        return f"{type(self).__name__}()"


class IdentityLink(Link):
    """``eta = mu``."""

    name = "identity"

    def inverse(self, eta):  # noqa: D102
        return eta

    def inverse_derivatives(self, eta):  # noqa: D102
        return np.ones_like(eta), np.zeros_like(eta)

    def inverse_third_derivative(self, eta):  # noqa: D102
        return np.zeros_like(eta)


class LogLink(Link):
    """``eta = log(mu)``."""

    name = "log"

    def inverse(self, eta):  # noqa: D102
        return np.exp(eta)

    def inverse_derivatives(self, eta):  # noqa: D102
        mu = np.exp(eta)
        return mu, mu

    def inverse_third_derivative(self, eta):  # noqa: D102
        return np.exp(eta)


class LogitLink(Link):
    """``eta = log(mu / (1 - mu))``."""

    name = "logit"

    def inverse(self, eta):  # noqa: D102
        return special.expit(eta)

    def inverse_derivatives(self, eta):  # noqa: D102
        mu = special.expit(eta)
        d1 = mu * (1.0 - mu)
        return d1, d1 * (1.0 - 2.0 * mu)

    def inverse_third_derivative(self, eta):  # noqa: D102
        # mu''' = mu'(1 - 6 mu(1 - mu)), from mu'' = mu'(1 - 2mu)
        mu = special.expit(eta)
        d1 = mu * (1.0 - mu)
        return d1 * (1.0 - 6.0 * d1)


class ProbitLink(Link):
    """``eta = Phi⁻¹(mu)`` with ``Phi`` the standard normal CDF."""

    name = "probit"

    def inverse(self, eta):  # noqa: D102
        return special.ndtr(eta)

    def inverse_derivatives(self, eta):  # noqa: D102
        pdf = np.exp(-0.5 * eta**2) / np.sqrt(2.0 * np.pi)
        return pdf, -eta * pdf

    def inverse_third_derivative(self, eta):  # noqa: D102
        pdf = np.exp(-0.5 * eta**2) / np.sqrt(2.0 * np.pi)
        return (eta**2 - 1.0) * pdf


class CLogLogLink(Link):
    """``eta = log(-log(1 - mu))``."""

    name = "cloglog"

    def inverse(self, eta):  # noqa: D102
        return -np.expm1(-np.exp(eta))

    def inverse_derivatives(self, eta):  # noqa: D102
        t = np.exp(eta)
        d1 = t * np.exp(-t)
        return d1, d1 * (1.0 - t)

    def inverse_third_derivative(self, eta):  # noqa: D102
        # mu' = t e^-t (t = e^eta); each eta-derivative multiplies by (1 - t), then
        # the derivative of (1 - t) adds -t mu'
        t = np.exp(eta)
        d1 = t * np.exp(-t)
        return d1 * ((1.0 - t) ** 2 - t)


class InverseLink(Link):
    """``eta = 1 / mu``."""

    name = "inverse"

    def inverse(self, eta):  # noqa: D102
        return 1.0 / eta

    def inverse_derivatives(self, eta):  # noqa: D102
        return -1.0 / eta**2, 2.0 / eta**3

    def inverse_third_derivative(self, eta):  # noqa: D102
        return -6.0 / eta**4


class InverseSquaredLink(Link):
    """``eta = 1 / mu²``."""

    name = "inverse_squared"

    def inverse(self, eta):  # noqa: D102
        return eta**-0.5

    def inverse_derivatives(self, eta):  # noqa: D102
        return -0.5 * eta**-1.5, 0.75 * eta**-2.5

    def inverse_third_derivative(self, eta):  # noqa: D102
        return -1.875 * eta**-3.5


class SqrtLink(Link):
    """``eta = sqrt(mu)``."""

    name = "sqrt"

    def inverse(self, eta):  # noqa: D102
        return eta**2

    def inverse_derivatives(self, eta):  # noqa: D102
        return 2.0 * eta, np.full_like(eta, 2.0)

    def inverse_third_derivative(self, eta):  # noqa: D102
        return np.zeros_like(eta)


class SoftmaxLink(Link):
    """Multinomial logit: ``mu_k = exp(eta_k) / sum_j exp(eta_j)``."""

    name = "softmax"

    def inverse(self, eta):  # noqa: D102
        return special.softmax(eta, axis=-1)

    def inverse_derivatives(self, eta):  # noqa: D102
        raise NotImplementedError("the softmax family uses its closed form")

    def inverse_third_derivative(self, eta):  # noqa: D102
        raise NotImplementedError("the softmax family uses its closed form")


LINKS = {
    cls.name: cls
    for cls in (
        IdentityLink,
        LogLink,
        LogitLink,
        ProbitLink,
        CLogLogLink,
        InverseLink,
        InverseSquaredLink,
        SqrtLink,
        SoftmaxLink,
    )
}
