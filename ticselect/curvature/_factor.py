"""Layer 1 — one factorisation of the penalised Hessian per curvature.

Conventions
-----------
Matrices are those of :mod:`ticselect.curvature._result`, restricted to the
complement of the gauge directions (:class:`~ticselect.curvature._linalg.
GaugeComplement`, ``k = n_params - n_gauge``).  :func:`penalized_solve` factorises
``H_λ = H + diag(penalty)`` **once** and returns every quantity that needs its
inverse: the TIC penalty ``tr(H_λ⁻¹C)``, the effective dimension ``tr(H_λ⁻¹H)`` and
the Newton decrement ``gᵀH_λ⁻¹g / 2``.  Two routes:

``"cholesky"`` (``H_λ`` numerically positive definite)
    A Cholesky factor of the unit-diagonal equilibration ``D H_λ D``
    (``D = diag(H_λ)^{-1/2}``: parameter units do not matter) and its inverse
    (``potri``); every trace is then a sum of an elementwise product, the decrement
    a quadratic form.  ``d³`` flops in all, no eigenvectors.  The numbers are those
    of :func:`~ticselect.curvature._linalg.solve_trace` (to rounding).
``"subspace"`` (Cholesky fails or its pivots span more than ``1/rcond``)
    The fit is not at a minimum (``H_λ`` indefinite) or some parameters are not
    determined (``H_λ`` singular).  Everything is then defined on one subspace
    ``S``: the **well-determined positive-curvature coordinates of the data
    Hessian**, found by a Cholesky factorisation with diagonal pivoting (LAPACK
    ``pstrf``) of ``D H D``, which stops when no remaining pivot exceeds ``rcond``
    times the largest diagonal entry.  ``H_SS`` is then positive definite and the
    parameters outside ``S`` are held at their fitted values (fixing them is a
    model with ``r = |S|`` parameters, for which TIC is well defined).  On ``S``:
    ``tic_penalty = tr(H_λ,SS⁻¹ C_SS) ≥ 0``, ``effective_dim = tr(H_λ,SS⁻¹ H_SS)``
    lies in ``[0, r]`` and equals ``r`` without a penalty, the decrement uses
    ``g_S``, and :func:`ticselect.criteria` takes the soft rank of ``H_SS`` as
    ``r - λ tr((H_SS + λI)⁻¹)``: with a uniform penalty ``λ`` (every network, and
    every GLM with unpenalised intercepts only) that trace follows by Woodbury from
    the inverse already computed, so no eigenvalue is needed (``tr(H_SS)`` and a
    Lanczos ``‖H_SS‖₂`` give the soft-rank bounds).  For an exactly aliased parameter (a
    duplicated column) this is the pseudo-inverse answer: the TIC of the identified
    model.  Cost: the failed Cholesky, ``pstrf`` and one Cholesky and inverse of
    the ``r × r`` block — about ``5d³/3`` flops, still no eigenvectors (a symmetric
    eigendecomposition with vectors costs 3–4 times more on network Hessians,
    whatever the LAPACK driver, see ``benchmarks/README.md``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.sparse.linalg import eigsh

from ._linalg import DEFAULT_RCOND, GaugeComplement, SingularHessianWarning

__all__ = ["PenalizedSolve", "frobenius_dot", "penalized_solve", "top_eigenvalue"]


@dataclass(frozen=True)
class PenalizedSolve:
    """Quantities that need ``H_λ⁻¹``, from one factorisation (see the module doc).

    Attributes
    ----------
    route : {"cholesky", "subspace"}
        How ``H_λ`` was factorised.
    dim : int
        ``k``, the dimension of the gauge complement.
    rank : int
        ``r``, the dimension of the subspace used (``k`` on the Cholesky route).
    tic_penalty : float
        ``tr(H_λ⁻¹ C)`` on that subspace.
    effective_dim : float
        ``tr(H_λ⁻¹ H)`` on that subspace (``k`` without a penalty on the Cholesky
        route).
    newton_decrement : float
        ``gᵀ H_λ⁻¹ g / 2`` on that subspace (NLL units).
    subspace : ndarray of int or None
        Indices, in the coordinates of the gauge complement, of the subspace ``S``
        (``None``: all ``k``).
    failed_at : int
        Cholesky column where ``H_λ`` failed to be positive definite (0-based; ``-1``
        when it did not fail but its pivots spanned more than ``1/rcond``, or on the
        Cholesky route).
    rcond : float
        The relative cutoff used.
    subspace_trace, subspace_top : float
        ``tr(H_SS)`` and the largest eigenvalue of ``H_SS`` (subspace route; 0 on
        the Cholesky route), for the soft rank's trace/spectral-norm bounds.
    shifted_lambda : float
        The common value ``λ`` of the non-zero penalty entries in ``S`` (0 when they
        differ, or on the Cholesky route).
    shifted_trace : float or None
        ``tr((H_SS + λI)⁻¹)`` at ``λ = shifted_lambda`` (subspace route with a
        uniform penalty), from the inverse already computed, so that the soft rank
        ``r - λ tr((H_SS + λI)⁻¹)`` costs no second factorisation; ``None`` otherwise.
    logdet : float
        ``log det H_λ`` on the gauge complement, from the Cholesky factor's diagonal
        (Cholesky route; ``nan`` on the subspace route, where ``H_λ`` is not
        positive definite).  The Laplace evidence (:func:`ticselect.evidence`) reads
        it.
    """

    route: str
    dim: int
    rank: int
    tic_penalty: float
    effective_dim: float
    newton_decrement: float
    subspace: np.ndarray | None
    failed_at: int
    rcond: float
    subspace_trace: float = 0.0
    subspace_top: float = 0.0
    shifted_lambda: float = 0.0
    shifted_trace: float | None = None
    logdet: float = float("nan")

    def warn(self, what="penalised Hessian", stacklevel=3):
        """Give the :class:`SingularHessianWarning` of the subspace route (once).

        Parameters
        ----------
        what : str, default="penalised Hessian"
            Name of the matrix in the message.
        stacklevel : int, default=3
            Passed to :func:`warnings.warn`.
        """
        if self.route == "cholesky":
            return
        where = (
            f"its Cholesky factorisation breaks down at pivot {self.failed_at + 1}"
            if self.failed_at >= 0
            else f"its Cholesky pivots span more than 1/rcond = {1 / self.rcond:g}"
        )
        warnings.warn(
            f"The {what} is not positive definite: {where} of {self.dim} (of its "
            "unit-diagonal equilibration diag^-1/2 A diag^-1/2): the fit is not at "
            "a minimum (indefinite) or some parameters are not determined "
            f"(singular); numerical rank {self.rank} of {self.dim} at "
            f"rcond={self.rcond:g}: the TIC penalty, effective dimension and soft "
            f"rank are computed on the {self.rank} directions where the data "
            "Hessian has well-determined positive curvature, the other parameters "
            "held at their fitted values. Refit to convergence; a penalty (a larger "
            "alpha or smaller C) or fewer parameters makes it regular.",
            SingularHessianWarning,
            stacklevel=stacklevel,
        )


def _equilibration(diag_a):
    """``diag(A)^(-1/2)`` where the diagonal is positive, else 1."""
    pos = diag_a > 0
    return np.where(pos, 1.0 / np.sqrt(np.where(pos, diag_a, 1.0)), 1.0)


def _sym_inverse(c):
    """Full symmetric inverse from a lower Cholesky factor ``c`` (overwritten)."""
    inv, info = linalg.lapack.dpotri(c, lower=1, overwrite_c=1)
    if info != 0:  # pragma: no cover - the factor has a positive diagonal
        raise linalg.LinAlgError(f"dpotri failed with info={info}")
    # copy the lower triangle to the upper one in row blocks (no d×d temporary)
    k = inv.shape[0]
    step = 256
    for i0 in range(0, k, step):
        i1 = min(k, i0 + step)
        blk = inv[i0:i1, i0:i1]
        blk[...] = np.tril(blk) + np.tril(blk, -1).T
        inv[i0:i1, i1:] = inv[i1:, i0:i1].T
    return inv


def frobenius_dot(a, b):
    """``Σᵢⱼ aᵢⱼ bᵢⱼ`` without copying Fortran-ordered operands.

    Valid when transposing both operands leaves the sum unchanged: ``a`` and ``b``
    symmetric, or ``a is b`` (a squared Frobenius norm).  ``np.vdot`` ravels in C
    order, which copies a Fortran-ordered array (a LAPACK result): its transpose is
    C-ordered and is used instead.

    Parameters
    ----------
    a, b : ndarray of shape (m, m)

    Returns
    -------
    float

    Examples
    --------
    >>> a = np.asfortranarray([[2.0, 1.0], [1.0, 3.0]])
    >>> frobenius_dot(a, np.eye(2)), frobenius_dot(a, a)
    (5.0, 15.0)
    """

    def c_view(m):
        return m.T if m.flags.f_contiguous and not m.flags.c_contiguous else m

    return float(np.vdot(c_view(a), c_view(b)))


def _apply_penalty(A, pen):
    """``A + Pr`` for a restricted penalty given as a vector or a matrix."""
    if pen.ndim == 1:
        A[np.diag_indices_from(A)] += pen
    else:
        A += pen
    return A


def penalized_solve(hessian, grad_cov, penalty, gradient, gauge, *, rcond=None):
    """Factorise the penalised, gauge-restricted Hessian once (see the module doc).

    Parameters
    ----------
    hessian, grad_cov : ndarray of shape (d, d)
        ``H`` and ``C`` (not modified).
    penalty : ndarray of shape (d,)
        Diagonal of the penalty in loss units.
    gradient : ndarray of shape (d,)
        Gradient of the penalised loss.
    gauge : ndarray of shape (d, g) or GaugeComplement
        Gauge directions to remove.
    rcond : float or None, default=None
        Relative cutoff (``DEFAULT_RCOND`` when ``None``).

    Returns
    -------
    PenalizedSolve

    Raises
    ------
    ValueError
        When ``H`` or ``C`` has non-finite entries.

    Examples
    --------
    >>> H, C = np.diag([2.0, 4.0]), np.eye(2)
    >>> s = penalized_solve(H, C, np.zeros(2), np.array([2.0, 4.0]), None)
    >>> s.route, s.tic_penalty, s.effective_dim, s.newton_decrement
    ('cholesky', 0.75, 2.0, 3.0)
    """
    rcond = DEFAULT_RCOND if rcond is None else float(rcond)
    d = hessian.shape[0]
    gc = gauge if isinstance(gauge, GaugeComplement) else GaugeComplement(gauge, d)
    k = gc.n_free
    if k == 0:
        return PenalizedSolve("cholesky", 0, 0, 0.0, 0.0, 0.0, None, -1, rcond)
    if not (np.all(np.isfinite(hessian)) and np.all(np.isfinite(grad_cov))):
        raise ValueError(
            "The penalised Hessian or the gradient covariance has non-finite "
            "entries; the fitted parameters are probably at an overflow. Check the "
            "fit."
        )
    H = gc.restrict(hessian)
    pen = gc.diagonal(penalty)
    g = gc.vector(gradient)
    penalised = bool(np.any(penalty > 0))
    A = _apply_penalty(np.array(H, dtype=float), pen)
    s = _equilibration(np.diag(A).copy())
    A *= s[:, None]
    A *= s[None, :]
    # A is symmetric: its transpose is the Fortran-ordered array LAPACK needs
    c, info = linalg.lapack.dpotrf(A.T, lower=1, clean=0, overwrite_a=1)
    failed_at = info - 1 if info > 0 else -1
    if info == 0:
        piv = np.diag(c)
        if piv.min() ** 2 > rcond * piv.max() ** 2:
            # log det H_λ = log det(D H_λ D) - 2 Σ log D
            logdet = 2.0 * float(np.sum(np.log(piv)) - np.sum(np.log(s)))
            inv = _sym_inverse(c)
            del c
            inv *= s[:, None]
            inv *= s[None, :]  # H_λ⁻¹ = D (D H_λ D)⁻¹ D
            C = gc.restrict(grad_cov)
            tic = frobenius_dot(inv, C)
            eff = frobenius_dot(inv, H) if penalised else float(k)
            dec = float(0.5 * g @ inv @ g)
            return PenalizedSolve(
                "cholesky", k, k, tic, eff, dec, None, -1, rcond, logdet=logdet
            )
    del c
    # subspace route: well-determined positive-curvature coordinates of D H D,
    # written into A's buffer (no fresh d×d array to page in)
    Hs = np.multiply(H, s[:, None], out=A)
    Hs *= s[None, :]
    top = float(np.max(np.diag(Hs))) if k else 0.0
    if top <= 0:
        return PenalizedSolve(
            "subspace", k, 0, 0.0, 0.0, 0.0, np.zeros(0, int), failed_at, rcond
        )
    _, piv, r, info = linalg.lapack.dpstrf(
        Hs.T, tol=rcond * top, lower=1, overwrite_a=1
    )
    del Hs
    S = np.sort(piv[:r] - 1)
    ix = np.ix_(S, S)
    sS = s[S]
    HS = H[ix]
    trace_S, top_S = float(np.trace(HS)), top_eigenvalue(HS)
    AS = _apply_penalty(HS.copy(), pen[S] if pen.ndim == 1 else pen[ix])
    HS *= sS[:, None]
    HS *= sS[None, :]
    AS *= sS[:, None]
    AS *= sS[None, :]
    cS, info = linalg.lapack.dpotrf(AS.T, lower=1, clean=0, overwrite_a=1)
    if info != 0:  # pragma: no cover - H_SS is positive definite, P_SS ⪰ 0
        raise linalg.LinAlgError("Cholesky of the well-determined block failed")
    inv = _sym_inverse(cS)  # (D H_λ D)_SS⁻¹
    CS = gc.restrict(grad_cov, subset=S)
    CS *= sS[:, None]
    CS *= sS[None, :]
    tic = frobenius_dot(inv, CS)
    eff = frobenius_dot(inv, HS) if penalised else float(r)
    gS = sS * g[S]
    dec = float(0.5 * gS @ inv @ gS)
    # rounding can leave eff a hair outside [0, r]
    eff = min(max(eff, 0.0), float(r))
    lam, shifted = _shifted_trace(inv, sS, pen[S], r) if pen.ndim == 1 else (0.0, None)
    return PenalizedSolve(
        "subspace", k, int(r), tic, eff, dec, S, failed_at, rcond,
        subspace_trace=trace_S, subspace_top=top_S,
        shifted_lambda=lam, shifted_trace=shifted,
    )  # fmt: skip


def top_eigenvalue(M):
    """Largest eigenvalue of a symmetric positive semi-definite ``M`` (0 if empty).

    Lanczos (ARPACK, fixed start vector, tolerance at machine precision) for
    ``m > 64``: about ``30`` products with ``M`` instead of a tridiagonal reduction.

    Parameters
    ----------
    M : ndarray of shape (m, m)

    Returns
    -------
    float

    Examples
    --------
    >>> top_eigenvalue(np.diag([1.0, 3.0, 2.0]))
    3.0
    """
    m = M.shape[0]
    if m == 0:
        return 0.0
    if m <= 64:
        return float(linalg.eigvalsh(M, check_finite=False)[-1])
    v0 = np.full(m, 1.0 / np.sqrt(m))
    return float(eigsh(M, k=1, which="LA", v0=v0, tol=0, return_eigenvectors=False)[0])


# A Woodbury trace that cancels more than this many digits is recomputed directly.
_MAX_CANCELLATION = 1e4


def _shifted_trace(inv, scale, pen, r):
    """``(λ, tr((H_SS + λI)⁻¹))`` from ``inv = (D A_SS D)⁻¹``, or ``(0, None)``.

    When every non-zero entry of the (diagonal) penalty on ``S`` equals one ``λ``,
    ``H_SS + λI = A_SS + λ E_U`` with ``E_U`` the coordinate projector on the ``m``
    unpenalised coordinates ``U``, so by Woodbury
    ``tr((A + λE_U)⁻¹) = tr(A⁻¹) - tr((λ⁻¹I + A⁻¹_UU)⁻¹ (A⁻¹_{:U})ᵀ A⁻¹_{:U})``:
    ``O(r·m²)`` from the inverse already at hand.  Used when ``m ≤ r/4`` and the
    subtraction cancels fewer than four digits.
    """
    pos = pen > 0
    if not pos.any():
        return 0.0, None
    lam = float(np.mean(pen[pos]))
    U = np.flatnonzero(~pos)
    if np.ptp(pen[pos]) > 1e-12 * lam or U.size > r // 4:
        return 0.0, None
    diag = np.diagonal(inv) * scale**2  # diag(A⁻¹), A⁻¹ = D inv D
    total = float(np.sum(diag))
    if U.size:
        BU = inv[:, U] * scale[:, None] * scale[U][None, :]  # A⁻¹[:, U]
        M = BU[U] + np.eye(U.size) / lam
        corr = float(np.trace(linalg.solve(M, BU.T @ BU, assume_a="pos")))
        if not (0 <= corr < total and total <= _MAX_CANCELLATION * (total - corr)):
            return 0.0, None
        total -= corr
    return lam, total
