"""Multilayer perceptrons: forward pass, per-sample gradients and the exact Hessian.

An adapter reads a fitted network into an :class:`MLPSpec`; :func:`mlp_exact` returns
the summed NLL, the per-sample gradients ``G`` and the exact Hessian ``H`` in closed
form (hand-written backpropagation of first and second derivatives, no autodiff on the
fast path).  :func:`brute_force_hessian` and :func:`brute_force_per_sample_grads` are
slow autograd references kept for the tests.

Conventions
-----------
General conventions (summed NLL, observed information, ``C = Σᵢ wᵢ gᵢgᵢᵀ``, penalty in
loss units) are those of :mod:`ticselect.curvature._result`.  For a network with ``L``
weight layers:

Parameter order
    Layer by layer, ``l = 0, ..., L-1``; within a layer the weights ``coefs_[l]`` (shape
    ``(fan_in, fan_out)``, flattened in C order, i.e. row ``a`` = input unit ``a``) and
    then the biases ``intercepts_[l]``.  Equivalently, layer ``l`` is the
    ``(fan_in + 1, fan_out)`` matrix ``[coefs_[l]; intercepts_[l]]`` flattened in C
    order.  For the Gaussian regressor the variance ``σ²`` comes last.
Loss
    ``L(θ) = Σᵢ wᵢ ℓᵢ(θ)`` with all constants.  ``z`` is the output layer *before* the
    output activation.  Identity output (``MLPRegressor``, squared error): independent
    Gaussians with **one variance shared by all outputs**,
    ``ℓᵢ = (K/2) log(2πσ²) + ‖yᵢ - zᵢ‖² / (2σ²)``; scikit-learn's gradient weighs all
    outputs equally, which is the shared-σ² model, and ``σ̂² = Σᵢ wᵢ‖yᵢ - zᵢ‖² / (K Σᵢ
    wᵢ)``.  Logistic output (binary and multilabel ``MLPClassifier``): independent
    Bernoulli outputs.  Softmax output (multiclass): categorical.  Exponential output
    (``MLPRegressor(loss="poisson")``): independent Poissons, ``ℓ = μ - y log μ +
    log y!``.
Penalty
    scikit-learn minimises ``(Σᵢ wᵢ ℓ̃ᵢ + (alpha/2) Σ_l ‖coefs_[l]‖²) / Σᵢ wᵢ`` (its
    gradient; ``ℓ̃`` is the per-sample log-loss, half squared error or half Poisson
    deviance).  For the classifier and the Poisson regressor ``ℓ̃`` differs from ``ℓ``
    by a constant, so ``λ = alpha`` on every weight; for the Gaussian regressor
    ``ℓ̃ = σ² ℓ + const``, so ``λ = alpha / σ̂²``.  Biases and ``σ²`` are not
    penalised.  For several outputs scikit-learn's loss *value* averages the squared
    error over outputs while its *gradient* sums it (inconsistent for ``K > 1``); we
    follow the gradient, which adam and sgd descend.  L-BFGS uses both and stops
    early, so such ``solver="lbfgs"`` fits are not stationary (a warning says so).
Second derivatives of activations
    ``relu`` is piecewise linear: its second derivative is zero almost everywhere and we
    use zero (and ``relu'(0) = 0`` as scikit-learn does).  ``H`` is then the Hessian of
    the loss on the linear piece that contains ``θ̂``; finite differences agree only
    with steps that do not cross a kink.  L-BFGS fits of relu nets often end with a
    pre-activation at a kink, where the gradient is one-sided and not zero.
Gauge
    A softmax output is invariant to adding one number to all ``K`` logits.  Hence for
    every input ``a`` of the output layer (each last hidden unit and the bias) the
    direction that adds ``c`` to ``coefs_[-1][a, :]`` (or to ``intercepts_[-1]``) leaves
    every ``ℓᵢ`` unchanged: these ``fan_in + 1`` orthonormal directions are the gauge
    (as for the multinomial GLM; the penalty fixes the weight directions when
    ``alpha > 0``, nothing fixes the bias direction).  Identity hidden units make the
    network linear, ``x ↦ x W₁⋯W_L + c``, and ``(W₁, W₂) → (W₁A, A⁻¹W₂)`` changes
    nothing: that symmetry's tangents (:mod:`ticselect.curvature._mlp_gauge`) are gauge
    directions too, so ``k`` counts the identified weights (5 for a 3-3-1 regressor
    with ``σ²``, not 17).  Other nonlinear symmetries (unit permutations, the
    rescaling of a ``relu`` unit's weights) are not; the penalty breaks the rescaling.
"""

