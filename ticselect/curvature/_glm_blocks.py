"""The dense one-predictor GLM pass: everything per row block, X read once.

:func:`fused_dense` computes, for each cache-sized block of rows of a dense design,
the linear predictor ``η = X_b β + β₀ (+ offset)``, the family's per-row NLL and
derivatives ``ℓ'``, ``ℓ''`` in ``η``, and the block's contributions to

- ``H = Σ wᵢℓ''ᵢ x̃ᵢx̃ᵢᵀ`` and ``C = Σ wᵢℓ'ᵢ² x̃ᵢx̃ᵢᵀ``,
- the gradient ``Σ wᵢℓ'ᵢ x̃ᵢ`` and the stationarity scale ``Σ wᵢ|ℓ'ᵢ||x̃ᵢ|``,
- the squared row norms ``‖xᵢ‖²`` (the leverage bound and the separation
  certificate use them),

while the block is in cache, so the design is read from memory once and every
``n``-length quantity other than the kept outputs (``η``, NLL rows, ``ℓ'``, ``ℓ''``,
row norms) lives in block-sized buffers.  (Fresh ``n``-length temporaries are not
free: each costs its page faults, of the order of the arithmetic done on it.)

The intercept is analytic, never a column of ones in the design: the symmetric
rank-k products run on the √weight-scaled block with the √weights appended as one
more column, ``B = [√h X_b, √h]``, so ``BᵀB`` holds the block's ``Xᵀ diag(h) X``,
its border ``Xᵀh`` and corner ``Σh`` at once; ``C``'s block also carries a column
``√wᵢ sign(ℓ'ᵢ)`` whose products with the others are the gradient
``Σ √(wᵢℓ'ᵢ²) √wᵢ sign(ℓ'ᵢ) x̃ᵢ = Σ wᵢℓ'ᵢx̃ᵢ`` (exactly ``ℓ'ᵢx̃ᵢ`` per term with
unit weights).  A block with a negative curvature weight (a non-canonical link away
from the mode) takes a general product instead, symmetrised at the end.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._validation import check_finite_X

__all__ = ["BLOCK_FLOATS", "accumulate_dense", "fused_dense", "linear_predictor"]

#: Design entries per row block (512 KiB): the block, its scaled copies and the
#: symmetric kernel's panels stay in the second-level cache.
BLOCK_FLOATS = 2**16
#: Blocks per call of the family's rows and per vector operation on the weights
#: (fewer, longer NumPy calls; the rows of 4 blocks still fit in cache).
_SUPER = 4


def accumulate_dense(X, w, fit_int, derivs, block_floats=BLOCK_FLOATS, row_norms=None):
    """One pass over row blocks of a dense design, one linear predictor.

    Parameters
    ----------
    X : ndarray of shape (n, p)
        Design without the intercept column.
    w : ndarray of shape (n,)
        Frequency weights.
    fit_int : bool
        Whether the parameters end with an intercept.
    derivs : callable
        ``derivs(start, stop, X_block) -> (ℓ', ℓ'')`` of the rows ``start:stop``,
        each of shape ``(stop - start,)``; called in order, once per group of
        ``_SUPER`` blocks.
    block_floats : int, default=BLOCK_FLOATS
        Design entries per block.
    row_norms : ndarray of shape (n,) or None, default=None
        Filled with ``‖xᵢ‖²`` when given.

    Returns
    -------
    H, C : ndarray of shape (pt, pt)
        ``pt = p + fit_int``; intercept last.
    grad, abs_grad : ndarray of shape (pt,)
        ``Σ wᵢℓ'ᵢx̃ᵢ`` and ``Σ wᵢ|ℓ'ᵢ||x̃ᵢ|``.
    """
    n, p = X.shape
    pt = p + int(fit_int)
    unit = w.min(initial=1.0) == w.max(initial=1.0) == 1.0  # then w· is exact
    block = max(1, min(n, block_floats // max(1, p)))
    buf_h = np.empty((block, pt))
    buf_c = np.empty((block, pt + 1))  # [√c X, √c, √w sign(ℓ')]
    buf_a = np.empty((block, p))
    H = np.zeros((pt, pt))
    H_gen = None  # blocks with a negative curvature weight: general products
    CG = np.zeros((pt + 1, pt + 1))
    abs_grad = np.zeros(pt)
    ones = np.ones(p)
    step = block * _SUPER  # rows per call of derivs and per vector operation
    for first in range(0, n, step):
        last = min(n, first + step)
        r, h = derivs(first, last, X[first:last])
        wb = w[first:last]
        hw = h if unit else wb * h
        psd = hw.min() >= 0
        s = np.sqrt(hw) if psd else hw
        if unit:
            sc, g = np.abs(r), np.sign(r)
            aw = sc
        else:
            sc, g = np.sqrt(wb * r**2), np.sqrt(wb) * np.sign(r)
            aw = wb * np.abs(r)
        if fit_int:
            abs_grad[p] += aw.sum()
        for start in range(first, last, block):
            stop = min(last, start + block)
            k, at = stop - start, slice(start - first, stop - first)
            Xb = X[start:stop]
            B = buf_h[:k]
            np.multiply(Xb, s[at, None], out=B[:, :p])
            if fit_int:
                B[:, p] = s[at]
            if psd:
                H += B.T @ B  # NumPy maps BᵀB to the symmetric rank-k kernel
            else:
                H_gen = np.zeros((pt, pt)) if H_gen is None else H_gen
                H_gen[:p] += Xb.T @ B
                if fit_int:
                    H_gen[p, p] += s[at].sum()
            B = buf_c[:k]
            np.multiply(Xb, sc[at, None], out=B[:, :p])
            if fit_int:
                B[:, p] = sc[at]
            B[:, pt] = g[at]
            CG += B.T @ B
            A = buf_a[:k]
            np.abs(Xb, out=A)
            abs_grad[:p] += A.T @ aw[at]
            if row_norms is not None:
                np.multiply(A, A, out=A)
                np.dot(A, ones, out=row_norms[start:stop])  # BLAS, not a reduction
    if H_gen is not None:
        if fit_int:
            H_gen[p, :p] = H_gen[:p, p]
        H += 0.5 * (H_gen + H_gen.T)
    return H, CG[:pt, :pt].copy(), CG[:pt, pt].copy(), abs_grad


def fused_dense(spec, phi, eta=None, *, row_norms=True, block_floats=BLOCK_FLOATS):
    """``η``, the NLL rows, ``ℓ'``, ``ℓ''`` and the accumulation in one pass.

    Parameters
    ----------
    spec : GLMSpec
        One linear predictor, dense design.
    phi : float
        Dispersion the derivatives are taken at (1 for families without one).
    eta : ndarray of shape (n,) or None, default=None
        The linear predictor when already computed (the ML dispersion needs it
        first); else formed block by block, each block's mean checked.
    row_norms : bool, default=True
        Whether to keep ``‖xᵢ‖²``.
    block_floats : int, default=BLOCK_FLOATS

    Returns
    -------
    dict
        ``eta``, ``nll_rows``, ``d1``, ``d2``, ``row_norms`` (each shape ``(n,)``,
        ``row_norms`` possibly ``None``) and ``H``, ``C``, ``grad``, ``abs_grad``
        as :func:`accumulate_dense` returns them.
    """
    fam, X, y = spec.family, spec.X, np.asarray(spec.y)
    n = X.shape[0]
    # the kept rows in one allocation: the allocator reuses one large region from
    # call to call, where five n-length ones are returned to the system and
    # faulted in again page by page (as costly as the arithmetic on them)
    keep = np.empty((3 + int(eta is None) + int(row_norms), n))
    out = {"nll_rows": keep[0], "d1": keep[1], "d2": keep[2]}
    out["eta"] = keep[3] if eta is None else eta
    out["row_norms"] = keep[-1] if row_norms else None
    coef = np.ascontiguousarray(spec.coef[0], dtype=float)
    icpt = None if spec.intercept is None else float(spec.intercept[0])
    offset = spec.offset

    shortcut = _shortcut(fam)

    def derivs(start, stop, Xb):
        sl = slice(start, stop)
        e = out["eta"][sl]
        fam_b = fam.rows(sl)
        if eta is None:
            with np.errstate(invalid="ignore", over="ignore"):  # checked next
                np.dot(Xb, coef, out=e)
                if icpt is not None:
                    e += icpt
                if offset is not None:
                    e += offset[sl]
                finite = np.isfinite(np.add.reduce(e))
            if not finite:  # the design's check (validate_X's finite=False)
                check_finite_X(Xb)
        rows = (out["nll_rows"][sl], out["d1"][sl], out["d2"][sl])
        if shortcut is None or not shortcut(y[sl], e, *rows):
            # (a shortcut refuses a mean outside the range: the family's check)
            if eta is None and not np.all(fam_b.in_mean_space(fam_b.mean(e))):
                _raise_mean_error(spec)
            rows[0][:] = fam_b.nll(y[sl], e, phi)
            d1, d2 = fam_b.eta_derivatives(y[sl], e, phi)
            rows[1][:] = d1
            rows[2][:] = d2
        return out["d1"][sl], out["d2"][sl]

    res = accumulate_dense(
        X,
        spec.sample_weight,
        icpt is not None,
        derivs,
        block_floats=block_floats,
        row_norms=out["row_norms"],
    )
    out.update(zip(("H", "C", "grad", "abs_grad"), res, strict=True))
    return out


def _shortcut(fam):
    """The family's rows from one exponential, or ``None`` (the family's methods).

    Bernoulli-logit and Poisson-log, the common cases: the mean, NLL and both
    derivatives share ``exp`` (the family's methods evaluate it three to five times
    per row).  The same formulas as :mod:`ticselect.curvature._families`, to
    rounding.
    """
    if fam.name == "binomial" and fam.link.name == "logit" and fam._bernoulli():
        return _bernoulli_logit_rows
    if fam.name == "poisson" and fam.link.name == "log":
        return _poisson_log_rows
    return None


def _bernoulli_logit_rows(y, eta, nll, d1, d2):
    """``y ∈ {0, 1}``: NLL ``log(1 + e^η) - yη``, ``ℓ' = μ - y``, ``ℓ'' = μ(1 - μ)``.

    With ``z = e^{-|η|}``: ``1/(1 + z)`` and ``z/(1 + z)`` are ``μ`` and ``1 - μ``
    (in the order of the sign of ``η``), each without cancellation;
    ``log(1 + e^η) = max(η, 0) + log1p(z)``.  Fills ``nll``, ``d1``, ``d2``; returns
    ``False`` (filling nothing) when a mean is not finite (``η`` NaN).
    """
    z = np.abs(eta)
    np.negative(z, out=z)
    np.exp(z, out=z)
    if np.isnan(z.sum()):  # the mean check, first (±inf is inside: μ is 0 or 1)
        return False
    big = 1.0 + z
    np.log1p(z, out=nll)
    nll += np.maximum(eta, 0.0)
    nll -= y * eta
    np.divide(1.0, big, out=big)  # the larger of μ and 1 - μ
    z *= big  # the smaller
    np.multiply(big, z, out=d2)
    # |ℓ'| is 1 - μ when y = 1, μ when y = 0: the smaller one when the sign of η
    # agrees with y; ℓ' has the sign of 1/2 - y
    np.copyto(d1, np.where((y > 0) == (eta >= 0), z, big))
    np.copysign(d1, 0.5 - y, out=d1)
    return True


def _poisson_log_rows(y, eta, nll, d1, d2):
    """NLL ``μ - yη + log y!``, ``ℓ' = μ - y``, ``ℓ'' = μ``, with ``μ = e^η``.

    Returns ``False`` when a mean is not finite and positive (then only ``d2``
    is filled).
    """
    np.exp(eta, out=d2)
    if not (d2.min() > 0 and d2.max() < np.inf):  # the mean check, first
        return False
    np.subtract(d2, y, out=d1)
    np.subtract(d2, y * eta, out=nll)
    nll += _log_factorial(y)
    return True


#: ``log k!`` for the small counts: a table look-up instead of ``gammaln`` per row
#: (the same numbers: the table is ``gammaln`` itself).
_LOG_FACTORIAL = special.gammaln(np.arange(1024) + 1.0)


def _log_factorial(y):
    """``log Γ(y + 1)``, by table when every ``y`` is a count below 1024."""
    k = y.astype(np.int64)
    if k.size and k.min() >= 0 and k.max() < _LOG_FACTORIAL.size and np.all(k == y):
        return _LOG_FACTORIAL[k]
    return special.gammaln(y + 1.0)


def linear_predictor(spec):
    """``η = X βᵀ + β₀ (+ offset)`` of every row, shape ``(n, m)``.

    Parameters
    ----------
    spec : GLMSpec

    Returns
    -------
    ndarray of shape (n_samples, n_predictors)
    """
    eta = spec.X @ spec.coef.T
    eta = np.asarray(eta, dtype=float)
    if spec.intercept is not None:
        eta = eta + spec.intercept[None, :]
    if spec.offset is not None:
        eta = eta + spec.offset[:, None]
    return eta


def _raise_mean_error(spec):
    """The whole design's mean check, for its message (counts over every row).

    Returns when every mean is inside (an infinite ``η`` of a logistic model:
    the NLL check decides).
    """
    fam = spec.family
    fam.check_mu(fam.mean(linear_predictor(spec)[:, 0]))  # counts over every row
