"""ticselect: model selection by TIC, soft rank and calibration, native to scikit-learn.

The public API lives here; implementation modules are private.  Conventions (summed
NLL, observed information, penalty units, dispersion) are documented once in
:mod:`ticselect._curvature`.
"""

from ._curvature import Curvature, NotStationaryWarning, curvature
from ._estimator import InformationCriteria
from ._linalg import SingularHessianWarning
from .criteria import Criteria, criteria
from .scoring import InSample, get_scorer, get_scorer_names, make_criterion_scorer

__version__ = "0.1.0.dev0"

__all__ = [
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
