"""Adapter for scikit-learn's ``MLPClassifier`` and ``MLPRegressor``.

Reads the fitted weights into an :class:`~ticselect.curvature._mlp.MLPSpec`
(conventions in :mod:`ticselect.curvature._mlp`) and builds the
:class:`~ticselect.Curvature` with
:func:`~ticselect.curvature._mlp.mlp_exact`, after a memory guard.

Besides the quantities at ``θ̂``, the curvature carries (for flatness measures)

- ``loss_fn(theta)`` and ``hessian_fn(theta)``: the summed data NLL and its exact
  Hessian at any parameter vector in the layout of :mod:`ticselect.curvature._mlp`
  (``σ²`` last when it is a parameter; ``inf`` when ``σ² ≤ 0`` or the NLL overflows);
- ``layers``: one ``dict`` per weight layer ``l`` with ``"weights"``, an int array of
  shape ``(fan_in, fan_out)`` whose entry ``[a, s]`` is the index in ``θ`` of
  ``coefs_[l][a, s]``, and ``"bias"``, an int array of shape ``(fan_out,)`` with the
  indices of ``intercepts_[l]``; plus ``activation`` (the hidden activation) and
  ``sample_weight`` (the frequency weights, shape ``(n_rows,)``: with fewer rows than
  parameters :func:`ticselect.criteria` takes the Fisher soft rank from the
  ``n × n`` Gram matrix of the weighted gradients), and ``grad_gram_fn()``, which
  returns that Gram matrix from the layers' Gram matrices (:func:`mlp_grad_gram`)
  without the ``n² d`` product ``G Gᵀ``.
  Set as attributes after construction (``Curvature.__init__`` does not take them).
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial

import numpy as np
import scipy.sparse as sp
from scipy import linalg

from ..._validation import check_dispersion
from .._mlp import (
    MLPSpec,
    _augment,
    _sigma2_terms,
    backward,
    flatten,
    forward,
    gauss_newton_kernel,
    mlp_exact,
    output_loss,
    unflatten,
)
from .._mlp_gauge import network_gauge
from .._output import OutputJacobians
from .._result import Curvature
from .._timing import DEFAULT_MAX_SECONDS, dense_seconds

__all__ = [
    "exact_memory_bytes",
    "exact_memory_need",
    "exact_seconds_need",
    "mlp_curvature",
    "mlp_grad_gram",
    "mlp_output_jacobians",
    "mlp_spec",
]

_GIB = 2**30


def _default_max_memory():
    """Half the physical memory, in bytes (4 GiB when it cannot be read)."""
    try:
        return 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 4.0 * _GIB


def exact_memory_bytes(layer_sizes, n_rows, n_extra=0):
    """Peak memory, in bytes, of the exact curvature of a network (an upper estimate).

    Counts ``H`` and ``C`` (``d²`` floats each), the per-sample gradients (``n·d``),
    the per-sample pre-activation Hessians of every layer plus one ``gᵢgᵢᵀ`` buffer
    (``n·Σ_l h_l² + n·max_l h_l²``: these dominate for wide layers on many rows), the
    larger of the diagonal-block buffers (``4·d_l²``) and of the cross-block buffers
    (``4·d_l·d_m + 3·n·h_l·h_m``), and the row-block temporaries (at most
    ``3 · 2**24`` floats).  ``d_l = (fan_in_l + 1)·h_l`` is the size of layer ``l``.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_features, h_1, ..., h_{L-1}, n_outputs]``.
    n_rows : int
        ``n``.
    n_extra : int, default=0
        Parameters beyond the weights and biases (1 for an estimated ``σ²``).

    Returns
    -------
    float

    Examples
    --------
    Digits with one hidden layer of 64 units (``d = 4810``): the terms above, with
    the first-layer diagonal block the largest buffer and the row-block temporaries
    at their cap.

    >>> d, n = 65 * 64 + 65 * 10, 1797
    >>> floats = (2 * d * d + n * d + n * (64**2 + 10**2 + 64**2)
    ...           + 4 * (65 * 64) ** 2 + 3 * 2**24)
    >>> exact_memory_bytes([64, 64, 10], n) == 8.0 * floats
    True
    """
    sizes = [int(s) for s in layer_sizes]
    n = float(n_rows)
    h = sizes[1:]
    dl = [float((a + 1) * b) for a, b in zip(sizes[:-1], h, strict=True)]
    d = sum(dl) + n_extra
    hsq = [float(b) * b for b in h]
    diag = max(4.0 * x * x for x in dl)
    cross = max(
        (
            4.0 * dl[i] * dl[j] + 3.0 * n * h[i] * h[j]
            for i in range(len(h))
            for j in range(i + 1, len(h))
        ),
        default=0.0,
    )
    rows = max(
        ((a + 1) * (a + 2) / 2 + 2 * b * b) for a, b in zip(sizes[:-1], h, strict=True)
    )
    temps = 3.0 * min(2.0**24, n * rows)
    floats = 2 * d * d + n * d + n * (sum(hsq) + max(hsq)) + max(diag, cross) + temps
    return 8.0 * floats


def _n_extra(est, dispersion):
    """1 when ``σ²`` of an identity output is estimated (a parameter), else 0."""
    return int(est.out_activation_ == "identity" and dispersion is None)


def exact_memory_need(est, n_rows, dispersion=None, max_memory=None):
    """Bytes the exact curvature of a fitted network needs, and the budget.

    Parameters
    ----------
    est : fitted MLPClassifier or MLPRegressor
    n_rows : int
        Rows of ``X``.
    dispersion : None or float, default=None
        ``None`` counts an estimated ``σ²`` (identity output) as a parameter.
    max_memory : float or None, default=None
        Budget in bytes; ``None`` is half the physical memory.

    Returns
    -------
    need, budget : float
        :func:`exact_memory_bytes` of the network, and the budget in bytes.
    """
    sizes = [est.coefs_[0].shape[0]] + [W.shape[1] for W in est.coefs_]
    need = exact_memory_bytes(sizes, n_rows, _n_extra(est, dispersion))
    budget = _default_max_memory() if max_memory is None else float(max_memory)
    return need, budget


def _n_params(est, dispersion):
    d = sum((W.shape[0] + 1) * W.shape[1] for W in est.coefs_)
    return d + _n_extra(est, dispersion)


def exact_seconds_need(est, n_rows, dispersion=None, max_seconds=DEFAULT_MAX_SECONDS):
    """Estimated seconds of a network's exact curvature and criteria, and the budget.

    Parameters
    ----------
    est : fitted MLPClassifier or MLPRegressor
    n_rows : int
        Rows of ``X``.
    dispersion : None or float, default=None
        ``None`` counts an estimated ``σ²`` (identity output) as a parameter.
    max_seconds : float or None, default=60
        Budget; ``None`` is no limit (and skips the calibration).

    Returns
    -------
    need, budget : float
        :func:`~ticselect.curvature._timing.dense_seconds` of the network (0 when
        there is no limit) and the budget (``inf`` when there is none).
    """
    if max_seconds is None:
        return 0.0, np.inf
    if not (isinstance(max_seconds, int | float) and max_seconds > 0):
        raise ValueError(
            f"max_seconds must be a positive number or None, got {max_seconds!r}."
        )
    d = _n_params(est, dispersion)
    slow = dense_seconds(d, n_rows, rate=1e9)  # at 1 GFlop/s: no calibration needed
    if slow <= max_seconds:
        return slow, float(max_seconds)
    return dense_seconds(d, n_rows), float(max_seconds)


def _model_name(est):
    return (
        f"{type(est).__name__}(hidden_layer_sizes={tuple(est.hidden_layer_sizes)!r}, "
        f"activation={est.activation!r}, solver={est.solver!r}, alpha={est.alpha:g})"
    )


def _targets(est, y, n):
    """Targets as an (n, K) float array in the output layer's coding."""
    out = est.out_activation_
    K = est.coefs_[-1].shape[1]
    if out == "softmax" or (out == "logistic" and getattr(est, "n_outputs_", 1) == 1):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"y must be 1-D with {n} labels, got shape {y.shape}.")
        classes = est.classes_
        idx = np.searchsorted(classes, y)
        idx = np.clip(idx, 0, len(classes) - 1)
        bad = classes[idx] != y
        if np.any(bad):
            raise ValueError(
                f"y contains labels the network was not fitted on: "
                f"{np.unique(y[bad])[:5].tolist()}; known classes "
                f"{classes.tolist()}."
            )
        if out == "logistic":
            return (idx == 1).astype(float)[:, None]
        return np.eye(K)[idx]
    Y = np.asarray(y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape != (n, K):
        raise ValueError(
            f"y must have shape ({n}, {K}) for this network (one column per output), "
            f"got {np.asarray(y).shape}."
        )
    if not np.all(np.isfinite(Y)):
        raise ValueError("Input y contains NaN or infinity; remove or impute them.")
    if out == "logistic" and not np.all((Y == 0) | (Y == 1)):
        raise ValueError("A multilabel MLPClassifier needs a 0/1 indicator matrix y.")
    if out == "exp" and np.any(Y < 0):
        raise ValueError("MLPRegressor(loss='poisson') needs non-negative y.")
    return Y


def mlp_spec(est, X, y, sample_weight, *, dispersion=None):
    """Read a fitted scikit-learn MLP and its data into an ``MLPSpec``.

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Fitted network.
    X : ndarray or sparse matrix of shape (n, p)
        Inputs (already validated, float64).
    y : array-like
        Labels (classifier), an indicator matrix (multilabel) or targets.
    sample_weight : ndarray of shape (n,)
        Frequency weights.
    dispersion : None or float, default=None
        Gaussian variance: ``None`` estimates it (then it is a parameter).

    Returns
    -------
    MLPSpec
    """
    coefs = [np.asarray(W, dtype=float) for W in est.coefs_]
    intercepts = [np.asarray(b, dtype=float) for b in est.intercepts_]
    if not all(np.all(np.isfinite(a)) for a in coefs + intercepts):
        raise ValueError(
            f"{type(est).__name__} has non-finite weights (NaN or inf): the fit "
            "diverged. Refit with a smaller learning rate or a larger alpha."
        )
    if coefs[0].shape[0] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features, but the network's input layer has "
            f"{coefs[0].shape[0]}."
        )
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    n = X.shape[0]
    Y = _targets(est, y, n)
    spec = MLPSpec(
        coefs=coefs,
        intercepts=intercepts,
        activation=est.activation,
        output=est.out_activation_,
        X=X,
        Y=Y,
        sample_weight=np.asarray(sample_weight, dtype=float),
        alpha=float(est.alpha),
    )
    if spec.output == "identity":
        if dispersion is None:
            z = forward(spec)[1][-1]
            rss = float(spec.sample_weight @ np.sum((Y - z) ** 2, axis=1))
            s2 = rss / (Y.shape[1] * spec.sample_weight.sum())
            if not s2 > 0:
                raise ValueError(
                    "The network interpolates the data (zero residuals): the Gaussian "
                    "variance is 0 and the likelihood is unbounded. Pass dispersion=."
                )
            spec.sigma2, spec.sigma2_is_param = s2, True
        else:
            spec.sigma2 = check_dispersion(dispersion)
    return spec


