"""Data loading, family checks and candidate models for the ``ticselect`` command.

Everything here raises :class:`CLIError` (a one-line message and an exit status) for
problems the user can fix: a missing file, an unknown column, a missing value, a
target outside the family's support.  The command line turns it into
``ticselect: error: <message>`` on stderr.

Tables are read with pandas: CSV (the delimiter, comma, semicolon or tab, is
sniffed from the first 64 KiB; ``""``, ``NA``, ``nan``, ``null``, ``?`` ... are
missing) or Parquet (``.parquet``/``.pq``, with pyarrow installed).  Text, boolean
and categorical feature columns are *categorical predictors*: the candidate
Pipelines one-hot encode them with the first level (sorted) as reference, so no
dummy is aliased with the intercept (:func:`make_estimator`).  Missing values are
an error naming each column and its count, unless ``--dropna`` drops those rows.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "FAMILIES",
    "CLIError",
    "Dataset",
    "HeldOutLoss",
    "blas_threads",
    "check_target",
    "data_notes",
    "default_grid",
    "format_data_notes",
    "load_dataset",
    "make_estimator",
    "read_table",
]

#: Families accepted by ``--family`` (``auto`` picks one from the target).
FAMILIES = ("auto", "binomial", "multinomial", "gaussian", "poisson", "gamma")
CLASSIFICATION = ("binomial", "multinomial")
_NA_VALUES = ["?", "none", "None", "n/a"]  # besides pandas' defaults
_PARQUET = (".parquet", ".pq")


class CLIError(Exception):
    """A problem the user can fix; ``status`` is the exit code (2 usage, 1 data)."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


@dataclass
class Dataset:
    """Features, raw target and a description of where they came from.

    ``X`` is a float array, or an object array when some columns are categorical
    (their indices in ``extra["categorical"]``, their levels, reference first, in
    ``extra["encoded"]``).
    """

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

    @property
    def categorical(self):
        """Indices of the categorical feature columns."""
        return list(self.extra.get("categorical", ()))


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


