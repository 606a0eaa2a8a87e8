"""Layer 1 (kernels) — the gauge of a network: softmax shift and linear hidden units.

:meth:`MLPSpec.gauge <ticselect.curvature._mlp.MLPSpec.gauge>` holds the softmax
output's logit shift.  Identity hidden units add a continuous symmetry: the network is
``x ↦ x W₁⋯W_L + c``, and ``(W₁, W₂) → (W₁A, A⁻¹W₂)`` (any invertible ``A``), and more
when a layer is wider than ``min(p, K)``, leaves every ``ℓᵢ`` unchanged.
:func:`network_gauge` returns both, for the curvature and the matrix-free operators.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._mlp import output_jacobian

__all__ = ["LINEAR_GAUGE_RCOND", "network_gauge"]

#: Singular values of the probe Jacobian below this fraction of the largest are zero.
LINEAR_GAUGE_RCOND = 1e-10


def network_gauge(spec):
    """Orthonormal gauge directions of a network (module docstring).

    Parameters
    ----------
    spec : MLPSpec
        The fitted network.

    Returns
    -------
    ndarray of shape (n_params, r)
    """
    if spec.activation == "identity" and len(spec.coefs) > 1:
        return _linear_network_gauge(spec)
    return spec.gauge()


def _linear_network_gauge(spec):
    """Null space of ``θ ↦ (x ↦ z)`` for a network whose hidden units are linear.

    ``z = x W₁⋯W_L + c`` is fixed by its values at the ``p + 1`` inputs ``0, e₁, …,
    e_p``: the directions ``v`` with ``J v = 0`` for the Jacobian ``J`` of those
    outputs (of the outputs minus their class mean for a softmax, which adds its
    logit shift) are the gauge, and ``rank J`` the identified weights
    (``r(p + K − r) + K`` for a product of rank ``r``).  The loss is flat along the
    curved orbits they are tangent to (an L2 penalty keeps only ``A ∈ O(h)``), so
    at an unpenalised optimum ``H`` vanishes on them.
    """
    p = spec.X.shape[1]
    probe = replace(spec, X=np.vstack([np.zeros((1, p)), np.eye(p)]))
    Jz = output_jacobian(probe)  # (p + 1, K, n_weights)
    if spec.output == "softmax":
        Jz = Jz - Jz.mean(axis=1, keepdims=True)
    J = Jz.reshape(-1, Jz.shape[2])
    _, sv, Vt = np.linalg.svd(J, full_matrices=True)
    rank = int(np.count_nonzero(sv > LINEAR_GAUGE_RCOND * sv[0])) if sv.size else 0
    null = Vt[rank:].T
    if spec.sigma2_is_param:
        null = np.vstack([null, np.zeros((1, null.shape[1]))])
    return null
