"""The recommendation rule (``selection._recommend``): every branch, and ALO's flag.

Candidates are real Criteria and LOOResult objects of one fit whose values are then
replaced (``dataclasses.replace``), so each branch is reached with known numbers;
the oracle of ALO's paired z is computed here by hand from the pointwise terms.
"""

import dataclasses

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import ticselect as ts
from ticselect.selection._recommend import (
    ALO_Z,
    CV_ADVISED_SHARE,
    NETWORK_CV_REASON,
    alo_flags,
    edge_note,
    recommend,
)
from ticselect.selection._uncertainty import paired_differences

LABELS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def base():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.logistic(size=200) > 0).astype(int)
    curv = ts.curvature(LogisticRegression(tol=1e-10).fit(X, y), X, y)
    return ts.criteria(curv), ts.approximate_loo(curv)


def _cands(base, tic, alo, flags=((), (), ())):
    crit, loo = base
    crits = [
        dataclasses.replace(crit, tic=t, flags=tuple(f))
        for t, f in zip(tic, flags, strict=True)
    ]
    loos = [dataclasses.replace(loo, loo=a) for a in alo]
    return crits, loos


def test_agree_and_unflagged_recommends_tic(base):
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [11.0, 10.0, 13.0])
    rec = recommend(LABELS, crits, loos, family="binomial")
    assert (rec.index, rec.criterion, rec.tic_index, rec.alo_index) == (1, "tic", 1, 1)
    assert rec.note == "TIC and ALO both pick b, and no flag questions TIC there."


def test_flagged_tic_pick_hands_over_to_alo(base):
    for flag in ("overconfident", "high_leverage", "separation", "not_stationary"):
        flags = ((), (flag,), ())
        crits, loos = _cands(base, [10.0, 9.0, 12.0], [10.5, 11.0, 13.0], flags)
        rec = recommend(LABELS, crits, loos, family="binomial")
        assert (rec.index, rec.criterion) == (0, "alo")
        assert rec.note == (
            f"ALO's pick a: TIC's pick b is flagged {flag}: TIC cannot be trusted "
            "there."
        )
    # the same candidate for both, but flagged: ALO's, saying TIC picks the same
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [11.0, 10.0, 13.0],
                         ((), ("overconfident",), ()))  # fmt: skip
    rec = recommend(LABELS, crits, loos, family="binomial")
    assert (rec.index, rec.criterion) == (1, "alo")
    assert "flags on b, overconfident, question TIC, not ALO" in rec.note


def test_disagreement_without_flag_recommends_alo(base):
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [10.5, 11.0, 13.0])
    rec = recommend(LABELS, crits, loos, family="poisson")
    assert (rec.index, rec.criterion) == (0, "alo")
    assert "TIC picks b, within ALO's paired standard error" in rec.note


def test_without_alo_tic_unless_flagged(base):
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [1.0, 1.0, 1.0])
    loos[2] = None
    rec = recommend(LABELS, crits, loos, family="binomial")
    assert (rec.index, rec.criterion, rec.alo_index) == (1, "tic", None)
    assert rec.note == "TIC's pick b: ALO is unavailable (a candidate has no " \
        "per-row model)."  # fmt: skip
    crits[1] = dataclasses.replace(crits[1], flags=("overconfident",))
    rec = recommend(LABELS, crits, loos, family="binomial")
    assert (rec.index, rec.criterion, rec.cv_advised) == (1, "tic", True)
    assert "flagged overconfident" in rec.note and "K-fold" in rec.note
    rec = recommend(LABELS, crits, loos, family="binomial", cv=[0.3, 0.2, 0.1])
    assert (rec.index, rec.criterion) == (2, "cv")


def test_grouped_data_use_tic_not_row_alo(base):
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [10.5, 11.0, 13.0])
    rec = recommend(LABELS, crits, loos, family="binomial", grouped=True)
    assert (rec.index, rec.criterion, rec.alo_index) == (1, "tic", None)
    assert "ALO leaves out rows, not the groups" in rec.note


