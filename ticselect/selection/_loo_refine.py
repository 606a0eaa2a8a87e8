"""Refinement of approximate leave-one-out rows, within a cost budget.

The rows whose one-step ALO value is unreliable (high leverage) are iterated to
their exact leave-one-out fit, the minimiser of ``F₋ᵢ(θ) = F(θ) − wᵢℓᵢ(θ)`` (penalty
held fixed), in the gauge complement ``θ = θ̂ + Qz``.

Iteration: quasi-Newton, all rows at once.  Row ``i`` starts from its leave-one-out
Hessian *at the fit*, ``Cᵢ = H_λ − wᵢAᵢᵀΛᵢAᵢ`` (``Aᵢ = JᵢQ``), which Woodbury inverts
from the one factorisation of ``H_λ``::

    Cᵢ⁻¹g = H_λ⁻¹g + H_λ⁻¹Aᵢᵀ (I − wᵢΛᵢMᵢ)⁻¹ wᵢΛᵢ Aᵢ H_λ⁻¹g,   Mᵢ = AᵢH_λ⁻¹Aᵢᵀ,

so no Hessian is formed after the fit's.  Its first step from ``θ̂`` is the one-step
ALO fit; limited-memory BFGS updates of ``Cᵢ⁻¹`` (the last 8 steps) then correct
it, each step costing one pass over the data for every active row (the local
parameters are linear in ``θ`` for a GLM: ``U = u + JQz``, so one product with the
row Jacobians evaluates every left-out fit and its gradient).  With ``Cᵢ`` alone
(a chord method) the rate is linear and slow where the row's fit moves far (135
passes per row on the near-separated fits of the tests, against 13).
A step that does not lower ``F₋ᵢ`` is halved; a row is done when the decrement
``½gᵀBᵢg`` (``Bᵢ`` the current inverse-Hessian estimate) falls below ``1e-10``
nats, and its value is then the exact leave-one-out NLL.  Where ``Cᵢ`` is not
positive definite (leverage ≥ 1) the row starts from ``H_λ``.

Budget (issue 24: refining 20 rows of a 10-class fit on digits cost 31 s against
0.7 s for the one-step values: a full refit per row).  Costs are counted in
*passes*: one pass evaluates ``F₋ᵢ`` and its gradient for one row, ``2·n·K'·d``
flops (``d`` parameters, ``K'`` local parameters per row).  One fit is
:data:`FIT_PASSES` passes, the iteration budget of scikit-learn's default L-BFGS fit
(``max_iter=100``), and the one-step ALO costs
``(n·K'·d·k + n·K'·k² + k³/3) / (2·n·K'·d)`` passes (the products ``JᵢQ``, the
solves with the factor, the factorisation; ``k`` parameters in the gauge
complement).  Refining ``b`` rows, in batches of :data:`BATCH_ROWS`, may spend::

    one-step ALO + ⌈b / BATCH_ROWS⌉ fits

(:func:`budget_passes`; the batches share the pool, all rows iterate together), so
the default ``max_refine=20`` costs at most the one-step ALO plus two fits.  Rows
still iterating when the budget runs out keep their one-step value, are not marked
``refined``, and the result carries the flag ``"refine_budget"``.  The iteration
needs about 10 passes per row (13 on the near-separated fits of the tests, 8 on
digits).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ..curvature._linalg import restrict

__all__ = ["BATCH_ROWS", "FIT_PASSES", "budget_passes", "refine_rows"]

#: One fit, in gradient passes: scikit-learn's default ``max_iter`` for L-BFGS.
FIT_PASSES = 100
#: Rows per refined batch (each adds one fit to the budget).
BATCH_ROWS = 10
#: Newton decrement (nats) at which a row's leave-one-out fit has converged.
_TOL = 1e-10
#: Smallest step fraction before a row is given up.
_MIN_STEP = 2.0**-30
#: Steps remembered per row by the quasi-Newton update.
_MEMORY = 8
#: Largest ``n·K'·d`` whose row Jacobians are kept between passes (32 MiB).
_KEEP_FLOATS = 2**22


def budget_passes(n_rows, n_local, n_params, n_free, n_refine):
    """Passes the refinement of ``n_refine`` rows may spend.

    The one-step ALO plus one fit per batch of :data:`BATCH_ROWS` rows (see the
    module docstring).

    Parameters
    ----------
    n_rows, n_local : int
        Rows ``n`` and local parameters per row ``K'``.
    n_params, n_free : int
        Parameters ``d`` and their number ``k`` in the gauge complement.
    n_refine : int
        Rows to refine.

    Returns
    -------
    float

    Examples
    --------
    >>> round(budget_passes(1000, 1, 30, 30, 20))  # one-step ALO: 30 passes
    230
    """
    n, Kp, d, k = (max(1, int(v)) for v in (n_rows, n_local, n_params, n_free))
    one_step = (n * Kp * d * k + n * Kp * k * k + k**3 / 3) / (2 * n * Kp * d)
    return one_step + -(-int(n_refine) // BATCH_ROWS) * FIT_PASSES


def refine_rows(curv, rows, Q, cand, budget=None):
    """Exact leave-one-out NLL of the rows ``cand``, within ``budget`` passes.

    Parameters
    ----------
    curv : Curvature
        The fit (penalised Hessian, gradient, penalty, parameters).
    rows : GLMRows
        Its per-row model (``blocks``, ``nll``, ``derivatives_at``).
    Q : ndarray of shape (d, k)
        Orthonormal basis of the gauge complement.
    cand : ndarray of int of shape (b,)
        Rows to refine.
    budget : float or None, default=None
        Passes allowed; ``None``: :func:`budget_passes` (one-step ALO plus one fit
        per batch of :data:`BATCH_ROWS` rows).

    Returns
    -------
    values : ndarray of shape (b,)
        ``ℓᵢ(θ₋ᵢ)`` where converged (NaN elsewhere).
    ok : ndarray of bool of shape (b,)
        Converged rows.
    out_of_budget : bool
        Some row was still iterating when the budget ran out.
    passes : float
        Passes spent.
    theta : ndarray of shape (b, n_params)
        The left-out fits ``θ₋ᵢ = θ̂ + Qzᵢ`` (meaningful where ``ok``).
    """
    cand = np.asarray(cand, dtype=int)
    b, k = cand.size, Q.shape[1]
    if budget is None:
        budget = budget_passes(rows.n_rows, rows.n_local, curv.n_params, k, b)
    hinv = _inverse(restrict(curv.penalized_hessian, Q))
    values, ok = np.full(b, np.nan), np.zeros(b, dtype=bool)
    if hinv is None or not b:
        return values, ok, False, 0.0, np.tile(curv.params, (b, 1))
    state = _State(curv, rows, Q, cand)
    val, G = state.evaluate(np.zeros((curv.n_params, b)), np.arange(b))
    passes = float(b)
    qn = _QuasiNewton(_Chord(hinv, state.A, state.WL), k, b)
    z = np.zeros((k, b))
    direction = qn.solve(G, np.arange(b))
    dec = 0.5 * np.sum(G * direction, axis=0)
    t = np.ones(b)
    alive = np.isfinite(val) & (dec > 0)
    done = alive & (dec < _TOL)
    while True:
        act = np.flatnonzero(alive & ~done)
        if not act.size:
            break
        if passes + act.size > budget:
            return _values(state, rows, z, done), done, True, passes, _theta(curv, Q, z)
        step = -t[act] * direction[:, act]
        v, g = state.evaluate(Q @ (z[:, act] + step), act)
        passes += act.size
        better = np.isfinite(v) & (v <= val[act] + 8 * np.finfo(float).eps * np.abs(v))
        acc, rej = act[better], act[~better]
        if acc.size:
            qn.update(acc, step[:, better], g[:, better] - G[:, acc])
            z[:, acc] += step[:, better]
            val[acc], G[:, acc], t[acc] = v[better], g[:, better], 1.0
            direction[:, acc] = qn.solve(G[:, acc], acc)
            dec_acc = 0.5 * np.sum(G[:, acc] * direction[:, acc], axis=0)
            alive[acc] = dec_acc > 0  # else not a descent direction: give up
            done[acc] = alive[acc] & (dec_acc < _TOL)
        t[rej] *= 0.5
        alive[rej] = t[rej] >= _MIN_STEP
    return _values(state, rows, z, done), done, False, passes, _theta(curv, Q, z)


def _theta(curv, Q, z):
    """The left-out fits ``θ̂ + Qzᵢ``, one row per candidate."""
    return curv.params[None] + (Q @ z).T


def _values(state, rows, z, done):
    """``ℓᵢ`` at each converged row's own leave-one-out fit."""
    out = np.full(z.shape[1], np.nan)
    if done.any():
        U = state.u[done] + np.einsum("bkr,rb->bk", state.A[done], z[:, done])
        out[done] = rows.nll(state.cand[done], U)
    return out


