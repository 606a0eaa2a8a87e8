"""Layer 2 — temperature: the log-loss decomposition and temperature scaling.

:func:`log_loss_decomposition` splits the log-loss of given forecasts into the
part the best temperature removes and the rest; :func:`temperature_scale`
recalibrates a fitted classifier on held-out rows with scikit-learn's own
temperature scaling (``CalibratedClassifierCV(method="temperature")``, scikit-learn
>= 1.8; a small fallback with the same rule for older versions).  Conventions are
documented at the top of :mod:`ticselect.calibration`.
"""

from __future__ import annotations

import copy
import re
from typing import NamedTuple

import numpy as np
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from .._validation import final_step
from ._utils import check_classification

__all__ = [
    "LogLossDecomposition",
    "fitted_temperature",
    "log_loss_decomposition",
    "scale_logits",
    "temperature_scale",
]

#: scikit-learn versions with ``CalibratedClassifierCV(method="temperature")``.
SKLEARN_TEMPERATURE = tuple(
    int(v) for v in re.match(r"(\d+)\.(\d+)", sklearn.__version__).groups()
) >= (1, 8)
#: Newton on the inverse temperature stops when a step changes it by less than
#: this relative amount (the loss is then at its minimum to rounding).
BETA_RTOL = 1e-13
#: Offset scikit-learn adds before taking logs of probabilities (its logits).
SKLEARN_PROBA_EPS = 1e-12
#: Floor of the probabilities whose logs are the logits of the log-loss
#: decomposition and of ``exact_logits=True`` (only a probability of exactly 0 is
#: raised to it: ``-log`` of it is 708 nats).
PROBA_FLOOR = np.finfo(float).tiny


class LogLossDecomposition(NamedTuple):
    """Log-loss = refinement + calibration (:func:`log_loss_decomposition`).

    Attributes
    ----------
    log_loss : float
        Mean negative log-likelihood of the forecasts (nats per sample).
    refinement : float
        Log-loss after the best temperature on the same rows: what no
        temperature can remove.
    calibration : float
        ``log_loss - refinement >= 0``: what the best temperature removes (0 for
        forecasts that are already temperature-optimal).
    temperature : float
        The best temperature ``T`` (forecasts ``softmax(log p / T)``); ``T > 1``
        softens over-confident forecasts; ``0`` when sharpening without bound
        helps (every row's true class has the largest probability) and ``inf``
        when the uniform forecast is best.

    Examples
    --------
    >>> from ticselect.calibration import log_loss_decomposition
    >>> d = log_loss_decomposition([0, 1, 1, 0], [0.1, 0.9, 0.6, 0.4])
    >>> bool(abs(d.refinement + d.calibration - d.log_loss) < 1e-15)
    True
    """

    log_loss: float
    refinement: float
    calibration: float
    temperature: float


def logits(prob):
    """``log max(p, PROBA_FLOOR)`` as (n, K) logits (binary 1-D: two columns)."""
    if prob.ndim == 1:
        prob = np.column_stack([1.0 - prob, prob])
    return np.log(np.maximum(prob, PROBA_FLOOR))


def scaled_loss(beta, z, y, w):
    """Mean NLL of ``softmax(β z)`` and its first two derivatives in ``β``.

    ``L(β) = Σ w [lse(β z_i) - β z_{i,y_i}] / Σ w``, ``L' = Σ w (E_β z_i - z_{i,y_i})
    / Σ w`` and ``L'' = Σ w Var_β(z_i) / Σ w`` (mean and variance of the row's
    logits under ``softmax(β z_i)``), so ``L`` is convex in ``β``.
    """
    rows = np.arange(z.shape[0])
    u = beta * z
    top = u.max(axis=1)
    e = np.exp(u - top[:, None])
    total = e.sum(axis=1)
    s = e / total[:, None]
    mean = np.sum(s * z, axis=1)
    var = np.maximum(np.sum(s * (z - mean[:, None]) ** 2, axis=1), 0.0)
    loss = top + np.log(total) - u[rows, y]
    wsum = w.sum()
    return (
        float(w @ loss / wsum),
        float(w @ (mean - z[rows, y]) / wsum),
        float(w @ var / wsum),
    )