def _layers(spec):
    """Index arrays of every layer's weights and biases in ``θ`` (see module doc)."""
    out, start = [], 0
    for W in spec.coefs:
        p, h = W.shape
        out.append(
            {
                "weights": start + np.arange(p * h).reshape(p, h),
                "bias": start + p * h + np.arange(h),
            }
        )
        start += (p + 1) * h
    return out


def _evaluators(spec):
    """Closures ``θ -> L(θ)`` and ``θ -> H(θ)`` in the layout of the curvature."""
    shapes = spec.layer_shapes
    d = spec.n_params

    def spec_at(theta):
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (d,):
            raise ValueError(f"theta must have shape ({d},), got {theta.shape}.")
        mats = unflatten(theta, shapes)
        s2 = float(theta[-1]) if spec.sigma2_is_param else spec.sigma2
        return replace(
            spec,
            coefs=[M[:-1] for M in mats],
            intercepts=[M[-1] for M in mats],
            sigma2=s2,
        )

    def loss(theta):
        new = spec_at(theta)
        if new.output == "identity" and not new.sigma2 > 0:
            return np.inf
        with np.errstate(all="ignore"):
            z = forward(new)[1][-1]
            nll = output_loss(new.output, z, new.Y, new.sigma2)[0]
            value = float(new.sample_weight @ nll)
        return value if np.isfinite(value) else np.inf

    def hessian(theta):
        new = spec_at(theta)
        if new.output == "identity" and not new.sigma2 > 0:
            raise ValueError("The Gaussian variance must be > 0 to evaluate H.")
        return mlp_exact(new)[2]

    return loss, hessian


