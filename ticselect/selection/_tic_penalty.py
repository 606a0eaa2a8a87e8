"""Layer 3 — :func:`tic_penalty`: the exact or the matrix-free route, by memory, time.

It lives above :mod:`ticselect.criteria` (the exact route) and the matrix-free
operators of the curvature wing (the estimated route), where both are visible.
"""

from __future__ import annotations

import numpy as np

from .._validation import unwrap_pipeline
from ..criteria import criteria
from ..curvature import curvature
from ..curvature._dispatch import is_sklearn_mlp
from ..curvature._matrix_free import (
    Estimate,
    curvature_operators,
    estimate_tic_penalty,
)
from ..curvature._timing import DEFAULT_MAX_SECONDS
from ..curvature.adapters.sklearn_mlp import exact_memory_need, exact_seconds_need

__all__ = ["tic_penalty"]


def tic_penalty(
    model,
    X=None,
    y=None,
    sample_weight=None,
    *,
    method="auto",
    max_memory=None,
    max_seconds=DEFAULT_MAX_SECONDS,
    dispersion=None,
    n_matvecs=60,
    random_state=None,
    cg_tol=1e-8,
):
    """``tr(H_λ⁻¹ C)`` exactly when the dense curvature fits in memory and time.

    The guards: for a network, the peak memory of the exact curvature
    (:func:`~ticselect.curvature.adapters.sklearn_mlp.exact_memory_bytes`) is
    compared with ``max_memory``, and its estimated time (from ``d``, ``n`` and this
    machine's matrix-multiply rate, :mod:`ticselect.curvature._timing`) with
    ``max_seconds``.  ``method="auto"`` computes the exact value (``error = 0``) when
    both fit and otherwise the matrix-free Hutch++/CG estimate of
    :func:`~ticselect.estimate_tic_penalty`; ``"exact"`` always computes it exactly
    and raises a ``ValueError`` giving the size in GiB or the time in seconds when it
    does not fit; ``"matrix_free"`` always estimates.  Models other than networks
    are always exact.

    Parameters
    ----------
    model : fitted estimator, Pipeline or statsmodels results
        As for :func:`ticselect.curvature`.
    X, y, sample_weight : array-like, default=None
        Training data.
    method : {"auto", "exact", "matrix_free"}, default="auto"
        See above.
    max_memory : float or None, default=None
        Budget in bytes; ``None`` is half the physical memory.
    max_seconds : float or None, default=60
        Time budget in seconds; ``None`` is no limit.
    dispersion : None or float, default=None
        As for :func:`ticselect.curvature`.
    n_matvecs, random_state, cg_tol
        Passed to :func:`~ticselect.estimate_tic_penalty` on the matrix-free route.

    Returns
    -------
    Estimate
        ``n_matvecs`` is 0 on the exact route.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> net = MLPClassifier(hidden_layer_sizes=(3,), activation="tanh", alpha=1.0,
    ...                     solver="lbfgs", max_iter=2000, random_state=0).fit(X, y)
    >>> exact = tic_penalty(net, X, y)
    >>> approx = tic_penalty(net, X, y, max_memory=1e4, random_state=0)
    >>> exact.error, approx.n_matvecs > 0
    (0.0, True)
    """
    if method not in ("auto", "exact", "matrix_free"):
        raise ValueError(
            f"method must be 'auto', 'exact' or 'matrix_free', got {method!r}."
        )
    est, Xt = unwrap_pipeline(model, X)
    exact = method == "exact" or not is_sklearn_mlp(est)
    if method == "auto" and is_sklearn_mlp(est) and hasattr(est, "coefs_"):
        n = 0 if Xt is None else np.shape(Xt)[0]  # None: curvature() raises
        need, budget = exact_memory_need(est, n, dispersion, max_memory)
        exact = need <= budget
        if exact:
            secs, limit = exact_seconds_need(est, n, dispersion, max_seconds)
            exact = secs <= limit
    if exact:
        curv = curvature(
            model,
            X,
            y,
            sample_weight,
            dispersion=dispersion,
            max_memory=max_memory,
            max_seconds=max_seconds,
        )
        return Estimate(float(criteria(curv).tic_penalty), 0.0, 0)
    ops = curvature_operators(model, X, y, sample_weight, dispersion=dispersion)
    return estimate_tic_penalty(
        ops, n_matvecs=n_matvecs, random_state=random_state, cg_tol=cg_tol
    )