def _sniff(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        sample = fh.read(65536)
    if not sample.strip():
        raise CLIError(f"{path} is empty.")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_table(path):
    """Read a CSV or Parquet file into a :class:`pandas.DataFrame`.

    Parameters
    ----------
    path : str
        CSV file with a header row, or a ``.parquet``/``.pq`` file.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    CLIError
        For a missing, unreadable, empty or malformed file, or Parquet without
        pyarrow.
    """
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is a [cli] dependency
        raise CLIError(
            "reading tables needs pandas: pip install 'ticselect[cli]'."
        ) from exc
    if Path(path).is_dir():
        raise CLIError(f"{path} is a directory, not a data file.")
    try:
        if Path(path).suffix.lower() in _PARQUET:
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise CLIError(
                    f"reading {path} needs pyarrow: pip install pyarrow."
                ) from exc
            frame = pd.read_parquet(path)
        else:
            sep = _sniff(path)
            _check_header(path, sep)
            frame = pd.read_csv(
                path, sep=sep, encoding="utf-8-sig",
                na_values=_NA_VALUES, skipinitialspace=True,
            )  # fmt: skip
    except UnicodeDecodeError as exc:
        raise CLIError(f"{path} is not a UTF-8 text CSV file ({exc.reason}).") from exc
    except OSError as exc:  # pyarrow's FileNotFoundError says only the path
        why = exc.strerror or (
            "No such file or directory" if isinstance(exc, FileNotFoundError) else exc
        )
        raise CLIError(f"cannot read {path}: {why}.") from exc
    except pd.errors.EmptyDataError as exc:
        raise CLIError(f"{path} is empty.") from exc
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        text = " ".join(str(exc).split())
        raise CLIError(f"{path} is not a valid data file: {text}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    _refuse_duplicates(list(frame.columns), path)
    if frame.empty:
        raise CLIError(f"{path} has a header but no data rows.")
    return frame


def _refuse_duplicates(names, path):
    """One line naming the column names that occur more than once."""
    seen, dup = set(), []
    for name in names:
        if name in seen and name not in dup:
            dup.append(name)
        seen.add(name)
    if dup:
        shown = ", ".join(repr(d) for d in dup)
        raise CLIError(
            f"{path} has duplicate column names: {shown}; rename them so that each "
            "column has its own name."
        )


def _check_header(path, sep):
    """Refuse duplicate names in a CSV header (pandas would rename them ``a.1``)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh, delimiter=sep, skipinitialspace=True), [])
    _refuse_duplicates([h.strip() for h in header], path)


def _column_error(name, header, path):
    close = difflib.get_close_matches(name, header, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
    return CLIError(f"column {name!r} not found in {path}{hint}; columns: {shown}.")


def _drop_missing(frame, columns, path, dropna):
    counts = frame[columns].isna().sum()
    counts = counts[counts > 0]
    if counts.empty:
        return frame, {}
    report = {str(c): int(m) for c, m in counts.items()}
    if not dropna:
        shown = ", ".join(f"{c!r} has {m}" for c, m in report.items())
        raise CLIError(
            f"missing values in {path}: {shown}; drop those rows with --dropna or "
            "choose other columns with --features."
        )
    kept = frame.dropna(subset=columns)
    if kept.empty:
        raise CLIError(f"no row of {path} is complete in the columns used.")
    return kept, report


def _check_infinite(frame, columns, path):
    """Refuse infinite numbers (``inf`` in a CSV), naming each column and a line."""
    found = []
    for name in columns:
        col = frame[name]
        if _is_numeric(col):
            bad = np.flatnonzero(np.isinf(col.to_numpy(dtype=float)))
            if bad.size:
                line = frame.index[bad[0]] + 2  # header = line 1
                found.append(f"{name!r} has {bad.size} (line {line})")
    if found:
        raise CLIError(
            f"infinite values in {path}: {', '.join(found)}; fix those values or "
            "leave the column out with --features."
        )


def _is_numeric(series):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _check_categorical(series, name, lines, path):
    """Refuse a 'text' column that is really a numeric column with a typo, or IDs."""
    text = series.astype(str).str.strip()
    values = [_float(v) for v in text]
    bad = [i for i, v in enumerate(values) if v is None]
    if bad and len(bad) < len(values) and len(bad) <= max(1, len(values) // 10):
        i = bad[0]
        raise CLIError(
            f"feature column {name!r} is numeric except {text.iloc[i]!r} on line "
            f"{lines[i]} of {path}; fix that value or mark it missing."
        )
    levels = sorted(text.unique())
    if len(levels) > max(50, len(text) // 5):
        raise CLIError(
            f"feature column {name!r} has {len(levels)} distinct text values, too "
            "many to encode (an identifier?); leave it out with --features."
        )
    return text.to_numpy(dtype=object), levels


def load_dataset(
    csv_path=None, target=None, features=None, groups=None, *, dropna=False
):
    """Load the built-in data set, or a CSV/Parquet file with a header row.

    Parameters
    ----------
    csv_path : str or None, default=None
        Data file; ``None`` loads scikit-learn's breast-cancer data.
    target : str or None, default=None
        Target column (required with ``csv_path``).
    features : list of str or None, default=None
        Feature columns (default: every other column).
    groups : str or None, default=None
        Cluster column (``--groups``): kept as text labels in
        ``Dataset.extra["groups"]`` and left out of the default features.
    dropna : bool, default=False
        Drop rows with a missing target or feature (else they are an error).

    Returns
    -------
    Dataset
        ``extra["encoded"]`` maps each categorical column to its levels (reference
        first), ``extra["dropped"]`` each column to its missing values when rows
        were dropped.

    Raises
    ------
    CLIError
        For a missing/unreadable file, unknown columns, missing values (without
        ``dropna``) or unusable text columns.
    """
    if csv_path is None:
        if target is not None or features is not None or groups is not None:
            raise CLIError(
                "--target, --features and --groups need --csv PATH.", status=2
            )
        return _builtin()
    if target is None:
        raise CLIError("--csv needs --target COLUMN.", status=2)
    frame = read_table(csv_path)
    header = list(frame.columns)
    if target not in header:
        raise _column_error(target, header, csv_path)
    if groups is not None:
        if groups not in header:
            raise _column_error(groups, header, csv_path)
        if groups == target or (features is not None and groups in features):
            raise CLIError(
                f"the --groups column {groups!r} is also the target or a feature."
            )
    if features is None:
        features = [h for h in header if h not in (target, groups)]
    for name in features:
        if name not in header:
            raise _column_error(name, header, csv_path)
    if target in features:
        raise CLIError(f"the target {target!r} is also listed in --features.")
    twice = sorted({f for f in features if features.count(f) > 1})
    if twice:
        raise CLIError(f"--features lists {', '.join(map(repr, twice))} twice.")
    if not features:
        raise CLIError(f"{csv_path} has no feature columns besides {target!r}.")
    n_read = len(frame)
    used = [target, *features] + ([groups] if groups is not None else [])
    frame, dropped = _drop_missing(frame, used, csv_path, dropna)
    _check_infinite(frame, used[: 1 + len(features)], csv_path)
    lines = frame.index.to_numpy() + 2  # header = line 1 (blank lines not counted)
    X = np.empty((len(frame), len(features)), dtype=object)
    categorical, encoded = [], {}
    for j, name in enumerate(features):
        col = frame[name]
        if _is_numeric(col):
            X[:, j] = col.to_numpy(dtype=float)
            continue
        X[:, j], encoded[name] = _check_categorical(col, name, lines, csv_path)
        categorical.append(j)
    if not categorical:
        X = X.astype(float)
    t = frame[target]
    y_raw = (
        t.to_numpy()
        if _is_numeric(t)
        else t.astype(str).str.strip().to_numpy(dtype=object)
    )
    extra = {
        "categorical": categorical,
        "encoded": encoded,
        "missing": dropped,
        "n_dropped": n_read - len(frame),
    }
    if groups is not None:
        extra["groups"] = frame[groups].astype(str).str.strip().to_numpy(dtype=object)
    return Dataset(
        X=X,
        y_raw=y_raw,
        feature_names=list(features),
        target_name=target,
        source=str(csv_path),
        lines=lines,
        extra=extra,
    )


def data_notes(data):
    """JSON-ready description of the encoding and the dropped rows of ``data``.

    Parameters
    ----------
    data : Dataset
        Loaded data.

    Returns
    -------
    dict
        ``encoded``: ``{column: {"reference": level, "levels": [...]}}``;
        ``n_dropped``: rows dropped for missing values; ``missing``: per column.
    """
    encoded = {
        name: {"reference": levels[0], "levels": list(levels)}
        for name, levels in data.extra.get("encoded", {}).items()
    }
    return {
        "encoded": encoded,
        "n_dropped": int(data.extra.get("n_dropped", 0)),
        "missing": dict(data.extra.get("missing", {})),
    }


def format_data_notes(notes):
    """Text lines for :func:`data_notes` (empty list when there is nothing to say).

    Parameters
    ----------
    notes : dict
        From :func:`data_notes`.

    Returns
    -------
    list of str
    """
    lines = []
    if notes["encoded"]:
        cols = "; ".join(
            f"{name} ({len(e['levels'])} levels, reference {e['reference']!r})"
            for name, e in notes["encoded"].items()
        )
        lines.append(f"one-hot encoded inside the Pipeline: {cols}")
    if notes["n_dropped"]:
        cols = ", ".join(f"{c} {m}" for c, m in notes["missing"].items())
        lines.append(
            f"dropped {notes['n_dropped']} rows with missing values (--dropna): {cols}"
        )
    return lines


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


#: ``--family auto`` asks for a choice when an integer target has this few values.
_FEW_INTEGER_VALUES = 10


def _auto_family(data):
    """``--family auto``: binomial, multinomial (text labels) or gaussian.

    An integer target with 3 to 10 distinct values could be classes, counts or a
    measurement: the user chooses, in one line (issue 18; a silent Gaussian fit of
    class labels 0/1/2 is the wrong model).
    """
    labels = _labels(data.y_raw)
    values = np.unique(labels)
    if labels.dtype.kind in "US" or values.size == 2:
        return "binomial" if values.size == 2 else "multinomial"
    if labels.dtype.kind in "iu" and 2 < values.size <= _FEW_INTEGER_VALUES:
        shown = ", ".join(str(v) for v in values[:6].tolist())
        more = ", ..." if values.size > 6 else ""
        raise CLIError(
            f"target {data.target_name!r} has {values.size} integer values "
            f"({shown}{more}): choose --family multinomial (classes), poisson "
            "(counts) or gaussian (a measurement).",
            status=2,
        )
    return "gaussian"


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
        family = _auto_family(data)
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


#: Up to this many coefficients (features × linear predictors) the GLM candidates use
#: ``solver="newton-cholesky"``: a few Newton steps reach ``tol=1e-10`` where lbfgs
#: needs hundreds of iterations (``select --family poisson`` on 300×4: about 10 s
#: with lbfgs); above it, one ``p × p`` Cholesky per step costs more than lbfgs.
NEWTON_MAX_COEF = 500


def glm_solver(family, n_features):
    """Solver of a GLM candidate: ``"newton-cholesky"`` for small designs, else lbfgs.

    Parameters
    ----------
    family : str
        Resolved family.
    n_features : int or None
        Columns of the design (``None``: unknown, lbfgs).

    Returns
    -------
    str
    """
    if n_features is None:
        return "lbfgs"
    return "newton-cholesky" if n_features <= NEWTON_MAX_COEF else "lbfgs"


def make_estimator(
    family,
    model,
    value,
    *,
    hidden=8,
    seed=0,
    scale=True,
    categorical=(),
    n_features=None,
):
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
    categorical : sequence of int, default=()
        Indices of categorical columns: a first step one-hot encodes them with the
        first level (sorted) as reference (``OneHotEncoder(drop="first")``, so the
        dummies are not aliased with the intercept; a level unseen in training is
        encoded as the reference) and passes the other columns through.
    n_features : int or None, default=None
        Columns of the design, to choose the GLM solver (:func:`glm_solver`).

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
        n_coef = (
            None
            if n_features is None
            else n_features * (1 if family == "binomial" else 10)
        )
        est = LogisticRegression(
            C=value, tol=1e-10, max_iter=10_000, solver=glm_solver(family, n_coef)
        )
    elif family == "gaussian":
        est = Ridge(alpha=value)
    else:
        cls = PoissonRegressor if family == "poisson" else GammaRegressor
        est = cls(
            alpha=value,
            tol=1e-10,
            max_iter=10_000,
            solver=glm_solver(family, n_features),
        )
    steps = [StandardScaler()] if scale else []
    if categorical:
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import OneHotEncoder

        onehot = OneHotEncoder(
            drop="first", handle_unknown="ignore", sparse_output=False
        )
        steps.insert(
            0,
            ColumnTransformer(
                [("onehot", onehot, list(categorical))], remainder="passthrough"
            ),
        )
    if steps:
        est = make_pipeline(*steps, est)
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

        from ..curvature import (
            NotStationaryWarning,
            SeparationWarning,
            SingularHessianWarning,
            curvature,
        )

        if self.family in CLASSIFICATION:
            proba = fitted.predict_proba(X_test)
            return float(log_loss(y_test, proba, labels=fitted.classes_))
        # the training dispersion, for the families that have one
        phi = None
        if self.family in ("gaussian", "gamma"):
            phi = curvature(fitted, X_train, y_train).dispersion
        with warnings.catch_warnings():
            # the test rows only give the NLL: diagnostics of a fit do not apply
            for category in (
                NotStationaryWarning,
                SeparationWarning,
                SingularHessianWarning,
            ):
                warnings.simplefilter("ignore", category)
            test = curvature(fitted, X_test, y_test, dispersion=phi)
        return test.nll / test.n_samples
