"""Layer 2 — information criteria and complexity measures of a :class:`Curvature`.

Conventions
-----------
Criteria are on the **deviance scale** (lower is better), with ``L`` the summed NLL,
``k`` = :attr:`Curvature.n_free_params` and ``n`` = :attr:`Curvature.n_samples`
(``Σ wᵢ``), see :mod:`ticselect.curvature._result`:

- ``aic  = 2L + 2k`` (Akaike 1974); ``k`` counts identified parameters only: aliased
  columns of an unpenalised GLM are dropped (see :mod:`ticselect.curvature._identify`);
- ``aicc = aic + 2k(k+1)/(n-k-1)`` (Hurvich & Tsai 1989; ``inf`` when ``n <= k + 1``);
- ``bic  = 2L + k log n`` (Schwarz 1978);
- ``tic  = 2L + 2 tr(H_λ⁻¹ C)`` (Takeuchi 1976; with a penalty this is the network
  information criterion of Murata, Yoshizawa & Amari 1994);
- ``tic_penalty = tr(H_λ⁻¹ C)``, ``gap_estimate = tic_penalty / n`` (expected test NLL
  minus training NLL, *per sample*);
- ``effective_dim = tr(H_λ⁻¹ H)`` (equals ``k`` without a penalty; for ridge regression
  it is the hat-matrix trace ``tr(X(XᵀX + λI)⁻¹Xᵀ)`` plus the unpenalised entries);
- ``soft_rank = tr(H (H + λ I)⁻¹) = Σⱼ σⱼ / (σⱼ + λ)`` over the eigenvalues ``σⱼ`` of
  ``H`` (Shoham, Mor-Yosef & Avron 2025, arXiv 2506.17809), with ``λ`` the fit's own
  L2 strength unless given; negative eigenvalues count as 0; at ``λ = 0`` it is the
  numerical rank.  ``λI`` damps **every** direction, as in the paper, including the
  unpenalised ones (intercepts, dispersion): for ridge regression with fixed ``σ²``
  and centred ``X`` it is ``df(λ) + n/(n + λ)``, the hat-matrix trace plus the damped
  intercept direction (``df(λ)`` exactly without an intercept).  ``effective_dim`` is
  the penalty-mask version, in which every unpenalised direction counts 1;
- ``soft_rank_estimate = t/(s + λ)``, ``soft_rank_lower = t/(s + λ)`` and
  ``soft_rank_upper = t/(t/k + λ)`` with ``t = tr(H)``, ``s = ‖H‖₂`` (positive part of
  the spectrum): ticselect's cheap trace/spectral-norm estimate and its proven
  chord/Jensen bounds (see :class:`ticselect.curvature._spectral.SoftRankBounds`);
- ``hessian_rank``: the hard numerical rank of ``H`` (eigenvalues above
  ``rcond · ‖H‖₂``).  When ``H_λ`` is not positive definite everything is computed
  on the subspace ``S`` of :mod:`ticselect.curvature._factor` (``r = |S|``
  well-determined positive-curvature directions, chosen by a Cholesky factorisation
  with diagonal pivoting): there ``hessian_rank = numerical_rank = r``, the rank
  that factorisation reveals, and the soft rank and its bounds are those of
  ``H_SS``, computed without eigenvalues as ``r - λ tr((H_SS + λI)⁻¹)`` (exact, as
  ``H_SS`` is positive definite), ``tr(H_SS)`` and a Lanczos ``‖H_SS‖₂``;
- ``fisher_soft_rank = tr(C (C + λI)⁻¹)``, the same on the gradient covariance
  (empirical Fisher); its numerical rank at ``λ = 0``;
- ``soft_rank_gap_estimate = soft_rank / n``: the soft-rank gap of Shoham et al.,
  which assumes a calibrated model, next to the TIC-based
  ``gap_estimate = tr(H_λ⁻¹C)/n``, which does not.  With ``C = H`` (calibration)
  TIC's estimate is ``effective_dim / n``, which differs from ``soft_rank / n`` when
  some directions (intercepts) are unpenalised; docs/flatness.md recommends
  ``effective_dim / n`` as the calibrated-model estimate.  All are per sample, in NLL
  units (nats);
- ``log_evidence``: the Laplace evidence of :func:`ticselect.evidence` (penalty as
  prior, exact Hessian, unpenalised directions integrated; ``nan`` without a
  penalty); it reads the factorisation below, so it costs ``O(d)`` here;
- ``penalty_ratio = tic_penalty / effective_dim = tr(H_λ⁻¹C) / tr(H_λ⁻¹H)``: about 1
  for a correctly specified model (``C ≈ H``, the information identity), ``≪ 1``
  when the per-sample gradients vanish on the training rows while the curvature does
  not — an overconfident, near-interpolating fit, for which TIC predicts almost no
  gap.  Below :data:`OVERCONFIDENCE_RATIO` (0.3) :func:`criteria` adds the
  ``"overconfident"`` flag and gives an :class:`OverconfidenceWarning`.  The
  threshold comes from ``benchmarks/gap_prediction.py`` (96 digits networks, relu and
  tanh, and 54 misspecified GLMs): every network trained to a stationary point had a
  ratio ≤ 0.27 and a true gap at least 3 times TIC's estimate; every GLM had ≥ 0.64
  and every early-stopped network ≥ 0.5 (table in the selection guide).  ``nan``
  when ``effective_dim`` is 0.  Above :data:`MISSPECIFIED_RATIO` (1.5) a GLM fit is
  flagged ``"misspecified"``: its variance is not the model's (over-dispersed
  counts), so the model-based quantities (AIC/BIC's ``k``, likelihood-ratio tests,
  non-robust standard errors) are off while TIC and robust errors hold;
- ``aic_edf = 2L + 2·effective_dim``, ``bic_edf = 2L + effective_dim·log n``: AIC
  and BIC of a penalised fit with its effective degrees of freedom (Hastie,
  Tibshirani & Friedman, ESL §7.6), equal to ``aic`` and ``bic`` without a penalty;
- ``"high_leverage"`` (GLMs): ``effective_dim / n`` (the mean row leverage) above
  :data:`LEVERAGE_RATIO` (0.15) or a row whose leverage ``hᵢwᵢℓ''ᵢ`` exceeds
  :data:`MAX_LEVERAGE` (0.9; :mod:`ticselect.curvature._leverage`, from the
  curvature's per-row model).  TIC's penalty is the first-order term of
  leave-one-out in the leverages (``1/(1 − hᵢ) ≈ 1 + hᵢ``), so it understates the gap
  there; approximate leave-one-out (layer 3) keeps the higher-order terms, and where
  it is computed for a set of candidates it adds the flag's comparative part
  (:mod:`ticselect.selection._recommend`).  No warning: the flag is shown by every
  table;
- ``mcfadden_r2 = 1 − L/L₀``, ``cox_snell_r2 = 1 − exp(2(L − L₀)/n)`` and
  ``nagelkerke_r2 = cox_snell_r2 / (1 − exp(−2L₀/n))`` with ``L₀`` the NLL of the
  intercept-only model (:attr:`Curvature.null_nll`, see
  :mod:`ticselect.curvature._null`; McFadden 1974, Cox & Snell 1989, Nagelkerke
  1991, Biometrika 78(3)).  McFadden's equals statsmodels' ``prsquared`` and Cox and
  Snell's its ``pseudo_rsquared("cs")`` (which equals the classical ``R²`` of a
  Gaussian linear model); Nagelkerke's rescales Cox and Snell's to a maximum of 1,
  which exists only when the likelihood is a probability (binomial, multinomial,
  Poisson, negative binomial): it is ``None`` for densities.  All are ``None``
  when the null model is unknown (networks, likelihoods without one);
- ``qaic = 2L/ĉ + 2K`` and ``qaicc = qaic + 2K(K + 1)/(n − K − 1)`` (Burnham &
  Anderson 2002, §2.5 and §6.2), for overdispersed counts, with ``ĉ`` the given
  ``c_hat`` or, for binomial, Poisson and negative binomial GLMs, Pearson's
  ``X²/(n − k)`` (:attr:`Curvature.pearson_chi2`).  ``K = k``, plus 1 when ``ĉ`` is
  estimated (it is then a parameter too), so ``qaic`` equals statsmodels' GLM
  ``info_criteria("qaic", scale=ĉ, dk_params=1)`` for an estimated ``ĉ`` (its
  ``fit(scale="X2").scale``) and ``dk_params=0`` for a given one.  ``ĉ`` is not
  floored at 1 (Burnham & Anderson advise using 1 when ``ĉ < 1``: pass
  ``c_hat=1``); compare QAIC values only at one ``ĉ``, estimated from the largest
  model, as statsmodels' docs say.  ``None`` (and ``c_hat`` too) when ``ĉ`` is
  neither given nor estimable.

When ``H_λ`` is not positive definite (the fit is not at a minimum, or parameters
are not determined), ``tic_penalty``, ``effective_dim`` (then in ``[0, r]``) and the
soft rank are computed on one subspace, the ``r`` well-determined positive-curvature
coordinates of ``H`` (see :mod:`ticselect.curvature._factor`), with one
:class:`~ticselect.SingularHessianWarning` per call.

Cost: one factorisation of ``H_λ``, shared with the Newton decrement and cached on
the :class:`~ticselect.Curvature` (Cholesky and its inverse: ``tr(H_λ⁻¹C)`` and
``tr(H_λ⁻¹H)`` are then elementwise sums), one symmetric eigenvalue computation of
``H`` (values only) and one Cholesky factor of ``C + λI`` (of the ``m × m`` Gram
matrix of the gradients when there are fewer rows, or groups, ``m``, than
parameters — for networks formed from the layers' Gram matrices, without ``G Gᵀ``;
eigenvalues of ``C`` when ``λ = 0``).  Expensive
measures (norms, spectra, relative flatness, PAC-Bayes) are in
:func:`ticselect.flatness`.

Gauge directions (see :class:`Curvature`) are projected out first.  A criterion
divided by ``2n`` estimates the expected NLL per sample of a new draw; scorers report
minus that.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import linalg

from ._evidence import evidence, key_value_table
from ._validation import check_rcond
from .curvature._factor import frobenius_dot
from .curvature._groups import group_scores
from .curvature._identify import n_aliased
from .curvature._leverage import max_leverage
from .curvature._linalg import DEFAULT_RCOND, GaugeComplement
from .curvature._spectral import (
    check_curvature,
    numerical_rank,
    soft_rank,
    soft_rank_bounds,
)

__all__ = [
    "LEVERAGE_RATIO",
    "MAX_LEVERAGE",
    "MISSPECIFIED_RATIO",
    "OVERCONFIDENCE_RATIO",
    "Criteria",
    "OverconfidenceWarning",
    "criteria",
    "soft_rank",
]

#: :attr:`Criteria.penalty_ratio` below which a fit is flagged ``"overconfident"``
#: (chosen from ``benchmarks/gap_prediction.py``, see the module conventions).
OVERCONFIDENCE_RATIO = 0.3
#: ``effective_dim / n`` (the mean row leverage of a GLM) above which a GLM fit is
#: flagged ``"high_leverage"``: TIC's first-order penalty then understates the gap.
#: Chosen with :data:`MAX_LEVERAGE` and ``selection._recommend.ALO_Z`` on the 30-split
#: real-data study of ``benchmarks/selection.py --trust`` (8 cases, 236 splits): the
#: three parts together, with ``overconfident``, flag TIC's pick on 120 of the 146
#: splits where TIC regrets more than twice 5-fold CV (82 %) and on 9 of the 90
#: where it regrets no more than CV (10 %); at 0.1 the hits rise to 127 (87 %) and
#: the false alarms to 11 (degree-2 OLS on 150 rows, ``edf/n`` 0.14, where TIC
#: regretted 107–191 milli-nats but CV as much); the fits where TIC fails have a
#: median ``edf/n`` of 0.12–0.26 on the small cases, the large-n cases 0.002–0.01.
LEVERAGE_RATIO = 0.15
#: Largest row leverage ``hᵢwᵢℓ''ᵢ`` (:mod:`ticselect.curvature._leverage`, the
#: ``leverage`` of :func:`ticselect.approximate_loo`) above which a GLM fit is
#: flagged ``"high_leverage"``: one row nearly fixes its own fit, where
#: ``1/(1 − hᵢ)`` is far from TIC's ``1 + hᵢ``.  On the same study it adds 3 hits and
#: no false alarm to the other parts; alone it fires on 35 % of TIC's failures and
#: 2 % of its successes (0.7: 68 % and 8 %).  It is the part that sees a weakly
#: penalised near-separated logistic fit from the fit alone (breast cancer,
#: ``C ≥ 12``: leverage 0.92–0.95, ``edf/n`` 0.04).
MAX_LEVERAGE = 0.9
#: :attr:`Criteria.penalty_ratio` above which a GLM fit is flagged ``"misspecified"``
#: (``tr(H_λ⁻¹C)`` well above ``tr(H_λ⁻¹H)``: the variance is not the model's, as
#: over-dispersed counts).  Correctly specified logistic, Poisson and Gaussian
#: regressions stay at or below 1.30 (300 draws, ``n`` 100–2000, ``n/k`` 5–200:
#: ``null_study`` of ``benchmarks/_trust_study.py``), the misspecified-link
#: logistic GLMs of ``benchmarks/gap_prediction.py`` at 0.64–1.3 and every logistic
#: and Gaussian fit of the trust study at 0.01–1.06; every over-dispersed count fit
#: there is above it (fair affairs as counts 1.61–8.2, RAND HIE 2.15–10.1).
MISSPECIFIED_RATIO = 1.5


class OverconfidenceWarning(UserWarning):
    """TIC cannot be trusted: the fit is overconfident on its training rows.

    Given by :func:`criteria` when ``penalty_ratio = tr(H_λ⁻¹C) / tr(H_λ⁻¹H)`` falls
    below :data:`OVERCONFIDENCE_RATIO`: the per-sample gradients nearly vanish (the
    model nearly interpolates) while the curvature does not, so ``tr(H_λ⁻¹C)``
    predicts almost no generalisation gap although the true one can be large (the
    failure mode Shoham, Mor-Yosef & Avron, arXiv 2506.17809, state for overconfident
    models).  The criteria also carry the ``"overconfident"`` flag.  Compare such fits
    by cross-validation, or calibrate them first.

    Examples
    --------
    >>> import warnings, ticselect as ts
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neural_network import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:100] / 16, y[:100]
    >>> net = MLPClassifier((8,), alpha=1e-5, solver="lbfgs", max_iter=2000,
    ...                     tol=1e-10, random_state=0).fit(X, y)  # interpolates
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     crit = ts.criteria(ts.curvature(net, X, y))
    >>> any(w.category is ts.OverconfidenceWarning for w in caught)
    True
    >>> crit.penalty_ratio < 0.3, "overconfident" in crit.flags
    (True, True)
    """


@dataclass(frozen=True)
class Criteria:
    """Information criteria of one fitted model (see the module conventions).

    Attributes
    ----------
    loglik : float
        ``-L``, the log-likelihood with all constants.
    n_params : int
        ``k``, free parameters counted by AIC/AICc/BIC (coefficients, intercepts, the
        dispersion when estimated; gauge directions excluded).  For an unpenalised
        GLM with aliased columns, the numerical rank of the coefficient block of
        ``H`` plus the dispersion (as R's ``AIC`` and statsmodels' ``df_model + 1``;
        see :mod:`ticselect.curvature._identify`).
    n_samples : float
        ``n = Σ wᵢ``.
    aic, aicc, bic, tic : float
        Deviance-scale criteria (lower is better).
    tic_penalty : float
        ``tr(H_λ⁻¹ C)``.
    soft_rank : float
        ``tr(H (H + λI)⁻¹)`` at ``soft_rank_lambda``.
    soft_rank_lambda : float
        The ``λ`` used for ``soft_rank``.
    effective_dim : float
        ``tr(H_λ⁻¹ H)``.
    gap_estimate : float
        ``tic_penalty / n``: estimated generalisation gap in NLL per sample.
    numerical_rank : int
        Rank of ``H_λ`` used in the trace (``k`` when regular).
    stationarity : float
        Relative gradient at the fitted parameters (see :class:`Curvature`).
    soft_rank_estimate : float
        ``tr(H)/(‖H‖₂ + λ)``, the trace/spectral-norm estimate of ``soft_rank``.
    soft_rank_lower, soft_rank_upper : float
        Bounds ``tr(H)/(‖H‖₂ + λ) ≤ soft_rank ≤ tr(H)/(tr(H)/k + λ)``.
    hessian_rank : int
        Hard numerical rank of ``H`` (relative cutoff ``rcond``).
    fisher_soft_rank : float
        ``tr(C (C + λI)⁻¹)`` at ``soft_rank_lambda`` (numerical rank of ``C`` at 0).
    soft_rank_gap_estimate : float
        ``soft_rank / n``: the soft-rank estimate of the generalisation gap in NLL per
        sample (Shoham, Mor-Yosef & Avron, arXiv 2506.17809).
    flags : tuple of str
        Reasons these criteria may not be trusted (keys of
        ``ticselect.curvature._result.RELIABILITY_FLAGS``); empty when none applies.
        :attr:`reliable` is ``not flags``.  For GLMs :func:`criteria` adds
        ``"high_leverage"`` (``effective_dim / n`` above :data:`LEVERAGE_RATIO` or a
        row of leverage above :data:`MAX_LEVERAGE`: TIC's first-order penalty
        understates the gap) and ``"misspecified"`` (``penalty_ratio`` above
        :data:`MISSPECIFIED_RATIO`: the model-based quantities are off, TIC holds);
        the tables of :mod:`ticselect.selection` add ``"high_leverage"`` where
        approximate leave-one-out contradicts TIC's ranking.
    penalty_ratio : float
        ``tic_penalty / effective_dim``: about 1 for a correctly specified model,
        ``≪ 1`` for an overconfident one (flagged below ``OVERCONFIDENCE_RATIO``),
        well above 1 for a misspecified one (flagged above ``MISSPECIFIED_RATIO``);
        ``nan`` when ``effective_dim`` is 0.
    log_evidence : float
        Laplace log marginal likelihood in nats (greater is better), the fit's
        penalty as a Gaussian prior and the exact Hessian:
        ``ticselect.evidence(curv).log_evidence`` (see :mod:`ticselect._evidence`);
        ``nan`` for an unpenalised fit (no proper prior) or an indefinite ``H_λ``.
    null_loglik : float or None
        ``-L₀``, the log-likelihood of the intercept-only model (``None`` when the
        null model is unknown: networks, likelihoods without one).
    mcfadden_r2, cox_snell_r2, nagelkerke_r2 : float or None
        Pseudo-R² against the null model (see the module conventions); ``None``
        without a null model, and ``nagelkerke_r2`` also for densities.
    c_hat : float or None
        Overdispersion factor ``ĉ`` used by QAIC (given, or estimated for binomial,
        Poisson and negative binomial GLMs; ``None`` otherwise).
    qaic, qaicc : float or None
        Quasi-AIC ``2L/ĉ + 2K`` and its small-sample version (deviance scale;
        ``None`` without ``ĉ``).
    aic_edf, bic_edf : float
        ``2L + 2·edf`` and ``2L + edf·log n`` with the effective degrees of freedom
        ``edf = effective_dim = tr(H_λ⁻¹H)``: AIC and BIC of a penalised fit (equal
        to ``aic`` and ``bic`` without a penalty).  Along a penalty the nominal
        ``k`` always favours the weakest penalty; these do not.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = X @ [1.0, -2.0] + rng.normal(size=50)
    >>> crit = ts.criteria(ts.curvature(LinearRegression().fit(X, y), X, y))
    >>> crit.n_params                      # two slopes, the intercept and σ²
    4
    >>> bool(np.isclose(crit.aic, -2 * crit.loglik + 2 * crit.n_params))
    True
    >>> bool(np.isclose(crit.tic, -2 * crit.loglik + 2 * crit.tic_penalty))
    True
    """

    loglik: float
    n_params: int
    n_samples: float
    aic: float
    aicc: float
    bic: float
    tic: float
    tic_penalty: float
    soft_rank: float
    soft_rank_lambda: float
    effective_dim: float
    gap_estimate: float
    numerical_rank: int
    stationarity: float
    soft_rank_estimate: float
    soft_rank_lower: float
    soft_rank_upper: float
    hessian_rank: int
    fisher_soft_rank: float
    soft_rank_gap_estimate: float
    flags: tuple = ()
    penalty_ratio: float = float("nan")
    log_evidence: float = float("nan")
    null_loglik: float | None = None
    mcfadden_r2: float | None = None
    cox_snell_r2: float | None = None
    nagelkerke_r2: float | None = None
    c_hat: float | None = None
    qaic: float | None = None
    qaicc: float | None = None
    aic_edf: float = float("nan")
    bic_edf: float = float("nan")

    #: Fields of :meth:`summary`'s first screen (``full=True`` shows every field).
    SUMMARY_FIELDS = (
        "loglik", "n_params", "n_samples", "aic", "bic", "tic", "tic_penalty",
        "effective_dim", "aic_edf", "bic_edf", "gap_estimate", "penalty_ratio",
        "log_evidence", "stationarity", "flags",
    )  # fmt: skip

    def __post_init__(self):
        # plain Python numbers, so that the repr reads 1.5, not np.float64(1.5)
        for name, value in asdict(self).items():
            if isinstance(value, np.generic):
                object.__setattr__(self, name, value.item())

    @property
    def reliable(self):
        """Whether no reliability flag is raised (see :attr:`flags`)."""
        return not self.flags

    @property
    def effective_dim_gap_estimate(self):
        """``effective_dim / n``: the TIC gap estimate of a calibrated model (C = H).

        It equals ``soft_rank_gap_estimate`` only when every direction is penalised
        by ``λ``; with an unpenalised intercept docs/flatness.md recommends this one.
        """
        return self.effective_dim / self.n_samples

    def to_dict(self):
        """Return the criteria as a plain ``dict`` (Python scalars; ``flags`` a tuple).

        Returns
        -------
        dict
        """
        return {
            k: (v.item() if hasattr(v, "item") else v) for k, v in asdict(self).items()
        }

    def summary(self, full=False):
        """Return an aligned text table of the criteria.

        Parameters
        ----------
        full : bool, default=False
            Every field (the soft-rank variants, spectral ranks and bounds too);
            by default the criteria, the TIC penalty, the effective dimension, the
            gap estimate, ``penalty_ratio``, the log evidence, stationarity and the
            flags.

        Returns
        -------
        str
        """
        d = self.to_dict()
        keys = list(d) if full else list(self.SUMMARY_FIELDS)
        table = key_value_table([(k, d[k]) for k in keys], "criterion", _format_value)
        if full:
            return table
        return table + "\n(summary(full=True) adds the soft-rank and spectral measures)"

    def to_frame(self):
        """Return a one-row :class:`pandas.DataFrame` (requires pandas).

        Returns
        -------
        pandas.DataFrame
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - exercised without pandas
            raise ImportError(
                "to_frame needs pandas: pip install 'ticselect[pandas]'."
            ) from exc
        return pd.DataFrame([self.to_dict()])

    def __str__(self):
        return self.summary()

    def _repr_html_(self):
        cells = []
        d = self.to_dict()
        for k in self.SUMMARY_FIELDS:
            v = d[k]
            val = html.escape(_format_value(v))
            cells.append(f"<tr><td>{html.escape(k)}</td><td>{val}</td></tr>")
        return (
            "<table><thead><tr><th>criterion</th><th>value</th></tr></thead>"
            f"<tbody>{''.join(cells)}</tbody></table>"
        )


