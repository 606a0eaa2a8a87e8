"""Layer 2 — the Laplace evidence (marginal likelihood) of a fitted model.

Conventions
-----------
Matrices and units are those of :mod:`ticselect.curvature._result` (summed NLL
``L``, ``H = ∇²L(θ̂)``, the penalty ``½ θᵀΛθ`` in loss units with ``Λ = diag(λP)``).

Penalty as prior
    A fitted penalty ``½ θᵀΛθ`` is the Gaussian prior ``N(0, Λ⁻¹)`` on the
    penalised directions (``Λⱼⱼ > 0``): ``PoissonRegressor(alpha)`` puts
    precision ``alpha·Σw`` on each slope, ``LogisticRegression(C)`` ``1/C``,
    ``Ridge(alpha)`` ``alpha/σ̂²`` (prior variance ``σ̂²/alpha``), an MLP's ``alpha``
    (``alpha/σ̂²`` for regression) on every weight, its biases unpenalised.
    Unpenalised directions (intercepts, biases, unpenalised coefficients) get a flat
    prior, as in REML.
Dispersion
    Held at the curvature's value (its maximum-likelihood estimate at the penalised
    fit unless fixed with ``curvature(..., dispersion=)``), not integrated: its row
    and column are dropped (the evidence is conditional on ``φ̂``).  With
    ``dispersion="profile"`` it is instead chosen to maximise the evidence at fixed
    ``θ̂`` (the data Hessian, the gradient and the prior precision scale as
    ``1/φ``, as scikit-learn's penalties ``c/φ`` do): for a Gaussian ridge the REML
    estimate ``(RSS + c‖β̂‖²)/(n - m)``; the ML estimate of the fit itself is biased
    low for weak penalties, which favours them.
Identified directions
    Gauge directions (:attr:`Curvature.gauge`: softmax over-parameterisation) are
    projected out, as everywhere in ticselect.  On a penalised gauge direction the
    likelihood is flat and the prior integrates to one, so this is the evidence of
    the over-parameterised model; an unpenalised gauge direction (the common shift
    of a multinomial's intercepts) is not identified and is dropped.  ``k`` is the
    number of identified directions of the coefficients, ``m`` those without prior
    precision (``m = k - rank Λ``).
Laplace evidence (``unpenalized="integrate"``, the default but for networks; mgcv's
REML score)
    ``log p(y) ≈ -L(θ̂) - ½θ̂ᵀΛθ̂ + ½ log|Λ|₊ - ½ log|H_Λ| + (m/2) log 2π + δ``
    with ``H_Λ = H + Λ`` over the ``k`` identified directions, ``log|Λ|₊`` the
    pseudo-determinant over the penalised ones, ``(m/2) log 2π`` what the flat prior
    on the unpenalised directions leaves (their Gaussian integral without a
    normalising constant), and ``δ = ½ gᵀH_Λ⁻¹g`` the Newton correction with ``g``
    the gradient of ``L + ½θᵀΛθ`` at ``θ̂`` (0 at the posterior mode; with it the
    formula is the exact integral of the second-order expansion at ``θ̂``, so a
    Gaussian linear model's evidence is exact at any ``θ̂`` and any
    ``prior_precision``).  Exact for Gaussian linear models with fixed dispersion.
    Two evidences are comparable only when their unpenalised spaces agree (as with
    REML): :attr:`Evidence.unpenalized_names` lists them.
Profile variant (``unpenalized="profile"``; mgcv's ML score)
    The unpenalised coefficients are maximised, not integrated: ``log|H_Λ|`` runs
    over the penalised block of ``H_Λ`` only and the ``2π`` term drops.
L1 and elastic-net fits
    Their L1 term is a Laplace prior with a kink at 0 (the inactive coefficients sit
    on it): the Gaussian approximation does not apply, ``log_evidence`` is ``nan``
    with the flag ``"l1_prior"``.
Unpenalised fits
    No proper prior: ``log_evidence`` is ``nan`` with the reason (flag
    ``"no_prior"``).  Its large-``n`` limit is ``-BIC/2`` (the prior terms are
    ``O(1)``, ``log|H|`` grows as ``k log n``).
MacKay's γ (well-determined parameters)
    ``γ = rank Λ - tr(H_Λ⁻¹Λ)``: with ``Λ = λI`` it is ``Σⱼ ηⱼ/(ηⱼ + λ)`` over the
    eigenvalues ``ηⱼ`` of ``H`` (the soft rank of Shoham, Mor-Yosef & Avron, arXiv
    2506.17809, at the prior precision); in general the same sum over the
    eigenvalues of the data Hessian in the prior's metric, on the penalised
    directions.  Per prior group ``g`` (a set of coordinates sharing one precision
    ``λ_g``), ``γ_g = rank Λ_g - tr(H_Λ⁻¹Λ_g)``, and ``∂ log p / ∂ log λ_g = 0``
    (ignoring ``∂H/∂θ̂``, exact for Gaussian models) is MacKay's fixed point
    ``λ_g = γ_g / θ̂_gᵀθ̂_g``: :attr:`Evidence.mackay_update` is its right-hand side
    (MacKay 1992, "Bayesian interpolation").
``hessian``
    ``"exact"`` uses ``H`` and gives ``nan`` with the flag ``"indefinite"`` when
    ``H_Λ`` is not positive definite (a fit away from a minimum);  ``"ggn"`` uses the
    model Fisher (generalised Gauss–Newton matrix, positive semi-definite; Immer et
    al. 2021, the usual choice for networks), equal to ``H`` for canonical-link GLMs.
Cost
    With ``hessian="exact"`` and the fit's own penalty (one precision) the evidence
    reads the log-determinant, ``tr(H_Λ⁻¹H)`` and the Newton decrement of the one
    factorisation cached on the curvature (:mod:`ticselect.curvature._factor`):
    ``O(d)``.  Otherwise one Cholesky factor of ``H_Λ`` and its triangular inverse
    (``2d³/3`` flops), plus forming the model Fisher for ``"ggn"`` (for networks by
    the Hessian kernel without its second-order terms, about the cost of ``H``).
    With ``unpenalized="profile"`` and a diagonal prior the penalised coordinates
    are ordered first, so the one factor of ``H_Λ`` carries the factor of its
    penalised block (:mod:`ticselect._evidence_linalg`); the model Fisher is
    overwritten in place, so no ``d × d`` array is allocated beyond it.  (The
    "singular" test of ``H_Λ`` reads the pivots of the factor in that order.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize

from ._evidence_linalg import cholesky as _cholesky
from ._evidence_linalg import decrement as _decrement
from ._evidence_linalg import inverse_traces as _inverse_traces
from ._evidence_linalg import profile_factor
from ._evidence_linalg import rank_logdet as _rank_logdet
from ._evidence_net import (
    NETWORK_UNPENALIZED,
    is_network,
    kfac_parts,
    log_symmetry,
    resolve_hessian,
)
from ._validation import check_rcond
from .curvature._linalg import DEFAULT_RCOND, GaugeComplement
from .curvature._output import curvature_model_fisher
from .curvature._result import DECREMENT_TOL, STATIONARITY_TOL
from .curvature._spectral import check_curvature

__all__ = ["EVIDENCE_FLAGS", "Evidence", "evidence"]

_LOG_2PI = float(np.log(2.0 * np.pi))

#: Reasons an :class:`Evidence` is ``nan`` or needs care, one line each.
EVIDENCE_FLAGS = {
    "no_prior": "the fit has no penalty, so no proper prior: the evidence is "
    "undefined (-BIC/2 is its large-n limit); pass prior_precision= to set one",
    "indefinite": "H_λ is not positive definite (its Cholesky factorisation breaks "
    "down: the fit is not at a minimum, or a direction is flat): the Laplace "
    "approximation with the exact Hessian does not apply; refit to convergence or "
    "use hessian='ggn'",
    "singular": "H_λ is numerically singular (its pivots span more than 1/rcond; with "
    "hessian='ggn', any breakdown): a direction, typically an unpenalised one, is "
    "not determined by the data, and a flat prior there has no finite integral",
    "off_mode": "θ̂ is not the posterior mode of this prior (prior_precision differs "
    "from the fit's penalty): Laplace around θ̂ with a Newton correction, exact for "
    "Gaussian linear models only",
    "not_stationary": "the fit is not at a stationary point of its penalised loss",
    "negligible_gamma": "fewer than one well-determined parameter (MacKay's gamma < "
    "1): the data barely move the posterior from the prior, so the evidence ranks "
    "the prior, not the fit",
    "l1_prior": "the fit has an L1 (lasso, elastic-net) penalty, a Laplace prior "
    "with a kink at 0: the Gaussian Laplace approximation does not apply and the "
    "evidence is undefined",
}

_UNPENALIZED = ("auto", "integrate", "profile")
_DISPERSION = ("fixed", "profile")


@dataclass(frozen=True)
class Evidence:
    """Laplace evidence of one fit, with its parts (see the module conventions).

    Attributes
    ----------
    log_evidence : float
        ``log p(y)`` in nats (greater is better); ``nan`` when undefined (see
        ``reason``).
    gamma : float
        MacKay's number of well-determined parameters ``rank Λ - tr(H_Λ⁻¹Λ)``.
    mackay_update : float or ndarray of shape (n_groups,)
        ``γ_g / θ̂_gᵀθ̂_g`` per prior group: the precision(s) MacKay's fixed point
        moves to (equal to ``prior_precision`` at an evidence-optimal fit).
    prior_precision : float or ndarray of shape (n_groups,)
        The precision of each prior group (a float when one precision covers every
        penalised direction).
    dispersion : float or None
        Dispersion ``φ`` the evidence is conditional on (``None`` without one).
    flags : tuple of str
        Keys of :data:`EVIDENCE_FLAGS` that apply.
    reason : str
        One line saying why ``log_evidence`` is ``nan`` (empty otherwise).
    log_likelihood : float
        ``-L(θ̂)``.
    prior_quadratic : float
        ``½ θ̂ᵀΛθ̂``.
    log_det_prior : float
        ``log|Λ|₊`` over the penalised identified directions.
    log_det_hessian : float
        ``log|H_Λ|`` over the identified directions (the penalised block for
        ``unpenalized="profile"``).
    newton_correction : float
        ``½ gᵀH_Λ⁻¹g`` (0 at the posterior mode).
    n_unpenalized : int
        ``m``, identified directions with a flat prior.
    unpenalized_names : tuple of str
        Names of the unpenalised parameters: compare evidences only between fits
        whose unpenalised spaces agree.
    gamma_groups : ndarray of shape (n_groups,)
        ``γ_g`` per prior group (they sum to ``gamma``).
    group_names : tuple of str
        One name per prior group.
    hessian : {"exact", "ggn", "kfac"}
        Curvature used in ``log|H_Λ|``.
    unpenalized : {"integrate", "profile"}
        How the unpenalised directions are treated.
    n_samples : float
        ``Σ wᵢ``.
    log_symmetry : float
        ``Σ_l (log h_l! + h_l log 2)`` over a network's hidden layers, included in
        ``log_evidence`` (0 otherwise; see :mod:`ticselect._evidence_net`).

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    >>> model = LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    >>> ev = ts.evidence(ts.curvature(model, X, y))
    >>> ev.prior_precision, ev.unpenalized_names    # λ = 1/C on the slopes
    (2.0, ('intercept',))
    >>> bool(0 < ev.gamma < 3), bool(ev.log_evidence < ev.log_likelihood)
    (True, True)
    """

    log_evidence: float
    gamma: float
    mackay_update: float | np.ndarray
    prior_precision: float | np.ndarray
    dispersion: float | None
    flags: tuple
    reason: str
    log_likelihood: float
    prior_quadratic: float
    log_det_prior: float
    log_det_hessian: float
    newton_correction: float
    n_unpenalized: int
    unpenalized_names: tuple
    gamma_groups: np.ndarray = field(repr=False)
    group_names: tuple
    hessian: str
    unpenalized: str
    n_samples: float
    log_symmetry: float = 0.0

    def to_dict(self):
        """Return the fields as a plain ``dict`` (arrays as lists).

        Returns
        -------
        dict
        """
        out = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    def summary(self):
        """Return an aligned text table of the evidence and its parts.

        Returns
        -------
        str
        """
        return key_value_table(list(self.to_dict().items()), "quantity", _format)

    def __str__(self):
        return self.summary()


def key_value_table(rows, head, fmt):
    """Aligned two-column text table of ``(name, value)`` rows under ``head``.

    Parameters
    ----------
    rows : list of tuple
        ``(name, value)`` pairs.
    head : str
        Title of the first column.
    fmt : callable
        ``value -> str``.

    Returns
    -------
    str
    """
    width = max(len(head), *(len(k) for k, _ in rows))
    lines = [f"{head:<{width}}  value", f"{'-' * width}  {'-' * 14}"]
    lines += [f"{k:<{width}}  {fmt(v)}" for k, v in rows]
    return "\n".join(lines)


def _format(v):
    if isinstance(v, str):
        return v or "-"
    if isinstance(v, tuple | list):
        return ", ".join(_format(x) for x in v) if v else "none"
    if v is None:
        return "-"
    return f"{v:d}" if isinstance(v, int) else f"{v:.6g}"


# --------------------------------------------------------------------- the prior
@dataclass
class _Prior:
    """The prior precision ``Λ`` as a vector over ``θ`` and its groups."""

    diag: np.ndarray  # (d,)
    groups: list  # index arrays into θ, one per precision
    values: np.ndarray  # (n_groups,)
    names: tuple
    default: bool  # Λ is the fit's own penalty


def _network_layers(curv):
    """Index arrays of each layer's weights of an MLP curvature (biases excluded)."""
    return [np.sort(layer["weights"].ravel()) for layer in getattr(curv, "layers", [])]