def _param_names(spec, feature_names):
    names = []
    for l_, (W, _) in enumerate(zip(spec.coefs, spec.intercepts, strict=True)):
        p, h = W.shape
        rows = feature_names if l_ == 0 else [f"h{l_ - 1}_{a}" for a in range(p)]
        names += [f"coefs_[{l_}][{rows[a]},{b}]" for a in range(p) for b in range(h)]
        names += [f"intercepts_[{l_}][{b}]" for b in range(h)]
    if spec.sigma2_is_param:
        names.append("dispersion")
    return names


def mlp_curvature(
    est,
    X,
    y,
    sample_weight,
    *,
    dispersion=None,
    method="auto",
    max_memory=None,
    max_seconds=DEFAULT_MAX_SECONDS,
    hessian=True,
):
    """Exact :class:`~ticselect.Curvature` of a fitted scikit-learn MLP.

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Fitted network (any depth; identity, logistic, tanh or relu hidden units).
    X : ndarray or sparse matrix of shape (n, p)
        Training inputs (validated, float64; sparse input is densified).
    y : array-like
        Training targets.
    sample_weight : ndarray of shape (n,)
        Frequency weights.
    dispersion : None or float, default=None
        Gaussian variance of ``MLPRegressor``; ``None`` estimates it by maximum
        likelihood (a parameter, last).  Ignored by classifiers.
    method : {"auto", "exact"}, default="auto"
        Both build the dense ``H`` and ``C``.  ``"exact"`` raises when they exceed
        ``max_memory``; ``"auto"`` raises too, pointing to the matrix-free estimators
        of :mod:`ticselect.curvature._matrix_free` (a dense :class:`Curvature`
        cannot hold a matrix-free operator; :func:`ticselect.tic_penalty` chooses
        between the two routes by this same memory estimate).
    max_memory : float or None, default=None
        Memory budget in bytes; ``None`` is half the physical memory.
    max_seconds : float or None, default=60
        Time budget of the curvature and its criteria (see
        :func:`exact_seconds_need`); ``None`` is no limit.
    hessian : bool, default=True
        ``False``: no ``H`` and ``C`` (``None``) and no memory or time guard; the
        NLL, per-sample gradients and the builders of the model Fisher remain.

    Returns
    -------
    Curvature

    Raises
    ------
    ValueError
        Non-finite weights, input width mismatch, bad targets, or an exact request that
        does not fit in ``max_memory`` (the message gives the size in GiB) or would
        take longer than ``max_seconds`` (the message gives the estimate).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neural_network import MLPClassifier
    >>> import ticselect as ts
    >>> X, y = load_iris(return_X_y=True)
    >>> net = MLPClassifier(hidden_layer_sizes=(3,), activation="tanh", alpha=1.0,
    ...                     solver="lbfgs", tol=1e-12, max_iter=5000,
    ...                     random_state=0).fit(X, y)
    >>> curv = ts.curvature(net, X, y)
    >>> curv.hessian.shape, curv.gauge.shape, curv.stationarity < 1e-2
    ((27, 27), (27, 4), True)
    """
    if method not in ("auto", "exact"):
        raise ValueError(f"method must be 'auto' or 'exact', got {method!r}.")
    if hessian:
        _check_budget(est, X.shape[0], dispersion, method, max_memory, max_seconds)
    names_in = getattr(est, "feature_names_in_", None)
    p = X.shape[1]
    feature_names = (
        [str(c) for c in names_in]
        if names_in is not None and len(names_in) == p
        else [f"x{j}" for j in range(p)]
    )
    spec = mlp_spec(est, X, y, sample_weight, dispersion=dispersion)
    nll_i, G, H, C = mlp_exact(spec, hessian=hessian)
    w = spec.sample_weight
    nll = float(w @ nll_i)
    if not (np.isfinite(nll) and (H is None or np.all(np.isfinite(H)))):
        raise ValueError(
            f"The negative log-likelihood or Hessian of {_model_name(est)} is not "
            "finite at the fitted parameters (saturated outputs). Check the fit."
        )
    params = flatten(spec.coefs, spec.intercepts)
    if spec.sigma2_is_param:
        params = np.append(params, spec.sigma2)
    penalty = spec.penalty()
    loss_fn, hessian_fn = _evaluators(spec)
    curv = Curvature(
        params=params,
        param_names=_param_names(spec, feature_names),
        hessian=H,
        grad_cov=C,
        penalty=penalty,
        nll=nll,
        n_samples=float(w.sum()),
        n_rows=X.shape[0],
        gradient=w @ G + penalty * params,
        abs_grad_sum=w @ np.abs(G),
        per_sample_grads=G,
        gauge=network_gauge(spec),
        dispersion=spec.sigma2,
        dispersion_is_param=spec.sigma2_is_param,
        family="mlp",
        link=spec.output,
        model_name=_model_name(est),
        loss_fn=loss_fn,
        hessian_fn=hessian_fn,
        per_sample_nll=nll_i,
        sample_weight=w,
    )
    curv.layers = _layers(spec)
    curv.activation = spec.activation
    curv.output_jacobians_fn = partial(mlp_output_jacobians, spec)
    curv.grad_gram_fn = partial(mlp_grad_gram, spec)
    curv.model_fisher_fn = partial(gauss_newton_kernel, spec)
    curv.sample_weight = w
    curv._mlp_spec = spec  # read once by the dispatcher for the per-row model
    return curv