from __future__ import annotations

from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from autograd import hessian, jacobian
from autograd.scipy.special import expit as aexpit
from autograd.scipy.special import logsumexp as alse
from scipy.special import expit, gammaln, logsumexp

__all__ = [
    "MLPSpec",
    "brute_force_hessian",
    "brute_force_per_sample_grads",
    "flatten",
    "mlp_exact",
    "unflatten",
]

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
OUTPUTS = ("identity", "logistic", "softmax", "exp")

#: Budget, in floats, of the per-block temporaries of the Hessian products
#: (2**24 floats = 128 MiB); rows are processed in blocks of at most this size.
_BLOCK_FLOATS = 2**24


@dataclass
class MLPSpec:
    """A fitted network with its data, in the units of the conventions.

    Attributes
    ----------
    coefs : list of ndarray of shape (fan_in, fan_out)
        Weights per layer.
    intercepts : list of ndarray of shape (fan_out,)
        Biases per layer.
    activation : {"identity", "logistic", "tanh", "relu"}
        Hidden activation.
    output : {"identity", "logistic", "softmax", "exp"}
        Output activation (defines the likelihood).
    X : ndarray of shape (n, p)
        Inputs of the network (dense).
    Y : ndarray of shape (n, K)
        Targets: one-hot rows (softmax), 0/1 indicators (logistic) or values.
    sample_weight : ndarray of shape (n,)
        Frequency weights.
    alpha : float
        scikit-learn's ``alpha``.
    sigma2 : float or None
        Gaussian variance (identity output only).
    sigma2_is_param : bool
        Whether ``sigma2`` is a parameter (appended last to ``θ``).
    """

    coefs: list
    intercepts: list
    activation: str
    output: str
    X: np.ndarray
    Y: np.ndarray
    sample_weight: np.ndarray
    alpha: float = 0.0
    sigma2: float | None = None
    sigma2_is_param: bool = False

    @property
    def layer_shapes(self):
        """Shapes ``(fan_in + 1, fan_out)`` of the augmented layers, list of tuple."""
        return [(W.shape[0] + 1, W.shape[1]) for W in self.coefs]

    @property
    def n_params(self):
        """``d``, the number of parameters (``σ²`` included when it is one), int."""
        return sum(a * b for a, b in self.layer_shapes) + int(self.sigma2_is_param)

    def penalty(self):
        """Diagonal of the L2 penalty in loss units.

        Returns
        -------
        ndarray of shape (n_params,)
        """
        lam = self.alpha / self.sigma2 if self.output == "identity" else self.alpha
        parts = []
        for W in self.coefs:
            parts.append(np.full(W.size, lam))
            parts.append(np.zeros(W.shape[1]))
        if self.sigma2_is_param:
            parts.append(np.zeros(1))
        return np.concatenate(parts)

    def gauge(self):
        """Orthonormal gauge directions of the softmax output's logit shift.

        Identity hidden units add more: :func:`ticselect.curvature._mlp_gauge.
        network_gauge` (which the curvature uses) includes them.

        Returns
        -------
        ndarray of shape (n_params, r)
        """
        d = self.n_params
        if self.output != "softmax":
            return np.zeros((d, 0))
        rows, K = self.layer_shapes[-1]
        start = sum(a * b for a, b in self.layer_shapes[:-1])
        g = np.zeros((d, rows))
        for a in range(rows):
            g[start + a * K : start + (a + 1) * K, a] = 1.0 / np.sqrt(K)
        return g


def flatten(coefs, intercepts):
    """Stack weights and biases into ``θ`` in the documented order.

    Parameters
    ----------
    coefs : list of ndarray of shape (fan_in, fan_out)
        Weights per layer.
    intercepts : list of ndarray of shape (fan_out,)
        Biases per layer.

    Returns
    -------
    theta : ndarray of shape (n_params,)

    Examples
    --------
    >>> flatten([np.ones((2, 3))], [np.zeros(3)]).shape
    (9,)
    """
    return np.concatenate(
        [
            np.concatenate([W.ravel(), b.ravel()])
            for W, b in zip(coefs, intercepts, strict=True)
        ]
    )


