"""Layer 3 — the optimisers of :class:`~ticselect.CriterionSearch`, on log penalties.

Every evaluation is a refit plus a curvature, so the optimisers count evaluations,
not iterations.  They minimise ``f(t)``, a criterion on the deviance scale, over
``t = log v`` (``v`` the estimator's penalty parameters) inside the box ``[lo, hi]``:

one penalty, with a derivative (:func:`minimize_1d`)
    Safeguarded cubic interpolation (Nocedal & Wright, *Numerical Optimization*,
    2nd ed., eq. 3.59): each step fits the cubic through the values and slopes of
    the last two points and moves to its minimiser, kept inside the bracket the
    slopes' signs define (bisection when the cubic has no minimiser there, doubling
    steps until a bracket exists).  It stops when the next step would be shorter
    than ``xtol`` (the current point is then within about ``xtol`` of the
    minimiser, the cubic's error being of higher order) or at a bound whose slope
    points outwards.
one penalty, values only (:func:`minimize_values_1d`)
    Doubling steps downhill until the minimum is bracketed, then Brent's bounded
    method (:func:`scipy.optimize.minimize_scalar`, golden section with parabolic
    steps) to ``xtol``.
several penalties (:func:`minimize_nd`)
    L-BFGS-B (:func:`scipy.optimize.minimize`) with the analytic gradient and the
    box as bounds, on the criterion per sample.
the one-standard-error rule (:func:`one_se_point`)
    From the minimiser, along the direction that increases every penalty, the
    point where the criterion has risen by its standard error there: Newton steps
    on ``f(t) − f* − se*`` with the slope, safeguarded by bisection.

A point is a :class:`Point`; the caller's evaluator returns it with ``grad=None``
where no derivative exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

__all__ = [
    "Point",
    "minimize_1d",
    "minimize_nd",
    "minimize_values_1d",
    "one_se_point",
]

#: First step (in ``log v``) from the start when no curvature is known: a factor e.
FIRST_STEP = 1.0
#: Longest first step taken from MacKay's update (a factor of about 55).
MAX_FIRST_STEP = 4.0
#: Several penalties: an iteration that gains less than ``FTOL_SCALE · xtol²`` nats
#: per sample ends the search (1e-5 at the default xtol, far below the criterion's
#: own standard error).
FTOL_SCALE = 0.1


@dataclass
class Point:
    """One evaluation: ``t`` (log parameters), the criterion, its slope and SE."""

    t: np.ndarray
    value: float
    grad: np.ndarray | None = None
    se: float = np.nan
    extra: dict = field(default_factory=dict)

    @property
    def ok(self):
        """Whether the value is finite."""
        return bool(np.isfinite(self.value))


class Budget(Exception):
    """Raised by the evaluator when ``max_evals`` evaluations have been spent."""


def _slope(p):
    return None if p.grad is None else float(p.grad[0])


def _secant(a, b):
    """Root of the slope's chord through two points, or None if it is not convex."""
    ta, tb = float(a.t[0]), float(b.t[0])
    ga, gb = _slope(a), _slope(b)
    if ta == tb or not (gb - ga) / (tb - ta) > 0:
        return None
    t = tb - gb * (tb - ta) / (gb - ga)
    return float(t) if np.isfinite(t) else None


def _cubic_min(a, b):
    """Minimiser of the cubic through two points' values and slopes, or None."""
    ta, tb = float(a.t[0]), float(b.t[0])
    fa, fb, ga, gb = a.value, b.value, _slope(a), _slope(b)
    if ta == tb:
        return None
    d1 = ga + gb - 3.0 * (fa - fb) / (ta - tb)
    disc = d1 * d1 - ga * gb
    if disc < 0:
        return None
    d2 = np.sign(tb - ta) * np.sqrt(disc)
    denom = gb - ga + 2.0 * d2
    if denom == 0:
        return None
    t = tb - (tb - ta) * (gb + d2 - d1) / denom
    return float(t) if np.isfinite(t) else None