def fit_inverse_temperature(z, y, w, max_iter=200):
    """``β* = argmin_{β ≥ 0} L(β)`` and ``L(β*)`` (:func:`scaled_loss`).

    Safeguarded Newton on the convex ``L``: a bracket ``[lo, hi]`` with
    ``L'(lo) < 0 < L'(hi)`` is kept and a Newton step leaving it is replaced by
    bisection; stops when a step changes ``β`` by less than ``BETA_RTOL``
    relative.  Limits: ``β* = 0`` when ``L'(0) >= 0`` (the uniform forecast is
    best); ``β* = inf`` when every row's true class attains its row maximum
    (``L`` decreases for ever; the limit is ``Σ w log m_i / Σ w`` with ``m_i`` the
    number of classes tied at the maximum); ``β* = 1`` when every row's logits
    are equal (``L`` is constant).
    """
    rows = np.arange(z.shape[0])
    spread = z.max(axis=1) - z.min(axis=1)
    if np.all(spread == 0.0):
        return 1.0, scaled_loss(1.0, z, y, w)[0]
    at_max = z[rows, y] == z.max(axis=1)
    if np.all(at_max[w > 0]):
        ties = np.sum(z == z.max(axis=1)[:, None], axis=1)
        return np.inf, float(w @ np.log(ties) / w.sum())
    loss0, grad0, _ = scaled_loss(0.0, z, y, w)
    if grad0 >= 0.0:
        return 0.0, loss0
    lo, hi = 0.0, 1.0
    while scaled_loss(hi, z, y, w)[1] < 0.0:  # finite: some row's class is not top
        lo, hi = hi, 2.0 * hi
    beta = 0.5 * (lo + hi) if hi > 1.0 else 1.0
    for _ in range(max_iter):
        loss, grad, curv = scaled_loss(beta, z, y, w)
        if grad < 0.0:
            lo = beta
        else:
            hi = beta
        step = grad / curv if curv > 0.0 else np.inf
        new = beta - step
        if not lo < new < hi:
            new = 0.5 * (lo + hi)
        if abs(new - beta) <= BETA_RTOL * beta:
            return new, scaled_loss(new, z, y, w)[0]
        beta = new
    return beta, scaled_loss(beta, z, y, w)[0]


def log_loss_decomposition(y_true, y_prob, *, sample_weight=None):
    """Split the log-loss into refinement and calibration by the best temperature.

    ``log_loss = refinement + calibration`` with ``refinement = min_T L(T)``, the
    log-loss of ``softmax(log p / T)`` at the best temperature fitted on the same
    rows, and ``calibration = log_loss - refinement >= 0``, the part the best
    temperature removes (the refinement/calibration split of a proper scoring
    rule in the sense of Bröcker 2009, with temperature scaling as the
    recalibration family; probmetrics reports the same two parts).  It is the
    log-loss counterpart of :func:`brier_decomposition` (see
    ``docs/calibration.md``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class indices ``0..K-1``.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary ``P(y = 1)`` or class probabilities.  The logits are ``log p``
        (a probability of exactly 0 is raised to the smallest normal float), and
        the rows are renormalised by the softmax, so ``log_loss`` is the exact
        mean NLL; it equals :func:`sklearn.metrics.log_loss` whenever every true
        class has probability above 2.2e-16 (scikit-learn clips there).
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.

    Returns
    -------
    LogLossDecomposition
        ``(log_loss, refinement, calibration, temperature)``, in nats per sample.

    Examples
    --------
    >>> import numpy as np
    >>> from ticselect.calibration import log_loss_decomposition
    >>> rng = np.random.default_rng(0)
    >>> q = rng.uniform(0.02, 0.98, 4000)
    >>> y = (rng.uniform(size=4000) < q).astype(int)
    >>> z = np.log(q / (1 - q))
    >>> sharp = 1 / (1 + np.exp(-2 * z))  # over-confident: logits doubled
    >>> d = log_loss_decomposition(y, sharp)
    >>> bool(1.8 < d.temperature < 2.2), bool(d.calibration > 0.02)
    (True, True)
    >>> round(d.refinement + d.calibration - d.log_loss, 15)
    0.0
    """
    y, prob, w = check_classification(y_true, y_prob, sample_weight)
    z = logits(prob)
    loss = scaled_loss(1.0, z, y, w)[0]
    beta, refinement = fit_inverse_temperature(z, y, w)
    if refinement > loss:  # β = 1 is optimal to rounding
        beta, refinement = 1.0, loss
    temperature = np.inf if beta == 0.0 else 1.0 / beta
    return LogLossDecomposition(
        float(loss), float(refinement), float(loss - refinement), float(temperature)
    )