def unflatten(theta, layer_shapes):
    """Split ``θ`` into augmented layer matrices ``[W; b]``.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        Flat parameters (a trailing ``σ²`` is ignored).
    layer_shapes : list of tuple
        ``(fan_in + 1, fan_out)`` per layer.

    Returns
    -------
    list of ndarray of shape (fan_in + 1, fan_out)

    Examples
    --------
    >>> [M.shape for M in unflatten(np.arange(9.0), [(3, 3)])]
    [(3, 3)]
    """
    out, start = [], 0
    for a, b in layer_shapes:
        out.append(theta[start : start + a * b].reshape(a, b))
        start += a * b
    return out


# ----------------------------------------------------------------- pointwise pieces
def activation_derivatives(name, u):
    """Activation, first and second derivative at the pre-activations ``u``.

    Parameters
    ----------
    name : {"identity", "logistic", "tanh", "relu"}
        Activation.
    u : ndarray
        Pre-activations.

    Returns
    -------
    a, d1, d2 : ndarray, same shape as ``u``
    """
    if name == "identity":
        return u, np.ones_like(u), np.zeros_like(u)
    if name == "logistic":
        s = expit(u)
        d1 = s * (1.0 - s)
        return s, d1, d1 * (1.0 - 2.0 * s)
    if name == "tanh":
        t = np.tanh(u)
        d1 = 1.0 - t * t
        return t, d1, -2.0 * t * d1
    if name == "relu":
        pos = u > 0
        return np.where(pos, u, 0.0), pos.astype(float), np.zeros_like(u)
    raise ValueError(f"Unknown activation {name!r}; expected one of {ACTIVATIONS}.")


def output_mean(output, z):
    """Apply the output activation as scikit-learn does (predict, predict_proba).

    Parameters
    ----------
    output : {"identity", "logistic", "softmax", "exp"}
        Output activation.
    z : ndarray of shape (n, K)
        Output pre-activations.

    Returns
    -------
    ndarray of shape (n, K)
    """
    if output == "identity":
        return z
    if output == "logistic":
        return expit(z)
    if output == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if output == "exp":
        return np.exp(z)
    raise ValueError(
        f"Unknown output activation {output!r}; expected one of {OUTPUTS}."
    )


def output_loss(output, z, Y, sigma2=None):
    """Per-sample NLL and its first two derivatives in the output pre-activations.

    Parameters
    ----------
    output : {"identity", "logistic", "softmax", "exp"}
        Output activation.
    z : ndarray of shape (n, K)
        Output pre-activations.
    Y : ndarray of shape (n, K)
        Targets.
    sigma2 : float or None, default=None
        Gaussian variance (identity output).

    Returns
    -------
    nll : ndarray of shape (n,)
        ``ℓᵢ`` with all constants.
    r : ndarray of shape (n, K)
        ``∂ℓᵢ/∂zᵢ``.
    lam : ndarray of shape (n, K, K)
        ``∂²ℓᵢ/∂zᵢ²``.
    """
    n, K = z.shape
    eye = np.eye(K)
    if output == "identity":
        res = z - Y
        nll = 0.5 * K * np.log(2 * np.pi * sigma2) + np.sum(res**2, 1) / (2 * sigma2)
        return nll, res / sigma2, np.broadcast_to(eye / sigma2, (n, K, K))
    if output == "logistic":
        p = expit(z)
        nll = np.sum(np.logaddexp(0.0, z) - Y * z, axis=1)
        return nll, p - Y, eye * (p * (1.0 - p))[:, :, None]
    if output == "softmax":
        lse = logsumexp(z, axis=1)
        p = np.exp(z - lse[:, None])
        nll = lse - np.sum(Y * z, axis=1)
        return nll, p - Y, eye * p[:, :, None] - p[:, :, None] * p[:, None, :]
    if output == "exp":
        mu = np.exp(z)
        nll = np.sum(mu - Y * z + gammaln(Y + 1.0), axis=1)
        return nll, mu - Y, eye * mu[:, :, None]
    raise ValueError(
        f"Unknown output activation {output!r}; expected one of {OUTPUTS}."
    )


