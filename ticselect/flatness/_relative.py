"""Layer 2 — relative flatness (Petzka, Kamp, Adilova, Sminchisescu & Boley 2021).

Conventions
-----------
Petzka et al. ("Relative Flatness and Generalization", NeurIPS 2021, arXiv
2001.00939) define, for a layer with weight vectors ``w_s`` (the incoming weights of
unit ``s``), ``κ_Tr(w) = Σ_{s,s'} ⟨w_s, w_s'⟩ tr(H_{s,s'})`` and
``κ_λmax(w) = Σ_s ‖w_s‖² λ_max(H_{s,s})``, with ``H_{s,s'}`` the block of the Hessian
of the **empirical risk** (mean loss) ``L̂ = L/n`` for ``w_s`` and ``w_s'``.  Here ``H``
is the data Hessian of :mod:`ticselect.curvature._result` divided by ``n = Σ wᵢ``; the
penalty is not part of ``L̂``.

Normalisation (``normalize=True``, the default) follows the authors' code
(``CorrelationFlatnessGeneralization/measure_comparison.py`` of
github.com/kampmichael/RelativeFlatnessAndGeneralization): every input ``a`` of the
layer (a feature) is divided by its standard deviation ``σ_a`` over the training
rows (``numpy.std``, ``ddof=0``; here weighted by ``wᵢ``; features with ``σ_a = 0``
are left as they are) and its outgoing weights multiplied by ``σ_a``, a
reparameterisation that leaves the function unchanged.  One departure: the outgoing
weights of a feature that is 0 on every training row (a dead ReLU unit) are dropped
from ``⟨w_s, w_s'⟩``; they do not change the function, and the authors' code, which
keeps them, is not invariant when such a unit is rescaled.  The code does it by
rescaling the previous ReLU layer; ticselect computes the same numbers in closed
form from ``H``: with ``D = diag(σ)``, ``W̃ = DW`` and ``H̃ = D⁻¹HD⁻¹`` on the layer's
block, for any activation.  κ of the normalised layer is invariant to positive
per-neuron rescalings of the layer below it (ReLU) and to rescaling the input
features of a GLM, while ``tr H`` is not.  The authors' code adds the weight-decay
term ``2α‖w_s‖²`` when the net was trained with weight decay; ticselect does not
(the definition is on the empirical risk).
"""

from __future__ import annotations

import re

import numpy as np
from scipy import linalg

from ..curvature._spectral import check_curvature

__all__ = ["relative_flatness"]

_INTERCEPT = re.compile(r"^(intercept|const|\(intercept\))$", re.IGNORECASE)


def _layer_blocks(curv):
    """Index arrays ``(fan_in, fan_out)`` of the weight matrix of every layer.

    Networks carry them (``curv.layers``, set by the MLP adapter).  A GLM has one
    "layer": its coefficient block, one column per class (linear predictor), read
    from the parameter names: intercepts (``intercept``, ``const``, ``Intercept``) and
    the dispersion are excluded, multinomial names ``"k:name"`` are grouped by ``k``.
    """
    layers = getattr(curv, "layers", None)
    if layers is not None:
        return [np.asarray(lay["weights"]) for lay in layers]
    if curv.family == "mlp":
        raise ValueError(
            "This network Curvature has no layer structure (curv.layers); build it "
            "with ticselect.curvature(model, X, y)."
        )
    groups = {}
    n_coef = curv.n_params - int(curv.dispersion_is_param)
    for j, name in enumerate(curv.param_names[:n_coef]):
        prefix, _, base = name.rpartition(":")
        if _INTERCEPT.match(base.strip()):
            continue
        groups.setdefault(prefix, []).append(j)
    sizes = {len(v) for v in groups.values()}
    if not groups or sizes == {0}:
        raise ValueError(
            f"{curv.model_name}: relative flatness needs a weight (coefficient) "
            "block, but this model has only an intercept and/or a dispersion."
        )
    if len(sizes) != 1:
        raise ValueError(
            f"{curv.model_name}: the coefficient groups {list(groups)} have different "
            "sizes; relative flatness needs one weight vector per linear predictor."
        )
    return [np.column_stack([np.asarray(v) for v in groups.values()])]


def resolve_layer(curv, layer):
    """``(index array (fan_in, fan_out), layer number ≥ 0)`` of ``layer``."""
    blocks = _layer_blocks(curv)
    n_layers = len(blocks)
    idx_layer = n_layers - 1 if layer is None else int(layer)
    if not -n_layers <= idx_layer < n_layers:
        raise ValueError(
            f"layer must be in [-{n_layers}, {n_layers - 1}] for this model "
            f"({n_layers} weight layer(s)), got {layer}."
        )
    return blocks[idx_layer], idx_layer % n_layers


