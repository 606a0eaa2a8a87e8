"""Layer 3 — the slopes of ``_tuning_grad`` without per-row Jacobian tensors.

A GLM with one linear predictor, no estimated dispersion and a dense design
(``LogisticRegression`` on two classes, ``PoissonRegressor``) has ``Jᵢ = x̃ᵢᵀ``:
every per-row quantity of the general route is a scalar, and the design's blocks
serve directly (no ``(b, 1, k)`` tensors, no intercept column: the Cholesky factor
``L`` of ``H_λ`` is partitioned as ``[[L₁₁, 0], [l₂₁ᵀ, l₂₂]]``, so ``L⁻¹x̃ᵢ =
[L₁₁⁻¹xᵢ; (1 − l₂₁ᵀL₁₁⁻¹xᵢ)/l₂₂]``).  The formulas are those of
:mod:`ticselect.selection._tuning_grad`; the tests compare both routes.  On the
200 000-row benchmark problem this is what keeps one evaluation near the cost of
the fit's own curvature.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import linalg

from ._loo import LEVERAGE_TOL, REFINE_TOL
from ._loo import _result as loo_result

__all__ = ["LeanGLM"]

#: Floats of the design held per block (2**22 = 32 MiB).
_BLOCK_FLOATS = 2**22


class LeanGLM:
    """Single-predictor dense GLM view of a :class:`PenaltyDerivatives`.

    Parameters
    ----------
    pd : PenaltyDerivatives
        The derivatives object (its factor ``L``, sensitivities and masks).
    """

    def __init__(self, pd):
        rows = pd.rows
        spec = rows.spec
        self.pd, self.rows = pd, rows
        self.X = spec.X
        self.intercept = spec.intercept is not None
        self.p = spec.X.shape[1]
        self.w = rows.weights
        self.eta = rows._eta[:, 0]
        y = spec.y
        phi = 1.0 if rows.phi is None else rows.phi
        fam = spec.family
        with np.errstate(all="ignore"):
            self.d1, self.d2 = fam.eta_derivatives(y, self.eta, phi)
            self.d3 = fam.eta_third_derivative(y, self.eta, phi)
        self.fam, self.y, self.phi = fam, y, phi
        step = max(1, _BLOCK_FLOATS // max(self.p, 1))
        n = self.eta.shape[0]
        self.blocks = [slice(s, min(n, s + step)) for s in range(0, n, step)]

    @staticmethod
    def applies(pd):
        """Whether ``pd``'s model is a dense GLM with one local parameter."""
        rows = pd.rows
        return (
            rows.n_local == 1
            and not pd.has_gauge
            and getattr(rows, "keep", None) is None
            and getattr(rows, "m", 0) == 1
            and not sp.issparse(rows.spec.X)
        )

    # -- the design --------------------------------------------------------------
    def _x(self, sl):
        return np.asarray(self.X[sl], dtype=float)

    def _du(self, Xb, v):
        """``x̃ᵢᵀv`` for the rows of a block."""
        out = Xb @ v[: self.p]
        return out + v[self.p] if self.intercept else out

    def _gram(self, Xb, c):
        """``X̃ᵀ diag(c) X̃`` of a block, shape (k, k)."""
        p = self.p
        CX = c[:, None] * Xb
        if not self.intercept:
            return Xb.T @ CX
        out = np.empty((p + 1, p + 1))
        out[:p, :p] = Xb.T @ CX
        out[:p, p] = out[p, :p] = CX.sum(axis=0)
        out[p, p] = c.sum()
        return out

    def _solve(self, Xb):
        """``L⁻¹X̃ᵀ`` of a block as ``(S₁, s₂)`` (``s₂`` None without intercept)."""
        L, p = self.pd.L, self.p
        S1 = linalg.solve_triangular(L[:p, :p], Xb.T, lower=True, check_finite=False)
        if not self.intercept:
            return S1, None
        return S1, (1.0 - L[p, :p] @ S1) / L[p, p]

    @staticmethod
    def _quad(S1, s2, E):
        """``zᵢᵀEzᵢ`` for the columns ``zᵢ = [S₁[:, i]; s₂[i]]``."""
        if s2 is None:
            return np.einsum("rb,rb->b", S1, E @ S1)
        p = S1.shape[0]
        inner = np.einsum("rb,rb->b", S1, E[:p, :p] @ S1)
        return inner + s2 * (2.0 * (E[p, :p] @ S1) + E[p, p] * s2)

    # -- the passes ----------------------------------------------------------------
    def hessian_derivatives(self):
        """``dH_λ/dt_g`` for every group, shape (G, k, k)."""
        pd = self.pd
        V = pd.sens.dtheta
        k = pd.L.shape[0]
        out = np.zeros((V.shape[0], k, k))
        coef = self.w * self.d3
        for sl in self.blocks:
            Xb = self._x(sl)
            for g, v in enumerate(V):
                out[g] += self._gram(Xb, coef[sl] * self._du(Xb, v))
        return out + pd._penalty_hessian(pd.sens.dpenalty)

    def alo_fused(self):
        """See :meth:`PenaltyDerivatives.alo_fused` (same result, lean route)."""
        pd, w = self.pd, self.w
        E = np.stack([pd._whiten(dH) for dH in self.hessian_derivatives()])
        n = self.eta.shape[0]
        pointwise, leverage, delta_all = np.empty(n), np.empty(n), np.empty(n)
        grad = np.zeros(E.shape[0])
        for sl in self.blocks:
            Xb = self._x(sl)
            S1, s2 = self._solve(Xb)
            h = np.einsum("rb,rb->b", S1, S1) + (0.0 if s2 is None else s2 * s2)
            wb, l1, l2, l3 = w[sl], self.d1[sl], self.d2[sl], self.d3[sl]
            lev = wb * l2 * h
            newton = lev < 1.0
            one_minus = np.where(newton, 1.0 - lev, 1.0)
            s = wb * l1 / one_minus
            delta = h * s
            eta_out = self.eta[sl] + delta
            pt = self.rows.nll(sl, eta_out[:, None])
            if np.any((wb > 0) & ((lev > REFINE_TOL) | ~np.isfinite(pt))):
                return None
            with np.errstate(all="ignore"):
                l1_out = self.fam.eta_derivatives(self.y[sl], eta_out, self.phi)[0]
            for g, v in enumerate(pd.sens.dtheta):
                du = self._du(Xb, v)
                dh = -self._quad(S1, s2, E[g])
                ds = wb * (l2 * du + l3 * du * delta + l2 * dh * s) / one_minus
                ds = np.where(newton, ds, wb * l2 * du)
                da = l1_out * (du + dh * s + h * ds)
                grad[g] += 2.0 * np.sum((wb * da)[wb > 0])
            pointwise[sl], leverage[sl], delta_all[sl] = pt, lev, delta
        high = (leverage > LEVERAGE_TOL) | ~np.isfinite(pointwise)
        shift = delta_all[:, None]
        loo = loo_result(pd.curv, pointwise, leverage, high, LEVERAGE_TOL, shift, w,
                         "newton", np.zeros(n, dtype=bool))  # fmt: skip
        return loo, grad

    def tic_terms(self, K):
        """Per-row ``(nll, gᵢᵀH_λ⁻¹gᵢ)`` and the slopes' row sums for TIC.

        Parameters
        ----------
        K : ndarray of shape (k, k)
            ``H_λ⁻¹CH_λ⁻¹`` (unused here; the caller adds ``tr(dH K)``).

        Returns
        -------
        nll_rows, pen_rows : ndarray of shape (n,)
        d_nll, d_cov : ndarray of shape (G,)
            ``Σ wᵢℓ'ᵢδηᵢ`` and ``Σ wᵢ ℓ'ᵢhᵢℓ''ᵢδηᵢ``.
        """
        pd, w = self.pd, self.w
        V = pd.sens.dtheta
        n = self.eta.shape[0]
        nll_rows, pen_rows = np.empty(n), np.empty(n)
        d_nll, d_cov = np.zeros(V.shape[0]), np.zeros(V.shape[0])
        for sl in self.blocks:
            Xb = self._x(sl)
            S1, s2 = self._solve(Xb)
            h = np.einsum("rb,rb->b", S1, S1) + (0.0 if s2 is None else s2 * s2)
            l1, l2, wb = self.d1[sl], self.d2[sl], w[sl]
            pen_rows[sl] = l1 * l1 * h
            nll_rows[sl] = self.rows.nll(sl, self.eta[sl, None])
            for g, v in enumerate(V):
                du = self._du(Xb, v)
                d_nll[g] += np.sum(wb * l1 * du)
                d_cov[g] += np.sum(wb * l1 * h * l2 * du)
        return nll_rows, pen_rows, d_nll, d_cov
