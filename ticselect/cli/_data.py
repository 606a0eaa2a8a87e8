"""Data loading, family checks and candidate models for the ``ticselect`` command.

Everything here raises :class:`CLIError` (a one-line message and an exit status) for
problems the user can fix: a missing file, an unknown column, a non-numeric feature,
a target outside the family's support.  The command line turns it into
``ticselect: error: <message>`` on stderr.

CSV files are read with the standard-library :mod:`csv` module (no pandas needed):
the first row is the header, the delimiter (comma, semicolon or tab) is sniffed, and
every feature column must be numeric without missing values.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FAMILIES",
    "CLIError",
    "Dataset",
    "HeldOutLoss",
    "blas_threads",
    "check_target",
    "default_grid",
    "load_dataset",
    "make_estimator",
]

#: Families accepted by ``--family`` (``auto`` picks one from the target).
FAMILIES = ("auto", "binomial", "multinomial", "gaussian", "poisson", "gamma")
CLASSIFICATION = ("binomial", "multinomial")
_MISSING = {"", "na", "nan", "null", "none", "n/a", "?"}


class CLIError(Exception):
    """A problem the user can fix; ``status`` is the exit code (2 usage, 1 data)."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


@dataclass
class Dataset:
    """Features, raw target and a description of where they came from."""

    X: np.ndarray
    y_raw: np.ndarray
    feature_names: list
    target_name: str
    source: str
    lines: np.ndarray | None = None  # file line of each row (for error messages)
    extra: dict = field(default_factory=dict)

    @property
    def n_samples(self):
        """Number of rows."""
        return self.X.shape[0]


def _builtin():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return Dataset(
        X=np.asarray(data.data, dtype=float),
        y_raw=np.asarray(data.target),
        feature_names=[str(f) for f in data.feature_names],
        target_name="malignant/benign",
        source="breast cancer (scikit-learn)",
    )


