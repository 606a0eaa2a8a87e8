"""Layer 2 — kernel smoothing for :mod:`ticselect.calibration`: smooth ECE and curve.

Everything here works on a *batch* of weightings of the same rows at once: row ``b``
of a ``(B, n)`` weight matrix is one data set (the observed one, ``B = 1``, or a
bootstrap resample given by its row counts).  The kernel is the Gaussian reflected
at 0 and 1, evaluated exactly by its cosine series (the Neumann heat kernel)::

    K_σ(t, s) = 1 + 2 Σ_{k≥1} exp(-π² k² σ² / 2) cos(π k t) cos(π k s)

so a kernel sum ``Σ_i a_i K_σ(t, s_i)`` is a cosine series in ``t`` whose
coefficients ``c_k = Σ_i a_i cos(π k s_i)`` do not depend on ``σ``.  They are
computed lazily, as many as the smallest bandwidth evaluated so far needs
(:func:`n_terms`), so a large fixed-point bandwidth costs few terms.  Conventions of
the smooth ECE are documented at the top of :mod:`ticselect.calibration`.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from ._utils import SMECE_MIN_BANDWIDTH

#: Elements per temporary block (cosine tables, DCT inputs): 2**22 doubles = 32 MiB.
BLOCK_ELEMENTS = 2**22
#: Relative tolerance of the bisection on ``log σ`` for the fixed point.
FIXED_POINT_RTOL = 1e-10


def n_terms(bandwidth):
    """Number of cosine terms for kernel width ``bandwidth`` (elementwise).

    ``exp(-π² k² σ² / 2) < 1e-16`` for ``k >= sqrt(2·37)/(π σ)``.
    """
    return (np.ceil(np.sqrt(2.0 * 37.0) / (np.pi * np.asarray(bandwidth))) + 1).astype(
        int
    )


class CosineSums:
    """Lazily extended cosine sums ``S[b, k] = Σ_i a[b, i] cos(π k s_i)``.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        The points ``s_i`` in ``[0, 1]``.
    weights : ndarray of shape (B, n)
        One weighting ``a[b]`` of the points per row.
    """

    def __init__(self, scores, weights):
        self.scores = scores
        self.weights = np.atleast_2d(weights)
        self.coef = np.zeros((self.weights.shape[0], 0))

    @property
    def n_rows(self):
        """Number of weightings ``B``."""
        return self.weights.shape[0]

    def get(self, k):
        """Return ``S[:, :k]``, computing missing columns (at least doubling)."""
        have = self.coef.shape[1]
        if k > have:
            new = max(int(k), 2 * have)
            cols = np.arange(have, new)
            extra = np.zeros((self.n_rows, cols.size))
            chunk = max(1, BLOCK_ELEMENTS // max(cols.size, 1))
            for start in range(0, self.scores.shape[0], chunk):
                sl = slice(start, start + chunk)
                table = np.cos(np.pi * np.outer(self.scores[sl], cols))
                extra += self.weights[:, sl] @ table
            self.coef = np.concatenate([self.coef, extra], axis=1)
        return self.coef[:, :k]


def _grid_size(terms):
    """Midpoints used for ``∫_0^1 |g|``: a power of two ≥ max(1024, 16 · terms)."""
    return (2 ** np.ceil(np.log2(np.maximum(1024, 16 * terms)))).astype(int)


def abs_integral(sums, bandwidth, rows=None):
    """``∫_0^1 |g_σ(t)| dt`` per row, ``g_σ(t) = Σ_i a_i K_σ(t, s_i)``.

    ``g_σ(t) = S_0 + 2 Σ_{k≥1} exp(-π² k² σ² / 2) S_k cos(π k t)`` is evaluated at
    ``m`` midpoints by a type-3 DCT and integrated by the midpoint rule, ``m`` a
    power of two ≥ ``max(1024, 16 · n_terms(σ))``.  Rows sharing ``m`` are
    transformed together, in blocks of at most :data:`BLOCK_ELEMENTS` values.

    Parameters
    ----------
    sums : CosineSums
        The coefficients ``S``.
    bandwidth : ndarray of shape (B,) or (len(rows),)
        Kernel width ``σ`` of each row.
    rows : ndarray of int or None, default=None
        Rows of ``sums`` to evaluate (all when None).

    Returns
    -------
    ndarray
        One value per evaluated row.
    """
    rows = np.arange(sums.n_rows) if rows is None else np.asarray(rows)
    sigma = np.broadcast_to(np.asarray(bandwidth, dtype=float), rows.shape)
    terms = n_terms(sigma)
    size = _grid_size(terms)
    out = np.empty(rows.shape[0])
    for m in np.unique(size):
        group = np.flatnonzero(size == m)
        step = max(1, BLOCK_ELEMENTS // int(m))
        for start in range(0, group.size, step):
            sel = group[start : start + step]
            k_max = int(terms[sel].max())
            k = np.arange(k_max)
            damp = np.exp(-((np.pi * np.outer(sigma[sel], k)) ** 2) / 2.0)
            damp[k[None, :] >= terms[sel, None]] = 0.0
            x = np.zeros((sel.size, int(m)))
            x[:, :k_max] = sums.get(k_max)[rows[sel]] * damp
            # g_j = x_0 + 2 Σ_k x_k cos(π k (2j+1)/(2m)) at t_j = (j + 1/2)/m
            out[sel] = np.abs(fft.dct(x, type=3, axis=-1)).mean(axis=-1)
    return out


def fixed_point(sums, lo=SMECE_MIN_BANDWIDTH, hi=1.0, rtol=FIXED_POINT_RTOL):
    """Return ``(smece, sigma)`` arrays at the fixed points ``smECE_σ = σ`` per row.

    The root of ``h(u) = smECE_{e^u} - e^u`` on ``u = log σ ∈ [log lo, log hi]``
    (``h`` decreases: the heat semigroup is an L1 contraction), for all rows at
    once: bisection until the lower end of a row's bracket has left ``log lo``
    (evaluating ``h`` at ``lo`` needs the most cosine terms), then the Illinois
    variant of regula falsi until the bracket, or the step, is below ``rtol``.  A
    row whose lower end never leaves ``lo`` (fixed point below the search range)
    gets the value at ``lo`` when ``smECE_lo <= lo``.
    """
    rows = np.arange(sums.n_rows)

    def h(u, sel):
        sigma = np.exp(u)
        return abs_integral(sums, sigma, rows=sel) - sigma

    a = np.full(rows.size, np.log(lo))
    b = np.full(rows.size, np.log(hi))
    fa = np.full(rows.size, np.nan)
    fb = h(b, rows)
    # bisection while the lower end is unevaluated (and the bracket not too small)
    pending = rows[fb < 0.0]
    while pending.size and b[pending[0]] - a[pending[0]] > rtol:
        mid = 0.5 * (a[pending] + b[pending])
        fm = h(mid, pending)
        up = fm > 0.0
        a[pending[up]], fa[pending[up]] = mid[up], fm[up]
        b[pending[~up]], fb[pending[~up]] = mid[~up], fm[~up]
        pending = pending[~up]
    # Illinois regula falsi on the rows with both ends evaluated
    active = rows[np.isfinite(fa) & (fb < 0.0)]
    last = np.zeros(rows.size)  # side moved last: +1 lower end, -1 upper end
    fa_eff, fb_eff = fa.copy(), fb.copy()
    c_prev = np.full(rows.size, np.inf)
    while active.size:
        aa, bb = a[active], b[active]
        c = (aa * fb_eff[active] - bb * fa_eff[active]) / (
            fb_eff[active] - fa_eff[active]
        )
        c = np.where((c > aa) & (c < bb), c, 0.5 * (aa + bb))
        fc = h(c, active)
        up = fc > 0.0
        lower, upper = active[up], active[~up]
        a[lower], fa[lower], fa_eff[lower] = c[up], fc[up], fc[up]
        fb_eff[lower[last[lower] > 0]] *= 0.5
        b[upper], fb[upper], fb_eff[upper] = c[~up], fc[~up], fc[~up]
        fa_eff[upper[last[upper] < 0]] *= 0.5
        last[lower], last[upper] = 1.0, -1.0
        done = (np.abs(c - c_prev[active]) <= rtol) | (b[active] - a[active] <= rtol)
        done |= fc == 0.0
        c_prev[active] = c
        active = active[~done]
    u = np.where(np.isfinite(c_prev), c_prev, 0.5 * (a + b))
    sigma = np.exp(u)
    value = abs_integral(sums, sigma)
    stuck = rows[np.isnan(fa) & (fb < 0.0)]
    if stuck.size:
        at_lo = abs_integral(sums, np.full(stuck.size, lo), rows=stuck)
        below = at_lo <= lo
        value[stuck[below]] = at_lo[below]
        sigma[stuck[below]] = lo
    return value, sigma


def smece_rows(columns, weights, bandwidth=None):
    """Smooth ECE of every weighting (row of ``weights``), averaged over columns.

    Parameters
    ----------
    columns : list of (ndarray, ndarray)
        ``(scores, outcomes)`` pairs of :func:`~._utils.calibration_columns`.
    weights : ndarray of shape (B, n)
        Frequency weights of the rows, one weighting per row of the batch.
    bandwidth : float or None, default=None
        Fixed kernel width, or None for each row's fixed point.

    Returns
    -------
    ndarray of shape (B,)
    """
    weights = np.atleast_2d(weights)
    total = np.zeros(weights.shape[0])
    for scores, outcomes in columns:
        resid = weights * (outcomes - scores) / weights.sum(axis=1, keepdims=True)
        sums = CosineSums(scores, resid)
        if bandwidth is None:
            total += fixed_point(sums)[0]
        else:
            total += abs_integral(sums, np.full(weights.shape[0], bandwidth))
    return total / len(columns)


def smoothed_curve(scores, outcomes, weights, bandwidth, grid):
    """Kernel-smoothed reliability curve ``μ(t) = t + Σ a_i r_i K(t, s_i) / Σ a_i K``.

    The Nadaraya–Watson regression of the residuals ``r = o - s`` on the scores
    with the reflected Gaussian kernel of width ``bandwidth``, added back to the
    diagonal (the curve of Błasiok & Nakkiran's reliability diagrams, whose smooth
    ECE is ``∫ |Σ a_i r_i K(t, s_i)| dt / Σ a_i``).

    Parameters
    ----------
    scores, outcomes : ndarray of shape (n,)
        Scores ``s`` and outcomes ``o``.
    weights : ndarray of shape (B, n)
        Frequency weights, one weighting per row.
    bandwidth : float
        Kernel width ``σ``.
    grid : ndarray of shape (m,)
        Points ``t`` in ``[0, 1]``.

    Returns
    -------
    curve, density : ndarray of shape (B, m)
        ``μ(t)`` and the kernel density ``Σ a_i K(t, s_i) / Σ a_i`` of the scores.
    """
    weights = np.atleast_2d(weights)
    k = int(n_terms(bandwidth))
    stacked = np.concatenate([weights * (outcomes - scores), weights], axis=0)
    coef = CosineSums(scores, stacked).get(k)
    factor = 2.0 * np.exp(-((np.pi * np.arange(k) * bandwidth) ** 2) / 2.0)
    factor[0] = 1.0
    values = (coef * factor) @ np.cos(np.pi * np.outer(np.arange(k), grid))
    b = weights.shape[0]
    num, den = values[:b], values[b:]
    return grid + num / den, den / weights.sum(axis=1, keepdims=True)
