"""Reliability diagram following scikit-learn's Display API.

Conventions
-----------
The curve is the binned mean outcome ``ō_b`` against the binned mean score ``s̄_b``
for non-empty bins, with the binning rule and the top-label / class-wise definitions
of :mod:`ticselect.calibration` (for 1-D binary input the points are exactly those of
:func:`sklearn.calibration.calibration_curve`). The band is the per-bin Wilson score
interval (Wilson 1927) for ``ō_b`` at level ``confidence`` with ``n_b`` the bin
weight; it is a pointwise, not simultaneous, band. matplotlib is imported lazily
(``pip install 'ticselect[plot]'``).
"""

from __future__ import annotations

import numpy as np

from ._utils import (
    _proba,
    binned_stats,
    calibration_columns,
    check_classification,
    check_n_bins,
    wilson_interval,
)

__all__ = ["ReliabilityDisplay"]


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "ReliabilityDisplay needs matplotlib: pip install 'ticselect[plot]'"
        ) from exc
    return plt


class ReliabilityDisplay:
    """Reliability diagram with a pointwise confidence band.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`; the
    constructor only stores the data.

    Parameters
    ----------
    prob_true : ndarray of shape (n_nonempty_bins,)
        Mean outcome per non-empty bin.
    prob_pred : ndarray of shape (n_nonempty_bins,)
        Mean predicted score per non-empty bin.
    bin_weight : ndarray of shape (n_nonempty_bins,)
        Total sample weight per bin.
    lower, upper : ndarray of shape (n_nonempty_bins,)
        Wilson interval for ``prob_true``.
    ece : float or None, default=None
        Binned ECE shown in the legend.
    estimator_name : str or None, default=None
        Legend label.

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
    ):
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.bin_weight = bin_weight
        self.lower = lower
        self.upper = upper
        self.ece = ece
        self.estimator_name = estimator_name

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
            Shade the Wilson confidence band.
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
            label = f"{label} (ECE = {self.ece:.3f})"
        if ref_line:
            ax.plot([0, 1], [0, 1], "k:", label="perfectly calibrated")
        self.band_ = None
        if show_band:
            self.band_ = ax.fill_between(
                self.prob_pred, self.lower, self.upper, alpha=0.25, linewidth=0
            )
        style = {"marker": "s", "label": label, **kwargs}
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
        n_bins : int, default=10
            Number of bins.
        strategy : {"uniform", "quantile"}, default="uniform"
            Binning strategy.
        multiclass : {"top_label", "classwise"}, default="top_label"
            For 2-D ``y_prob``: top-label confidence, or one class (``class_index``).
        class_index : int or None, default=None
            Class shown when ``multiclass="classwise"`` (required then).
        confidence : float, default=0.95
            Level of the Wilson band, in ``(0, 1)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights.
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
        n_bins = check_n_bins(n_bins)
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
        y, prob, w = check_classification(y_true, y_prob, sample_weight)
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
        weight, s, o, nonempty, _, _ = binned_stats(
            scores, outcomes, w, n_bins, strategy
        )
        lower, upper = wilson_interval(o[nonempty], weight[nonempty], confidence)
        # binned ECE of the curve drawn (for one class when class-wise)
        ece = float(np.sum(weight[nonempty] / w.sum() * np.abs(o - s)[nonempty]))
        disp = cls(
            o[nonempty],
            s[nonempty],
            weight[nonempty],
            lower,
            upper,
            ece=ece,
            estimator_name=name,
        )
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
