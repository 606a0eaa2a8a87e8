"""Layer 4 — the ``ticselect`` command line (also ``python -m ticselect``).

``ticselect select``
    Fit a grid of candidate models (logistic regression over ``C`` on scikit-learn's
    breast-cancer data by default), and print, for each, the log-likelihood, parameter
    count ``k``, AIC, BIC, TIC, the gap estimate, the K-fold cross-validated log-loss
    and timings, marking each criterion's pick.  ``--csv PATH --target COLUMN`` uses
    your own data; ``--family``, ``--model glm|mlp`` and ``--grid`` choose the
    candidates; ``--plot FILE`` saves the criterion path; ``--json`` prints
    machine-readable output only.
``ticselect report``
    Curvature, criteria, flatness and calibration of one model.
``ticselect compare DATA FORMULA...``
    Model formulas (statsmodels syntax) fitted on the common rows of a CSV/Parquet
    file and ranked in one table (:func:`ticselect.compare_formulas`).

Tables are read with pandas; text columns are one-hot encoded inside the fitted
Pipeline; ``--dropna`` drops rows with missing values; progress bars use tqdm
(``pip install "ticselect[cli]"``).

Errors the user can fix (a missing file, an unknown column, a target outside the
family's support, a bad option) print one line ``ticselect: error: ...`` on stderr and
exit with status 2 (usage) or 1 (data or model); ``--debug`` shows the traceback.
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