def _value_groups(diag):
    """Group the positive entries of ``diag`` by value (one group per precision)."""
    pos = np.flatnonzero(diag > 0)
    vals = np.unique(diag[pos])
    groups = [pos[diag[pos] == v] for v in vals]
    names = tuple(f"precision {v:.6g}" for v in vals)
    return groups, vals, names


def _positive_finite(value, what):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"evidence(): {what} must be finite and > 0 (a precision of 0 is a flat, "
            f"improper prior), got {value!r}."
        )
    return arr


def _prior(curv, prior_precision):
    d = curv.n_params
    own = np.asarray(curv.penalty, dtype=float)
    if prior_precision is None:
        groups, vals, names = _value_groups(own)
        return _Prior(own, groups, vals, names, True)
    layers = _network_layers(curv) if curv.family == "mlp" else []
    if isinstance(prior_precision, str | bytes) or np.ndim(prior_precision) > 1:
        raise ValueError(_shape_message(curv, prior_precision, layers))
    if np.ndim(prior_precision) == 0:
        lam = float(_positive_finite(prior_precision, "prior_precision"))
        mask = own > 0
        if not mask.any():
            if not layers:
                raise ValueError(
                    f"evidence(): {curv.model_name or 'this fit'} has no penalty, so "
                    "a scalar prior_precision has no penalised parameters to apply "
                    f"to; pass an array of shape ({d},) with 0 on unpenalised "
                    "entries."
                )
            mask = np.zeros(d, dtype=bool)
            mask[np.concatenate(layers)] = True
        diag = np.where(mask, lam, 0.0)
        name = (f"precision {lam:.6g}",)
        same = bool(np.array_equal(diag, own))
        return _Prior(diag, [np.flatnonzero(mask)], np.array([lam]), name, same)
    arr = np.asarray(prior_precision, dtype=float)
    if layers and arr.shape == (len(layers),) and arr.shape != (d,):
        vals = _positive_finite(arr, "every per-layer prior_precision")
        diag = np.zeros(d)
        for idx, v in zip(layers, vals, strict=True):
            diag[idx] = v
        names = tuple(f"layer {i}" for i in range(len(layers)))
        return _Prior(diag, layers, vals, names, bool(np.array_equal(diag, own)))
    if arr.shape != (d,):
        raise ValueError(_shape_message(curv, prior_precision, layers))
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(
            "evidence(): a prior_precision vector must be finite and >= 0 (0 marks an "
            "unpenalised parameter)."
        )
    if not np.any(arr > 0):
        raise ValueError(
            "evidence(): prior_precision is 0 on every parameter, a flat improper "
            "prior under which the evidence is undefined; give at least one "
            "parameter a positive precision (0 marks an unpenalised one)."
        )
    if curv.dispersion_is_param and arr[-1] != 0:
        raise ValueError(
            "evidence(): the last parameter is the dispersion, which is held at its "
            "estimate, not given a prior: set its prior_precision entry to 0."
        )
    groups, vals, names = _value_groups(arr)
    return _Prior(arr, groups, vals, names, bool(np.array_equal(arr, own)))


