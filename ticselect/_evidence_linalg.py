"""Layer 2 — the factorisations behind :mod:`ticselect._evidence`.

Conventions
-----------
Equilibration
    ``A`` is factored as its unit-diagonal equilibration ``B = S A S``
    (``S = diag(s)``, ``sⱼ = A_jj^{-1/2}``), ``B = LLᵀ``; a factor is the tuple
    ``(L, s, log|A|)``.  ``A`` is "indefinite" when ``dpotrf`` breaks down (or a
    diagonal entry is ``≤ 0``) and "singular" when the pivots ``Lⱼⱼ`` span more than
    ``1/rcond`` in squared ratio (the rule of :mod:`ticselect.curvature._factor`).
In place
    The factors overwrite the matrices they are given (no ``d × d`` temporary): at
    ``d ≈ 5 000`` every such copy is 200 MB, and the network evidence is about
    nothing but such matrices.
Profile split (:func:`profile_factor`)
    With a diagonal prior, the penalised coordinates ``P`` come first and the
    unpenalised ones ``U`` last: ``A = [[W, Bᵀ], [B, D]]``.  The leading block of the
    Cholesky factor of the equilibrated ``A`` is the factor of the equilibrated
    ``W`` (the penalised block the profile evidence needs), and the rest follows
    from the small Schur complement ``D̃ - L₂₁L₂₁ᵀ`` (``L₂₁ = B̃L₁₁⁻ᵀ``): the factor
    of ``A`` in this order for the price of the factor of ``W`` plus ``|P|²|U|``
    flops.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = [
    "cholesky",
    "decrement",
    "inverse_traces",
    "profile_factor",
    "rank_logdet",
]


def _equilibrate(A):
    """Scale ``A`` in place to unit diagonal; ``s`` or ``None`` (a pivot ``≤ 0``)."""
    dg = np.diag(A).copy()
    if np.any(dg <= 0):
        return None
    s = 1.0 / np.sqrt(dg)
    A *= s[:, None]
    A *= s[None, :]
    return s


def _potrf(B):
    """Lower Cholesky factor of the symmetric C- or F-ordered ``B``, in its memory.

    Returns the factor (an F-ordered view of ``B``'s memory, upper triangle zero) or
    ``None`` when ``dpotrf`` breaks down.
    """
    a = B.T if B.flags.c_contiguous else B  # both F-ordered; symmetric
    c, info = linalg.lapack.dpotrf(a, lower=1, clean=1, overwrite_a=1)
    return None if info != 0 else c


def _pivots_ok(piv, rcond):
    return bool(piv.min() ** 2 > rcond * piv.max() ** 2)


def _factor(A, rcond):
    """``(c, s, reason)`` of ``A`` in place: ``reason`` is ``""`` when it is fine.

    ``c`` is ``None`` when the factorisation broke down.
    """
    s = _equilibrate(A)
    if s is None:
        return None, None, "indefinite"
    c = _potrf(A)
    if c is None:
        return None, s, "indefinite"
    return c, s, "" if _pivots_ok(np.diag(c), rcond) else "singular"


def _logdet(c, s):
    return 2.0 * float(np.sum(np.log(np.diag(c))) - np.sum(np.log(s)))


def cholesky(A, rcond, *, overwrite=False):
    """Cholesky of the unit-diagonal equilibration of ``A``: ``(c, s, logdet)``.

    Or the reason it is not numerically positive definite: ``"indefinite"`` when
    the factorisation breaks down, ``"singular"`` when its pivots span more than
    ``1/rcond``.

    Parameters
    ----------
    A : ndarray of shape (k, k)
        Symmetric.
    rcond : float
    overwrite : bool, default=False
        Factor in ``A``'s memory (``A`` is destroyed).

    Returns
    -------
    tuple or str
    """
    if A.shape[0] == 0:
        return np.zeros((0, 0)), np.zeros(0), 0.0
    c, s, reason = _factor(A if overwrite else np.array(A, dtype=float), rcond)
    return reason or (c, s, _logdet(c, s))


def profile_factor(W, B, D, g, rcond):
    """The factor of the penalised block ``W`` and the status of the whole ``A``.

    ``A = [[W, Bᵀ], [B, D]]`` (penalised coordinates first); the factor of the
    whole ``A`` costs only its Schur complement beyond the factor of ``W``.

    Parameters
    ----------
    W : ndarray of shape (r, r)
        Penalised block of ``A`` (prior included); factored in place.
    B : ndarray of shape (m, r)
        Unpenalised-by-penalised block (overwritten).
    D : ndarray of shape (m, m)
        Unpenalised block (overwritten).
    g : ndarray of shape (r + m,)
        Gradient in the same order.
    rcond : float

    Returns
    -------
    fac_w : tuple or str
        :func:`cholesky` of ``W``, or why it is not positive definite.
    full : str
        Why the whole ``A`` is not numerically positive definite (pivots of ``W``
        included), ``""`` when it is.
    dec : float or None
        ``½ gᵀA⁻¹g`` when ``A`` is positive definite; else ``½ g_Pᵀ W⁻¹ g_P`` when
        ``W`` is; else ``None``.
    """
    r = W.shape[0]
    c_w, s_w, reason_w = _factor(W, rcond) if r else (W, np.zeros(0), "")
    if c_w is None:
        return reason_w, "indefinite", None
    fac_w = reason_w or (c_w, s_w, _logdet(c_w, s_w))
    y_w = (
        linalg.solve_triangular(c_w, s_w * g[:r], lower=True, check_finite=False)
        if r
        else np.zeros(0)
    )
    dec_w = 0.5 * float(y_w @ y_w)
    full = _schur(c_w, s_w, B, D, rcond)
    if isinstance(full, str):
        return fac_w, full or reason_w, dec_w if not reason_w else None
    L21, c_u, s_u = full
    y_u = linalg.solve_triangular(
        c_u, s_u * g[r:] - L21 @ y_w, lower=True, check_finite=False
    )
    return fac_w, reason_w, 0.5 * float(y_w @ y_w + y_u @ y_u)


def _schur(c_w, s_w, B, D, rcond):
    """``(L₂₁, L₂₂, s_U)`` of the whole ``A`` given the factor of ``W``, or why not.

    "singular" when the pivots of the whole factor (those of ``W`` included) span
    more than ``1/rcond``.
    """
    if D.shape[0] == 0:
        return np.zeros((0, c_w.shape[0])), D, np.zeros(0)
    s_u = _equilibrate(D)
    if s_u is None:
        return "indefinite"
    B *= s_u[:, None]
    B *= s_w[None, :]
    L21 = linalg.solve_triangular(c_w, B.T, lower=True, check_finite=False).T
    D -= L21 @ L21.T
    c_u = _potrf(D)
    if c_u is None:
        return "indefinite"
    if not _pivots_ok(np.concatenate([np.diag(c_w), np.diag(c_u)]), rcond):
        return "singular"
    return L21, c_u, s_u


def inverse_traces(fac, priors):
    """``tr(A⁻¹Mⱼ)`` for each prior block ``Mⱼ`` (vectors are diagonals).

    ``fac`` is a :func:`cholesky` factor; its ``L`` is overwritten by ``L⁻¹``.
    """
    c, s, _ = fac
    if c.shape[0] == 0:
        return [0.0 for _ in priors]
    Linv, info = linalg.lapack.dtrtri(c, lower=1, overwrite_c=1)
    if info != 0:  # pragma: no cover - c has a positive diagonal
        raise linalg.LinAlgError(f"dtrtri failed with info={info}")
    diag_inv = None
    out = []
    for M in priors:
        if M.ndim == 1:  # diag(A⁻¹)ⱼ = sⱼ² Σᵢ (L⁻¹)ᵢⱼ²
            if diag_inv is None:
                diag_inv = np.einsum("ij,ij->j", Linv, Linv) * s**2
            out.append(float(M @ diag_inv))
        else:  # tr(A⁻¹M) = tr(L⁻¹ (DMD) L⁻ᵀ)
            B = Linv @ (M * s[:, None] * s[None, :])
            out.append(float(np.sum(B * Linv)))
    return out


def decrement(fac, g):
    """``½ gᵀA⁻¹g`` from a :func:`cholesky` factor of ``A``."""
    c, s, _ = fac
    if c.shape[0] == 0:
        return 0.0
    x = s * linalg.cho_solve((c, True), s * g, check_finite=False)
    return 0.5 * float(g @ x)


def rank_logdet(M):
    """Rank and pseudo-log-determinant of a PSD prior block (vector = diagonal)."""
    if M.ndim == 1:
        pos = M[M > 0]
        return int(pos.size), float(np.sum(np.log(pos)))
    w = linalg.eigvalsh(M) if M.size else np.zeros(0)
    pos = w[w > 1e-12 * max(w.max(initial=0.0), 0.0)] if w.size else w
    return int(pos.size), float(np.sum(np.log(pos)))
