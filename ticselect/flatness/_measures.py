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

import re
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state

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

__all__ = [
    "Flatness",
    "flatness",
    "hessian_spectral_density",
    "relative_flatness",
]

_INTERCEPT = re.compile(r"^(intercept|const|\(intercept\))$", re.IGNORECASE)


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
    relative_flatness : float or None
        ``κ_Tr`` of ``relative_flatness_layer`` (``None`` when not requested).
    relative_flatness_layer : int or None
        Layer index used.
    pacgen : float or None
        PACGen ``Ψ_{γ,ε}`` (``None`` with ``pacbayes=False``).
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
    relative_flatness: float | None
    relative_flatness_layer: int | None
    pacgen: float | None
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


# --------------------------------------------------------------- layer structure
def _layer_blocks(curv):
    """Index arrays ``(fan_in, fan_out)`` of the weight matrix of every layer.

    Networks carry them (``curv.layers``, set by the MLP adapter).  A GLM has one
    "layer": its coefficient block, one column per class (linear predictor), read
    from the parameter names: intercepts (``intercept``, ``const``, ``Intercept``) and
    the dispersion are excluded, multinomial names ``"k:name"`` are grouped by ``k``.
    """
    layers = getattr(curv, "layers", None)
    if layers is not None:
        return [np.asarray(lay["weights"]) for lay in layers]
    if curv.family == "mlp":
        raise ValueError(
            "This network Curvature has no layer structure (curv.layers); build it "
            "with ticselect.curvature(model, X, y)."
        )
    groups = {}
    n_coef = curv.n_params - int(curv.dispersion_is_param)
    for j, name in enumerate(curv.param_names[:n_coef]):
        prefix, _, base = name.rpartition(":")
        if _INTERCEPT.match(base.strip()):
            continue
        groups.setdefault(prefix, []).append(j)
    sizes = {len(v) for v in groups.values()}
    if not groups or sizes == {0}:
        raise ValueError(
            f"{curv.model_name}: relative flatness needs a weight (coefficient) "
            "block, but this model has only an intercept and/or a dispersion."
        )
    if len(sizes) != 1:
        raise ValueError(
            f"{curv.model_name}: the coefficient groups {list(groups)} have different "
            "sizes; relative flatness needs one weight vector per linear predictor."
        )
    return [np.column_stack([np.asarray(v) for v in groups.values()])]


def relative_flatness(curv, layer=None):
    """Relative flatness ``κ_Tr`` of one weight layer (Petzka et al. 2021).

    For a layer with weight matrix ``W`` whose column ``w_s`` holds the incoming
    weights of output unit ``s`` (scikit-learn's ``coefs_[l]`` has shape
    ``(fan_in, fan_out)``), ``κ_Tr(W) = Σ_{s,s'} ⟨w_s, w_s'⟩ tr(H_{s,s'})`` with
    ``H_{s,s'}`` the block of the summed-NLL Hessian for ``w_s`` and ``w_s'``
    (Petzka, Kamp, Adilova, Sminchisescu & Boley, "Relative Flatness and
    Generalization", arXiv 2001.00939).  Biases are not part of ``W``.  It is
    invariant to rescaling a layer by ``c`` and its successor by ``1/c`` (a function-
    preserving change for ``relu`` and ``identity`` units), whereas ``tr(H)`` is not.

    Parameters
    ----------
    curv : Curvature
        A network (``curv.layers``) or a GLM (its coefficient block).
    layer : int or None, default=None
        Weight layer ``l`` (``coefs_[l]``; negative indices count from the output).
        ``None`` is the last one, whose inputs are the penultimate layer's
        activations (the feature layer of Petzka et al.).  GLMs have one layer, 0.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the model has no weight block, or ``layer`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> import ticselect as ts
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)); y = X @ [1.0, -2.0] + rng.normal(size=50)
    >>> curv = ts.curvature(LinearRegression().fit(X, y), X, y, dispersion=1.0)
    >>> beta = curv.params[:2]                   # κ = ‖β‖² tr(XᵀX) for one output
    >>> bool(np.isclose(relative_flatness(curv), beta @ beta * np.sum(X**2)))
    True
    """
    check_curvature(curv, "relative_flatness()")
    blocks = _layer_blocks(curv)
    n_layers = len(blocks)
    idx_layer = n_layers - 1 if layer is None else int(layer)
    if not -n_layers <= idx_layer < n_layers:
        raise ValueError(
            f"layer must be in [-{n_layers}, {n_layers - 1}] for this model "
            f"({n_layers} weight layer(s)), got {layer}."
        )
    idx = blocks[idx_layer]
    p, h = idx.shape
    W = curv.params[idx]
    Hb = curv.hessian[np.ix_(idx.ravel(), idx.ravel())].reshape(p, h, p, h)
    T = np.einsum("asat->st", Hb)  # tr(H_{s,s'})
    return float(np.sum((W.T @ W) * T))


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
    ev = linalg.eigvalsh(M) if M.size else np.zeros(0)
    if ev.size == 0:
        return 0.0
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
    return float(np.sum(np.log(ev[keep])))