def _check_budget(est, n_rows, dispersion, method, max_memory, max_seconds):
    """Raise before any ``d × d`` array when ``H`` and ``C`` exceed the budgets."""
    d = _n_params(est, dispersion)
    need, budget = exact_memory_need(est, n_rows, dispersion, max_memory)
    if need > budget:
        hint = (
            "Use the matrix-free estimators (ticselect.curvature_operators, "
            "estimate_tic_penalty, estimate_trace, top_eigenvalues) instead"
            if method == "auto"
            else "Use the matrix-free estimators, or raise max_memory"
        )
        raise ValueError(
            f"The exact Hessian of this network ({d} parameters, {n_rows} rows) "
            f"needs about {need / _GIB:.2f} GiB, more than the budget of "
            f"{budget / _GIB:.2f} GiB. {hint}."
        )
    seconds, limit = exact_seconds_need(est, n_rows, dispersion, max_seconds)
    if seconds > limit:
        low = dense_seconds(d, n_rows, route="subspace")
        raise ValueError(
            f"The exact curvature and criteria of this network ({d} parameters, "
            f"{n_rows} rows) would take about {seconds:.3g} s on this machine "
            f"({low:.3g} s if its penalised Hessian is indefinite, as for "
            f"near-interpolating fits), more than max_seconds={limit:g}: use the "
            "matrix-free estimators (ts.tic_penalty(model, X, y), which routes to "
            "estimate_tic_penalty, or "
            "ts.curvature_operators with hessian_spectral_density), or pass a larger "
            "max_seconds (None for no limit)."
        )


