"""Layer 2 — bootstrap confidence intervals for the calibration metrics.

Every metric with a ``ci=`` argument resamples *rows* with
:func:`scipy.stats.bootstrap`; the statistic of a resample is the metric recomputed
on the resampled rows (with its binning, bandwidth or fit redone), so the interval
accounts for every source of sampling noise of the estimator.  The conventions
(stratification, weights, methods) are documented at the top of
:mod:`ticselect.calibration`.
"""

from __future__ import annotations

import inspect
import warnings
from typing import NamedTuple

import numpy as np
from scipy import stats

__all__ = ["BootstrapInterval", "bootstrap_interval", "check_ci"]

#: Resampling is stratified by class when the rarest class present has fewer rows
#: than this: an unstratified resample then misses it with probability ≈ e^{-m}.
RARE_CLASS_ROWS = 20
#: Largest number of resampled row indices held at once (a batch of resamples).
MAX_BATCH_ELEMENTS = 2**22
_METHODS = ("percentile", "basic", "BCa")

#: The ``ci`` parameters of every metric with an interval, in numpydoc form.
CI_PARAMETERS = """ci : float or None, default=None
        Confidence level (e.g. ``0.95``) of a bootstrap interval over resampled
        rows; the result is then a :class:`BootstrapInterval`.
    n_resamples : int, default=1000
        Bootstrap resamples (used with ``ci``).
    ci_method : {"basic", "percentile", "BCa"}, default="basic"
        Interval of :func:`scipy.stats.bootstrap`: ``"basic"`` (reverse
        percentile, corrects the estimator's bootstrap bias), ``"percentile"`` or
        ``"BCa"`` (see ``docs/calibration.md`` for their coverage).
    random_state : int, Generator, RandomState or None, default=None
        Seed of the resampling (used with ``ci``)."""


def with_ci_parameters(func):
    """Fill the ``{ci_parameters}`` line of ``func``'s docstring (one wording)."""
    func.__doc__ = func.__doc__.replace("{ci_parameters}", CI_PARAMETERS)
    return func


class _Interval(NamedTuple):
    estimate: float | np.ndarray
    low: float | np.ndarray
    high: float | np.ndarray


class BootstrapInterval(_Interval):
    """A point estimate with its bootstrap confidence interval.

    Unpacks as ``(estimate, low, high)``; ``float(interval)`` is the estimate.
    The estimate is the metric on the data given (not a bootstrap average).

    Attributes
    ----------
    estimate, low, high : float or ndarray
        Point estimate and interval bounds (arrays for vector-valued results,
        such as the multiclass intercepts of :func:`calibration_slope`).
    confidence_level : float
        Nominal two-sided coverage.
    standard_error : float or ndarray
        Standard deviation of the bootstrap distribution.
    method : {"percentile", "basic", "BCa"}
        How the interval was formed from the bootstrap distribution.
    n_resamples : int
        Number of bootstrap resamples.
    stratified : bool
        Whether rows were resampled within classes (see the module conventions).

    Examples
    --------
    >>> import numpy as np
    >>> from ticselect.calibration import expected_calibration_error
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=400)
    >>> y = (rng.uniform(size=400) < p).astype(int)
    >>> ece = expected_calibration_error(y, p, n_bins=5, ci=0.95, random_state=0)
    >>> est, low, high = ece
    >>> bool(low < high), ece.confidence_level, ece.method, ece.n_resamples
    (True, 0.95, 'basic', 1000)
    """

    def __new__(  # noqa: D102
        cls,
        estimate,
        low,
        high,
        *,
        confidence_level,
        standard_error,
        method,
        n_resamples,
        stratified=False,
    ):
        self = super().__new__(cls, estimate, low, high)
        self.confidence_level = float(confidence_level)
        self.standard_error = standard_error
        self.method = method
        self.n_resamples = int(n_resamples)
        self.stratified = bool(stratified)
        return self

    def __float__(self):
        return float(self.estimate)

    def __repr__(self):
        return (
            f"BootstrapInterval(estimate={self.estimate!r}, low={self.low!r}, "
            f"high={self.high!r}, confidence_level={self.confidence_level:g})"
        )

    def _extras(self):
        return {
            "confidence_level": self.confidence_level,
            "standard_error": self.standard_error,
            "method": self.method,
            "n_resamples": self.n_resamples,
            "stratified": self.stratified,
        }

    def __reduce__(self):
        return (_make_interval, (tuple(self), self._extras()))


