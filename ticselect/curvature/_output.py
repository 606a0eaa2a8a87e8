"""Layer 1 — per-sample output Jacobians of a model, for the model Fisher (GGN).

The **model Fisher** (generalised Gauss–Newton matrix) of a model whose ``i``-th output
``zᵢ ∈ R^K`` (the natural parameters: a GLM's linear predictors, a network's output
pre-activations) has the Fisher information ``Λᵢ = E_{y~p(·|zᵢ)}[∇_z ℓᵢ ∇_z ℓᵢᵀ]`` is
``F = Σᵢ wᵢ Jᵢᵀ Λᵢ Jᵢ`` with ``Jᵢ = ∂zᵢ/∂θ`` (summed over samples, as ``H``; see
:mod:`ticselect.curvature._result`).  For every output activation of scikit-learn's
networks and for canonical-link GLMs, ``Λᵢ = ∂²ℓᵢ/∂zᵢ²`` (it does not depend on
``y``), so ``F`` is the Gauss–Newton part of ``H``; for a non-canonical link
``Λᵢ = (dμ/dη)²/(φ V(μ))``, the expected information in ``η``.

Every layer's Jacobian has the Kronecker form ``∂zᵢ/∂W̃_l = Bᵢ_l ⊗ ãᵢ_l`` (``ã`` the
layer's input with a trailing 1 when it has a bias, ``B_l = ∂z/∂u_l`` of shape
``(K, h_l)``), which is what the KFAC approximation factorises.  A GLM is one such
layer: ``ã = x̃`` and ``B = I`` (columns of dropped reference classes removed).
Networks build theirs in :mod:`ticselect.curvature.adapters.sklearn_mlp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = [
    "OutputJacobians",
    "curvature_model_fisher",
    "curvature_output_jacobians",
    "glm_output_jacobians",
    "model_fisher_matrix",
]

#: Floats of per-sample Jacobians held at once by :func:`model_fisher_matrix` (128 MiB).
_BLOCK_FLOATS = 2**24

#: (family, link) pairs whose link is canonical: there ``F = H`` exactly.
_CANONICAL = {
    ("gaussian", "identity"),
    ("binomial", "logit"),
    ("poisson", "log"),
    ("gamma", "inverse"),
    ("inverse_gaussian", "inverse_squared"),
    ("multinomial", "softmax"),
}


@dataclass
class OutputJacobians:
    """Per-layer factors of the per-sample output Jacobians, and the output Fisher.

    Attributes
    ----------
    inputs : list of ndarray of shape (n, q_l)
        Layer inputs ``ã_l`` (a trailing column of ones when ``has_bias[l]``).
    back : list of ndarray of shape (n, K, h_l)
        ``B_l = ∂z/∂u_l``, derivative of the outputs in the layer's pre-activations.
    index : list of ndarray of int of shape (q_l, h_l)
        Position in ``θ`` of the parameter multiplying ``ã_l[a]`` into ``u_l[s]``.
    has_bias : list of bool
        Whether the last column of ``inputs[l]`` is the constant 1 (bias/intercept).
    fisher : ndarray of shape (n, K, K)
        ``Λᵢ``, Fisher information of the output distribution in ``zᵢ``.
    sample_weight : ndarray of shape (n,)
        ``wᵢ``.
    n_params : int
        ``d``, length of ``θ`` (a dispersion parameter is not an output parameter:
        its rows and columns of the model Fisher are zero).
    """

    inputs: list
    back: list
    index: list
    has_bias: list
    fisher: np.ndarray
    sample_weight: np.ndarray
    n_params: int

    def jacobian(self, rows=None):
        """Dense per-sample Jacobians ``Jᵢ = ∂zᵢ/∂θ``.

        Parameters
        ----------
        rows : slice or None, default=None
            Rows to return (all when ``None``); the full array holds ``n·K·d``
            floats, so large models take it in row blocks.

        Returns
        -------
        ndarray of shape (n_rows, K, n_params)
        """
        rows = slice(None) if rows is None else rows
        K = self.fisher.shape[1]
        n = self.fisher[rows].shape[0]
        J = np.zeros((n, K, self.n_params))
        for A, B, idx in zip(self.inputs, self.back, self.index, strict=True):
            a, b = A[rows], B[rows]
            J[:, :, idx.ravel()] = (b[:, :, None, :] * a[:, None, :, None]).reshape(
                n, K, -1
            )
        return J


def curvature_output_jacobians(curv, what):
    """The :class:`OutputJacobians` of a curvature, or a ``ValueError`` saying why not.

    Parameters
    ----------
    curv : Curvature
        Built by :func:`ticselect.curvature` from a GLM or a network.
    what : str
        Name of the calling function, for the message.

    Returns
    -------
    OutputJacobians

    Raises
    ------
    ValueError
        If the curvature carries no output Jacobians.
    """
    fn = getattr(curv, "output_jacobians_fn", None)
    if fn is None:
        raise ValueError(
            f"{what}: {curv.model_name or 'this curvature'} carries no output "
            "Jacobians (curv.output_jacobians_fn), so its model Fisher (Gauss-Newton "
            "matrix) cannot be formed: it is available for curvatures built by "
            "ticselect.curvature(model, X, y) from GLMs and networks."
        )
    return fn()


def curvature_model_fisher(curv, what):
    """The model Fisher of a curvature, by its fastest builder.

    Networks carry ``model_fisher_fn`` (the Hessian kernel of
    :mod:`ticselect.curvature._mlp` with the second-order terms left out: about the
    cost of ``H``); otherwise :func:`model_fisher_matrix` of the output Jacobians.

    Parameters
    ----------
    curv : Curvature
        Built by :func:`ticselect.curvature` from a GLM or a network.
    what : str
        Name of the calling function, for the message.

    Returns
    -------
    ndarray of shape (n_params, n_params)

    Raises
    ------
    ValueError
        If the curvature carries no output Jacobians.
    """
    fn = getattr(curv, "model_fisher_fn", None)
    if fn is not None:
        return fn()
    return model_fisher_matrix(curvature_output_jacobians(curv, what))


def model_fisher_matrix(oj):
    """Exact model Fisher ``F = Σᵢ wᵢ JᵢᵀΛᵢJᵢ`` from the output Jacobians.

    ``Λᵢ = SᵢSᵢᵀ`` (``Λᵢ ⪰ 0``), so ``F = Σ (SᵢᵀJᵢ)ᵀ(SᵢᵀJᵢ)`` is a Gram matrix,
    accumulated over row blocks of at most ``_BLOCK_FLOATS`` floats of Jacobians:
    ``n·K·d²`` flops, positive semi-definite by construction.

    Parameters
    ----------
    oj : OutputJacobians

    Returns
    -------
    ndarray of shape (n_params, n_params)
        Summed units, as ``Curvature.hessian``; zero rows/columns on a dispersion.
    """
    d = oj.n_params
    n, K = oj.fisher.shape[:2]
    F = np.zeros((d, d))
    w = oj.sample_weight
    S = np.swapaxes(_psd_sqrt(oj.fisher), 1, 2) * np.sqrt(w)[:, None, None]
    step = max(1, _BLOCK_FLOATS // max(1, K * d))
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        M = np.matmul(S[rows], oj.jacobian(rows)).reshape(-1, d)
        F += M.T @ M
    return 0.5 * (F + F.T)


def _psd_sqrt(lam):
    """``Sᵢ`` with ``SᵢSᵢᵀ = Λᵢ`` (symmetric square root, negative parts clipped)."""
    if lam.shape[1] == 1:
        return np.sqrt(np.clip(lam, 0.0, None))
    ev, V = np.linalg.eigh(lam)
    return V * np.sqrt(np.clip(ev, 0.0, None))[:, None, :]


def glm_output_jacobians(spec, phi, keep, n_params):
    """:class:`OutputJacobians` of a GLM (see :mod:`ticselect.curvature._glm`).

    Parameters
    ----------
    spec : GLMSpec
        The fitted model and its data.
    phi : float or None
        Dispersion used by the curvature.
    keep : ndarray of int or None
        Kept positions of the full class-major layout (dropped reference classes).
    n_params : int
        ``d`` of the curvature.

    Returns
    -------
    OutputJacobians
    """
    fam = spec.family
    fit_int = spec.intercept is not None
    X = spec.X.toarray() if sp.issparse(spec.X) else np.asarray(spec.X, dtype=float)
    eta = X @ spec.coef.T  # the linear predictor, as in _glm._linear_predictor
    if fit_int:
        eta = eta + spec.intercept[None, :]
        X = np.column_stack([X, np.ones(X.shape[0])])
    if spec.offset is not None:
        eta = eta + spec.offset[:, None]
    n, pt = X.shape
    m = spec.coef.shape[0]
    phi_arg = 1.0 if phi is None else phi
    if (fam.name, fam.link.name) in _CANONICAL:
        # canonical link: ∂²ℓ/∂η² does not depend on y, Λ is the observed value
        e = eta if fam.name == "multinomial" else eta[:, 0]
        lam = fam.eta_derivatives(spec.y, e, phi_arg)[1].reshape(n, m, m)
    else:
        # ∂²ℓ/∂η² is affine in y for these families, so its expectation is its
        # value at y = μ (where ∂ℓ/∂μ = 0): (dμ/dη)² ∂²ℓ/∂μ² = (dμ/dη)²/(φV(μ)).
        e = eta[:, 0]
        mu = fam.mean(e)
        m1, _ = fam.link.inverse_derivatives(e)
        with np.errstate(all="ignore"):  # μ at the boundary: dμ/dη = 0 there
            l2 = fam._mu_derivatives(mu, mu, phi_arg)[1]
            lam = np.where(m1 == 0, 0.0, l2 * m1**2)
        lam = lam.reshape(n, 1, 1)
    if not np.all(np.isfinite(lam)):
        raise ValueError(
            f"{spec.model_name}: the output Fisher information is not finite at the "
            "fitted parameters (fitted means at the boundary of the family's range)."
        )
    full = np.arange(m * pt).reshape(m, pt).T  # [a, class]
    pos = np.full(m * pt, -1)
    if keep is None:
        pos[:] = np.arange(m * pt)
    else:
        pos[np.asarray(keep)] = np.arange(len(keep))
    idx = pos[full]
    cols = np.flatnonzero(np.all(idx >= 0, axis=0))
    back = np.broadcast_to(np.eye(m)[:, cols], (n, m, cols.size))
    return OutputJacobians(
        inputs=[X],
        back=[np.ascontiguousarray(back)],
        index=[idx[:, cols]],
        has_bias=[fit_int],
        fisher=np.asarray(lam, dtype=float),
        sample_weight=np.asarray(spec.sample_weight, dtype=float),
        n_params=int(n_params),
    )
