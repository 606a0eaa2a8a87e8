"""A cheap proof that the MLE exists: the no-separation certificate.

:mod:`ticselect.curvature._separation` decides separation by a linear programme over
the rows; on a large design that programme costs as much as the curvature itself.
Most fits are not separated, and a converged fit already holds the proof: this module
checks it in ``O(n)`` (one product ``X̃v``) plus ``O(p³)`` on the ``p × p`` Hessian
that the curvature has computed anyway (usually without the product: see "Without
a pass over X" below).  When the check fails, nothing is concluded and the programme
runs as before.

The statement (one linear predictor: binomial, Poisson or negative binomial with a
log link).  Write ``x̃ᵢ`` for row ``i`` of the design with its intercept column,
``sᵢ ∈ {+1, -1, 0}`` for the programme's signs (top of the range, bottom, interior;
rows of zero weight are dropped), and at the fitted ``η`` the weighted per-row
derivatives of the negative log-likelihood ``uᵢ = -wᵢ ℓ'ᵢ`` and ``hᵢ = wᵢ ℓ''ᵢ ≥ 0``,
so that the data part of the gradient and Hessian are ``G = -Σ uᵢ x̃ᵢ`` and
``M = Σ hᵢ x̃ᵢx̃ᵢᵀ``.  The programme finds separation iff some ``d`` has
``sᵢ x̃ᵢᵀd ≥ 0`` on every sign row, ``x̃ᵢᵀd = 0`` on every interior row, and some
``sᵢ x̃ᵢᵀd > 0``.

**Lemma.** If there are numbers ``aᵢ`` with ``Σ aᵢ x̃ᵢ = 0`` and ``sᵢaᵢ > 0`` on
every sign row (interior rows: any sign), no such ``d`` exists.
*Proof.* For such a ``d``, ``0 = dᵀΣ aᵢx̃ᵢ = Σ_{sign rows} (sᵢaᵢ)(sᵢx̃ᵢᵀd)`` (interior
rows contribute ``aᵢ·0``), a sum of non-negative terms with positive weights
``sᵢaᵢ``, so every ``sᵢx̃ᵢᵀd = 0``: no row is separated.  ∎  (This is the easy half of
Stiemke's theorem of the alternative; the other half says such ``aᵢ`` exist whenever
the data are not separated, so the certificate is not vacuous.)

**The certificate.**  A fitted model gives ``aᵢ`` with the right signs for free: on a
sign row, ``sᵢuᵢ > 0`` whenever the fitted probability (mean) is strictly inside its
range (``uᵢ = wᵢ(1 - μᵢ)`` for ``y = 1``, ``-wᵢμᵢ`` for ``y = 0`` in the logistic
model), but ``Σ uᵢx̃ᵢ = -G`` is not 0 for a penalised or unfinished fit.  Take the
Newton step towards the unpenalised maximum, ``v = -M⁻¹G``, and
``aᵢ = uᵢ - hᵢ x̃ᵢᵀv`` (the residuals linearised one Newton step on):
``Σ aᵢx̃ᵢ = -G - Mv = 0``.  So the data are not separated when, on every sign row,
``sᵢ(uᵢ - hᵢ x̃ᵢᵀv) > 0`` -- for the logistic model ``μᵢ x̃ᵢᵀv < 1`` on the rows with
``y = 1`` and ``-(1 - μᵢ) x̃ᵢᵀv < 1`` on those with ``y = 0``: *no fitted probability
is at 0 or 1, and one Newton step towards the unpenalised fit moves no row's linear
predictor far enough to push its probability through the observed response*.  On
separated data this must fail (the lemma), and it does: along a separating
direction the Newton step moves the separated rows' predictors by about one unit
past their responses.

**Floating point.**  ``M``, ``G``, ``v`` and ``x̃ᵢᵀv`` are computed, not exact, so
``r = Σ aᵢx̃ᵢ`` (``aᵢ`` formed from the computed ``x̃ᵢᵀv``) is small but not 0.  It
is absorbed without losing the signs: ``bᵢ = hᵢ x̃ᵢᵀM⁻¹r`` has ``Σ bᵢx̃ᵢ = r`` and,
because a row's leverage ``hᵢx̃ᵢᵀM⁻¹x̃ᵢ ≤ 1``, ``|bᵢ| ≤ √hᵢ ‖r‖_{M⁻¹}``; so
``aᵢ - bᵢ`` satisfies the lemma when ``sᵢaᵢ > √hᵢ R`` for a bound ``R ≥ ‖r‖_{M⁻¹}``.
:func:`certify_not_separated` computes ``R`` from the standard a-priori rounding
bounds (``|fl(Σ tₖ) - Σ tₖ| ≤ γ_N Σ|tₖ|`` with ``γ_N = N·eps/(1 - N·eps)``, whatever
the order of summation), turned into ``M⁻¹``-norms through the diagonal
``D² = diag(M)`` and Cauchy-Schwarz (``Σᵢ hᵢ|x̃ᵢⱼ||x̃ᵢₖ| ≤ (MⱼⱼMₖₖ)^½``):

- the solve's residual ``G + Mv`` as computed, plus its own rounding;
- the accumulated gradient: ``|G̃ - G|ⱼ ≤ γ_N Σᵢ|uᵢ||x̃ᵢⱼ|``, a sum the curvature
  accumulates anyway (the scale of its stationarity test);
- the accumulated Hessian: ``|M̃ - M|ⱼₖ ≤ γ_N (MⱼⱼMₖₖ)^½``, so
  ``‖D⁻¹(M̃ - M)v‖ ≤ γ_N √p ‖Dv‖₁``;
- the products ``x̃ᵢᵀv``: ``(Σ hᵢ δᵢ²)^½ ≤ γ_p √p ‖Dv‖₂``, already an ``M⁻¹``-norm;

and ``‖z‖_{M⁻¹} ≤ (2κ)^½ ‖D⁻¹z‖`` with ``κ = 2‖L⁻¹‖_F² ≥ ‖(D⁻¹M̃D⁻¹)⁻¹‖₂`` from
the Cholesky factor ``L`` of the equilibrated Hessian (the first 2 for ``M`` against
``M̃``, valid when ``2γ_N p κ ≤ 1/2``, which is checked; the second for the rounding
of the ``p × p`` factorisation, whose relative error ``O(p·eps·κ)`` the check keeps
below ``1e-3``).  ``N`` counts the rows plus a few roundings per term.  In practice
``R`` is 1e-9 or less while ``sᵢaᵢ`` is of the order of the fitted probabilities:
the check fails only on rows whose fitted probability is within rounding of 0 or 1,
or when the Newton step overshoots.

**Without a pass over X.**  The lemma only needs *some* ``aᵢ`` with the right signs
and ``Σ aᵢx̃ᵢ`` within ``R``; on a row where ``x̃ᵢᵀv`` is taken exactly (not as
computed) ``aᵢ = uᵢ - hᵢx̃ᵢᵀv``, and Cauchy-Schwarz ``|x̃ᵢᵀv| ≤ ‖x̃ᵢ‖‖v‖ ≤ Tᵢ`` gives
``sᵢaᵢ ≥ sᵢuᵢ - hᵢTᵢ``.  The squared row norms ``‖xᵢ‖²`` are kept by the
accumulator while each block is in cache (dense design, one predictor), so a row
passes when ``sᵢuᵢ - hᵢTᵢ > √hᵢ R`` (with ``Tᵢ`` rounded up by a factor
``1 + γ_{2p+16}`` over the rounding of the norms, and the subtraction's own rounding
as below).  Only the rows that fail this bound get their computed ``x̃ᵢᵀv`` (a gather
of those rows, or the whole product when they are many) and the test above.  Mixing
the two kinds of rows keeps ``R`` valid: the rows with exact products contribute no
product rounding to ``Σ aᵢx̃ᵢ``.  For a converged, lightly penalised fit ``‖v‖`` is
tiny and every row passes the bound: the certificate then reads only vectors of
length ``n``.

When it fails (a strong penalty can make the Newton step overshoot without any
separation, a singular ``M`` has no Newton step) the linear programme decides, so the
answer never depends on the certificate, only its cost does.  Multinomial fits,
negative curvature weights (non-canonical links away from the mode) and more than
:data:`MAX_PARAMS` parameters always go to the programme.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = ["MAX_PARAMS", "certify_not_separated"]

#: Largest number of parameters certified (``O(p³)`` for the factor's inverse).
MAX_PARAMS = 1000
_EPS = np.finfo(float).eps


def _gamma(k):
    return k * _EPS / (1.0 - k * _EPS)


def certify_not_separated(spec, signs, point):
    """Whether the fitted point proves that the MLE of ``spec`` exists.

    Parameters
    ----------
    spec : GLMSpec
        The fitted model and its data (one linear predictor).
    signs : ndarray of shape (n,) or callable
        ``+1`` / ``-1`` / ``0``: top of the range, bottom, interior (the programme's
        ``sᵢ``, before dropping rows of zero weight); or ``signs(rows)`` giving
        those of ``rows`` (a slice or indices), evaluated chunk by chunk.
    point : dict
        What :func:`~ticselect.curvature._glm.glm_curvature` computed at the fit:
        ``d1``, ``d2`` (per-row ``ℓ'``, ``ℓ''`` in ``η``, shape ``(n, 1)`` and
        ``(n, 1, 1)``), ``hessian`` and ``gradient`` (the data term's, coefficients
        only, intercept last), ``abs_gradient``, and ``row_norms`` (``‖xᵢ‖²``
        without the intercept, or ``None``: then every row's product is formed).

    Returns
    -------
    bool
        ``True``: no direction separates the data (proved, see the module docstring,
        with rounding accounted for).  ``False``: not proved; decide otherwise.
    """
    H = np.asarray(point["hessian"], dtype=float)
    G = np.asarray(point["gradient"], dtype=float)
    n, p = spec.X.shape
    pt = H.shape[0]
    if (
        spec.coef.shape[0] != 1
        or pt > MAX_PARAMS
        or pt != p + int(spec.intercept is not None)
    ):
        return False
    w = np.asarray(spec.sample_weight, dtype=float)
    chunks = _Chunks(spec, signs, point, w)
    h_min, h_max, u_max = chunks.ranges()
    if not h_min >= 0:  # negative (or NaN) curvature weights
        return False
    factor = _equilibrated_factor(H, n)
    if factor is None:
        return False
    D, L, kappa = factor
    v = -linalg.cho_solve((L, True), G / D) / D  # the Newton step M⁻¹(-G)
    R = _residual_bound(H, G, point["abs_gradient"], v, D, kappa, n)
    # a = u - h t (t = x̃ᵀv) must have sᵢaᵢ > √hᵢ R on the sign rows; with the
    # rounding of a itself (≤ 2eps(|u| + |a|)) it suffices that
    # sᵢaᵢ(1 - 3eps) > √max(h) R + 3eps max|u|
    need = np.sqrt(h_max) * R + 3 * _EPS * u_max
    if not np.isfinite(need):
        return False
    need /= 1 - 3 * _EPS
    rows = chunks.past_the_norm_bound(v, np.sqrt(h_max) * R / (1 - 3 * _EPS))
    # the rows the bound leaves, a chunk at a time: the first failing row ends it
    for start in range(0, rows.size, chunks.size):
        at = rows[start : start + chunks.size]
        a = np.asarray(spec.X[at] @ v[:p], dtype=float).ravel()
        if spec.intercept is not None:
            a += v[p]
        u, h, s = chunks.at(at)
        a *= h
        np.subtract(u, a, out=a)
        a *= s
        if not np.isfinite(a.sum()):
            return False
        bad = np.flatnonzero(a <= need)
        # rows of zero weight and interior rows need no sign
        if np.any((s[bad] != 0) & (w[at][bad] > 0)):
            return False
    return True


class _Chunks:
    """The per-row ``uᵢ = -wᵢℓ'ᵢ``, ``hᵢ = wᵢℓ''ᵢ`` and signs, chunk by chunk.

    The very products the accumulator formed (same expression, same bits), in
    cache-sized chunks: no ``n``-length temporaries.  ``signs`` is an array of shape
    ``(n,)`` or a callable ``signs(slice) -> ndarray`` of those rows.
    """

    size = 2**14

    def __init__(self, spec, signs, point, w):
        self.spec, self.signs, self.w = spec, signs, w
        self.d1, self.d2 = point["d1"][:, 0], point["d2"][:, 0, 0]
        self.rn = point.get("row_norms")
        self.n = w.shape[0]

    def at(self, rows):
        """``u``, ``h`` and the signs of ``rows`` (a slice or indices)."""
        w = self.w[rows]
        u = w * self.d1[rows]
        np.negative(u, out=u)
        h = w * self.d2[rows]
        s = self.signs(rows) if callable(self.signs) else self.signs[rows]
        return u, h, np.asarray(s, dtype=float)

    def _slices(self):
        for start in range(0, self.n, self.size):
            yield slice(start, min(self.n, start + self.size))

    def ranges(self):
        """``min h``, ``max h`` and ``max |u|`` (NaN propagates to the minimum)."""
        h_min, h_max, u_max = np.inf, 0.0, 0.0
        for sl in self._slices():
            w = self.w[sl]
            h = w * self.d2[sl]
            u = w * self.d1[sl]
            h_min = np.minimum(h_min, h.min())
            h_max = np.maximum(h_max, h.max())
            u_max = np.maximum(u_max, np.abs(u).max())
        return float(h_min), float(h_max), float(u_max)

    def past_the_norm_bound(self, v, need):
        """Rows whose sign the bound ``|x̃ᵢᵀv| ≤ ‖x̃ᵢ‖‖v‖`` does not settle.

        Module docstring, "Without a pass over X".  Returns the indices of the sign
        rows of positive weight that still need their product ``x̃ᵢᵀv`` (all of
        them when the accumulator kept no row norms).  ``need`` is
        ``√max(h) R / (1 - 3eps)``.
        """
        if self.rn is None or np.shape(self.rn) != (self.n,):
            return np.arange(self.n)
        pt = v.shape[0]
        icpt = 1.0 if self.spec.intercept is not None else 0.0
        # ‖x̃ᵢ‖‖v‖ rounded up: over the roundings of the two sums of squares, their
        # product, the square root and the products here (2pt + 16), and by 8 eps
        # more so that fl(sᵢuᵢ - hᵢTᵢ) > need implies the sign condition of the
        # exact aᵢ (the subtraction rounds once more)
        vv = float(v @ v) * (1.0 + _gamma(2 * pt + 16) + 8 * _EPS) ** 2
        out = []
        for sl in self._slices():
            u, h, s = self.at(sl)
            m = self.rn[sl] + icpt
            m *= vv
            np.sqrt(m, out=m)
            m *= h
            u *= s
            u -= m
            left = ~(u > need)  # NaN (an overflowing bound) is not settled
            left &= s != 0
            left &= self.w[sl] > 0
            out.append(np.flatnonzero(left) + sl.start)
        return np.concatenate(out) if out else np.zeros(0, dtype=int)


def _equilibrated_factor(H, n):
    """``D``, the Cholesky factor of ``D⁻¹HD⁻¹`` and ``κ`` (or ``None``: no proof)."""
    diag = np.diag(H)
    if not np.all(np.isfinite(H)) or not np.all(diag > 0):
        return None
    D = np.sqrt(diag)
    try:
        L = linalg.cholesky(H / D[:, None] / D[None, :], lower=True)
    except linalg.LinAlgError:
        return None
    Linv = linalg.solve_triangular(L, np.eye(L.shape[0]), lower=True)
    kappa = 2.0 * float(np.sum(Linv * Linv))
    pt = H.shape[0]
    # M ⪰ M̃/2 (see the module docstring), and the factorisation's rounding small
    if not (2 * _gamma(n + 8) * pt * kappa <= 0.5 and pt * _EPS * kappa <= 1e-3):
        return None
    return D, L, kappa


def _residual_bound(H, G, abs_G, v, D, kappa, n):
    """``R ≥ ‖Σ aᵢx̃ᵢ‖_{M⁻¹}`` (module docstring, "Floating point").

    ``abs_G`` is the accumulated ``Σ|uᵢ||x̃ᵢ|``, which bounds the gradient's rounding.
    """
    pt = H.shape[0]
    gN = 2 * _gamma(n + 8)  # the 2: diag(M) against the computed diag(M̃)
    res = G + H @ v
    res_err = _gamma(pt + 2) * (np.abs(G) + np.abs(H) @ np.abs(v))
    Dv = D * v
    in_scaled = (
        np.linalg.norm((np.abs(res) + res_err) / D)  # the solve
        + gN * np.linalg.norm(np.asarray(abs_G, dtype=float) / D)  # the gradient's
        + gN * np.sqrt(pt) * np.sum(np.abs(Dv))  # the Hessian's accumulation
    )
    products = _gamma(pt + 2) * np.sqrt(2 * pt) * np.linalg.norm(Dv)  # x̃ᵢᵀv
    return float(np.sqrt(2 * kappa) * in_scaled + products)