# ----------------------------------------------------------------------- driver
def flatness(
    curv,
    *,
    soft_rank_lambda=None,
    layer=None,
    pacbayes=True,
    gamma=0.1,
    eps=1e-3,
    rho=None,
    n_rho=5,
    sigma=0.01,
    sharpness_target=0.1,
    n_sharpness=64,
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
    pacbayes : bool, default=True
        Compute the PAC-Bayes measures (they evaluate the loss and Hessian at perturbed
        parameters; ``None`` in the result when ``False``).
    gamma, eps : float, default=0.1, 1e-3
        PACGen neighbourhood ``γ|θᵢ| + ε``; ``eps`` is also the ``ε`` of the
        magnitude-aware sharpness.
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
    """
    check_curvature(curv, "flatness()")
    rng = check_random_state(random_state)
    seeds = rng.randint(0, 2**31 - 1, size=5)
    crit, ev, C = _criteria_and_spectrum(curv, soft_rank_lambda, rcond)
    Q = complement_basis(curv.gauge if curv.gauge.shape[1] else None, curv.n_params)
    ev_c = linalg.eigvalsh(C) if C.size else np.zeros(0)
    pos_c = np.clip(ev_c, 0.0, None)
    lam = crit.soft_rank_lambda

    rel = None
    rel_layer = None
    if layer is not False:
        rel = relative_flatness(curv, layer)
        n_layers = len(_layer_blocks(curv))
        rel_layer = (n_layers - 1 if layer is None else int(layer)) % n_layers

    pb = dict.fromkeys(
        [
            "pacgen",
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
    )
    if pacbayes:
        psi, rho_est = _pacbayes.pacgen(
            curv,
            gamma=gamma,
            eps=eps,
            rho=rho,
            n_samples=n_rho,
            random_state=seeds[0],
        )
        es = _pacbayes.expected_sharpness(
            curv, sigma, n_samples=n_sharpness, random_state=seeds[1]
        )
        ms = _pacbayes.expected_sharpness(
            curv,
            sigma,
            magnitude_aware=True,
            eps=eps,
            n_samples=n_sharpness,
            random_state=seeds[2],
        )
        s_iso = _pacbayes.sharpness_sigma(
            curv, target=sharpness_target, n_samples=n_sharpness, random_state=seeds[3]
        )
        s_mag = _pacbayes.sharpness_sigma(
            curv,
            target=sharpness_target,
            magnitude_aware=True,
            eps=eps,
            n_samples=n_sharpness,
            random_state=seeds[4],
        )
        pb.update(
            pacgen=psi,
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

    return Flatness(
        n_samples=curv.n_samples,
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
        trace=float(np.sum(ev)),
        frobenius=float(np.sqrt(np.sum(ev**2))),
        spectral_norm=float(ev.max()) if ev.size else 0.0,
        logdet=_logdet(restrict(curv.penalized_hessian, Q), rcond),
        relative_flatness=rel,
        relative_flatness_layer=rel_layer,
        fisher_rao_norm=_pacbayes.fisher_rao_norm(curv),
        eigenvalues=ev,
        **pb,
    )
