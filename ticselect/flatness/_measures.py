"""Layer 2 — flatness measures of the literature, exactly from a :class:`Curvature`.

Conventions
-----------
Matrices and units are those of :mod:`ticselect.curvature._result`: ``H`` is the
Hessian of the **summed** data NLL (no penalty), ``C = Σᵢ wᵢ gᵢgᵢᵀ``,
``H_λ = H + diag(penalty)``,
``n = Σ wᵢ``; gauge directions (softmax over-parameterisation) are projected out
before any spectral quantity, as in :func:`ticselect.criteria`.

- **Soft rank** ``tr(H(H + λI)⁻¹)`` and its trace/spectral-norm estimate and bounds,
  the Fisher soft rank and the gap estimates: as in :mod:`ticselect.criteria` (Shoham,
  Mor-Yosef & Avron 2025, "Flatness After All?", arXiv 2506.17809).
- **Hessian norms** (Granziol 2020, "Flatness is a False Friend", arXiv 2006.09091;
  Keskar et al. 2017; Dinh et al. 2017): ``tr(H)``, ``‖H‖_F``, ``‖H‖₂ = λ_max(H)`` and
  ``log det H_λ`` of the summed ``H`` (divide by ``n``, ``n`` and ``n`` and subtract
  ``k log n`` for the mean-loss versions), the exact spectrum, or its density
  matrix-free (:func:`hessian_spectral_density`).
- **Relative flatness** (Petzka, Kamp, Adilova, Sminchisescu & Boley 2021,
  arXiv 2001.00939): ``κ_Tr(W) = Σ_{s,s'} ⟨w_s, w_s'⟩ tr(H_{s,s'})`` on the summed
  ``H`` (:func:`relative_flatness`).
- **PAC-Bayes measures** on the mean loss ``L̂ = L/n``
  (:mod:`ticselect.flatness._pacbayes`): PACGen ``Ψ_{γ,ε}`` (Wang, Keskar, Xiong &
  Socher 2018, arXiv 1809.07402), expected
  sharpness and its σ search (Neyshabur et al. 2017) with the magnitude-aware variant
  (Jiang et al. 2019, arXiv 1912.02178), and the Fisher–Rao norm (Liang et al. 2019).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state

from .._html import key_value_table
from ..criteria import _criteria_and_spectrum
from ..curvature._linalg import (
    DEFAULT_RCOND,
    SingularHessianWarning,
    complement_basis,
    restrict,
)
from ..curvature._matrix_free import CurvatureOperators
from ..curvature._result import Curvature
from ..curvature._spectral import check_curvature, numerical_rank, soft_rank_bounds
from . import _pacbayes
from ._density import slq_spectral_density
from ._fisher import model_fisher_measures
from ._relative import relative_flatness, resolve_layer

__all__ = [
    "Flatness",
    "flatness",
    "hessian_spectral_density",
]


@dataclass(frozen=True)
class Flatness:
    """Flatness measures of one fitted model (see the module conventions).

    Attributes
    ----------
    n_samples : float
        ``n = Σ wᵢ``.
    n_params : int
        ``k``, free parameters (gauge directions excluded).
    soft_rank, soft_rank_lambda : float
        ``tr(H(H + λI)⁻¹)`` and its ``λ``.
    soft_rank_estimate, soft_rank_lower, soft_rank_upper : float
        Trace/spectral-norm estimate and bounds of the soft rank.
    hessian_rank : int
        Numerical rank of ``H``.
    fisher_soft_rank : float
        ``tr(C(C + λI)⁻¹)`` (numerical rank of ``C`` at ``λ = 0``).
    fisher_rank : int
        Numerical rank of ``C``.
    fisher_soft_rank_estimate : float
        ``tr(C)/(‖C‖₂ + λ)``, the trace/spectral-norm estimate (a lower bound) of
        ``fisher_soft_rank`` (its stable rank ``tr(C)/‖C‖₂`` at ``λ = 0``).
    gap_estimate, soft_rank_gap_estimate : float
        ``tr(H_λ⁻¹C)/n`` and ``soft_rank/n`` (NLL per sample).
    trace, frobenius, spectral_norm : float
        ``tr(H)``, ``‖H‖_F``, ``λ_max(H)`` (summed loss).
    logdet : float
        ``log det H_λ`` (over the eigenvalues above ``rcond`` times the largest when
        ``H_λ`` is singular, with a warning).
    trace_mean, frobenius_mean, spectral_norm_mean : float
        The same of the mean-loss Hessian ``H/n`` (the papers' scale).
    logdet_mean : float
        ``log det(H_λ/n)`` (``logdet − r log n`` over the ``r`` eigenvalues kept).
    hessian_rank_bound : int or None
        Granziol's bound scale for ``hessian_rank``: hidden units × output units
        (the paper bounds the rank by a constant times this; networks only).
    effective_dim_gap_estimate : float
        ``effective_dim/n = tr(H_λ⁻¹H)/n`` (nats per sample).
    model_fisher_soft_rank : float or None
        ``tr(F(F + λI)⁻¹)`` of the model Fisher ``F`` (generalised Gauss–Newton,
        :func:`~ticselect.flatness.model_fisher`); ``None`` without output Jacobians.
    model_fisher_rank : int or None
        Numerical rank of ``F``.
    kfac_soft_rank, diagonal_fisher_soft_rank : float or None
        The soft rank of the KFAC and of the diagonal approximation of ``F``.
    kfac_error, diagonal_fisher_error : float or None
        ``‖F̂ − F‖_F/‖F‖_F`` of each approximation.
    model_fisher_soft_rank_gap_estimate : float or None
        ``model_fisher_soft_rank / n``.
    relative_flatness, relative_flatness_lambda_max : float or None
        ``κ_Tr`` and ``κ_λmax`` of ``relative_flatness_layer`` on the mean loss,
        normalised features (``None`` when not requested).
    relative_flatness_layer : int or None
        Layer index used.
    pacgen : float or None
        PACGen ``Ψ_{γ,ε}`` (``None`` with ``pacbayes=False``).
    pacgen_curvature_share : float or None
        Share of coordinates on the curvature branch of PACGen's max.
    pacbayes_kl : float or None
        ``KL(N(θ̂, diag σ²) ‖ N(0, diag s²))`` with PACGen's ``σᵢ`` and
        ``sᵢ = |θ̂ᵢ| + Nᵢ`` (so ``Ψ`` is its log-ratio part).
    pacbayes_bound : float or None
        Catoni's bound ``η C²/8 + (KL + log(1/δ))/(ηn)`` at ``pacbayes_kl``
        (:func:`~ticselect.flatness._pacbayes.pacbayes_bound`).
    hessian_lipschitz, hessian_lipschitz_error : float or None
        ``ρ`` used by PACGen and the spread of its draws.
    expected_sharpness, expected_sharpness_error : float or None
        ``E[L̂(θ̂+u)] - L̂(θ̂)``, ``u ~ N(0, σ²I)``, at ``sigma``, with its standard error.
    magnitude_sharpness, magnitude_sharpness_error : float or None
        The same with ``uᵢ ~ N(0, σ²(|θ̂ᵢ|+ε)²)``.
    sharpness_sigma, magnitude_sharpness_sigma : float or None
        Largest ``σ`` keeping the expected increase of ``L̂`` below the target.
    pacbayes_flatness, pacbayes_magnitude_flatness : float or None
        ``1/σ²`` of the two searches (larger is sharper; Jiang et al. 2019).
    fisher_rao_norm : float
        ``θ̂ᵀCθ̂/n``.
    eigenvalues : ndarray of shape (n_params,)
        Spectrum of ``H`` (ascending), excluded from :meth:`to_dict` by default.

    Examples
    --------
    >>> import ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = rng.poisson(np.exp(0.3 * X[:, 0]))
    >>> curv = ts.curvature(PoissonRegressor(alpha=0.01, tol=1e-12).fit(X, y), X, y)
    >>> fl = ts.flatness(curv, random_state=0)
    >>> bool(np.isclose(fl.spectral_norm, np.linalg.eigvalsh(curv.hessian)[-1]))
    True
    >>> "pacgen" in fl.to_dict()
    True
    """

    n_samples: float
    n_params: int
    soft_rank: float
    soft_rank_lambda: float
    soft_rank_estimate: float
    soft_rank_lower: float
    soft_rank_upper: float
    hessian_rank: int
    fisher_soft_rank: float
    fisher_rank: int
    fisher_soft_rank_estimate: float
    gap_estimate: float
    soft_rank_gap_estimate: float
    trace: float
    frobenius: float
    spectral_norm: float
    logdet: float
    trace_mean: float
    frobenius_mean: float
    spectral_norm_mean: float
    logdet_mean: float
    hessian_rank_bound: int | None
    effective_dim_gap_estimate: float
    model_fisher_soft_rank: float | None
    model_fisher_rank: int | None
    kfac_soft_rank: float | None
    diagonal_fisher_soft_rank: float | None
    kfac_error: float | None
    diagonal_fisher_error: float | None
    model_fisher_soft_rank_gap_estimate: float | None
    relative_flatness: float | None
    relative_flatness_lambda_max: float | None
    relative_flatness_layer: int | None
    pacgen: float | None
    pacgen_curvature_share: float | None
    pacbayes_kl: float | None
    pacbayes_bound: float | None
    hessian_lipschitz: float | None
    hessian_lipschitz_error: float | None
    expected_sharpness: float | None
    expected_sharpness_error: float | None
    magnitude_sharpness: float | None
    magnitude_sharpness_error: float | None
    sharpness_sigma: float | None
    magnitude_sharpness_sigma: float | None
    pacbayes_flatness: float | None
    pacbayes_magnitude_flatness: float | None
    fisher_rao_norm: float
    eigenvalues: np.ndarray = field(repr=False, compare=False)

    def to_dict(self, include_spectrum=False):
        """Return the measures as a plain ``dict`` of Python scalars.

        Parameters
        ----------
        include_spectrum : bool, default=False
            Also include ``eigenvalues`` (as a list).

        Returns
        -------
        dict
        """
        out = {}
        for k, v in asdict(self).items():
            if k == "eigenvalues":
                if include_spectrum:
                    out[k] = np.asarray(v).tolist()
                continue
            out[k] = v.item() if hasattr(v, "item") else v
        return out

    def summary(self):
        """Return an aligned text table of the scalar measures.

        Returns
        -------
        str
        """
        rows = list(self.to_dict().items())
        width = max(len(k) for k, _ in rows)
        lines = [f"{'measure':<{width}}  value", f"{'-' * width}  {'-' * 14}"]
        for k, v in rows:
            val = "-" if v is None else (f"{v:d}" if isinstance(v, int) else f"{v:.6g}")
            lines.append(f"{k:<{width}}  {val}")
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def _repr_html_(self):
        return key_value_table("Flatness measures", self.to_dict())


# -------------------------------------------------------------------- spectrum
def hessian_spectral_density(
    ops, *, n_probes=10, n_lanczos=30, penalized=False, random_state=None
):
    """Matrix-free spectral density of ``H`` (or ``H_λ``) by stochastic Lanczos.

    For networks too large for :func:`flatness` (which diagonalises ``H``): Hessian-
    vector products only (Ghorbani, Krishnan & Xiao 2019; the density studied by
    Granziol, arXiv 2006.09091).  ``tr f(H)`` for any ``f`` follows from
    :meth:`~ticselect.flatness.SpectralDensity.trace_function` with a standard error,
    e.g. the soft rank with ``f(x) = max(x, 0)/(max(x, 0) + λ)``.

    Parameters
    ----------
    ops : CurvatureOperators or Curvature
        From :func:`ticselect.curvature_operators` (a dense curvature is wrapped).
    n_probes : int, default=10
        Rademacher probes.
    n_lanczos : int, default=30
        Lanczos steps per probe.
    penalized : bool, default=False
        Use ``H_λ`` instead of ``H``.
    random_state : int, RandomState or None, default=None
        Seed.

    Returns
    -------
    SpectralDensity
        ``nodes`` and ``weights`` of shape (n_probes, n_lanczos); gauge directions
        are not projected out (they contribute zero eigenvalues).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> import ticselect as ts
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4)); y = X[:, 0] + rng.normal(size=100) > 0
    >>> curv = ts.curvature(LogisticRegression(tol=1e-10).fit(X, y), X, y)
    >>> sd = hessian_spectral_density(curv, n_probes=3, random_state=0)
    >>> exact = np.linalg.eigvalsh(curv.hessian)   # 5 Lanczos steps span R⁵:
    >>> bool(np.allclose(sd.nodes[0], exact))      # the nodes are the eigenvalues
    True
    """
    if isinstance(ops, Curvature):
        ops = CurvatureOperators.from_curvature(ops)
    if not isinstance(ops, CurvatureOperators):
        raise TypeError(
            "hessian_spectral_density takes CurvatureOperators or a Curvature, got "
            f"{type(ops).__name__}."
        )
    mv = ops.penalized_hvp if penalized else ops.hvp
    return slq_spectral_density(
        mv,
        ops.n_params,
        n_probes=n_probes,
        n_lanczos=n_lanczos,
        random_state=random_state,
    )


def _logdet(M, rcond):
    """``(log pseudo-determinant, number of eigenvalues kept)`` of ``M``."""
    ev = linalg.eigvalsh(M) if M.size else np.zeros(0)
    if ev.size == 0:
        return 0.0, 0
    top = np.max(np.abs(ev))
    keep = ev > rcond * top
    if not np.all(keep):
        warnings.warn(
            f"The penalised Hessian is singular or indefinite (eigenvalues from "
            f"{ev.min():.3g} to {ev.max():.3g}); logdet is the log pseudo-determinant "
            f"over the {int(keep.sum())} of {ev.size} eigenvalues above "
            f"rcond={rcond:g} times the largest.",
            SingularHessianWarning,
            stacklevel=3,
        )
    return float(np.sum(np.log(ev[keep]))), int(keep.sum())


def _rank_bound(curv):
    """Hidden units × output units of a network (Granziol's rank scale), else None."""
    layers = getattr(curv, "layers", None)
    if layers is None or len(layers) < 2:
        return None
    hidden = sum(int(np.asarray(lay["bias"]).size) for lay in layers[:-1])
    return hidden * int(np.asarray(layers[-1]["bias"]).size)


_PB_KEYS = [
    "pacgen",
    "pacgen_curvature_share",
    "pacbayes_kl",
    "pacbayes_bound",
    "hessian_lipschitz",
    "hessian_lipschitz_error",
    "expected_sharpness",
    "expected_sharpness_error",
    "magnitude_sharpness",
    "magnitude_sharpness_error",
    "sharpness_sigma",
    "magnitude_sharpness_sigma",
    "pacbayes_flatness",
    "pacbayes_magnitude_flatness",
]
_FISHER_KEYS = [
    "model_fisher_soft_rank",
    "model_fisher_rank",
    "kfac_soft_rank",
    "diagonal_fisher_soft_rank",
    "kfac_error",
    "diagonal_fisher_error",
    "model_fisher_soft_rank_gap_estimate",
]

PACGEN_GAMMA, PACGEN_EPS = _pacbayes.PACGEN_GAMMA, _pacbayes.PACGEN_EPS


def _pacbayes_measures(
    curv,
    seeds,
    *,
    gamma,
    eps,
    magnitude_eps,
    rho,
    n_rho,
    sigma,
    target,
    n_sharpness,
    delta,
    eta,
    loss_range,
):
    psi, rho_est = _pacbayes.pacgen(
        curv, gamma=gamma, eps=eps, rho=rho, n_samples=n_rho, random_state=seeds[0]
    )
    terms = _pacbayes.pacgen_terms(curv, gamma=gamma, eps=eps, rho=rho_est.value)
    kl = terms.kl()
    es = _pacbayes.expected_sharpness(
        curv, sigma, n_samples=n_sharpness, random_state=seeds[1]
    )
    ms = _pacbayes.expected_sharpness(
        curv,
        sigma,
        magnitude_aware=True,
        eps=magnitude_eps,
        n_samples=n_sharpness,
        random_state=seeds[2],
    )
    s_iso = _pacbayes.sharpness_sigma(
        curv, target=target, n_samples=n_sharpness, random_state=seeds[3]
    )
    s_mag = _pacbayes.sharpness_sigma(
        curv,
        target=target,
        magnitude_aware=True,
        eps=magnitude_eps,
        n_samples=n_sharpness,
        random_state=seeds[4],
    )
    return dict(
        pacgen=psi,
        pacgen_curvature_share=terms.curvature_share,
        pacbayes_kl=kl,
        pacbayes_bound=_pacbayes.pacbayes_bound(
            kl, curv.n_samples, delta=delta, eta=eta, loss_range=loss_range
        ),
        hessian_lipschitz=rho_est.value,
        hessian_lipschitz_error=rho_est.error,
        expected_sharpness=es.value,
        expected_sharpness_error=es.error,
        magnitude_sharpness=ms.value,
        magnitude_sharpness_error=ms.error,
        sharpness_sigma=s_iso,
        magnitude_sharpness_sigma=s_mag,
        pacbayes_flatness=1.0 / s_iso**2,
        pacbayes_magnitude_flatness=1.0 / s_mag**2,
    )


def _fisher_measures(curv, lam, rcond):
    if getattr(curv, "output_jacobians_fn", None) is None:
        return dict.fromkeys(_FISHER_KEYS)
    mf = model_fisher_measures(curv, lam, rcond)
    return dict(
        model_fisher_soft_rank=mf.soft_rank,
        model_fisher_rank=mf.rank,
        kfac_soft_rank=mf.kfac_soft_rank,
        diagonal_fisher_soft_rank=mf.diagonal_soft_rank,
        kfac_error=mf.kfac_error,
        diagonal_fisher_error=mf.diagonal_error,
        model_fisher_soft_rank_gap_estimate=mf.soft_rank / curv.n_samples,
    )


def _relative_flatness_pair(curv, layer, normalize):
    """``(trace κ, λ_max κ, layer name)`` of :func:`flatness`, or ``None`` thrice.

    Without layer inputs on the curvature the normalised κ is unavailable: Petzka et
    al.'s raw κ is returned, with a warning that says so.
    """
    if layer is False:
        return None, None, None
    norm = bool(normalize)
    if norm and getattr(curv, "output_jacobians_fn", None) is None:
        warnings.warn(
            "This Curvature carries no layer inputs (curv.output_jacobians_fn), "
            "so relative_flatness is Petzka et al.'s raw κ (normalize=False).",
            UserWarning,
            stacklevel=3,
        )
        norm = False
    rel = relative_flatness(curv, layer, normalize=norm)
    rel_max = relative_flatness(curv, layer, normalize=norm, kind="lambda_max")
    return rel, rel_max, resolve_layer(curv, layer)[1]


# ----------------------------------------------------------------------- driver
def flatness(
    curv,
    *,
    soft_rank_lambda=None,
    layer=None,
    normalize=True,
    pacbayes=True,
    model_fisher=True,
    gamma=PACGEN_GAMMA,
    eps=PACGEN_EPS,
    magnitude_eps=1e-3,
    rho=None,
    n_rho=5,
    sigma=0.01,
    sharpness_target=0.1,
    n_sharpness=64,
    delta=0.05,
    eta=1.0,
    loss_range=1.0,
    rcond=DEFAULT_RCOND,
    random_state=None,
):
    """Every flatness measure of a fitted model at once.

    Parameters
    ----------
    curv : Curvature
        From :func:`ticselect.curvature` (any supported model kind).
    soft_rank_lambda : float or None, default=None
        ``λ`` of the soft ranks; ``None`` is the fit's own L2 strength (as in
        :func:`ticselect.criteria`).
    layer : int, None or False, default=None
        Layer of :func:`relative_flatness`; ``False`` skips it (``None`` in the
        result).
    normalize : bool, default=True
        Normalise the layer's features for :func:`relative_flatness`.
    pacbayes : bool, default=True
        Compute the PAC-Bayes measures (they evaluate the loss and Hessian at perturbed
        parameters; ``None`` in the result when ``False``).
    model_fisher : bool, default=True
        Compute the model-Fisher soft ranks (exact, KFAC, diagonal); ``None`` in the
        result when ``False`` or when the curvature has no output Jacobians.
    gamma, eps : float, default=1.0, 1.0
        PACGen neighbourhood ``Nᵢ = γ|θᵢ| + ε`` (Wang et al.'s notation).  On the
        mean loss the
        curvature branch ``√(∇²ᵢᵢL̂ + ρ√m Nᵢ)`` beats ``1/Nᵢ`` only where
        ``Nᵢ² (∇²ᵢᵢL̂ + ρ√m Nᵢ) > 1``; ``pacgen_curvature_share`` reports on how many
        coordinates it does (the defaults make it active on the gap benchmark's
        models; ``γ = 0.1, ε = 1e-3`` did not, see the flatness docs).
    magnitude_eps : float, default=1e-3
        ``ε`` of the magnitude-aware sharpness ``uᵢ ~ N(0, σ²(|θᵢ| + ε)²)``.
    rho : float or None, default=None
        Hessian Lipschitz constant for PACGen; ``None`` estimates it.
    n_rho : int, default=5
        Perturbations of the ``ρ`` estimate.
    sigma : float, default=0.01
        Noise level of ``expected_sharpness`` and ``magnitude_sharpness``.
    sharpness_target : float, default=0.1
        Allowed increase of the mean NLL in the σ searches.
    n_sharpness : int, default=64
        Loss evaluations of each sharpness estimate (even).
    delta, eta, loss_range : float, default=0.05, 1.0, 1.0
        ``δ``, ``η`` and the loss range ``C`` of ``pacbayes_bound``.
    rcond : float, default=1e-10
        Relative eigenvalue cutoff (ranks, log pseudo-determinant).
    random_state : int, RandomState or None, default=None
        Seed of every stochastic estimate.

    Returns
    -------
    Flatness

    Raises
    ------
    TypeError
        If ``curv`` is not a :class:`Curvature`.
    ValueError
        From :func:`relative_flatness` (no weight block: pass ``layer=False``) or the
        PAC-Bayes measures (no ``loss_fn``: pass ``pacbayes=False``).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import scale
    >>> import ticselect as ts
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)[:, :5]
    >>> curv = ts.curvature(LogisticRegression(C=1.0, tol=1e-10).fit(X, y), X, y)
    >>> fl = flatness(curv, random_state=0)
    >>> bool(fl.soft_rank_lower <= fl.soft_rank <= fl.soft_rank_upper)
    True
    >>> bool(np.isclose(fl.trace, np.trace(curv.hessian)))
    True
    >>> bool(np.isclose(fl.model_fisher_soft_rank, fl.soft_rank))  # canonical link
    True
    """
    check_curvature(curv, "flatness()")
    rng = check_random_state(random_state)
    seeds = rng.randint(0, 2**31 - 1, size=5)
    crit, ev, C = _criteria_and_spectrum(curv, soft_rank_lambda, rcond)
    Q = complement_basis(curv.gauge if curv.gauge.shape[1] else None, curv.n_params)
    ev_c = linalg.eigvalsh(C) if C.size else np.zeros(0)
    pos_c = np.clip(ev_c, 0.0, None)
    lam = crit.soft_rank_lambda
    n = curv.n_samples

    rel, rel_max, rel_layer = _relative_flatness_pair(curv, layer, normalize)

    pb = dict.fromkeys(_PB_KEYS)
    if pacbayes:
        pb.update(
            _pacbayes_measures(
                curv,
                seeds,
                gamma=gamma,
                eps=eps,
                magnitude_eps=magnitude_eps,
                rho=rho,
                n_rho=n_rho,
                sigma=sigma,
                target=sharpness_target,
                n_sharpness=n_sharpness,
                delta=delta,
                eta=eta,
                loss_range=loss_range,
            )
        )
    fm = _fisher_measures(curv, lam, rcond) if model_fisher else {}
    fm = {**dict.fromkeys(_FISHER_KEYS), **fm}

    logdet, kept = _logdet(restrict(curv.penalized_hessian, Q), rcond)
    trace = float(np.sum(ev))
    frob = float(np.sqrt(np.sum(ev**2)))
    spec = float(ev.max()) if ev.size else 0.0
    return Flatness(
        n_samples=n,
        n_params=int(curv.n_free_params),
        soft_rank=crit.soft_rank,
        soft_rank_lambda=crit.soft_rank_lambda,
        soft_rank_estimate=crit.soft_rank_estimate,
        soft_rank_lower=crit.soft_rank_lower,
        soft_rank_upper=crit.soft_rank_upper,
        hessian_rank=crit.hessian_rank,
        fisher_soft_rank=crit.fisher_soft_rank,
        fisher_rank=numerical_rank(ev_c, rcond),
        fisher_soft_rank_estimate=soft_rank_bounds(
            pos_c.sum(), pos_c.max() if pos_c.size else 0.0, pos_c.size, lam
        ).estimate,
        gap_estimate=crit.gap_estimate,
        soft_rank_gap_estimate=crit.soft_rank_gap_estimate,
        trace=trace,
        frobenius=frob,
        spectral_norm=spec,
        logdet=logdet,
        trace_mean=trace / n,
        frobenius_mean=frob / n,
        spectral_norm_mean=spec / n,
        logdet_mean=logdet - kept * np.log(n),
        hessian_rank_bound=_rank_bound(curv),
        effective_dim_gap_estimate=crit.effective_dim / n,
        relative_flatness=rel,
        relative_flatness_lambda_max=rel_max,
        relative_flatness_layer=rel_layer,
        fisher_rao_norm=_pacbayes.fisher_rao_norm(curv),
        eigenvalues=ev,
        **fm,
        **pb,
    )