def _make_interval(values, extras):
    return BootstrapInterval(*values, **extras)


def check_ci(ci, n_resamples, method):
    """Validate ``ci`` (None or a level in (0, 1)), ``n_resamples`` and ``method``."""
    if ci is None:
        return None
    if (
        isinstance(ci, bool)
        or not isinstance(ci, int | float | np.floating)
        or not 0.0 < ci < 1.0
    ):
        raise ValueError(
            f"ci must be None or a confidence level in (0, 1) such as 0.95, got {ci!r}."
        )
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer):
        raise ValueError(f"n_resamples must be an integer >= 2, got {n_resamples!r}.")
    if n_resamples < 2:
        raise ValueError(f"n_resamples must be an integer >= 2, got {n_resamples!r}.")
    if method not in _METHODS:
        raise ValueError(f"ci_method must be one of {list(_METHODS)}, got {method!r}.")
    return float(ci)


def _seed_keyword(random_state):
    """``{"rng": Generator}`` (scipy >= 1.15) or ``{"random_state": Generator}``.

    Both draw the same resamples from the same Generator (checked on scipy 1.10,
    1.11 and 1.17); ``random_state`` may be an int, None, a Generator or a
    RandomState (which seeds a Generator).
    """
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(np.iinfo(np.int32).max)
    gen = np.random.default_rng(random_state)
    if "rng" in inspect.signature(stats.bootstrap).parameters:
        return {"rng": gen}
    return {"random_state": gen}


def resampling_rows(y, w):
    """Rows the bootstrap draws from: each row repeated by its frequency weight.

    Returns an index array into the data (row ``i`` appears ``w_i`` times).
    Non-integer weights raise a ``ValueError``: the bootstrap resamples the rows
    that frequency weights stand for.
    """
    if np.all(w == 1.0):
        return np.arange(y.shape[0])
    counts = np.rint(w)
    if not np.allclose(w, counts, rtol=0.0, atol=1e-9):
        raise ValueError(
            "confidence intervals with sample_weight need integer (frequency) "
            "weights: the bootstrap resamples the rows they stand for. Round the "
            "weights or drop ci."
        )
    return np.repeat(np.arange(y.shape[0]), counts.astype(int))


