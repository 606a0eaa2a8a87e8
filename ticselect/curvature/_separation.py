"""Separation: when the maximum-likelihood estimate of a GLM does not exist.

A binomial, multinomial or Poisson (log link) likelihood has no finite maximiser when
some direction ``d`` of the coefficients never lowers the likelihood of any row and
raises it for at least one: moving the coefficients along ``d`` drives the fitted
probabilities (or means) of those rows to 0 or 1 (to 0) while the others stay put,
so the coefficients diverge.  For two classes this is the **complete or
quasi-complete separation** of Albert & Anderson (1984); for counts it is
Haberman's (1974) zero-count condition.

Test used (exact, as R's ``safeBinaryRegression`` of Konis 2007): one linear
programme over the design ``X̃`` (intercept column included, rows of zero weight
dropped, columns scaled to unit maximum)::

    maximise  Σᵢ sᵢ x̃ᵢᵀd   subject to  sᵢ x̃ᵢᵀd ≥ 0  (sᵢ = ±1),  x̃ᵢᵀd = 0 (sᵢ = 0),
              -1 ≤ dⱼ ≤ 1,

with ``sᵢ = +1`` for a row at the top of its range (``y = 1``, or ``y = n_trials``),
``-1`` at the bottom (``y = 0``) and ``0`` in between (binomial counts strictly
between 0 and ``n_trials``, positive Poisson counts).  The MLE is infinite iff the
optimum is positive (when the rows with ``sᵢ = 0`` alone determine every direction
the design sees, ``X̃d = 0`` on every feasible ``d`` and the programme is not solved);
the non-zero entries of the optimal ``d`` name the separating columns.  Multinomial:
the same with one block of ``d`` per class and the constraints ``x̃ᵢᵀ(d_{yᵢ} - d_k) ≥ 0``
for every other class ``k``.

Before any programme, a fitted point usually proves that the data are not separated
(:mod:`ticselect.curvature._certificate`: ``O(n)`` on what the curvature computed
anyway), and so do interior rows that pin every direction (:func:`_pinned`); the
programme runs only when both fail.  It is solved by HiGHS
(:func:`scipy.optimize.linprog`) when it has at most :data:`LP_MAX_ENTRIES`
constraint entries.  Larger problems solve it on a seeded subsample of rows: a
subsample that is not separated proves that the full data are not when every row
is a combination of the subsample's rows (of its class, for the multinomial; then a
direction with every subsample margin 0 has every margin 0), and rows that see a
direction the subsample does not (a rare dummy column) join it otherwise; a
direction that separates the subsample is kept when every row satisfies it.
Otherwise, and for wide dense designs (more than :data:`LP_HARD_MAX` entries even
for the smallest useful subsample), R's fitted-probability test decides (a fitted
probability within ``10 · eps`` of 0 or 1, the threshold of R's ``glm.fit``), which
sees only separation that the optimiser has already followed.  Results are cached
by a fingerprint of the data, so a grid of penalties solves the programme once.

statsmodels takes the fitted-probability route (``PerfectSeparationWarning`` when
every fitted probability equals its response); the linear programme also finds
quasi-complete separation and does not depend on how far the optimiser went.

Gamma and inverse-Gaussian likelihoods with ``y > 0`` always have a finite maximiser
(``y/μ`` and ``log μ`` both diverge at the edges), so they are not tested.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.special import logit, ndtri

from ._certificate import certify_not_separated

__all__ = [
    "LP_HARD_MAX",
    "LP_MAX_ENTRIES",
    "FLAT_RATIO",
    "SeparationWarning",
    "check_separation",
    "separating_direction",
]

#: Largest linear programme solved (constraint entries, about 0.1 s in HiGHS); larger
#: problems solve it on a seeded subsample of rows of that size (exact when the
#: subsample is not separated, or when its direction separates every row), else
#: fall back to the fitted-probability test.
LP_MAX_ENTRIES = 60_000
#: No programme beyond this many non-zero constraint entries (about a second in
#: HiGHS; a dense 2000 × 600 design takes 30 s): the fitted-probability test decides.
LP_HARD_MAX = 150_000
#: A penalised fit on separated data counts as *effectively unpenalised* when the data
#: term's curvature along the separating direction ``d``, ``dᵀH(θ̂)d``, has fallen
#: below this fraction of its value at the null model (every linear predictor at the
#: link of the weighted mean response): the fit has run along the separation until
#: the extreme rows are fitted almost exactly, and only the penalty holds it.
FLAT_RATIO = 1e-2
#: R's ``glm.fit`` threshold on fitted probabilities (``10 * .Machine$double.eps``).
_R_EPS = 10 * np.finfo(float).eps
#: Margins below this (design columns scaled to unit maximum, ``|dⱼ| ≤ 1``) are zero.
_TOL = 1e-7


#: ``g(μ)`` of the links of the tested families (for the null model's predictor).
_LINKS = {
    "logit": lambda m: float(logit(m)),
    "probit": lambda m: float(ndtri(m)),
    "cloglog": lambda m: float(np.log(-np.log1p(-m))),
    "log": lambda m: float(np.log(m)),
}


class SeparationWarning(UserWarning):
    """The MLE does not exist (separation), or only a penalty keeps it finite.

    Raised by :func:`ticselect.curvature` for binomial and multinomial fits whose
    classes are completely or quasi-completely separated by the design, and for
    Poisson (log link) fits with a zero-count cell; the message names the separating
    columns.  The criteria of an unpenalised such fit carry the ``"separation"``
    flag (``Criteria.reliable`` is ``False``): its estimate does not exist.  A
    penalised fit on separated data has an estimate, and its warning says so; where
    the penalty alone holds the coefficients (effectively unpenalised, see
    :data:`FLAT_RATIO`) it is TIC's first-order penalty that fails, which the
    ``"high_leverage"`` flag of :func:`ticselect.criteria` measures.
    The test is an exact linear programme (see :mod:`ticselect.curvature._separation`).

    Examples
    --------
    >>> import warnings, numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.linspace(-1, 1, 40)[:, None]
    >>> y = (X[:, 0] > 0).astype(int)                 # x > 0 predicts y perfectly
    >>> model = LogisticRegression(C=np.inf, max_iter=1000).fit(X, y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     crit = ts.criteria(ts.curvature(model, X, y))
    >>> any(issubclass(w.category, ts.SeparationWarning) for w in caught)
    True
    >>> crit.reliable, "separation" in crit.flags
    (False, True)
    """


# ------------------------------------------------------------------- the programme
def _design(spec, rows):
    X = spec.X[rows] if rows is not None else spec.X
    if sp.issparse(X):
        X = sp.csr_array(X, dtype=float)
        if spec.intercept is not None:
            X = sp.hstack([X, np.ones((X.shape[0], 1))], format="csr")
        scale = np.asarray(abs(X).max(axis=0).todense()).ravel()
    else:
        X = np.asarray(X, dtype=float)
        if spec.intercept is not None:
            X = np.column_stack([X, np.ones(X.shape[0])])
        scale = np.abs(X).max(axis=0) if X.shape[0] else np.ones(X.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    return X, scale


def _signs(spec, y, rows):
    """``+1`` top of the range, ``-1`` bottom, ``0`` interior; ``None``: no test."""
    fam = spec.family
    if fam.name == "binomial":
        if np.ndim(fam.n_trials) == 0 and fam.n_trials == 1:  # Bernoulli: y is 0 or 1
            return (y > 0).astype(float) * 2.0 - 1.0
        n_trials = np.broadcast_to(fam.n_trials, np.shape(spec.y))[rows]
        return np.where(y <= 0, -1.0, np.where(y >= n_trials, 1.0, 0.0))
    if fam.name in ("poisson", "negative_binomial") and fam.link.name == "log":
        return np.where(y <= 0, -1.0, 0.0)
    return None


def _solve(A_ub, A_eq, c, n_var):
    """Maximise ``-cᵀd`` s.t. ``A_ub d ≤ 0``, ``A_eq d = 0``, ``|d| ≤ 1``."""
    kw = {}
    if A_ub is not None and A_ub.shape[0]:
        kw.update(A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]))
    if A_eq is not None and A_eq.shape[0]:
        kw.update(A_eq=A_eq, b_eq=np.zeros(A_eq.shape[0]))
    res = linprog(c, bounds=[(-1.0, 1.0)] * n_var, method="highs", **kw)
    if res.status != 0:  # pragma: no cover - the programme is feasible (d = 0)
        return None
    return res.x


#: Directions found, by data fingerprint: the programme depends on the data only, not
#: on the coefficients, so a grid of penalties (and its CV folds) solves it once per
#: distinct data set.
_CACHE = OrderedDict()
_CACHE_SIZE = 64
_CACHE_MAX_ENTRIES = 4_000_000
#: Equality rows whose scaled design has a singular-value ratio above this pin
#: ``d = 0`` (see :func:`_pinned`): far from the programme's tolerances.
_PINNED_RCOND = 1e-6
#: Rounds of constraint generation on large problems.
_ROUNDS = 8


def _size(X):
    return X.nnz if sp.issparse(X) else X.size


def _fingerprint(spec):
    h = hashlib.blake2b(digest_size=16)
    X = spec.X
    parts = (X.data, X.indices, X.indptr) if sp.issparse(X) else (X,)
    for a in (*parts, spec.y, np.asarray(spec.sample_weight) > 0):
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.view(np.uint8).ravel() if a.size else b"")
    fam = spec.family
    h.update(
        repr(
            (fam.name, fam.link.name, spec.intercept is not None, spec.coef.shape[0])
        ).encode()
    )
    if fam.name == "binomial":
        h.update(np.ascontiguousarray(fam.n_trials, dtype=float).tobytes())
    return h.digest()


def separating_direction(spec, point=None):
    """Return a direction along which the likelihood of ``spec`` rises forever.

    Parameters
    ----------
    spec : GLMSpec
        The fitted model and its data (see :mod:`ticselect.curvature._glm`).
    point : dict or None, default=None
        The fit's per-row derivatives, Hessian and gradient (from
        :func:`~ticselect.curvature._glm.glm_curvature`): when given, the
        no-separation certificate (:mod:`ticselect.curvature._certificate`) is
        tried first and the programme runs only when it fails.

    Returns
    -------
    d : ndarray of shape (m * pt,) or None
        Direction in the layout of the coefficients (class-major, intercept last in
        each block, as in :class:`~ticselect.Curvature`), in the units of the
        parameters; ``None`` when the MLE exists or the family is not tested.
    n_extreme : int
        Rows whose fitted probability (or mean) goes to 0 or 1 (to 0) along ``d``.
    method : str
        ``"lp"``, ``"fitted"`` (the fitted-probability fallback), ``"certificate"``
        (proved not separated without the programme) or ``"none"``.
    """
    fam = spec.family
    tested = fam.name in ("binomial", "multinomial") or (
        fam.name in ("poisson", "negative_binomial") and fam.link.name == "log"
    )
    if not tested:  # other links bound the mean away from 0 differently
        return None, 0, "none"
    if point is not None and _proved_not_separated(spec, point):
        return None, 0, "certificate"
    if _size(spec.X) > _CACHE_MAX_ENTRIES:  # hashing would cost more than it saves
        return _direction(spec)
    key = _fingerprint(spec)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    out = _direction(spec)
    if out[2].startswith("lp"):  # the fallback depends on the coefficients
        _CACHE[key] = out
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return out


def _direction(spec):
    """The programme on every row, or by constraint generation on a large problem.

    A subset of rows that is not separated proves the full data are not when it
    sees every direction they see (:func:`_unseen_rows`; else the rows that see
    more join it); a direction that separates the subset is kept when every row
    satisfies it, else the violated rows join the subset (a few rounds), and then
    the fitted-probability test decides.
    """
    rows, sub, budget = _rows_to_solve(spec)
    if sub is None:
        # a wide dense design: the programme would cost more than the curvature
        return _fitted_fallback(spec, rows, np.asarray(spec.y)[rows], None)
    if rows.size <= budget:
        return _lp(spec, rows)
    for _ in range(_ROUNDS):
        d, _, _ = _lp(spec, sub)
        if d is None:
            unseen = _unseen_rows(spec, rows, sub)
            if not unseen.size:
                return None, 0, "lp-subsample"
            sub = np.union1d(sub, unseen[:budget])
            continue
        n_extreme, violated = _verify(spec, rows, d)
        if not violated.size:
            return d, n_extreme, "lp-subsample"
        sub = np.union1d(sub, violated[:budget])
    return _fitted_fallback(spec, rows, np.asarray(spec.y)[rows], None)


def _rows_to_solve(spec):
    """Rows of weight > 0, the programme's starting row subset, the size budget.

    The subset is all rows when they fit the budget, a seeded sample otherwise, and
    ``None`` when even the smallest useful programme is too wide to solve.
    """
    rows = np.flatnonzero(np.asarray(spec.sample_weight) > 0)
    K = spec.coef.shape[0]
    pt = spec.X.shape[1] + int(spec.intercept is not None)
    per_row = pt * (2 * (K - 1) if spec.family.name == "multinomial" else 1)
    # at least a few rows per parameter: fewer are separable by chance
    budget = max(LP_MAX_ENTRIES // per_row, 4 * pt * max(K - 1, 1))
    density = _size(spec.X) / max(np.prod(spec.X.shape), 1)
    if min(budget, rows.size) * per_row * density > LP_HARD_MAX:
        return rows, None, budget
    if rows.size <= budget:
        return rows, rows, budget
    sub = np.sort(np.random.default_rng(0).choice(rows, budget, replace=False))
    return rows, sub, budget


def _proved_not_separated(spec, point):
    """The cheap proofs of "not separated", tried before any programme.

    Interior rows that pin every direction of the starting subset (:func:`_pinned`,
    a small SVD) when that subset sees every direction, else the fitted point's
    certificate (:mod:`ticselect.curvature._certificate`).
    """
    if spec.family.name == "multinomial":
        return False
    y = np.asarray(spec.y)
    if spec.family.name != "binomial" or np.ndim(spec.family.n_trials):
        # interior rows may exist (Bernoulli rows are all at an end)
        rows, sub, _ = _rows_to_solve(spec)
        if sub is not None and not sp.issparse(spec.X):
            X, scale = _design(spec, sub)
            if _pinned(X / scale, _signs(spec, y[sub], sub) == 0):
                return not _unseen_rows(spec, rows, sub).size
    return certify_not_separated(spec, lambda rows: _signs(spec, y[rows], rows), point)


def _unseen_rows(spec, rows, sub):
    """Rows outside ``sub`` that see a direction no row of ``sub`` sees.

    A subset ``S`` of the rows that is not separated proves the full data are not
    only when every row ``x̃ⱼ`` is a combination of rows of ``S`` (of its own class,
    for the multinomial): then any ``d`` with all of ``S``'s margins 0 has every
    margin 0.  A random subset of a continuous design has full column rank and
    this costs one SVD of ``S``; a column that is non-zero on a few rows only (a
    rare dummy) is the case it catches.  Returns those rows, most exposed first.
    """
    if sub.size == rows.size:
        return np.zeros(0, dtype=int)
    y = np.asarray(spec.y)
    if spec.family.name == "multinomial":
        codes = np.round(y).astype(int)
        K = spec.coef.shape[0]
        groups = [(np.flatnonzero(codes[sub] == k), k) for k in range(K)]
    else:
        groups = [(np.arange(sub.size), None)]
    out = []
    for at, k in groups:
        S = sub[at]
        X, scale = _design(spec, S)
        Xs = X.toarray() if sp.issparse(X) else X
        Xs = Xs / scale
        r, Vt = 0, np.zeros((0, Xs.shape[1]))
        if Xs.shape[0]:
            _, sv, Vt = np.linalg.svd(Xs, full_matrices=False)
            r = int(np.count_nonzero(sv > 1e-10 * sv[0])) if sv[0] > 0 else 0
        # the directions S does not see (the orthogonal complement of its rows),
        # in the original units
        null = np.linalg.svd(Vt[:r], full_matrices=True)[2][r:] if r else None
        null = np.eye(Xs.shape[1]) if null is None else null
        null = null / scale[None, :]
        if not null.shape[0]:
            continue
        F = np.setdiff1d(rows if k is None else rows[codes[rows] == k], S)
        seen = _sees(spec, F, null)
        out.append(F[np.argsort(-seen)][: np.count_nonzero(seen > 0)])
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


def _sees(spec, F, null, block=2**16):
    """``max_k |x̃ⱼᵀnₖ| / Σᵢ|x̃ⱼᵢ||nₖᵢ|`` above rounding (else 0), rows ``F``."""
    p = spec.X.shape[1]
    out = np.zeros(F.size)
    for start in range(0, F.size, block):
        Xb = spec.X[F[start : start + block]]
        Z = np.asarray(Xb @ null[:, :p].T, dtype=float)
        B = np.asarray(abs(Xb) @ np.abs(null[:, :p]).T, dtype=float)
        if spec.intercept is not None:
            Z = Z + null[:, p]
            B = B + np.abs(null[:, p])
        ratio = np.divide(np.abs(Z), B, out=np.zeros_like(Z), where=B > 0)
        out[start : start + block] = np.where(ratio > 1e-8, ratio, 0.0).max(
            axis=1, initial=0.0
        )
    return out


def _verify(spec, rows, d):
    """Rows in the limit along ``d``, and the rows that resist it (worst first)."""
    X, _ = _design(spec, rows)
    y = np.asarray(spec.y)[rows]
    K = spec.coef.shape[0]
    U = np.asarray(X @ d.reshape(K, -1).T, dtype=float)  # (n, K)
    tol = 1e-9 * np.abs(U).max(initial=0.0)
    if spec.family.name == "multinomial":
        codes = np.round(y).astype(int)
        gap = U[np.arange(len(codes)), codes][:, None] - U
        gap[np.arange(len(codes)), codes] = np.inf
        worst = gap.min(axis=1)
    else:
        signs = _signs(spec, y, rows)
        worst = np.where(signs != 0, signs * U[:, 0], -np.abs(U[:, 0]))
        worst = np.where((signs == 0) & (np.abs(U[:, 0]) <= tol), 0.0, worst)
    bad = np.flatnonzero(worst < -tol)
    return int(np.count_nonzero(worst > tol)), rows[bad[np.argsort(worst[bad])]]


def _lp(spec, rows):
    fam = spec.family
    y = np.asarray(spec.y)[rows]
    if fam.name == "multinomial":
        return _multinomial_direction(spec, rows, y)
    signs = _signs(spec, y, rows)
    X, scale = _design(spec, rows)
    Xs = X.multiply(1.0 / scale[None, :]).tocsr() if sp.issparse(X) else X / scale
    ineq, eq = signs != 0, signs == 0
    if not np.any(ineq) or _pinned(Xs, eq):
        return None, 0, "lp"
    S = sp.diags(signs[ineq]) if sp.issparse(Xs) else signs[ineq][:, None]
    A_ub = -(S @ Xs[ineq]) if sp.issparse(Xs) else -(S * Xs[ineq])
    A_eq = Xs[eq] if np.any(eq) else None
    c = np.asarray(A_ub.sum(axis=0)).ravel()  # minimise Σ -sᵢx̃ᵢᵀd
    d = _solve(A_ub, A_eq, c, Xs.shape[1])
    if d is None:  # pragma: no cover
        return None, 0, "lp"
    margins = signs[ineq] * np.asarray(Xs[ineq] @ d).ravel()
    if margins.max(initial=0.0) <= _TOL or -c @ d <= _TOL:
        return None, 0, "lp"
    d = np.where(np.abs(d) > _TOL, d, 0.0)
    return d / scale, int(np.count_nonzero(margins > _TOL)), "lp"


def _pinned(Xs, eq):
    """Whether the equality rows alone force ``X̃d = 0`` (the programme's optimum is 0).

    Rows strictly inside their range (positive Poisson counts, binomial counts
    between 0 and ``n_trials``) constrain ``x̃ᵢᵀd = 0``.  When they determine every
    direction the whole design sees, i.e. their (column-scaled) design restricted
    to the row space of ``X̃`` has full rank, every feasible ``d`` has ``X̃d = 0``:
    no row has a positive margin, and the answer is "not separated", as the
    programme's, without solving it.  Both ranks must be clear (singular values
    above :data:`_PINNED_RCOND` of the largest, or below ``1e-10`` of it: exactly
    collinear columns); otherwise, and for sparse designs, the programme decides.
    """
    if sp.issparse(Xs) or not np.any(eq):
        return False
    _, s, Vt = np.linalg.svd(Xs, full_matrices=False)
    if not s.size or not s[0] > 0:
        return False
    r = int(np.count_nonzero(s > _PINNED_RCOND * s[0]))
    if np.any(s[r:] > 1e-10 * s[0]):  # no clear rank
        return False
    P = Xs[eq] @ Vt[:r].T  # the equality rows in the row space of X̃
    if P.shape[0] < r:
        return False
    s_eq = np.linalg.svd(P, compute_uv=False)
    return bool(s_eq[-1] > _PINNED_RCOND * s[0])


def _multinomial_direction(spec, rows, y):
    K = spec.coef.shape[0]
    X, scale = _design(spec, rows)
    dense = not sp.issparse(X)
    Xs = X / scale if dense else sp.csr_array(X.multiply(1.0 / scale[None, :]))
    n, pt = Xs.shape
    codes = np.round(y).astype(int)
    blocks = []
    for k in range(K):
        # rows of another class c: x̃ᵢᵀ(d_c - d_k) ≥ 0  ⇔  -x̃ᵢᵀd_c + x̃ᵢᵀd_k ≤ 0
        other = np.flatnonzero(codes != k)
        if not other.size:
            continue
        Xo = Xs[other]
        if dense:  # the same matrix in a twentieth of the time of sparse blocks
            B = np.zeros((other.size, K, pt))
            B[:, k] = Xo
            B[np.arange(other.size), codes[other]] -= Xo
            blocks.append(B.reshape(other.size, K * pt))
            continue
        own = sp.csr_array(
            (np.ones(other.size), (np.arange(other.size), codes[other])),
            shape=(other.size, K),
        )
        pick = sp.csr_array(
            (np.ones(other.size), (np.arange(other.size), np.full(other.size, k))),
            shape=(other.size, K),
        )
        blocks.append(_kron_rows(pick, Xo) - _kron_rows(own, Xo))
    if not blocks:
        return None, 0, "lp"
    A_ub = np.vstack(blocks) if dense else sp.vstack(blocks, format="csr")
    c = np.asarray(A_ub.sum(axis=0)).ravel()
    d = _solve(A_ub, None, c, K * pt)
    if d is None:  # pragma: no cover
        return None, 0, "lp"
    margins = -(A_ub @ d)
    if margins.max(initial=0.0) <= _TOL or -c @ d <= _TOL:
        return None, 0, "lp"
    D = d.reshape(K, pt)
    D = D - D.mean(axis=0)  # the softmax gauge: only class differences matter
    D = np.where(np.abs(D) > _TOL, D, 0.0) / scale[None, :]
    extreme = np.zeros(n, dtype=bool)
    start = 0
    for k in range(K):
        other = np.flatnonzero(codes != k)
        extreme[other] |= margins[start : start + other.size] > _TOL
        start += other.size
    return D.ravel(), int(np.count_nonzero(extreme)), "lp"


def _kron_rows(sel, Xo):
    """Row-wise Kronecker product: row ``i`` is ``sel[i] ⊗ Xo[i]`` (class-major)."""
    K = sel.shape[1]
    return sp.hstack(
        [Xo.multiply(sel[:, [k]].toarray()) for k in range(K)], format="csr"
    )


def _fitted_fallback(spec, rows, y, signs):
    """R's rule: some fitted probability within ``10·eps`` of 0 or 1 (or μ ≈ 0).

    The linear predictor of every row, then the rows' (no copy of ``X[rows]``,
    which costs seconds on a wide design of a million rows).
    """
    eta = _eta(spec)[rows]
    mu = spec.family.mean(eta if spec.family.name == "multinomial" else eta[:, 0])
    if spec.family.name == "poisson" or spec.family.name == "negative_binomial":
        hit = mu < _R_EPS
    else:
        hit = (mu < _R_EPS) | (mu > 1 - _R_EPS)
    hit = hit if hit.ndim == 1 else hit.any(axis=1)
    n_hit = int(np.count_nonzero(hit))
    if not n_hit:
        return None, 0, "fitted"
    # the fitted coefficients point along the divergence
    coef = np.column_stack(
        [spec.coef] + ([spec.intercept[:, None]] if spec.intercept is not None else [])
    )
    return coef.ravel(), n_hit, "fitted"


# ------------------------------------------------------------------- the check
def check_separation(spec, curv, point=None):
    """Warn and flag ``curv`` when the MLE of ``spec`` does not exist.

    Unpenalised fits get a :class:`SeparationWarning` and the ``"separation"`` flag:
    their estimate does not exist.  Penalised fits on separated data have one (the
    penalty keeps the coefficients finite) and get the warning without the flag; when
    the data's curvature along the separating direction has fallen below
    :data:`FLAT_RATIO` of its null value (effectively unpenalised) the warning adds
    that TIC's first-order penalty fails there (the rows that nearly separate have
    high leverage: :func:`ticselect.criteria` flags ``"high_leverage"`` from them,
    and approximate leave-one-out holds).

    Parameters
    ----------
    spec : GLMSpec
        The fitted model and its data.
    curv : Curvature
        Its curvature (flagged in place).
    point : dict or None, default=None
        Passed to :func:`separating_direction` (the certificate's inputs).

    Returns
    -------
    Curvature
    """
    d, n_extreme, method = separating_direction(spec, point)
    if d is None:
        return curv
    coef_names = _coef_names(curv, d.shape[0], spec)
    unpenalised = not np.any(curv.penalty[: _to_param_layout(d, spec, curv).size] > 0)
    ratio = 0.0 if unpenalised else _curvature_ratio(spec, d)
    cols = [coef_names[j] for j in np.flatnonzero(d)][:8]
    shown = ", ".join(cols) + (", ..." if np.count_nonzero(d) > 8 else "")
    what = (
        "a zero-count cell: the log mean of those rows goes to -inf"
        if spec.family.name in ("poisson", "negative_binomial")
        else "(quasi-)complete separation of the classes"
    )
    found = (
        f"{spec.model_name}: {what} ({n_extreme} of {spec.X.shape[0]} rows are fitted "
        f"exactly in the limit; separating columns: {shown}; "
        f"{'linear-programme' if method.startswith('lp') else 'fitted-probability'} "
        "test)."
    )
    if unpenalised:
        curv.add_flag("separation")
        warnings.warn(
            f"{found} The maximum-likelihood estimate does not exist and the fit is "
            "unpenalised: the coefficients diverge, the log-likelihood tends to its "
            "bound, and AIC, BIC and TIC are not meaningful (flagged 'separation'). "
            "Use a penalty (smaller C, larger alpha), drop or merge the separating "
            "columns, or use a bias-reduced (Firth) fit.",
            SeparationWarning,
            stacklevel=4,
        )
    elif ratio < FLAT_RATIO:
        warnings.warn(
            f"{found} The penalised estimate exists, but only the penalty holds it "
            "(along the separating direction the data's curvature has fallen to "
            f"{ratio:.2g} of its value at the null model): TIC's first-order penalty "
            "understates the gap of such a fit; compare penalties by approximate "
            "leave-one-out (ts.approximate_loo, neg_alo).",
            SeparationWarning,
            stacklevel=4,
        )
    else:
        warnings.warn(
            f"{found} Only the penalty keeps the coefficients finite (along the "
            f"separating direction the data's curvature is {ratio:.2g} of its value "
            "at the null model); the criteria are defined, but the unpenalised "
            "model would diverge.",
            SeparationWarning,
            stacklevel=4,
        )
    return curv


def _eta(spec):
    eta = np.asarray(spec.X @ spec.coef.T, dtype=float)
    if spec.intercept is not None:
        eta = eta + spec.intercept[None, :]
    if spec.offset is not None:
        eta = eta + np.asarray(spec.offset)[:, None]
    return eta


def _quadratic_along(spec, eta, d):
    """``dᵀ H(η) d`` of the data term (dispersion 1), ``d`` in coefficient layout."""
    fam, m = spec.family, spec.coef.shape[0]
    multi = fam.name == "multinomial"
    D = d.reshape(m, -1)
    p = spec.X.shape[1]
    u = np.asarray(spec.X @ D[:, :p].T, dtype=float)  # (n, m)
    if spec.intercept is not None:
        u = u + D[:, p][None, :]
    _, d2 = fam.eta_derivatives(spec.y, eta if multi else eta[:, 0], 1.0)
    w = np.asarray(spec.sample_weight, dtype=float)
    if multi:
        d2 = np.asarray(d2).reshape(-1, m, m)
        return float(np.sum(w * np.einsum("ik,ikl,il->i", u, d2, u)))
    return float(np.sum(w * np.asarray(d2).ravel() * u[:, 0] ** 2))


def _curvature_ratio(spec, d):
    """``dᵀH(θ̂)d / dᵀH(null)d`` (see :data:`FLAT_RATIO`)."""
    fam = spec.family
    w = np.asarray(spec.sample_weight, dtype=float)
    y = np.asarray(spec.y, dtype=float)
    n = y.shape[0]
    m = spec.coef.shape[0]
    if fam.name == "multinomial":
        freq = np.bincount(np.round(y).astype(int), weights=w, minlength=m)
        freq = np.clip(freq / freq.sum(), 1e-3, None)
        eta0 = np.tile(np.log(freq), (n, 1))
    else:
        scale = np.broadcast_to(getattr(fam, "n_trials", 1.0), y.shape)
        mean = float(np.sum(w * y) / np.sum(w * scale))
        mean = min(max(mean, 1e-3), 1 - 1e-3) if fam.name == "binomial" else mean
        eta0 = np.full((n, 1), _LINKS[fam.link.name](mean))
    with np.errstate(all="ignore"):
        ref = _quadratic_along(spec, eta0, d)
        now = _quadratic_along(spec, _eta(spec), d)
    return now / ref if ref > 0 and np.isfinite(now) else 0.0


def _coef_names(curv, n, spec):
    if spec.family.name == "multinomial" and spec.drop_classes:
        # statsmodels MNLogit: the reference class is not in param_names
        pt = n // spec.coef.shape[0]
        base = curv.param_names[:pt]
        base = [nm.split(":", 1)[-1] for nm in base]
        return [f"{c}:{nm}" for c in spec.class_names for nm in base]
    return curv.param_names[:n]


def _to_param_layout(d, spec, curv):
    """The direction in the coefficients of ``curv`` (reference class dropped)."""
    if spec.family.name == "multinomial" and spec.drop_classes:
        K = spec.coef.shape[0]
        D = d.reshape(K, -1)
        D = D - D[list(spec.drop_classes)[0]]
        keep = [k for k in range(K) if k not in spec.drop_classes]
        return D[keep].ravel()
    return d
