"""Model weights from pointwise leave-one-out losses: stacking and pseudo-BMA(+).

Conventions: :mod:`ticselect.selection._uncertainty` (``losses[i, k]`` on the
deviance scale, per unit of weight; the log predictive density of row ``i`` under
candidate ``k`` left out of its fit is ``lpdᵢₖ = -losses[i, k] / 2``).

Stacking (Yao, Vehtari, Simpson & Gelman 2018, Bayesian Analysis 13(3), §3.3)
    ``w = argmax over the simplex of Σᵢ ωᵢ log Σₖ wₖ exp(lpdᵢₖ)``: the weights whose
    mixture of the candidates' predictive distributions has the best leave-one-out
    log score (R ``loo``'s ``loo_model_weights(method = "stacking")``).  The
    objective is concave in ``w``; it is maximised by SLSQP (scipy) and then
    polished by Newton steps on the support, so the weights satisfy the optimality
    conditions to about ``1e-10``.
Pseudo-BMA (Yao et al. 2018, §3.4)
    ``wₖ ∝ exp(Σᵢ ωᵢ lpdᵢₖ)``, i.e. ``exp(-ALOₖ / 2)``: Akaike-type weights of ALO.
Pseudo-BMA+
    The same, averaged over ``n_bootstrap`` Bayesian-bootstrap replicates (Rubin
    1981): ``wₖ = mean_b softmax(n Σᵢ αᵦᵢ lpdᵢₖ)`` with ``αᵦ ~ Dirichlet(ω)``
    (frequency weights ``ωᵢ``; ``Dirichlet(1, …, 1)`` without weights, as loo's
    ``pseudobma_weights(BB = TRUE, alpha = 1)``), which shrinks the weights of
    candidates whose advantage is within the noise of the rows.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize, special
from sklearn.utils import check_random_state

__all__ = ["pseudo_bma_weights", "stacking_weights"]

#: Newton polishing of the stacking weights stops at this KKT residual.
_KKT_TOL = 1e-12
#: Weights below this (relative) are dropped from the support when polishing.
_SUPPORT_TOL = 1e-9


def _check(losses, sample_weight):
    L = np.asarray(losses, dtype=float)
    if L.ndim != 2 or L.shape[1] < 1:
        raise ValueError(
            f"losses must be a 2-D array (n_rows, n_models), got shape {L.shape}."
        )
    w = np.ones(L.shape[0]) if sample_weight is None else np.asarray(
        sample_weight, dtype=float)  # fmt: skip
    if w.shape != (L.shape[0],):
        raise ValueError(
            f"sample_weight must have one entry per row ({L.shape[0]}), got shape "
            f"{w.shape}."
        )
    keep = w > 0
    if not np.all(np.isfinite(L[keep])):
        raise ValueError(
            "losses has non-finite values (an ALO step that left the parameter "
            "space): drop those candidates or rows before weighting."
        )
    return L[keep], w[keep]


def _scaled_densities(L):
    """``exp(lpd - rowmax)`` and the row maxima, for a stable log score."""
    lpd = -0.5 * L
    top = lpd.max(axis=1, keepdims=True)
    return np.exp(lpd - top), top[:, 0]


def stacking_weights(losses, sample_weight=None):
    """Stacking weights: the simplex point maximising the leave-one-out log score.

    Parameters
    ----------
    losses : array-like of shape (n_rows, n_models)
        Per-row leave-one-out losses on the deviance scale (``2·ℓᵢ(θ₋ᵢ)``, e.g.
        ``2 * LOOResult.pointwise`` of each candidate as a column).
    sample_weight : array-like of shape (n_rows,), default=None
        Frequency weights ``ωᵢ``.

    Returns
    -------
    ndarray of shape (n_models,)
        Non-negative weights summing to 1.

    Raises
    ------
    ValueError
        For a malformed matrix or non-finite losses.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=300)
    >>> losses = np.column_stack([(a - 1) ** 2, (a + 1) ** 2, (a - 5) ** 2])
    >>> w = stacking_weights(losses)      # two complementary models share the weight
    >>> w.round(3).tolist()
    [0.5, 0.5, 0.0]
    """
    L, w = _check(losses, sample_weight)
    K = L.shape[1]
    if K == 1:
        return np.ones(1)
    E, _ = _scaled_densities(L)
    scale = w.sum()

    def objective(v):
        mix = E @ v
        return -(w @ np.log(mix)) / scale, -(E.T @ (w / mix)) / scale

    res = optimize.minimize(
        objective, np.full(K, 1.0 / K), jac=True, method="SLSQP",
        bounds=[(0.0, 1.0)] * K,
        constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1.0,
                      "jac": lambda v: np.ones(K)}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )  # fmt: skip
    v = np.clip(res.x, 0.0, None)
    v /= v.sum()
    return _polish(E, w, v)


def _polish(E, w, v):
    """Newton steps on the support of ``v`` for the simplex-constrained optimum.

    On the support ``S`` the optimality conditions are ``∇ₖ f = λ`` (equal partial
    derivatives) and ``Σ v = 1``; Newton on the KKT system with the Hessian
    ``Σᵢ ωᵢ eᵢeᵢᵀ / (eᵢᵀv)²``.  A step that would leave the simplex is halved.
    """
    for _ in range(50):
        S = np.flatnonzero(v > _SUPPORT_TOL * v.max())
        mix = E @ v
        grad = -(E.T @ (w / mix))
        ES = E[:, S]
        H = (ES * (w / mix**2)[:, None]).T @ ES
        m = S.size
        kkt = np.zeros((m + 1, m + 1))
        kkt[:m, :m] = H
        kkt[:m, m] = kkt[m, :m] = 1.0
        lam = np.mean(grad[S])
        rhs = -np.r_[grad[S] - lam, 0.0]
        if np.max(np.abs(rhs)) <= _KKT_TOL * max(1.0, np.abs(lam)):
            break
        try:
            step = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:m]
        except np.linalg.LinAlgError:  # pragma: no cover - lstsq rarely fails
            break
        t = 1.0
        while np.any(v[S] + t * step < 0) and t > 1e-8:
            t *= 0.5
        new = v.copy()
        new[S] = np.clip(v[S] + t * step, 0.0, None)
        new /= new.sum()
        if -(w @ np.log(E @ new)) > -(w @ np.log(mix)) + 1e-12 * abs(w @ np.log(mix)):
            break
        v = new
    return v


def pseudo_bma_weights(
    losses, sample_weight=None, *, bootstrap=True, n_bootstrap=1000,
    random_state=None,
):  # fmt: skip
    """Pseudo-BMA weights, with the Bayesian bootstrap (pseudo-BMA+) by default.

    Parameters
    ----------
    losses : array-like of shape (n_rows, n_models)
        Per-row leave-one-out losses on the deviance scale (see
        :func:`stacking_weights`).
    sample_weight : array-like of shape (n_rows,), default=None
        Frequency weights ``ωᵢ`` (the bootstrap draws ``Dirichlet(ω)``).
    bootstrap : bool, default=True
        ``True``: pseudo-BMA+; ``False``: ``softmax(-Σᵢ ωᵢ lossesᵢₖ / 2)``.
    n_bootstrap : int, default=1000
        Bayesian-bootstrap replicates (loo's ``BB_n``).
    random_state : int, RandomState instance or None, default=None
        Seed of the Dirichlet draws.

    Returns
    -------
    ndarray of shape (n_models,)
        Weights summing to 1.

    Raises
    ------
    ValueError
        For a malformed matrix, non-finite losses or ``n_bootstrap < 1``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> losses = rng.normal(2.0, 1.0, size=(100, 2)) + [0.0, 0.02]
    >>> plain = pseudo_bma_weights(losses, bootstrap=False)
    >>> plus = pseudo_bma_weights(losses, random_state=0)
    >>> bool(abs(plus[0] - 0.5) < abs(plain[0] - 0.5))  # shrunk towards equal weights
    True
    """
    L, w = _check(losses, sample_weight)
    lpd = -0.5 * L
    if not bootstrap:
        return special.softmax(w @ lpd)
    n_bootstrap = int(n_bootstrap)
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be at least 1, got {n_bootstrap}.")
    rng = check_random_state(random_state)
    n = w.sum()
    out = np.zeros(L.shape[1])
    block = max(1, 2**20 // max(1, L.shape[0]))
    done = 0
    while done < n_bootstrap:
        b = min(block, n_bootstrap - done)
        g = rng.standard_gamma(w, size=(b, w.size))
        alpha = g / g.sum(axis=1, keepdims=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out += special.softmax(n * (alpha @ lpd), axis=1).sum(axis=0)
        done += b
    return out / n_bootstrap