def _first_step(point, t, g):
    """The first move: MacKay's update when it goes downhill, else ``FIRST_STEP``."""
    ratio = point.extra.get("mackay") if point.extra else None
    e = point.extra.get("exponent", 1.0) if point.extra else 1.0
    if ratio is not None and np.isfinite(ratio[0]) and ratio[0] > 0:
        step = float(np.log(ratio[0]) / e)
        step = float(np.clip(step, -MAX_FIRST_STEP, MAX_FIRST_STEP))
        if step * g < 0 and abs(step) >= 0.1:
            return t + step
    return None


def minimize_1d(evaluate, t0, lo, hi, xtol):
    """Minimise a criterion of one log penalty with its slope (module docstring).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(t) -> Point`` for ``t`` of shape (1,); raises :class:`Budget`
        when out of evaluations, returns ``grad=None`` when no slope exists.
    t0 : float
        Start.
    lo, hi : float
        Bounds on ``t``.
    xtol : float
        Stop when the next step is shorter than this.

    Returns
    -------
    best : Point
        The evaluated point of least value.
    stopped : str
        ``"converged"``, ``"bound"``, ``"no_slope"`` (the caller continues without
        slopes) or ``"budget"``.
    """
    points = []

    def ev(t):
        p = evaluate(np.array([min(max(t, lo), hi)]))
        points.append(p)
        return p

    def best():
        ok = [p for p in points if p.ok]
        return min(ok, key=lambda p: p.value) if ok else points[-1]

    try:
        cur = ev(t0)
        if cur.grad is None or not cur.ok:
            return best(), "no_slope"
        left, right = None, None  # evaluated points with slope < 0 and > 0
        prev, step = None, FIRST_STEP
        for _ in range(200):
            g = _slope(cur)
            tc = float(cur.t[0])
            if g < 0:
                left = cur if left is None or tc > left.t[0] else left
            elif g > 0:
                right = cur if right is None or tc < right.t[0] else right
            else:
                return cur, "converged"
            if (tc >= hi and g < 0) or (tc <= lo and g > 0):
                return best(), "bound"
            a = float(left.t[0]) if left is not None else lo
            b = float(right.t[0]) if right is not None else hi
            bracketed = left is not None and right is not None
            cand = _cubic_min(prev, cur) if prev is not None else None
            if prev is None and len(points) == 1:
                cand = _first_step(cur, tc, g)
            if cand is not None and not bracketed and prev is not None:
                last = abs(tc - float(prev.t[0]))  # extrapolate at most 4 steps
                cand = tc + float(np.clip(cand - tc, -4 * last, 4 * last))
            if cand is None or not a < cand < b:
                if bracketed:
                    cand = _secant(left, right)  # false position, then bisection
                    cand = cand if cand is not None and a < cand < b else 0.5 * (a + b)
                else:  # extrapolate downhill, doubling
                    cand = tc - np.sign(g) * step
                    step *= 2.0
            if bracketed:  # a tenth of the bracket away from its far end
                margin = 0.1 * (b - a)
                if tc <= a:
                    cand = min(cand, b - margin)
                elif tc >= b:
                    cand = max(cand, a + margin)
                else:
                    cand = min(max(cand, a + margin), b - margin)
            cand = min(max(cand, lo), hi)
            if abs(cand - tc) < xtol or (bracketed and b - a < xtol):
                return best(), "converged"
            prev = cur
            cur = ev(cand)
            if cur.grad is None or not cur.ok:
                if cur.ok and cur.grad is None:
                    return best(), "no_slope"
                # a non-finite criterion (the fit left the mean space): go back
                cur, right = prev, None if right is None else right
                step = 0.5 * abs(cand - tc)
                prev = None
                if step < xtol:
                    return best(), "converged"
        return best(), "converged"
    except Budget:
        return best(), "budget"


