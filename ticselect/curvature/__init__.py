"""Layer 1 — fitted model → :class:`Curvature`: exact ``H``, ``C`` and gradients.

What this wing owns: the conventions (:mod:`ticselect.curvature._result`), the
exponential families and links (``_families``), the GLM and network kernels
(``_glm``, ``_mlp``), stable linear algebra (``_linalg``, ``_spectral``),
matrix-free operators (``_matrix_free``), one adapter per model kind
(:mod:`ticselect.curvature.adapters`), the :func:`curvature` dispatcher, and
:func:`curvature_from_loss` for any likelihood written in autograd (``_autograd``).  It
imports only :mod:`ticselect._validation` from the rest of the package.
"""

from ._autograd import curvature_from_loss
from ._dispatch import SUPPORTED, curvature
from ._linalg import SingularHessianWarning
from ._matrix_free import (
    CurvatureOperators,
    Estimate,
    curvature_operators,
    estimate_tic_penalty,
    estimate_trace,
    top_eigenvalues,
)
from ._result import Curvature, NotStationaryWarning
from ._separation import SeparationWarning

__all__ = [
    "SUPPORTED",
    "Curvature",
    "CurvatureOperators",
    "Estimate",
    "NotStationaryWarning",
    "SeparationWarning",
    "SingularHessianWarning",
    "curvature",
    "curvature_from_loss",
    "curvature_operators",
    "estimate_tic_penalty",
    "estimate_trace",
    "top_eigenvalues",
]
