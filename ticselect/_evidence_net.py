"""Layer 2 — what the evidence of a network needs beyond :mod:`ticselect._evidence`.

Conventions
-----------
Default curvature (``hessian="auto"``)
    GLMs: the exact ``H`` (equal to the model Fisher for canonical links).  Networks:
    :data:`NETWORK_HESSIAN`, the model Fisher (GGN), chosen by
    ``benchmarks/selection.py --networks`` (see ``benchmarks/README.md``): lbfgs
    fits of networks often stop where ``H_λ`` is indefinite, and the exact
    Hessian's evidence ranks networks poorly even where it is defined (regret 41 and
    70 milli-nats against the GGN's 4 and 11 on breast cancer and digits).  KFAC is
    cheaper (0.46–0.49 of 3-fold CV's time against the GGN's 0.72–0.86, fit
    included) but regrets 41 milli-nats on digits (Kendall τ 0.44 against the
    GGN's 0.73).
``hessian="kfac"``
    The model Fisher in the KFAC approximation (block-diagonal over layers, each
    block ``n·A ⊗ G``; :mod:`ticselect.curvature._kfac`): ``Σ_l h_l·q_l³/3`` flops
    instead of the ``n·d²`` of the model Fisher and the ``d³/3`` of its
    factorisation.  It needs one prior precision per layer (scikit-learn's one
    ``alpha``, or ``prior_precision`` of shape ``(n_layers,)``).
Symmetries (``symmetry``)
    A network's likelihood and its Gaussian prior are invariant under the ``h!``
    permutations of the ``h`` units of a hidden layer and, for odd activations
    (``tanh``, ``identity``) and the logistic (``σ(-u) = 1 - σ(u)``, absorbed by
    the next layer's unpenalised bias), under the ``2ʰ`` sign flips of a unit's
    incoming weights, bias and outgoing weights.  A mode ``θ̂`` with no unit equal to
    another up to sign (and none with all weights zero) thus has ``Π_l h_l!·2^{h_l}``
    distinct copies of equal height, each with its own Laplace Gaussian, and the
    evidence of the network is the sum over them: ``log p(y)`` gains
    ``log_symmetry = Σ_l (log h_l! + h_l log 2)`` (``relu``: ``log h_l!`` only;
    MacKay 1992, "A practical Bayesian framework for backpropagation networks",
    the symmetry factor of the Occam factor).  It is a constant for one
    architecture, so it leaves rankings within a width untouched and matters only
    between widths (a wider network has more copies of each mode).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from .curvature._kfac import kfac_laplace
from .curvature._output import curvature_output_jacobians, kfac_layer_factors

__all__ = [
    "HESSIANS",
    "NETWORK_HESSIAN",
    "NETWORK_SYMMETRY",
    "NETWORK_UNPENALIZED",
    "is_network",
    "kfac_parts",
    "log_symmetry",
    "resolve_hessian",
    "symmetry_count",
]

#: Curvatures of the log-determinant ``evidence(hessian=)`` accepts.
HESSIANS = ("auto", "exact", "ggn", "kfac")
#: The networks' default curvature (``hessian="auto"``), chosen by the benchmark.
NETWORK_HESSIAN = "ggn"
#: How the networks' evidence treats their biases (``unpenalized="auto"``).
NETWORK_UNPENALIZED = "profile"
#: Whether the networks' evidence counts their symmetries (``symmetry="auto"``).
NETWORK_SYMMETRY = False

#: Hidden activations with the sign-flip symmetry (odd, or odd up to a constant).
_SIGN_FLIP = ("tanh", "identity", "logistic")


def is_network(curv):
    """Whether ``curv`` is a network's (its layers are known).

    Parameters
    ----------
    curv : Curvature

    Returns
    -------
    bool
    """
    return curv.family == "mlp" and bool(getattr(curv, "layers", None))


def resolve_hessian(curv, hessian):
    """The curvature ``hessian="auto"`` stands for, checked against the fit.

    Parameters
    ----------
    curv : Curvature
    hessian : {"auto", "exact", "ggn", "kfac"}

    Returns
    -------
    {"exact", "ggn", "kfac"}

    Raises
    ------
    ValueError
        An unknown name, ``"kfac"`` on a fit that is not a network, or ``"exact"``
        on a curvature built with ``hessian=False``.
    """
    if hessian not in HESSIANS:
        raise ValueError(
            f"evidence(): hessian must be one of {HESSIANS}, got {hessian!r}."
        )
    if hessian == "auto":
        return NETWORK_HESSIAN if is_network(curv) else "exact"
    if hessian == "kfac" and not is_network(curv):
        raise ValueError(
            "evidence(): hessian='kfac' approximates a network's model Fisher layer by "
            f"layer; {curv.model_name or 'this fit'} is not a network (use 'exact' or "
            "'ggn')."
        )
    if hessian == "exact" and curv.hessian is None:
        raise ValueError(
            "evidence(): hessian='exact' needs the Hessian, and this curvature was "
            "built with ts.curvature(..., hessian=False): use hessian='ggn' or 'kfac', "
            "or build it with the Hessian."
        )
    return hessian


def symmetry_count(hidden, activation):
    """``log`` of the number of copies of a mode under unit permutations and flips.

    Parameters
    ----------
    hidden : sequence of int
        Units of each hidden layer.
    activation : str
        Hidden activation (``relu`` has no sign flip).

    Returns
    -------
    float
        ``Σ_l log h_l! (+ h_l log 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(symmetry_count([3], "tanh"), np.log(6 * 8)))
    True
    >>> bool(np.isclose(symmetry_count([3, 2], "relu"), np.log(6 * 2)))
    True
    """
    flip = np.log(2.0) if activation in _SIGN_FLIP else 0.0
    return float(sum(gammaln(h + 1.0) + h * flip for h in hidden))


def log_symmetry(curv, symmetry):
    """The symmetry term the evidence of ``curv`` gains (0 unless a network).

    Parameters
    ----------
    curv : Curvature
    symmetry : bool or "auto"
        ``"auto"`` and ``True``: count a network's symmetries; ``False``: none.

    Returns
    -------
    float
    """
    if symmetry not in ("auto", True, False):
        raise ValueError(
            f"evidence(): symmetry must be 'auto', True or False, got {symmetry!r}."
        )
    if symmetry == "auto":
        symmetry = NETWORK_SYMMETRY
    if symmetry is False or not is_network(curv):
        return 0.0
    hidden = [layer["weights"].shape[1] for layer in curv.layers[:-1]]
    return symmetry_count(hidden, getattr(curv, "activation", "tanh"))


def kfac_parts(curv, diag, groups, grad, penalised_block, rcond):
    """KFAC log-determinant, prior traces and Newton decrement of a network.

    Parameters
    ----------
    curv : Curvature
        Of a network (``curv.layers``, ``curv.output_jacobians_fn``).
    diag : ndarray of shape (n_params,)
        Prior precision per parameter: one value on each layer's weights, 0 on the
        biases.
    groups : list of ndarray of int
        Indices of each prior group.
    grad : ndarray of shape (n_params,)
        Gradient of the penalised loss under this prior.
    penalised_block : bool
        Determinant and traces over the penalised rows only.
    rcond : float
        See :func:`ticselect.curvature._kfac.kfac_laplace`.

    Returns
    -------
    KFACLaplace or None
        ``None`` when a block is singular.

    Raises
    ------
    ValueError
        When the prior is not one precision per layer's weights.
    """
    lams, member = [], []
    where = np.full(curv.n_params, -1)
    for g, idx in enumerate(groups):
        where[idx] = g
    for layer in curv.layers:
        w, b = layer["weights"].ravel(), layer["bias"]
        vals = np.unique(diag[w])
        if vals.size != 1 or vals[0] <= 0 or np.any(diag[b] != 0):
            raise ValueError(
                "evidence(): hessian='kfac' needs one prior precision per layer on its "
                "weights and none on its biases (a float, or prior_precision of shape "
                "(n_layers,)); use hessian='ggn' for another prior."
            )
        lams.append(float(vals[0]))
        member.append(int(where[w[0]]))
    factors = kfac_layer_factors(curvature_output_jacobians(curv, "evidence()"))
    return kfac_laplace(
        factors, lams, member, len(groups), grad, gauge_last=curv.gauge.shape[1] > 0,
        penalised_block=penalised_block, rcond=rcond,
    )  # fmt: skip