def _format_value(v):
    if v is None:
        return "-"
    if isinstance(v, tuple | list):
        return ", ".join(v) if v else "none"
    return f"{v:d}" if isinstance(v, int) else f"{v:.6g}"


def _default_lambda(curv):
    pen = curv.penalty[curv.penalty > 0]
    return float(np.mean(pen)) if pen.size else 0.0


def criteria(curv, *, soft_rank_lambda=None, rcond=DEFAULT_RCOND, c_hat=None):
    """Compute log-likelihood, AIC, AICc, BIC, TIC, QAIC, pseudo-R² and complexity.

    Parameters
    ----------
    curv : Curvature
        From :func:`ticselect.curvature`.
    soft_rank_lambda : float or None, default=None
        ``λ`` of the soft rank; ``None`` uses the fit's own L2 strength (the mean of the
        non-zero penalty entries, 0 when unpenalised).
    rcond : float, default=1e-10
        Relative eigenvalue cutoff when ``H_λ`` is singular (see
        :func:`ticselect.curvature._linalg.solve_trace`), and of the numerical ranks
        (``hessian_rank``; ``soft_rank`` and ``fisher_soft_rank`` at ``λ = 0``).
    c_hat : float or None, default=None
        Overdispersion factor ``ĉ`` of QAIC; ``None`` estimates it as Pearson's
        ``X²/(n − k)`` for binomial, Poisson and negative binomial GLMs (see the
        module conventions).

    Returns
    -------
    Criteria

    Raises
    ------
    ValueError
        For a ``c_hat`` that is not a positive finite number.

    Examples
    --------
    >>> import numpy as np, statsmodels.api as sm
    >>> import ticselect as ts
    >>> data = sm.datasets.scotland.load()
    >>> exog = sm.add_constant(data.exog)
    >>> gamma_log = sm.families.Gamma(sm.families.links.Log())
    >>> res = sm.GLM(data.endog, exog, family=gamma_log).fit()
    >>> crit = ts.criteria(ts.curvature(res, dispersion=res.scale))
    >>> bool(np.isclose(crit.loglik, res.llf)), bool(np.isclose(crit.aic, res.aic))
    (True, True)
    """
    if c_hat is not None:
        c_hat = float(c_hat)
        if not (np.isfinite(c_hat) and c_hat > 0):
            raise ValueError(f"c_hat must be a positive finite number, got {c_hat!r}.")
    rcond = check_rcond(rcond)
    return _criteria_and_spectrum(
        curv, soft_rank_lambda, rcond, full_spectrum=False, c_hat=c_hat
    )[0]


