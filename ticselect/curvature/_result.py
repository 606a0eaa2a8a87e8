"""Layer 1 — the :class:`Curvature` value object, and the conventions of ticselect.

Conventions
-----------
These conventions hold everywhere in ticselect; other docstrings link here.

Loss
    ``L(θ) = Σᵢ wᵢ ℓᵢ(θ)``, the **summed** (not averaged) weighted negative
    log-likelihood, ``ℓᵢ = -log p(yᵢ | xᵢ, θ)`` **including all constants**, so that
    ``-L`` equals statsmodels' ``llf`` for the same model and dispersion.
Sample weights
    Frequency weights: an integer weight ``wᵢ = m`` is the same as repeating row ``i``
    ``m`` times.  The sample size used by BIC and AICc is ``n = Σᵢ wᵢ``.
Hessian ``H``
    ``∇²L(θ̂)`` of the data term only, the **observed** information (not the expected
    information; the two differ for non-canonical links), summed over samples.
Per-sample gradients ``G``
    Row ``i`` is ``gᵢ = ∇ℓᵢ(θ̂)``, *unweighted*, shape ``(n_samples, n_params)``.
Gradient covariance ``C``
    ``Σᵢ wᵢ gᵢ gᵢᵀ`` (uncentred), so integer weights equal row duplication.
Penalty
    An L2 penalty ``(1/2) θᵀ diag(penalty) θ`` converted to the units of ``L``:
    ``penalty[j] = λ Pⱼⱼ`` with ``Pⱼⱼ = 0`` on unpenalised entries (intercepts,
    dispersion).  ``LogisticRegression(C)`` gives ``λ = 1/C``;
    ``PoissonRegressor(alpha)`` gives ``λ = alpha · Σw``; families with a dispersion
    divide by it (``Ridge(alpha)``: ``λ = alpha / σ̂²``; ``GammaRegressor(alpha)``:
    ``λ = alpha · Σw / φ̂``), evaluated at the estimated dispersion.  The penalised
    Hessian is ``H_λ = H + diag(penalty)``.
Penalty as a prior (evidence)
    The penalty ``½ θᵀ diag(penalty) θ`` is the Gaussian prior ``N(0, Λ⁻¹)``,
    ``Λ = diag(penalty)``, on the penalised entries; unpenalised entries
    (intercepts, biases) get a flat prior and the dispersion is held at its value
    above.  :func:`ticselect.evidence` gives the Laplace log marginal likelihood
    ``-L(θ̂) - ½θ̂ᵀΛθ̂ + ½ log|Λ|₊ - ½ log|H_λ| + (m/2) log 2π`` in nats (greater is
    better; ``m`` unpenalised identified directions, REML-style), ``nan`` for an
    unpenalised fit; details in :mod:`ticselect._evidence`.
Parameters ``θ``
    For scikit-learn GLMs: the coefficients in ``coef_`` order, then the intercept
    (last, as in scikit-learn), then the dispersion ``φ`` for families that have one
    (Gaussian: the variance σ²; Gamma: 1/shape; inverse Gaussian: ``Var y / μ³``),
    estimated by maximum likelihood unless fixed with ``dispersion=``.  Multinomial
    models stack the classes: ``θ = [coef_[0], intercept_[0], coef_[1], ...]``.
    For statsmodels results: ``params`` in their order (the constant is an ordinary
    column), then ``φ``.
Gauge directions
    scikit-learn's multinomial softmax is over-parameterised: adding one vector to every
    class changes nothing, so ``H`` is singular along those directions, ``C`` vanishes
    on them and the penalty alone fixes them.  ``Curvature.gauge`` holds an
    orthonormal basis of the directions on which the likelihood is exactly flat;
    criteria work on the orthogonal complement (equivalent to the identified
    reference-class parameterisation) and count ``k = n_params - gauge.shape[1]``.
L1 and elastic net (active set)
    An L1 term ``Σⱼ l1ⱼ|βⱼ|`` is not differentiable where ``βⱼ = 0``, so an L1 or
    elastic-net fit is described on its **active set**: the parameters are the
    coefficients with ``|β̂ⱼ| · maxᵢ|xᵢⱼ| > 1e-10`` (their largest contribution to the
    linear predictor; solvers with exact zeros give exactly the non-zero ones, see
    :data:`ticselect.curvature._active.ACTIVE_TOL`), the intercept and the
    dispersion; inactive coefficients are fixed at 0, not parameters.  On the active
    set the L1 term is linear, ``l1ⱼ sign(β̂ⱼ) βⱼ``: it has no curvature, so ``H``,
    ``C`` and ``H_λ`` (with only the L2 part in ``penalty``) are those of the smooth
    model on the active set, and its gradient ``penalty_linear = l1 · sign(θ̂)`` is
    added to ``gradient``.  ``k`` counts the active set (plus intercept and
    dispersion), the lasso's degrees of freedom (Zou, Hastie & Tibshirani 2007, Ann.
    Statist. 35(5)), as scikit-learn's ``LassoLarsIC``.  L1 strengths are converted
    like the L2 ones: ``Lasso``/``ElasticNet(alpha, l1_ratio)`` give
    ``l1 = alpha·l1_ratio·Σw/σ̂²`` and ``λ = alpha·(1 − l1_ratio)·Σw/σ̂²``;
    ``LogisticRegression(C, l1_ratio)`` gives ``l1 = l1_ratio/C`` and
    ``λ = (1 − l1_ratio)/C`` (table in :mod:`ticselect.curvature.adapters.l1`).
    ``Curvature.active_set`` records the full coefficient list, which are active,
    and the **subgradient check** of the inactive ones: at a solution
    ``|∂L/∂βⱼ| ≤ l1ⱼ`` for every inactive ``j``; a larger gradient (a kink that is
    not a solution) is measured like the stationarity below and flags
    ``"not_stationary"``.
Stationarity
    ``gradient = Σᵢ wᵢ gᵢ + diag(penalty) θ̂ + penalty_linear``.  ``stationarity`` is
    the largest, over parameters, of ``|gradientⱼ| / (Σᵢ wᵢ |gᵢⱼ| + |penaltyⱼ θ̂ⱼ| +
    |penalty_linearⱼ|)``: 0 at an exact
    optimum, 1 when every term pushes the same way.  ``newton_decrement`` is
    ``gradientᵀ H_λ⁺ gradient / 2``, the decrease of the penalised loss (in NLL
    units) that a Newton step predicts: how far the reported NLL, and with it every
    criterion (×2), is from the stationary point.  A warning is given when both
    exceed their tolerances (the relative gradient alone is unreliable when every
    per-sample gradient is tiny, e.g. an interpolating fit).  The relative
    gradient is also near 1 for parameters that the data barely inform (a network
    weight on a pixel that is non-zero in one or two rows, or in none): only the
    penalty acts on them, and an L-BFGS fit leaves them near, not at, their optimum.
    A tanh network on digits fitted to ``tol=1e-9`` shows ``stationarity ≈ 1`` with
    ``newton_decrement ≈ 1e-5`` nats: the decrement is then the yardstick.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._html import key_value_table
from ._factor import penalized_solve
from ._linalg import DEFAULT_RCOND

__all__ = [
    "DECREMENT_TOL",
    "FIT_FLAGS",
    "MODEL_BASED_FLAGS",
    "RELIABILITY_FLAGS",
    "STATIONARITY_TOL",
    "TIC_FLAGS",
    "Curvature",
    "NotStationaryWarning",
]

#: Default threshold on :attr:`Curvature.stationarity` above which a warning is given.
STATIONARITY_TOL = 1e-2
#: Default threshold on :attr:`Curvature.newton_decrement` (NLL units).  Criteria are
#: compared by differences of order 1; 1e-3 keeps the error far below that.
DECREMENT_TOL = 1e-3
#: Reasons a criterion may not be trusted, shown per row by tables and the CLI:
#: ``"not_stationary"`` (the fit stopped away from its optimum), ``"overconfident"``
#: (per-sample gradients vanish on the training rows while the curvature does not, so
#: ``tr(H_λ⁻¹C)`` predicts no gap), ``"high_leverage"`` (rows of high leverage: TIC's
#: first-order penalty understates the gap, see :mod:`ticselect.criteria`),
#: ``"separation"`` (an unpenalised fit whose MLE does not exist: coefficients
#: diverge), ``"rank_deficient"`` (aliased parameters) and ``"misspecified"``
#: (``tr(H_λ⁻¹C)`` well above the effective dimension: the model-based quantities,
#: AIC/BIC's ``k``, likelihood-ratio tests and non-robust standard errors, are off;
#: TIC and robust errors are the ones that hold).  :data:`TIC_FLAGS`,
#: :data:`FIT_FLAGS` and :data:`MODEL_BASED_FLAGS` say what each one concerns.
RELIABILITY_FLAGS = {
    "not_stationary": "the fit is not at a stationary point of its penalised loss",
    "overconfident": "per-sample gradients nearly vanish (near interpolation): TIC "
    "underestimates the gap",
    "high_leverage": "rows of high leverage: TIC's first-order penalty understates "
    "the gap (ALO, which keeps the leverage terms, holds)",
    "separation": "the classes are (quasi-)separated and the fit is unpenalised: the "
    "MLE is infinite",
    "rank_deficient": "some parameters are aliased (numerically rank-deficient "
    "Hessian)",
    "misspecified": "tr(H⁻¹C) is well above the effective dimension: AIC/BIC's k, "
    "likelihood-ratio tests and model-based standard errors are off; TIC and robust "
    "errors hold",
}
#: Flags under which TIC (and its gap estimate) is not to be trusted: TIC's pick is
#: then not recommended (:mod:`ticselect.selection._recommend`).
TIC_FLAGS = ("overconfident", "high_leverage", "separation", "not_stationary")
#: Flags under which no criterion of the fit holds, leave-one-out included (the fit
#: is not the optimum the criteria assume, or that optimum does not exist).
FIT_FLAGS = ("not_stationary", "separation")
#: Flags that concern the model-based quantities only (AIC, BIC, likelihood-ratio
#: tests, model-based standard errors), not TIC, ALO or robust errors.
MODEL_BASED_FLAGS = ("misspecified",)


class NotStationaryWarning(UserWarning):
    """The fitted parameters are not a stationary point of the penalised loss.

    Examples
    --------
    >>> import warnings, numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = 30 * rng.normal(size=(200, 3))
    >>> y = (X[:, 0] + 30 * rng.normal(size=200) > 0).astype(int)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning
    ...     model = LogisticRegression(max_iter=1).fit(X, y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     curv = ts.curvature(model, X, y)
    >>> any(issubclass(w.category, ts.NotStationaryWarning) for w in caught)
    True
    """


class Curvature:
    """Exact curvature of a fitted model's loss at its fitted parameters.

    Build it with :func:`ticselect.curvature`; all quantities follow the
    conventions in :mod:`ticselect.curvature._result` (summed NLL, observed information,
    uncentred gradient covariance, penalty in loss units).

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        Fitted parameters ``θ̂``.
    param_names : list of str
        One name per parameter.
    hessian : ndarray of shape (n_params, n_params)
        ``H``, Hessian of the summed data NLL (no penalty).
    grad_cov : ndarray of shape (n_params, n_params)
        ``C = Σᵢ wᵢ gᵢ gᵢᵀ``; with ``groups=`` the clustered ``C = Σ_g s_g s_gᵀ``
        over the groups' summed scores ``s_g = Σ_{i∈g} wᵢ gᵢ``.
    penalty : ndarray of shape (n_params,)
        Diagonal ``λP`` of the L2 penalty in loss units (zeros when unpenalised).
    nll : float
        Summed weighted negative log-likelihood ``L(θ̂)`` (penalty excluded).
    n_samples : float
        ``Σᵢ wᵢ`` (equals the number of rows without weights).
    n_rows : int
        Number of rows of ``X``.
    gradient : ndarray of shape (n_params,)
        Gradient of the penalised loss at ``θ̂`` (zero at an exact optimum).
    stationarity : float
        Relative size of ``gradient`` (see the conventions).
    abs_grad_sum : ndarray of shape (n_params,)
        ``Σᵢ wᵢ |gᵢ|``, the scale of the data gradient used by :attr:`stationarity`.
    newton_decrement : float
        Loss decrease a Newton step predicts (see the conventions).
    gauge : ndarray of shape (n_params, r)
        Orthonormal directions along which the likelihood is exactly flat (``r = 0``
        for identified models).
    dispersion : float or None
        Dispersion ``φ`` used (``None`` for families without one).
    dispersion_is_param : bool
        Whether ``φ`` is one of the parameters (estimated) or was fixed.
    family, link : str
        Names of the exponential family and link (``"mlp"`` for networks).
    model_name : str
        Short description of the fitted model.
    loss_fn : callable or None
        ``loss_fn(theta) -> float``: the summed data NLL ``L(θ)`` at any parameter
        vector in this layout (``inf`` outside the family's mean space), for
        measures that perturb ``θ``.  ``None`` after unpickling.
    hessian_fn : callable or None
        ``hessian_fn(theta) -> ndarray of shape (n_params, n_params)``: ``H(θ)``.
        ``None`` after unpickling.
    output_jacobians_fn : callable or None
        ``output_jacobians_fn() ->``
        :class:`~ticselect.curvature._output.OutputJacobians`: the per-sample output
        Jacobians and output Fisher behind the model Fisher (Gauss–Newton matrix)
        of :func:`ticselect.flatness.model_fisher`; set by the GLM and network
        builders (``None`` otherwise).  It holds the training data.
    flags : list of str
        Reasons the criteria of this fit may not be trusted, found while building it
        (see :data:`RELIABILITY_FLAGS`; e.g. ``"not_stationary"`` once
        :meth:`check_stationarity` has warned).  Empty for a trustworthy fit.
    sample_weight : ndarray of shape (n_rows,)
        The frequency weights ``wᵢ`` (ones without weights).
    groups : ndarray of shape (n_rows,) or None
        Integer group code of each row (``0 .. n_groups - 1``) when built with
        ``groups=``, else ``None``; ``n_groups`` is then the number of groups.
    penalty_linear : ndarray of shape (n_params,)
        Gradient ``l1 · sign(θ̂)`` of an L1 term on the active set, in loss units
        (zeros without one; see the conventions).
    active_set : ActiveSet or None
        For L1 and elastic-net fits: all coefficients, which are active, and the
        subgradient check of the inactive ones
        (:class:`ticselect.curvature._active.ActiveSet`); ``None`` otherwise.
    null_nll : float or None
        Summed NLL of the intercept-only (null) model with the same family, link,
        offset, weights and dispersion treatment (:mod:`ticselect.curvature._null`),
        for the pseudo-R² of :func:`ticselect.criteria`; ``None`` when unknown
        (networks, likelihoods without a null model).
    pearson_chi2 : float or None
        Pearson's ``X² = Σᵢ wᵢ(yᵢ − μ̂ᵢ)²/V(μ̂ᵢ)`` of binomial, Poisson and negative
        binomial GLMs (for the overdispersion ``ĉ`` of QAIC); ``None`` otherwise.
    rows : object or None
        Per-row model used by :func:`ticselect.approximate_loo`: each row's loss as a
        function of its local parameters ``uᵢ = Jᵢθ`` (linear predictors, plus the
        dispersion when estimated), with ``Jᵢ``, ``∂ℓᵢ/∂uᵢ``, ``∂²ℓᵢ/∂uᵢ²`` and an
        evaluator of ``ℓᵢ(u)`` (see :mod:`ticselect.curvature._rows`).  Set by
        :func:`ticselect.curvature` for GLMs, statsmodels results and networks;
        ``None`` for curvatures built from dask arrays or by
        :func:`ticselect.curvature_from_loss` (``rows_unavailable`` says why).
    rows_unavailable : str or None
        Why ``rows`` is ``None``, when known.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = rng.poisson(np.exp(0.5 * X[:, 0]))
    >>> curv = ts.curvature(PoissonRegressor(alpha=0, tol=1e-12).fit(X, y), X, y)
    >>> curv.param_names
    ['x0', 'x1', 'intercept']
    >>> G = curv.per_sample_grads                  # (n_rows, n_params), unweighted
    >>> bool(np.allclose(G.T @ G, curv.grad_cov))  # C = Σ gᵢ gᵢᵀ
    True
    >>> bool(np.allclose(curv.loss_fn(curv.params), curv.nll))
    True
    """

    #: Set by the GLM and network builders (see the class docstring).
    output_jacobians_fn = None
    #: Why :attr:`rows` is ``None``, when a builder knows (said by
    #: :func:`ticselect.approximate_loo`).
    rows_unavailable = None

    def __init__(
        self,
        *,
        params,
        param_names,
        hessian,
        grad_cov,
        penalty,
        nll,
        n_samples,
        n_rows,
        gradient,
        abs_grad_sum,
        per_sample_grads,
        gauge=None,
        dispersion=None,
        dispersion_is_param=False,
        family="",
        link="",
        model_name="",
        loss_fn=None,
        hessian_fn=None,
        per_sample_nll=None,
        sample_weight=None,
        per_sample_hessian_diag=None,
        penalty_linear=None,
    ):
        self.params = np.asarray(params, dtype=float)
        self.param_names = list(param_names)
        self.hessian = hessian
        self.grad_cov = grad_cov
        self.penalty = np.asarray(penalty, dtype=float)
        self.nll = float(nll)
        self.n_samples = float(n_samples)
        self.n_rows = int(n_rows)
        self.gradient = np.asarray(gradient, dtype=float)
        d = self.params.shape[0]
        self.gauge = np.zeros((d, 0)) if gauge is None else np.asarray(gauge)
        self.dispersion = dispersion
        self.dispersion_is_param = bool(dispersion_is_param)
        self.family = family
        self.link = link
        self.model_name = model_name
        self.penalty_linear = (
            np.zeros(d)
            if penalty_linear is None
            else np.asarray(penalty_linear, dtype=float)
        )
        scale = (
            np.asarray(abs_grad_sum, dtype=float)
            + np.abs(self.penalty * self.params)
            + np.abs(self.penalty_linear)
        )
        ratio = np.divide(
            np.abs(self.gradient),
            scale,
            out=np.zeros_like(scale),
            where=scale > 0,
        )
        self.stationarity = float(ratio.max()) if d else 0.0
        self.abs_grad_sum = np.asarray(abs_grad_sum, dtype=float)
        self._per_sample_grads = per_sample_grads
        self.loss_fn = loss_fn
        self.hessian_fn = hessian_fn
        self.flags = []
        self._per_sample_nll = per_sample_nll
        self._per_sample_hessian_diag = per_sample_hessian_diag
        self.sample_weight = (
            np.ones(self.n_rows)
            if sample_weight is None
            else np.asarray(sample_weight, dtype=float)
        )
        self.groups = None
        self.n_groups = None
        self.rows = None
        self.active_set = None
        self.null_nll = None
        self.pearson_chi2 = None

    # ------------------------------------------------------------------ derived
    @property
    def n_params(self):
        """Number of entries of ``θ`` (``d``), gauge directions included."""
        return self.params.shape[0]

    @property
    def n_free_params(self):
        """Number of free parameters ``k = n_params - n_gauge`` used by AIC and BIC."""
        return self.n_params - self.gauge.shape[1]

    @property
    def newton_decrement(self):
        """``gradientᵀ H_λ⁻¹ gradient / 2`` in NLL units (0 at an exact optimum).

        Computed on first access on the complement of the gauge directions, from
        the one factorisation of :meth:`penalized_solve` (on its well-determined
        subspace when ``H_λ`` is not positive definite).
        """
        return self.penalized_solve().newton_decrement

    def penalized_solve(self, rcond=DEFAULT_RCOND):
        """The one factorisation of the gauge-restricted ``H_λ``, cached per ``rcond``.

        Parameters
        ----------
        rcond : float, default=1e-10
            Relative cutoff (see :mod:`ticselect.curvature._factor`).

        Returns
        -------
        PenalizedSolve
            TIC penalty, effective dimension and Newton decrement, with the route
            and subspace used.
        """
        cache = self.__dict__.setdefault("_solves", {})
        key = float(rcond)
        if key not in cache:
            cross = self._dispersion_cross()
            cache[key] = penalized_solve(
                self.hessian if cross is None else self.hessian + cross,
                self.grad_cov,
                self.penalty,
                self.gradient,
                self.gauge if self.gauge.shape[1] else None,
                rcond=key,
            )
        return cache[key]

    @property
    def penalized_hessian(self):
        """``H_λ``, the Hessian of the penalised loss, shape (n_params, n_params).

        ``H + diag(penalty)``; for a penalised GLM whose penalty is in deviance units
        (``λ = c/φ``: ``Ridge``, ``GammaRegressor``, ``TweedieRegressor``) and whose
        dispersion ``φ`` is estimated, the coefficient–dispersion block also holds the
        penalty's own cross-derivative ``-λβ/φ`` (see
        :mod:`ticselect.curvature._identify`), so that ``H_λ`` of a convex ridge fit is
        positive definite.
        """
        H = self.hessian + np.diag(self.penalty)
        cross = self._dispersion_cross()
        return H if cross is None else H + cross

    def _dispersion_cross(self):
        """``∂²/∂β∂φ`` of a penalty ``λ(φ) = c/φ`` (``None`` when there is none).

        An L1 term ``l1(φ)|β| = c₁|β|/φ`` adds ``-penalty_linear/φ``.
        """
        if self.family == "mlp" or not self.dispersion_is_param:
            return None
        idx = np.arange(self.n_params - 1)
        pen = self.penalty[idx]
        lin = self.penalty_linear[idx]
        if not (np.any(pen > 0) or np.any(lin != 0)):
            return None
        cross = np.zeros((self.n_params, self.n_params))
        cross[idx, -1] = cross[-1, idx] = (
            -(pen * self.params[idx] + lin) / self.dispersion
        )
        return cross

    @property
    def per_sample_grads(self):
        """Per-sample gradients ``G``, ndarray of shape (n_rows, n_params).

        Row ``i`` is ``∇ℓᵢ(θ̂)`` (unweighted).  Computed on first access (``n_rows ×
        n_params`` floats), not when the curvature is built.  A lazy dask array
        (chunked like the rows of ``X``) when ``X`` was a dask array: call
        ``.compute()`` to materialise it.
        """
        if callable(self._per_sample_grads):
            self._per_sample_grads = self._per_sample_grads()
        return self._per_sample_grads

    @property
    def per_sample_nll(self):
        """Per-row NLL ``ℓᵢ(θ̂)`` (unweighted), ndarray of shape (n_rows,).

        ``Σᵢ wᵢ ℓᵢ`` equals :attr:`nll`.  Raises ``ValueError`` when the adapter that
        built this curvature did not record it.
        """
        if self._per_sample_nll is None:
            raise ValueError(
                f"{self.model_name}: this Curvature holds no per-row NLL; rebuild it "
                "with ticselect.curvature(model, X, y)."
            )
        return np.asarray(self._per_sample_nll, dtype=float)

    @property
    def per_sample_hessian_diag(self):
        """Diagonal of each row's Hessian ``∇²ℓᵢ(θ̂)``, ndarray of shape (n_rows, d).

        Unweighted, so ``Σᵢ wᵢ`` of a column is the diagonal of :attr:`hessian`.
        Recorded for GLMs with one linear predictor (used by the information-matrix
        test); computed on first access.  Raises ``ValueError`` otherwise.
        """
        if self._per_sample_hessian_diag is None:
            raise ValueError(
                f"{self.model_name}: per-row Hessians are recorded for GLMs with one "
                "linear predictor only (not for multinomial models or networks)."
            )
        if callable(self._per_sample_hessian_diag):
            self._per_sample_hessian_diag = self._per_sample_hessian_diag()
        return self._per_sample_hessian_diag

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_per_sample_grads"] = self.per_sample_grads  # closures do not pickle
        state["loss_fn"] = state["hessian_fn"] = None
        if callable(state.get("_per_sample_hessian_diag")):
            state["_per_sample_hessian_diag"] = None  # closures do not pickle
        return state

    def __repr__(self):
        return (
            f"Curvature(model={self.model_name!r}, family={self.family!r}, "
            f"link={self.link!r}, n_samples={self.n_samples:g}, "
            f"n_params={self.n_params}, nll={self.nll:.6g}, "
            f"stationarity={self.stationarity:.2g})"
        )

    def _repr_html_(self):
        mapping = {
            "family": self.family,
            "link": self.link or "-",
            "n_samples": self.n_samples,
            "n_rows": self.n_rows,
            "n_params": self.n_params,
            "n_free_params": self.n_free_params,
            "nll": self.nll,
            "dispersion": self.dispersion,
            "dispersion_is_param": self.dispersion_is_param,
            "max penalty": float(self.penalty.max()) if self.penalty.size else 0.0,
            "stationarity": self.stationarity,
            "flags": tuple(self.flags),
        }
        return key_value_table(f"Curvature of {self.model_name}", mapping)

    def add_flag(self, flag):
        """Record a reason the criteria of this fit may not be trusted.

        Parameters
        ----------
        flag : str
            One of :data:`RELIABILITY_FLAGS`.

        Returns
        -------
        self : Curvature
        """
        if flag not in RELIABILITY_FLAGS:
            raise ValueError(
                f"unknown reliability flag {flag!r}; known: "
                f"{sorted(RELIABILITY_FLAGS)}."
            )
        if flag not in self.flags:
            self.flags.append(flag)
        return self

    def check_stationarity(self, tol=STATIONARITY_TOL, decrement_tol=DECREMENT_TOL):
        """Warn when the fit is measurably away from a stationary point.

        Parameters
        ----------
        tol : float, default=1e-2
            Threshold on :attr:`stationarity` (relative gradient), and on the
            relative subgradient violation of an L1 fit's inactive coefficients
            (:class:`~ticselect.curvature._active.ActiveSet`).
        decrement_tol : float, default=1e-3
            Threshold on :attr:`newton_decrement` (NLL units), and on the loss
            decrease that moving the worst inactive coefficient off 0 predicts.  Both
            thresholds must be exceeded.

        Returns
        -------
        self : Curvature
        """
        active = self.active_set
        if (
            active is not None
            and active.violation > tol
            and active.decrement > decrement_tol
        ):
            self.add_flag("not_stationary")
            warnings.warn(active.kink_message(self.model_name), NotStationaryWarning,
                          stacklevel=3)  # fmt: skip
        if self.stationarity > tol and self.newton_decrement > decrement_tol:
            self.add_flag("not_stationary")
            warnings.warn(
                f"{self.model_name}: the fitted parameters are not a stationary point "
                f"of the penalised loss: relative gradient {self.stationarity:.3g} > "
                f"{tol:g}, and a Newton step would lower the loss by "
                f"{self.newton_decrement:.3g} (largest |gradient| "
                f"{np.max(np.abs(self.gradient)):.3g}). The fit probably stopped "
                "early; refit with a smaller tol or a larger max_iter. TIC assumes a "
                "stationary point.",
                NotStationaryWarning,
                stacklevel=3,
            )
        return self
