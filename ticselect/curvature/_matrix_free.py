"""Layer 1 — matrix-free curvature: Hessian-vector products, Lanczos, Hutch++ and CG.

For networks whose ``d × d`` Hessian does not fit in memory, :func:`curvature_operators`
returns products with ``H``, ``C`` and a factor ``L`` of ``C = L Lᵀ`` without forming
any ``d × d`` array (memory ``O(m·n·width)`` for ``m`` vectors at a time).  From them:

- :func:`top_eigenvalues`: largest eigenvalues of ``H`` (implicitly restarted Lanczos,
  ARPACK), with residual norms ``‖Hv - λv‖`` as error bounds;
- :func:`estimate_trace`: ``tr(H)`` (or of ``H_λ``, ``C``) by Hutch++ with a standard
  error;
- :func:`estimate_tic_penalty`: ``tr(H_λ⁻¹ C) = tr(Lᵀ H_λ⁻¹ L)`` by Hutch++ on the
  symmetric positive semi-definite operator ``Lᵀ H_λ⁻¹ L``, each product one batched
  conjugate-gradient solve;

:func:`ticselect.tic_penalty` (in :mod:`ticselect.selection`, where the exact route
through :func:`ticselect.criteria` is visible too) chooses between the two.

Every random routine takes ``random_state`` and is reproducible for a fixed seed.
Conventions (units, gauge) are those of :mod:`ticselect.curvature._result` and
:mod:`ticselect.curvature._mlp`; gauge directions are projected out as in
:func:`criteria`.
The operators also wrap any dense :class:`~ticselect.Curvature` (GLMs), which is
how the estimators are tested against exact values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.sparse.linalg import LinearOperator, eigsh
from sklearn.utils import check_random_state

from .._validation import (
    check_fitted,
    check_sample_weight,
    unwrap_pipeline,
    validate_X,
    validate_y,
)
from ._dispatch import curvature, is_sklearn_mlp
from ._mlp import forward, output_loss
from ._mlp_gauge import network_gauge
from .adapters.sklearn_mlp import mlp_spec

__all__ = [
    "CurvatureOperators",
    "Estimate",
    "curvature_operators",
    "estimate_tic_penalty",
    "estimate_trace",
    "hutchpp",
    "top_eigenvalues",
]


@dataclass(frozen=True)
class Estimate:
    """A randomised estimate with its error.

    Attributes
    ----------
    value : float or ndarray
        The estimate.
    error : float or ndarray
        One standard error (traces) or the residual-norm bound (eigenvalues).
    n_matvecs : int
        Operator products used (a CG solve counts its Hessian-vector products).

    Examples
    --------
    >>> import numpy as np
    >>> est = Estimate(value=2.0, error=0.1, n_matvecs=30)
    >>> est.value - 2 * est.error < 2.05 < est.value + 2 * est.error
    True
    """

    value: object
    error: object
    n_matvecs: int


@dataclass
class CurvatureOperators:
    """Products with ``H``, ``C`` and a factor of ``C`` (all ``(d, m)`` blocks).

    Attributes
    ----------
    n_params : int
        ``d``.
    hvp : callable
        ``V (d, m) -> H V``.
    cov_factor : callable
        ``U (r, m) -> L U`` with ``C = L Lᵀ``.
    cov_factor_t : callable
        ``V (d, m) -> Lᵀ V``.
    cov_rank : int
        ``r``, the number of columns of ``L``.
    penalty : ndarray of shape (d,)
        Diagonal ``λP``.
    gauge : ndarray of shape (d, g)
        Orthonormal gauge directions (projected out).

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = rng.poisson(np.exp(0.3 * X[:, 0]))
    >>> curv = ts.curvature(PoissonRegressor(tol=1e-12).fit(X, y), X, y)
    >>> ops = ts.CurvatureOperators.from_curvature(curv)
    >>> V = np.eye(ops.n_params)
    >>> bool(np.allclose(ops.hvp(V), curv.hessian))
    True
    """

    n_params: int
    hvp: object
    cov_factor: object
    cov_factor_t: object
    cov_rank: int
    penalty: np.ndarray
    gauge: np.ndarray

    def project(self, V):
        """Remove the gauge components of the columns of ``V`` (d, m)."""
        if self.gauge.shape[1] == 0:
            return V
        return V - self.gauge @ (self.gauge.T @ V)

    def penalized_hvp(self, V):
        """``P (H + diag(penalty)) P V`` with ``P`` the gauge projector."""
        V = self.project(V)
        return self.project(self.hvp(V) + self.penalty[:, None] * V)

    def cvp(self, V):
        """``C V``."""
        return self.cov_factor(self.cov_factor_t(V))

    @classmethod
    def from_curvature(cls, curv):
        """Wrap a dense :class:`~ticselect.Curvature` (e.g. of a GLM).

        Parameters
        ----------
        curv : Curvature
            Any curvature.

        Returns
        -------
        CurvatureOperators
        """
        # H_λ of the criteria minus the penalty: for a penalised fit with a
        # dispersion this includes the penalty's dispersion cross-derivative
        # (Curvature.penalized_hessian), so both routes agree
        H = curv.penalized_hessian - np.diag(curv.penalty)
        evals, evecs = linalg.eigh(curv.grad_cov)
        keep = evals > 1e-14 * max(evals.max(), 0.0)
        Lc = evecs[:, keep] * np.sqrt(evals[keep])
        return cls(
            n_params=curv.n_params,
            hvp=lambda V: H @ V,
            cov_factor=lambda U: Lc @ U,
            cov_factor_t=lambda V: Lc.T @ V,
            cov_rank=Lc.shape[1],
            penalty=curv.penalty,
            gauge=curv.gauge,
        )


# ------------------------------------------------------------------ MLP operators
def mlp_operators(spec):
    """Matrix-free operators of a network described by an ``MLPSpec``.

    Hessian-vector products are exact (Pearlmutter's R-operator: forward-mode
    differentiation of the backward pass, batched over the ``m`` columns).

    Parameters
    ----------
    spec : MLPSpec
        The network and its data.

    Returns
    -------
    CurvatureOperators
    """
    ops = _MLPProducts(spec)
    return CurvatureOperators(
        n_params=spec.n_params,
        hvp=ops.hvp,
        cov_factor=ops.cov_factor,
        cov_factor_t=ops.cov_factor_t,
        cov_rank=spec.X.shape[0],
        penalty=spec.penalty(),
        gauge=network_gauge(spec),
    )


class _MLPProducts:
    """The forward and first backward pass of a network, and products with them.

    ``hvp(V)`` is ``H V``, ``cov_factor(U)`` is ``Gᵀ W^{1/2} U`` and
    ``cov_factor_t(V)`` is ``W^{1/2} G V`` (``C = L Lᵀ`` with ``L = Gᵀ W^{1/2}``),
    for blocks of ``m`` columns.
    """

    def __init__(self, spec):
        self.spec = spec
        self.inputs, pre, self.derivs = forward(spec)
        _, r, lam = output_loss(spec.output, pre[-1], spec.Y, spec.sigma2)
        self.r, self.lam = r, np.asarray(lam)
        self.w = w = spec.sample_weight
        self.L = L = len(spec.coefs)
        self.shapes = spec.layer_shapes
        self.offs = np.concatenate([[0], np.cumsum([a * b for a, b in self.shapes])])
        self.d_theta = int(self.offs[-1])
        self.d = spec.n_params
        # first-order backward pass, kept for the R-operator
        g = [None] * L
        g[-1] = r
        for l_ in range(L - 1, 0, -1):
            g[l_ - 1] = (g[l_] @ spec.coefs[l_].T) * self.derivs[l_ - 1][0]
        self.g = g
        self.gauss = spec.sigma2_is_param
        if self.gauss:
            s2 = spec.sigma2
            K = spec.Y.shape[1]
            rss = np.sum((spec.Y - pre[-1]) ** 2, axis=1)
            self.lphi = K / (2 * s2) - rss / (2 * s2**2)
            self.lphiphi = float(np.sum(w * (-K / (2 * s2**2) + rss / s2**3)))
            self.gsum = np.concatenate(
                [
                    np.concatenate([A.T @ (w[:, None] * gl), (w @ gl)[None]]).ravel()
                    for A, gl in zip(self.inputs, g, strict=True)
                ]
            )

    def _layers(self, V):
        return [
            V[self.offs[i] : self.offs[i + 1]].T.reshape(-1, a, b)
            for i, (a, b) in enumerate(self.shapes)
        ]

    def _r_forward(self, Vl):
        """R-operator of the pre-activations of every layer, shape (m, n, h) each."""
        RA, RU = None, []
        for l_ in range(self.L):
            Wv, bv = Vl[l_][:, :-1, :], Vl[l_][:, -1, :]
            ru = np.matmul(self.inputs[l_], Wv) + bv[:, None, :]
            if RA is not None:
                ru += np.matmul(RA, self.spec.coefs[l_])
            RU.append(ru)
            if l_ < self.L - 1:
                RA = self.derivs[l_][0] * ru
        return RU

    def hvp(self, V):
        """``H V`` for ``V`` of shape ``(d, m)``."""
        V = np.asarray(V, dtype=float)
        m = V.shape[1]
        Vl = self._layers(V)
        RU = self._r_forward(Vl)
        g, w, derivs = self.g, self.w, self.derivs
        Rg = np.einsum("nkj,mnj->mnk", self.lam, RU[-1])
        if self.gauss:
            Rg = Rg - (self.r / self.spec.sigma2)[None] * V[-1][:, None, None]
        out = np.empty((self.d, m))
        for l_ in range(self.L - 1, -1, -1):
            A = self.inputs[l_]
            wg, wRg = w[:, None] * g[l_], w[None, :, None] * Rg
            blk = np.empty((m,) + self.shapes[l_])
            blk[:, :-1, :] = np.matmul(A.T, wRg)
            blk[:, -1, :] = wRg.sum(axis=1)
            if l_:
                RAp = derivs[l_ - 1][0] * RU[l_ - 1]
                blk[:, :-1, :] += np.matmul(RAp.transpose(0, 2, 1), wg)
                W = self.spec.coefs[l_]
                e = g[l_] @ W.T
                Re = np.matmul(Rg, W.T) + np.matmul(
                    g[l_], Vl[l_][:, :-1, :].transpose(0, 2, 1)
                )
                d1, d2 = derivs[l_ - 1]
                Rg = Re * d1 + (e * d2) * RU[l_ - 1]
            out[self.offs[l_] : self.offs[l_ + 1]] = blk.reshape(m, -1).T
        if self.gauss:  # the θ rows of the σ² column came through Rg above
            s2 = self.spec.sigma2
            out[-1] = -(self.gsum @ V[: self.d_theta]) / s2 + self.lphiphi * V[-1]
        return out

    def cov_factor_t(self, V):
        """``Lᵀ V = W^{1/2} G V``, shape ``(n, m)``."""
        V = np.asarray(V, dtype=float)
        Vl = self._layers(V)
        out = 0.0
        for l_ in range(self.L):
            AV = np.matmul(self.inputs[l_], Vl[l_][:, :-1, :]) + Vl[l_][:, -1:, :]
            out = out + np.einsum("mnh,nh->nm", AV, self.g[l_])
        if self.gauss:
            out = out + self.lphi[:, None] * V[-1][None, :]
        return np.sqrt(self.w)[:, None] * out

    def cov_factor(self, U):
        """``L U = Gᵀ W^{1/2} U``, shape ``(d, m)``."""
        U = np.sqrt(self.w)[:, None] * np.asarray(U, dtype=float)
        m = U.shape[1]
        out = np.empty((self.d, m))
        for l_ in range(self.L):
            ug = U.T[:, :, None] * self.g[l_][None]
            blk = np.concatenate(
                [np.matmul(self.inputs[l_].T, ug), ug.sum(axis=1)[:, None, :]], axis=1
            )
            out[self.offs[l_] : self.offs[l_ + 1]] = blk.reshape(m, -1).T
        if self.gauss:
            out[-1] = self.lphi @ U
        return out


def curvature_operators(model, X=None, y=None, sample_weight=None, *, dispersion=None):
    """Matrix-free curvature operators of a fitted model.

    Parameters
    ----------
    model : fitted estimator, Pipeline or statsmodels results
        Networks get exact matrix-free products; any other supported model is wrapped
        from its dense :class:`~ticselect.Curvature`.
    X, y, sample_weight : array-like, default=None
        Training data, as for :func:`ticselect.curvature`.
    dispersion : None or float, default=None
        As for :func:`ticselect.curvature`.

    Returns
    -------
    CurvatureOperators

    Notes
    -----
    ``relu`` hidden units: the second derivative of ``relu`` is zero almost
    everywhere and is taken as zero, so ``H`` (exact or as products) is the Hessian of
    the loss on the linear piece containing ``θ̂``.  Its remaining curvature comes from
    the output likelihood and the products of weights across layers.  An L-BFGS fit of
    a relu network often stops with a pre-activation at a kink, where the gradient is
    one-sided; a :class:`~ticselect.NotStationaryWarning` then says so.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> net = MLPClassifier(hidden_layer_sizes=(3,), activation="tanh", alpha=1.0,
    ...                     solver="lbfgs", max_iter=2000, random_state=0).fit(X, y)
    >>> ops = curvature_operators(net, X, y)
    >>> ops.hvp(np.eye(ops.n_params)[:, :2]).shape
    (27, 2)
    """
    est, Xt = unwrap_pipeline(model, X)
    if is_sklearn_mlp(est):
        check_fitted(est)
        Xv = validate_X(Xt, est)
        yv = validate_y(y, Xv.shape[0]) if est.n_outputs_ == 1 else y
        w = check_sample_weight(sample_weight, Xv.shape[0])
        return mlp_operators(mlp_spec(est, Xv, yv, w, dispersion=dispersion))
    return CurvatureOperators.from_curvature(
        curvature(model, X, y, sample_weight, dispersion=dispersion)
    )


def hutchpp(matvec, dim, n_matvecs=60, random_state=None):
    """Hutch++ estimate of the trace of a symmetric operator.

    A third of the products sketch the dominant range ``Q`` (its trace is exact), the
    rest estimate the trace of the deflated remainder by Hutchinson with Rademacher
    probes (Meyer, Musco, Musco & Woodruff 2021).

    Parameters
    ----------
    matvec : callable
        ``V (dim, m) -> A V``.
    dim : int
        Size of ``A``.
    n_matvecs : int, default=60
        Budget of products (at least 3).
    random_state : int, RandomState or None, default=None
        Seed of the probes.

    Returns
    -------
    Estimate
        ``error`` is the standard error of the Hutchinson part (0 when the sketch
        covers all of ``A``).

    Examples
    --------
    >>> A = np.diag(np.arange(1.0, 11.0))
    >>> est = hutchpp(lambda V: A @ V, 10, n_matvecs=30, random_state=0)
    >>> round(est.value, 8)
    55.0
    """
    if n_matvecs < 3:
        raise ValueError(f"n_matvecs must be at least 3, got {n_matvecs}.")
    rng = check_random_state(random_state)
    k = n_matvecs // 3
    if 2 * k >= dim:  # the sketch alone spans the whole space: exact
        Q = np.eye(dim)
        return Estimate(float(np.trace(matvec(Q))), 0.0, dim)
    S = rng.choice([-1.0, 1.0], size=(dim, k))
    Q, _ = linalg.qr(matvec(S), mode="economic")
    t_top = float(np.trace(Q.T @ matvec(Q)))
    Gm = rng.choice([-1.0, 1.0], size=(dim, n_matvecs - 2 * k))
    Gm = Gm - Q @ (Q.T @ Gm)
    samples = np.sum(Gm * matvec(Gm), axis=0)
    err = (
        float(samples.std(ddof=1) / np.sqrt(samples.size)) if samples.size > 1 else 0.0
    )
    return Estimate(t_top + float(samples.mean()), err, n_matvecs)


def estimate_trace(ops, *, which="hessian", n_matvecs=60, random_state=None):
    """Hutch++ estimate of ``tr(H)``, ``tr(H_λ)`` or ``tr(C)``.

    Parameters
    ----------
    ops : CurvatureOperators
        From :func:`curvature_operators`.
    which : {"hessian", "penalized_hessian", "grad_cov"}, default="hessian"
        The matrix (gauge directions are not projected out).
    n_matvecs : int, default=60
        Budget of products.
    random_state : int, RandomState or None, default=None
        Seed.

    Returns
    -------
    Estimate

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = rng.poisson(np.exp(0.3 * X[:, 0]))
    >>> curv = ts.curvature(PoissonRegressor(tol=1e-12).fit(X, y), X, y)
    >>> ops = ts.CurvatureOperators.from_curvature(curv)
    >>> est = ts.estimate_trace(ops, n_matvecs=12, random_state=0)  # budget ≥ 3d: exact
    >>> bool(np.isclose(est.value, np.trace(curv.hessian)))
    True
    """
    mv = {
        "hessian": ops.hvp,
        "penalized_hessian": lambda V: ops.hvp(V) + ops.penalty[:, None] * V,
        "grad_cov": ops.cvp,
    }
    if which not in mv:
        raise ValueError(f"which must be one of {sorted(mv)}, got {which!r}.")
    return hutchpp(mv[which], ops.n_params, n_matvecs, random_state)


def top_eigenvalues(ops, k=1, *, tol=1e-8, random_state=None):
    """Largest algebraic eigenvalues of ``H`` by Lanczos (ARPACK ``eigsh``).

    Parameters
    ----------
    ops : CurvatureOperators
        From :func:`curvature_operators`.
    k : int, default=1
        Number of eigenvalues (``k < n_params``).
    tol : float, default=1e-8
        Relative accuracy requested from ARPACK.
    random_state : int, RandomState or None, default=None
        Seed of the starting vector.

    Returns
    -------
    Estimate
        ``value`` and ``error`` (``‖Hv - λv‖``, a bound on ``|λ - λ_true|`` for a
        symmetric ``H``) are arrays of shape (k,), largest first.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4))
    >>> y = rng.poisson(np.exp(0.3 * X[:, 0]))
    >>> curv = ts.curvature(PoissonRegressor(tol=1e-12).fit(X, y), X, y)
    >>> ops = ts.CurvatureOperators.from_curvature(curv)
    >>> top = ts.top_eigenvalues(ops, k=1, random_state=0)
    >>> bool(np.isclose(top.value[0], np.linalg.eigvalsh(curv.hessian)[-1]))
    True
    """
    d = ops.n_params
    if not 1 <= k < d:
        raise ValueError(f"k must be between 1 and n_params - 1 = {d - 1}, got {k}.")
    rng = check_random_state(random_state)
    count = [0]

    def mv(v):
        count[0] += 1
        return ops.hvp(np.asarray(v, dtype=float).reshape(d, -1))[:, 0]

    op = LinearOperator((d, d), matvec=mv, dtype=float)
    vals, vecs = eigsh(op, k=k, which="LA", tol=tol, v0=rng.normal(size=d))
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    res = np.linalg.norm(ops.hvp(vecs) - vecs * vals, axis=0)
    return Estimate(vals, res, count[0] + k)


def _block_cg(matvec, B, tol, maxiter):
    """Solve ``A X = B`` column by column (vectorised CG), ``A`` symmetric PD."""
    X = np.zeros_like(B)
    R = B.copy()
    P = R.copy()
    rr = np.sum(R * R, axis=0)
    bnorm = np.sqrt(np.sum(B * B, axis=0))
    bnorm[bnorm == 0] = 1.0
    n_mv = 0
    for _ in range(maxiter):
        active = np.sqrt(rr) > tol * bnorm
        if not np.any(active):
            break
        AP = matvec(P[:, active])
        n_mv += int(active.sum())
        pAp = np.sum(P[:, active] * AP, axis=0)
        if np.any(pAp <= 0):
            raise ValueError(
                "The penalised Hessian is not positive definite (conjugate gradients "
                "met negative curvature): the fit is not a local minimum. Refit to "
                "convergence, or use the exact curvature."
            )
        a = rr[active] / pAp
        X[:, active] += a * P[:, active]
        R[:, active] -= a * AP
        rr_new = np.sum(R[:, active] ** 2, axis=0)
        P[:, active] = R[:, active] + (rr_new / rr[active]) * P[:, active]
        rr[active] = rr_new
    rel = float(np.max(np.sqrt(rr) / bnorm))
    return X, rel, n_mv


def estimate_tic_penalty(
    ops, *, n_matvecs=60, random_state=None, cg_tol=1e-8, cg_maxiter=None
):
    """``tr(H_λ⁻¹ C)`` without forming ``H``: Hutch++ over CG solves.

    ``tr(H_λ⁻¹ C) = tr(Lᵀ H_λ⁻¹ L)`` with ``C = L Lᵀ``; the right-hand operator is
    symmetric positive semi-definite of size ``r`` (``n`` for networks), each of its
    products is one batched conjugate-gradient solve with the gauge-projected
    penalised Hessian.  With ``n_matvecs ≥ 1.5 r`` the sketch spans everything and the
    result is exact up to the CG tolerance.

    Parameters
    ----------
    ops : CurvatureOperators
        From :func:`curvature_operators`.
    n_matvecs : int, default=60
        Budget of Hutch++ products (each is a CG solve).
    random_state : int, RandomState or None, default=None
        Seed of the probes.
    cg_tol : float, default=1e-8
        Relative residual at which CG stops.
    cg_maxiter : int or None, default=None
        Iteration cap (``10 · n_params`` when ``None``).

    Returns
    -------
    Estimate
        ``error`` combines the Hutch++ standard error and the CG residual (relative
        residual times the estimate).

    Raises
    ------
    ValueError
        When ``H_λ`` has negative curvature (the fit is not a local minimum).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_breast_cancer
    >>> import ticselect as ts
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = (X - X.mean(0)) / X.std(0)
    >>> model = LogisticRegression(C=0.1, tol=1e-10).fit(X, y)
    >>> ops = curvature_operators(model, X, y)
    >>> est = estimate_tic_penalty(ops, n_matvecs=60, random_state=0)
    >>> exact = ts.criteria(ts.curvature(model, X, y)).tic_penalty
    >>> bool(abs(est.value - exact) < 1e-6 * exact)
    True
    """
    maxiter = 10 * ops.n_params if cg_maxiter is None else int(cg_maxiter)
    stats = {"rel": 0.0, "mv": 0}

    def matvec(U):
        B = ops.project(ops.cov_factor(U))
        Xs, rel, n_mv = _block_cg(ops.penalized_hvp, B, cg_tol, maxiter)
        stats["rel"] = max(stats["rel"], rel)
        stats["mv"] += n_mv
        return ops.cov_factor_t(Xs)

    est = hutchpp(matvec, ops.cov_rank, n_matvecs, random_state)
    err = float(np.hypot(est.error, stats["rel"] * abs(est.value)))
    return Estimate(est.value, err, stats["mv"])
