"""Tables of the recommendation study (see ``_trust_study``).

Three tables: regret per case (each criterion's pick and the recommended one, with
paired standard errors against 5-fold CV), the flag's hit and false-alarm rates on
TIC's pick (the acceptance of issue 23), and :func:`rule_table`, the candidate flag
rules behind the thresholds (how each separates TIC's failures from its successes).
"""

from __future__ import annotations

import numpy as np

from ticselect.curvature._result import TIC_FLAGS

#: Criteria whose pick is scored (key -> label).
METHODS = {
    "aic": "AIC (nominal k)",
    "bic": "BIC (nominal k)",
    "aic_edf": "AIC with edf",
    "bic_edf": "BIC with edf",
    "tic": "TIC",
    "alo": "ALO",
    "cv": "5-fold CV",
    "recommended": "recommended (`Comparison.recommended`)",
    "recommended_cv": "recommended when CV was run (`ticselect select`)",
}


def _values(rows, key):
    if key == "cv":
        return np.array([r["cv"] for r in rows])
    if key == "alo":
        return np.array([r["alo"] for r in rows])
    c = [r["crit"] for r in rows]
    if key in ("aic_edf", "bic_edf"):
        mult = 2.0 if key == "aic_edf" else np.log(c[0]["n_samples"])
        return np.array([-2 * x["loglik"] + mult * x["effective_dim"] for x in c])
    return np.array([x[key] for x in c])


def split_summary(split):
    """Picks (index per method) and regrets (nats per sample) of one split."""
    rows = split["rows"]
    test = np.array([r["test"] for r in rows])
    test = np.where(np.isfinite(test), test, np.inf)
    best = test.min()
    picks = {}
    for key in METHODS:
        if key.startswith("recommended"):
            labels = [r["label"] for r in rows]
            if split.get(key) in labels:
                picks[key] = labels.index(split[key])
            continue
        v = _values(rows, key)
        picks[key] = int(np.argmin(np.where(np.isnan(v), np.inf, v)))
    regret = {k: test[i] - best for k, i in picks.items()}
    return picks, regret


def _mean_se(x):
    x = np.asarray(x, dtype=float)
    se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
    return x.mean(), se


def _g(v, sign=""):
    if not np.isfinite(v):
        return "inf"
    return f"{v:{sign}.1f}" if abs(v) < 1e4 else f"{v:{sign}.2e}"


def regret_table(name, splits, out=print):
    """One markdown table: mean regret ± SE and the paired difference to CV."""
    summ = [split_summary(s) for s in splits]
    rows = splits[0]["rows"]
    out(f"\n### {name}: n_train = {rows[0]['crit']['n_samples']:g}, "
        f"{len(rows)} candidates, {len(splits)} splits")  # fmt: skip
    out("| pick | mean regret (milli-nats) ± SE | median | paired diff. to CV ± SE |")
    out("|---|---|---|---|")
    cv = np.array([r["cv"] for _, r in summ])
    for key, label in METHODS.items():
        r = np.array([reg[key] for _, reg in summ if key in reg])
        if not r.size:
            continue
        m, se = _mean_se(1e3 * r)
        d = "—"
        if key != "cv":
            dm, dse = _mean_se(1e3 * (r - cv[: len(r)]))
            d = f"{_g(dm, '+')} ± {_g(dse)}"
        out(f"| {label} | {_g(m)} ± {_g(se)} | {_g(1e3 * np.median(r))} | {d} |")
    crits = [s.get("recommended_criterion") for s in splits]
    if any(crits):
        counts = {c: crits.count(c) for c in dict.fromkeys(crits)}
        out("recommended criterion per split: "
            + ", ".join(f"{c} {k}" for c, k in counts.items()))  # fmt: skip
    return summ


