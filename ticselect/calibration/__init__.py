"""Layer 2 — calibration: binned and smooth ECE, Brier decomposition, recalibration.

The soft-rank gap estimate predicts the generalisation gap when the model is
calibrated (see ``docs/calibration.md``); these metrics check that assumption.

Conventions
-----------
Inputs
    ``y_true`` holds class *indices* ``0..K-1`` matching the columns of ``y_prob``
    (binary: ``{0, 1}``). Binary ``y_prob`` is ``P(y = 1)`` as a 1-D array; multiclass
    ``y_prob`` is ``(n_samples, K)``. Probabilities must lie in ``[0, 1]`` and rows must
    sum to 1 within ``ROW_SUM_ATOL = 1e-6`` (absolute); NaN, mismatched lengths or
    labels outside ``0..K-1`` raise ``ValueError``. The scorers map labels through
    ``estimator.classes_``. ``sample_weight`` (where accepted) are frequency weights:
    an integer weight equals repeating the row.
What is calibrated
    1-D binary input: the score ``s = P(y=1)`` against the outcome ``o = 1[y = 1]``.
    2-D input, ``multiclass="top_label"`` (default): ``s = max_k p_k`` against
    ``o = 1[argmax_k p_k = y]`` (ties go to the lowest class index). A binary problem
    passed as an ``(n, 2)`` array is therefore measured top-label, which differs from
    the 1-D value. ``multiclass="classwise"``: every column ``p_k`` against
    ``1[y = k]``; ECE-type metrics average over the K classes (Kull et al. 2019),
    MCE takes the maximum over classes and bins.
Binning
    ``n_bins="auto"`` (every binned metric and the display): ``ceil(n^(1/3))``
    bins with ``n = Σ sample_weight`` (the cube-root rule of Sun, Song & Hero 2023
    and Futami & Fujisawa 2024, adopted by scikit-learn as ``"cube_root"``; exact
    cubes give their root, e.g. 8 bins for 500 rows).
    ``strategy="uniform"``: ``n_bins`` equal-width bins on ``[0, 1]``; ``"quantile"``:
    edges at the (unweighted, linearly interpolated) percentiles of the scores, as
    :func:`numpy.percentile`. Bins are right-closed ``(e_{b-1}, e_b]`` and the first
    is ``[e_0, e_1]``, so a score equal to an interior edge falls in the *lower* bin;
    this is the rule of :func:`sklearn.calibration.calibration_curve`. Empty bins
    carry zero weight: they do not enter ECE or MCE, and quantile edges that
    coincide (ties) leave such bins.
Binned ECE / MCE
    ``ECE = Σ_b (W_b / W) |ō_b - s̄_b|``, ``MCE = max_{b: W_b > 0} |ō_b - s̄_b|``, with
    ``W_b`` the weight in bin ``b`` and ``s̄_b``, ``ō_b`` weighted means.
Debiased ECE
    The debiased estimate of the squared ℓ2 binned calibration error of Kumar, Liang &
    Ma (2019, "Verified Uncertainty Calibration", NeurIPS, §5):
    ``Σ_b (n_b/n) [(ō_b - s̄_b)² - ō_b (1 - ō_b) / (n_b - 1)]``. The correction
    term is the unbiased estimate of ``Var(ō_b)``; bins with ``n_b = 1`` have none and
    contribute their plug-in term. :func:`debiased_ece` returns its square root
    clipped at 0 (``squared=False``) or the unclipped, possibly negative, estimate.
Smooth ECE
    Błasiok & Nakkiran (2023, "Smooth ECE: Principled Reliability Diagrams via Kernel
    Smoothing", arXiv 2309.12236):
    ``smECE_σ = ∫_0^1 |(1/W) Σ_i w_i r_i K_σ(t, s_i)| dt`` with residuals
    ``r_i = o_i - s_i`` and ``K_σ`` the Gaussian kernel reflected at 0 and 1.
    The bandwidth is the fixed point ``σ* = smECE_{σ*}`` (unique because ``smECE_σ``
    decreases in ``σ``), found by bisection on ``log σ`` in
    ``[SMECE_MIN_BANDWIDTH = 1e-3, 1]``; if ``smECE_σ < σ`` already at ``1e-3`` the
    value at ``1e-3`` is returned (then below 1e-3). We evaluate ``K_σ`` exactly by
    its cosine series (the Neumann heat kernel) and integrate by a midpoint rule.
Brier score and Murphy's decomposition
    Binary 1-D: ``BS = (1/W) Σ w_i (p_i - y_i)²`` (scikit-learn's
    ``brier_score_loss``); 2-D: ``(1/W) Σ_i w_i Σ_k (p_ik - 1[y_i = k])²`` (Brier 1950,
    range ``[0, 2]``), the sum of one-vs-rest scores. Murphy (1973) per column,
    binned as above: ``REL = Σ_b (W_b/W)(s̄_b - ō_b)²``, ``RES = Σ_b (W_b/W)(ō_b - ō)²``,
    ``UNC = ō(1 - ō)``; 2-D sums the columns. ``BS = REL - RES + UNC`` holds exactly
    only when forecasts are constant within bins; in general (Stephenson, Coelho &
    Jolliffe 2008) ``BS = REL - RES + UNC + WBV - WBC`` exactly, with the within-bin
    variance ``WBV = (1/W) Σ_i w_i (p_i - s̄_{b(i)})²`` and within-bin covariance
    ``WBC = (2/W) Σ_i w_i (p_i - s̄_{b(i)})(o_i - ō_{b(i)})``. Both are attributes of
    the returned :class:`BrierDecomposition`, which unpacks as the 3-tuple.
Calibration slope and intercept
    Logistic recalibration (Cox 1958): maximum likelihood for
    ``logit P(y=1) = a + b logit(p)``; multiclass ``P(y=k) ∝ exp(a_k + b log p_k)``
    with ``a_0 = 0`` (one shared slope; ``b = 1/T`` of temperature scaling).
    Probabilities are clipped to ``[1e-12, 1 - 1e-12]`` before the logs. ``b < 1``:
    over-confident; ``b > 1``: under-confident. Needs every class present. Newton
    with backtracking from the null model ``b = 0``; ``ValueError`` when the slope is
    not identifiable (all forecasts equal) or infinite (separation).
Hosmer–Lemeshow
    Rows sorted (stable sort) by ``P(y=1)`` (multiclass: ``1 - p_0``, Fagerland,
    Hosmer & Bofin 2008) and split into ``n_groups`` groups of sizes differing by at
    most one (:func:`numpy.array_split`); ``χ² = Σ_g Σ_k (O_gk - E_gk)² / E_gk``, which
    for binary data is ``Σ_g (O_g - E_g)² / (E_g (1 - E_g/n_g))``, with
    ``df = (G - 2)(K - 1)`` by default (in-sample; use ``df=G`` on held-out data).
Confidence intervals (``ci=0.95``)
    ECE (every variant), debiased ECE, smooth ECE, the Brier score and its parts and
    the calibration slope/intercept return a :class:`BootstrapInterval`
    ``(estimate, low, high)`` (structured results hold one per number).  Rows are
    resampled ``n_resamples`` times (default 1000) by :func:`scipy.stats.bootstrap`
    and the metric is recomputed on each resample, bins, quantile edges, smooth-ECE
    bandwidth and recalibration fit included; ``estimate`` is the metric on the data
    as given.  Resampling is stratified by class (class counts held fixed) when the
    rarest class has fewer than ``RARE_CLASS_ROWS = 20`` rows, so no resample
    misses a class; otherwise rows are resampled freely.  Integer
    ``sample_weight`` stand for repeated rows (an interval equals that of the data
    with each row repeated ``w_i`` times, in ``np.repeat`` order, for the same
    ``random_state``); non-integer weights raise ``ValueError``.  ``ci_method``:
    ``"basic"`` (default: ``[2θ̂ - q_{1-α/2}, 2θ̂ - q_{α/2}]``, which corrects the
    upward bias of the plug-in calibration errors; relplot and Kumar et al. use
    it), ``"percentile"`` or ``"BCa"`` (unsuitable for the ECE family, whose
    estimate sits below most of its bootstrap distribution).  Biased estimators:
    the plug-in ECE and smooth ECE exceed their population value on average, so
    for a perfectly calibrated model (population value 0) no percentile interval
    reaches 0 and basic intervals may lie below 0; the coverage measured by
    ``benchmarks/calibration_coverage.py`` is in ``docs/calibration.md``.
Log-loss decomposition
    ``L(β) = Σ_i w_i [lse(β z_i) - β z_{i,y_i}] / Σ w`` with logits
    ``z = log max(p, 1e-12)`` (binary 1-D: ``[1 - p, p]``) is the log-loss of
    ``softmax(β z) = softmax(log p / T)``, ``T = 1/β``.  ``log_loss = L(1)``,
    ``refinement = min_{β >= 0} L(β)`` (convex in ``β``; safeguarded Newton) and
    ``calibration = log_loss - refinement >= 0``, so the parts sum to the log-loss
    by construction.  Limits: ``T = 0`` with ``refinement = Σ w log(#ties)/Σ w``
    when every row's true class has the largest probability; ``T = inf`` with
    ``refinement = log K`` when the uniform forecast is best.
Temperature scaling
    :func:`temperature_scale` is scikit-learn's
    ``CalibratedClassifierCV(FrozenEstimator(estimator), method="temperature")``
    (scikit-learn >= 1.8; a fallback with the same rule before that), which scales
    its logits (``decision_function``, binary ``(-d, d)``; else
    ``log(predict_proba + 1e-12)``) by ``β``.  :func:`fitted_temperature` reports
    ``T`` on the classifier's probabilities, ``p_cal = softmax(log p / T)``: the
    temperature of the log-loss decomposition.
Regression and counts
    ``calibration_in_the_large = mean(y) - mean(μ̂)`` (weighted; observed minus
    predicted). ``dispersion_ratio = Σ w (y - μ̂)² / V(μ̂) / (Σ w - n_params)`` with
    ``V`` the family variance function (Pearson χ²/df; ≈ 1 under a correct model
    with dispersion 1).
"""

from ._bootstrap import BootstrapInterval
from ._display import ReliabilityDisplay
from ._metrics import (
    brier_decomposition,
    brier_score,
    calibration_slope,
    debiased_ece,
    expected_calibration_error,
    hosmer_lemeshow,
    max_calibration_error,
    smooth_ece,
)
from ._regression import binned_mean_curve, calibration_in_the_large, dispersion_ratio
from ._report import CALIBRATION_SCORERS, calibration_report
from ._temperature import (
    LogLossDecomposition,
    fitted_temperature,
    log_loss_decomposition,
    scale_logits,
    temperature_scale,
)
from ._utils import (
    BinnedMeanCurve,
    BrierDecomposition,
    CalibrationReport,
    CalibrationSlope,
    HosmerLemeshowResult,
)

__all__ = [
    "CALIBRATION_SCORERS",
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
]