def test_fit_flags_exclude_a_candidate_unless_all_carry_them(base):
    flags = (("not_stationary",), (), ())
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [8.0, 10.0, 13.0], flags)
    rec = recommend(LABELS, crits, loos, family="binomial")
    assert rec.index == 1  # ALO's best among the stationary fits
    flags = (("not_stationary",),) * 3
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [8.0, 10.0, 13.0], flags)
    rec = recommend(LABELS, crits, loos, family="binomial")
    assert rec.index == 0 and "No candidate is trustworthy" in rec.note


def test_overdispersed_counts_with_high_leverage_rows_advise_cv(base):
    crit, loo = base
    n = loo.pointwise.size
    many = np.zeros(n)
    many[: int(np.ceil(CV_ADVISED_SHARE * n))] = 0.6  # above REFINE_TOL = 0.5
    flags = (("misspecified",),) * 3
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [10.5, 11.0, 13.0], flags)
    loos = [dataclasses.replace(r, leverage=np.zeros(n)) for r in loos]
    loos[2] = dataclasses.replace(loos[2], leverage=many)
    rec = recommend(LABELS, crits, loos, family="poisson")
    assert (rec.index, rec.criterion, rec.cv_advised) == (0, "alo", True)
    assert "K-fold CV is advised" in rec.note
    rec = recommend(LABELS, crits, loos, family="poisson", cv=[0.3, 0.2, 0.1])
    assert (rec.index, rec.criterion) == (2, "cv")
    # not for a binomial model, nor without the misspecified flag, nor too few rows
    assert not recommend(LABELS, crits, loos, family="binomial").cv_advised
    plain, _ = _cands(base, [10.0, 9.0, 12.0], [10.5, 11.0, 13.0])
    assert not recommend(LABELS, plain, loos, family="poisson").cv_advised
    loos[2] = dataclasses.replace(loos[2], leverage=np.full(n, 0.5))  # not above
    assert not recommend(LABELS, crits, loos, family="poisson").cv_advised


def _without_evidence(crits):
    return [dataclasses.replace(c, log_evidence=np.nan) for c in crits]


def test_networks_without_evidence_keep_tics_rule(base):
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [11.0, 12.0, 10.0])
    crits = _without_evidence(crits)  # e.g. unpenalised networks
    rec = recommend(LABELS, crits, loos, family="mlp")
    assert (rec.index, rec.criterion) == (1, "tic")  # ALO disagrees: TIC stays
    # high_leverage and not_stationary do not hand a network over (their rule)
    crits[1] = dataclasses.replace(crits[1], flags=("not_stationary",))
    assert recommend(LABELS, crits, loos, family="mlp").criterion == "tic"
    crits[1] = dataclasses.replace(crits[1], flags=("overconfident",))
    rec = recommend(LABELS, crits, loos, family="mlp")
    assert (rec.index, rec.criterion) == (2, "alo")
    assert "for networks ALO is not reliable either" in rec.note
    rec = recommend(LABELS, crits, [None] * 3, family="mlp")
    assert (rec.index, rec.criterion, rec.cv_advised) == (1, "tic", True)


def test_networks_recommend_the_evidence_without_cv_and_cv_with_it(base):
    crits, loos = _cands(base, [10.0, 9.0, 12.0], [11.0, 12.0, 10.0])
    crits = [dataclasses.replace(c, log_evidence=v)
             for c, v in zip(crits, [-50.0, -40.0, -30.0], strict=True)]  # fmt: skip
    rec = recommend(LABELS, crits, loos, family="mlp")
    assert (rec.index, rec.criterion, rec.tic_index, rec.cv_advised) == (
        2, "evidence", 1, True,
    )  # fmt: skip
    assert rec.note.startswith("the evidence's pick c (")
    # with CV, CV's pick and the benchmark's reason, in one line
    rec = recommend(LABELS, crits, loos, family="mlp", cv=[0.1, 0.3, 0.2])
    assert (rec.index, rec.criterion) == (0, "cv")
    assert rec.note == f"CV's pick a: the evidence picks c, but {NETWORK_CV_REASON}."
    assert "\n" not in rec.note
    # the evidence's pick near interpolation or not stationary is not trusted
    for flag in ("overconfident", "separation", "not_stationary"):
        bad = list(crits)
        bad[2] = dataclasses.replace(bad[2], flags=(flag,))
        rec = recommend(LABELS, bad, loos, family="mlp")
        assert (rec.index, rec.criterion) == (1, "tic")  # TIC's rule then
    # TIC's flagged pick is named beside the evidence's
    bad = list(crits)
    bad[1] = dataclasses.replace(bad[1], flags=("overconfident",))
    rec = recommend(LABELS, bad, loos, family="mlp")
    assert (rec.index, rec.criterion) == (2, "evidence")
    assert "TIC's pick b is flagged overconfident" in rec.note