def feature_scales(curv, idx):
    """Weighted standard deviation (``ddof=0``) of the input of each row of ``idx``.

    Returns ``(sd, dead)``: ``sd`` is 1 for features whose standard deviation is 0
    (as the authors' code), ``dead`` marks features that are 0 on every row.
    """
    fn = getattr(curv, "output_jacobians_fn", None)
    if fn is None:
        raise ValueError(
            f"{curv.model_name or 'This curvature'}: the normalised relative flatness "
            "needs the layer's input features, which this Curvature does not carry "
            "(curv.output_jacobians_fn). Build it with ticselect.curvature(model, X, "
            "y), or pass normalize=False."
        )
    oj = fn()
    w = oj.sample_weight / oj.sample_weight.sum()
    first = idx[:, 0]
    for A, ind in zip(oj.inputs, oj.index, strict=True):
        rows = {int(p): a for a, p in enumerate(ind[:, 0]) if p >= 0}
        if all(int(p) in rows for p in first):
            cols = A[:, [rows[int(p)] for p in first]]
            mean = w @ cols
            sd = np.sqrt(np.clip(w @ (cols - mean) ** 2, 0.0, None))
            dead = ~np.any(cols != 0, axis=0)
            return np.where(sd > 0, sd, 1.0), dead
    raise ValueError(  # pragma: no cover - every builder's layers match
        "The layer's weights do not match the inputs of any layer of "
        "curv.output_jacobians_fn(); pass normalize=False."
    )


def relative_flatness(curv, layer=None, *, normalize=True, kind="trace"):
    """Relative flatness ``κ_Tr`` (or ``κ_λmax``) of one weight layer.

    For a layer with weight matrix ``W`` whose column ``w_s`` holds the incoming
    weights of output unit ``s`` (scikit-learn's ``coefs_[l]`` has shape
    ``(fan_in, fan_out)``), ``κ_Tr(W) = Σ_{s,s'} ⟨w_s, w_s'⟩ tr(H_{s,s'})`` and
    ``κ_λmax(W) = Σ_s ‖w_s‖² λ_max(H_{s,s})``, with ``H_{s,s'}`` the block of the
    Hessian of the mean loss ``L̂ = L/n`` for ``w_s`` and ``w_s'`` (Petzka, Kamp,
    Adilova, Sminchisescu & Boley, "Relative Flatness and Generalization", arXiv
    2001.00939).  Biases are not part of ``W``.  With ``normalize=True`` the layer's
    input features are first scaled to unit standard deviation, as the authors' code
    does (see :mod:`ticselect.flatness._relative`): κ is then invariant to positive
    per-neuron rescalings of a ReLU layer below and to the scale of a GLM's features;
    without it, only to rescaling a layer by ``c`` and its successor by ``1/c``.

    Parameters
    ----------
    curv : Curvature
        A network (``curv.layers``) or a GLM (its coefficient block).
    layer : int or None, default=None
        Weight layer ``l`` (``coefs_[l]``; negative indices count from the output).
        ``None`` is the last one, whose inputs are the penultimate layer's
        activations (the feature layer of Petzka et al.).  GLMs have one layer, 0.
    normalize : bool, default=True
        Normalise the layer's input features (needs ``curv.output_jacobians_fn``).
    kind : {"trace", "lambda_max"}, default="trace"
        ``κ_Tr`` or ``κ_λmax``.

    Returns
    -------
    float
        In units of the mean loss.

    Raises
    ------
    ValueError
        If the model has no weight block, ``layer`` is out of range, or ``kind`` is
        unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> import ticselect as ts
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)); y = X @ [1.0, -2.0] + rng.normal(size=50)
    >>> curv = ts.curvature(LinearRegression().fit(X, y), X, y, dispersion=1.0)
    >>> beta = curv.params[:2]                   # κ = ‖β‖² tr(XᵀX)/n, one output
    >>> kappa = relative_flatness(curv, normalize=False)
    >>> bool(np.isclose(kappa, beta @ beta * np.sum(X**2) / 50))
    True
    """
    check_curvature(curv, "relative_flatness()")
    if kind not in ("trace", "lambda_max"):
        raise ValueError(f"kind must be 'trace' or 'lambda_max', got {kind!r}.")
    idx, _ = resolve_layer(curv, layer)
    p, h = idx.shape
    W = curv.params[idx]
    Hb = curv.hessian[np.ix_(idx.ravel(), idx.ravel())].reshape(p, h, p, h)
    Hb = Hb / curv.n_samples
    if normalize:
        sd, dead = feature_scales(curv, idx)
        W = np.where(dead[:, None], 0.0, W * sd[:, None])
        Hb = Hb / (sd[:, None, None, None] * sd[None, None, :, None])
    if kind == "trace":
        T = np.einsum("asat->st", Hb)  # tr(H_{s,s'})
        return float(np.sum((W.T @ W) * T))
    lmax = [linalg.eigvalsh(Hb[:, s, :, s])[-1] for s in range(h)]
    return float(np.sum(np.sum(W**2, axis=0) * np.asarray(lmax)))