def _float(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _read_rows(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(65536)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            rows = list(csv.reader(fh, dialect))
    except UnicodeDecodeError as exc:
        raise CLIError(f"{path} is not a UTF-8 text CSV file ({exc.reason}).") from exc
    except IsADirectoryError as exc:
        raise CLIError(f"{path} is a directory, not a CSV file.") from exc
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}.") from exc
    except csv.Error as exc:
        raise CLIError(f"{path} is not a valid CSV file: {exc}.") from exc
    # keep file line numbers (header = line 1), drop blank lines
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise CLIError(f"{path} is empty.")
    return numbered


def _column_error(name, header, path):
    close = difflib.get_close_matches(name, header, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
    return CLIError(f"column {name!r} not found in {path}{hint}; columns: {shown}.")


def load_dataset(csv_path=None, target=None, features=None):
    """Load the built-in data set, or a CSV file with a header row.

    Parameters
    ----------
    csv_path : str or None, default=None
        CSV file; ``None`` loads scikit-learn's breast-cancer data.
    target : str or None, default=None
        Target column (required with ``csv_path``).
    features : list of str or None, default=None
        Feature columns (default: every other column).

    Returns
    -------
    Dataset

    Raises
    ------
    CLIError
        For a missing/unreadable file, unknown columns, ragged rows, non-numeric
        features or missing values.
    """
    if csv_path is None:
        if target is not None or features is not None:
            raise CLIError("--target and --features need --csv PATH.", status=2)
        return _builtin()
    if target is None:
        raise CLIError("--csv needs --target COLUMN.", status=2)
    numbered = _read_rows(csv_path)
    header = [h.strip() for h in numbered[0][1]]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise CLIError(f"{csv_path} has duplicated column names: {', '.join(dupes)}.")
    body = numbered[1:]
    if not body:
        raise CLIError(f"{csv_path} has a header but no data rows.")
    for line, row in body:
        if len(row) != len(header):
            raise CLIError(
                f"{csv_path} line {line} has {len(row)} fields, the header has "
                f"{len(header)}."
            )
    if target not in header:
        raise _column_error(target, header, csv_path)
    if features is None:
        features = [h for h in header if h != target]
    for name in features:
        if name not in header:
            raise _column_error(name, header, csv_path)
    if target in features:
        raise CLIError(f"the target {target!r} is also listed in --features.")
    if not features:
        raise CLIError(f"{csv_path} has no feature columns besides {target!r}.")
    lines = np.array([line for line, _ in body])
    X = np.empty((len(body), len(features)))
    for j, name in enumerate(features):
        col = header.index(name)
        for i, (line, row) in enumerate(body):
            text = row[col].strip()
            value = _float(text)
            if value is None:
                what = "a missing value" if text.lower() in _MISSING else repr(text)
                raise CLIError(
                    f"feature column {name!r} has {what} on line {line} of "
                    f"{csv_path}; features must be numeric without missing values "
                    "(choose columns with --features)."
                )
            X[i, j] = value
    t = header.index(target)
    y_raw = np.array([row[t].strip() for _, row in body], dtype=object)
    missing = [
        line for (line, _), v in zip(body, y_raw, strict=True) if v.lower() in _MISSING
    ]
    if missing:
        raise CLIError(
            f"target column {target!r} has a missing value on line {missing[0]} of "
            f"{csv_path}."
        )
    return Dataset(
        X=X,
        y_raw=y_raw,
        feature_names=list(features),
        target_name=target,
        source=str(csv_path),
        lines=lines,
    )


def _numeric_target(data, family):
    raw = data.y_raw
    if raw.dtype != object:
        return np.asarray(raw, dtype=float)
    y = np.empty(raw.shape[0])
    for i, text in enumerate(raw):
        value = _float(text)
        if value is None:
            line = f" on line {data.lines[i]}" if data.lines is not None else ""
            raise CLIError(
                f"target {data.target_name!r} has the non-numeric value {text!r}"
                f"{line}; the {family} family needs a numeric target."
            )
        y[i] = value
    return y


def _labels(raw):
    """Class labels: numbers when every value is numeric (so '1' and '1.0' agree)."""
    if raw.dtype != object:
        return np.asarray(raw)
    values = [_float(v) for v in raw]
    if all(v is not None for v in values):
        arr = np.asarray(values)
        return arr.astype(int) if np.all(arr == np.round(arr)) else arr
    return np.asarray(raw, dtype=str)


def check_target(data, family, *, n_folds=0):
    """Resolve ``family`` and return ``(family, y)`` with ``y`` inside its support.

    Parameters
    ----------
    data : Dataset
        Loaded data.
    family : str
        One of :data:`FAMILIES`.
    n_folds : int, default=0
        CV folds; each class needs at least this many rows.

    Returns
    -------
    family : str
        The resolved family (never ``"auto"``).
    y : ndarray of shape (n_samples,)
        Class labels or numeric targets.

    Raises
    ------
    CLIError
        When the target is outside the family's support.
    """
    name = data.target_name
    if family == "auto":
        labels = _labels(data.y_raw)
        n_unique = np.unique(labels).size
        if labels.dtype.kind in "US" or n_unique == 2:
            family = "binomial" if n_unique == 2 else "multinomial"
        else:
            family = "gaussian"
    if family in CLASSIFICATION:
        y = _labels(data.y_raw)
        classes, counts = np.unique(y, return_counts=True)
        if family == "binomial" and classes.size != 2:
            raise CLIError(
                f"target {name!r} has {classes.size} distinct values; the binomial "
                "family needs exactly 2"
                + (" (use --family multinomial)." if classes.size > 2 else ".")
            )
        if family == "multinomial" and classes.size < 2:
            raise CLIError(f"target {name!r} has a single class; nothing to classify.")
        if classes.size > max(50, data.n_samples // 5):
            raise CLIError(
                f"target {name!r} has {classes.size} distinct values, too many for "
                f"the {family} family; is it a numeric target (--family gaussian)?"
            )
        small = counts.min()
        if n_folds and small < n_folds:
            label = classes[counts.argmin()]
            label = label.item() if hasattr(label, "item") else label  # not np.int64(0)
            raise CLIError(
                f"class {label!r} of {name!r} has {small} rows, "
                f"fewer than the {n_folds} CV folds (use --cv 0 or fewer folds)."
            )
        return family, y
    y = _numeric_target(data, family)
    if family == "poisson" and (np.any(y < 0) or not np.any(y > 0)):
        raise CLIError(
            f"target {name!r} has values outside the support of the poisson family "
            f"(needs y >= 0, not all zero; min is {y.min():g})."
        )
    if family == "gamma" and np.any(y <= 0):
        raise CLIError(
            f"target {name!r} has values outside the support of the gamma family "
            f"(needs y > 0; min is {y.min():g})."
        )
    if np.unique(y).size < 2:
        raise CLIError(f"target {name!r} is constant; nothing to model.")
    return family, y


@dataclass(frozen=True)
class _Spec:
    param: str
    lo: float
    hi: float


_GLM = {
    "binomial": _Spec("C", -3, 2),
    "multinomial": _Spec("C", -3, 2),
    "gaussian": _Spec("alpha", -3, 3),
    "poisson": _Spec("alpha", -4, 1),
    "gamma": _Spec("alpha", -4, 1),
}
_MLP = _Spec("alpha", -3, 1)


def _spec(family, model):
    if model == "mlp":
        if family not in (*CLASSIFICATION, "gaussian"):
            raise CLIError(
                "--model mlp supports the binomial, multinomial and gaussian "
                f"families, not {family}.",
                status=2,
            )
        return _MLP
    return _GLM[family]


def default_grid(family, model, n_grid):
    """Log-spaced default grid of the tuned parameter.

    Parameters
    ----------
    family : str
        Resolved family.
    model : {"glm", "mlp"}
        Model kind.
    n_grid : int
        Number of values.

    Returns
    -------
    param : str
        ``"C"`` or ``"alpha"``.
    values : ndarray of shape (n_grid,)
        Increasing values.
    """
    spec = _spec(family, model)
    values = np.logspace(spec.lo, spec.hi, n_grid)
    if spec.param == "alpha":
        values = values[::-1]  # most regularised first, as for C
    return spec.param, values


def make_estimator(family, model, value, *, hidden=8, seed=0, scale=True):
    """Build the candidate estimator (a Pipeline when ``scale``).

    Parameters
    ----------
    family : str
        Resolved family.
    model : {"glm", "mlp"}
        Model kind.
    value : float
        Value of the tuned parameter (``C`` or ``alpha``).
    hidden : int, default=8
        Hidden units of the MLP.
    seed : int, default=0
        Random state of the MLP's initialisation.
    scale : bool, default=True
        Standardise features first.

    Returns
    -------
    estimator : estimator object
        Unfitted.
    param : str
        Name of the tuned parameter of the final step.
    """
    from sklearn.linear_model import (
        GammaRegressor,
        LogisticRegression,
        PoissonRegressor,
        Ridge,
    )
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    spec = _spec(family, model)
    value = float(value)
    if model == "mlp":
        # tanh: a smooth loss, so lbfgs ends at stationary points (relu fits stop at
        # kinks, where TIC's expansion does not hold); tol=1e-8 reaches them on the
        # default data in a few hundred iterations (the whole default run, 12 values
        # × 6 fits with 5-fold CV, in a few seconds)
        cls = MLPClassifier if family in CLASSIFICATION else MLPRegressor
        est = cls(
            hidden_layer_sizes=(hidden,),
            activation="tanh",
            alpha=value,
            solver="lbfgs",
            tol=1e-8,
            max_iter=2000,
            random_state=seed,
        )
    elif family in CLASSIFICATION:
        est = LogisticRegression(C=value, tol=1e-10, max_iter=10_000)
    elif family == "gaussian":
        est = Ridge(alpha=value)
    else:
        cls = PoissonRegressor if family == "poisson" else GammaRegressor
        est = cls(alpha=value, tol=1e-10, max_iter=10_000)
    if scale:
        est = make_pipeline(StandardScaler(), est)
    return est, spec.param


def blas_threads(threads, data):
    """Context manager limiting BLAS threads for the many small fits of a grid.

    Small problems run fastest, and do not stall on a busy machine, with one BLAS
    thread; larger ones (10⁶ cells or more) keep the library default.

    Parameters
    ----------
    threads : int or None
        Explicit limit (``--threads``); ``None`` chooses as above.
    data : Dataset
        The loaded data.

    Returns
    -------
    threadpoolctl.threadpool_limits
    """
    from threadpoolctl import threadpool_limits

    if threads is None:
        threads = 1 if data.X.size < 1_000_000 else None
    return threadpool_limits(limits=threads, user_api="blas")


class HeldOutLoss:
    """Negative log-likelihood per sample of a fitted model on new data.

    Classification: scikit-learn's ``log_loss`` (natural log, labels from the fitted
    model).  Regression families: the summed NLL of :func:`ticselect.curvature` on the
    new rows, with the dispersion fixed at its training estimate, divided by their
    number; so the value is on the scale of ``TIC / (2n)``.
    """

    def __init__(self, family):
        self.family = family

    def __call__(self, fitted, X_train, y_train, X_test, y_test):
        """Return the held-out NLL per sample (lower is better)."""
        import warnings

        from sklearn.metrics import log_loss

        from ..curvature import NotStationaryWarning, curvature

        if self.family in CLASSIFICATION:
            proba = fitted.predict_proba(X_test)
            return float(log_loss(y_test, proba, labels=fitted.classes_))
        phi = curvature(fitted, X_train, y_train).dispersion
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotStationaryWarning)
            test = curvature(fitted, X_test, y_test, dispersion=phi)
        return test.nll / test.n_samples