def _shape_message(curv, value, layers):
    shape = np.shape(value) if not isinstance(value, str | bytes) else "a string"
    per_layer = f", ({len(layers)},) (one per layer)" if layers else ""
    return (
        f"evidence(): prior_precision must be a positive float, or an array of shape "
        f"({curv.n_params},) (one per parameter, 0 = unpenalised){per_layer}; got "
        f"{shape}."
    )


# ------------------------------------------------------------------- the evidence
def evidence(
    curv,
    hessian="auto",
    prior_precision=None,
    *,
    unpenalized="auto",
    dispersion="fixed",
    rcond=DEFAULT_RCOND,
    symmetry="auto",
):
    """Laplace evidence (log marginal likelihood) of a fit, its penalty as the prior.

    See the conventions of :mod:`ticselect._evidence` for the formula, the flat prior
    on unpenalised directions, the dispersion and MacKay's ``γ``.

    Parameters
    ----------
    curv : Curvature
        From :func:`ticselect.curvature`; for networks
        ``ts.curvature(net, X, y, hessian=False)`` skips the ``d × d`` Hessian and
        gradient covariance that ``"ggn"`` and ``"kfac"`` do not need.
    hessian : {"auto", "exact", "ggn", "kfac"}, default="auto"
        ``"exact"``: the observed ``H`` (``nan`` with the flag ``"indefinite"`` when
        ``H_Λ`` is not positive definite); ``"ggn"``: the model Fisher
        (Gauss–Newton matrix, positive semi-definite; GLMs and networks);
        ``"kfac"``: its Kronecker-factored approximation (networks, one precision
        per layer).  ``"auto"``: ``"exact"``, and for networks the curvature the
        network benchmark chose (:data:`ticselect._evidence_net.NETWORK_HESSIAN`).
    prior_precision : None, float or ndarray, default=None
        ``None``: the fit's own penalty ``curv.penalty``.  A float: that precision on
        every penalised parameter (on every network weight when the network was fitted
        with ``alpha=0``).  An array of shape ``(n_params,)``: the diagonal ``Λ``
        (0 = unpenalised, flat prior).  For networks, an array of shape
        ``(n_layers,)``: one precision per layer's weights (biases unpenalised).  A
        precision other than the fit's own is evaluated around ``θ̂`` with a Newton
        correction (flag ``"off_mode"``).
    unpenalized : {"auto", "integrate", "profile"}, default="auto"
        Integrate the unpenalised directions under a flat prior (REML, mgcv's
        ``method="REML"``) or maximise over them (mgcv's ``method="ML"``).
        ``"auto"``: ``"integrate"``, and for networks ``"profile"`` (their biases:
        networks of different widths have different numbers of them, and a flat
        prior's volume does not cancel between them; see
        :mod:`ticselect._evidence_net`).
    dispersion : {"fixed", "profile"}, default="fixed"
        ``"fixed"``: condition on the curvature's dispersion ``φ̂``.  ``"profile"``
        (fits whose dispersion is an estimated parameter): maximise the evidence
        over ``φ`` at fixed ``θ̂``, the data Hessian and the prior precision scaling
        as ``1/φ`` (exponential-dispersion families and Gaussian networks, whose
        scikit-learn penalties are ``c/φ``); for a Gaussian ridge this is the REML
        (or, with ``unpenalized="profile"``, ML) estimate
        ``φ = (RSS + c‖β̂‖²)/(n - m)``.  A one-dimensional search over
        ``L(θ̂, φ)``.
    rcond : float, default=1e-10
        Relative cutoff: ``H_Λ`` whose equilibrated Cholesky pivots span more than
        ``1/rcond`` counts as singular.
    symmetry : {"auto", True, False}, default="auto"
        ``True``: add a network's ``log(h!·2ʰ)`` per hidden layer (unit
        permutations and sign flips, MacKay's symmetry factor; see
        :mod:`ticselect._evidence_net`); ``False``: the evidence of one mode;
        ``"auto"``: :data:`ticselect._evidence_net.NETWORK_SYMMETRY`, chosen by the
        network benchmark.  No effect on other models.

    Returns
    -------
    Evidence

    Raises
    ------
    TypeError
        If ``curv`` is not a :class:`~ticselect.Curvature`.
    ValueError
        For an unknown ``hessian``, ``unpenalized`` or ``dispersion``, a precision
        ``≤ 0`` or of the wrong shape, ``hessian="ggn"`` on a curvature without
        output Jacobians, or ``dispersion="profile"`` on a fit whose dispersion is
        not an estimated parameter.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = X @ [1.0, 0.0, -1.0] + rng.normal(size=100)
    >>> model = Ridge(alpha=2.0, fit_intercept=False).fit(X, y)
    >>> ev = ts.evidence(ts.curvature(model, X, y, dispersion=1.0))
    >>> Sigma = np.eye(100) + X @ X.T / 2.0          # σ²I + XΛ⁻¹Xᵀ, Λ = alpha/σ²
    >>> from scipy.stats import multivariate_normal
    >>> exact = multivariate_normal(np.zeros(100), Sigma).logpdf(y)
    >>> bool(np.isclose(ev.log_evidence, exact, rtol=1e-10))
    True
    """
    hessian, unpenalized = _check_options(curv, hessian, unpenalized, dispersion)
    rcond = check_rcond(rcond)
    prior = _prior(curv, prior_precision)
    flags = ["not_stationary"] if "not_stationary" in curv.flags else []
    if not prior.default:
        flags.append("off_mode")
    base = _Base(curv, prior, hessian, unpenalized, rcond)
    base.profile_dispersion = dispersion == "profile"
    if np.any(getattr(curv, "penalty_linear", 0.0) != 0):
        return base.undefined(flags, "l1_prior")
    base.log_symmetry = log_symmetry(curv, symmetry)
    if not prior.groups:
        return base.undefined(flags, "no_prior")
    if hessian == "kfac":
        return base.kfac(flags)
    fast = (
        hessian == "exact"
        and prior.default
        and unpenalized == "integrate"
        and not curv.dispersion_is_param
        and len(prior.groups) == 1
    )
    return base.fast(flags) if fast else base.general(flags)