def mlp_grad_gram(spec):
    """Gram matrix ``W^{1/2} G Gᵀ W^{1/2}`` of the weighted per-sample gradients.

    The gradient of ``ℓᵢ`` in layer ``l``'s augmented weights is ``ãᵢ ⊗ δᵢ`` (layer
    input with a 1 appended, times ``δᵢ = ∂ℓᵢ/∂u_l``), so
    ``gᵢᵀgⱼ = Σ_l (ãᵢᵀãⱼ)(δᵢᵀδⱼ)`` (plus ``∂ℓᵢ/∂σ² · ∂ℓⱼ/∂σ²`` when ``σ²`` is a
    parameter): a sum of elementwise products of the layers' ``n × n`` Gram
    matrices, ``n²·Σ_l (q_l + h_l)`` flops instead of the ``n²·d`` of ``G Gᵀ``.

    Parameters
    ----------
    spec : MLPSpec
        The network and its data.

    Returns
    -------
    ndarray of shape (n, n)
        Lower triangle filled (the upper one is not referenced and may hold
        anything), as LAPACK's ``lower=1`` routines read it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> net = MLPClassifier((3,), max_iter=50, random_state=0).fit(X, y)
    >>> w = np.arange(1.0, 151.0)
    >>> spec = mlp_spec(net, X, y, w)
    >>> G = np.sqrt(w)[:, None] * mlp_exact(spec, hessian=False)[1]
    >>> K = mlp_grad_gram(spec)
    >>> bool(np.allclose(np.tril(K), np.tril(G @ G.T), rtol=1e-12, atol=0))
    True
    """
    inputs, pre, derivs = forward(spec)
    _, g, _ = backward(spec, inputs, pre, derivs, hessian=False)
    sw = np.sqrt(np.asarray(spec.sample_weight, dtype=float))
    K = None
    for A, gl in zip(inputs, g, strict=True):
        At = _augment(A) * sw[:, None]
        # A Aᵀ for C-ordered A (n × q): Aᵀ is the Fortran-ordered array syrk needs
        P = linalg.blas.dsyrk(1.0, At.T, trans=1, lower=1)
        P *= linalg.blas.dsyrk(1.0, np.ascontiguousarray(gl).T, trans=1, lower=1)
        if K is None:
            K = P
        else:
            K += P
    if spec.sigma2_is_param:
        r = sw * _sigma2_terms(spec, pre)[0]
        K += r[:, None] * r[None, :]
    return K