def _quasi_and_pseudo(curv, crit, c_hat):
    """QAIC, QAICc, ``ĉ`` and the pseudo-R² fields (see the module conventions)."""
    L, k, n = -crit.loglik, crit.n_params, crit.n_samples
    out = {}
    L0 = getattr(curv, "null_nll", None)
    if L0 is not None and np.isfinite(L0):
        cs = -np.expm1(2.0 * (L - L0) / n)
        discrete = curv.family in ("binomial", "multinomial", "poisson",
                                   "negative_binomial")  # fmt: skip
        out.update(
            null_loglik=-float(L0),
            mcfadden_r2=float(1.0 - L / L0) if L0 != 0 else None,
            cox_snell_r2=float(cs),
            # (L₀ = 0: one class or value only, Cox–Snell has no room to rescale)
            nagelkerke_r2=(
                float(cs / -np.expm1(-2.0 * L0 / n)) if discrete and L0 > 0 else None
            ),
        )
    K = k
    pearson = getattr(curv, "pearson_chi2", None)
    if c_hat is None and pearson is not None and n - k > 0:
        c_hat, K = pearson / (n - k), k + 1
    if c_hat is not None and np.isfinite(c_hat) and c_hat > 0:
        qaic = 2.0 * L / c_hat + 2.0 * K
        qaicc = qaic + 2.0 * K * (K + 1) / (n - K - 1) if n - K - 1 > 0 else np.inf
        out.update(c_hat=float(c_hat), qaic=float(qaic), qaicc=float(qaicc))
    return out


