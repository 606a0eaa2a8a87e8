"""Per-row models: each row's loss as a function of a few local parameters.

Leave-one-out approximations (:func:`ticselect.approximate_loo`) need, for every row
``i``, more than its gradient: the loss ``ℓᵢ`` depends on ``θ`` only through a small
vector of **local parameters** ``uᵢ = uᵢ(θ)`` (``K'`` numbers), and the one-step
leave-one-out update works in that space.  A row model holds

- ``uᵢ``: the ``K`` outputs of the linear predictor (GLM: ``η``; network: the output
  pre-activations ``z``), followed by the dispersion when it is a parameter;
- ``Jᵢ = ∂uᵢ/∂θ``, shape ``(K', n_params)`` in the parameter layout of the
  :class:`~ticselect.Curvature` (for a GLM it is ``x̃ᵢ ⊗ I_K`` plus the dispersion
  entry and is built one block of rows at a time; never ``n × K' × n_params`` at once);
- ``ℓ'ᵢ = ∂ℓᵢ/∂uᵢ`` and ``Λᵢ = ∂²ℓᵢ/∂uᵢ²`` (observed, all constants included);
- an evaluator ``ℓᵢ(u)`` at any local parameters (the leave-one-out NLL).

For a GLM ``u`` is linear in ``θ``, so ``Jᵢᵀ Λᵢ Jᵢ`` is exactly row ``i``'s Hessian and
``Σᵢ wᵢ Jᵢᵀ Λᵢ Jᵢ = H``.  For a network it is the Gauss–Newton part of the row's
Hessian.  Conventions: :mod:`ticselect.curvature._result`.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from ._families import _DevianceDispersionFamily
from ._glm import _linear_predictor, glm_curvature, kept_params
from ._mlp import forward, output_jacobian, output_loss

__all__ = ["GLMRows", "MLPRows", "attach_rows"]

#: Floats per block of dense Jacobians (2**22 = 32 MiB).
_BLOCK_FLOATS = 2**22


class _Rows:
    """Common interface: ``blocks()`` yields ``(slice, u, J, d1, d2)`` per row block."""

    #: number of local parameters ``K'``
    n_local = 0
    #: number of parameters of the curvature
    n_params = 0

    def rows_per_block(self):
        return max(1, _BLOCK_FLOATS // max(1, self.n_local * self.n_params))

    def blocks(self):
        n = self.n_rows
        step = self.rows_per_block()
        for start in range(0, n, step):
            sl = slice(start, min(n, start + step))
            yield (sl, *self.local(sl))


class GLMRows(_Rows):
    """Per-row model of a GLM (see the module docstring).

    Parameters
    ----------
    spec : GLMSpec
        The fitted model and its data.
    phi : float or None
        Dispersion at the fit.
    phi_is_param : bool
        Whether ``φ`` is a parameter (last entry of ``θ``).
    n_params : int
        Length of ``θ`` in the curvature (after dropping reference classes).
    """

    def __init__(self, spec, phi, phi_is_param, n_params):
        self.spec = spec
        self.phi = phi
        self.phi_is_param = bool(phi_is_param)
        self.multi = spec.family.name == "multinomial"
        m = spec.coef.shape[0]
        self.m = m
        self.pt = spec.X.shape[1] + int(spec.intercept is not None)
        self.n_local = m + int(self.phi_is_param)
        self.n_params = int(n_params)
        self.n_rows = spec.X.shape[0]
        self.weights = np.asarray(spec.sample_weight, dtype=float)
        self.keep = kept_params(spec, self.phi_is_param)
        self._eta = _linear_predictor(spec)  # (n, m)

    def local(self, sl):
        """Local parameters, Jacobians and derivatives of the rows ``sl``.

        Returns
        -------
        u : ndarray of shape (b, K')
        J : ndarray of shape (b, K', n_params)
        d1 : ndarray of shape (b, K')
        d2 : ndarray of shape (b, K', K')
        """
        spec, m, pt = self.spec, self.m, self.pt
        u, d1, d2 = self.derivatives(sl)
        Xb = spec.X[sl]
        Xb = Xb.toarray() if hasattr(Xb, "toarray") else np.asarray(Xb, dtype=float)
        b = Xb.shape[0]
        full = m * pt + int(self.phi_is_param)
        J = np.zeros((b, self.n_local, full))
        xt = Xb if spec.intercept is None else np.column_stack([Xb, np.ones(b)])
        for k in range(m):
            J[:, k, k * pt : (k + 1) * pt] = xt
        if self.phi_is_param:
            J[:, m, -1] = 1.0
        if self.keep is not None:
            J = J[:, :, self.keep]
        return u, J, d1, d2

    def derivatives(self, sl):
        """Local parameters and derivatives of the rows ``sl`` (no Jacobian).

        Parameters
        ----------
        sl : slice or ndarray of int
            Rows.

        Returns
        -------
        u : ndarray of shape (b, K')
        d1 : ndarray of shape (b, K')
        d2 : ndarray of shape (b, K', K')
        """
        spec, fam, m = self.spec, _rows_family(self.spec.family, sl), self.m
        eta = self._eta[sl]
        b = eta.shape[0]
        phi = 1.0 if self.phi is None else self.phi
        y = spec.y[sl]
        e = eta if self.multi else eta[:, 0]
        g1, g2 = fam.eta_derivatives(y, e, phi)
        Kp = self.n_local
        d1 = np.zeros((b, Kp))
        d2 = np.zeros((b, Kp, Kp))
        d1[:, :m] = g1.reshape(b, m)
        d2[:, :m, :m] = g2.reshape(b, m, m)
        u = eta.copy()
        if self.phi_is_param:
            lphi, lphiphi, letaphi = fam.dispersion_derivatives(y, e, phi)
            d1[:, m] = lphi
            d2[:, m, m] = lphiphi
            d2[:, 0, m] = d2[:, m, 0] = letaphi
            u = np.column_stack([u, np.full(b, phi)])
        return u, d1, d2

    def jacobian_norms(self, scale=None):
        """``‖Jᵢ D‖_F²`` of every row, without forming the Jacobians (``O(n·p)``).

        Parameters
        ----------
        scale : ndarray of shape (n_params,) or None, default=None
            The diagonal of ``D`` (parameter layout of the curvature); ``None`` is
            the identity.

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        X = self.spec.X
        full = self.m * self.pt + int(self.phi_is_param)
        s2 = np.ones(full)
        if scale is not None:
            s2 = np.zeros(full)  # dropped reference classes are not in J
            s2[self.keep if self.keep is not None else slice(None)] = scale**2
        p = X.shape[1]
        sparse = hasattr(X, "multiply")
        X2 = X.multiply(X).tocsr() if sparse else np.square(np.asarray(X, float))
        out = np.zeros(X.shape[0])
        for k in range(self.m):
            block = s2[k * self.pt : (k + 1) * self.pt]
            out += np.asarray(X2 @ block[:p], dtype=float).ravel()
            if self.spec.intercept is not None:
                out += block[p]
        return out + (s2[-1] if self.phi_is_param else 0.0)

    def _spec_at(self, theta, weights):
        spec, m, pt = self.spec, self.m, self.pt
        full = np.asarray(theta, dtype=float)
        if self.keep is not None:
            full = np.zeros(m * pt + int(self.phi_is_param))
            full[self.keep] = theta
        coefs = full[: m * pt].reshape(m, pt)
        p = spec.X.shape[1]
        new = replace(
            spec,
            coef=coefs[:, :p],
            intercept=coefs[:, p] if spec.intercept is not None else None,
            sample_weight=weights,
        )
        return new, (full[-1] if self.phi_is_param else self.phi)

    def leave_out(self, i, theta, penalty, l1=None):
        """Value, gradient and Hessian of the penalised loss without row ``i``.

        ``F₋ᵢ(θ) = Σ_{j≠i} wⱼℓⱼ(θ) + ½ θᵀ diag(penalty) θ + Σⱼ l1ⱼ|θⱼ|`` with the
        penalty held fixed (as in :func:`ticselect.approximate_loo`).  One pass over
        the data (``O(n·d²)``).

        Parameters
        ----------
        i : int or ndarray of int
            Row (or rows: a group) left out.
        theta : ndarray of shape (n_params,)
            Parameters.
        penalty : ndarray of shape (n_params,)
            Diagonal of the penalty in loss units.
        l1 : ndarray of shape (n_params,) or None, default=None
            L1 strengths in loss units (``|Curvature.penalty_linear|``; its Hessian
            is 0 away from ``θⱼ = 0``).

        Returns
        -------
        value : float
            ``inf`` outside the parameter space.
        gradient : ndarray of shape (n_params,) or None
        hessian : ndarray of shape (n_params, n_params) or None
        """
        w = self.weights.copy()
        w[i] = 0.0
        new, phi = self._spec_at(theta, w)
        if phi is not None and not phi > 0:
            return np.inf, None, None
        try:
            with np.errstate(all="ignore"):
                c = glm_curvature(
                    new, dispersion=phi, _dispersion_is_param=self.phi_is_param
                )
        except ValueError:  # outside the mean space: the likelihood is zero
            return np.inf, None, None
        theta = np.asarray(theta, dtype=float)
        value = c.nll + 0.5 * float(np.sum(penalty * theta**2))
        grad = c.gradient - c.penalty * theta - c.penalty_linear + penalty * theta
        if l1 is not None:
            value += float(np.sum(l1 * np.abs(theta)))
            grad = grad + l1 * np.sign(theta)
        if not (np.isfinite(value) and np.all(np.isfinite(c.hessian))):
            return np.inf, None, None
        return value, grad, c.hessian + np.diag(penalty)

    def row_nll(self, i, theta):
        """Unweighted ``ℓᵢ(θ)`` of row ``i`` at any parameters, float."""
        new, phi = self._spec_at(theta, self.weights)
        sl = slice(i, i + 1)
        eta = _linear_predictor(replace(new, X=new.X[sl], offset=None if new.offset
                                        is None else new.offset[sl]))  # fmt: skip
        u = eta if not self.phi_is_param else np.column_stack([eta, [[phi]]])
        return float(self.nll(sl, u)[0])

    def derivatives_at(self, idx, u):
        """``ℓ'ᵢ`` and ``Λᵢ`` of the rows ``idx`` at any local parameters ``u``.

        Parameters
        ----------
        idx : ndarray of int of shape (b,)
            Rows.
        u : ndarray of shape (b, K')
            Local parameters (finite ``ℓᵢ``, dispersion > 0).

        Returns
        -------
        d1 : ndarray of shape (b, K')
        d2 : ndarray of shape (b, K', K')
        """
        fam, m = self.spec.family, self.m
        y = self.spec.y[idx]
        b, Kp = u.shape
        d1 = np.zeros((b, Kp))
        d2 = np.zeros((b, Kp, Kp))
        if not self.phi_is_param:
            e = u[:, :m] if self.multi else u[:, 0]
            phi = 1.0 if self.phi is None else self.phi
            with np.errstate(all="ignore"):
                g1, g2 = fam.eta_derivatives(y, e, phi)
            d1[:, :m] = np.reshape(g1, (b, m))
            d2[:, :m, :m] = np.reshape(g2, (b, m, m))
            return d1, d2
        if isinstance(fam, _DevianceDispersionFamily):  # vectorised over φ
            e, phi = u[:, 0], u[:, m]
            with np.errstate(all="ignore"):
                mu = fam.mean(e)
                d, dd1, dd2 = fam._unit_deviance(y, mu)
                m1, m2 = fam.link.inverse_derivatives(e)
                l1, l2 = dd1 / (2.0 * phi), dd2 / (2.0 * phi)
                d1[:, 0], d1[:, 1] = l1 * m1, 0.5 / phi - d / (2.0 * phi**2)
                d2[:, 0, 0] = l2 * m1**2 + l1 * m2
                d2[:, 1, 1] = -0.5 / phi**2 + d / phi**3
                d2[:, 0, 1] = d2[:, 1, 0] = -dd1 * m1 / (2.0 * phi**2)
            return d1, d2
        for phi in np.unique(u[:, m]):  # the families take a scalar φ
            r = np.flatnonzero(u[:, m] == phi)
            e = u[r, 0]
            with np.errstate(all="ignore"):
                g1, g2 = fam.eta_derivatives(y[r], e, float(phi))
                lp, lpp, lep = fam.dispersion_derivatives(y[r], e, float(phi))
            d1[r, 0], d1[r, 1] = g1, lp
            d2[r, 0, 0], d2[r, 1, 1] = g2, lpp
            d2[r, 0, 1] = d2[r, 1, 0] = lep
        return d1, d2

    def nll(self, sl, u):
        """Unweighted ``ℓᵢ(u)`` of the rows ``sl``, ``inf`` outside the mean space.

        Parameters
        ----------
        sl : slice
            Rows.
        u : ndarray of shape (b, K')
            Local parameters.

        Returns
        -------
        ndarray of shape (b,)
        """
        fam, m = self.spec.family, self.m
        eta = u[:, :m] if self.multi else u[:, 0]
        phi = u[:, m] if self.phi_is_param else (1.0 if self.phi is None else self.phi)
        with np.errstate(all="ignore"):
            out = _family_nll(fam, self.spec.y[sl], eta, phi)
            mu = fam.mean(eta)
            bad = ~np.isfinite(out)
            try:
                fam.check_mu(mu)
            except ValueError:
                bad |= ~_in_mean_space(fam, mu)
        if self.phi_is_param:
            bad |= ~(phi > 0)
        return np.where(bad, np.inf, out)


def _rows_family(fam, sl):
    """The family of the rows ``sl``: per-row binomial trial counts sliced with them."""
    trials = getattr(fam, "n_trials", None)
    if trials is None or np.ndim(trials) == 0:
        return fam
    sub = copy.copy(fam)
    sub.n_trials = np.asarray(trials)[sl]
    return sub


def _family_nll(fam, y, eta, phi):
    """``fam.nll`` with a per-row dispersion (families that take a scalar φ loop)."""
    if np.ndim(phi) == 0:
        return np.asarray(fam.nll(y, eta, phi), dtype=float)
    try:
        return np.asarray(fam.nll(y, eta, phi), dtype=float)
    except (TypeError, ValueError):
        out = np.full(len(y), np.inf)
        for i in np.flatnonzero(phi > 0):
            out[i] = fam.nll(y[i : i + 1], eta[i : i + 1], float(phi[i]))[0]
        return out


def _in_mean_space(fam, mu):
    """Per-row version of ``fam.check_mu`` (which raises for the whole array)."""
    ok = np.isfinite(mu)
    if mu.ndim > 1:
        return ok.all(axis=1)
    out = np.zeros(mu.shape, dtype=bool)
    for i in np.flatnonzero(ok):
        try:
            fam.check_mu(mu[i : i + 1])
            out[i] = True
        except ValueError:
            pass
    return out


class MLPRows(_Rows):
    """Per-row model of a network: outputs ``z`` (and ``σ²``) as local parameters.

    ``Λᵢ`` is the Hessian of ``ℓᵢ`` in the outputs, so ``Jᵢᵀ Λᵢ Jᵢ`` is the
    Gauss–Newton part of row ``i``'s Hessian.

    Parameters
    ----------
    spec : MLPSpec
        The fitted network and its data.
    """

    def __init__(self, spec):
        self.spec = spec
        self.K = spec.Y.shape[1]
        self.s2_is_param = bool(spec.sigma2_is_param)
        self.n_local = self.K + int(self.s2_is_param)
        self.n_params = spec.n_params
        self.n_rows = spec.X.shape[0]
        self.weights = np.asarray(spec.sample_weight, dtype=float)

    def _sub(self, sl):
        s = self.spec
        return replace(s, X=s.X[sl], Y=s.Y[sl], sample_weight=s.sample_weight[sl])

    def local(self, sl):
        """Outputs, output Jacobians and loss derivatives of the rows ``sl``.

        Returns
        -------
        u : ndarray of shape (b, K')
        J : ndarray of shape (b, K', n_params)
        d1 : ndarray of shape (b, K')
        d2 : ndarray of shape (b, K', K')
        """
        sub = self._sub(sl)
        z = forward(sub)[1][-1]
        _, r, lam = output_loss(sub.output, z, sub.Y, sub.sigma2)
        Jz = output_jacobian(sub)
        b, K = z.shape
        if not self.s2_is_param:
            return z, Jz, r, np.array(lam)
        s2 = sub.sigma2
        Kp = K + 1
        J = np.zeros((b, Kp, self.n_params))
        J[:, :K, :-1] = Jz
        J[:, K, -1] = 1.0
        res = z - sub.Y
        rss = np.sum(res**2, axis=1)
        d1 = np.column_stack([r, K / (2 * s2) - rss / (2 * s2**2)])
        d2 = np.zeros((b, Kp, Kp))
        d2[:, :K, :K] = lam
        d2[:, :K, K] = d2[:, K, :K] = -res / s2**2
        d2[:, K, K] = -K / (2 * s2**2) + rss / s2**3
        return np.column_stack([z, np.full(b, s2)]), J, d1, d2

    def nll(self, sl, u):
        """Unweighted ``ℓᵢ(u)`` of the rows ``sl`` at outputs ``u`` (``inf`` if σ² ≤ 0).

        Parameters
        ----------
        sl : slice
            Rows.
        u : ndarray of shape (b, K')
            Local parameters.

        Returns
        -------
        ndarray of shape (b,)
        """
        Y = self.spec.Y[sl]
        z = u[:, : self.K]
        s2 = u[:, self.K] if self.s2_is_param else self.spec.sigma2
        with np.errstate(all="ignore"):
            if self.s2_is_param:  # identity output, one σ² per row here
                rss = np.sum((Y - z) ** 2, axis=1)
                out = 0.5 * self.K * np.log(2 * np.pi * s2) + rss / (2 * s2)
            else:
                out = output_loss(self.spec.output, z, Y, s2)[0]
        if self.s2_is_param:
            out = np.where(s2 > 0, out, np.inf)
        return np.where(np.isfinite(out), out, np.inf)


def attach_rows(curv, rows):
    """Attach a per-row model to a curvature (``curv.rows``) and return the curvature.

    Parameters
    ----------
    curv : Curvature
    rows : GLMRows or MLPRows

    Returns
    -------
    Curvature
    """
    if rows.n_params != curv.n_params:  # pragma: no cover - internal consistency
        raise ValueError("per-row model and curvature disagree on n_params")
    curv.rows = rows
    return curv
