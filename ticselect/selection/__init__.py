"""Layer 3 — model selection: meta-estimator, scorers, paths, comparison tables.

What this wing owns: :class:`~ticselect.InformationCriteria` (``_estimator``), the
scorers and the :class:`~ticselect.InSample` splitter (``_scoring``, public as
:mod:`ticselect.scoring`), :func:`~ticselect.criterion_path` with its Newton starts
(``_path``, ``_path_start``), :func:`~ticselect.compare` (``_compare``),
:func:`~ticselect.compare_formulas` (``_formulas``),
:class:`~ticselect.ModelAverage` (``_average``, with the weights of ``_weights`` and
the paired differences and checks of ``_uncertainty``), :func:`~ticselect.inference`
(``_inference``),
:func:`~ticselect.approximate_loo` (``_loo``) and :func:`~ticselect.tic_penalty`
(``_tic_penalty``) and :class:`~ticselect.CriterionSearch`, which tunes penalties
without a grid (``_tuning`` with its evaluator ``_tuning_eval``, the derivatives
``_tuning_grad`` and ``_tuning_gaussian``, the optimisers ``_tuning_optim`` and the
column scales of ``groups=``, ``_group_scale``).  It builds on the criteria,
flatness, calibration and curvature
wings and is used only by the command line.
"""

from ._average import ModelAverage
from ._compare import Comparison, compare
from ._estimator import InformationCriteria
from ._formulas import FormulaComparison, compare_formulas
from ._inference import InferenceResult, inference
from ._insample import InSample
from ._loo import LOOResult, approximate_loo
from ._path import CriterionPath, criterion_path
from ._scoring import (
    FlaggedCriterionWarning,
    HeldOutDataWarning,
    check_scoring,
    criteria_scoring,
    get_scorer,
    get_scorer_names,
    make_criterion_scorer,
)
from ._tic_penalty import tic_penalty
from ._tuning import CriterionSearch

__all__ = [
    "Comparison",
    "CriterionPath",
    "CriterionSearch",
    "FlaggedCriterionWarning",
    "FormulaComparison",
    "HeldOutDataWarning",
    "InSample",
    "InferenceResult",
    "InformationCriteria",
    "LOOResult",
    "ModelAverage",
    "approximate_loo",
    "check_scoring",
    "compare",
    "compare_formulas",
    "criteria_scoring",
    "criterion_path",
    "get_scorer",
    "get_scorer_names",
    "inference",
    "make_criterion_scorer",
    "tic_penalty",
]