def forward(spec, X=None):
    """Forward pass.

    Parameters
    ----------
    spec : MLPSpec
        The network.
    X : ndarray of shape (n, p), default=None
        Inputs; ``spec.X`` when ``None``.

    Returns
    -------
    inputs : list of ndarray
        ``inputs[l]`` of shape (n, fan_in_l) is the input of layer ``l``.
    pre : list of ndarray
        ``pre[l]`` of shape (n, fan_out_l), the pre-activations (``pre[-1]`` is ``z``).
    derivs : list of tuple
        ``(σ', σ'')`` at ``pre[l]`` for the hidden layers.
    """
    A = spec.X if X is None else X
    inputs, pre, derivs = [], [], []
    L = len(spec.coefs)
    for l_, (W, b) in enumerate(zip(spec.coefs, spec.intercepts, strict=True)):
        inputs.append(A)
        U = A @ W + b
        pre.append(U)
        if l_ < L - 1:
            A, d1, d2 = activation_derivatives(spec.activation, U)
            derivs.append((d1, d2))
    return inputs, pre, derivs


def predict(spec, X=None):
    """Network output after the output activation (``predict_proba`` for classifiers).

    Parameters
    ----------
    spec : MLPSpec
        The network.
    X : ndarray of shape (n, p), default=None
        Inputs; ``spec.X`` when ``None``.

    Returns
    -------
    ndarray of shape (n, K)
    """
    return output_mean(spec.output, forward(spec, X)[1][-1])


# ------------------------------------------------------------------ exact curvature
def _augment(A):
    out = np.empty((A.shape[0], A.shape[1] + 1))
    out[:, :-1] = A
    out[:, -1] = 1.0
    return out


