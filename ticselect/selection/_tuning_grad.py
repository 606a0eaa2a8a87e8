"""Layer 3 — derivatives of ALO and TIC in the log penalties, from one fit.

The fit ``θ̂`` solves ``∇L(θ̂) + p ⊙ θ̂ = 0`` with the penalty vector ``p`` in loss
units (:mod:`ticselect.curvature._result`).  The penalties are searched in groups:
group ``g`` holds the entries ``mask_g`` of ``p``, and its search coordinate is
``t_g = log v_g`` with ``v_g`` the estimator's own parameter, ``p_g ∝ v_g^e``
(``e = -1`` for ``C``, ``+1`` for ``alpha``).

Implicit differentiation
------------------------
Differentiating the stationarity condition gives ``H_λ dθ̂ = −dp ⊙ θ̂``, so

``dθ̂/dt_g = −H_λ⁻¹(dp_g ⊙ θ̂)``,  ``dp_g = e · p ⊙ mask_g``

(``H_λ = H + diag(p)``, on the complement of the gauge directions).  Where the
estimator's objective is a deviance whose penalty becomes ``c/φ̂`` in loss units
(``Ridge``, ``GammaRegressor``: the dispersion ``φ̂`` is the last parameter),
``p`` also moves with ``φ̂``: ``dp_g = e·p⊙mask_g − p·(dφ̂/dt_g)/φ̂``.  The
fit solves the coefficient equations of the deviance (free of ``φ``) and
``∂L/∂φ = 0``; the Jacobian of that system is ``H_λ`` (which holds the penalty's
cross-derivative, :mod:`ticselect.curvature._identify`) plus the rank-one
``e_φ wᵀ``, ``w = p⊙θ̂/φ̂``, so by Sherman–Morrison
``dθ̂/dt_g = −e·q_g + e·z (wᵀq_g)/(1 + wᵀz)`` with ``q_g = H_λ⁻¹(p⊙mask_g⊙θ̂)``
and ``z = H_λ⁻¹e_φ``.  ``H_λ``'s cross-derivative ``−p⊙β/φ`` then also moves.

Every per-row quantity then moves with the local parameters, ``δuᵢ = Jᵢ dθ̂/dt``:
``dℓ'ᵢ = Λᵢδuᵢ``, ``dΛᵢ = Tᵢ[δuᵢ]`` with ``Tᵢ = ∂³ℓᵢ/∂uᵢ³`` (closed forms in
:mod:`ticselect.curvature._families`), and the penalised Hessian by

``dH_λ = Σᵢ wᵢ Jᵢᵀ Tᵢ[δuᵢ] Jᵢ + diag(dp)``.

ALO (:func:`ticselect.approximate_loo`)
    A one-step row has ``aᵢ = ℓᵢ(uᵢ + Δᵢ)``, ``Δᵢ = Mᵢsᵢ``, ``Mᵢ = JᵢH_λ⁻¹Jᵢᵀ``,
    ``(I − wᵢΛᵢMᵢ)sᵢ = wᵢℓ'ᵢ``; with ``dMᵢ = −JᵢH_λ⁻¹ dH_λ H_λ⁻¹Jᵢᵀ``,
    ``(I − wᵢΛᵢMᵢ) dsᵢ = wᵢ(Λᵢδuᵢ + Tᵢ[δuᵢ]Δᵢ + ΛᵢdMᵢsᵢ)`` and
    ``daᵢ = ℓ'ᵢ(uᵢ + Δᵢ)ᵀ(δuᵢ + dMᵢsᵢ + Mᵢdsᵢ)`` (rows without a Newton step, an
    eigenvalue of ``wᵢΛᵢMᵢ`` at or above 1, keep ``sᵢ = wᵢℓ'ᵢ``).  A refined row's
    value is ``ℓᵢ(θ₋ᵢ)`` at its exact leave-one-out fit, where ``∇F₋ᵢ = 0`` with
    the penalty held: ``daᵢ = −∇ℓᵢ(θ₋ᵢ)ᵀ H₋ᵢ(θ₋ᵢ)⁻¹ (dp ⊙ θ₋ᵢ)``.  Gaussian/identity
    fits, exact in closed form, are differentiated in closed form
    (:mod:`ticselect.selection._tuning_gaussian`).
TIC (:func:`ticselect.criteria`)
    ``TIC = 2L + 2 tr(H_λ⁻¹C)`` with ``C = Σᵢ wᵢ Jᵢᵀℓ'ᵢℓ'ᵢᵀJᵢ``:
    ``dTIC = 2 Σᵢ wᵢℓ'ᵢᵀδuᵢ + 4 Σᵢ wᵢ ℓ'ᵢᵀMᵢΛᵢδuᵢ − 2 tr(dH_λ H_λ⁻¹CH_λ⁻¹)``.

Cost: one pass over the rows for ``dH_λ`` (a Hessian's ``O(n·K'·k²)``), one for
the per-row terms (a triangular solve and a product with ``L⁻¹dH_λL⁻ᵀ`` per row
block), for each group.  Only the Cholesky route exists here: where ``H_λ`` is not
positive definite, or the model has no per-row third derivatives (networks), the
search falls back on values alone (:mod:`ticselect.selection._tuning_optim`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..curvature._linalg import complement_basis, restrict
from ._loo import LEVERAGE_TOL, REFINE_TOL
from ._loo import _result as loo_result
from ._tuning_lean import LeanGLM

__all__ = ["GradientUnavailable", "PenaltyDerivatives"]

#: Floats of per-row blocks (Jacobians) kept between the passes of one evaluation.
_CACHE_FLOATS = 2**23

#: Newton steps that polish a refined row's left-out fit before differentiating it.
_POLISH_STEPS = 4


class GradientUnavailable(Exception):
    """The analytic derivative does not exist here (the caller uses values only)."""


@dataclass(frozen=True)
class Sensitivity:
    """``dθ̂/dt_g`` and ``dp/dt_g`` for every group, each of shape (G, n_params)."""

    dtheta: np.ndarray
    dpenalty: np.ndarray


class PenaltyDerivatives:
    """Derivatives of a fit's criteria in the log penalties (module docstring).

    Parameters
    ----------
    curv : Curvature
        Curvature of a GLM fit (with its per-row model ``curv.rows``).
    masks : ndarray of bool of shape (G, n_params)
        Entries of ``curv.penalty`` that each group's parameter scales.
    exponent : float
        ``e`` with ``p_g ∝ v_g^e``.

    Raises
    ------
    GradientUnavailable
        Without third derivatives (networks, statsmodels models without a GLM row
        model) or when ``H_λ`` is not positive definite.
    """

    def __init__(self, curv, masks, exponent):
        rows = getattr(curv, "rows", None)
        if rows is None or not hasattr(rows, "third_at"):
            raise GradientUnavailable("no per-row third derivatives for this model")
        self.curv, self.rows = curv, rows
        self.masks = np.asarray(masks, dtype=bool)
        self.exponent = float(exponent)
        d = curv.n_params
        # H_λ holds the cross-derivative of a penalty c/φ (curvature._identify)
        self.cross = curv._dispersion_cross() is not None
        gauge = curv.gauge if curv.gauge.shape[1] else None
        self.Q = complement_basis(gauge, d)
        self.has_gauge = gauge is not None
        self._blocks = None
        try:
            self.L = linalg.cholesky(
                restrict(curv.penalized_hessian, self.Q), lower=True, check_finite=True
            )
        except (linalg.LinAlgError, ValueError) as exc:
            raise GradientUnavailable("H_λ is not positive definite") from exc
        self.sens = self._sensitivity()
        self.lean = LeanGLM(self) if LeanGLM.applies(self) else None

    # -- linear algebra --------------------------------------------------------------
    def solve(self, B):
        """``Q (QᵀH_λQ)⁻¹ Qᵀ B`` for ``B`` of shape (n_params, m)."""
        z = self.Q.T @ B if self.has_gauge else B
        z = linalg.cho_solve((self.L, True), z, check_finite=False)
        return self.Q @ z if self.has_gauge else z

    def _local(self, J):
        """``A = JQ`` of shape (b, K', r) (``J`` itself without gauge)."""
        return J @ self.Q if self.has_gauge else J

    def blocks(self):
        """Per row block: ``(sl, u, J, A, d1, d2, T)`` (kept when small enough).

        ``T`` is the third-derivative tensor ``∂³ℓᵢ/∂uᵢ³`` at the fit.  The blocks
        are computed once and kept while they hold at most :data:`_CACHE_FLOATS`
        floats; larger data are recomputed on every pass.
        """
        if self._blocks is not None:
            yield from self._blocks
            return
        rows = self.rows
        keep = rows.n_rows * rows.n_local * (rows.n_params + self.Q.shape[1])
        cache = [] if keep <= _CACHE_FLOATS else None
        for sl, u, J, d1, d2 in rows.blocks():
            item = (sl, u, J, self._local(J), d1, d2, rows.third_at(sl, u))
            if cache is not None:
                cache.append(item)
            yield item
        if cache is not None:
            self._blocks = cache

    def _whiten(self, M):
        """``L⁻¹ M L⁻ᵀ`` for a symmetric ``M`` in the gauge complement."""
        Y = linalg.solve_triangular(self.L, M, lower=True, check_finite=False)
        return linalg.solve_triangular(self.L, Y.T, lower=True, check_finite=False)

    # -- dθ̂/dt ----------------------------------------------------------------------
    def _sensitivity(self):
        curv = self.curv
        p, theta, e = curv.penalty, curv.params, self.exponent
        P_g = self.masks * p[None]  # (G, d)
        q_g = self.solve((P_g * theta[None]).T).T
        dp, v = e * P_g, -e * q_g
        if self.cross:
            # p = c/φ̂ moves with the dispersion (last parameter), see the docstring
            w = p * theta / theta[-1]
            z = self.solve(np.eye(len(p))[:, -1:])[:, 0]
            v = v + e * np.outer(q_g @ w / (1.0 + w @ z), z)
            dp = dp - np.outer(v[:, -1] / theta[-1], p)
        return Sensitivity(dtheta=v, dpenalty=dp)

    def _cross_derivative(self):
        """``Qᵀ d(cross)/dt_g Q``: the move of ``H_λ``'s ``−p⊙β/φ`` (G, r, r)."""
        p, theta = self.curv.penalty, self.curv.params
        V, dP = self.sens.dtheta, self.sens.dpenalty
        phi = theta[-1]
        d = len(p)
        out = []
        for v, dp in zip(V, dP, strict=True):
            col = -(dp * theta + p * v) / phi + p * theta * v[-1] / phi**2
            col[-1] = 0.0
            D = np.zeros((d, d))
            D[:, -1] = D[-1, :] = col
            out.append(restrict(D, self.Q))
        return np.stack(out)

    def mackay_ratio(self):
        """MacKay's fixed-point update of each group's penalty, as a ratio.

        ``λ_g ← γ_g / Σ_{j∈g} θ̂ⱼ²`` with ``γ_g = Σ_{j∈g} (1 − pⱼ(H_λ⁻¹)ⱼⱼ)`` the
        well-determined parameters of the group (MacKay 1992): the evidence's
        stationary point when ``H`` does not move with ``θ̂``.  The search takes it
        as its first step.

        Returns
        -------
        ndarray of shape (G,)
            ``λ_g,new / λ_g`` (``nan`` where undefined).
        """
        p, theta = self.curv.penalty, self.curv.params
        W = linalg.solve_triangular(self.L, self.Q.T, lower=True, check_finite=False)
        hinv = np.sum(W * W, axis=0)
        out = np.full(self.masks.shape[0], np.nan)
        for g, m in enumerate(self.masks):
            gamma = float(np.sum(1.0 - p[m] * hinv[m]))
            energy = float(np.sum(p[m] * theta[m] ** 2))
            if gamma > 0 and energy > 0:
                out[g] = gamma / energy
        return out

    def _penalty_hessian(self, dp):
        """``Qᵀ diag(dp) Q`` for each group, shape (G, r, r)."""
        if not self.has_gauge:
            return np.stack([np.diag(x) for x in dp])
        return np.stack([(self.Q.T * x) @ self.Q for x in dp])

    def hessian_derivatives(self):
        """``Qᵀ dH_λ/dt_g Q`` for every group, shape (G, r, r) (one pass over rows)."""
        if self.lean is not None:
            return self.lean.hessian_derivatives()
        V, w = self.sens.dtheta, self.rows.weights
        r = self.Q.shape[1]
        G = V.shape[0]
        out = np.zeros((G, r, r))
        for sl, u, J, A, _d1, _d2, T in self.blocks():
            b, Kp = u.shape
            if Kp == 1:  # one linear predictor: Σ wᵢ ℓ⁽³⁾ᵢ δηᵢ x̃ᵢx̃ᵢᵀ
                A1 = A[:, 0, :]
                coef = w[sl] * T[:, 0, 0, 0]
                for g in range(G):
                    out[g] += A1.T @ ((coef * (J[:, 0, :] @ V[g]))[:, None] * A1)
                continue
            Af = A.reshape(b * Kp, r)
            for g in range(G):
                du = J @ V[g]  # (b, K')
                Tdu = np.einsum("bklm,bm->bkl", T, du) * w[sl, None, None]
                out[g] += Af.T @ np.matmul(Tdu, A).reshape(b * Kp, r)
        out += self._penalty_hessian(self.sens.dpenalty)
        return out + self._cross_derivative() if self.cross else out

    # -- ALO ------------------------------------------------------------------------
    def alo(self, loo):
        """``d loo / dt_g`` (deviance scale) of a :class:`LOOResult` of this fit.

        Parameters
        ----------
        loo : LOOResult
            ``approximate_loo(curv)`` with ``method="newton"``.

        Returns
        -------
        ndarray of shape (G,)

        Raises
        ------
        GradientUnavailable
            When the ALO value is not finite.
        """
        if not np.isfinite(loo.loo) or loo.method != "newton":
            raise GradientUnavailable("ALO is not finite at this fit")
        w = self.rows.weights
        G = self.sens.dtheta.shape[0]
        E = np.stack([self._whiten(dH) for dH in self.hessian_derivatives()])
        refined = loo.refined
        if refined is None:
            refined = np.zeros(self.rows.n_rows, dtype=bool)
        grad = np.zeros(G)
        for sl, u, J, A, d1, d2, T in self.blocks():
            keep = (w[sl] > 0) & ~refined[sl]
            if not keep.any():
                continue
            one = self._alo_one if u.shape[1] == 1 else self._alo_general
            da = one(sl, u, J, A, d1, d2, T, E)  # (G, b)
            grad += 2.0 * np.sum((w[sl] * da)[:, keep], axis=1)
        if refined.any():
            grad += self._refined_alo(loo)
        return grad

    def alo_fused(self):
        """The one-step ALO and its slope in one pass (one linear predictor).

        For a GLM with one linear predictor and no estimated dispersion the pass
        that differentiates the one-step rows also yields their values, so
        :func:`ticselect.approximate_loo` need not run: when no row of positive
        weight has leverage above its ``refine_tol`` (and every value is finite)
        its result is this one-step result, row for row.

        Returns
        -------
        (LOOResult, ndarray of shape (G,)) or None
            ``None`` when the model has several local parameters or some row
            would be refined (the caller then runs ``approximate_loo`` and
            :meth:`alo`).
        """
        rows = self.rows
        if rows.n_local != 1 or self.has_gauge:
            return None
        if self.lean is not None:
            return self.lean.alo_fused()
        w, n = rows.weights, rows.n_rows
        E = np.stack([self._whiten(dH) for dH in self.hessian_derivatives()])
        pointwise, leverage = np.empty(n), np.empty(n)
        shift = np.empty((n, 1))
        grad = np.zeros(E.shape[0])
        for sl, u, J, A, d1, d2, T in self.blocks():
            da, pt, lev, delta = self._alo_one(sl, u, J, A, d1, d2, T, E, True)
            if np.any((w[sl] > 0) & ((lev > REFINE_TOL) | ~np.isfinite(pt))):
                return None
            pointwise[sl], leverage[sl], shift[sl, 0] = pt, lev, delta
            grad += 2.0 * np.sum((w[sl] * da)[:, w[sl] > 0], axis=1)
        high = (leverage > LEVERAGE_TOL) | ~np.isfinite(pointwise)
        loo = loo_result(self.curv, pointwise, leverage, high, LEVERAGE_TOL, shift,
                         w, "newton", np.zeros(n, dtype=bool))  # fmt: skip
        return loo, grad

    def _alo_one(self, sl, u, J, A, d1, d2, T, E, values=False):
        """``daᵢ/dt_g`` of one-step rows with one linear predictor (scalars).

        With ``values`` also the rows' one-step values, leverages and shifts (the
        formulas of :func:`ticselect.approximate_loo`).
        """
        wb = self.rows.weights[sl]
        A1 = A[:, 0, :]
        S = linalg.solve_triangular(self.L, A1.T, lower=True, check_finite=False)
        h = np.einsum("rb,rb->b", S, S)
        l1, l2, l3 = d1[:, 0], d2[:, 0, 0], T[:, 0, 0, 0]
        lev = wb * l2 * h
        newton = lev < 1.0
        one_minus = np.where(newton, 1.0 - lev, 1.0)
        s = wb * l1 / one_minus
        delta = h * s
        idx = np.arange(sl.start, sl.stop)
        l1_out = self.rows.derivatives_at(idx, u + delta[:, None])[0][:, 0]
        out = np.empty((E.shape[0], h.size))
        for g in range(E.shape[0]):
            du = J[:, 0, :] @ self.sens.dtheta[g]
            dh = -np.einsum("rb,rb->b", S, E[g] @ S)
            ds = wb * (l2 * du + l3 * du * delta + l2 * dh * s) / one_minus
            ds = np.where(newton, ds, wb * l2 * du)
            out[g] = l1_out * (du + dh * s + h * ds)
        if values:
            return out, self.rows.nll(sl, u + delta[:, None]), lev, delta
        return out

    def _alo_general(self, sl, u, J, A, d1, d2, T, E):
        """``daᵢ/dt_g`` of one-step rows with several local parameters."""
        b, Kp = u.shape
        wb = self.rows.weights[sl][:, None]
        S3 = linalg.solve_triangular(
            self.L, A.reshape(b * Kp, -1).T, lower=True, check_finite=False
        ).T.reshape(b, Kp, -1)
        M = np.matmul(S3, S3.transpose(0, 2, 1))
        WM = wb[:, :, None] * np.matmul(d2, M)
        I_WM = np.eye(Kp)[None] - WM
        newton = np.max(np.linalg.eigvals(WM).real, axis=1) < 1.0
        s = wb * d1
        s[newton] = np.linalg.solve(I_WM[newton], s[newton][:, :, None])[:, :, 0]
        delta = _mv(M, s)
        idx = np.arange(sl.start, sl.stop)
        d1_out = self.rows.derivatives_at(idx, u + delta)[0]
        out = np.empty((E.shape[0], b))
        for g in range(E.shape[0]):
            du = J @ self.sens.dtheta[g]
            dM_s = -_mv(S3, _mv(S3 @ E[g], s, transpose=True))
            Ldu = _mv(d2, du)
            rhs = wb * (Ldu + _mv(np.einsum("bklm,bm->bkl", T, du), delta)
                        + _mv(d2, dM_s))  # fmt: skip
            ds = wb * Ldu  # infinitesimal-jackknife rows
            ds[newton] = np.linalg.solve(I_WM[newton], rhs[newton][:, :, None])[:, :, 0]
            out[g] = np.sum(d1_out * (du + dM_s + _mv(M, ds)), axis=1)
        return out

    def _refined_alo(self, loo):
        """The refined rows' part of ``d loo / dt``: exact leave-one-out fits.

        The stored ``θ₋ᵢ`` are first polished by Newton steps on every ``F₋ᵢ`` at
        once (at most :data:`_POLISH_STEPS`, until every decrement is below 1e-20
        nats): the refinement stops at a decrement of 1e-10 nats, which leaves
        ``θ₋ᵢ`` about 1e-5 from the optimum, and the derivative needs it exact.
        """
        idx = np.flatnonzero(loo.refined)
        theta = loo.left_out_params
        if theta is None or len(theta) != idx.size:
            raise GradientUnavailable("the refined rows' left-out fits are missing")
        dp, Q, w = self.sens.dpenalty, self.Q, self.rows.weights
        for _ in range(_POLISH_STEPS):
            H, g_all, g_i = self._left_out_systems(idx, theta)  # all at θ
            try:
                step = np.linalg.solve(H, (g_all @ Q)[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError as exc:
                raise GradientUnavailable("a left-out Hessian is singular") from exc
            if np.all(np.sum(step * (g_all @ Q), axis=1) < 1e-20):
                break
            theta = theta - step @ Q.T
        rhs = np.einsum("gd,bd->bdg", dp, theta)  # dp ⊙ θ₋ᵢ, (b, d, G)
        z = np.linalg.solve(H, np.einsum("dr,bdg->brg", Q, rhs))  # (b, r, G)
        return -2.0 * np.einsum("b,br,brg->g", w[idx], g_i @ Q, z)

    def _left_out_systems(self, idx, theta):
        """``QᵀH₋ᵢQ``, ``∇F₋ᵢ`` and ``∇ℓᵢ`` at the left-out fits ``θ`` (batched).

        One pass over the rows for every ``i`` in ``idx`` at once: shapes
        ``(b, r, r)``, ``(b, d)`` and ``(b, d)``.
        """
        w, p = self.rows.weights, self.curv.penalty
        b, r = idx.size, self.Q.shape[1]
        H = np.broadcast_to(restrict(np.diag(p), self.Q), (b, r, r)).copy()
        g_all = theta * p[None]
        g_i = np.zeros_like(theta)
        for sl, _u, J, A, _d1, _d2, _T in self.blocks():
            nb, Kp = _u.shape
            U = np.einsum("nkd,bd->bnk", J, theta)  # (b, nb, K')
            rows_b = np.tile(np.arange(sl.start, sl.stop), b)
            d1, d2 = self.rows.derivatives_at(rows_b, U.reshape(-1, Kp))
            d1, d2 = d1.reshape(b, nb, Kp), d2.reshape(b, nb, Kp, Kp)
            W = np.broadcast_to(w[sl], (b, nb)).copy()
            inside = (idx >= sl.start) & (idx < sl.stop)
            own = idx[inside] - sl.start
            g_i[inside] = np.einsum("bkd,bk->bd", J[own], d1[inside, own])
            W[np.flatnonzero(inside), own] = 0.0
            Jf = J.reshape(nb * Kp, -1)
            g_all += (d1 * W[:, :, None]).reshape(b, nb * Kp) @ Jf
            DA = np.matmul(d2 * W[:, :, None, None], A[None])  # (b, nb, K', r)
            H += np.matmul(A.reshape(nb * Kp, r).T[None], DA.reshape(b, nb * Kp, r))
        return H, g_all, g_i

    # -- evidence -------------------------------------------------------------------
    def evidence(self, ev):
        """``d(−2 log p(y))/dt_g`` of an :class:`~ticselect.Evidence` of this fit.

        The Laplace evidence of :func:`ticselect.evidence` (the fit's own penalty as
        the prior, the dispersion held or profiled) is stationary in ``θ`` at the
        fit, so only its explicit dependence on the penalty and the motion of the
        data Hessian with the fit remain:

        ``d(−2 log p)/dt_g = t·θ̂ᵀdΛ_gθ̂ − d log|Λ|₊ + tr(H_Λ⁻¹(dH[dθ̂] + dΛ_g))``

        with ``dΛ_g = e·Λ⊙mask_g`` (the prior's own change; a dispersion is held),
        ``t = φ̂/φ*`` for a profiled dispersion (``Λ``, ``H_Λ`` scale as ``1/φ``, so
        the log-determinants' derivatives do not depend on it), the trace over the
        identified coefficient directions (over the penalised block with
        ``unpenalized="profile"``), and the Newton correction of a fit away from
        its mode left out (second order in the gradient).

        Parameters
        ----------
        ev : Evidence
            ``ticselect.evidence(curv, ...)`` of this fit with its own penalty.

        Returns
        -------
        ndarray of shape (G,)

        Raises
        ------
        GradientUnavailable
            When the evidence is not finite, or for ``unpenalized="profile"`` on a
            model with gauge directions.
        """
        if not np.isfinite(ev.log_evidence):
            raise GradientUnavailable("the evidence is not finite at this fit")
        curv, e = self.curv, self.exponent
        p, theta = curv.penalty, curv.params
        disp = bool(curv.dispersion_is_param)
        k = len(p) - int(disp)
        dp0 = e * self.masks[:, :k] * p[None, :k]  # the prior's own change
        if disp:  # coefficient block, the dispersion held (no gauge here)
            H = curv.hessian[:k, :k] + np.diag(p[:k])
            dH = self._coefficient_motion() + np.stack([np.diag(x) for x in dp0])
            Q = None
        else:
            H, dH, Q = None, self.hessian_derivatives(), self.Q
        t = float(curv.dispersion / ev.dispersion) if disp and ev.dispersion else 1.0
        quad = t * (dp0 @ theta[:k] ** 2)
        if Q is None or not self.has_gauge:
            pen = p[:k] > 0
            d_logdet_prior = np.sum(dp0[:, pen] / p[None, :k][:, pen], axis=1)
        else:
            parts = [restrict(np.diag(x), Q) for x in dp0]
            d_logdet_prior = _pseudo_logdet_slopes(restrict(np.diag(p), Q), parts)
        if ev.unpenalized == "integrate":
            if H is None:
                trace = np.array([np.trace(self._whiten(x)) for x in dH])
            else:
                c = linalg.cho_factor(H, lower=True)
                trace = np.array([np.trace(linalg.cho_solve(c, x)) for x in dH])
        else:
            if self.has_gauge:
                raise GradientUnavailable("the profile evidence with gauge directions")
            pen = p[:k] > 0
            Hk = curv.penalized_hessian[:k, :k] if H is None else H
            c = linalg.cho_factor(Hk[np.ix_(pen, pen)], lower=True)
            trace = np.array([np.trace(linalg.cho_solve(c, x[np.ix_(pen, pen)]))
                              for x in dH])  # fmt: skip
        return quad - d_logdet_prior + trace

    def _coefficient_motion(self):
        """``Σ wᵢ x̃ᵢx̃ᵢᵀ ℓ_ηηη,ᵢ x̃ᵢᵀdβ̂`` on the coefficients, the dispersion held."""
        V, w = self.sens.dtheta, self.rows.weights
        k = V.shape[1] - 1
        out = np.zeros((V.shape[0], k, k))
        for sl, _u, J, _A, _d1, _d2, T in self.blocks():
            X1 = J[:, 0, :k]
            coef = w[sl] * T[:, 0, 0, 0]
            for g in range(V.shape[0]):
                out[g] += X1.T @ ((coef * (X1 @ V[g, :k]))[:, None] * X1)
        return out

    # -- TIC ------------------------------------------------------------------------
    def tic(self):
        """TIC, its standard error and ``d TIC / dt_g`` (deviance scale).

        Returns
        -------
        value : float
            ``2L + 2 tr(H_λ⁻¹C)``.
        se : float
            ``2·sqrt(n·var)`` of the per-row terms ``ℓᵢ + gᵢᵀH_λ⁻¹gᵢ``.
        grad : ndarray of shape (G,)
        """
        rows, curv = self.rows, self.curv
        w = rows.weights
        V = self.sens.dtheta
        G = V.shape[0]
        dH = self.hessian_derivatives()
        CQ = restrict(curv.grad_cov, self.Q)
        Hinv = linalg.cho_solve((self.L, True), np.eye(self.L.shape[0]))
        K = Hinv @ CQ @ Hinv
        d_hess = np.array([np.sum(dH_g * K) for dH_g in dH])  # tr(dH K)
        if self.lean is not None:
            nll_rows, pen_rows, d_nll, d_cov = self.lean.tic_terms(K)
            value = 2.0 * curv.nll + 2.0 * float(np.sum(w * pen_rows))
            grad = 2.0 * d_nll + 4.0 * d_cov - 2.0 * d_hess
            return value, _total_se(nll_rows + pen_rows, w), grad
        d_nll = np.zeros(G)
        d_cov = np.zeros(G)
        pen_rows = np.empty(rows.n_rows)
        nll_rows = np.empty(rows.n_rows)
        for sl, u, J, A, d1, d2, _T in self.blocks():
            b, Kp = u.shape
            S3 = linalg.solve_triangular(
                self.L, A.reshape(b * Kp, -1).T, lower=True, check_finite=False
            ).T.reshape(b, Kp, -1)
            if Kp == 1:
                Md1 = np.einsum("bkr,bkr->b", S3, S3)[:, None] * d1
            else:
                Md1 = _mv(np.matmul(S3, S3.transpose(0, 2, 1)), d1)
            pen_rows[sl] = np.sum(d1 * Md1, axis=1)
            nll_rows[sl] = rows.nll(sl, u)
            wb = w[sl]
            for g in range(G):
                du = J @ V[g]
                d_nll[g] += np.sum(wb * np.sum(d1 * du, axis=1))
                d_cov[g] += np.sum(wb * np.sum(Md1 * _mv(d2, du), axis=1))
        value = 2.0 * curv.nll + 2.0 * float(np.sum(w * pen_rows))
        grad = 2.0 * d_nll + 4.0 * d_cov - 2.0 * d_hess
        return value, _total_se(nll_rows + pen_rows, w), grad


def _mv(M, v, transpose=False):
    """Row-wise ``Mᵢvᵢ`` (or ``Mᵢᵀvᵢ``) for stacks ``M`` (b, m, n) and ``v``."""
    if transpose:
        return np.einsum("bmn,bm->bn", M, v)
    return np.einsum("bmn,bn->bm", M, v)


def _pseudo_logdet_slopes(M, dMs):
    """``tr(M⁺dM)`` over the range of the PSD ``M`` for each ``dM``."""
    w, U = linalg.eigh(M)
    keep = w > 1e-12 * max(float(w.max(initial=0.0)), 0.0)
    Uk = U[:, keep]
    return np.array([np.sum((Uk.T @ dM @ Uk).diagonal() / w[keep]) for dM in dMs])


def _total_se(pointwise, w):
    """``2·sqrt(n·var_w)``: standard error of ``2 Σ wᵢ xᵢ`` (deviance scale)."""
    n = float(np.sum(w))
    if n <= 1 or not np.all(np.isfinite(pointwise[w > 0])):
        return np.nan
    mean = float(np.sum(w * pointwise)) / n
    var = float(np.sum(w * (pointwise - mean) ** 2)) / (n - 1)
    return 2.0 * float(np.sqrt(n * var))
