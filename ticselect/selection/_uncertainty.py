"""How sure is a pick: paired differences, their diagnostics, weights and checks.

Pure functions of pointwise matrices (no model objects), shared by the comparison
tables, the criterion paths, :class:`~ticselect.ModelAverage` and the command line.

Conventions
-----------
Pointwise matrix
    ``losses[i, k]`` is row ``i``'s contribution to candidate ``k``'s criterion on the
    **deviance scale**, per unit of weight, so that the criterion is
    ``Σᵢ wᵢ losses[i, k]``: ``2·ℓᵢ(θ₋ᵢ)`` for ALO (``2·LOOResult.pointwise``), ``ticᵢ``
    for TIC (:func:`ticselect.pointwise`).  Lower is better.  R's ``loo`` works on the
    ELPD scale, ``elpd_i = -losses[i, k] / 2``: its ``elpd_diff`` is ``-d / 2`` and
    its ``se_diff`` is ``se / 2``.
Paired difference to the best
    ``d_k = Σᵢ wᵢ (losses[i, k] - losses[i, b])`` with ``b`` the best candidate (the
    first with the smallest criterion), so ``d_b = 0`` and ``d_k ≥ 0``.
Its standard error
    ``se_k = √(n · s²)`` with ``s²`` the weighted sample variance (divisor ``n - 1``)
    of ``δᵢ = losses[i, k] - losses[i, b]`` over ``n = Σᵢ wᵢ`` samples: R ``loo``'s
    ``se_diff = √N · sd(δ)`` (Vehtari, Gelman & Gabry 2017, Statistics and Computing
    27, eq. 24) times 2.  The same divisor as :attr:`ticselect.LOOResult.loo_se`.
    With ``groups`` the ``wᵢδᵢ`` are summed within groups and ``se = √G · sd`` over
    the ``G`` group sums (leave-one-group-out units).
``p_worse``
    ``Φ(d / se)``: the probability, under the normal approximation of loo's
    ``loo_compare`` (Sivula, Magnusson, Matamoros & Vehtari 2025, arXiv 2008.10296),
    that the candidate's expected test loss is higher than the best's; ``nan`` for
    the best (``d = 0``).
Diagnostics (``diag``)
    Sivula et al. show that the normal approximation, and with it ``se`` and
    ``p_worse``, is poorly calibrated (the error distribution is skewed, ``p_worse``
    too large) when the data are small or the candidates predict alike.  As loo's
    ``diag_diff``: ``"n<100"`` on every candidate but the best when ``n < 100``
    (``G`` groups when grouped); otherwise ``"|d|<8"`` where ``0 < d < 8`` (loo's
    ``|elpd_diff| < 4`` on the deviance scale).  ``""`` when neither applies.
Weights, cumulative weight, evidence ratio, confidence set
    For Akaike-type weights ``wₖ ∝ exp(-dₖ / 2)``: the cumulative weight of the
    candidates ranked at or above ``k`` (AICcmodavg's ``Cum.Wt``), the evidence ratio
    ``w_b / wₖ = exp(dₖ / 2)`` (Burnham & Anderson 2002, §2.10), and membership of the
    ``level`` confidence set: the smallest set of top-ranked candidates whose weights
    sum to at least ``level`` (Burnham & Anderson 2002, §4.2; AICcmodavg's
    ``confset(method = "raw")``).
Best of many (order-statistic check)
    The best of ``M`` candidates wins by some margin even when all of them are
    equally good in truth, and the more so the more candidates (the selection-induced
    bias of McLatchie & Vehtari 2023, arXiv 2309.03742).  The check compares the
    best's margin over the average candidate, ``A = mean(crit) - min(crit)``, with
    the value ``A`` takes on average when every candidate has the same expected
    loss: ``E[mean(Z) - min(Z)]`` for ``Z ~ N(0, Σ)``, ``Σ = n·Cov(uᵢ)`` the
    covariance of the paired per-row losses (``uᵢₖ = losses[i, k] - meanₖ``; group
    sums with ``groups``), by Monte Carlo (``n_draws`` draws, a fixed seed, so the
    verdict is reproducible; its error is about ``sd(A)/√n_draws``, 1.6 % of the
    spread at 4000 draws).  It fires when ``A`` does not exceed that expectation,
    the decision rule of loo's ``loo_compare``.  Unlike loo's heuristic (a
    half-normal fitted to the spread of the candidates' criteria around the median
    one, ``Φ⁻¹(1 - 1/(2(M-1)))`` times it), the chance level here comes from the
    paired rows, so it accounts for candidates that are correlated (neighbours on a
    path) and is not inflated by candidates that are worse in truth: on the
    simulations of ``benchmarks/selection.py --best-of-many`` loo's heuristic fired on
    a minority of grids of equally good candidates and on every breast-cancer
    penalty path, this check on most grids and on no path (rates in
    ``benchmarks/README.md``).  Checked when ``M ≥ 5``; with fewer candidates
    ``p_worse`` of each says more.
One-standard-error rule
    The most regularised candidate (smallest ``complexity``, e.g. the effective
    dimension) whose ``d`` is at most its paired ``se``: within one standard error
    of the best, measured by the standard error of the difference (the quantity the
    rule compares) rather than of the best's own criterion (Breiman et al. 1984's
    rule for cross-validation, which has no paired values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..stattests import paired_difference_se

__all__ = [
    "BEST_OF_MANY_MIN",
    "UNCERTAINTY_COLUMNS",
    "criterion_columns",
    "table_columns",
    "PairedDifferences",
    "BestOfMany",
    "best_of_many",
    "one_se_index",
    "paired_differences",
    "weight_summary",
]

#: Columns :func:`criterion_columns` adds per criterion ``c`` (``d_{c}`` included).
UNCERTAINTY_COLUMNS = (
    "d_{c}", "d_{c}_se", "p_worse_{c}", "diag_{c}", "cum_w_{c}", "er_{c}",
    "in_set_{c}",
)  # fmt: skip
#: Fewest candidates for which the best-of-many check is diagnosed.
BEST_OF_MANY_MIN = 5
#: Below this many samples the normal approximation of ``se``/``p_worse`` is flagged.
SMALL_N = 100
#: Deviance-scale differences below this are flagged as similar predictions (loo's
#: ``|elpd_diff| < 4``).
SIMILAR_D = 8.0


@dataclass(frozen=True)
class PairedDifferences:
    """Differences of candidates to the best (built by :func:`paired_differences`).

    Attributes
    ----------
    totals : ndarray of shape (n_models,)
        ``Σᵢ wᵢ losses[i, k]``, each candidate's criterion (deviance scale).
    d : ndarray of shape (n_models,)
        ``totals - totals[best]`` (``inf`` where a total is not finite).
    se : ndarray of shape (n_models,)
        Standard error of ``d`` from the paired rows (0 for the best; ``nan`` where
        ``d`` is not finite).
    p_worse : ndarray of shape (n_models,)
        ``Φ(d / se)`` (``nan`` for the best and where ``d`` is not finite).
    diag : tuple of str
        ``"n<100"``, ``"|d|<8"`` or ``""`` per candidate (module docstring).
    best : int
        Index of the reference candidate.
    n : float
        Independent units: ``Σ wᵢ``, or the number of groups.

    Examples
    --------
    >>> losses = np.array([[1.0, 1.5], [2.0, 2.1], [0.5, 1.4]])
    >>> res = paired_differences(losses)
    >>> res.best, res.d.tolist()
    (0, [0.0, 1.5])
    >>> res.diag
    ('', 'n<100')
    """

    totals: np.ndarray
    d: np.ndarray
    se: np.ndarray
    p_worse: np.ndarray
    diag: tuple
    best: int
    n: float


def _unit_sums(values, w, groups):
    """``(units, unit weights)``: the weighted rows, or group sums of weight 1."""
    if groups is None:
        return values, w
    codes = np.unique(groups, return_inverse=True)[1].ravel()
    summed = np.zeros((int(codes.max()) + 1, values.shape[1]))
    np.add.at(summed, codes, w[:, None] * values)
    return summed, np.ones(summed.shape[0])


def paired_differences(losses, sample_weight=None, groups=None, *, best=None):
    """Differences of each candidate's criterion to the best one, with paired SEs.

    Parameters
    ----------
    losses : array-like of shape (n_rows, n_models)
        Per-row criterion contributions on the deviance scale, per unit of weight
        (see the conventions of :mod:`ticselect.selection._uncertainty`).
    sample_weight : array-like of shape (n_rows,), default=None
        Frequency weights ``wᵢ`` (``n = Σ wᵢ``).
    groups : array-like of shape (n_rows,), default=None
        Group labels: the paired differences are summed within groups first.
    best : int or None, default=None
        Reference candidate; ``None`` is the first with the smallest total.

    Returns
    -------
    PairedDifferences

    Raises
    ------
    ValueError
        For a matrix that is not 2-D, weights or groups of the wrong length, or a
        ``best`` out of range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> losses = rng.normal(2.0, 0.5, size=(200, 3)) + [0.0, 0.05, 0.3]
    >>> res = paired_differences(losses)
    >>> res.best, bool(np.all(res.d >= 0)), float(res.se[res.best])
    (0, True, 0.0)
    >>> delta = losses[:, 2] - losses[:, 0]
    >>> bool(np.isclose(res.se[2], np.sqrt(200) * delta.std(ddof=1)))  # loo's se_diff
    True
    """
    L = np.asarray(losses, dtype=float)
    if L.ndim != 2:
        raise ValueError(
            f"losses must be a 2-D array (n_rows, n_models), got shape {L.shape}."
        )
    n_rows, K = L.shape
    for name, arr in (("sample_weight", sample_weight), ("groups", groups)):
        if arr is not None and np.shape(arr) != (n_rows,):
            raise ValueError(
                f"{name} must have one entry per row ({n_rows}), got shape "
                f"{np.shape(arr)}."
            )
    w = np.ones(n_rows) if sample_weight is None else np.asarray(sample_weight, float)
    with np.errstate(invalid="ignore"):  # 0 · inf for rows of weight 0
        totals = np.where(w[:, None] > 0, w[:, None] * L, 0.0).sum(axis=0)
    finite = np.isfinite(totals)
    if best is None:
        best = int(np.argmin(np.where(finite, totals, np.inf)))
    elif not 0 <= int(best) < K:
        raise ValueError(f"best must be in [0, {K}), got {best!r}.")
    best = int(best)
    use = w > 0
    g = None if groups is None else np.asarray(groups)[use]
    n = float(w.sum()) if g is None else float(np.unique(g).size)
    d = np.full(K, np.inf)
    se = np.full(K, np.nan)
    p_worse = np.full(K, np.nan)
    ok = finite & np.isfinite(totals[best])
    if np.any(ok):
        delta = L[use][:, ok] - L[use][:, [best]]
        units, uw = _unit_sums(delta, w[use], g)
        d[ok] = totals[ok] - totals[best]
        se[ok] = paired_difference_se(units, uw, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se[ok] > 0, d[ok] / se[ok], np.sign(d[ok]) * np.inf)
        p_worse[ok] = np.where(d[ok] == 0, np.nan, stats.norm.cdf(z))
    diag = tuple(_diag(n, dk) for dk in d)
    return PairedDifferences(totals, d, se, p_worse, diag, best, n)


def _diag(n, d):
    if not (d > 0 and np.isfinite(d)):
        return ""
    if n < SMALL_N:
        return "n<100"
    return "|d|<8" if d < SIMILAR_D else ""


def weight_summary(delta, weights, level=0.95):
    """Cumulative weight, evidence ratio and confidence-set membership.

    Parameters
    ----------
    delta : array-like of shape (n_models,)
        Differences to the best on the deviance scale (``inf`` allowed).
    weights : array-like of shape (n_models,)
        Akaike-type weights ``∝ exp(-delta / 2)`` summing to 1.
    level : float, default=0.95
        Level of the confidence set.

    Returns
    -------
    cumulative : ndarray of shape (n_models,)
        Sum of the weights of the candidates ranked at or above each one (ranked
        by ``delta``, ties in input order).
    evidence_ratio : ndarray of shape (n_models,)
        ``exp(delta / 2)``: how many times more likely the best is (1 for the best).
    in_set : ndarray of bool of shape (n_models,)
        Whether the candidate belongs to the ``level`` confidence set.

    Raises
    ------
    ValueError
        For a ``level`` outside (0, 1) or arrays of different lengths.

    Examples
    --------
    >>> cum, er, in_set = weight_summary([0.0, 2.0, 9.0], [0.7, 0.26, 0.04])
    >>> cum.round(2).tolist(), er.round(2).tolist(), in_set.tolist()
    ([0.7, 0.96, 1.0], [1.0, 2.72, 90.02], [True, True, False])
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}.")
    delta = np.asarray(delta, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if delta.shape != weights.shape:
        raise ValueError(
            f"delta and weights differ in shape: {delta.shape} and {weights.shape}."
        )
    order = np.argsort(np.where(np.isnan(delta), np.inf, delta), kind="stable")
    cumulative = np.empty_like(weights)
    cumulative[order] = np.cumsum(weights[order])
    before = cumulative - weights
    # rounding: a set that reaches the level exactly must not take one more model
    in_set = before < level - 1e-12
    with np.errstate(over="ignore"):
        evidence = np.exp(0.5 * delta)
    return cumulative, evidence, in_set


@dataclass(frozen=True)
class BestOfMany:
    """Result of the best-of-many check (built by :func:`best_of_many`).

    Attributes
    ----------
    n_candidates : int
        Candidates compared (``M``, those with a finite criterion).
    diagnosed : bool
        ``M ≥ 5``: the check applies (fewer candidates: no verdict).
    chance : bool
        The best's margin does not exceed the chance level (``False`` when not
        diagnosed).
    margin : float
        ``A = mean(crit) - min(crit)``: the best's margin over the average
        candidate (criterion units; ``nan`` when not diagnosed).
    threshold : float
        ``E[A]`` when every candidate is equally good in truth.
    sd : float
        Standard deviation of ``A`` under that null (its scale).

    Examples
    --------
    >>> res = BestOfMany(12, True, True, 3.1, 4.0, 1.5)
    >>> print(res.message)  # doctest: +ELLIPSIS
    the best of 12 candidates may have won by chance: ...
    """

    n_candidates: int
    diagnosed: bool
    chance: bool
    margin: float
    threshold: float
    sd: float

    @property
    def message(self):
        """One line when the best may have won by chance, else ``""``."""
        if not self.chance:
            return ""
        return (
            f"the best of {self.n_candidates} candidates may have won by chance: its "
            f"margin over the average candidate ({self.margin:.3g}) does not exceed "
            f"what the best of {self.n_candidates} equally good ones shows "
            f"({self.threshold:.3g}; McLatchie & Vehtari 2023). Prefer averaging "
            "(ts.ModelAverage) or a simpler candidate to the pick."
        )


def best_of_many(losses, sample_weight=None, groups=None, *, n_draws=4000,
                 random_state=0):  # fmt: skip
    """Order-statistic check of whether the best candidate's margin may be chance.

    Parameters
    ----------
    losses : array-like of shape (n_rows, n_models)
        Per-row criterion contributions on the deviance scale (see the
        conventions of :mod:`ticselect.selection._uncertainty`); candidates with a
        non-finite total are left out.
    sample_weight : array-like of shape (n_rows,), default=None
        Frequency weights.
    groups : array-like of shape (n_rows,), default=None
        Group labels: the rows of a group are summed first.
    n_draws : int, default=4000
        Monte Carlo draws of the null.
    random_state : int, default=0
        Seed of the draws (fixed: the same table gives the same verdict).

    Returns
    -------
    BestOfMany

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> noise = rng.normal(1.0, 0.5, size=(300, 15))   # 15 equally good candidates
    >>> best_of_many(noise).chance
    True
    >>> clear = noise.copy()
    >>> clear[:, 4] -= 0.3                              # one is better on every row
    >>> best_of_many(clear).chance
    False
    >>> best_of_many(noise[:, :4]).diagnosed             # too few candidates to tell
    False
    """
    L = np.asarray(losses, dtype=float)
    if L.ndim != 2:
        raise ValueError(
            f"losses must be a 2-D array (n_rows, n_models), got shape {L.shape}."
        )
    w = (
        np.ones(L.shape[0])
        if sample_weight is None
        else np.asarray(sample_weight, float)
    )
    use = w > 0
    with np.errstate(invalid="ignore"):
        totals = (w[use, None] * L[use]).sum(axis=0)
    keep = np.isfinite(totals)
    M = int(keep.sum())
    if M < BEST_OF_MANY_MIN:
        return BestOfMany(M, False, False, np.nan, np.nan, np.nan)
    U = L[use][:, keep]
    U = U - U.mean(axis=1, keepdims=True)
    g = None if groups is None else np.asarray(groups)[use]
    units, uw = _unit_sums(U, w[use], g)
    n = float(uw.sum())
    mean = (uw @ units) / n
    C = n * ((units - mean).T @ ((units - mean) * uw[:, None])) / max(n - 1.0, 1.0)
    evals, evecs = np.linalg.eigh(0.5 * (C + C.T))
    root = evecs * np.sqrt(np.clip(evals, 0.0, None))
    Z = np.random.default_rng(random_state).standard_normal((int(n_draws), M)) @ root.T
    null = Z.mean(axis=1) - Z.min(axis=1)
    t = totals[keep]
    margin = float(t.mean() - t.min())
    threshold = float(null.mean())
    return BestOfMany(M, True, bool(margin <= threshold), margin, threshold,
                      float(null.std()))  # fmt: skip


def one_se_index(d, se, complexity):
    """The most regularised candidate within one paired standard error of the best.

    Parameters
    ----------
    d : array-like of shape (n_models,)
        Differences to the best (``PairedDifferences.d``; 0 at the best).
    se : array-like of shape (n_models,)
        Their paired standard errors (``nan`` counts as unknown: only the best and
        candidates with ``d = 0`` then qualify).
    complexity : array-like of shape (n_models,)
        Lower is more regularised (e.g. the effective dimension
        :attr:`ticselect.Criteria.effective_dim`).

    Returns
    -------
    int
        Among the candidates with ``d ≤ se``, the one of smallest ``complexity``
        (ties: the smaller ``d``, then the first).

    Examples
    --------
    >>> one_se_index([0.0, 1.0, 5.0], [0.0, 2.0, 2.0], complexity=[9, 5, 2])
    1
    """
    d = np.asarray(d, dtype=float)
    se = np.asarray(se, dtype=float)
    c = np.asarray(complexity, dtype=float)
    if not d.shape == se.shape == c.shape:
        raise ValueError(
            f"d, se and complexity differ in shape: {d.shape}, {se.shape}, {c.shape}."
        )
    within = (d == 0) | (d <= np.where(np.isfinite(se), se, -np.inf))
    if not within.any():
        raise ValueError("no candidate has d = 0: pass differences to the best.")
    cand = np.flatnonzero(within)
    key = np.lexsort((cand, d[cand], np.where(np.isnan(c[cand]), np.inf, c[cand])))
    return int(cand[key[0]])


def criterion_columns(criterion, losses, sample_weight=None, groups=None, *,
                      level=0.95):  # fmt: skip
    """Every table column of one criterion's uncertainty, from its pointwise matrix.

    Parameters
    ----------
    criterion : str
        Name used in the column names (``"alo"``, ``"tic"``).
    losses : array-like of shape (n_rows, n_models)
        Per-row contributions on the deviance scale (see the module conventions).
    sample_weight : array-like of shape (n_rows,), default=None
        Frequency weights.
    groups : array-like of shape (n_rows,), default=None
        Group labels (differences summed within groups).
    level : float, default=0.95
        Level of the confidence set.

    Returns
    -------
    columns : dict of str to ndarray of shape (n_models,)
        ``d_{c}``, ``d_{c}_se``, ``p_worse_{c}``, ``diag_{c}`` (str), ``cum_w_{c}``,
        ``er_{c}`` and ``in_set_{c}`` (bool), with the Akaike-type weights
        ``exp(-d/2)/Σ`` behind the last three.
    best_of_many : BestOfMany
        The order-statistic check of the same matrix.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> losses = rng.normal(2.0, 0.5, size=(200, 3))
    >>> cols, check = criterion_columns("alo", losses)
    >>> sorted(cols)[:4]
    ['cum_w_alo', 'd_alo', 'd_alo_se', 'diag_alo']
    >>> cols["d_alo"].round(1).tolist(), cols["d_alo_se"].round(1).tolist()
    ([0.0, 10.3, 1.8], [0.0, 10.1, 10.4])
    >>> cols["in_set_alo"].tolist(), check.diagnosed
    ([True, False, True], False)
    """
    L = np.asarray(losses, dtype=float)
    if L.ndim != 2:
        raise ValueError(
            f"losses must be a 2-D array (n_rows, n_models), got shape {L.shape}."
        )
    w = np.ones(L.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    with np.errstate(invalid="ignore"):  # 0 · inf for rows of weight 0
        totals = np.where(w[:, None] > 0, w[:, None] * L, 0.0).sum(axis=0)
    return table_columns(criterion, totals, list(L.T), sample_weight, groups,
                         level=level)  # fmt: skip


def _akaike(totals):
    """``(d, w)``: differences to the smallest finite total and Akaike weights."""
    t = np.asarray(totals, dtype=float)
    finite = np.isfinite(t)
    d = np.full(t.shape, np.inf)
    if not finite.any():
        return d, np.zeros(t.shape)
    d[finite] = t[finite] - t[finite].min()
    rel = np.where(finite, np.exp(-0.5 * np.where(finite, d, 0.0)), 0.0)
    return d, rel / rel.sum()


def table_columns(criterion, totals, vectors, sample_weight=None, groups=None, *,
                  level=0.95):  # fmt: skip
    """The uncertainty columns of one criterion over candidates of a table.

    Unlike :func:`criterion_columns`, some candidates may lack per-row values
    (a :class:`~ticselect.Criteria` input, a criterion not computed): their paired
    columns (``d_{c}_se``, ``p_worse_{c}``) are ``nan`` and ``diag_{c}`` is ``""``,
    while ``d_{c}``, ``cum_w_{c}``, ``er_{c}`` and ``in_set_{c}`` come from the
    totals of every candidate.  The paired columns are ``nan`` for every candidate
    when the best one (smallest total) has no per-row values.

    Parameters
    ----------
    criterion : str
        Name used in the column names.
    totals : array-like of shape (n_models,)
        Each candidate's criterion on the deviance scale (``Σᵢ wᵢ losses[i, k]``
        where the per-row values exist; ``nan``/``inf`` allowed).
    vectors : list of (ndarray of shape (n_rows,) or None)
        Per-row values of each candidate (``None`` when unavailable); only those of
        the best candidate's length are paired with it.
    sample_weight : array-like of shape (n_rows,), default=None
        Frequency weights of the rows.
    groups : array-like of shape (n_rows,), default=None
        Group labels.
    level : float, default=0.95
        Level of the confidence set.

    Returns
    -------
    columns : dict of str to ndarray of shape (n_models,)
        As :func:`criterion_columns`.
    best_of_many : BestOfMany
        The order-statistic check over the candidates with per-row values (not
        diagnosed when some candidate lacks them).

    Examples
    --------
    >>> cols, check = table_columns("tic", [10.0, 12.0, 30.0], [None, None, None])
    >>> cols["d_tic"].tolist(), cols["in_set_tic"].tolist(), cols["diag_tic"].tolist()
    ([0.0, 2.0, 20.0], [True, True, False], ['', '', ''])
    >>> bool(np.isnan(cols["d_tic_se"]).all()), check.diagnosed
    (True, False)
    """
    d, weights = _akaike(totals)
    K = d.size
    if len(vectors) != K:
        raise ValueError(f"{len(vectors)} per-row vectors for {K} totals.")
    cumulative, evidence, in_set = weight_summary(d, weights, level)
    se = np.full(K, np.nan)
    p_worse = np.full(K, np.nan)
    diag = np.array([""] * K, dtype=object)
    check = BestOfMany(int(np.isfinite(d).sum()), False, False, np.nan, np.nan,
                       np.nan)  # fmt: skip
    best = int(np.argmin(d)) if np.isfinite(d).any() else None
    if best is not None and vectors[best] is not None:
        m = np.shape(vectors[best])
        have = [k for k in range(K) if vectors[k] is not None
                and np.shape(vectors[k]) == m]  # fmt: skip
        L = np.column_stack([np.asarray(vectors[k], dtype=float) for k in have])
        diff = paired_differences(L, sample_weight, groups, best=have.index(best))
        se[have], p_worse[have] = diff.se, diff.p_worse
        diag[have] = np.array(diff.diag, dtype=object)
        if len(have) == K:
            check = best_of_many(L, sample_weight, groups)
    values = (d, se, p_worse, diag, cumulative, evidence, in_set)
    names = [c.format(c=criterion) for c in UNCERTAINTY_COLUMNS]
    return dict(zip(names, values, strict=True)), check
