"""Layer 3 — the recommended pick of a set of candidates, and ALO's part of the flags.

One rule, shared by :func:`~ticselect.compare`, :func:`~ticselect.compare_formulas`,
:func:`~ticselect.criterion_path` and ``ticselect select`` (which adds CV).

Flags that need the other candidates
------------------------------------
:func:`ticselect.criteria` flags a GLM fit ``"high_leverage"`` from the fit alone
(its effective dimension over ``n``, its largest row leverage).  Where approximate
leave-one-out is computed for every candidate, :func:`alo_flags` adds the flag to
each candidate that TIC ranks ahead of ALO's pick while ALO, which keeps the leverage
terms TIC drops, prefers its pick by more than :data:`ALO_Z` paired standard errors
(from the pointwise leave-one-out terms, as the tables' ``d_alo_se``: R loo's
``se_diff``, variance divisor ``n - 1``): TIC's ranking is then
contradicted beyond noise.  Networks are left alone (their one-step ALO is not
reliable: ``benchmarks/README.md``).

The recommended pick
--------------------
- **GLMs** (anything with a per-row GLM model): ALO's pick (exact leave-one-out
  where it is closed form), with TIC beside it.  The criterion is reported as TIC
  when TIC's pick is the same candidate and carries none of
  :data:`~ticselect.curvature._result.TIC_FLAGS`.  Among candidates with a
  :data:`~ticselect.curvature._result.FIT_FLAGS` flag (not stationary, or an
  unpenalised separated fit) none is recommended while another is free of them.
  Over-dispersed counts whose fits have many high-leverage rows are where ALO and
  exact leave-one-out both trail K-fold CV (``benchmarks/README.md``): the note
  then says that K-fold CV is advised, and CV's pick is taken when CV was run.
- **ALO unavailable** (``Criteria`` inputs, models without a per-row model such as
  statsmodels' generic likelihood models, and clustered data, ``groups=``, where
  leaving out one row is not leaving out one group): TIC's pick, saying so; when it
  is flagged, CV's pick if CV was run, else TIC's with the advice to check it by CV.
- **Networks** (``benchmarks/selection.py --networks``: widths 4–64 × 8 decays ×
  3 seeds on digits and breast cancer, ``benchmarks/README.md``): when K-fold CV
  was run, CV's pick.  The Laplace evidence (the model Fisher, biases profiled:
  ``log_evidence``) regrets no more than 3-fold CV there (4.1 and 10.8 milli-nats
  against 7.6 and 9.1) but misses the issue's rank target on breast cancer
  (Kendall τ with the test NLL 0.36 < 0.6) and picks badly among the decays of
  4-unit digits networks, so CV is kept and the note says why
  (:data:`NETWORK_CV_REASON`).  Without CV: the evidence's pick (TIC regrets
  103 milli-nats more than CV on breast cancer), unless it is undefined at every
  candidate or its pick is not stationary or flagged ``overconfident`` or
  ``separation`` (near interpolation the model Fisher vanishes with the per-sample
  gradients, and the evidence then favours the interpolating fit); then TIC's pick
  unless it is flagged ``overconfident`` or ``separation``, else ALO's with the
  caveat that ALO is not reliable for networks either.

Every branch writes one line, :attr:`Recommendation.note` (``pick_note`` of the
tables).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..curvature._result import FIT_FLAGS, TIC_FLAGS
from ..stattests import paired_difference_se
from ._loo import REFINE_TOL

__all__ = [
    "ALO_Z",
    "NETWORK_CV_REASON",
    "Recommendation",
    "alo_flags",
    "edge_note",
    "recommend",
]

#: Paired standard errors by which ALO must prefer its pick to a candidate that TIC
#: ranks ahead of it before that candidate is flagged ``"high_leverage"`` (the rule
#: the issue's quick check found, "ALO prefers another candidate by more than its
#: paired SE").  On the 236 splits of ``benchmarks/selection.py --trust`` it alone
#: flags TIC's pick on 73 % of the splits where TIC regrets more than twice 5-fold
#: CV and on 6 % of those where it regrets no more than CV (2 SE: 26 % and 0 %);
#: with ``criteria.LEVERAGE_RATIO`` and ``criteria.MAX_LEVERAGE``, 82 % and 10 %.
#: A per-fit test of ALO against TIC does not separate them: ALO's optimism exceeds
#: TIC's penalty 1.0–1.2 times where TIC picks well on the logistic and Poisson
#: paths, but also 1.1–2.3 times on the fair-affairs failures.
ALO_Z = 1.0
#: Flags on TIC's pick that hand a network's recommendation to CV (or ALO).
NETWORK_FALLBACK_FLAGS = ("overconfident", "separation")
#: Why a network's recommendation stays with K-fold CV when CV was run (the
#: network benchmark's numbers, ``benchmarks/README.md``).
NETWORK_CV_REASON = (
    "for networks the evidence ranks with Kendall tau 0.36 on breast cancer "
    "(target 0.6) and picks badly among the decays of narrow digits networks"
)
#: Families whose over-dispersed fits with many high-leverage rows get "K-fold CV is
#: advised" (see :func:`_cv_advised`).
COUNT_FAMILIES = ("poisson", "negative_binomial")
#: Share of rows of leverage above ``REFINE_TOL`` (0.5: the rows approximate
#: leave-one-out iterates to their exact fit) on some candidate, from which an
#: over-dispersed (``"misspecified"``) count model counts as having "many"
#: high-leverage rows and K-fold CV is advised.  On ``benchmarks/selection.py
#: --trust`` ALO trails 5-fold CV on RAND HIE (300 rows, 54 features: 38.5 vs 25.9
#: milli-nats, +12.6 ± 9.6; exact leave-one-out refits pick what ALO picks on 27 of
#: 30 splits and regret 37.0), whose paths have 3.3–7.7 % such rows, and slightly
#: on the fair affairs counts (+2.0 ± 3.8; 1.7–4.7 %); the large-n RAND HIE case
#: (5000 rows, 10 parameters), where TIC and ALO are right, has none.
CV_ADVISED_SHARE = 0.01


@dataclass(frozen=True)
class Recommendation:
    """The recommended pick of a set of candidates, and why.

    Attributes
    ----------
    index : int
        Position of the recommended candidate in the input order.
    criterion : {"alo", "tic", "cv", "evidence"}
        The criterion whose pick it is.
    note : str
        One line saying why (``pick_note`` of the tables).
    tic_index : int
        TIC's pick.
    alo_index : int or None
        ALO's pick (``None`` when ALO is unavailable).
    cv_advised : bool
        Whether K-fold cross-validation is advised over the one-fit criteria.
    """

    index: int
    criterion: str
    note: str
    tic_index: int
    alo_index: int | None = None
    cv_advised: bool = False


def _argmin(values):
    v = np.asarray(values, dtype=float)
    return int(np.argmin(np.where(np.isnan(v), np.inf, v)))


def _alo_z(loo_j, loo_m):
    """``(ALO_j − ALO_m) / se`` from the paired pointwise terms (``nan`` if none)."""
    a, b = np.asarray(loo_j.pointwise), np.asarray(loo_m.pointwise)
    w = np.asarray(loo_j.weights, dtype=float)
    if a.shape != b.shape or not np.array_equal(w, loo_m.weights):
        return np.nan
    diff = 2.0 * (a - b)
    if not np.all(np.isfinite(diff[w > 0])):
        return np.nan
    se = paired_difference_se(diff, w, ddof=1)  # as the tables' d_alo_se
    total = float(np.sum(w * diff))
    return total / se if se > 0 else (np.inf if total > 0 else np.nan)


def alo_flags(crits, loos, kinds=None):
    """Add ``"high_leverage"`` where ALO contradicts TIC's ranking beyond noise.

    Parameters
    ----------
    crits : list of Criteria
        One per candidate (fitted on the same rows).
    loos : list of LOOResult or None
        Their approximate leave-one-out (``None`` where unavailable: nothing is
        added then).
    kinds : list of str or None, default=None
        ``"mlp"`` for networks (left alone), anything else for GLMs.

    Returns
    -------
    list of Criteria
        The inputs, with the flag added (new objects) where it applies.
    """
    crits = list(crits)
    kinds = kinds or ["glm"] * len(crits)
    if len(crits) < 2 or any(r is None for r in loos) or "mlp" in kinds:
        return crits
    m = _argmin([r.loo for r in loos])
    tic = np.array([c.tic for c in crits], dtype=float)
    out = []
    for j, crit in enumerate(crits):
        contradicted = (
            j != m
            and tic[j] < tic[m]
            and "high_leverage" not in crit.flags
            and _alo_z(loos[j], loos[m]) > ALO_Z
        )
        out.append(
            replace(crit, flags=(*crit.flags, "high_leverage"))
            if contradicted
            else crit
        )
    return out


def _cv_advised(family, crits, loos, index):
    """Over-dispersed counts (ALO's pick misspecified) with many high-leverage rows."""
    if family not in COUNT_FAMILIES or "misspecified" not in crits[index].flags:
        return False
    share = max(float(np.mean(np.asarray(r.leverage) > REFINE_TOL)) for r in loos)
    return share >= CV_ADVISED_SHARE


def _flagged(crit, flags=TIC_FLAGS):
    return [f for f in crit.flags if f in flags]


def recommend(labels, crits, loos, *, family="", cv=None, grouped=False):
    """The recommended candidate (see the module docstring for the rule).

    When the recommended candidate is not TIC's pick and carries flags that question
    TIC only, the note says so: they do not concern the criterion that picked it.

    Parameters
    ----------
    labels : list of str
        How each candidate is shown in the note (e.g. ``"C=0.1"`` or a model name).
    crits : list of Criteria
        Criteria of each candidate, with :func:`alo_flags` applied.
    loos : list of LOOResult or None
        Approximate leave-one-out of each (``None`` where unavailable).
    family : str, default=""
        The curvature's family (``"mlp"`` for networks, ``"poisson"``, ...).
    cv : array-like of shape (n_candidates,) or None, default=None
        Held-out loss of each candidate when K-fold CV was run (lower is better).
    grouped : bool, default=False
        Clustered data (``groups=``): ALO leaves out rows, not groups, so it does
        not estimate the error on new groups and counts as unavailable; TIC's
        clustered penalty does.

    Returns
    -------
    Recommendation
    """
    if grouped:
        loos = [None] * len(crits)
    rec = _recommend(labels, crits, loos, family, cv, grouped)
    own = [f for f in _flagged(crits[rec.index]) if f not in FIT_FLAGS]
    if own and rec.criterion != "tic":
        note = (
            f"{rec.note} (The flags on {labels[rec.index]}, {', '.join(own)}, "
            f"question TIC, not {rec.criterion.upper()}.)"
        )
        rec = replace(rec, note=note)
    return rec


def _recommend(labels, crits, loos, family, cv, grouped):
    t = _argmin([c.tic for c in crits])
    c_pick = None if cv is None else _argmin(cv)
    if family == "mlp":
        return _network(labels, crits, loos, t, c_pick)
    if any(r is None for r in loos):
        why = (
            "ALO leaves out rows, not the groups of clustered data"
            if grouped
            else "ALO is unavailable (a candidate has no per-row model)"
        )
        return _without_alo(labels, crits, t, c_pick, why)
    fit_ok = [i for i, c in enumerate(crits) if not _flagged(c, FIT_FLAGS)]
    alo = np.array([r.loo for r in loos], dtype=float)
    pool = fit_ok or list(range(len(crits)))
    a = pool[_argmin(alo[pool])]
    tic_flags = _flagged(crits[t], TIC_FLAGS)
    if _cv_advised(family, crits, loos, a):
        lead = (
            "over-dispersed counts with many high-leverage rows, where ALO and exact "
            "leave-one-out trail K-fold CV: K-fold CV is advised"
        )
        if c_pick is not None:
            return Recommendation(c_pick, "cv", f"CV's pick {labels[c_pick]}: {lead}.",
                                  t, a, cv_advised=True)  # fmt: skip
        note = f"ALO's pick {labels[a]}; {lead} (ALO's pick until then)."
        return Recommendation(a, "alo", note, t, a, cv_advised=True)
    if a == t and not tic_flags:
        note = f"TIC and ALO both pick {labels[t]}, and no flag questions TIC there."
        return Recommendation(t, "tic", note + _fit_caveat(crits, a, fit_ok), t, a)
    if tic_flags:
        why = (
            f"TIC's pick {labels[t]} is flagged {', '.join(tic_flags)}: TIC cannot be "
            "trusted there"
        )
    elif a == t:
        why = "TIC picks the same"
    else:
        why = f"TIC picks {labels[t]}, within ALO's paired standard error of it"
    note = f"ALO's pick {labels[a]}: {why}."
    return Recommendation(a, "alo", note + _fit_caveat(crits, a, fit_ok), t, a)


def _fit_caveat(crits, index, fit_ok):
    """The sentence that no candidate is trustworthy, when every one has a fit flag."""
    flags = _flagged(crits[index], FIT_FLAGS)
    if not flags or fit_ok:
        return ""
    return (
        f" No candidate is trustworthy: every one is flagged ({', '.join(flags)} "
        "here); refit (smaller tol, more iterations) or add a penalty."
    )


def _without_alo(labels, crits, t, c_pick, head):
    flags = ", ".join(_flagged(crits[t], TIC_FLAGS))
    if not flags:
        return Recommendation(t, "tic", f"TIC's pick {labels[t]}: {head}.", t)
    if c_pick is not None:
        note = f"CV's pick {labels[c_pick]}: TIC's pick {labels[t]} is flagged {flags}"
        return Recommendation(c_pick, "cv", f"{note} and {head}.", t, cv_advised=True)
    note = f"TIC's pick {labels[t]}, flagged {flags}: {head}; check it by K-fold "
    return Recommendation(t, "tic", note + "cross-validation.", t, cv_advised=True)


def _network(labels, crits, loos, t, c_pick):
    ev = np.array([getattr(c, "log_evidence", np.nan) for c in crits], dtype=float)
    e = _argmin(-ev) if np.isfinite(ev).any() else None
    # a fit that is not stationary, or near interpolation (its curvature vanishes
    # with its per-sample gradients), has no Laplace evidence worth trusting
    if e is not None and _flagged(crits[e], (*FIT_FLAGS, *NETWORK_FALLBACK_FLAGS)):
        e = None
    flags = ", ".join(_flagged(crits[t], NETWORK_FALLBACK_FLAGS))
    if c_pick is not None:
        said = "" if e is None else f"the evidence picks {labels[e]}, but "
        note = f"CV's pick {labels[c_pick]}: {said}{NETWORK_CV_REASON}."
        return Recommendation(c_pick, "cv", note, t, cv_advised=True)
    if e is not None:
        tic = f"TIC's pick {labels[t]}" + (f" is flagged {flags}" if flags else "")
        note = (
            f"the evidence's pick {labels[e]} (networks: the Laplace evidence with the "
            f"model Fisher; {tic}); check it by K-fold cross-validation."
        )
        return Recommendation(e, "evidence", note, t, cv_advised=True)
    if not flags:
        note = f"TIC's pick {labels[t]} (networks: TIC's pick unless it is flagged)."
        return Recommendation(t, "tic", note, t)
    fails = "its first-order penalty predicts almost no gap there"
    if any(r is None for r in loos):
        note = f"TIC's pick {labels[t]}, flagged {flags}: {fails}; check it by K-fold "
        return Recommendation(t, "tic", note + "cross-validation.", t, cv_advised=True)
    a = _argmin([r.loo for r in loos])
    note = (
        f"ALO's pick {labels[a]}: TIC's pick {labels[t]} is flagged {flags} ({fails}); "
        "for networks ALO is not reliable either: check it by K-fold cross-validation."
    )
    return Recommendation(a, "alo", note, t, a, cv_advised=True)


def edge_note(values, index, param):
    """One line when the recommended value is the first or last grid value, else "".

    Grid-edge advice is given for the recommended criterion only: along a penalty
    AIC and BIC with the nominal ``k`` always pick the weakest penalty, and advice
    to extend the grid toward it would be wrong.

    Parameters
    ----------
    values : sequence
        The grid, in order.
    index : int
        The recommended value's position.
    param : str
        The parameter's name.

    Returns
    -------
    str

    Examples
    --------
    >>> edge_note([0.1, 1.0, 10.0], 2, "C")
    'the recommended C=10 is the last grid value: the best value may lie above it; extend the grid.'
    >>> edge_note([0.1, 1.0, 10.0], 1, "C")
    ''
    """  # noqa: E501
    n = len(values)
    if n < 2 or index not in (0, n - 1):
        return ""
    try:
        value, other = float(values[index]), float(values[1 if index == 0 else -2])
    except (TypeError, ValueError):
        return ""
    side = "above" if value > other else "below"
    where = "first" if index == 0 else "last"
    return (
        f"the recommended {param}={value:.4g} is the {where} grid value: the best "
        f"value may lie {side} it; extend the grid."
    )