def _inverse(HQ):
    """``G ↦ H⁻¹G`` for a positive definite ``H`` (Cholesky), else ``None``.

    The inverse is formed once (``k³``, against the one-step pass's ``n·K'·k²``): it
    only preconditions the iteration, whose fixed point is exact whatever its
    rounding, and a product is far cheaper per step than two triangular solves.
    """
    try:
        factor = linalg.cho_factor(HQ, lower=True, check_finite=False)
    except (linalg.LinAlgError, ValueError):
        return None
    Hinv = linalg.cho_solve(factor, np.eye(HQ.shape[0]), check_finite=False)
    return lambda G: Hinv @ G


class _Chord:
    """``g ↦ Cᵢ⁻¹g`` for the rows' chord matrices ``Cᵢ = H − AᵢᵀWᵢAᵢ`` (Woodbury)."""

    def __init__(self, hinv, A, WL):
        b, Kp, k = A.shape
        self.hinv, self.A = hinv, A
        HA = hinv(A.reshape(b * Kp, k).T).T.reshape(b, Kp, k)  # rows of AᵢH⁻¹
        M = np.matmul(HA, A.transpose(0, 2, 1))  # Mᵢ = AᵢH⁻¹Aᵢᵀ
        WM = np.matmul(WL, M)
        top = np.max(np.linalg.eigvals(WM).real, axis=1) if b else np.zeros(0)
        # Cᵢ positive definite iff every eigenvalue of WᵢMᵢ is below 1; else use H
        WL = np.where((top < 1.0 - 1e-9)[:, None, None], WL, 0.0)
        self.TW = np.linalg.solve(np.eye(Kp)[None] - np.matmul(WL, M), WL)

    def solve(self, G, act):
        Y = self.hinv(G)
        A = self.A[act]
        a = np.einsum("bkr,rb->bk", A, Y)
        c = np.einsum("bkl,bl->bk", self.TW[act], a)  # (I − WᵢMᵢ)⁻¹Wᵢ aᵢ
        return Y + self.hinv(np.einsum("bkr,bk->rb", A, c))