def acceptance_table(res, out=print):
    """Per case: the recommended pick against 5-fold CV and TIC (issue 23)."""
    out("\n| case | recommended − CV ± paired SE | ≤ CV + 1 SE | with CV run (select)"
        " − CV | recommended − TIC ± paired SE | K-fold CV advised |")  # fmt: skip
    out("|---|---|---|---|---|---|")
    for name, splits in res.items():
        summ = [split_summary(s) for s in splits]
        r = {k: 1e3 * np.array([reg[k] for _, reg in summ]) for k in METHODS}
        d, dse = _mean_se(r["recommended"] - r["cv"])
        dc, dcse = _mean_se(r["recommended_cv"] - r["cv"])
        dt, dtse = _mean_se(r["recommended"] - r["tic"])
        ok = "yes" if d <= dse else ("CV advised" if dc <= dcse else "no")
        advised = sum(s["recommended_cv_criterion"] == "cv" for s in splits)
        out(
            f"| {name} | {_g(d, '+')} ± {_g(dse)} | {ok} | {_g(dc, '+')} ± {_g(dcse)} "
            f"| {_g(dt, '+')} ± {_g(dtse)} | {advised} of {len(splits)} |"
        )


def flag_table(res, out=print):
    """Hit rate on TIC's failures and false-alarm rate on its successes, per case."""
    out("\n| case | splits where TIC regrets > 2 × CV | flagged | splits where TIC "
        "≤ CV | flagged |")  # fmt: skip
    out("|---|---|---|---|---|")
    tot = np.zeros(4, dtype=int)
    for name, splits in res.items():
        fail = fail_hit = fine = fine_hit = 0
        for s in splits:
            picks, reg = split_summary(s)
            flags = s["rows"][picks["tic"]]["crit"]["flags"]
            hit = bool(set(flags) & set(TIC_FLAGS))
            if reg["tic"] > 2 * reg["cv"]:
                fail, fail_hit = fail + 1, fail_hit + hit
            elif reg["tic"] <= reg["cv"]:
                fine, fine_hit = fine + 1, fine_hit + hit
        tot += [fail, fail_hit, fine, fine_hit]
        out(f"| {name} | {fail} | {fail_hit} | {fine} | {fine_hit} |")
    out(f"| all | {tot[0]} | {tot[1]} ({100 * tot[1] / max(tot[0], 1):.0f} %) | "
        f"{tot[2]} | {tot[3]} ({100 * tot[3] / max(tot[2], 1):.0f} %) |")  # fmt: skip


def _paired_z(rows, j, m):
    """(ALO_j − ALO_m) / its paired SE, from the pointwise ALO (deviance scale)."""
    if j == m:
        return 0.0
    d = 2.0 * (rows[j]["alo_pointwise"] - rows[m]["alo_pointwise"])
    n = d.size
    se = np.sqrt(n * d.var())
    return float(d.sum() / se) if se > 0 else np.inf


def statistics(split):
    """Candidate per-fit and set-level statistics at TIC's pick of one split."""
    rows = split["rows"]
    picks, reg = split_summary(split)
    j, m = picks["tic"], picks["alo"]
    r, c = rows[j], rows[j]["crit"]
    lev = r["leverage"]
    tic_pen = c["tic_penalty"]
    return {
        "edf/n": c["effective_dim"] / c["n_samples"],
        "max leverage": float(np.max(lev)),
        "rows > 0.5 / n": float(np.mean(lev > 0.5)),
        "ALO optimism / TIC penalty": (r["alo_nll"] - r["nll"]) / tic_pen,
        "ALO's paired z against TIC's pick": _paired_z(rows, j, m),
        "penalty_ratio": c["penalty_ratio"],
        "regret_tic": reg["tic"],
        "regret_cv": reg["cv"],
    }