def _criteria_and_spectrum(
    curv, soft_rank_lambda, rcond, full_spectrum=True, c_hat=None
):
    """:func:`criteria` plus the (gauge-restricted) eigenvalues of ``H`` and ``C``.

    ``full_spectrum=False`` returns ``None`` for the eigenvalues of ``H`` on the
    subspace route, where the soft rank needs none, and the eigenvalues the soft rank
    used on the Cholesky route.
    """
    check_curvature(curv, "criteria()")
    sol = curv.penalized_solve(rcond)
    what = "penalised Hessian" + (f" of {curv.model_name}" if curv.model_name else "")
    sol.warn(what, stacklevel=4)  # once per call, to criteria()/flatness()'s caller
    gc = GaugeComplement(curv.gauge if curv.gauge.shape[1] else None, curv.n_params)
    lam = _default_lambda(curv) if soft_rank_lambda is None else float(soft_rank_lambda)
    if sol.subspace is None:
        ev = _eigvalsh(gc.restrict(curv.hessian))
        sr = soft_rank(ev, lam, rcond)
        pos = np.clip(ev, 0.0, None)
        top = pos.max() if pos.size else 0.0
        bounds = soft_rank_bounds(pos.sum(), top, pos.size, lam)
        h_rank = numerical_rank(ev, rcond)
    else:  # on the subspace S of the TIC penalty, where H_SS is positive definite
        sr = _subspace_soft_rank(curv, gc, sol, lam)
        bounds = soft_rank_bounds(sol.subspace_trace, sol.subspace_top, sol.rank, lam)
        h_rank = int(sol.rank)
        ev = _eigvalsh(gc.restrict(curv.hessian)) if full_spectrum else None
    gram = _gradient_gram(curv, gc.n_free) if lam > 0 else None
    if full_spectrum or gram is None:
        C = gc.restrict(curv.grad_cov)
        fisher_sr = _fisher_soft_rank(C, lam, rcond, gram)
    else:  # the Gram matrix suffices: C is not restricted (criteria() drops it)
        C = None
        fisher_sr = _fisher_soft_rank(None, lam, rcond, gram)

    ratio = sol.tic_penalty / sol.effective_dim if sol.effective_dim > 0 else np.nan
    if ratio < OVERCONFIDENCE_RATIO:
        curv.add_flag("overconfident")
        warnings.warn(
            f"{curv.model_name or 'the model'}: overconfident fit, TIC cannot be "
            f"trusted: tr(H_λ⁻¹C) = {sol.tic_penalty:.3g} is {ratio:.2g} times the "
            f"effective dimension {sol.effective_dim:.4g} (below "
            f"{OVERCONFIDENCE_RATIO:g}): the per-sample gradients are far smaller on "
            "the training rows than the curvature predicts (as near interpolation), "
            "so TIC's penalty underestimates the gap. Compare such models by "
            "cross-validation.",
            OverconfidenceWarning,
            stacklevel=3,
        )
    evid = evidence(curv, rcond=rcond)
    # the networks' evidence flag, in the same tables.  Not "indefinite": a tanh
    # network's H_λ is slightly indefinite along the flat directions of its dead or
    # saturated units at most penalised fits (eigenvalues down to -2e-6 of the
    # largest), which would flag nearly every row; the exact-Hessian evidence keeps
    # that flag, and the default (model Fisher) evidence needs no definite H.
    if curv.family == "mlp" and "negligible_gamma" in evid.flags:
        curv.add_flag("negligible_gamma")
    _glm_flags(curv, sol, ratio)
    # aliased columns of an unpenalised GLM are not counted (as R and statsmodels)
    L, k, n = curv.nll, curv.n_free_params - n_aliased(curv, rcond), curv.n_samples
    aic = 2.0 * L + 2.0 * k
    aicc = aic + 2.0 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else np.inf
    crit = Criteria(
        loglik=-L,
        n_params=int(k),
        n_samples=n,
        aic=aic,
        aicc=float(aicc),
        bic=2.0 * L + k * np.log(n),
        tic=2.0 * L + 2.0 * sol.tic_penalty,
        tic_penalty=sol.tic_penalty,
        soft_rank=sr,
        soft_rank_lambda=lam,
        effective_dim=sol.effective_dim,
        gap_estimate=sol.tic_penalty / n,
        numerical_rank=int(sol.rank),
        stationarity=curv.stationarity,
        soft_rank_estimate=bounds.estimate,
        soft_rank_lower=bounds.lower,
        soft_rank_upper=bounds.upper,
        hessian_rank=h_rank,
        fisher_soft_rank=fisher_sr,
        soft_rank_gap_estimate=sr / n,
        flags=tuple(curv.flags),
        penalty_ratio=float(ratio),
        log_evidence=evid.log_evidence,
        aic_edf=2.0 * L + 2.0 * sol.effective_dim,
        bic_edf=2.0 * L + np.log(n) * sol.effective_dim,
    )
    return replace(crit, **_quasi_and_pseudo(curv, crit, c_hat)), ev, C


