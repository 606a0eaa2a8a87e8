"""Layer 2 — the model Fisher (generalised Gauss–Newton matrix), KFAC and diagonal.

Conventions
-----------
``F = Σᵢ wᵢ Jᵢᵀ Λᵢ Jᵢ`` with ``Jᵢ = ∂zᵢ/∂θ`` the per-sample Jacobian of the model's
outputs (natural parameters) and ``Λᵢ`` the Fisher information of the output
distribution in ``zᵢ`` (:mod:`ticselect.curvature._output`): the **model** Fisher, in
the summed units of ``H`` (``F/n`` is the mean-loss version).  For canonical-link
GLMs and scikit-learn's networks ``F`` is the Gauss–Newton part of ``H``
(``H = F`` exactly for a canonical-link GLM).  It is not the *empirical* Fisher
``C = Σᵢ wᵢ gᵢgᵢᵀ`` (observed labels).  Rows and columns of a dispersion parameter
are zero (it is not an output parameter).

Shoham, Mor-Yosef & Avron (2025, "Flatness After All?", arXiv 2506.17809) evaluate
the soft rank ``tr(F(F + λI)⁻¹)`` of this matrix, and its KFAC and diagonal
approximations for large networks:

- **diagonal**: ``diag(F)``, exact, from the Kronecker factors in ``O(n K² d)``;
- **KFAC** (Martens & Grosse 2015, "Optimizing Neural Networks with
  Kronecker-factored Approximate Curvature", arXiv 1503.05671): block-diagonal over
  layers, block ``l`` equal to ``n · A_l ⊗ G_l`` with ``A_l = E[ã ãᵀ]`` (layer
  inputs, a trailing 1 for the bias) and ``G_l = E[g gᵀ]``, ``g = ∂ℓ/∂u_l`` with
  ``y`` drawn from the model, computed exactly as ``E_i[B_lᵢᵀ Λᵢ B_lᵢ]``
  (expectations weighted by ``wᵢ/n``).  Parameter ``(a, s)`` of a layer (input
  ``a``, unit ``s``) is row ``a·h + s`` of ``A ⊗ G``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..curvature._output import curvature_model_fisher, curvature_output_jacobians
from ..curvature._spectral import check_curvature, numerical_rank

__all__ = [
    "KFACFactors",
    "ModelFisherMeasures",
    "kfac_factors",
    "model_fisher",
    "model_fisher_diagonal",
    "model_fisher_measures",
]


def _data(curv):
    check_curvature(curv, "model_fisher()")
    return curvature_output_jacobians(curv, "model_fisher()")


def model_fisher(curv):
    """Exact model Fisher ``F = Σᵢ wᵢ JᵢᵀΛᵢJᵢ`` (generalised Gauss–Newton matrix).

    Parameters
    ----------
    curv : Curvature
        Of a GLM or a network (``curv.output_jacobians_fn``).

    Returns
    -------
    ndarray of shape (n_params, n_params)
        Summed units, as ``curv.hessian``; zero rows/columns on a dispersion.

    Raises
    ------
    ValueError
        If the curvature carries no output Jacobians.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = rng.poisson(np.exp(0.3 * X[:, 0]))
    >>> curv = ts.curvature(PoissonRegressor(alpha=0).fit(X, y), X, y)
    >>> bool(np.allclose(model_fisher(curv), curv.hessian))  # canonical link: F = H
    True
    """
    check_curvature(curv, "model_fisher()")
    return curvature_model_fisher(curv, "model_fisher()")


def model_fisher_diagonal(curv):
    """Exact diagonal of the model Fisher, without forming it.

    ``diag(F)[(a, s)] = Σᵢ wᵢ ãᵢₐ² (Bᵢᵀ Λᵢ Bᵢ)ₛₛ`` per layer.

    Parameters
    ----------
    curv : Curvature
        Of a GLM or a network.

    Returns
    -------
    ndarray of shape (n_params,)

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.neural_network import MLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
    >>> net = MLPClassifier((4,), solver="lbfgs", random_state=0).fit(X, y)
    >>> curv = ts.curvature(net, X, y, stationarity_tol=np.inf)
    >>> bool(np.allclose(model_fisher_diagonal(curv), np.diag(model_fisher(curv))))
    True
    """
    oj = _data(curv)
    out = np.zeros(oj.n_params)
    w = oj.sample_weight
    for A, B, idx in zip(oj.inputs, oj.back, oj.index, strict=True):
        LB = np.matmul(oj.fisher, B)
        g = np.einsum("iks,iks->is", B, LB)  # (BᵀΛB)_ss per sample
        out[idx] = (A**2 * w[:, None]).T @ g
    return out


@dataclass(frozen=True)
class KFACFactors:
    """KFAC factors of one layer.

    Attributes
    ----------
    A : ndarray of shape (q, q)
        ``E[ã ãᵀ]`` (weights ``wᵢ/n``).
    G : ndarray of shape (h, h)
        ``E[g gᵀ] = E[BᵀΛB]`` (``g = ∂ℓ/∂u`` with ``y`` from the model).
    index : ndarray of int of shape (q, h)
        Positions in ``θ``.
    n_samples : float
        ``n = Σ wᵢ``; the block of the summed-units KFAC matrix is ``n · A ⊗ G``.
    """

    A: np.ndarray
    G: np.ndarray
    index: np.ndarray
    n_samples: float

    def block(self):
        """``n · A ⊗ G``, ndarray of shape (q·h, q·h) (rows in ``index.ravel()``)."""
        return self.n_samples * np.kron(self.A, self.G)


def kfac_factors(curv):
    """KFAC factors ``(A_l, G_l)`` of every layer (a GLM has one).

    Parameters
    ----------
    curv : Curvature
        Of a GLM or a network.

    Returns
    -------
    list of KFACFactors

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.neural_network import MLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
    >>> net = MLPClassifier((4,), solver="lbfgs", random_state=0).fit(X, y)
    >>> curv = ts.curvature(net, X, y, stationarity_tol=np.inf)
    >>> [(f.A.shape, f.G.shape) for f in kfac_factors(curv)]  # (fan_in+1, units)
    [((4, 4), (4, 4)), ((5, 5), (1, 1))]
    """
    oj = _data(curv)
    w = oj.sample_weight
    n = float(w.sum())
    out = []
    for A, B, idx in zip(oj.inputs, oj.back, oj.index, strict=True):
        Af = (A * (w / n)[:, None]).T @ A
        LB = np.matmul(oj.fisher, B)
        Gf = np.einsum("i,iks,ikt->st", w / n, B, LB)
        out.append(KFACFactors(Af, 0.5 * (Gf + Gf.T), idx, n))
    return out


def kfac_matrix(factors, n_params):
    """Dense block-diagonal KFAC matrix, ndarray of shape (n_params, n_params)."""
    K = np.zeros((n_params, n_params))
    for f in factors:
        i = f.index.ravel()
        K[np.ix_(i, i)] = f.block()
    return K


@dataclass(frozen=True)
class ModelFisherMeasures:
    """Soft ranks of the model Fisher and of its approximations, with their errors.

    Attributes
    ----------
    soft_rank, kfac_soft_rank, diagonal_soft_rank : float
        ``tr(M(M + λI)⁻¹)`` of the exact ``F``, of KFAC and of ``diag(F)`` (numerical
        rank at ``λ = 0``).
    rank : int
        Numerical rank of ``F``.
    kfac_error, diagonal_error : float
        ``‖M − F‖_F / ‖F‖_F`` of each approximation.
    """

    soft_rank: float
    kfac_soft_rank: float
    diagonal_soft_rank: float
    rank: int
    kfac_error: float
    diagonal_error: float


def _soft(ev, lam, rcond):
    ev = np.clip(ev, 0.0, None)
    if lam == 0:
        return float(numerical_rank(ev, rcond))
    return float(np.sum(ev / (ev + lam)))


def model_fisher_measures(curv, lam, rcond):
    """Exact, KFAC and diagonal soft ranks of the model Fisher at ``λ``.

    Parameters
    ----------
    curv : Curvature
        Of a GLM or a network.
    lam : float
        Damping ``λ ≥ 0`` (summed units, as the Hessian soft rank).
    rcond : float
        Relative cutoff of the numerical rank (``λ = 0``).

    Returns
    -------
    ModelFisherMeasures
    """
    F = model_fisher(curv)
    ev = linalg.eigvalsh(F) if F.size else np.zeros(0)
    factors = kfac_factors(curv)
    ev_k = np.concatenate(
        [
            np.kron(linalg.eigvalsh(f.A), linalg.eigvalsh(f.G)) * f.n_samples
            for f in factors
        ]
    )
    Kd = kfac_matrix(factors, F.shape[0])
    dg = np.diag(F).copy()
    nf = float(np.linalg.norm(F))
    off = np.sqrt(max(nf**2 - float(np.sum(dg**2)), 0.0))
    return ModelFisherMeasures(
        soft_rank=_soft(ev, lam, rcond),
        kfac_soft_rank=_soft(ev_k, lam, rcond),
        diagonal_soft_rank=_soft(dg, lam, rcond),
        rank=numerical_rank(ev, rcond),
        kfac_error=float(np.linalg.norm(Kd - F) / nf) if nf > 0 else 0.0,
        diagonal_error=float(off / nf) if nf > 0 else 0.0,
    )
