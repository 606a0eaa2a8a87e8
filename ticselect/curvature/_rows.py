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

import time
import warnings
from dataclasses import replace

import numpy as np

from ._families import _DevianceDispersionFamily
from ._glm import _linear_predictor, glm_curvature, kept_params
from ._mlp import forward, output_jacobian, output_loss
from ._numdiff import gradient_differences

__all__ = ["GLMRows", "LikelihoodRows", "MLPRows", "attach_rows"]

#: Floats per block of dense Jacobians (2**22 = 32 MiB).
_BLOCK_FLOATS = 2**22
#: Floats of a block that stays in cache while it is squared and summed (1 MiB).
_CACHE_FLOATS = 2**17


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
    eta : ndarray of shape (n, m) or None, default=None
        The linear predictors at the fit when already computed.
    derivs : tuple of ndarray or None, default=None
        ``(d1, d2)`` of shapes ``(n, m)`` and ``(n, m, m)``: the derivatives of
        ``ℓᵢ`` in ``η`` at the fit when already computed (with ``eta``).
    row_norms : ndarray of shape (n,) or None, default=None
        ``‖xᵢ‖²`` when already computed (:meth:`jacobian_norms` bounds from it).
    refit_dispersion : bool, default=False
        ``φ`` is fixed in the curvature (not a parameter) but refitting the model
        estimates it, as statsmodels' OLS/WLS do (``σ̂² = SSR/n``): the exact
        leave-one-out of :mod:`ticselect.selection._loo_gaussian` then re-estimates
        it on the remaining rows.
    nll_offset : ndarray of shape (n_rows,) or None, default=None
        A constant added to each row's NLL (WLS: ``-½ log wᵢ``, the Jacobian of
        the whitening in statsmodels' ``llf``).
    """

    def __init__(
        self, spec, phi, phi_is_param, n_params, eta=None, derivs=None,
        row_norms=None, *, refit_dispersion=False, nll_offset=None,
    ):  # fmt: skip
        self.spec = spec
        self.phi = phi
        self.phi_is_param = bool(phi_is_param)
        self.refit_dispersion = bool(refit_dispersion)
        self.nll_offset = None if nll_offset is None else np.asarray(nll_offset, float)
        self.multi = spec.family.name == "multinomial"
        m = spec.coef.shape[0]
        self.m = m
        self.pt = spec.X.shape[1] + int(spec.intercept is not None)
        self.n_local = m + int(self.phi_is_param)
        self.n_params = int(n_params)
        self.n_rows = spec.X.shape[0]
        self.weights = np.asarray(spec.sample_weight, dtype=float)
        self.keep = kept_params(spec, self.phi_is_param)
        self._eta = _linear_predictor(spec) if eta is None else eta  # (n, m)
        self._derivs = derivs if eta is not None else None
        self._row_norms = row_norms

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

    def scalar_curvature(self):
        """``ℓ''ᵢ`` of every row at the fit, or ``None``.

        Available when each row has one local parameter (one linear predictor, no
        dispersion parameter) and the fit's derivatives were kept: then it is
        ``derivatives(sl)[2][:, 0, 0]`` for all rows, without the per-block arrays.

        Returns
        -------
        ndarray of shape (n_rows,) or None
        """
        if self._derivs is None or self.n_local != 1:
            return None
        return self._derivs[1].reshape(self.n_rows)

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
        spec, fam, m = self.spec, self.spec.family.rows(sl), self.m
        eta = self._eta[sl]
        b = eta.shape[0]
        phi = 1.0 if self.phi is None else self.phi
        y = spec.y[sl]
        e = eta if self.multi else eta[:, 0]
        if self._derivs is None:
            g1, g2 = fam.eta_derivatives(y, e, phi)
        else:  # the fit's, computed with the curvature
            g1, g2 = self._derivs[0][sl], self._derivs[1][sl]
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

    def jacobian_norms(self, scale=None, bound=False):
        """``‖Jᵢ D‖_F²`` of every row, without forming the Jacobians (``O(n·p)``).

        Parameters
        ----------
        scale : ndarray of shape (n_params,) or None, default=None
            The diagonal of ``D`` (parameter layout of the curvature); ``None`` is
            the identity.
        bound : bool, default=False
            Return the upper bound ``‖xᵢ‖² maxⱼ Σₖ dₖⱼ² + (the intercepts' and the
            dispersion's entries)`` from the row norms the curvature kept (no pass
            over ``X``); ``None`` when it kept none.

        Returns
        -------
        ndarray of shape (n_rows,) or None
        """
        if bound and self._row_norms is None:
            return None
        X = self.spec.X
        full = self.m * self.pt + int(self.phi_is_param)
        s2 = np.ones(full)
        if scale is not None:
            s2 = np.zeros(full)  # dropped reference classes are not in J
            s2[self.keep if self.keep is not None else slice(None)] = scale**2
        p = X.shape[1]
        # Σₖ ‖xᵢ ⊙ sₖ‖² = xᵢ² · Σₖ sₖ² (the predictors share the row), plus the
        # intercepts' and the dispersion's entries
        per_col = np.zeros(p)
        const = s2[-1] if self.phi_is_param else 0.0
        for k in range(self.m):
            block = s2[k * self.pt : (k + 1) * self.pt]
            per_col += block[:p]
            if self.spec.intercept is not None:
                const += block[p]
        if bound:
            return self._row_norms * per_col.max(initial=0.0) + const
        if hasattr(X, "multiply"):
            out = np.asarray(X.multiply(X).tocsr() @ per_col, dtype=float).ravel()
            return out + const
        out = np.empty(X.shape[0])
        step = max(1, _CACHE_FLOATS // max(1, p))
        buf = np.empty((min(step, X.shape[0]), p))
        for start in range(0, X.shape[0], step):  # cache-sized blocks, no n × p copy
            Xb = np.asarray(X[start : start + step], dtype=float)
            B = buf[: Xb.shape[0]]
            np.multiply(Xb, Xb, out=B)
            np.dot(B, per_col, out=out[start : start + Xb.shape[0]])
        return out + const

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

    def nll_and_gradient(self, idx, u):
        """``ℓᵢ(u)`` (``inf`` outside the mean space) and ``ℓ'ᵢ`` of the rows ``idx``.

        One softmax for a multinomial row (no ``K × K`` Hessian formed); other models
        call :meth:`nll` and :meth:`derivatives_at`.

        Returns
        -------
        nll : ndarray of shape (b,)
        d1 : ndarray of shape (b, K')
        """
        if not self.multi or self.phi_is_param or self.nll_offset is not None:
            return self.nll(idx, u), self.derivatives_at(idx, u)[0]
        Y = self.spec.family._onehot(self.spec.y[idx], u.shape[1])
        with np.errstate(all="ignore"):
            top = np.max(u, axis=1, keepdims=True)
            e = np.exp(u - top)
            total = np.sum(e, axis=1, keepdims=True)
            out = (top + np.log(total))[:, 0] - np.sum(Y * u, axis=1)
            d1 = e / total - Y
        return np.where(np.isfinite(out), out, np.inf), d1

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
        fam, m = self.spec.family.rows(idx), self.m
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
            if not (np.isfinite(phi) and phi > 0):  # outside the model (ℓ = inf)
                d1[r], d2[r] = np.nan, np.nan
                continue
            e = u[r, 0]
            with np.errstate(all="ignore"):
                g1, g2 = fam.eta_derivatives(y[r], e, float(phi))
                lp, lpp, lep = fam.dispersion_derivatives(y[r], e, float(phi))
            d1[r, 0], d1[r, 1] = g1, lp
            d2[r, 0, 0], d2[r, 1, 1] = g2, lpp
            d2[r, 0, 1] = d2[r, 1, 0] = lep
        return d1, d2

    def third_at(self, idx, u):
        """Third derivatives ``∂³ℓᵢ/∂uᵢ³`` of the rows ``idx`` at local parameters.

        Parameters
        ----------
        idx : slice or ndarray of int
            Rows (``b`` of them).
        u : ndarray of shape (b, K')
            Local parameters, one dispersion for all rows when it is a parameter
            (the fit's; :mod:`ticselect.selection._tuning_grad` needs no other).

        Returns
        -------
        ndarray of shape (b, K', K', K')
            Symmetric in its last three indices.
        """
        fam, m = self.spec.family, self.m
        y = self.spec.y[idx]
        b, Kp = u.shape
        T = np.zeros((b, Kp, Kp, Kp))
        e = u[:, :m] if self.multi else u[:, 0]
        phi = u[0, m] if self.phi_is_param else (1.0 if self.phi is None else self.phi)
        with np.errstate(all="ignore"):
            t3 = fam.eta_third_derivative(y, e, float(phi))
        if self.multi:
            T[:, :m, :m, :m] = t3
            return T
        T[:, 0, 0, 0] = t3
        if self.phi_is_param:
            with np.errstate(all="ignore"):
                eep, epp, ppp = fam.dispersion_third_derivatives(y, e, float(phi))
            T[:, 0, 0, 1] = T[:, 0, 1, 0] = T[:, 1, 0, 0] = eep
            T[:, 0, 1, 1] = T[:, 1, 0, 1] = T[:, 1, 1, 0] = epp
            T[:, 1, 1, 1] = ppp
        return T

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
        fam, m = self.spec.family.rows(sl), self.m
        eta = u[:, :m] if self.multi else u[:, 0]
        phi = u[:, m] if self.phi_is_param else (1.0 if self.phi is None else self.phi)
        with np.errstate(all="ignore"):
            out = _family_nll(fam, self.spec.y[sl], eta, phi)
            bad = ~np.isfinite(out) | ~fam.in_mean_space(fam.mean(eta))
        if self.phi_is_param:
            bad |= ~(phi > 0)
        if self.nll_offset is not None:
            out = out + self.nll_offset[sl]
        return np.where(bad, np.inf, out)


def _family_nll(fam, y, eta, phi):
    """``fam.nll`` with a per-row dispersion (families that take a scalar φ loop)."""
    if np.ndim(phi) == 0:
        return np.asarray(fam.nll(y, eta, phi), dtype=float)
    try:
        return np.asarray(fam.nll(y, eta, phi), dtype=float)
    except (TypeError, ValueError):
        out = np.full(len(y), np.inf)
        for i in np.flatnonzero(phi > 0):
            one = fam.rows(slice(i, i + 1))
            out[i] = one.nll(y[i : i + 1], eta[i : i + 1], float(phi[i]))[0]
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


#: Relative step of the second differences of ``loglikeobs`` (``eps^(1/4)``, where
#: the truncation and rounding errors balance; first differences of ``score_obs``:
#: :mod:`ticselect.curvature._numdiff`).
_FD2_STEP = np.finfo(float).eps ** 0.25
#: Largest ``n·d²`` (floats) of per-row Hessians held for a likelihood model (1 GiB).
MAX_ROW_HESSIAN_FLOATS = 2**27
#: Row evaluations (rows × full ``loglikeobs`` calls) spent on exact one-step values.
EXACT_ROW_EVALS = 2**21
#: Estimated remainder (nats) of a row's second-order expansion above which its
#: one-step value is evaluated exactly (see :meth:`LikelihoodRows.nll`).
TAYLOR_TOL = 1e-5


class LikelihoodRows(_Rows):
    """Per-row model of a likelihood given row by row (statsmodels' ``loglikeobs``).

    Nothing is known of how ``ℓᵢ`` depends on ``θ``, so the local parameters are
    ``θ`` itself (``Jᵢ = I``, ``K' = d``): ``ℓ'ᵢ = gᵢ`` (``-score_obs``) and ``Λᵢ =
    ∇²ℓᵢ``, the row's own Hessian, by central differences, of the model's
    ``score_obs`` (``2d`` calls) or of its ``loglikeobs`` (``2d² + 1`` calls),
    whichever one call of each says is faster (statsmodels' ``NegativeBinomial``
    computes ``score_obs`` by complex steps); their sum is checked against
    ``-hessian``.

    statsmodels evaluates ``loglikeobs`` for every row at one ``θ``, so ``ℓᵢ`` at
    the row's own leave-one-out ``θ₋ᵢ`` costs a pass over the data.  :meth:`nll`
    takes it from the second-order expansion ``ℓᵢ + a + b``, ``a = gᵢᵀδ``, ``b =
    ½δᵀΛᵢδ`` (``δ = θ₋ᵢ − θ̂``), and evaluates exactly the rows whose next term,
    estimated as ``b² / max(|a|, |b|)`` (the terms shrinking geometrically), exceeds
    :data:`TAYLOR_TOL` nats, largest first, within :data:`EXACT_ROW_EVALS` row
    evaluations (``2**21 / n`` rows).  The expansion is poor for steps that change
    an extra parameter such as the negative-binomial ``alpha``: on 300 RAND HIE
    rows it alone put the summed one-step NLL 1.8 nats low, one row 1.6 nats; the
    rule evaluates 51 rows there and leaves 1e-4 nats in all.  For large ``n`` the
    steps are ``O(1/n)``: on the 20 190 rows, 3 rows, and 5e-5 nats left.

    Parameters
    ----------
    params : ndarray of shape (d,)
        ``θ̂``.
    nll : ndarray of shape (n,)
        ``ℓᵢ(θ̂)``.
    grads : ndarray of shape (n, d)
        ``gᵢ``.
    loglikeobs, score_obs, hessian : callable
        The model's functions of ``θ`` (log-likelihood per row, its gradient per row
        and the Hessian of the sum).
    """

    def __init__(self, params, nll, grads, loglikeobs, score_obs, hessian):
        self.theta = np.asarray(params, dtype=float)
        self.n_params = self.n_local = self.theta.shape[0]
        self._nll = np.asarray(nll, dtype=float)
        self._grads = np.asarray(grads, dtype=float)
        self.n_rows = self._nll.shape[0]
        self.weights = np.ones(self.n_rows)
        self._loglikeobs, self._score_obs, self._hessian = (
            loglikeobs, score_obs, hessian,
        )  # fmt: skip
        self._row_hessians = None
        self._scheme = None

    def _call(self, fn, theta):
        with np.errstate(all="ignore"):
            return np.asarray(fn(theta), dtype=float)

    def _choose_scheme(self):
        """``"score"`` or ``"loglike"``: the cheaper differences (one call of each)."""
        if self._scheme is None:
            d = self.n_params
            cost = {}
            for name, fn in (("score", self._score_obs), ("loglike", self._loglikeobs)):
                best = np.inf
                for _ in range(2):  # the first call may pay for caches
                    t0 = time.perf_counter()
                    self._call(fn, self.theta)
                    best = min(best, time.perf_counter() - t0)
                cost[name] = best * (2 * d if name == "score" else 2 * d * d + 1)
            # the many loglikeobs calls cost more in the loop than one warm call
            cheap = cost["score"] <= 2 * cost["loglike"]
            self._scheme = "score" if cheap else "loglike"
        return self._scheme

    def row_hessians(self, theta=None, rows=None):
        """Per-row Hessians ``∇²ℓᵢ(θ)`` by central differences (class docstring).

        Parameters
        ----------
        theta : ndarray of shape (d,) or None, default=None
            Parameters (``θ̂`` when ``None``; then cached).
        rows : ndarray of int or None, default=None
            Rows kept (all when ``None``).

        Returns
        -------
        ndarray of shape (n_kept, d, d)

        Raises
        ------
        ValueError
            When ``n·d²`` exceeds :data:`MAX_ROW_HESSIAN_FLOATS`.
        """
        at_fit = theta is None and rows is None
        if at_fit and self._row_hessians is not None:
            return self._row_hessians
        d = self.n_params
        n_kept = self.n_rows if rows is None else len(rows)
        if n_kept * d * d > MAX_ROW_HESSIAN_FLOATS:
            raise ValueError(
                f"approximate_loo needs each row's {d} x {d} Hessian, "
                f"{n_kept * d * d * 8 / 2**30:.1f} GiB for {n_kept} rows; rank by TIC, "
                "or compute ALO on a subsample of the rows."
            )
        theta = self.theta if theta is None else np.asarray(theta, dtype=float)
        if self._choose_scheme() == "score":
            out = gradient_differences(
                lambda t: -self._call(self._score_obs, t), theta, rows
            )
        else:
            pick = slice(None) if rows is None else np.asarray(rows)
            out = self._loglike_differences(theta, pick, n_kept)
        if at_fit:
            self._check_sum(out)
            self._row_hessians = out
        return out

    def _loglike_differences(self, theta, pick, n_kept):
        d = self.n_params
        h = _FD2_STEP * np.maximum(1.0, np.abs(theta))
        steps = np.diag(h)

        def nll_at(delta):
            return -self._call(self._loglikeobs, theta + delta)[pick]

        center = nll_at(np.zeros(d))
        out = np.empty((n_kept, d, d))
        for j in range(d):
            out[:, j, j] = (nll_at(steps[j]) - 2.0 * center + nll_at(-steps[j])) / h[
                j
            ] ** 2
            for k in range(j):
                a, b = steps[j], steps[k]
                mixed = (
                    nll_at(a + b) - nll_at(a - b) - nll_at(b - a) + nll_at(-a - b)
                ) / (4.0 * h[j] * h[k])
                out[:, j, k] = out[:, k, j] = mixed
        return out

    def _check_sum(self, H_rows):
        H = -self._call(self._hessian, self.theta)
        err = np.linalg.norm(H_rows.sum(axis=0) - H) / max(np.linalg.norm(H), 1e-300)
        if not err <= 1e-4:
            warnings.warn(
                "approximate_loo: the per-row Hessians (central differences of the "
                f"model's likelihood) sum to its hessian() only to {err:.2g} "
                "relative; statsmodels probably differentiates this model "
                "numerically, and the leave-one-out values inherit that error.",
                UserWarning,
                stacklevel=4,
            )

    def local(self, sl):
        """Local parameters (``θ̂``), Jacobians (``I``) and derivatives of rows ``sl``.

        Returns
        -------
        u : ndarray of shape (b, d)
        J : ndarray of shape (b, d, d)
        d1 : ndarray of shape (b, d)
        d2 : ndarray of shape (b, d, d)
        """
        d2 = self.row_hessians()[sl]
        b, d = d2.shape[0], self.n_params
        J = np.broadcast_to(np.eye(d), (b, d, d))
        return np.tile(self.theta, (b, 1)), J, self._grads[sl], d2

    def nll(self, sl, u):
        """``ℓᵢ`` at ``θ = u``: expanded, exact where it moves (class docstring).

        Parameters
        ----------
        sl : slice or ndarray of int
            Rows.
        u : ndarray of shape (b, d)
            Parameters, one vector per row.

        Returns
        -------
        ndarray of shape (b,)
        """
        delta = u - self.theta
        H = self.row_hessians()[sl]
        lin = np.einsum("bi,bi->b", self._grads[sl], delta)
        quad = 0.5 * np.einsum("bi,bij,bj->b", delta, H, delta)
        out = self._nll[sl] + lin + quad
        rows = np.arange(self.n_rows)[sl]
        budget = EXACT_ROW_EVALS // max(1, self.n_rows)
        with np.errstate(all="ignore"):
            rest = quad**2 / np.maximum(np.abs(lin), np.abs(quad))  # the next term
        rest = np.nan_to_num(rest, nan=np.inf)
        big = np.flatnonzero(rest > TAYLOR_TOL)
        for j in big[np.argsort(-rest[big])][:budget]:
            out[j] = self.row_nll(rows[j], u[j])
        return np.where(np.isfinite(out), out, np.inf)

    def row_nll(self, i, theta):
        """Exact ``ℓᵢ(θ)`` of row ``i`` (one ``loglikeobs`` call), float."""
        try:
            value = -float(self._call(self._loglikeobs, theta)[i])
        except (ValueError, FloatingPointError, OverflowError):
            return np.inf
        return value if np.isfinite(value) else np.inf

    def leave_out(self, i, theta, penalty, l1=None):
        """Value, gradient and Hessian of the loss without row ``i`` (exact).

        Parameters
        ----------
        i : int or ndarray of int
            Row (or rows: a group) left out.
        theta : ndarray of shape (d,)
            Parameters.
        penalty : ndarray of shape (d,)
            Diagonal of an L2 penalty (zeros for statsmodels' maximum likelihood).
        l1 : ndarray of shape (d,) or None, default=None
            L1 strengths (zeros for statsmodels' maximum likelihood).

        Returns
        -------
        value : float
            ``inf`` where the likelihood is not finite.
        gradient : ndarray of shape (d,) or None
        hessian : ndarray of shape (d, d) or None
        """
        theta = np.asarray(theta, dtype=float)
        try:
            ll = self._call(self._loglikeobs, theta)
            S = self._call(self._score_obs, theta)
            H = -self._call(self._hessian, theta)
        except (ValueError, FloatingPointError, OverflowError):
            return np.inf, None, None
        out = np.atleast_1d(i)
        keep = np.ones(self.n_rows, dtype=bool)
        keep[out] = False
        value = -float(np.sum(ll[keep])) + 0.5 * float(np.sum(penalty * theta**2))
        grad = -S[keep].sum(axis=0) + penalty * theta
        if l1 is not None:
            value += float(np.sum(l1 * np.abs(theta)))
            grad = grad + l1 * np.sign(theta)
        finite = np.all(np.isfinite(S)) and np.all(np.isfinite(H))
        if not (np.isfinite(value) and finite):
            return np.inf, None, None
        H = 0.5 * (H + H.T) - self.row_hessians(theta, rows=out).sum(axis=0)
        return value, grad, H + np.diag(penalty)


def attach_rows(curv, rows):
    """Attach a per-row model to a curvature (``curv.rows``) and return the curvature.

    Parameters
    ----------
    curv : Curvature
    rows : GLMRows, MLPRows or LikelihoodRows

    Returns
    -------
    Curvature
    """
    if rows.n_params != curv.n_params:  # pragma: no cover - internal consistency
        raise ValueError("per-row model and curvature disagree on n_params")
    curv.rows = rows
    return curv
