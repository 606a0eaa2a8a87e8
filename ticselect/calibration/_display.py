"""Reliability diagram following scikit-learn's Display API.

Conventions
-----------
``kind="binned"``: the curve is the binned mean outcome ``ō_b`` against the binned
mean score ``s̄_b`` for non-empty bins, with the binning rule and the top-label /
class-wise definitions of :mod:`ticselect.calibration` (for 1-D binary input the
points are exactly those of :func:`sklearn.calibration.calibration_curve`). The band
is the per-bin Wilson score interval (Wilson 1927) for ``ō_b`` at level
``confidence`` with ``n_b`` the bin weight.

``kind="smooth"``: the kernel-smoothed curve of Błasiok & Nakkiran (2023, the
relplot diagram), ``μ(t) = t + Σ w_i r_i K_σ(t, s_i) / Σ w_i K_σ(t, s_i)`` with
residuals ``r = o - s``, the reflected Gaussian kernel and ``σ`` the smooth ECE's
fixed-point bandwidth, on ``SMOOTH_GRID = 200`` points between the 0.5 % and 99.5 %
quantiles of the scores (beyond them the kernel density, hence the curve, rests on
a handful of rows).  The band is the pointwise percentile interval of ``μ(t)`` over
``n_resamples`` bootstrap resamples of the rows (:func:`scipy.stats.bootstrap`,
stratified by class when a class has fewer than 20 rows), with ``σ`` held at its
full-data value.  Both bands are pointwise, not simultaneous. matplotlib is
imported lazily (``pip install 'ticselect[plot]'``).
"""

from __future__ import annotations

import numpy as np

from ._bootstrap import bootstrap_interval, counts_matrix, resampling_rows
from ._smooth import CosineSums, fixed_point, smoothed_curve
from ._utils import (
    _proba,
    binned_stats,
    calibration_columns,
    check_choice,
    check_classification,
    check_n_bins,
    wilson_interval,
)

__all__ = ["ReliabilityDisplay"]

#: Points at which the smoothed curve and its band are evaluated.
SMOOTH_GRID = 200
#: The smoothed curve spans these quantiles of the scores.
SMOOTH_RANGE = (0.005, 0.995)


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "ReliabilityDisplay needs matplotlib: pip install 'ticselect[plot]'"
        ) from exc
    return plt


def _smooth_display_data(y, w, scores, outcomes, confidence, n_resamples, seed):
    """Smoothed curve, its bootstrap band, kernel density, smooth ECE and ``σ``."""
    resid = (w * (outcomes - scores) / w.sum())[None]
    smece, sigma = fixed_point(CosineSums(scores, resid))
    # quantiles of the rows the weights stand for (integers: the bootstrap needs
    # them), so that weights and repeated rows give the same curve
    lo, hi = np.quantile(scores[resampling_rows(y, w)], SMOOTH_RANGE)
    grid = np.linspace(lo, hi, SMOOTH_GRID) if hi > lo else np.array([lo])
    curve, density = smoothed_curve(scores, outcomes, w[None], sigma[0], grid)

    def statistic(idx):
        weights = counts_matrix(idx, y.shape[0])
        return smoothed_curve(scores, outcomes, weights, sigma[0], grid)[0].T

    band = bootstrap_interval(
        statistic,
        y,
        w,
        curve[0],
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        random_state=seed,
    )
    return grid, curve[0], density[0], band, float(smece[0]), float(sigma[0])


def _binned_display_data(w, scores, outcomes, n_bins, strategy, confidence):
    """Non-empty bins' means, weights and Wilson bands, and the binned ECE."""
    weight, s, o, nonempty, _, _ = binned_stats(scores, outcomes, w, n_bins, strategy)
    lower, upper = wilson_interval(o[nonempty], weight[nonempty], confidence)
    # binned ECE of the curve drawn (for one class when class-wise)
    ece = float(np.sum(weight[nonempty] / w.sum() * np.abs(o - s)[nonempty]))
    return o[nonempty], s[nonempty], weight[nonempty], lower, upper, ece


