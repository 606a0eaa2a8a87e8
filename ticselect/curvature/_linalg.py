"""Stable linear algebra: weighted Gram products, traces of ``A⁻¹B``, spectra.

All functions work in float64 and never invert a matrix explicitly.  The rule for
singular or indefinite matrices is written once, in :func:`solve_trace`: equilibrate
by the diagonal (so that the units of the parameters do not matter), try a Cholesky
factorisation; if it fails or its pivots span more than ``1/rcond``, fall back to a
symmetric eigen-decomposition of the equilibrated matrix and keep only eigenvalues
above ``rcond * max|eigenvalue|`` (a pseudo-inverse on the well-determined subspace),
reporting the numerical rank and warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import linalg

__all__ = [
    "DEFAULT_RCOND",
    "GaugeComplement",
    "newton_decrement",
    "SingularHessianWarning",
    "TraceResult",
    "complement_basis",
    "restrict",
    "solve_trace",
    "weighted_gram",
]

#: Relative eigenvalue cutoff for the pseudo-inverse fallback.  ``1e-10`` keeps
#: directions whose curvature is at least 1e-10 of the largest, i.e. a condition number
#: up to 1e10, where float64 solves still carry ~6 significant digits.
DEFAULT_RCOND = 1e-10


class SingularHessianWarning(UserWarning):
    """The (penalised) Hessian is singular or indefinite at the fitted parameters.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     result = solve_trace(np.diag([1.0, 0.0]), np.eye(2))
    >>> result.rank, caught[0].category.__name__
    (1, 'SingularHessianWarning')
    """


def weighted_gram(X, v):
    """Return ``Xᵀ diag(v) X`` as a dense symmetric array.

    Uses a symmetric rank-k update (half the flops of a general product) when every
    weight is non-negative.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, p)
        Design block.
    v : ndarray of shape (n_samples,)
        Per-row weights.

    Returns
    -------
    gram : ndarray of shape (p, p)
    """
    if sp.issparse(X):
        X = sp.csr_array(X)
        out = (X.T @ (X.multiply(v[:, None])).tocsr()).toarray()
        return np.asarray(out, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.shape[0] == 0:
        return np.zeros((X.shape[1], X.shape[1]))
    if np.all(v >= 0):
        A = np.sqrt(v)[:, None] * X  # C-ordered (n, p); A.T is F-ordered (p, n)
        out = linalg.blas.dsyrk(1.0, A.T, trans=0, lower=0)
        return np.triu(out) + np.triu(out, 1).T
    return X.T @ (v[:, None] * X)


def complement_basis(gauge, dim):
    """Orthonormal basis of the orthogonal complement of ``span(gauge)``.

    Parameters
    ----------
    gauge : ndarray of shape (dim, r) or None
        Columns spanning the directions to remove.
    dim : int
        Ambient dimension.

    Returns
    -------
    Q : ndarray of shape (dim, dim - r)
    """
    if gauge is None or gauge.shape[1] == 0:
        return np.eye(dim)
    return linalg.null_space(np.asarray(gauge).T)


class GaugeComplement:
    """The orthogonal complement of the gauge directions, without a dense basis.

    ``Qᵀ M Q`` for an orthonormal basis ``Q`` of ``span(gauge)^⊥`` in
    ``O(d²·g)`` flops instead of the ``O(d³)`` of a dense ``Q``: the basis is the
    trailing ``d - g`` columns of the orthogonal factor ``P`` of a Householder QR of
    the gauge, so ``Qᵀ M Q`` is ``Pᵀ M P`` with the ``g`` leading rows and columns
    dropped.  When the gauge directions have disjoint supports (the softmax gauges
    of multinomial GLMs and networks: one direction per input, spread over the ``K``
    classes), ``P`` is a product of ``g`` commuting reflectors, each acting on the
    ``K`` entries of one direction: ``Pᵀ M P`` costs ``O(d·g·K)`` and the
    complement is spanned by every coordinate axis except one "pivot" per gauge
    direction (reflected within its block), an explicit reference-class
    parameterisation.  Traces and eigenvalues of the restricted matrices do not
    depend on the choice of orthonormal basis, so they equal those of
    :func:`complement_basis` / :func:`restrict`.

    Parameters
    ----------
    gauge : ndarray of shape (d, g) or None
        Orthonormal columns spanning the directions to remove (``None`` or ``g = 0``
        for none).
    dim : int
        Ambient dimension ``d``.

    Examples
    --------
    >>> g = np.array([[1.0], [1.0], [0.0]]) / np.sqrt(2)
    >>> gc = GaugeComplement(g, 3)
    >>> M = np.diag([1.0, 3.0, 5.0])
    >>> bool(np.allclose(np.linalg.eigvalsh(gc.restrict(M)),
    ...                  np.linalg.eigvalsh(restrict(M, complement_basis(g, 3)))))
    True
    """

    def __init__(self, gauge, dim):
        self.dim = int(dim)
        U = None if gauge is None else np.asarray(gauge, dtype=float)
        self.n_gauge = 0 if U is None else U.shape[1]
        self._blocks = None
        self._qr = None
        if not self.n_gauge:
            self.keep = None
            return
        supports = [np.flatnonzero(U[:, j]) for j in range(self.n_gauge)]
        sizes = {s.size for s in supports}
        flat = np.concatenate(supports)
        if len(sizes) == 1 and np.unique(flat).size == flat.size and flat.size:
            # disjoint blocks of equal size K: one reflector per block, mapping the
            # unit vector u to -sign(u_p) e_p with p the largest entry of u
            idx = np.stack(supports)  # (g, K)
            u = np.take_along_axis(U, idx.T, axis=0).T  # (g, K)
            piv = np.argmax(np.abs(u), axis=1)
            v = u.copy()
            rows = np.arange(self.n_gauge)
            v[rows, piv] += np.where(u[rows, piv] >= 0, 1.0, -1.0)
            beta = 2.0 / np.sum(v * v, axis=1)
            self._blocks = (idx, v, beta)
            pivots = idx[rows, piv]
        else:
            qr, tau = linalg.qr(U, mode="raw")[0]
            self._qr = (qr, tau)
            pivots = np.arange(self.n_gauge)
        mask = np.ones(self.dim, dtype=bool)
        mask[pivots] = False
        self.keep = np.flatnonzero(mask)

    @property
    def n_free(self):
        """Dimension ``k = d - g`` of the complement, int."""
        return self.dim - self.n_gauge

    def _reflect_rows(self, M):
        """``Pᵀ M`` in place (``M`` of shape (d, m)); ``P`` is symmetric for blocks."""
        if self._blocks is not None:
            idx, v, beta = self._blocks
            rows = M[idx]  # (g, K, m)
            w = np.einsum("gk,gkm->gm", v, rows)
            rows -= (beta[:, None] * v)[:, :, None] * w[:, None, :]
            M[idx] = rows
            return M
        qr, tau = self._qr
        lwork = max(1, 64 * M.shape[1])
        out, _, info = linalg.lapack.dormqr("L", "T", qr, tau, M, lwork)
        return out

    def restrict(self, M, subset=None):
        """``Qᵀ M Q`` for a symmetric ``M`` of shape (d, d); ``M`` itself without gauge.

        With block gauges, ``P = I - V diag(β) Vᵀ`` (``V`` the reflector vectors),
        so ``P M P = M - V Wᵀ - W Vᵀ`` with ``W = M V diag(β) - V S / 2`` and
        ``S = diag(β) Vᵀ M V diag(β)``: one gather of the kept rows and columns of
        ``M`` plus updates of the ``g·(K-1)`` rows and columns the reflectors touch.

        Parameters
        ----------
        M : ndarray of shape (d, d)
            Symmetric matrix (not modified).
        subset : ndarray of int or None, default=None
            Return only these rows and columns of the result (indices in ``0..k-1``).

        Returns
        -------
        ndarray of shape (k, k), or (len(subset), len(subset))
        """
        if not self.n_gauge:
            return M if subset is None else M[np.ix_(subset, subset)]
        if subset is None:
            subset = slice(None)
        return self.block(M, subset, subset)

    def block(self, M, rows, cols):
        """``(Qᵀ M Q)[rows][:, cols]`` for a symmetric ``M``: a new array.

        One gather of the kept rows and columns of ``M`` (no ``k × k`` result when
        ``rows`` and ``cols`` are smaller).  ``M`` may be larger than ``(d, d)``:
        only its leading ``d`` rows and columns are read.

        Parameters
        ----------
        M : ndarray of shape (d, d)
            Symmetric matrix (not modified).
        rows, cols : ndarray of int or slice
            Indices in ``0..k-1``.

        Returns
        -------
        ndarray of shape (len(rows), len(cols))
        """
        if not self.n_gauge:
            return M[np.ix_(np.arange(self.dim)[rows], np.arange(self.dim)[cols])]
        if self._blocks is None:
            B = self._reflect_rows(
                np.array(M[: self.dim, : self.dim], dtype=float, order="C")
            )
            # P M P = (Pᵀ (Pᵀ M)ᵀ)ᵀ, and Pᵀ M P is symmetric
            B = self._reflect_rows(np.ascontiguousarray(B.T))
            return B[np.ix_(self.keep[rows], self.keep[cols])]
        keep_r, keep_c = self.keep[rows], self.keep[cols]
        W = self._reflector_terms(M)
        return self._update(M[np.ix_(keep_r, keep_c)], keep_r, keep_c, W)

    def compact(self, M, rows):
        """``(Qᵀ M Q)[rows][:, rows]`` written over the memory of ``M``.

        No new ``k × k`` array (except with a general, non-block gauge): row by row
        into the leading ``r²`` entries of ``M``'s buffer, which only ever overwrites
        rows already read because the kept indices ascend.

        Parameters
        ----------
        M : ndarray of shape (D, D), D ≥ d
            Symmetric, C-contiguous and owning its memory (destroyed); only its
            leading ``d`` rows and columns are read.
        rows : ndarray of int
            Ascending indices in ``0..k-1``.

        Returns
        -------
        ndarray of shape (len(rows), len(rows))
            A view of ``M``'s memory.
        """
        rows = np.asarray(rows, dtype=np.intp)
        if self.n_gauge and self._blocks is None:
            return self.block(M, rows, rows)
        keep = rows if not self.n_gauge else self.keep[rows]
        if not self.n_gauge and keep.size == M.shape[0]:
            return M  # every row: M itself
        if not (M.flags.c_contiguous and M.flags.owndata):
            raise ValueError("compact() needs a C-contiguous array that owns its data")
        if keep.size > 1 and np.any(np.diff(keep) <= 0):
            raise ValueError("compact() needs ascending rows")
        W = self._reflector_terms(M) if self.n_gauge else None
        r = keep.size
        flat = M.reshape(-1)
        for i, src in enumerate(keep):  # src ≥ i and M.shape[1] ≥ r: rows ahead
            flat[i * r : (i + 1) * r] = M[src, keep]  # are still intact
        out = flat[: r * r].reshape(r, r)
        return out if W is None else self._update(out, keep, keep, W)

    def _reflector_terms(self, M):
        """``W = M V diag(β) - V S / 2`` of a block gauge (see :meth:`restrict`)."""
        idx, v, beta = self._blocks
        MV = np.einsum("dgk,gk->dg", M[: self.dim][:, idx], v)  # (d, g)
        S = np.einsum("gk,gkh->gh", v, MV[idx]) * beta[:, None] * beta[None, :]
        W = MV * beta[None, :]
        W[idx] -= 0.5 * v[:, :, None] * S[:, None, :]
        return W

    def _update(self, B, keep_r, keep_c, W):
        """``B - V Wᵀ - W Vᵀ`` on the gathered rows ``keep_r``, columns ``keep_c``."""
        v = self._blocks[1]
        pos_r, pos_c = self._positions(keep_r), self._positions(keep_c)  # (g, K)
        W_r, W_c = W[keep_r], W[keep_c]
        for j in range(self.n_gauge):
            hit = pos_r[j] >= 0
            if np.any(hit):
                B[pos_r[j][hit], :] -= v[j][hit][:, None] * W_c[:, j][None, :]
            hit = pos_c[j] >= 0
            if np.any(hit):
                B[:, pos_c[j][hit]] -= W_r[:, j][:, None] * v[j][hit][None, :]
        return B

    def _positions(self, keep):
        """Position in ``keep`` of every block entry (``-1`` when not kept)."""
        where = np.full(self.dim, -1, dtype=np.intp)
        where[keep] = np.arange(keep.size)
        return where[self._blocks[0]]

    def vector(self, x):
        """``Qᵀ x`` for ``x`` of shape (d,), shape (k,)."""
        if not self.n_gauge:
            return np.asarray(x, dtype=float)
        y = self._reflect_rows(np.array(x, dtype=float)[:, None])
        return y[self.keep, 0]

    def diagonal(self, p):
        """``Qᵀ diag(p) Q``: a vector when it is diagonal, else a (k, k) array.

        It is diagonal without gauge, and for block gauges whose blocks carry one
        penalty value each (every softmax gauge: the ``K`` class coefficients of
        one input share their penalty).

        Parameters
        ----------
        p : ndarray of shape (d,)

        Returns
        -------
        ndarray of shape (k,) or (k, k)
        """
        p = np.asarray(p, dtype=float)
        if not self.n_gauge:
            return p
        if self._blocks is not None:
            vals = p[self._blocks[0]]
            if np.all(vals == vals[:, :1]):
                return p[self.keep]
        return self.restrict(np.diag(p))


def restrict(M, Q):
    """Return ``Qᵀ M Q`` (``M`` unchanged when ``Q`` is the identity).

    Parameters
    ----------
    M : ndarray of shape (d, d)
        Symmetric matrix.
    Q : ndarray of shape (d, k)
        Orthonormal basis.

    Returns
    -------
    ndarray of shape (k, k)
    """
    if Q.shape[0] == Q.shape[1]:
        return M
    return Q.T @ M @ Q


@dataclass(frozen=True)
class TraceResult:
    """Result of :func:`solve_trace`.

    Attributes
    ----------
    value : float
        ``tr(A⁻¹ B)`` (or with the pseudo-inverse, see ``method``).
    rank : int
        Numerical rank of ``A`` used.
    method : str
        ``"cholesky"`` or ``"eigh-pinv"``.
    min_eig : float
        Smallest eigenvalue of the equilibrated ``A`` (``nan`` if not computed because
        Cholesky worked).
    """

    value: float
    rank: int
    method: str
    min_eig: float


def solve_trace(A, B, *, rcond=DEFAULT_RCOND, what="Hessian"):
    """Compute ``tr(A⁻¹ B)`` for symmetric ``A`` and ``B``.

    Parameters
    ----------
    A : ndarray of shape (d, d)
        Symmetric, ideally positive definite (the penalised Hessian).
    B : ndarray of shape (d, d)
        Symmetric (the gradient covariance).
    rcond : float, default=DEFAULT_RCOND
        Relative eigenvalue cutoff for the fallback pseudo-inverse.
    what : str, default="Hessian"
        Name of ``A`` used in the warning message.

    Returns
    -------
    TraceResult

    Warns
    -----
    SingularHessianWarning
        When ``A`` is not numerically positive definite.

    Examples
    --------
    >>> A = np.diag([2.0, 4.0])
    >>> solve_trace(A, np.eye(2)).value
    0.75
    """
    d = A.shape[0]
    if d == 0:
        return TraceResult(0.0, 0, "cholesky", np.nan)
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(B))):
        raise ValueError(
            f"The {what} or the gradient covariance has non-finite entries; the fitted "
            "parameters are probably at an overflow. Check the fit."
        )
    # Jacobi equilibration: tr(A⁻¹B) = tr((DAD)⁻¹ DBD) for any diagonal D > 0, and
    # D = diag(A)^(-1/2) removes the ill-conditioning that only comes from the units
    # of the parameters, so the rank cutoff below sees true collinearity only.
    diag_a = np.diag(A)
    scale = np.where(diag_a > 0, 1.0 / np.sqrt(np.where(diag_a > 0, diag_a, 1.0)), 1.0)
    A = A * scale[:, None] * scale[None, :]
    B = B * scale[:, None] * scale[None, :]
    try:
        cf = linalg.cho_factor(A, lower=True, check_finite=False)
        diag = np.diag(cf[0])
        # A Cholesky factor whose pivots span more than 1/rcond is numerically singular.
        if diag.min() ** 2 > rcond * diag.max() ** 2:
            value = float(np.trace(linalg.cho_solve(cf, B, check_finite=False)))
            return TraceResult(value, d, "cholesky", np.nan)
    except linalg.LinAlgError:
        pass
    evals, evecs = linalg.eigh(A)
    top = np.max(np.abs(evals))
    keep = evals > rcond * top
    rank = int(np.count_nonzero(keep))
    kind = "indefinite" if evals.min() < -rcond * top else "singular"
    warnings.warn(
        f"The {what} is {kind} (eigenvalues of its unit-diagonal equilibration "
        f"diag^-1/2 A diag^-1/2 from {evals.min():.3g} to {evals.max():.3g}; "
        f"numerical rank {rank} of {d} at rcond={rcond:g}). "
        "Using the pseudo-inverse on the well-determined subspace. A penalty "
        "(e.g. a larger alpha or smaller C) or fewer parameters makes it regular.",
        SingularHessianWarning,
        stacklevel=3,
    )
    V = evecs[:, keep]
    value = float(np.sum((V.T @ B @ V).diagonal() / evals[keep]))
    return TraceResult(value, rank, "eigh-pinv", float(evals.min()))


def newton_decrement(A, g, *, rcond=DEFAULT_RCOND):
    """Return ``gᵀ A⁺ g / 2``, the decrease a full Newton step predicts.

    Parameters
    ----------
    A : ndarray of shape (d, d)
        Symmetric (penalised) Hessian.
    g : ndarray of shape (d,)
        Gradient.
    rcond : float, default=DEFAULT_RCOND
        Relative cutoff of the pseudo-inverse on the equilibrated ``A``; directions
        of negative curvature are dropped as well (no warning: this is a diagnostic).

    Returns
    -------
    float

    Examples
    --------
    >>> newton_decrement(np.diag([2.0, 8.0]), np.array([2.0, 4.0]))
    2.0
    """
    if A.shape[0] == 0:
        return 0.0
    diag_a = np.diag(A)
    scale = np.where(diag_a > 0, 1.0 / np.sqrt(np.where(diag_a > 0, diag_a, 1.0)), 1.0)
    evals, evecs = linalg.eigh(A * scale[:, None] * scale[None, :])
    keep = evals > rcond * np.max(np.abs(evals))
    z = evecs[:, keep].T @ (scale * g)
    return float(0.5 * np.sum(z**2 / evals[keep]))