def _glm_flags(curv, sol, ratio):
    """The ``"high_leverage"`` and ``"misspecified"`` flags of a GLM (not networks).

    ``high_leverage``: ``effective_dim / n > LEVERAGE_RATIO`` or a row of leverage
    above ``MAX_LEVERAGE`` (:func:`~ticselect.curvature._leverage.max_leverage`);
    ``misspecified``: ``penalty_ratio > MISSPECIFIED_RATIO``.
    """
    if curv.family == "mlp":  # networks: the network-selection rules decide
        return
    if sol.effective_dim / curv.n_samples > LEVERAGE_RATIO or (
        max_leverage(curv, MAX_LEVERAGE) > MAX_LEVERAGE
    ):
        curv.add_flag("high_leverage")
    if ratio > MISSPECIFIED_RATIO:
        curv.add_flag("misspecified")


def _subspace_soft_rank(curv, gc, sol, lam):
    """Soft rank ``tr(H_SS (H_SS + λI)⁻¹) = r - λ tr((H_SS + λI)⁻¹)`` on the subspace.

    ``H_SS`` is positive definite there (the pivots of the Cholesky factorisation
    that chose ``S``), so the identity is exact and no eigenvalue is needed: the
    trace comes from the factorisation of ``H_λ`` when the penalty is ``λ`` on every
    penalised coordinate (:attr:`PenalizedSolve.shifted_trace`), else from one
    Cholesky factor of ``H_SS + λI`` and its triangular inverse.  At ``λ = 0`` it
    is ``r``, the numerical rank of the pivoted factorisation.
    """
    r = int(sol.rank)
    if lam == 0 or r == 0:
        return float(r)
    if sol.shifted_trace is not None and abs(sol.shifted_lambda - lam) <= 1e-12 * lam:
        # the same λ up to the rounding of a mean (changes the result by < 1e-12)
        trace = sol.shifted_trace
    else:
        HS = gc.restrict(curv.hessian, subset=sol.subspace)
        trace = _shifted_inverse_trace(HS, lam)
        if trace is None:  # rounding on a nearly singular H_SS: use the spectrum
            return soft_rank(_eigvalsh(HS), lam)
    return float(min(max(r - lam * trace, 0.0), r))