def mlp_output_jacobians(spec):
    """:class:`~ticselect.curvature._output.OutputJacobians` of a network.

    Layer inputs and ``B_l = ∂z/∂u_l`` by one backward pass of the identity (as
    :func:`ticselect.curvature._mlp.output_jacobian`), ``Λᵢ = ∂²ℓᵢ/∂zᵢ²``.

    Parameters
    ----------
    spec : MLPSpec
        The network and its data.

    Returns
    -------
    OutputJacobians
    """
    inputs, pre, derivs = forward(spec)
    n, K = pre[-1].shape
    L = len(spec.coefs)
    B = np.broadcast_to(np.eye(K), (n, K, K))
    back = [None] * L
    for l_ in range(L - 1, -1, -1):
        back[l_] = np.ascontiguousarray(B)
        if l_:
            B = np.matmul(B, spec.coefs[l_].T) * derivs[l_ - 1][0][:, None, :]
    index, start = [], 0
    for a, b in spec.layer_shapes:
        index.append(start + np.arange(a * b).reshape(a, b))
        start += a * b
    _, _, lam = output_loss(spec.output, pre[-1], spec.Y, spec.sigma2)
    return OutputJacobians(
        inputs=[_augment(A) for A in inputs],
        back=back,
        index=index,
        has_bias=[True] * L,
        fisher=np.array(lam, dtype=float),
        sample_weight=np.asarray(spec.sample_weight, dtype=float),
        n_params=spec.n_params,
    )
