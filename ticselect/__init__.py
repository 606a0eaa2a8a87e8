"""ticselect: model selection by TIC, soft rank and calibration, native to scikit-learn.

The public API lives here; implementation modules are private.  Conventions (summed
NLL, observed information, penalty units, dispersion) are documented once in
:mod:`ticselect.curvature._result`.

Layers (each imports only from its own wing and the layers below; ``pyproject.toml``
declares them as import-linter contracts, checked in CI):

4. :mod:`ticselect.cli` (and the public alias :mod:`ticselect.scoring`)
3. :mod:`ticselect.selection`: meta-estimator, scorers, paths, comparison tables
2. :mod:`ticselect.flatness` above :mod:`ticselect.criteria`, and
   :mod:`ticselect.calibration` and :mod:`ticselect.stattests` (pointwise criteria,
   Vuong and information-matrix tests); below them the Laplace evidence
   (:mod:`ticselect._evidence`), which :func:`criteria` reports
1. :mod:`ticselect.curvature`: fitted model → :class:`Curvature`
0. :mod:`ticselect._validation`: input checks shared by all
"""

from ._evidence import Evidence, evidence
from .calibration import (
    BinnedMeanCurve,
    BootstrapInterval,
    BrierDecomposition,
    CalibrationReport,
    CalibrationSlope,
    HosmerLemeshowResult,
    LogLossDecomposition,
    ReliabilityDisplay,
    binned_mean_curve,
    brier_decomposition,
    brier_score,
    calibration_in_the_large,
    calibration_report,
    calibration_slope,
    debiased_ece,
    dispersion_ratio,
    expected_calibration_error,
    fitted_temperature,
    hosmer_lemeshow,
    log_loss_decomposition,
    max_calibration_error,
    scale_logits,
    smooth_ece,
    temperature_scale,
)
from .criteria import Criteria, OverconfidenceWarning, criteria
from .curvature import (
    Curvature,
    CurvatureOperators,
    Estimate,
    NotStationaryWarning,
    SeparationWarning,
    SingularHessianWarning,
    curvature,
    curvature_from_loss,
    curvature_operators,
    estimate_tic_penalty,
    estimate_trace,
    top_eigenvalues,
)
from .flatness import (
    CalibratedGap,
    Flatness,
    calibrated_soft_rank_gap,
    flatness,
    hessian_spectral_density,
    relative_flatness,
)
from .selection import (
    Comparison,
    CriterionPath,
    FlaggedCriterionWarning,
    FormulaComparison,
    HeldOutDataWarning,
    InferenceResult,
    InformationCriteria,
    InSample,
    LOOResult,
    approximate_loo,
    check_scoring,
    compare,
    compare_formulas,
    criteria_scoring,
    criterion_path,
    get_scorer,
    get_scorer_names,
    inference,
    make_criterion_scorer,
    tic_penalty,
)
from .stattests import (
    IMTestResult,
    PointwiseCriteria,
    VuongResult,
    information_matrix_test,
    pointwise,
    vuong_test,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "BinnedMeanCurve",
    "BootstrapInterval",
    "BrierDecomposition",
    "CalibrationReport",
    "CalibrationSlope",
    "HosmerLemeshowResult",
    "LogLossDecomposition",
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
    "fitted_temperature",
    "hosmer_lemeshow",
    "log_loss_decomposition",
    "max_calibration_error",
    "scale_logits",
    "smooth_ece",
    "temperature_scale",
    "CurvatureOperators",
    "Estimate",
    "curvature_operators",
    "estimate_tic_penalty",
    "estimate_trace",
    "tic_penalty",
    "top_eigenvalues",
    "CalibratedGap",
    "Flatness",
    "calibrated_soft_rank_gap",
    "flatness",
    "hessian_spectral_density",
    "relative_flatness",
    "Comparison",
    "LOOResult",
    "approximate_loo",
    "CriterionPath",
    "FlaggedCriterionWarning",
    "HeldOutDataWarning",
    "check_scoring",
    "compare",
    "compare_formulas",
    "FormulaComparison",
    "criteria_scoring",
    "criterion_path",
    "Criteria",
    "Curvature",
    "Evidence",
    "InSample",
    "InformationCriteria",
    "NotStationaryWarning",
    "SeparationWarning",
    "OverconfidenceWarning",
    "SingularHessianWarning",
    "__version__",
    "criteria",
    "curvature",
    "evidence",
    "curvature_from_loss",
    "get_scorer",
    "get_scorer_names",
    "make_criterion_scorer",
    "IMTestResult",
    "InferenceResult",
    "inference",
    "PointwiseCriteria",
    "VuongResult",
    "information_matrix_test",
    "pointwise",
    "vuong_test",
]
