"""Layer 2 — flatness measures of the literature, computed from a :class:`Curvature`.

What this wing owns: the exact measures (:mod:`ticselect.flatness._measures`:
Hessian norms, soft rank, relative flatness), the PAC-Bayes measures
(``_pacbayes``), matrix-free spectral densities (``_density``) and the soft-rank
gap of a temperature-scaled model (``_calibrated``).  It builds on
:mod:`ticselect.criteria` (the shared spectrum) and the curvature wing.
"""

from ._calibrated import CalibratedGap, calibrated_soft_rank_gap
from ._density import SpectralDensity
from ._fisher import kfac_factors, model_fisher, model_fisher_diagonal
from ._measures import Flatness, flatness, hessian_spectral_density
from ._relative import relative_flatness

__all__ = [
    "CalibratedGap",
    "Flatness",
    "SpectralDensity",
    "calibrated_soft_rank_gap",
    "flatness",
    "hessian_spectral_density",
    "kfac_factors",
    "model_fisher",
    "model_fisher_diagonal",
    "relative_flatness",
]