class ReliabilityDisplay:
    """Reliability diagram with a pointwise confidence band.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`; the
    constructor only stores the data.

    Parameters
    ----------
    prob_true : ndarray of shape (n_points,)
        Mean outcome per non-empty bin (``kind="binned"``), or the smoothed curve
        ``μ(t)`` (``kind="smooth"``).
    prob_pred : ndarray of shape (n_points,)
        Mean predicted score per non-empty bin, or the points ``t``.
    bin_weight : ndarray of shape (n_points,)
        Total sample weight per bin, or the kernel density of the scores at ``t``.
    lower, upper : ndarray of shape (n_points,)
        Wilson interval for ``prob_true`` per bin, or the bootstrap band of ``μ(t)``.
    ece : float or None, default=None
        Binned ECE (``kind="smooth"``: smooth ECE) shown in the legend.
    estimator_name : str or None, default=None
        Legend label.
    kind : {"binned", "smooth"}, default="binned"
        Which curve the data describe (see the module conventions).
    bandwidth : float or None, default=None
        Kernel width ``σ`` of the smoothed curve.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The reliability curve.
    band_ : matplotlib PolyCollection or None
        The confidence band.
    ax_ : matplotlib Axes
        Axes with the diagram.
    figure_ : matplotlib Figure
        Figure containing the axes.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from ticselect.calibration._display import ReliabilityDisplay
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=500)
    >>> y = (rng.uniform(size=500) < p).astype(int)
    >>> disp = ReliabilityDisplay.from_predictions(y, p, n_bins=5)
    >>> disp.prob_true.shape
    (5,)
    >>> smooth = ReliabilityDisplay.from_predictions(y, p, kind="smooth",
    ...                                              random_state=0)
    >>> bool(np.all(smooth.lower <= smooth.upper)), smooth.prob_true.shape
    (True, (200,))
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """

    def __init__(
        self,
        prob_true,
        prob_pred,
        bin_weight,
        lower,
        upper,
        *,
        ece=None,
        estimator_name=None,
        kind="binned",
        bandwidth=None,
    ):
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.bin_weight = bin_weight
        self.lower = lower
        self.upper = upper
        self.ece = ece
        self.estimator_name = estimator_name
        self.kind = kind
        self.bandwidth = bandwidth

    def plot(self, ax=None, *, name=None, ref_line=True, show_band=True, **kwargs):
        """Draw the diagram.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when None.
        name : str or None, default=None
            Legend label; defaults to ``estimator_name``.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.
        show_band : bool, default=True
            Shade the confidence band.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        ReliabilityDisplay
            ``self``, with ``line_``, ``band_``, ``ax_`` and ``figure_`` set.
        """
        plt = _import_pyplot()
        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        label = name or "model"
        if self.ece is not None:
            what = "smECE" if self.kind == "smooth" else "ECE"
            label = f"{label} ({what} = {self.ece:.3f})"
        if ref_line:
            ax.plot([0, 1], [0, 1], "k:", label="perfectly calibrated")
        self.band_ = None
        if show_band:
            self.band_ = ax.fill_between(
                self.prob_pred, self.lower, self.upper, alpha=0.25, linewidth=0
            )
        marker = {"marker": "s"} if self.kind == "binned" else {}
        style = {**marker, "label": label, **kwargs}
        (self.line_,) = ax.plot(self.prob_pred, self.prob_true, **style)
        if self.band_ is not None:
            self.band_.set_color(self.line_.get_color())
            self.band_.set_alpha(0.25)
        ax.set(
            xlabel="Mean predicted probability",
            ylabel="Observed frequency",
            xlim=(-0.02, 1.02),
            ylim=(-0.02, 1.02),
        )
        ax.legend(loc="upper left")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_prob,
        *,
        n_bins=10,
        strategy="uniform",
        multiclass="top_label",
        class_index=None,
        confidence=0.95,
        sample_weight=None,
        kind="binned",
        n_resamples=1000,
        random_state=None,
        name=None,
        ax=None,
        ref_line=True,
        show_band=True,
        **kwargs,
    ):
        """Build and plot a reliability diagram from predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices ``0..K-1``.
        y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
            Binary ``P(y = 1)`` or class probabilities.
        n_bins : int or "auto", default=10
            Number of bins (``kind="binned"``); ``"auto"``: ``ceil(n^(1/3))``.
        strategy : {"uniform", "quantile"}, default="uniform"
            Binning strategy.
        multiclass : {"top_label", "classwise"}, default="top_label"
            For 2-D ``y_prob``: top-label confidence, or one class (``class_index``).
        class_index : int or None, default=None
            Class shown when ``multiclass="classwise"`` (required then).
        confidence : float, default=0.95
            Level of the band, in ``(0, 1)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights (integers with ``kind="smooth"``: the bootstrap
            resamples the rows they stand for).
        kind : {"binned", "smooth"}, default="binned"
            Binned means with Wilson bands, or the kernel-smoothed curve with a
            bootstrap band (see the module conventions).
        n_resamples : int, default=1000
            Bootstrap resamples of the smoothed curve's band.
        random_state : int, Generator, RandomState or None, default=None
            Seed of those resamples.
        name : str or None, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        ref_line : bool, default=True
            Draw the diagonal.
        show_band : bool, default=True
            Shade the confidence band.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        ReliabilityDisplay
            The plotted display.
        """
        check_choice(kind, ("binned", "smooth"), "kind")
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
        y, prob, w = check_classification(y_true, y_prob, sample_weight)
        n_bins = check_n_bins(n_bins, n=w.sum())
        columns = calibration_columns(y, prob, multiclass)
        if prob.ndim == 2 and multiclass == "classwise":
            if class_index is None or not 0 <= int(class_index) < prob.shape[1]:
                raise ValueError(
                    "multiclass='classwise' draws one class: pass class_index in "
                    f"0..{prob.shape[1] - 1}."
                )
            scores, outcomes = columns[int(class_index)]
        else:
            scores, outcomes = columns[0]
        if kind == "smooth":
            t, mu, density, band, smece, sigma = _smooth_display_data(
                y, w, scores, outcomes, confidence, n_resamples, random_state
            )
            disp = cls(
                mu,
                t,
                density,
                band.low,
                band.high,
                ece=smece,
                estimator_name=name,
                kind="smooth",
                bandwidth=sigma,
            )
            return disp.plot(ax=ax, ref_line=ref_line, show_band=show_band, **kwargs)
        *data, ece = _binned_display_data(
            w, scores, outcomes, n_bins, strategy, confidence
        )
        disp = cls(*data, ece=ece, estimator_name=name)
        return disp.plot(ax=ax, ref_line=ref_line, show_band=show_band, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, name=None, **kwargs):
        """Build and plot a reliability diagram from a fitted classifier.

        Parameters
        ----------
        estimator : fitted classifier or Pipeline
            Must have ``predict_proba`` and ``classes_``.
        X : array-like of shape (n_samples, n_features)
            Data, ideally held out.
        y : array-like of shape (n_samples,)
            Labels as in ``estimator.classes_``.
        name : str or None, default=None
            Legend label; defaults to the estimator's class name.
        **kwargs : dict
            Passed to :meth:`from_predictions`.

        Returns
        -------
        ReliabilityDisplay
            The plotted display.
        """
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"{type(estimator).__name__} has no predict_proba; a reliability "
                "diagram needs predicted probabilities."
            )
        yi, prob = _proba(estimator, X, y)
        if name is None:
            last = estimator[-1] if hasattr(estimator, "steps") else estimator
            name = type(last).__name__
        return cls.from_predictions(yi, prob, name=name, **kwargs)