def _rows_per_block(width):
    return max(1, _BLOCK_FLOATS // max(1, width))


def _diag_block(At, S_list, w, outs):
    """``Σᵢ wᵢ (ãᵢãᵢᵀ) ⊗ Sᵢ`` for each symmetric ``S`` of ``S_list``, into ``outs``.

    ``outs`` are views of shape (q·h, q·h), one per ``S``, written in place.

    Uses both symmetries: only the ``q(q+1)/2`` pairs ``a ≤ a'`` of ``ãᵢãᵢᵀ`` and the
    ``h(h+1)/2`` pairs ``c ≤ c'`` of each ``Sᵢ`` enter the product (a quarter of the
    flops of the full Kronecker sum); all ``S`` share the left factor.  Each packed
    ``h × h`` block ``M_ab`` (symmetric) is unpacked once, one block row at a time, and
    written straight into both of its places ``(a, b)`` and ``(b, a)`` of the target:
    no ``(q·h)²``-sized temporary.
    """
    n, q = At.shape
    h = S_list[0].shape[1]
    ia, ib = np.triu_indices(q)
    ic, ie = np.triu_indices(h)
    packed = [np.zeros((ia.size, ic.size)) for _ in S_list]
    block = _rows_per_block(ia.size + len(S_list) * ic.size)
    for s in range(0, n, block):
        sl = slice(s, min(n, s + block))
        left = At[sl][:, ia] * (At[sl][:, ib] * w[sl, None])
        for out, S in zip(packed, S_list, strict=True):
            out += left.T @ S[sl][:, ic, ie]
    pq, pc = _pair_index(q), _pair_index(h).ravel()
    for out, target in zip(packed, outs, strict=True):
        # full[a, c, b, e] = Σᵢ wᵢ ãₐã_b S_ce = M_ab[c, e], stored at pair(a, b),
        # pair(c, e); M_ab = M_ba is symmetric, so block (b, a) is M_ab as well
        view = target.reshape(q, h, q, h)
        for a in range(q):
            blk = np.take(out[pq[a, a:]], pc, axis=1).reshape(q - a, h, h)
            view[a, :, a:, :] = blk.transpose(1, 0, 2)
            view[a + 1 :, :, a, :] = blk[1:]


def _pair_index(m):
    """Positions of the pairs ``(min(a, b), max(a, b))`` in ``np.triu_indices(m)``.

    Returns ``P`` of shape (m, m) with ``P[a, b] = P[b, a]``.
    """
    ia, ib = np.triu_indices(m)
    pair = np.empty((m, m), dtype=np.intp)
    pair[ia, ib] = np.arange(ia.size)
    pair[ib, ia] = pair[ia, ib]
    return pair


def _cross_block(At_l, At_m, Kml, g_l, g_m, jac, w, *, gauss_newton=False):
    """Blocks ``∂²L/∂W̃_l∂W̃_m`` and ``C_lm`` (``l < m``), shape (q_l·h_l, q_m·h_m).

    ``Σᵢ wᵢ [ã_l ⊗ ã_m ⊗ K_{m,l}] + Σᵢ wᵢ [ã_l ⊗ g_m ⊗ ∂a_m/∂u_l]`` (the second term is
    the change of layer ``m``'s input with ``u_l``; its bias row is zero).  ``jac`` is
    either ``(n, h_{m-1}, h_l)`` or, when ``m = l + 1``, the diagonal ``(n, h_l)``.
    ``C_lm = Σᵢ wᵢ ã_l ⊗ ã_m ⊗ (g_m g_lᵀ)`` shares the first product.  With
    ``gauss_newton=True`` only the first term is formed (``C_lm`` is ``None``).
    """
    n, ql = At_l.shape
    qm = At_m.shape[1]
    hl, hm = Kml.shape[2], Kml.shape[1]
    parts = 1 if gauss_newton else 2
    t1 = np.zeros((ql * qm, parts * hm * hl))
    diag = jac.ndim == 2
    t2 = np.zeros((ql * hm, hl if diag else (qm - 1) * hl))
    block = _rows_per_block(ql * qm + hm * hl + ql * hm + (qm - 1) * hl)
    for s in range(0, n, block):
        sl = slice(s, min(n, s + block))
        wa = At_l[sl] * w[sl, None]
        left = (wa[:, :, None] * At_m[sl][:, None, :]).reshape(-1, ql * qm)
        right = Kml[sl].reshape(-1, hm * hl)
        if not gauss_newton:
            gg = g_m[sl][:, :, None] * g_l[sl][:, None, :]
            right = np.concatenate([right, gg.reshape(-1, hm * hl)], axis=1)
            left2 = (wa[:, :, None] * g_m[sl][:, None, :]).reshape(-1, ql * hm)
            t2 += left2.T @ jac[sl].reshape(left2.shape[0], -1)
        t1 += left.T @ right
    t1 = t1.reshape(ql, qm, parts, hm, hl)
    out = t1[:, :, 0].transpose(0, 3, 1, 2).copy()  # (a, b, c, e)
    if gauss_newton:
        return out.reshape(ql * hl, qm * hm), None
    cov = t1[:, :, 1].transpose(0, 3, 1, 2).reshape(ql * hl, qm * hm)
    if diag:  # out[a, b, c=b, e] += t2[a, e, b]
        t2 = t2.reshape(ql, hm, hl)
        idx = np.arange(hl)
        out[:, idx, idx, :] += t2.transpose(0, 2, 1)
    else:
        out[:, :, : qm - 1, :] += t2.reshape(ql, hm, qm - 1, hl).transpose(0, 3, 2, 1)
    return out.reshape(ql * hl, qm * hm), cov


def backward(spec, inputs, pre, derivs, *, hessian=True):
    """Backpropagate first (and second) derivatives of ``ℓᵢ`` to the pre-activations.

    Parameters
    ----------
    spec : MLPSpec
        The network.
    inputs, pre, derivs : list
        From :func:`forward`.
    hessian : bool, default=True
        Also return the per-sample pre-activation Hessians.

    Returns
    -------
    nll : ndarray of shape (n,)
        Per-sample NLL.
    g : list of ndarray
        ``g[l] = ∂ℓᵢ/∂u_l`` of shape (n, fan_out_l).
    hpre : list of ndarray or None
        ``∂²ℓᵢ/∂u_l²`` of shape (n, fan_out_l, fan_out_l).
    """
    nll, r, lam = output_loss(spec.output, pre[-1], spec.Y, spec.sigma2)
    L = len(spec.coefs)
    g = [None] * L
    hpre = [None] * L if hessian else None
    g[-1] = r
    if hessian:
        hpre[-1] = np.asarray(lam)
    for l_ in range(L - 1, 0, -1):
        W = spec.coefs[l_]
        d1, d2 = derivs[l_ - 1]
        e = g[l_] @ W.T
        g[l_ - 1] = e * d1
        if hessian:
            M = np.matmul(np.matmul(W, hpre[l_]), W.T)
            M *= d1[:, :, None] * d1[:, None, :]
            idx = np.arange(W.shape[0])
            M[:, idx, idx] += e * d2
            hpre[l_ - 1] = M
    return nll, g, hpre


def per_sample_grads(spec, inputs, g, nll_resid=None):
    """Per-sample gradients ``G`` in the documented order.

    Parameters
    ----------
    spec : MLPSpec
        The network.
    inputs : list of ndarray
        Layer inputs from :func:`forward`.
    g : list of ndarray
        ``∂ℓᵢ/∂u_l`` from :func:`backward`.
    nll_resid : ndarray of shape (n,) or None, default=None
        ``∂ℓᵢ/∂σ²`` when ``σ²`` is a parameter.

    Returns
    -------
    G : ndarray of shape (n, n_params)
    """
    n = spec.X.shape[0]
    G = np.empty((n, spec.n_params))
    start = 0
    for A, gl in zip(inputs, g, strict=True):
        q, h = A.shape[1] + 1, gl.shape[1]
        blk = G[:, start : start + q * h].reshape(n, q, h)
        blk[:, :-1, :] = A[:, :, None] * gl[:, None, :]
        blk[:, -1, :] = gl
        start += q * h
    if spec.sigma2_is_param:
        G[:, -1] = nll_resid
    return G


def _sigma2_terms(spec, pre):
    """``∂ℓᵢ/∂σ²`` and ``∂²ℓᵢ/∂(σ²)²`` for the Gaussian output."""
    s2 = spec.sigma2
    K = spec.Y.shape[1]
    rss = np.sum((spec.Y - pre[-1]) ** 2, axis=1)
    return K / (2 * s2) - rss / (2 * s2**2), -K / (2 * s2**2) + rss / s2**3


def mlp_exact(spec, *, hessian=True):
    """Exact NLL, per-sample gradients, Hessian and gradient covariance of a network.

    The Hessian is assembled block by block: for layers ``l ≤ m`` with augmented
    inputs ``ã`` and pre-activations ``u``,
    ``H_ll = Σᵢ wᵢ (ã_lã_lᵀ) ⊗ ∂²ℓᵢ/∂u_l²`` and
    ``H_lm = Σᵢ wᵢ [(ã_lã_mᵀ) ⊗ ∂²ℓᵢ/∂u_m∂u_l + ã_l ⊗ ∂ã_m/∂u_l ⊗ ∂ℓᵢ/∂u_m]``, each a
    single matrix product over samples (about ``n·d²`` flops in total), with the
    per-sample pre-activation Hessians backpropagated exactly (Gauss–Newton part plus
    the ``σ''`` residual part).  ``C = Σᵢ wᵢ gᵢgᵢᵀ`` has the same Kronecker form
    (``(ã_lã_mᵀ) ⊗ (g_l g_mᵀ)``) and shares those products.  The per-sample gradients
    ``gᵢ = [ã_l ⊗ ∂ℓᵢ/∂u_l]_l`` are closed form (one backward pass for all samples).

    Parameters
    ----------
    spec : MLPSpec
        The network and its data.
    hessian : bool, default=True
        Compute ``H`` and ``C`` (otherwise ``None`` is returned for both).

    Returns
    -------
    nll : ndarray of shape (n,)
        Per-sample NLL ``ℓᵢ``.
    G : ndarray of shape (n, n_params)
        Per-sample gradients ``∇ℓᵢ``.
    H : ndarray of shape (n_params, n_params) or None
        ``∇²Σᵢ wᵢℓᵢ`` (penalty excluded).
    C : ndarray of shape (n_params, n_params) or None
        ``Σᵢ wᵢ gᵢgᵢᵀ``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> spec = MLPSpec([rng.normal(size=(2, 3)), rng.normal(size=(3, 1))],
    ...                [np.zeros(3), np.zeros(1)], "tanh", "logistic",
    ...                rng.normal(size=(5, 2)), np.ones((5, 1)), np.ones(5))
    >>> nll, G, H, C = mlp_exact(spec)
    >>> G.shape, H.shape, bool(np.allclose(H, H.T)), bool(np.allclose(C, G.T @ G))
    ((5, 13), (13, 13), True, True)
    """
    inputs, pre, derivs = forward(spec)
    nll, g, hpre = backward(spec, inputs, pre, derivs, hessian=hessian)
    w = spec.sample_weight
    lphi = lphiphi = None
    if spec.sigma2_is_param:
        lphi, lphiphi = _sigma2_terms(spec, pre)
    G = per_sample_grads(spec, inputs, g, lphi)
    if not hessian:
        return nll, G, None, None
    H, C = _hessian_blocks(spec, inputs, derivs, g, hpre, w)
    if spec.sigma2_is_param:
        # ∂²ℓ/∂θ∂σ² = -∇_θℓ / σ² (the residual scales as 1/σ²).
        col = -(w @ G[:, :-1]) / spec.sigma2
        H[:-1, -1] = col
        H[-1, :-1] = col
        H[-1, -1] = np.sum(w * lphiphi)
        col = (w * lphi) @ G[:, :-1]
        C[:-1, -1] = col
        C[-1, :-1] = col
        C[-1, -1] = np.sum(w * lphi**2)
    return nll, G, H, C


def _hessian_blocks(spec, inputs, derivs, g, hpre, w, *, gauss_newton=False):
    """``H``, ``C`` by blocks; ``gauss_newton``: ``H``'s GGN part only, ``C = None``."""
    L = len(spec.coefs)
    At = [_augment(A) for A in inputs]
    sizes = [a * b for a, b in spec.layer_shapes]
    offs = np.concatenate([[0], np.cumsum(sizes)])
    H = np.empty((spec.n_params, spec.n_params))
    C = None if gauss_newton else np.empty((spec.n_params, spec.n_params))
    for l_ in range(L):
        sl = slice(offs[l_], offs[l_ + 1])
        if gauss_newton:
            _diag_block(At[l_], [hpre[l_]], w, [H[sl, sl]])
        else:
            gg = g[l_][:, :, None] * g[l_][:, None, :]
            _diag_block(At[l_], [hpre[l_], gg], w, [H[sl, sl], C[sl, sl]])
            del gg
        # T = ∂u_m/∂u_l and jac = ∂(input of m)/∂u_l for m = l+1, l+2, ...
        T = None
        for m in range(l_ + 1, L):
            d1 = derivs[m - 1][0]
            if m == l_ + 1:
                jac = d1  # diagonal ∂a_l/∂u_l
                T = spec.coefs[m].T[None, :, :] * d1[:, None, :]
            else:
                jac = d1[:, :, None] * T
                T = np.matmul(spec.coefs[m].T[None, :, :] * d1[:, None, :], T)
            Kml = np.matmul(hpre[m], T)
            sm = slice(offs[m], offs[m + 1])
            blk, cblk = _cross_block(
                At[l_], At[m], Kml, g[l_], g[m], jac, w, gauss_newton=gauss_newton
            )
            H[sl, sm] = blk
            H[sm, sl] = blk.T
            if cblk is not None:
                C[sl, sm], C[sm, sl] = cblk, cblk.T
    return H, C


def gauss_newton_kernel(spec):
    """Generalised Gauss–Newton matrix by the Hessian kernel (no Jacobians formed).

    The blocks of :func:`mlp_exact` with the second-order terms dropped: the
    activations' ``σ''`` in the backpropagated pre-activation Hessians and the
    first-derivative term of the cross blocks; what remains is
    ``Σᵢ wᵢ JᵢᵀΛᵢJᵢ`` (``Λᵢ = ∂²ℓᵢ/∂zᵢ²``, the output Fisher of every scikit-learn
    output), about ``n·d²`` flops instead of the ``n·K·d²`` of the Jacobians
    (:func:`ticselect.curvature._output.model_fisher_matrix`, the reference).  ``H``
    minus it is the residual term ``Σᵢ wᵢ Σ_k (∂ℓᵢ/∂z_k) ∇²z_k``.

    Parameters
    ----------
    spec : MLPSpec
        The network and its data.

    Returns
    -------
    ndarray of shape (n_params, n_params)
        Zero row and column on ``σ²`` when it is a parameter.
    """
    inputs, pre, derivs = forward(spec)
    first = [(d[0], np.zeros_like(d[0])) for d in derivs]  # σ'' = 0
    _, g, hpre = backward(spec, inputs, pre, first)
    F, _ = _hessian_blocks(
        spec, inputs, first, g, hpre, spec.sample_weight, gauss_newton=True
    )
    if spec.sigma2_is_param:
        F[-1, :] = 0.0
        F[:, -1] = 0.0
    return F


def output_jacobian(spec):
    """Per-sample Jacobians of the output pre-activations, ``∂zᵢ/∂θ``.

    Parameters
    ----------
    spec : MLPSpec
        The network and its data.

    Returns
    -------
    ndarray of shape (n, K, n_weights)
    """
    inputs, pre, derivs = forward(spec)
    n, K = pre[-1].shape
    L = len(spec.coefs)
    B = np.broadcast_to(np.eye(K), (n, K, K))  # ∂z/∂u_l, shape (n, K, h_l)
    blocks = [None] * L
    for l_ in range(L - 1, -1, -1):
        At = _augment(inputs[l_])
        blocks[l_] = (At[:, None, :, None] * B[:, :, None, :]).reshape(n, K, -1)
        if l_:
            B = np.matmul(B, spec.coefs[l_].T) * derivs[l_ - 1][0][:, None, :]
    return np.concatenate(blocks, axis=2)


# ------------------------------------------------------------ brute-force reference
def loss_function(spec, *, per_sample=False):
    """The summed (or per-sample) NLL as an autograd-differentiable function of ``θ``.

    Parameters
    ----------
    spec : MLPSpec
        The network and its data (parameter values are ignored).
    per_sample : bool, default=False
        Return the vector ``(ℓᵢ)`` instead of ``Σᵢ wᵢℓᵢ``.

    Returns
    -------
    callable
        ``theta -> float`` (or ndarray of shape (n,)).
    """
    acts = {
        "identity": lambda u: u,
        "logistic": aexpit,
        "tanh": anp.tanh,
        "relu": lambda u: anp.maximum(u, 0.0),
    }
    shapes, X, Y, w = spec.layer_shapes, spec.X, spec.Y, spec.sample_weight
    K = Y.shape[1]

    def f(theta):
        A, start = X, 0
        for l_, (a, b) in enumerate(shapes):
            M = anp.reshape(theta[start : start + a * b], (a, b))
            start += a * b
            A = anp.dot(A, M[:-1]) + M[-1]
            if l_ < len(shapes) - 1:
                A = acts[spec.activation](A)
        z = A
        if spec.output == "identity":
            s2 = theta[-1] if spec.sigma2_is_param else spec.sigma2
            li = 0.5 * K * anp.log(2 * np.pi * s2) + anp.sum((z - Y) ** 2, 1) / (2 * s2)
        elif spec.output == "logistic":
            li = anp.sum(anp.logaddexp(0.0, z) - Y * z, axis=1)
        elif spec.output == "softmax":
            li = alse(z, axis=1) - anp.sum(Y * z, axis=1)
        else:
            li = anp.sum(anp.exp(z) - Y * z + gammaln(Y + 1.0), axis=1)
        return li if per_sample else anp.sum(w * li)

    return f


def _theta(spec):
    th = flatten(spec.coefs, spec.intercepts)
    return np.append(th, spec.sigma2) if spec.sigma2_is_param else th


def brute_force_hessian(spec):
    """Reference Hessian: ``autograd.hessian`` of the flattened summed loss (slow).

    Parameters
    ----------
    spec : MLPSpec
        The network and its data.

    Returns
    -------
    ndarray of shape (n_params, n_params)
    """
    return hessian(loss_function(spec))(_theta(spec))


def brute_force_per_sample_grads(spec):
    """Reference per-sample gradients: ``autograd.jacobian`` of the loss vector (slow).

    Parameters
    ----------
    spec : MLPSpec
        The network and its data.

    Returns
    -------
    ndarray of shape (n, n_params)
    """
    return jacobian(loss_function(spec, per_sample=True))(_theta(spec))