# ------------------------------------------------------------ recalibration
class _TemperatureScaledClassifier(ClassifierMixin, BaseEstimator):
    """Fallback for scikit-learn < 1.8: ``softmax(β · logits)`` of a fitted classifier.

    The logits are scikit-learn's: ``decision_function`` when the classifier has
    one (binary: ``(-d, d)``), else ``log(predict_proba + 1e-12)``; ``β``
    minimises the weighted log-loss on the calibration rows
    (:func:`fit_inverse_temperature`).  Only built by :func:`temperature_scale`.
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def _logits(self, X):
        est = self.estimator
        if hasattr(est, "decision_function"):
            d = np.asarray(est.decision_function(X), dtype=float)
            return np.column_stack([-d, d]) if d.ndim == 1 else d
        return np.log(np.asarray(est.predict_proba(X), dtype=float) + SKLEARN_PROBA_EPS)

    def fit(self, X, y, sample_weight=None):
        """Fit the inverse temperature ``beta_`` on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Calibration rows.
        y : array-like of shape (n_samples,)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights.

        Returns
        -------
        self
        """
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        z = self._logits(X)
        w = np.ones(z.shape[0]) if sample_weight is None else np.asarray(sample_weight)
        self.beta_, _ = fit_inverse_temperature(z, encoder.transform(y), w)
        return self

    def predict_proba(self, X):
        """Recalibrated class probabilities ``softmax(beta_ · logits)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "beta_")
        u = self.beta_ * self._logits(X)
        e = np.exp(u - u.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class _ExactLogits(ClassifierMixin, BaseEstimator):
    """A fitted classifier seen through its log-probabilities (for scikit-learn).

    ``decision_function`` is ``log p`` (binary: the logit ``log p_1 - log p_0``),
    so that scikit-learn's temperature scaling multiplies the classifier's own
    logits (for a network: its output layer) instead of ``log(p + 1e-12)``.
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        """The wrapped classifier's classes."""
        return self.estimator.classes_

    def fit(self, X, y=None):  # noqa: D102 - frozen: never refitted
        return self

    def predict_proba(self, X):  # noqa: D102
        return self.estimator.predict_proba(X)

    def predict(self, X):  # noqa: D102
        return self.estimator.predict(X)

    def decision_function(self, X):  # noqa: D102
        z = np.log(np.maximum(np.asarray(self.predict_proba(X), float), PROBA_FLOOR))
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z


def temperature_scale(estimator, X, y, *, sample_weight=None, exact_logits=False):
    """Recalibrate a fitted classifier by temperature scaling on held-out rows.

    Uses scikit-learn's own implementation,
    ``CalibratedClassifierCV(FrozenEstimator(estimator), method="temperature")``
    (scikit-learn >= 1.8: the estimator is not refitted and one temperature is
    fitted on all of ``(X, y)``); older scikit-learn gets a small fallback with
    the same rule (``softmax(β · logits)``, ``β`` minimising the log-loss).

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Has ``predict_proba`` (and ``classes_``).
    X : array-like of shape (n_samples, n_features)
        Calibration rows, not used to fit ``estimator``.
    y : array-like of shape (n_samples,)
        Their labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the calibration rows.
    exact_logits : bool, default=False
        False: scikit-learn's logits (``decision_function``, else
        ``log(predict_proba + 1e-12)``), so the result is exactly scikit-learn's.
        True: scikit-learn scales ``log p`` itself (binary: the logit), so the
        recalibrated forecasts are ``softmax(log p / T)`` exactly — for a network,
        its output layer divided by ``T`` (Guo et al. 2017), which the offset
        distorts when probabilities fall below about ``1e-10``.

    Returns
    -------
    classifier
        The fitted ``CalibratedClassifierCV`` (or fallback) with ``predict_proba``;
        :func:`fitted_temperature` reads its temperature.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.neural_network import MLPClassifier
    >>> from ticselect.calibration import fitted_temperature, temperature_scale
    >>> X, y = make_classification(n_samples=600, random_state=0)
    >>> net = MLPClassifier((20,), alpha=1e-5, max_iter=2000, random_state=0)
    >>> net = net.fit(X[:300], y[:300])
    >>> cal = temperature_scale(net, X[300:], y[300:])
    >>> bool(fitted_temperature(cal) > 1)  # an over-confident network is softened
    True
    """
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"{type(estimator).__name__} has no predict_proba; temperature scaling "
            "recalibrates predicted probabilities."
        )
    check_is_fitted(estimator)
    if exact_logits:
        estimator = _ExactLogits(estimator)
    if SKLEARN_TEMPERATURE:
        cal = CalibratedClassifierCV(FrozenEstimator(estimator), method="temperature")
    else:  # pragma: no cover - scikit-learn < 1.8
        cal = _TemperatureScaledClassifier(estimator)
    return cal.fit(X, y, sample_weight=sample_weight)