def minimize_values_1d(evaluate, t0, lo, hi, xtol, start=None):
    """Minimise a criterion of one log penalty from values alone (Brent).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(t) -> Point`` (its ``grad`` is ignored).
    t0 : float
        Start.
    lo, hi : float
        Bounds on ``t``.
    xtol : float
        Absolute tolerance on ``t``.
    start : Point or None, default=None
        An already evaluated point at ``t0``.

    Returns
    -------
    best : Point
    stopped : str
        ``"converged"``, ``"bound"`` or ``"budget"``.
    """
    points = [] if start is None else [start]

    def f(t):
        t = min(max(float(t), lo), hi)
        for p in points:
            if abs(float(p.t[0]) - t) < 1e-12:
                return p.value if p.ok else np.inf
        p = evaluate(np.array([t]))
        points.append(p)
        return p.value if p.ok else np.inf

    def best():
        ok = [p for p in points if p.ok]
        return min(ok, key=lambda p: p.value) if ok else points[-1]

    try:
        f0 = f(t0)
        step = FIRST_STEP
        t1 = min(max(t0 + step, lo), hi)
        if t1 == t0:
            t1 = max(t0 - step, lo)
        f1 = f(t1)
        if f1 > f0:  # go the other way
            t0, t1, f0, f1 = t1, t0, f1, f0
        direction = np.sign(t1 - t0)
        a = t0
        while True:
            step *= 2.0
            t2 = min(max(t1 + direction * step, lo), hi)
            if t2 == t1:  # reached a bound going downhill
                return best(), "bound"
            f2 = f(t2)
            if f2 >= f1:
                break
            a, t1, f1 = t1, t2, f2
        lo_b, hi_b = sorted((a, t2))
        optimize.minimize_scalar(
            f, bounds=(lo_b, hi_b), method="bounded", options={"xatol": xtol}
        )
        return best(), "converged"
    except Budget:
        return best(), "budget"


def minimize_nd(evaluate, t0, lo, hi, n_samples, xtol, gtol=1e-8):
    """Minimise a criterion of several log penalties with its gradient (L-BFGS-B).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(t) -> Point`` with ``grad`` of shape (G,).
    t0 : ndarray of shape (G,)
        Start.
    lo, hi : ndarray of shape (G,)
        Bounds on ``t``.
    n_samples : float
        Without a gradient at the start the criterion is divided by ``2n`` (nats
        per sample); with one, by the largest slope there, so that L-BFGS-B's first
        step (minus the gradient) moves ``t`` by about 1.
    xtol : float
        Stop when an iteration moves every ``t_g`` by less than this, or lowers
        the criterion by less than ``FTOL_SCALE · xtol²`` nats per sample (what a
        move of ``xtol`` changes near a minimum whose curvature is ``2·FTOL_SCALE``
        per sample; a group whose penalty heads for a bound lowers it less and
        less).
    gtol : float, default=1e-8
        Projected-gradient tolerance, in those units per unit of ``log v``.

    Returns
    -------
    best : Point
    stopped : str
        ``"converged"``, ``"bound"`` or ``"budget"``.
    """
    points = []
    scale = 1.0 / (2.0 * n_samples)
    try:  # scale so that the first step of L-BFGS-B (−gradient) moves t by ~1
        first = evaluate(np.asarray(t0, dtype=float))
    except Budget:
        return points[0] if points else None, "budget"
    points.append(first)
    if first.ok and first.grad is not None and np.max(np.abs(first.grad)) > 0:
        scale = 1.0 / float(np.max(np.abs(first.grad)))

    def fun(t):
        p = evaluate(np.clip(np.asarray(t, dtype=float), lo, hi))
        points.append(p)
        if not p.ok or p.grad is None:
            return np.inf, np.zeros_like(t)
        return p.value * scale, np.asarray(p.grad, dtype=float) * scale

    def best():
        ok = [p for p in points if p.ok]
        return min(ok, key=lambda p: p.value) if ok else points[-1]

    last = [np.asarray(t0, dtype=float), first.value]
    f_tol = FTOL_SCALE * xtol**2 * 2.0 * n_samples  # deviance scale

    def small_step(intermediate_result):
        x = np.array(intermediate_result.x, dtype=float)  # scipy reuses its array
        f = min(p.value for p in points if p.ok)
        moved, gained = float(np.max(np.abs(x - last[0]))), last[1] - f
        last[0], last[1] = x, f
        if moved < xtol or gained < f_tol:
            raise StopIteration

    try:
        optimize.minimize(
            fun, np.asarray(t0, dtype=float), jac=True, method="L-BFGS-B",
            bounds=list(zip(lo, hi, strict=True)), callback=small_step,
            options={"gtol": gtol, "ftol": 1e-12, "maxfun": 10_000},
        )  # fmt: skip
    except Budget:
        return best(), "budget"
    b = best()
    at_bound = np.any(np.isclose(b.t, lo) | np.isclose(b.t, hi))
    return b, "bound" if at_bound else "converged"


