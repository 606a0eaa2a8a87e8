"""GLM plumbing: the chain rule from per-sample derivatives in η to the parameters.

An adapter reads a fitted model into a :class:`GLMSpec`; :func:`glm_curvature` turns
any spec into a :class:`~ticselect.Curvature` in one pass over row blocks:

``H = Σ_blocks X̃ᵀ diag(w ℓ'') X̃``, ``C = Σ_blocks Gᵀ diag(w) G`` with
``G = ℓ'[:, None] X̃`` (``X̃`` the design with the intercept column appended), plus the
dispersion row and column.  Only one block of ``G`` exists at a time; the full
per-sample gradient matrix is built only if the user asks for it.  A dense design
with one linear predictor (every binomial, Poisson, Gamma, ... fit) takes the fused
route of :mod:`ticselect.curvature._glm_blocks`: the linear predictor and the
family's rows are formed block by block too, the intercept column is never
materialised, and the design is read once.
Conventions: see :mod:`ticselect.curvature._result`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import scipy.sparse as sp

from .._validation import check_dispersion, check_finite_X
from ._glm_blocks import fused_dense
from ._glm_blocks import linear_predictor as _linear_predictor
from ._linalg import weighted_gram
from ._output import glm_output_jacobians
from ._result import Curvature

#: Rows per block: about 2**22 floats (32 MiB) per block temporary.
_BLOCK_FLOATS = 2**22


@dataclass
class GLMSpec:
    """Everything needed to evaluate a fitted GLM's curvature.

    Attributes
    ----------
    family : Family
        Family and link.
    X : ndarray or sparse matrix of shape (n, p)
        Design without the intercept column.
    y : ndarray of shape (n,)
        Responses (class indices for the multinomial family).
    coef : ndarray of shape (m, p)
        Coefficients, one row per linear predictor (``m = K`` for the multinomial).
    intercept : ndarray of shape (m,) or None
        Intercepts, ``None`` when the model has none.
    sample_weight : ndarray of shape (n,)
        Frequency weights.
    offset : ndarray of shape (n,) or None
        Added to the linear predictor.
    l2 : float or ndarray of shape (p,)
        Penalty strength on the coefficients, in loss units, before division by the
        dispersion (see ``l2_over_dispersion``); one value per column of ``X`` for
        per-coefficient penalties (statsmodels' vector ``alpha``).
    l2_intercept : float
        Penalty strength on the intercepts (liblinear and dask-glm penalise it).
    l2_over_dispersion : bool
        Divide every penalty (L2 and L1) by the dispersion (sklearn's objectives are
        deviances).
    l1 : float or ndarray of shape (p,) or (m, p)
        Strength of an L1 penalty ``Σ l1ⱼ|βⱼ|`` on the coefficients, same units as
        ``l2``.  Only the active coefficients (non-zero) are parameters of an L1 fit
        (:mod:`ticselect.curvature._active` restricts the spec first); on them the
        term is linear, ``l1 · sign(β̂)``, and enters the gradient only.
    l1_intercept : float
        L1 strength on the intercept (liblinear's L1 penalises it).
    feature_names, class_names : list of str
        Used to name the parameters.
    model_name : str
        Short description.
    softmax_gauge : bool
        Whether the model is the over-parameterised softmax (adds gauge directions).
    drop_classes : tuple of int
        Classes whose coefficient rows are fixed at zero (statsmodels' reference class)
        and therefore not parameters.
    drop_params : tuple of int
        Single entries of the class-major layout ``[coef_[0], intercept_[0],
        coef_[1], ...]`` fixed at zero (the inactive entries of an L1-penalised
        multinomial fit), not parameters either.
    """

    family: object
    X: object
    y: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray | None
    sample_weight: np.ndarray
    offset: np.ndarray | None = None
    l2: float = 0.0
    l2_intercept: float = 0.0
    l2_over_dispersion: bool = False
    feature_names: list = field(default_factory=list)
    class_names: list | None = None
    model_name: str = ""
    softmax_gauge: bool = False
    drop_classes: tuple = ()
    l1: object = 0.0
    l1_intercept: float = 0.0
    drop_params: tuple = ()


def kept_params(spec, phi_is_param):
    """Positions of the full class-major layout that are parameters, or ``None``.

    The full layout is ``m · (p + intercept)`` coefficients, then the dispersion when
    it is a parameter; ``spec.drop_classes`` and ``spec.drop_params`` are removed.

    Parameters
    ----------
    spec : GLMSpec
    phi_is_param : bool

    Returns
    -------
    ndarray of int or None
        ``None`` when every position is a parameter.
    """
    m = spec.coef.shape[0]
    pt = spec.X.shape[1] + int(spec.intercept is not None)
    if not (spec.drop_classes or spec.drop_params):
        return None
    mask = np.ones(m * pt + int(phi_is_param), dtype=bool)
    for c in spec.drop_classes:
        mask[c * pt : (c + 1) * pt] = False
    mask[list(spec.drop_params)] = False
    return np.flatnonzero(mask)


def _l1_linear(spec, pt, scale):
    """The L1 term's gradient ``l1 · sign(θ̂)`` in the full coefficient layout."""
    m, p = spec.coef.shape
    lin = np.zeros((m, pt))
    l1 = np.broadcast_to(np.asarray(spec.l1, dtype=float), (m, p))
    lin[:, :p] = l1 * np.sign(spec.coef)
    if spec.intercept is not None:
        lin[:, p] = spec.l1_intercept * np.sign(spec.intercept)
    return lin.ravel() / scale


def _with_intercept(Xb, fit_intercept):
    if not fit_intercept:
        return Xb
    if sp.issparse(Xb):
        return sp.hstack([Xb, np.ones((Xb.shape[0], 1))], format="csr")
    out = np.empty((Xb.shape[0], Xb.shape[1] + 1))
    out[:, :-1] = Xb
    out[:, -1] = 1.0
    return out


def _matvec_T(Xt, v):
    """``X̃ᵀ v`` for dense or sparse ``X̃``; ``v`` may be 2-D (n, m)."""
    return _dense(Xt.T @ v)


def _param_names(spec):
    names = list(spec.feature_names)
    if spec.intercept is not None:
        names = names + ["intercept"]
    if spec.coef.shape[0] == 1:
        return names
    return [f"{c}:{nm}" for c in spec.class_names for nm in names]


def _softmax_gauge(K, pt):
    """Directions ``1_K ⊗ e_j / sqrt(K)`` in the class-major layout."""
    g = np.zeros((K * pt, pt))
    for j in range(pt):
        g[j::pt, j] = 1.0 / np.sqrt(K)
    return g


def _fused_route(X, m):
    """Whether ``glm_curvature`` takes the fused one-pass route.

    Dense design, one predictor: η, the family's rows and the products in one pass
    (:mod:`ticselect.curvature._glm_blocks`); else whole-array rows and the general
    accumulator.
    """
    return m == 1 and not sp.issparse(X)


def _dispersion(spec, eta, dispersion, is_param):
    """``(φ, whether φ is a parameter)``: ML (needs ``eta``), given, or ``None``."""
    fam = spec.family
    if not fam.has_dispersion:
        return None, False
    if dispersion is None:
        phi = fam.ml_dispersion(spec.y, eta, spec.sample_weight)
        if not phi > 0:
            raise ValueError(
                f"The maximum-likelihood dispersion of {spec.model_name} is 0: the "
                f"model reproduces y exactly (n_samples = {spec.X.shape[0]} rows for "
                f"{spec.coef.size} coefficients), so the likelihood is unbounded. "
                "Use more samples than parameters, or fix the dispersion with "
                "dispersion=<float>."
            )
        return phi, True
    return check_dispersion(dispersion), bool(is_param)


def glm_curvature(spec, *, dispersion=None, _dispersion_is_param=False, _point=None):
    """Build the :class:`~ticselect.Curvature` of a GLM described by ``spec``.

    Parameters
    ----------
    spec : GLMSpec
        The fitted model, its data and penalty.
    dispersion : None or float, default=None
        ``None``: maximum-likelihood dispersion, counted as a parameter; a float fixes
        it.
    _dispersion_is_param : bool, default=False
        Internal: treat a given ``dispersion`` as the value of the parameter (used to
        evaluate the Hessian away from the fitted point).
    _point : dict or None, default=None
        Internal: filled with what the checks after the curvature reuse (``eta``,
        ``d1``, ``d2``, and the data term's ``hessian``, ``gradient`` and
        ``abs_gradient`` (``Σ wᵢ|ℓ'ᵢ||x̃ᵢ|``) over the coefficients, before any
        dispersion border or dropped class; ``row_norms``, ``‖xᵢ‖²`` of a dense
        design with one predictor, else ``None``).

    Returns
    -------
    Curvature
    """
    fam = spec.family
    X, y, w = spec.X, spec.y, spec.sample_weight
    n = X.shape[0]
    m = spec.coef.shape[0]
    multi = fam.name == "multinomial"
    fit_int = spec.intercept is not None
    fused = _fused_route(X, m)
    eta_full = eta = None
    if not fused or (fam.has_dispersion and dispersion is None):
        with np.errstate(invalid="ignore", over="ignore"):  # checked next
            eta_full = _linear_predictor(spec)
            finite = np.isfinite(eta_full.sum())
        eta = eta_full if multi else eta_full[:, 0]
        if not finite and not sp.issparse(X):
            check_finite_X(X)  # the design's check (validate_X's finite=False)
        fam.check_mu(fam.mean(eta))
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite: raised inside
        phi, phi_is_param = _dispersion(spec, eta, dispersion, _dispersion_is_param)
        phi_arg = 1.0 if phi is None else phi
        rows = _row_pass(spec, phi_arg, eta, eta_full, fused, _point is not None)
    pt = X.shape[1] + int(fit_int)  # parameters per linear predictor
    eta_full, nll_rows, nll, d1, d2, H, C, grad, abs_grad, row_norms = rows
    eta = eta_full if multi else eta_full[:, 0]
    if _point is not None:
        _point.update(
            eta=eta_full, d1=d1, d2=d2, hessian=H, gradient=grad, abs_gradient=abs_grad,
            row_norms=row_norms,
        )  # fmt: skip

    params, penalty, linear, names, gauge = _parameter_vectors(spec, pt, phi)

    lphi = lphiphi = None
    if phi_is_param:
        lphi, lphiphi, letaphi = fam.dispersion_derivatives(y, eta, phi)
        h_bp = _xt_dot(X, w * letaphi, fit_int)
        c_bp = _xt_dot(X, w * d1[:, 0] * lphi, fit_int)
        H = _border(H, h_bp, np.sum(w * lphiphi))
        C = _border(C, c_bp, np.sum(w * lphi**2))
        grad = np.append(grad, np.sum(w * lphi))
        abs_grad = np.append(abs_grad, np.sum(w * np.abs(lphi)))
        params = np.append(params, phi)
        penalty = np.append(penalty, 0.0)
        linear = np.append(linear, 0.0)
        names = names + ["dispersion"]
        if gauge is not None:
            gauge = np.vstack([gauge, np.zeros((1, gauge.shape[1]))])
    grad = grad + penalty * params + linear

    def per_sample_grads():
        Xt_full = _with_intercept(X, fit_int)
        G = _block_grads(Xt_full, d1)
        if sp.issparse(G):
            G = G.toarray()
        if lphi is not None:
            G = np.column_stack([G, lphi])
        return G[:, keep] if keep is not None else G

    def per_sample_hessian_diag():
        # diagonal of each row's Hessian ∇²ℓᵢ: ℓ''ᵢ x̃ᵢⱼ² (and ∂²ℓᵢ/∂φ²), one predictor
        Xt_full = _with_intercept(X, fit_int)
        sq = Xt_full.multiply(Xt_full) if sp.issparse(Xt_full) else Xt_full**2
        D = _dense(_scale_rows(sq, d2[:, 0, 0]))
        return D if lphiphi is None else np.column_stack([D, lphiphi])

    keep = kept_params(spec, phi_is_param)
    H, C, grad, abs_grad, params, penalty, linear, names, gauge = _kept(
        keep, H, C, grad, abs_grad, params, penalty, linear, names, gauge
    )

    loss_fn, hessian_fn = _evaluators(spec, pt, phi, phi_is_param, keep)
    curv = Curvature(
        loss_fn=loss_fn,
        hessian_fn=hessian_fn,
        params=params,
        param_names=names,
        hessian=H,
        grad_cov=C,
        penalty=penalty,
        nll=nll,
        n_samples=float(np.sum(w)),
        n_rows=n,
        gradient=grad,
        abs_grad_sum=abs_grad,
        per_sample_grads=per_sample_grads,
        gauge=gauge,
        dispersion=phi,
        dispersion_is_param=phi_is_param,
        family=fam.name,
        link=fam.link.name,
        model_name=spec.model_name,
        per_sample_nll=nll_rows,
        sample_weight=w,
        per_sample_hessian_diag=per_sample_hessian_diag if m == 1 else None,
        penalty_linear=linear,
    )
    if not spec.drop_params:  # (entries fixed at 0 within a class: not supported)
        # the model Fisher's factors, built on demand (picklable: a partial of data)
        curv.output_jacobians_fn = partial(
            glm_output_jacobians, spec, phi, keep, len(params)
        )
    return curv


def _row_pass(spec, phi_arg, eta, eta_full, fused, row_norms):
    """The per-row quantities and their sums at the fit.

    Returns ``(η of shape (n, m), NLL rows, NLL, ℓ' (n, m), ℓ'' (n, m, m), H, C,
    gradient, stationarity scale, ‖xᵢ‖² or None)``; the fused one-pass route for a
    dense one-predictor design, else the family's whole-array rows and the general
    accumulation.  Raises when the NLL is not finite.
    """
    fam, X, y, w = spec.family, spec.X, spec.y, spec.sample_weight
    n, m = X.shape[0], spec.coef.shape[0]
    fit_int = spec.intercept is not None
    norms = None
    if fused:
        out = fused_dense(spec, phi_arg, eta, row_norms=row_norms)
        nll_rows, norms = out["nll_rows"], out["row_norms"]
        eta_full = out["eta"].reshape(n, 1)
        d1, d2 = out["d1"].reshape(n, 1), out["d2"].reshape(n, 1, 1)
        H, C, grad, abs_grad = out["H"], out["C"], out["grad"], out["abs_grad"]
        nll = float(np.dot(w, nll_rows))
    else:
        nll_rows = fam.nll(y, eta, phi_arg)
        nll = float(np.sum(w * nll_rows))
    if not np.isfinite(nll):
        _raise_huge_design(spec)
        raise ValueError(
            f"The negative log-likelihood of {spec.model_name} is not finite at the "
            "fitted parameters (a fitted probability of 0 or 1, or a mean outside "
            "the family's range). Check the data and the fit."
        )
    if not fused:
        d1, d2 = fam.eta_derivatives(y, eta, phi_arg)
        d1 = d1.reshape(n, m)
        d2 = d2.reshape(n, m, m)
        H, C, grad, abs_grad = _accumulate_general(X, w, d1, d2, fit_int)
    if not (np.isfinite(H).all() and np.isfinite(C).all()):
        _raise_huge_design(spec)  # else the curvature's own check says it
    return eta_full, nll_rows, nll, d1, d2, H, C, grad, abs_grad, norms


#: Largest ``|x|`` whose square (in ``XᵀWX``) stays far inside float64's range.
_HUGE_DESIGN = 1e150


def _raise_huge_design(spec):
    """A one-line error when the design holds values whose squares overflow."""
    X = spec.X
    big = float(abs(X).max()) if X.shape[0] and X.shape[1] else 0.0
    if big > _HUGE_DESIGN:
        raise ValueError(
            f"The design of {spec.model_name} has values up to {big:.3g}, whose "
            "squares overflow float64 in the Hessian XᵀWX; rescale the columns "
            "(e.g. StandardScaler) and refit."
        )


def _parameter_vectors(spec, pt, phi):
    """``(θ, ridge penalty, L1 weights, names, softmax gauge or None)`` of a GLM.

    The penalties are divided by ``φ`` where the estimator's objective scales the
    loss by the dispersion (``spec.l2_over_dispersion``).
    """
    m = spec.coef.shape[0]
    fit_int = spec.intercept is not None
    params = np.column_stack(
        [spec.coef] + ([spec.intercept[:, None]] if fit_int else [])
    ).ravel()
    per_phi = spec.l2_over_dispersion and phi is not None
    scale = phi if per_phi else 1.0
    pen_row = np.zeros(pt)
    pen_row[: spec.X.shape[1]] = np.asarray(spec.l2, dtype=float) / scale
    if fit_int:
        pen_row[-1] = spec.l2_intercept / scale
    penalty = np.tile(pen_row, m)
    linear = _l1_linear(spec, pt, scale)
    names = _param_names(spec)
    gauge = _softmax_gauge(m, pt) if spec.softmax_gauge else None
    return params, penalty, linear, names, gauge


def _kept(keep, H, C, grad, abs_grad, params, penalty, linear, names, gauge):
    """Everything restricted to the kept parameters (``keep=None``: all of them)."""
    if keep is None:
        return H, C, grad, abs_grad, params, penalty, linear, names, gauge
    H, C = H[np.ix_(keep, keep)], C[np.ix_(keep, keep)]
    grad, abs_grad = grad[keep], abs_grad[keep]
    params, penalty, linear = params[keep], penalty[keep], linear[keep]
    names = [names[i] for i in keep]
    if gauge is not None:  # directions with an entry fixed at 0 are not flat
        gauge = gauge[keep]
        gauge = gauge[:, np.isclose(np.sum(gauge**2, axis=0), 1.0)]
    return H, C, grad, abs_grad, params, penalty, linear, names, gauge


def _accumulate_general(X, w, d1, d2, fit_int):
    """Row blocks with the intercept column appended: sparse X or several predictors."""
    n, m = d1.shape
    pt = X.shape[1] + int(fit_int)
    dcoef = m * pt
    H = np.zeros((dcoef, dcoef))
    C = np.zeros((dcoef, dcoef))
    grad = np.zeros(dcoef)
    abs_grad = np.zeros(dcoef)
    block = max(1, _BLOCK_FLOATS // max(1, dcoef))
    for start in range(0, n, block):
        sl = slice(start, min(n, start + block))
        Xt = _with_intercept(X[sl], fit_int)
        wb, r, h = w[sl], d1[sl], d2[sl]
        for k in range(m):
            for j in range(k, m):
                H[k * pt : (k + 1) * pt, j * pt : (j + 1) * pt] += (
                    weighted_gram(Xt, wb * h[:, k, j])
                    if k == j
                    else _dense(Xt.T @ _scale_rows(Xt, wb * h[:, k, j]))
                )
        if m == 1:
            C += weighted_gram(Xt, wb * r[:, 0] ** 2)
        else:
            C += weighted_gram(_block_grads(Xt, r), wb)
        grad += _matvec_T(Xt, wb[:, None] * r).T.ravel()
        abs_grad += _matvec_T(abs(Xt), wb[:, None] * np.abs(r)).T.ravel()
    H = np.triu(H) + np.triu(H, 1).T
    return H, C, grad, abs_grad


def _evaluators(spec, pt, phi, phi_is_param, keep):
    """Closures ``θ -> L(θ)`` and ``θ -> H(θ)`` in the layout of the curvature."""
    m, p = spec.coef.shape
    n_full = m * pt + int(phi_is_param)

    def spec_at(theta):
        theta = np.asarray(theta, dtype=float)
        full = theta
        if keep is not None:
            full = np.zeros(n_full)
            full[keep] = theta
        coefs = full[: m * pt].reshape(m, pt)
        new = replace(
            spec,
            coef=coefs[:, :p],
            intercept=coefs[:, p] if spec.intercept is not None else None,
        )
        return new, (full[-1] if phi_is_param else phi)

    def loss(theta):
        new, phi_t = spec_at(theta)
        fam = new.family
        eta = _linear_predictor(new)
        eta = eta if fam.name == "multinomial" else eta[:, 0]
        if phi_t is not None and not phi_t > 0:
            return np.inf
        # far perturbations may overflow the inverse link: the loss is then +inf
        with np.errstate(all="ignore"):
            mu = fam.mean(eta)
            if not np.all(np.isfinite(mu)):
                return np.inf
            try:
                fam.check_mu(mu)
            except ValueError:
                return np.inf  # outside the mean space: the likelihood is zero
            value = float(np.sum(new.sample_weight * fam.nll(new.y, eta, phi_t or 1.0)))
        return value if np.isfinite(value) else np.inf

    def hessian(theta):
        new, phi_t = spec_at(theta)
        return glm_curvature(
            new, dispersion=phi_t, _dispersion_is_param=phi_is_param
        ).hessian

    return loss, hessian


def _xt_dot(X, v, fit_int):
    """``X̃ᵀ v`` without building ``X̃`` (the intercept entry is ``Σ v``)."""
    out = _dense(X.T @ v)
    return np.append(out, v.sum()) if fit_int else out


def _dense(a):
    return a.toarray() if sp.issparse(a) else np.asarray(a)


def _scale_rows(Xt, v):
    if sp.issparse(Xt):
        return sp.csr_array(Xt).multiply(v[:, None]).tocsr()
    return v[:, None] * Xt


def _block_grads(Xt, r):
    """Per-sample gradients ``r_k x̃`` of a block, class-major, shape (b, m * pt)."""
    m = r.shape[1]
    if sp.issparse(Xt):
        return sp.hstack([_scale_rows(Xt, r[:, k]) for k in range(m)], format="csr")
    return (r[:, :, None] * Xt[:, None, :]).reshape(Xt.shape[0], -1)


def _border(M, col, corner):
    d = M.shape[0]
    out = np.empty((d + 1, d + 1))
    out[:d, :d] = M
    out[:d, d] = col
    out[d, :d] = col
    out[d, d] = corner
    return out