def _check_options(curv, hessian, unpenalized, dispersion):
    """One-line errors for a bad curvature or option of :func:`evidence`.

    Returns the resolved ``hessian`` and ``unpenalized``.
    """
    check_curvature(curv, "evidence()", hessian=False)
    hessian = resolve_hessian(curv, hessian)
    if unpenalized not in _UNPENALIZED:
        raise ValueError(
            f"evidence(): unpenalized must be one of {_UNPENALIZED}, got "
            f"{unpenalized!r}."
        )
    if unpenalized == "auto":
        unpenalized = NETWORK_UNPENALIZED if is_network(curv) else "integrate"
    if dispersion not in _DISPERSION:
        raise ValueError(
            f"evidence(): dispersion must be one of {_DISPERSION}, got {dispersion!r}."
        )
    if dispersion == "profile" and not (curv.dispersion_is_param and curv.loss_fn):
        raise ValueError(
            "evidence(): dispersion='profile' needs a fit whose dispersion is an "
            "estimated parameter (Gaussian, Gamma, inverse Gaussian, MLP regressor) "
            "and the curvature's loss_fn (not kept after unpickling)."
        )
    return hessian, unpenalized


class _Base:
    """The parts of the evidence shared by every route."""

    def __init__(self, curv, prior, hessian, unpenalized, rcond):
        self.curv, self.prior, self.rcond = curv, prior, float(rcond)
        self.hessian, self.unpenalized = hessian, unpenalized
        d = curv.n_params
        # coefficient coordinates: the dispersion is held at its estimate
        self.idx = np.arange(d - 1 if curv.dispersion_is_param else d)
        gauge = curv.gauge[self.idx] if curv.gauge.shape[1] else None
        self.gc = GaugeComplement(gauge, self.idx.size)
        theta = curv.params
        lam = prior.diag
        self.quad = 0.5 * float(np.sum(lam * theta**2))
        names = np.asarray(curv.param_names, dtype=object)[self.idx]
        self.unpen_names = tuple(str(x) for x in names[lam[self.idx] == 0])
        # gradient of L + ½θᵀΛθ at θ̂ (curv.gradient holds the fit's own penalty)
        grad = curv.gradient - curv.penalty * theta + lam * theta
        self.grad_full = grad
        self.grad = self.gc.vector(grad[self.idx])
        self.lam_r = self.gc.diagonal(lam[self.idx])

    def _result(self, flags, reason, **parts):
        prior = self.prior
        values = prior.values.copy() if prior.groups else np.zeros(1)
        one = values.size == 1
        gam = parts.get("gamma_groups", np.full(values.size, np.nan))
        norms = np.array(
            [float(np.sum(self.curv.params[g] ** 2)) for g in prior.groups] or [0.0]
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            update = np.where(norms > 0, gam / norms, np.nan)
        t = parts.get("scale", 1.0)  # φ̂/φ with the dispersion profiled
        values = values * t
        dispersion = self.curv.dispersion
        if dispersion is not None and t != 1.0:
            dispersion = float(dispersion) / t
        return Evidence(
            log_evidence=parts.get("log_evidence", float("nan")),
            gamma=float(np.sum(gam)) if len(gam) else float("nan"),
            mackay_update=float(update[0]) if one else update,
            prior_precision=float(values[0]) if one else values,
            dispersion=dispersion,
            flags=tuple(flags),
            reason=reason,
            log_likelihood=-parts.get("nll", self.curv.nll),
            prior_quadratic=self.quad * t,
            log_det_prior=parts.get("log_det_prior", float("nan")),
            log_det_hessian=parts.get("log_det_hessian", float("nan")),
            newton_correction=parts.get("newton_correction", float("nan")),
            n_unpenalized=int(parts.get("m", len(self.unpen_names))),
            unpenalized_names=self.unpen_names,
            gamma_groups=np.asarray(gam, dtype=float),
            group_names=prior.names,
            hessian=self.hessian,
            unpenalized=self.unpenalized,
            n_samples=self.curv.n_samples,
            log_symmetry=self.log_symmetry,
        )

    def undefined(self, flags, flag):
        name = self.curv.model_name or "this fit"
        return self._result([*flags, flag], f"{name}: {EVIDENCE_FLAGS[flag]}.")

    profile_dispersion = False
    log_symmetry = 0.0

    def _assemble(self, flags, logdet_h, rank, logdet_p, dec, gam):
        m = self.gc.n_free - rank
        const = 0.0 if self.unpenalized == "profile" else 0.5 * m * _LOG_2PI
        # log|H_Λ| runs over k_w directions: all k, or the rank penalised ones
        k_w = rank if self.unpenalized == "profile" else self.gc.n_free
        t, nll = 1.0, self.curv.nll
        if self.profile_dispersion:
            t, nll = self._best_dispersion_scale(rank, k_w, dec)
        logdet_p += rank * np.log(t)  # Λ, H_Λ and g scale as 1/φ: t = φ̂/φ
        logdet_h += k_w * np.log(t)
        quad, dec = t * self.quad, t * dec
        value = -nll - quad + 0.5 * logdet_p - 0.5 * logdet_h + const + dec
        value += self.log_symmetry
        flags = self._fit_flags(flags, dec, gam)
        return self._result(
            flags, "", log_evidence=float(value), log_det_prior=logdet_p,
            log_det_hessian=logdet_h, newton_correction=dec, m=m,
            gamma_groups=np.asarray(gam, dtype=float), scale=t, nll=nll,
        )  # fmt: skip

    def _fit_flags(self, flags, dec, gam):
        """Add ``not_stationary`` and ``negligible_gamma``.

        A curvature without ``H`` was never checked for stationarity: the Newton
        decrement of this factorisation decides.
        """
        curv = self.curv
        if (
            curv.hessian is None
            and self.prior.default
            and "not_stationary" not in flags
            and curv.stationarity > STATIONARITY_TOL
            and dec > DECREMENT_TOL
        ):
            flags = ["not_stationary", *flags]
        if float(np.sum(gam)) < 1.0:
            flags = [*flags, "negligible_gamma"]
        return flags

    def _best_dispersion_scale(self, rank, k_w, dec):
        """``(φ̂/φ*, L(θ̂, φ*))`` at the ``φ*`` that maximises the evidence."""
        curv = self.curv
        phi0 = float(curv.dispersion)
        theta = curv.params.copy()

        def neg(log_phi):
            theta[-1] = np.exp(log_phi)
            t = phi0 / theta[-1]
            nll = float(curv.loss_fn(theta))
            return nll + t * (self.quad - dec) + 0.5 * (k_w - rank) * np.log(t)

        res = optimize.minimize_scalar(
            neg, bounds=(np.log(phi0) - 12.0, np.log(phi0) + 12.0),
            method="bounded", options={"xatol": 1e-10},
        )  # fmt: skip
        phi = float(np.exp(res.x))
        theta[-1] = phi
        return phi0 / phi, float(curv.loss_fn(theta))

    def fast(self, flags):
        """The fit's own penalty and exact Hessian: read the cached factorisation."""
        sol = self.curv.penalized_solve(self.rcond)
        if sol.route != "cholesky":  # the same rule as _cholesky, no second factor
            reason = "indefinite" if sol.failed_at >= 0 else "singular"
            return self.undefined(flags, reason)
        rank, logdet_p = _rank_logdet(self.lam_r)
        m = sol.dim - rank
        # tr(H_Λ⁻¹H) = k - tr(H_Λ⁻¹Λ), so γ = rank - tr(H_Λ⁻¹Λ) = effective_dim - m
        gam = [max(sol.effective_dim - m, 0.0)]
        return self._assemble(flags, sol.logdet, rank, logdet_p,
                              sol.newton_decrement, gam)  # fmt: skip

    def kfac(self, flags):
        """KFAC blocks (:mod:`ticselect.curvature._kfac`): no ``d × d`` array."""
        res = kfac_parts(
            self.curv, self.prior.diag, self.prior.groups, self.grad_full,
            self.unpenalized == "profile", self.rcond,
        )  # fmt: skip
        if res is None:
            return self.undefined(flags, "singular")
        rank, logdet_p = _rank_logdet(self.lam_r)
        ranks = [_rank_logdet(M)[0] for M in self._group_blocks()]
        gam = [max(r - t, 0.0) for r, t in zip(ranks, res.traces, strict=True)]
        return self._assemble(flags, res.log_det, rank, logdet_p, res.decrement, gam)

    def _data_hessian(self):
        """``H`` (or the model Fisher), and whether it is ours to overwrite.

        Of shape (d, d), σ² included: the coefficients lead ``θ``, and the gauge
        complement reads only their rows and columns.
        """
        curv = self.curv
        if self.hessian == "exact":
            return curv.hessian, False
        # usually a new array (network kernel, output Jacobians): ours when nothing
        # else holds it (a closure may return a kept one)
        H = curvature_model_fisher(curv, "evidence()")
        owned = H.flags.owndata and H.flags.c_contiguous and sys.getrefcount(H) <= 2
        return H, owned

    def _owned_hessian(self):
        """The data Hessian over the identified directions, ours to overwrite."""
        H, owned = self._data_hessian()
        every = np.arange(self.gc.n_free)
        return self.gc.compact(H, every) if owned else self.gc.block(H, every, every)

    def general(self, flags):
        """One Cholesky factor of ``H_Λ`` (or its penalised block) and its inverse."""
        if self.unpenalized == "profile" and self.lam_r.ndim == 1:
            return self._profile_diagonal(flags)
        A = self._owned_hessian()
        lam_r = self.lam_r
        if lam_r.ndim == 1:
            A[np.diag_indices_from(A)] += lam_r
        else:
            A += lam_r
        profile = self.unpenalized == "profile"
        if profile:  # a non-diagonal prior: its range, a second factorisation
            U = _penalised_basis(lam_r)
            W = U.T @ A @ U
        full = _cholesky(A, self.rcond, overwrite=True)
        if isinstance(full, str) and not (profile and self.hessian == "ggn"):
            # the model Fisher is PSD: a breakdown is singular
            reason = "singular" if self.hessian == "ggn" else full
            return self.undefined(flags, reason)
        blocks = self._group_blocks()
        rank, logdet_p = _rank_logdet(lam_r)
        if profile:
            fac = _cholesky(W, self.rcond, overwrite=True)
            if isinstance(fac, str):  # the penalised block of a PSD matrix plus Λ
                return self.undefined(flags, "singular")
            blocks = [U.T @ np.diag(M) @ U if M.ndim == 1 else U.T @ M @ U
                      for M in blocks]  # fmt: skip
        else:
            fac = full
        if isinstance(full, str):  # flat unpenalised directions, maximised over
            dec = _decrement(fac, U.T @ self.grad)
        else:
            dec = _decrement(full, self.grad)
        return self._finish(flags, fac, blocks, rank, logdet_p, dec)

    def _finish(self, flags, fac, blocks, rank, logdet_p, dec):
        traces = _inverse_traces(fac, blocks)  # overwrites the factor
        ranks = [_rank_logdet(M)[0] for M in blocks]
        gam = [max(r - t, 0.0) for r, t in zip(ranks, traces, strict=True)]
        return self._assemble(flags, fac[2], rank, logdet_p, dec, gam)

    def _profile_diagonal(self, flags):
        """The profile evidence with a diagonal prior: penalised coordinates first.

        The leading block of the one factorisation of ``H_Λ`` in this order is the
        factor of the penalised block (:func:`ticselect._evidence_linalg.
        profile_factor`).  A model Fisher of our own is overwritten by its penalised
        block: no ``d × d`` array beyond it.
        """
        lam_r = self.lam_r
        P, U = np.flatnonzero(lam_r > 0), np.flatnonzero(lam_r == 0)
        H, owned = self._data_hessian()
        B, D = self.gc.block(H, U, P), self.gc.block(H, U, U)
        W = self.gc.compact(H, P) if owned else self.gc.block(H, P, P)
        del H
        W[np.diag_indices_from(W)] += lam_r[P]
        g = np.concatenate([self.grad[P], self.grad[U]])
        fac, full, dec = profile_factor(W, B, D, g, self.rcond)
        if full and self.hessian != "ggn":
            return self.undefined(flags, full)
        if isinstance(fac, str):  # the penalised block of a PSD matrix plus Λ
            return self.undefined(flags, "singular")
        blocks = [M[P] if M.ndim == 1 else M[np.ix_(P, P)]
                  for M in self._group_blocks()]  # fmt: skip
        rank, logdet_p = _rank_logdet(lam_r)
        return self._finish(flags, fac, blocks, rank, logdet_p, dec)

    def _group_blocks(self):
        """Each prior group's precision restricted to the identified directions."""
        out = []
        for g in self.prior.groups:
            part = np.zeros(self.curv.n_params)
            part[g] = self.prior.diag[g]
            out.append(self.gc.diagonal(part[self.idx]))
        if any(M.ndim == 2 for M in out):
            out = [np.diag(M) if M.ndim == 1 else M for M in out]
        return out


def _penalised_basis(lam_r):
    """An orthonormal basis of the range of a non-diagonal prior block."""
    w, V = linalg.eigh(lam_r)
    return V[:, w > 1e-12 * max(w.max(), 0.0)]