def _sklearn_beta(calibrated):
    if isinstance(calibrated, _TemperatureScaledClassifier):
        return float(calibrated.beta_), calibrated.estimator
    if (
        isinstance(calibrated, CalibratedClassifierCV)
        and calibrated.method == "temperature"
        and hasattr(calibrated, "calibrated_classifiers_")
        and len(calibrated.calibrated_classifiers_) == 1
    ):
        inner = calibrated.calibrated_classifiers_[0]
        est = inner.estimator
        est = est.estimator if isinstance(est, FrozenEstimator) else est
        return float(np.squeeze(inner.calibrators[0].beta_)), est
    raise TypeError(
        "fitted_temperature takes the result of temperature_scale (one fitted "
        "CalibratedClassifierCV(method='temperature') with a single calibrator), "
        f"got {type(calibrated).__name__}."
    )


def fitted_temperature(calibrated):
    """Temperature ``T`` of a temperature-scaled classifier, on its probabilities.

    The recalibrated forecasts are ``softmax(log p / T)`` with ``p`` the wrapped
    classifier's ``predict_proba`` (the temperature of
    :func:`log_loss_decomposition`).  scikit-learn scales its logits by ``β``:
    ``log(p + 1e-12)`` for classifiers without ``decision_function`` (``T = 1/β``;
    the offset matters only for ``p`` below about ``1e-10``), or the decision
    function, whose binary logits ``(-d, d)`` double ``d`` (``T = 1/(2β)``).  The
    latter assumes ``predict_proba`` is the softmax (binary: logistic) of the
    decision function, as for ``LogisticRegression`` and for
    ``temperature_scale(..., exact_logits=True)``, whose decision function is
    ``log p``.

    Parameters
    ----------
    calibrated : classifier
        The result of :func:`temperature_scale`.

    Returns
    -------
    float
        ``T > 0`` (``inf`` when the uniform forecast was best).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ticselect.calibration import fitted_temperature, temperature_scale
    >>> import numpy as np
    >>> X, y = make_classification(n_samples=2000, random_state=0)
    >>> model = LogisticRegression().fit(X[:1000], y[:1000])
    >>> cal = temperature_scale(model, X[1000:], y[1000:])
    >>> T = fitted_temperature(cal)
    >>> p = model.predict_proba(X[1000:])[:, 1]
    >>> q = 1 / (1 + np.exp(-np.log(p / (1 - p)) / T))
    >>> bool(np.allclose(cal.predict_proba(X[1000:])[:, 1], q))
    True
    """
    beta, est = _sklearn_beta(calibrated)
    if hasattr(est, "decision_function") and len(calibrated.classes_) == 2:
        beta = 2.0 * beta
    return np.inf if beta == 0.0 else 1.0 / beta


def scale_logits(estimator, temperature):
    """Copy of a fitted classifier whose output logits are divided by ``temperature``.

    The temperature-scaled model as a model of the same kind, so that its
    curvature can be computed (``softmax(z / T)`` is the softmax of the last
    layer divided by ``T``): ``MLPClassifier`` (last layer's ``coefs_`` and
    ``intercepts_``) and linear classifiers with ``coef_`` and ``intercept_``
    (``LogisticRegression``, ``SGDClassifier(loss="log_loss")``), alone or as the
    last step of a Pipeline.  Its ``predict_proba`` is ``softmax(log p / T)``.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        The model to scale (not modified).
    temperature : float
        ``T > 0``, e.g. :func:`fitted_temperature`.

    Returns
    -------
    estimator
        A deep copy with scaled output layer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ticselect.calibration import scale_logits
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> model = LogisticRegression().fit(X, y)
    >>> soft = scale_logits(model, 2.0)
    >>> p, q = model.predict_proba(X)[:, 1], soft.predict_proba(X)[:, 1]
    >>> bool(np.allclose(np.log(q / (1 - q)), np.log(p / (1 - p)) / 2))
    True
    """
    temperature = float(temperature)
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}.")
    scaled = copy.deepcopy(estimator)
    last = final_step(scaled)
    if hasattr(last, "coefs_") and hasattr(last, "intercepts_"):
        last.coefs_[-1] = last.coefs_[-1] / temperature
        last.intercepts_[-1] = last.intercepts_[-1] / temperature
    elif hasattr(last, "coef_") and hasattr(last, "intercept_"):
        last.coef_ = last.coef_ / temperature
        last.intercept_ = last.intercept_ / temperature
    else:
        raise TypeError(
            f"scale_logits supports MLPClassifier and linear classifiers with coef_ "
            f"and intercept_ (alone or in a Pipeline), got {type(last).__name__}."
        )
    return scaled