def one_se_point(evaluate, best, direction, lo, hi, xtol, points=()):
    """The most regularised point whose criterion is within one SE of the best.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(t) -> Point``.
    best : Point
        The minimiser, with its standard error ``se``.
    direction : ndarray of shape (G,)
        Unit move in ``t`` that increases every penalty (``+1`` for ``alpha``,
        ``-1`` for ``C``).
    lo, hi : ndarray of shape (G,)
        Bounds on ``t``.
    xtol : float
        Tolerance on the move along ``direction``.
    points : sequence of Point, default=()
        Points already evaluated (their values are reused to bracket).

    Returns
    -------
    Point
        The evaluated point farthest along ``direction`` whose value is at most
        ``best.value + best.se`` (``best`` itself when none is).
    """
    target = best.value + best.se
    if not np.isfinite(target):
        return best
    direction = np.asarray(direction, dtype=float)
    # largest move that stays in the box
    moving = direction != 0
    ends = np.where(direction > 0, hi, lo)[moving]
    s_max = float(np.min((ends - best.t[moving]) / direction[moving]))
    inside = [best]
    s_lo, s_hi = 0.0, None
    for p in points:  # reuse evaluated points on the ray
        s = float(np.dot(p.t - best.t, direction) / np.dot(direction, direction))
        if s > 0 and np.allclose(p.t, best.t + s * direction, atol=1e-9):
            if p.ok and p.value <= target:
                inside.append(p)
                s_lo = max(s_lo, s)
            elif s_hi is None or s < s_hi:
                s_hi = s
    step = FIRST_STEP
    try:
        for _ in range(60):
            if s_hi is not None and s_hi - s_lo < xtol:
                break
            if s_hi is None:
                cand = min(s_lo + step, s_max)
                step *= 2.0
            else:
                cand = 0.5 * (s_lo + s_hi)
                p_lo = max(inside, key=lambda p: float(np.dot(p.t - best.t, direction)))
                slope = (
                    None if p_lo.grad is None else float(np.dot(p_lo.grad, direction))
                )
                if slope is not None and slope > 0:  # Newton from the inside point
                    newton = s_lo + (target - p_lo.value) / slope
                    if s_lo < newton < s_hi:
                        cand = min(max(newton, s_lo + 0.1 * (s_hi - s_lo)),
                                   s_hi - 0.1 * (s_hi - s_lo))  # fmt: skip
            if cand <= s_lo:
                break
            p = evaluate(best.t + cand * direction)
            if p.ok and p.value <= target:
                inside.append(p)
                s_lo = cand
                if cand >= s_max:
                    break
            else:
                s_hi = cand
    except Budget:
        pass
    return max(inside, key=lambda p: float(np.dot(p.t - best.t, direction)))