class _QuasiNewton:
    """Limited-memory BFGS over the rows, from the chord matrices ``Cᵢ``.

    The two-loop recursion with ``Cᵢ⁻¹`` (Woodbury) as the initial inverse Hessian
    and the last :data:`_MEMORY` steps of each row (newest first in the arrays): the
    chord method's linear rate turns superlinear without forming a Hessian.
    """

    def __init__(self, chord, k, b):
        self.chord = chord
        self.S = np.zeros((b, _MEMORY, k))
        self.Y = np.zeros((b, _MEMORY, k))
        self.rho = np.zeros((b, _MEMORY))
        self.count = np.zeros(b, dtype=int)

    def update(self, act, s, y):
        sy = np.sum(s * y, axis=0)
        good = sy > 1e-12 * np.sqrt(np.sum(s * s, axis=0) * np.sum(y * y, axis=0))
        rows = act[good]
        for arr, new in ((self.S, s[:, good].T), (self.Y, y[:, good].T)):
            arr[rows, 1:] = arr[rows, :-1]
            arr[rows, 0] = new
        self.rho[rows, 1:] = self.rho[rows, :-1]
        self.rho[rows, 0] = 1.0 / sy[good]
        self.count[rows] += 1

    def solve(self, G, act):
        q = G.T.copy()  # (b, k)
        m = min(_MEMORY, int(self.count[act].max(initial=0)))
        S, Y, rho = self.S[act, :m], self.Y[act, :m], self.rho[act, :m]
        alpha = np.zeros((act.size, m))
        for j in range(m):  # newest first
            alpha[:, j] = rho[:, j] * np.sum(S[:, j] * q, axis=1)
            q -= alpha[:, j, None] * Y[:, j]
        r = self.chord.solve(q.T, act).T
        for j in reversed(range(m)):
            beta = rho[:, j] * np.sum(Y[:, j] * r, axis=1)
            r += S[:, j] * (alpha[:, j] - beta)[:, None]
        return r.T


