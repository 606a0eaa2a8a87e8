"""ticselect: model selection by TIC, soft rank and calibration, native to scikit-learn.

The public API lives here; implementation modules are private.  Conventions (summed
NLL, observed information, penalty units, dispersion) are documented once in
:mod:`ticselect._curvature`.
"""

from ._curvature import Curvature, NotStationaryWarning, curvature
from ._estimator import InformationCriteria
from ._linalg import SingularHessianWarning
from ._matrix_free import (
    CurvatureOperators,
    Estimate,
    curvature_operators,
    estimate_tic_penalty,
    estimate_trace,
    tic_penalty,
    top_eigenvalues,
)
from ._path import CriterionPath, criterion_path
from ._reliability_display import ReliabilityDisplay
from ._report import Comparison, compare
from .calibration import (
    BinnedMeanCurve,
    BrierDecomposition,
    CalibrationReport,
    CalibrationSlope,
    HosmerLemeshowResult,
    binned_mean_curve,
    brier_decomposition,
    brier_score,
    calibration_in_the_large,
    calibration_report,
    calibration_slope,
    debiased_ece,
    dispersion_ratio,
    expected_calibration_error,
    hosmer_lemeshow,
    max_calibration_error,
    smooth_ece,
)
from .criteria import Criteria, criteria
from .flatness import Flatness, flatness, hessian_spectral_density, relative_flatness
from .scoring import (
    HeldOutDataWarning,
    InSample,
    check_scoring,
    criteria_scoring,
    get_scorer,
    get_scorer_names,
    make_criterion_scorer,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "BinnedMeanCurve",
    "BrierDecomposition",
    "CalibrationReport",
    "CalibrationSlope",
    "HosmerLemeshowResult",
    "ReliabilityDisplay",
    "binned_mean_curve",
    "brier_decomposition",
    "brier_score",
    "calibration_in_the_large",
    "calibration_report",
    "calibration_slope",
    "debiased_ece",
    "dispersion_ratio",
    "expected_calibration_error",
    "hosmer_lemeshow",
    "max_calibration_error",
    "smooth_ece",
    "CurvatureOperators",
    "Estimate",
    "curvature_operators",
    "estimate_tic_penalty",
    "estimate_trace",
    "tic_penalty",
    "top_eigenvalues",
    "Flatness",
    "flatness",
    "hessian_spectral_density",
    "relative_flatness",
    "Comparison",
    "CriterionPath",
    "HeldOutDataWarning",
    "check_scoring",
    "compare",
    "criteria_scoring",
    "criterion_path",
    "Criteria",
    "Curvature",
    "InSample",
    "InformationCriteria",
    "NotStationaryWarning",
    "SingularHessianWarning",
    "__version__",
    "criteria",
    "curvature",
    "get_scorer",
    "get_scorer_names",
    "make_criterion_scorer",
]