RULES = {
    "edf/n > 0.05": lambda s: s["edf/n"] > 0.05,
    "edf/n > 0.1": lambda s: s["edf/n"] > 0.1,
    "edf/n > 0.15": lambda s: s["edf/n"] > 0.15,
    "max leverage > 0.5": lambda s: s["max leverage"] > 0.5,
    "max leverage > 0.7": lambda s: s["max leverage"] > 0.7,
    "max leverage > 0.9": lambda s: s["max leverage"] > 0.9,
    "ALO optimism / TIC > 2": lambda s: s["ALO optimism / TIC penalty"] > 2,
    "ALO optimism / TIC > 3": lambda s: s["ALO optimism / TIC penalty"] > 3,
    "ALO z > 1": lambda s: s["ALO's paired z against TIC's pick"] > 1,
    "ALO z > 2": lambda s: s["ALO's paired z against TIC's pick"] > 2,
    "ALO z > 1 or edf/n > 0.1": lambda s: (
        s["ALO's paired z against TIC's pick"] > 1 or s["edf/n"] > 0.1
    ),
    "ALO z > 1 or max leverage > 0.9": lambda s: (
        s["ALO's paired z against TIC's pick"] > 1 or s["max leverage"] > 0.9
    ),
    "ALO z > 1 or edf/n > 0.15 or max lev > 0.9 (the library's rule)": lambda s: (
        s["ALO's paired z against TIC's pick"] > 1
        or s["edf/n"] > 0.15
        or s["max leverage"] > 0.9
    ),
    "edf/n > 0.15 or max lev > 0.9 (criteria() alone, e.g. in GridSearchCV)": (
        lambda s: s["edf/n"] > 0.15 or s["max leverage"] > 0.9
    ),
}


def rule_table(res, out=print):
    """How each candidate flag rule separates TIC's failures from its successes."""
    stats = [(name, statistics(s)) for name, splits in res.items() for s in splits]
    fail = [s for _, s in stats if s["regret_tic"] > 2 * s["regret_cv"]]
    fine = [s for _, s in stats if s["regret_tic"] <= s["regret_cv"]]
    out(f"\nflag rules on TIC's pick: {len(fail)} splits where TIC regrets more than "
        f"twice CV, {len(fine)} where TIC regrets at most CV's")  # fmt: skip
    out("| rule | fires on failures | fires on successes |")
    out("|---|---|---|")
    for label, rule in RULES.items():
        a = np.mean([rule(s) for s in fail]) if fail else np.nan
        b = np.mean([rule(s) for s in fine]) if fine else np.nan
        out(f"| {label} | {100 * a:.0f} % | {100 * b:.0f} % |")
    out("\nper case, quartiles of the statistics at TIC's pick (failures | successes):")
    keys = [k for k in stats[0][1] if not k.startswith("regret")]
    for name in res:
        f = [s for n, s in stats if n == name and s["regret_tic"] > 2 * s["regret_cv"]]
        g = [s for n, s in stats if n == name and s["regret_tic"] <= s["regret_cv"]]
        out(f"- {name} ({len(f)} | {len(g)})")
        for k in keys:
            qf = np.percentile([s[k] for s in f], [0, 50, 100]) if f else []
            qg = np.percentile([s[k] for s in g], [0, 50, 100]) if g else []
            out(f"    {k}: " + " ".join(f"{v:.3g}" for v in qf) + " | "
                + " ".join(f"{v:.3g}" for v in qg))  # fmt: skip


def ratio_table(res, out=print):
    """``penalty_ratio`` over every fit of each case (the ``misspecified`` evidence)."""
    out("\n| case | penalty_ratio over all fits: min | median | max |")
    out("|---|---|---|---|")
    for name, splits in res.items():
        v = [r["crit"]["penalty_ratio"] for s in splits for r in s["rows"]]
        out(f"| {name} | {np.min(v):.2f} | {np.median(v):.2f} | {np.max(v):.2f} |")


def print_tables(res, cases, out=print):
    """Every table of the study."""
    for name, splits in res.items():
        regret_table(name, splits, out)
    acceptance_table(res, out)
    flag_table(res, out)
    rule_table(res, out)
    ratio_table(res, out)