class _State:
    """The candidates' local model, and ``F₋ᵢ`` with its gradient at moved points.

    ``evaluate`` makes one pass over the row blocks of ``rows`` for all the
    candidates asked for: ``U = u + JΔ`` for every row and candidate (a product with
    the block's Jacobian), the weighted ``ℓ`` and ``Jᵀ ℓ'`` without the candidate's
    own row.  The first call (at ``θ̂``) also keeps the candidates' own ``u``, ``AᵢQ``
    and ``wᵢΛᵢ``.
    """

    def __init__(self, curv, rows, Q, cand):
        self.curv, self.rows, self.Q, self.cand = curv, rows, Q, cand
        b, Kp = cand.size, rows.n_local
        self.u = np.empty((b, Kp))
        self.A = np.empty((b, Kp, Q.shape[1]))
        self.WL = np.empty((b, Kp, Kp))
        self._first = True
        # small problems keep the row blocks (u, J) instead of rebuilding them
        small = rows.n_rows * Kp * curv.n_params <= _KEEP_FLOATS
        self._blocks = [] if small else None
        # several linear predictors: Jᵢ = I_m ⊗ x̃ᵢ is block-sparse, and the products
        # with it are m times cheaper through X̃ itself (a pass then costs what one
        # gradient of the fit costs)
        self._structured = getattr(rows, "m", 1) > 1 and hasattr(rows, "_eta")
        if self._structured and b:
            u, J, _, d2 = rows.local(cand)
            self.u[:] = u
            self.A[:] = J @ Q
            self.WL[:] = rows.weights[cand, None, None] * d2
            self._first = False

    def _passes(self):
        if self._blocks is not None and not self._first:
            yield from self._blocks
            return
        for sl, u, J, _, d2 in self.rows.blocks():
            if self._first:
                self._keep(sl, u, J, d2)
                if self._blocks is not None:
                    self._blocks.append((sl, u, J))
            yield sl, u, J

    def evaluate(self, delta, act):
        """``F₋ᵢ(θ̂ + Δ)`` and its gradient ``Qᵀ∇F₋ᵢ`` for the candidates ``act``."""
        if self._structured:
            return self._evaluate_structured(delta, act)
        rows, curv = self.rows, self.curv
        w = rows.weights
        who = self.cand[act]
        b, d = act.size, curv.n_params
        value = np.zeros(b)
        grad = np.zeros((d, b))
        for sl, u, J in self._passes():
            bs, Kp = u.shape
            Jf = J.reshape(bs * Kp, d)
            U = (u.reshape(bs * Kp, 1) + Jf @ delta).reshape(bs, Kp, b)
            U = U.transpose(0, 2, 1).reshape(bs * b, Kp)
            idx = np.repeat(np.arange(sl.start, sl.stop), b)
            ell = rows.nll(idx, U).reshape(bs, b)
            d1 = rows.derivatives_at(idx, U)[0].reshape(bs, b, Kp)
            W = w[sl, None] * (np.arange(sl.start, sl.stop)[:, None] != who[None])
            with np.errstate(invalid="ignore"):
                value += np.sum(np.where(W > 0, W * ell, 0.0), axis=0)
                D = np.where(W[:, :, None] > 0, W[:, :, None] * d1, 0.0)
            grad += Jf.T @ D.transpose(0, 2, 1).reshape(bs * Kp, b)
        self._first = False
        theta = curv.params[:, None] + delta
        value += 0.5 * np.sum(curv.penalty[:, None] * theta**2, axis=0)
        grad += curv.penalty[:, None] * theta
        return value, self.Q.T @ grad

    def _evaluate_structured(self, delta, act):
        """:meth:`evaluate` through ``X̃`` for a GLM with several linear predictors."""
        rows, curv = self.rows, self.curv
        spec, m, pt = rows.spec, rows.m, rows.pt
        w, who = rows.weights, self.cand[act]
        b = act.size
        full = np.zeros((m * pt + int(rows.phi_is_param), b))
        full[rows.keep if rows.keep is not None else slice(None)] = delta
        coef = full[: m * pt].reshape(m, pt, b)
        grad_full = np.zeros_like(full)
        value = np.zeros(b)
        n, Kp = rows.n_rows, rows.n_local
        step = max(16, 2**18 // max(1, b * Kp + pt))
        for start in range(0, n, step):
            stop = min(n, start + step)
            Xb = spec.X[start:stop]
            Xb = Xb.toarray() if hasattr(Xb, "toarray") else np.asarray(Xb, float)
            bs = stop - start
            if spec.intercept is not None:
                Xb = np.column_stack([Xb, np.ones(bs)])
            U = np.empty((bs, b, Kp))
            for k in range(m):
                U[:, :, k] = rows._eta[start:stop, k, None] + Xb @ coef[k]
            if rows.phi_is_param:
                U[:, :, m] = rows.phi + full[-1][None, :]
            idx = np.repeat(np.arange(start, stop), b)
            Uf = U.reshape(bs * b, Kp)
            ell, d1 = rows.nll_and_gradient(idx, Uf)
            ell, d1 = ell.reshape(bs, b), d1.reshape(bs, b, Kp)
            W = w[start:stop, None] * (np.arange(start, stop)[:, None] != who[None])
            with np.errstate(invalid="ignore"):
                value += np.sum(np.where(W > 0, W * ell, 0.0), axis=0)
                D = np.where(W[:, :, None] > 0, W[:, :, None] * d1, 0.0)
            for k in range(m):
                grad_full[k * pt : (k + 1) * pt] += Xb.T @ D[:, :, k]
            if rows.phi_is_param:
                grad_full[-1] += np.sum(D[:, :, m], axis=0)
        grad = grad_full[rows.keep] if rows.keep is not None else grad_full
        theta = curv.params[:, None] + delta
        value += 0.5 * np.sum(curv.penalty[:, None] * theta**2, axis=0)
        grad = grad + curv.penalty[:, None] * theta
        return value, self.Q.T @ grad

    def _keep(self, sl, u, J, d2):
        inside = (self.cand >= sl.start) & (self.cand < sl.stop)
        j = self.cand[inside] - sl.start
        self.u[inside] = u[j]
        self.A[inside] = J[j] @ self.Q
        self.WL[inside] = self.rows.weights[self.cand[inside], None, None] * d2[j]