def _shifted_inverse_trace(M, lam):
    """``tr((M + λI)⁻¹) = ‖L⁻¹‖_F²`` with ``M + λI = LLᵀ``, or None if not PD.

    ``M`` (symmetric; its lower triangle is read) is not modified.  One Cholesky
    factor and its triangular inverse: ``2m³/3`` flops, no eigenvalues.
    """
    A = np.array(M, dtype=float, order="F")
    A[np.diag_indices(A.shape[0])] += lam
    L, info = linalg.lapack.dpotrf(A, lower=1, clean=1, overwrite_a=1)
    if info != 0:
        return None
    # clean=1 zeroed the strict upper triangle, which dtrtri leaves alone
    Linv, info = linalg.lapack.dtrtri(L, lower=1, overwrite_c=1)
    return frobenius_dot(Linv, Linv) if info == 0 else None


def _eigvalsh(M):
    """Eigenvalues of a symmetric matrix (values only; ``M`` is not modified).

    LAPACK's drivers for values only (MRRR ``evr``, divide and conquer ``evd``,
    QR ``ev``) all reduce to the tridiagonal form and then run ``sterf``: they take
    the same time on network Hessians (0.66–0.69 s at d = 2410), so the default is
    kept.  Eigenvectors, which none of the criteria need, would cost 2.5× (``evd``,
    ``evr``) to 10× (``evx``) more.
    """
    if not M.size:
        return np.zeros(0)
    return linalg.eigvalsh(M, check_finite=False)


