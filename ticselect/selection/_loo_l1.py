"""Exact leave-out refits of L1 and elastic-net GLMs, for the refinement of ALO.

The one-step ALO of an L1 fit (:func:`ticselect.approximate_loo`) works on the
fit's active set (Rahnama Rad & Maleki 2020; Wang et al. 2018, "Approximate
leave-one-out for fast parameter tuning in high dimensions", ICML; Auddy, Zou,
Rahnama Rad & Maleki 2024, "Approximate leave-one-out cross validation for regression
with ℓ1 regularizers", IEEE Trans. Inf. Theory): it assumes that leaving a row out
does not change which coefficients are zero.  A row of high leverage often does
change it, and Newton's method on the fixed active set then cannot reach the
leave-one-out fit (a coefficient would cross 0).  Refinement therefore re-solves the
**whole** L1 problem without the row (or group) by proximal Newton: at each step a
quadratic model of the data term (its observed information, floored at a tiny
positive value so the model is convex) plus the exact elastic-net penalty, solved
by cyclic coordinate descent with soft thresholding (the scheme of glmnet: Friedman,
Hastie & Tibshirani 2010, J. Stat. Softw. 33(1)), then a backtracking line search on
the true objective.  It starts from the full fit and stops when the step's predicted
decrease is below 1e-11 nats.

Which rows to refit: besides those of high leverage, the rows whose leave-one-out
fit is predicted to change the active set (:func:`active_set_changes`).  From the
one-step fit on the active set, ``Δβᵢ = H_λ⁻¹x̃ᵢ wᵢℓ'ᵢ / (1 − wᵢℓ''ᵢhᵢ)`` (coefficient
block), a row changes the active set when an active coefficient changes sign, or
when the linearised gradient of the left-out data term at ``β̂ + Δβᵢ`` on an
inactive coefficient exceeds its L1 strength (the subgradient condition fails, so
the coefficient would enter).  On breast-cancer data (L1 logistic, 30 standardised
features) these rows carry all but 0.01 to 0.02 nats of the one-step error.

Conventions (as for every refinement in :mod:`ticselect.selection._loo`)
-------------------------------------------------------------------------
The penalty is held fixed in the units of the fitted objective: for families with a
dispersion whose penalty is on the deviance scale (``Lasso``, ``ElasticNet``,
statsmodels' ``fit_regularized``) the coefficients minimise the deviance-scale
objective, which does not involve ``φ``, and the left-out dispersion is the ML
estimate from the remaining rows (``φ`` itself when it was fixed): what refitting
the estimator without the rows gives with its penalty in loss units unchanged
(scikit-learn's ``Lasso`` averages its loss, so its own refit on ``n − 1`` rows
uses ``alpha · n/(n − 1)`` to hold the same penalty).  One linear predictor
(``m = 1``) and at most :data:`MAX_COLUMNS` columns; otherwise rows are not refined.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy import linalg

from ..curvature._glm import _linear_predictor
from ..curvature._linalg import weighted_gram

__all__ = ["MAX_COLUMNS", "active_set_changes", "refit_nll", "refitable"]

#: Largest number of coefficients (intercept included) refitted exactly; the
#: coordinate descent holds their ``pt × pt`` Gram matrix.
MAX_COLUMNS = 2000
#: Predicted decrease (nats) of a proximal Newton step that ends the iteration.
_TOL = 1e-11
_MAX_OUTER, _MAX_SWEEPS = 100, 5000
#: Floats per block of predicted inactive gradients.
_BLOCK_FLOATS = 2**22


def refitable(curv):
    """Whether the exact L1 refit applies to ``curv`` (see the module docstring).

    Parameters
    ----------
    curv : Curvature

    Returns
    -------
    bool
    """
    active = getattr(curv, "active_set", None)
    spec = getattr(active, "spec", None)
    if spec is None or spec.coef.shape[0] != 1 or spec.drop_classes:
        return False
    return spec.X.shape[1] + int(spec.intercept is not None) <= MAX_COLUMNS


class _Problem:
    """``min_β Σ vᵢℓ(yᵢ, x̃ᵢβ + offᵢ; φ) + Σ ½c2ₖβₖ² + c1ₖ|βₖ|`` for a full spec."""

    def __init__(self, curv):
        spec = curv.active_set.spec
        fam = spec.family
        self.spec, self.fam = spec, fam
        p = spec.X.shape[1]
        self.Xt = self.design(spec)
        pt = p + int(spec.intercept is not None)
        c1, c2 = np.zeros(pt), np.zeros(pt)
        c1[:p] = np.broadcast_to(np.asarray(spec.l1, dtype=float), (1, p))[0]
        c2[:p] = np.asarray(spec.l2, dtype=float)
        if spec.intercept is not None:
            c1[p], c2[p] = spec.l1_intercept, spec.l2_intercept
        # deviance-scale penalties leave β free of φ: solve at φ = 1 (else at φ̂)
        on_deviance = spec.l2_over_dispersion or not fam.has_dispersion
        phi = curv.dispersion
        self.phi_obj = 1.0 if on_deviance or phi is None else phi
        self.c1, self.c2 = c1, c2
        n = spec.X.shape[0]
        self.off = np.zeros(n) if spec.offset is None else np.asarray(spec.offset)
        start = [spec.coef[0]]
        if spec.intercept is not None:
            start.append(spec.intercept)
        self.beta0 = np.concatenate(start).astype(float)
        self.phi_is_param = curv.dispersion_is_param
        self.phi = curv.dispersion

    @staticmethod
    def design(spec):
        """``X̃``: the design with the intercept column (dense or CSR)."""
        X = spec.X
        if spec.intercept is None:
            return X
        ones = np.ones((X.shape[0], 1))
        if sp.issparse(X):
            return sp.hstack([X, ones], format="csr")
        return np.hstack([np.asarray(X, dtype=float), ones])

    def eta(self, beta):
        return np.asarray(self.Xt @ beta, dtype=float) + self.off

    def objective(self, beta, w):
        with np.errstate(all="ignore"):
            eta = self.eta(beta)
            try:
                self.fam.check_mu(self.fam.mean(eta))
            except ValueError:
                return np.inf
            data = np.sum(w * self.fam.nll(self.spec.y, eta, self.phi_obj))
        pen = 0.5 * np.sum(self.c2 * beta**2) + np.sum(self.c1 * np.abs(beta))
        value = float(data + pen)
        return value if np.isfinite(value) else np.inf

    def solve(self, w):
        """The minimiser for weights ``w`` (left-out rows at 0), or ``None``."""
        beta = self.beta0.copy()
        value = self.objective(beta, w)
        for _ in range(_MAX_OUTER):
            eta = self.eta(beta)
            d1, d2 = self.fam.eta_derivatives(self.spec.y, eta, self.phi_obj)
            v = w * d2
            top = np.max(np.abs(v)) if v.size else 0.0
            v = np.maximum(v, 1e-12 * top)  # a convex quadratic model
            A = weighted_gram(self.Xt, v)
            g = np.asarray(self.Xt.T @ (w * d1), dtype=float)
            new = _coordinate_descent(A, A @ beta - g, self.c1, self.c2, beta)
            d = new - beta
            decrease = -(
                g @ d
                + 0.5 * np.sum(self.c2 * (new**2 - beta**2))
                + np.sum(self.c1 * (np.abs(new) - np.abs(beta)))
            )
            if not decrease > _TOL:
                return beta
            t = 1.0
            for _half in range(40):
                trial = beta + t * d
                v_trial = self.objective(trial, w)
                if v_trial <= value - 1e-4 * t * decrease:
                    break
                t *= 0.5
            else:
                return None
            beta, value = trial, v_trial
        return None

    def rows_nll(self, beta, w, rows):
        """``ℓᵢ`` of ``rows`` at ``β`` and the left-out dispersion."""
        eta = self.eta(beta)
        phi = 1.0 if self.phi is None else self.phi
        if self.phi_is_param:
            phi = self.fam.ml_dispersion(self.spec.y, eta, w)
            if not phi > 0:
                return None
        with np.errstate(all="ignore"):
            out = self.fam.nll(self.spec.y[rows], eta[rows], phi)
        out = np.asarray(out, dtype=float)
        return out if np.all(np.isfinite(out)) else None


def _coordinate_descent(A, b, c1, c2, beta):
    """``argmin ½βᵀAβ − bᵀβ + Σ ½c2ₖβₖ² + c1ₖ|βₖ|`` by cyclic coordinate descent.

    Every few sweeps the sign pattern is tried as the solution: the linear system on
    the non-zero coordinates, accepted when its signs hold and the inactive ones
    satisfy the subgradient condition (then the result is exact, and an
    ill-conditioned ``A`` costs a few sweeps instead of thousands).
    """
    beta = beta.copy()
    grad = A @ beta - b
    diag = np.diag(A) + c2
    scale = max(float(np.max(diag)), 1e-300) if diag.size else 1.0
    for sweep in range(_MAX_SWEEPS):
        if sweep % 4 == 3:
            exact = _sign_pattern_solution(A, b, c1, c2, beta)
            if exact is not None:
                return exact
        biggest = 0.0
        for k in range(beta.size):
            if not diag[k] > 1e-14 * scale:
                continue
            old = beta[k]
            r = A[k, k] * old - grad[k]
            new = np.sign(r) * max(abs(r) - c1[k], 0.0) / diag[k]
            if new != old:
                grad += A[:, k] * (new - old)
                beta[k] = new
                biggest = max(biggest, diag[k] * (new - old) ** 2)
        if biggest < 1e-3 * _TOL:
            break
    return beta


def active_set_changes(curv):
    """Rows whose one-step leave-one-out fit changes the active set (see above).

    Parameters
    ----------
    curv : Curvature
        An L1 fit for which :func:`refitable` is true.

    Returns
    -------
    ndarray of bool of shape (n_rows,)
    """
    active = curv.active_set
    spec = active.spec
    n = spec.X.shape[0]
    on = active.active
    Xt = _Problem.design(spec)
    eta = _linear_predictor(spec)[:, 0]
    phi = 1.0 if curv.dispersion is None else float(curv.dispersion)
    d1, d2 = spec.family.eta_derivatives(spec.y, eta, phi)
    w = np.asarray(spec.sample_weight, dtype=float)
    k = int(np.sum(on))
    B = curv.penalized_hessian[:k, :k]
    XA = _dense(Xt[:, np.flatnonzero(on)])
    try:
        V = linalg.cho_solve(linalg.cho_factor(B), XA.T)  # (k, n)
    except (linalg.LinAlgError, ValueError):
        V = np.linalg.pinv(B, hermitian=True) @ XA.T
    h = np.einsum("kn,nk->n", V, XA)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = w * d1 / (1.0 - w * d2 * h)
    dB = V * s  # one-step Δβ of every row, (k, n)
    beta = curv.params[:k]
    l1_on = active.l1[on]
    changes = np.any((beta[:, None] * (beta[:, None] + dB) < 0) & (l1_on[:, None] > 0),
                     axis=0)  # fmt: skip
    off = np.flatnonzero(~on)
    if off.size:
        Xin = Xt[:, off]
        G = np.asarray(Xin.T @ (w * d1), dtype=float)
        HinA = np.asarray(Xin.T @ (w[:, None] * d2[:, None] * XA), dtype=float)
        deta = np.einsum("nk,kn->n", XA, dB)
        l1_off = active.l1[off][:, None]
        step = max(1, _BLOCK_FLOATS // max(1, off.size))
        for start in range(0, n, step):
            sl = slice(start, min(n, start + step))
            Xb = _dense(Xin[sl]).T  # (p_in, b)
            g = (
                G[:, None]
                + HinA @ dB[:, sl]
                - Xb * (w[sl] * (d1[sl] + d2[sl] * deta[sl]))
            )
            changes[sl] |= np.any(np.abs(g) > l1_off, axis=0)
    return changes | ~np.isfinite(s)


def _dense(A):
    return A.toarray() if sp.issparse(A) else np.asarray(A, dtype=float)


def _sign_pattern_solution(A, b, c1, c2, beta):
    """The exact minimiser with the non-zero set and signs of ``beta``, or ``None``."""
    on = (beta != 0) | (c1 == 0)
    sign = np.sign(beta[on])
    M = A[np.ix_(on, on)] + np.diag(c2[on])
    try:
        with warnings.catch_warnings():  # singular M (duplicated active columns):
            warnings.simplefilter("error", linalg.LinAlgWarning)  # sweep on instead
            x = linalg.solve(M, b[on] - c1[on] * sign, assume_a="pos",
                             check_finite=False)  # fmt: skip
    except (linalg.LinAlgError, linalg.LinAlgWarning, ValueError):
        return None
    if np.any((np.sign(x) != sign) & (c1[on] > 0)):
        return None
    new = np.zeros_like(beta)
    new[on] = x
    grad = A @ new - b
    off = ~on
    if np.any(np.abs(grad[off]) > c1[off] * (1 + 1e-9) + 1e-12 * (1 + np.abs(b[off]))):
        return None
    return new


def refit_nll(curv, sets):
    """Exact leave-out NLL (unweighted, per row) for each set of rows left out.

    Parameters
    ----------
    curv : Curvature
        An L1 fit for which :func:`refitable` is true.
    sets : list of ndarray of int
        Rows left out together (one row, or a group's rows).

    Returns
    -------
    list of (ndarray of shape (len(rows),) or None)
        ``ℓᵢ(θ₋ₛ)`` of the left-out rows, ``None`` where the refit did not converge
        or leaves the parameter space.
    """
    problem = _Problem(curv)
    w_all = np.asarray(problem.spec.sample_weight, dtype=float)
    out = []
    for rows in sets:
        w = w_all.copy()
        w[rows] = 0.0
        beta = problem.solve(w)
        out.append(None if beta is None else problem.rows_nll(beta, w, rows))
    return out