def _loo_with(loo, pointwise):
    return dataclasses.replace(
        loo, pointwise=pointwise, loo=2.0 * float(np.sum(pointwise))
    )


def test_alo_flags_follow_the_paired_z(base):
    crit, loo = base
    n = loo.pointwise.size
    rng = np.random.default_rng(3)
    ref = loo.pointwise
    for shift, tic_order in [(0.05, True), (0.002, True), (0.05, False)]:
        # candidate 0: ALO worse by a mean shift per row, with noise
        worse = ref + shift + 0.05 * rng.normal(size=n)
        loos = [_loo_with(loo, worse), _loo_with(loo, ref)]
        tics = [1.0, 2.0] if tic_order else [3.0, 2.0]
        crits = [dataclasses.replace(crit, tic=t, flags=()) for t in tics]
        out = alo_flags(crits, loos)
        d = 2.0 * (worse - ref)
        z = d.sum() / (np.sqrt(n) * d.std(ddof=1))  # the oracle: loo's se_diff
        expected = tic_order and z > ALO_Z
        assert ("high_leverage" in out[0].flags) == expected, (shift, z)
        assert out[1].flags == ()  # ALO's pick is never flagged by this part
    # networks and unavailable ALO are left alone
    loos = [_loo_with(loo, ref + 1.0), _loo_with(loo, ref)]
    crits = [dataclasses.replace(crit, tic=t, flags=()) for t in (1.0, 2.0)]
    assert "high_leverage" in alo_flags(crits, loos)[0].flags
    assert alo_flags(crits, loos, ["mlp", "mlp"])[0].flags == ()
    assert alo_flags(crits, [None, loos[1]])[0].flags == ()


def test_alo_flag_uses_the_tables_standard_error(base):
    """The flag's z is the table's d_alo / d_alo_se (divisor n - 1, R loo's se_diff).

    A difference whose z is 1.001 with the population variance but 0.9985 with
    the table's divisor n - 1 (n = 200) is within one paired SE: no flag.
    """
    crit, loo = base
    n = loo.pointwise.size
    noise = np.random.default_rng(5).normal(size=n)
    noise = (noise - noise.mean()) / noise.std()  # population sd 1
    d = noise + 1.001 / np.sqrt(n)  # z = Σd / √(n·Var(d)) = 1.001
    loos = [_loo_with(loo, loo.pointwise + d / 2), _loo_with(loo, loo.pointwise)]
    crits = [dataclasses.replace(crit, tic=t, flags=()) for t in (1.0, 2.0)]
    table = paired_differences(2.0 * np.column_stack([r.pointwise for r in loos]))
    assert table.d[0] / table.se[0] == pytest.approx(1.001 * np.sqrt((n - 1) / n))
    assert table.d[0] / table.se[0] < ALO_Z
    assert "high_leverage" not in alo_flags(crits, loos)[0].flags


def test_edge_note_only_at_the_ends():
    assert "last grid value" in edge_note([1, 2, 3], 2, "C")
    assert "below it" in edge_note([1, 2, 3], 0, "C")
    assert edge_note([1, 2, 3], 1, "C") == "" and edge_note([1], 0, "C") == ""
    assert edge_note(["x", "y"], 0, "kind") == ""