def _gradient_gram(curv, k):
    """The ``m × m`` Gram matrix whose non-zero eigenvalues are those of ``C``, or None.

    ``C = SᵀS`` with ``S = W^{1/2} G`` (the weighted per-sample gradients, ``m`` =
    rows) or, for a clustered curvature, ``S`` the group scores ``s_g = Σ_{i∈g}
    wᵢgᵢ`` (``m`` = groups; :mod:`ticselect.curvature._groups`).  When ``m < k``,
    ``C`` has the non-zero eigenvalues of ``S Sᵀ`` (lower triangle filled), which
    is cheaper to factorise; network curvatures carry their sample weights
    (``sample_weight``) and ``grad_gram_fn``, which forms ``W^{1/2} G Gᵀ W^{1/2}``
    from the layers' Gram matrices, for this.  ``None`` when ``m ≥ k`` (use ``C``).
    """
    w = getattr(curv, "sample_weight", None)
    if w is None:
        return None
    w = np.asarray(w, dtype=float)
    codes = getattr(curv, "groups", None)
    if codes is not None:
        if curv.n_groups >= k:
            return None
        S = group_scores(curv.per_sample_grads, w, codes, curv.n_groups)
    elif curv.n_rows >= k:
        return None
    elif getattr(curv, "grad_gram_fn", None) is not None:
        return curv.grad_gram_fn()
    else:
        G = curv.per_sample_grads
        S = G if np.all(w == 1.0) else np.sqrt(w)[:, None] * G
    # S Sᵀ for C-ordered S (m × k): Sᵀ is the Fortran-ordered array syrk needs
    return linalg.blas.dsyrk(1.0, np.ascontiguousarray(S).T, trans=1, lower=1)


def _fisher_soft_rank(C, lam, rcond, gram=None):
    """``tr(C (C + λI)⁻¹) = k - λ ‖L⁻¹‖_F²`` with ``C + λI = L Lᵀ`` (``λ > 0``).

    With ``gram`` (an ``m × m`` matrix ``S Sᵀ`` with ``C = SᵀS``, ``m < k``, from
    :func:`_gradient_gram`; lower triangle read), the same sum over its eigenvalues,
    the non-zero ones of ``C``: ``m - λ tr((K + λI)⁻¹)`` (``C`` is then not read
    and may be None).
    """
    if gram is not None and lam > 0:
        C = gram
    k = C.shape[0]
    if k == 0:
        return 0.0
    if lam > 0:
        trace = _shifted_inverse_trace(C, lam)
        if trace is not None:
            return float(max(k - lam * trace, 0.0))
    ev = linalg.eigvalsh(C, lower=True)
    return soft_rank(ev, lam) if lam > 0 else float(numerical_rank(ev, rcond))
