"""PAC-Bayes flatness measures: PACGen, expected sharpness, Fisher–Rao norm.

Conventions
-----------
These measures are defined on the **empirical risk** ``L̂(θ) = L(θ)/n``, the mean NLL
per sample (``L`` the summed NLL of :mod:`ticselect.curvature._result`,
``n = Σ wᵢ``), so
their values do not grow with the sample size; ``∇²L̂ = H/n``.  The penalty is not
part of ``L̂``.  Perturbations act on the model parameters only: a dispersion that is
a parameter (last entry of ``θ`` for Gaussian, Gamma and inverse Gaussian families
and the ``MLPRegressor``) is a nuisance held at its estimate (the "perturbable"
parameters, ``m`` of them).  The loss is evaluated with :attr:`Curvature.loss_fn` and
the Hessian with :attr:`Curvature.hessian_fn`; every random routine takes a
``random_state`` (:func:`sklearn.utils.check_random_state`) and returns an
:class:`~ticselect.Estimate` with its standard error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state

from ..curvature._matrix_free import Estimate
from ..curvature._spectral import check_curvature

#: Default PACGen neighbourhood ``Nᵢ = γ|θᵢ| + ε``.  Wang et al. leave ``γ`` and
#: ``ε`` free; on the mean loss the curvature branch of the max is active only where
#: ``Nᵢ²(∇²ᵢᵢL̂ + ρ√m Nᵢ) > 1``.  With ``γ = 0.1, ε = 1e-3`` it was active on no
#: coordinate of the benchmark's GLMs, so ``Ψ`` ignored ``ρ`` and the Hessian; with
#: ``γ = ε = 1`` it is active on 29 % of the coordinates of the benchmark's logistic
#: regressions and on all coordinates of its Poisson GLMs and digits MLPs (measured
#: with ``pacgen_terms(...).curvature_share``; benchmarks/gap_prediction.py).
PACGEN_GAMMA = 1.0
PACGEN_EPS = 1.0

__all__ = [
    "expected_sharpness",
    "fisher_rao_norm",
    "hessian_lipschitz",
    "pacbayes_bound",
    "pacgen",
    "pacgen_terms",
    "perturbable",
    "sharpness_sigma",
]


def perturbable(curv):
    """Boolean mask of the parameters that PAC-Bayes measures perturb.

    Parameters
    ----------
    curv : Curvature
        Any curvature.

    Returns
    -------
    ndarray of shape (n_params,) of bool
        ``False`` only on the dispersion when it is a parameter.
    """
    mask = np.ones(curv.n_params, dtype=bool)
    if curv.dispersion_is_param:
        mask[-1] = False
    return mask


def _require(curv, attr, what):
    if getattr(curv, attr, None) is None:
        raise ValueError(
            f"{what} evaluates the loss away from the fitted parameters, but this "
            f"Curvature has no {attr} (curvatures lose their closures when pickled). "
            "Recompute it with ticselect.curvature(model, X, y)."
        )
    return getattr(curv, attr)


def _noise_scale(curv, gamma, eps):
    """``N_{γ,ε}(θᵢ) = γ|θᵢ| + ε`` on the perturbable parameters (0 elsewhere)."""
    if not (np.isfinite(gamma) and gamma >= 0 and np.isfinite(eps) and eps > 0):
        raise ValueError(f"Need gamma >= 0 and eps > 0, got gamma={gamma}, eps={eps}.")
    return np.where(perturbable(curv), gamma * np.abs(curv.params) + eps, 0.0)


def hessian_lipschitz(
    curv, *, gamma=PACGEN_GAMMA, eps=PACGEN_EPS, n_samples=5, random_state=None
):
    """Local Lipschitz constant ``ρ`` of the Hessian of ``L̂`` (for PACGen).

    ``ρ`` is estimated as the largest ratio ``‖∇²L̂(θ̂+u) - ∇²L̂(θ̂)‖₂ / ‖u‖₂`` over
    ``n_samples`` seeded perturbations drawn uniformly in the PACGen neighbourhood
    ``|uᵢ| ≤ N_{γ,ε}(θ̂ᵢ) = γ|θ̂ᵢ| + ε`` (Wang, Keskar, Xiong & Socher 2018,
    "Identifying Generalization Properties in Neural Networks", arXiv 1809.07402,
    define ``ρ`` as the Lipschitz constant of the Hessian on that neighbourhood;
    the finite-difference estimator is this library's choice).  Being a maximum
    over random points it is a lower estimate of the supremum that increases to
    it as ``n_samples`` grows; it is exactly 0 where the Hessian is constant
    (Gaussian linear models with fixed dispersion).

    Parameters
    ----------
    curv : Curvature
        With ``hessian_fn`` (every adapter provides it).
    gamma : float, default=1.0
        Relative size ``γ`` of the neighbourhood.
    eps : float, default=1.0
        Absolute size ``ε`` of the neighbourhood (> 0).
    n_samples : int, default=5
        Number of perturbations (each costs one exact Hessian and one ``d × d``
        eigenvalue computation).
    random_state : int, RandomState or None, default=None
        Seed.

    Returns
    -------
    Estimate
        ``value`` the maximum ratio, ``error`` the standard deviation of the ratios
        (their spread: how far a single draw may be from the maximum).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> import ticselect as ts
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X[:, 0] + rng.normal(size=200)) > 0
    >>> curv = ts.curvature(LogisticRegression(tol=1e-10).fit(X, y), X, y)
    >>> rho = hessian_lipschitz(curv, random_state=0)
    >>> bool(rho.value > 0)
    True
    """
    check_curvature(curv, "hessian_lipschitz()")
    hess = _require(curv, "hessian_fn", "hessian_lipschitz")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}.")
    rng = check_random_state(random_state)
    N = _noise_scale(curv, gamma, eps)
    H0 = curv.hessian / curv.n_samples
    ratios = []
    for _ in range(int(n_samples)):
        u = N * rng.uniform(-1.0, 1.0, size=N.shape)
        Hu = np.asarray(hess(curv.params + u)) / curv.n_samples
        if not np.all(np.isfinite(Hu)):
            raise ValueError(
                "The Hessian is not finite at a perturbed point of the PACGen "
                "neighbourhood; use smaller gamma/eps."
            )
        D = Hu - H0
        norm = float(np.max(np.abs(linalg.eigvalsh(0.5 * (D + D.T))))) if D.size else 0
        ratios.append(norm / float(np.linalg.norm(u)))
    ratios = np.asarray(ratios)
    err = float(ratios.std(ddof=1)) if ratios.size > 1 else 0.0
    return Estimate(float(ratios.max()), err, int(n_samples))


def pacgen(
    curv,
    *,
    gamma=PACGEN_GAMMA,
    eps=PACGEN_EPS,
    rho=None,
    n_samples=5,
    random_state=None,
):
    """PACGen metric ``Ψ_{γ,ε}`` of Wang, Keskar, Xiong & Socher (arXiv 1809.07402).

    ``Ψ = Σᵢ log((|θᵢ| + Nᵢ) · max(√(∇²ᵢᵢL̂ + ρ√m Nᵢ), 1/Nᵢ))`` with
    ``Nᵢ = γ|θᵢ| + ε``, ``m`` the number of perturbed parameters and ``ρ`` the local
    Lipschitz constant of the Hessian (:func:`hessian_lipschitz` unless given); a
    negative term under the root counts as 0.  Larger is sharper.

    Parameters
    ----------
    curv : Curvature
        Any curvature.
    gamma, eps : float, default=1.0, 1.0
        ``γ`` and ``ε`` of the neighbourhood (see :data:`PACGEN_GAMMA`).
    rho : float or None, default=None
        Hessian Lipschitz constant in units of ``L̂``; ``None`` estimates it.
    n_samples : int, default=5
        Perturbations for the ``ρ`` estimate.
    random_state : int, RandomState or None, default=None
        Seed of the ``ρ`` estimate.

    Returns
    -------
    psi : float
    rho : Estimate
        The ``ρ`` used (``error`` 0 when given).
    """
    check_curvature(curv, "pacgen()")
    _noise_scale(curv, gamma, eps)  # validates gamma and eps
    if rho is None:
        rho_est = hessian_lipschitz(
            curv, gamma=gamma, eps=eps, n_samples=n_samples, random_state=random_state
        )
    else:
        if not (np.isfinite(rho) and rho >= 0):
            raise ValueError(f"rho must be a finite number >= 0, got {rho}.")
        rho_est = Estimate(float(rho), 0.0, 0)
    terms = pacgen_terms(curv, gamma=gamma, eps=eps, rho=rho_est.value)
    return float(np.sum(terms.log_terms)), rho_est


@dataclass(frozen=True)
class PACGenTerms:
    """Per-coordinate pieces of PACGen, on the perturbable parameters.

    Attributes
    ----------
    log_terms : ndarray of shape (m,)
        ``log((|θᵢ| + Nᵢ) · max(√(∇²ᵢᵢL̂ + ρ√m Nᵢ), 1/Nᵢ))``; ``Ψ`` is their sum.
    curvature : ndarray of shape (m,) of bool
        Whether the curvature branch ``√(∇²ᵢᵢL̂ + ρ√m Nᵢ)`` is the larger one.
    posterior_std : ndarray of shape (m,)
        ``σᵢ = 1/max(√(∇²ᵢᵢL̂ + ρ√m Nᵢ), 1/Nᵢ) = min(1/√(·), Nᵢ)``.
    prior_std : ndarray of shape (m,)
        ``sᵢ = |θᵢ| + Nᵢ``, so that ``log_terms = log(sᵢ/σᵢ)``.
    params : ndarray of shape (m,)
        ``θ̂ᵢ``.
    """

    log_terms: np.ndarray
    curvature: np.ndarray
    posterior_std: np.ndarray
    prior_std: np.ndarray
    params: np.ndarray

    @property
    def curvature_share(self):
        """Share of coordinates on the curvature branch, float in [0, 1]."""
        return float(np.mean(self.curvature)) if self.curvature.size else 0.0

    def kl(self):
        """``KL(N(θ̂, diag σ²) ‖ N(0, diag s²))``, float (nats).

        ``Σᵢ [log(sᵢ/σᵢ) + (σᵢ² + θ̂ᵢ²)/(2sᵢ²) − 1/2]``, i.e. ``Ψ`` plus
        ``Σᵢ [(σᵢ² + θ̂ᵢ²)/(2sᵢ²) − 1/2]``.
        """
        s2 = self.prior_std**2
        quad = (self.posterior_std**2 + self.params**2) / (2.0 * s2) - 0.5
        return float(np.sum(self.log_terms) + np.sum(quad))


def pacgen_terms(curv, *, gamma=PACGEN_GAMMA, eps=PACGEN_EPS, rho=0.0):
    """The per-coordinate terms of PACGen at a given ``ρ`` (see :func:`pacgen`).

    Parameters
    ----------
    curv : Curvature
        Any curvature.
    gamma, eps : float, default=1.0, 1.0
        ``γ`` and ``ε`` of the neighbourhood (see :data:`PACGEN_GAMMA`).
    rho : float, default=0.0
        Hessian Lipschitz constant in units of ``L̂``.

    Returns
    -------
    PACGenTerms
    """
    check_curvature(curv, "pacgen_terms()")
    N = _noise_scale(curv, gamma, eps)
    if not (np.isfinite(rho) and rho >= 0):
        raise ValueError(f"rho must be a finite number >= 0, got {rho}.")
    mask = perturbable(curv)
    m = int(mask.sum())
    diag = np.diag(curv.hessian)[mask] / curv.n_samples
    Nm = N[mask]
    root = np.sqrt(np.clip(diag + rho * np.sqrt(m) * Nm, 0.0, None))
    branch = root > 1.0 / Nm
    big = np.maximum(root, 1.0 / Nm)
    theta = curv.params[mask]
    return PACGenTerms(
        log_terms=np.log((np.abs(theta) + Nm) * big),
        curvature=branch,
        posterior_std=1.0 / big,
        prior_std=np.abs(theta) + Nm,
        params=theta,
    )


def pacbayes_bound(kl, n, *, delta=0.05, eta=1.0, loss_range=1.0):
    """Catoni's linear PAC-Bayes bound on the gap of a bounded loss.

    For a loss with values in ``[0, C]``, a prior ``P`` fixed before seeing the
    data and a fixed ``η > 0``, with probability at least ``1 − δ`` every posterior
    ``Q`` satisfies ``E_Q[R] − E_Q[r̂] ≤ η C²/8 + (KL(Q‖P) + log(1/δ))/(η n)`` (Catoni
    2007; stated with ``λ = ηn`` in Alquier, "User-friendly introduction to
    PAC-Bayes bounds", arXiv 2110.11216, Sec. 2).  This returns the right-hand side.

    Parameters
    ----------
    kl : float
        ``KL(Q‖P)`` in nats.
    n : float
        Sample size.
    delta : float, default=0.05
        Confidence ``δ`` in (0, 1).
    eta : float, default=1.0
        Inverse temperature ``η > 0`` (fixed in advance: choosing it from the data
        voids the guarantee without a union bound over a grid).
    loss_range : float, default=1.0
        ``C`` (1 for the 0–1 loss).  The NLL is unbounded: the value bounds the gap
        of a loss clipped to ``[0, C]``, not the NLL's.

    Returns
    -------
    float

    Examples
    --------
    >>> round(pacbayes_bound(10.0, 1000, delta=0.05, eta=1.0), 4)
    0.1380
    """
    if not (0 < delta < 1):
        raise ValueError(f"delta must be in (0, 1), got {delta}.")
    if not (np.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a finite number > 0, got {eta}.")
    if not (np.isfinite(kl) and kl >= 0 and n > 0):
        raise ValueError(f"Need kl >= 0 and n > 0, got kl={kl}, n={n}.")
    return float(eta * loss_range**2 / 8.0 + (kl + np.log(1.0 / delta)) / (eta * n))


def _draws(curv, n_samples, random_state):
    if n_samples < 2 or n_samples % 2:
        raise ValueError(f"n_samples must be an even number >= 2, got {n_samples}.")
    rng = check_random_state(random_state)
    return rng.normal(size=(n_samples // 2, curv.n_params))


def _scale(curv, magnitude_aware, eps):
    mask = perturbable(curv).astype(float)
    if magnitude_aware:
        if not (np.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be > 0, got {eps}.")
        return mask * (np.abs(curv.params) + eps)
    return mask


def _increases(curv, sigma, Z, scale):
    """Per antithetic pair: mean of ``L̂(θ ± σ s⊙z) - L̂(θ)``, shape (n_pairs,)."""
    loss = curv.loss_fn
    base = curv.nll
    out = np.empty(Z.shape[0])
    for j, z in enumerate(Z):
        u = sigma * scale * z
        out[j] = 0.5 * (loss(curv.params + u) + loss(curv.params - u)) - base
    return out / curv.n_samples


def expected_sharpness(
    curv, sigma, *, magnitude_aware=False, eps=1e-3, n_samples=64, random_state=None
):
    """Expected sharpness ``E_u[L̂(θ̂ + u)] - L̂(θ̂)`` by Monte Carlo.

    Neyshabur, Bhojanapalli, McAllester & Srebro (2017, "Exploring Generalization in
    Deep Learning"): ``u ~ N(0, σ² I)``.  The magnitude-aware variant (Jiang et al.
    2019, arXiv 1912.02178) uses ``uᵢ ~ N(0, σ²(|θ̂ᵢ| + ε)²)``.  Draws come in
    antithetic pairs ``±u`` (unbiased, and the first-order term cancels exactly);
    to second order the value is ``σ²/2 · Σᵢ sᵢ² ∇²ᵢᵢL̂`` with ``sᵢ`` the per-coordinate
    scale.

    Parameters
    ----------
    curv : Curvature
        With ``loss_fn``.
    sigma : float
        Noise level ``σ > 0``.
    magnitude_aware : bool, default=False
        Scale the noise of each parameter by ``|θ̂ᵢ| + ε``.
    eps : float, default=1e-3
        ``ε`` of the magnitude-aware variant.
    n_samples : int, default=64
        Number of loss evaluations (even; ``n_samples/2`` antithetic pairs).
    random_state : int, RandomState or None, default=None
        Seed.

    Returns
    -------
    Estimate
        ``value`` in NLL per sample, ``error`` its standard error over pairs.

    Raises
    ------
    ValueError
        If the curvature has no ``loss_fn``, or a perturbed point leaves the model's
        domain (infinite loss, e.g. a negative mean with an identity link).

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> import ticselect as ts
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = X.sum(1) + rng.normal(size=100)
    >>> curv = ts.curvature(Ridge(1.0).fit(X, y), X, y, dispersion=1.0)
    >>> est = expected_sharpness(curv, 0.1, n_samples=2000, random_state=0)
    >>> exact = 0.1**2 / 2 * np.trace(curv.hessian) / 100   # quadratic loss
    >>> bool(abs(est.value - exact) < 4 * est.error)
    True
    """
    check_curvature(curv, "expected_sharpness()")
    _require(curv, "loss_fn", "expected_sharpness")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma}.")
    Z = _draws(curv, n_samples, random_state)
    inc = _increases(curv, sigma, Z, _scale(curv, magnitude_aware, eps))
    if not np.all(np.isfinite(inc)):
        raise ValueError(
            f"The loss is infinite at some perturbed parameters (sigma={sigma:g}): the "
            "perturbation leaves the model's domain. Use a smaller sigma."
        )
    err = float(inc.std(ddof=1) / np.sqrt(inc.size)) if inc.size > 1 else 0.0
    return Estimate(float(inc.mean()), err, int(n_samples))


def sharpness_sigma(
    curv,
    *,
    target=0.1,
    magnitude_aware=False,
    eps=1e-3,
    n_samples=32,
    sigma_range=(1e-6, 1e2),
    n_bisect=25,
    random_state=None,
):
    """Largest ``σ`` whose expected sharpness stays below ``target`` (bisection).

    The σ search of Neyshabur et al. (2017) and Jiang et al. (2019, who report
    ``1/σ²`` as the "PAC-Bayes flatness" measure; larger is sharper).  The draws are
    fixed across ``σ`` (common random numbers), so the Monte Carlo increase is a
    deterministic function of ``σ`` and the bisection on ``log σ`` is well defined.

    Parameters
    ----------
    curv : Curvature
        With ``loss_fn``.
    target : float, default=0.1
        Allowed increase of ``L̂`` (nats per sample).
    magnitude_aware : bool, default=False
        Noise ``σ(|θ̂ᵢ| + ε)`` per parameter.
    eps : float, default=1e-3
        ``ε`` of the magnitude-aware variant.
    n_samples : int, default=32
        Loss evaluations per ``σ`` (even).
    sigma_range : tuple of float, default=(1e-6, 1e2)
        Search interval; an end point is returned when the target is not crossed
        inside it.
    n_bisect : int, default=25
        Bisection steps on ``log σ`` (25 steps give a relative precision of about
        ``(log 1e8)/2²⁵``).
    random_state : int, RandomState or None, default=None
        Seed.

    Returns
    -------
    float
    """
    check_curvature(curv, "sharpness_sigma()")
    _require(curv, "loss_fn", "sharpness_sigma")
    if not (np.isfinite(target) and target > 0):
        raise ValueError(f"target must be > 0, got {target}.")
    lo, hi = (float(v) for v in sigma_range)
    if not 0 < lo < hi:
        raise ValueError(f"sigma_range must satisfy 0 < low < high, got {sigma_range}.")
    Z = _draws(curv, n_samples, random_state)
    scale = _scale(curv, magnitude_aware, eps)

    def ok(s):
        inc = _increases(curv, s, Z, scale).mean()
        return bool(np.isfinite(inc) and inc <= target)

    if ok(hi):
        return hi
    if not ok(lo):
        return lo
    a, b = np.log(lo), np.log(hi)
    for _ in range(int(n_bisect)):
        mid = 0.5 * (a + b)
        if ok(np.exp(mid)):
            a = mid
        else:
            b = mid
    return float(np.exp(a))


def fisher_rao_norm(curv):
    """Fisher–Rao norm ``‖θ̂‖²_fr = (1/n) Σᵢ wᵢ ⟨θ̂, gᵢ⟩² = θ̂ᵀ C θ̂ / n``.

    Liang, Poggio, Rakhlin & Stokes (2019, "Fisher–Rao Metric, Geometry, and
    Complexity of Neural Networks"), in the empirical form of Jiang et al. (2019): the
    expectation over the training sample with the observed labels.  For networks
    without biases and with homogeneous activations ``⟨θ, ∇ℓ⟩ = (depth) · ∂ℓ/∂f · f``;
    here every perturbable parameter enters (biases and intercepts included, the
    dispersion excluded).

    Parameters
    ----------
    curv : Curvature
        Any curvature.

    Returns
    -------
    float
    """
    check_curvature(curv, "fisher_rao_norm()")
    mask = perturbable(curv)
    th = np.where(mask, curv.params, 0.0)
    return float(th @ curv.grad_cov @ th / curv.n_samples)