def bootstrap_interval(
    statistic,
    y,
    w,
    estimate,
    *,
    confidence_level,
    n_resamples,
    method,
    random_state,
    row_cost=1,
):
    """Bootstrap interval of ``statistic`` by resampling rows (stratified if rare).

    Parameters
    ----------
    statistic : callable
        ``statistic(idx)`` with ``idx`` an int array of shape (batch, m) of row
        indices into the data (each row of ``idx`` one resample, duplicates
        allowed, to be used with unit weights) returning an array of shape
        (batch,) or (n_outputs, batch).
    y : ndarray of shape (n,)
        Class indices (the strata).
    w : ndarray of shape (n,)
        Frequency weights (integers; see :func:`resampling_rows`).
    estimate : float or ndarray of shape (n_outputs,)
        The metric on the data as given, reported as the point estimate.
    confidence_level : float
        Level in (0, 1).
    n_resamples : int
        Number of resamples.
    method : {"percentile", "basic", "BCa"}
        Interval type (:func:`scipy.stats.bootstrap`).
    random_state : int, Generator, RandomState or None
        Seed of the resampling.
    row_cost : int, default=1
        Array elements the statistic holds per row and resample (e.g. the number
        of classes); resamples are processed in batches of at most
        ``MAX_BATCH_ELEMENTS / (n_rows · row_cost)``.

    Returns
    -------
    BootstrapInterval
    """
    rows = resampling_rows(y, w)
    labels = y[rows]
    present, counts = np.unique(labels, return_counts=True)
    stratified = present.size > 1 and counts.min() < RARE_CLASS_ROWS
    groups = [rows[labels == c] for c in present] if stratified else [rows]
    data = [g for g in groups if g.size > 1]
    fixed = np.concatenate([g for g in groups if g.size == 1] + [rows[:0]])
    if not data:
        raise ValueError(
            "a bootstrap interval needs at least two rows to resample; got "
            f"{rows.size}."
        )

    def stat(*samples, axis=-1):
        batch_shape = samples[0].shape[:-1]
        parts = [np.asarray(s, dtype=np.intp) for s in samples]
        parts.append(np.broadcast_to(fixed, batch_shape + fixed.shape))
        idx = np.concatenate(parts, axis=-1)
        out = statistic(idx.reshape(-1, idx.shape[-1]))
        return out.reshape(out.shape[:-1] + batch_shape)

    batch = max(1, min(n_resamples, MAX_BATCH_ELEMENTS // (rows.size * row_cost)))
    with warnings.catch_warnings():  # a constant metric (BCa's 0/0): handled below
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.filterwarnings(
            "ignore", "invalid value encountered in scalar divide", RuntimeWarning
        )
        res = stats.bootstrap(
            data,
            stat,
            n_resamples=n_resamples,
            batch=batch,
            vectorized=True,
            method=method,
            confidence_level=confidence_level,
            **_seed_keyword(random_state),
        )
    low, high = _degenerate_to_point(res)
    scalar = np.ndim(estimate) == 0
    return BootstrapInterval(
        float(estimate) if scalar else np.asarray(estimate),
        float(low) if scalar else np.asarray(low),
        float(high) if scalar else np.asarray(high),
        confidence_level=confidence_level,
        standard_error=(
            float(res.standard_error) if scalar else np.asarray(res.standard_error)
        ),
        method=method,
        n_resamples=n_resamples,
        stratified=stratified,
    )


def _degenerate_to_point(res):
    """The interval's ends, the metric's one value where every resample gives it.

    scipy's BCa interval is ``nan`` when the bootstrap distribution is constant
    (e.g. the Brier score of constant forecasts of 0.5 is 0.25 on every resample);
    every method's interval is then that single point.
    """
    low, high = (np.array(end, dtype=float) for end in res.confidence_interval)
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    constant = np.ptp(dist, axis=-1) == 0
    value = dist[..., 0]
    low = np.where(constant, value, low)
    high = np.where(constant, value, high)
    return low, high


def counts_matrix(idx, n):
    """Row counts of each resample: ``idx`` (B, m) → ``C`` (B, n), ``C[b, i] = #i``."""
    b = idx.shape[0]
    flat = (np.arange(b)[:, None] * n + idx).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def looped(metric):
    """Turn ``metric(rows) -> float or ndarray`` into a batched statistic."""

    def statistic(idx):
        return np.stack([np.asarray(metric(row), dtype=float) for row in idx], axis=-1)

    return statistic


def split_interval(interval):
    """The scalar intervals of a vector-valued :class:`BootstrapInterval`."""
    extras = interval._extras()
    se = np.broadcast_to(interval.standard_error, np.shape(interval.estimate))
    return [
        BootstrapInterval(
            float(e), float(lo), float(hi), **{**extras, "standard_error": float(s)}
        )
        for e, lo, hi, s in zip(
            interval.estimate, interval.low, interval.high, se, strict=True
        )
    ]


def stack_intervals(intervals, prepend=None):
    """One array-valued interval from scalar ones (optionally a fixed first value)."""
    head = [] if prepend is None else [prepend]
    extras = intervals[0]._extras()
    extras["standard_error"] = np.array(
        ([0.0] if prepend is not None else []) + [i.standard_error for i in intervals]
    )
    return BootstrapInterval(
        np.array(head + [i.estimate for i in intervals]),
        np.array(head + [i.low for i in intervals]),
        np.array(head + [i.high for i in intervals]),
        **extras,
    )
