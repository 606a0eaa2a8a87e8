"""Criterion scorers, the InSample splitter and their use in scikit-learn searches."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.metrics import log_loss
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.curvature._result import STATIONARITY_TOL
from ticselect.scoring import (
    HELD_OUT_THRESHOLD,
    HeldOutDataWarning,
    InSample,
    check_scoring,
    criteria_scoring,
    get_scorer,
    get_scorer_names,
    make_criterion_scorer,
)

# Scorer values and the criteria they are compared to come from the same float64
# computation, so they agree to rounding.
RTOL = 1e-12
# Criteria of two independent lbfgs fits (tol=1e-10) agree to ~1e-8 relative.
RTOL_REFIT = 1e-6

FIELDS = {
    "neg_tic": ("tic", True),
    "neg_aic": ("aic", True),
    "neg_aicc": ("aicc", True),
    "neg_bic": ("bic", True),
    "neg_gap_estimate": ("gap_estimate", False),
    "neg_soft_rank": ("soft_rank", False),
}
C_GRID = [0.003, 0.03, 0.3, 3.0]


def _expected(crit, name):
    field, per_sample = FIELDS[name]
    value = getattr(crit, field)
    return -value / (2.0 * crit.n_samples) if per_sample else -value


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)) * [1, 2, 3, 1, 1, 5]
    eta = X[:, 0] - 0.5 * X[:, 1] + 0.2 * X[:, 2]
    y = (eta + rng.standard_cauchy(400) * 0.5 > 0).astype(int)  # misspecified link
    return X, y


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = rng.poisson(np.exp(0.3 + 0.4 * X[:, 0] - 0.3 * X[:, 1]))
    return X, y


def _models():
    return {
        "logistic": LogisticRegression(C=0.5, tol=1e-10),
        "poisson": PoissonRegressor(alpha=0.01, tol=1e-10),
        "ridge": Ridge(alpha=3.0),
    }


def _data(kind, binary, counts):
    X, y = binary if kind != "poisson" else counts
    if kind == "ridge":
        y = X[:, 0] + np.random.default_rng(2).standard_t(3, size=len(y))
    return X, y


@pytest.mark.parametrize("kind", ["logistic", "poisson", "ridge"])
@pytest.mark.parametrize("pipe", [False, True])
def test_raw_scorer_equals_criteria_over_minus_2n(kind, pipe, binary, counts):
    X, y = _data(kind, binary, counts)
    est = _models()[kind]
    if pipe:
        est = make_pipeline(StandardScaler(), est)
    est.fit(X, y)
    # independent computation: curvature of the transformed design, last step alone
    Xt = est[:-1].transform(X) if pipe else X
    crit = ts.criteria(ts.curvature(est[-1] if pipe else est, Xt, y))
    for name in FIELDS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = get_scorer(name)(est, X, y)
        assert_allclose(got, _expected(crit, name), rtol=RTOL)


@pytest.mark.parametrize("pipe", [False, True])
def test_wrapped_scorer_reads_fit_time_criteria_and_ignores_X(pipe, binary):
    X, y = binary
    model = ts.InformationCriteria(LogisticRegression(C=0.5, tol=1e-10))
    if pipe:
        model = make_pipeline(StandardScaler(), model)
    model.fit(X, y)
    inner = LogisticRegression(C=0.5, tol=1e-10)
    if pipe:
        Xs = StandardScaler().fit_transform(X)
        crit = ts.criteria(ts.curvature(inner.fit(Xs, y), Xs, y))
    else:
        crit = ts.criteria(ts.curvature(inner.fit(X, y), X, y))
    for name in FIELDS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # held-out rows: no warning for a wrapper
            got = get_scorer(name)(model, X[:50], y[:50])
        assert_allclose(got, _expected(crit, name), rtol=RTOL_REFIT)


def test_sample_weight_is_used_for_raw_estimators(binary):
    X, y = binary
    w = np.random.default_rng(3).integers(1, 4, size=len(y)).astype(float)
    est = LogisticRegression(C=0.5, tol=1e-10).fit(X, y, sample_weight=w)
    crit = ts.criteria(ts.curvature(est, X, y, w))
    got = get_scorer("neg_tic")(est, X, y, sample_weight=w)
    assert_allclose(got, -crit.tic / (2 * w.sum()), rtol=RTOL)


@pytest.mark.parametrize("kind", ["logistic", "poisson", "ridge"])
def test_held_out_data_warns_for_raw_estimator(kind, binary, counts):
    X, y = _data(kind, binary, counts)
    est = _models()[kind].fit(X[:200], y[:200])
    with pytest.warns(HeldOutDataWarning, match="InSample"):
        get_scorer("neg_tic")(est, X[200:], y[200:])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_scorer("neg_tic")(est, X[:200], y[:200])


def test_warning_follows_documented_rule_for_early_stopped_fits(binary):
    # Early-stopped fits on their own training data: HeldOutDataWarning exactly when
    # T > HELD_OUT_THRESHOLD, else NotStationaryWarning exactly when stationarity >
    # STATIONARITY_TOL.  T is recomputed here from the Curvature by hand.
    X, y = binary
    seen = set()
    for max_iter in range(1, 11):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning
            est = LogisticRegression(max_iter=max_iter).fit(X, y)
            curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
        c = np.diag(curv.grad_cov)
        T = np.mean(curv.gradient**2 / c)
        if T > HELD_OUT_THRESHOLD:
            expected = {HeldOutDataWarning}
        elif curv.stationarity > STATIONARITY_TOL:
            expected = {ts.NotStationaryWarning}
        else:
            expected = set()
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            get_scorer("neg_tic")(est, X, y)
        assert {type(w.message) for w in record} == expected
        seen |= expected or {None}
    # the loop exercised all three branches
    assert seen == {HeldOutDataWarning, ts.NotStationaryWarning, None}


def test_cross_validate_raw_estimator_warns(binary):
    X, y = binary
    with pytest.warns(HeldOutDataWarning):
        cross_validate(
            LogisticRegression(tol=1e-10),
            X,
            y,
            cv=3,
            scoring=get_scorer("neg_tic"),
            error_score="raise",
        )


def _loop_criteria(X, y, grid):
    return {
        C: ts.criteria(ts.curvature(LogisticRegression(C=C, tol=1e-10).fit(X, y), X, y))
        for C in grid
    }


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_insample_grid_search_picks_argmin_of_loop(n_jobs, binary):
    X, y = binary
    loop = _loop_criteria(X, y, C_GRID)
    search = GridSearchCV(
        LogisticRegression(tol=1e-10),
        {"C": C_GRID},
        cv=InSample(),
        scoring={k: get_scorer(k) for k in ["neg_tic", "neg_aic", "neg_bic"]},
        refit="neg_tic",
        n_jobs=n_jobs,
    ).fit(X, y)
    for name, field in [("neg_tic", "tic"), ("neg_aic", "aic"), ("neg_bic", "bic")]:
        values = np.array([getattr(loop[C], field) for C in C_GRID])
        expected = np.array([-v / (2 * len(y)) for v in values])
        assert_allclose(
            search.cv_results_[f"mean_test_{name}"], expected, rtol=RTOL_REFIT
        )
        best = int(np.argmax(search.cv_results_[f"mean_test_{name}"]))
        assert C_GRID[best] == C_GRID[int(np.argmin(values))]
    assert (
        search.best_params_["C"]
        == C_GRID[int(np.argmin([loop[C].tic for C in C_GRID]))]
    )


def test_criteria_scoring_equals_individual_scorers(binary):
    X, y = binary
    est = LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    names = ["neg_tic", "neg_aicc", "neg_bic", "neg_log_loss"]
    got = criteria_scoring(*names)(est, X, y)
    assert list(got) == names
    for name in names:
        assert_allclose(got[name], get_scorer(name)(est, X, y), rtol=RTOL)
    assert_allclose(got["neg_log_loss"], -log_loss(y, est.predict_proba(X)), rtol=RTOL)


def test_multimetric_5fold_serial_equals_parallel(binary):
    X, y = binary
    results = []
    for n_jobs in (1, 2):
        search = GridSearchCV(
            ts.InformationCriteria(LogisticRegression(tol=1e-10)),
            {"estimator__C": C_GRID},
            cv=KFold(5, shuffle=True, random_state=0),
            scoring={
                "tic": get_scorer("neg_tic"),
                "aic": get_scorer("neg_aic"),
                "ll": "neg_log_loss",
            },
            refit="tic",
            n_jobs=n_jobs,
            error_score="raise",  # a failing scorer must not hide as nan == nan
        ).fit(X, y)
        results.append(search)
    a, b = results
    for key in ["mean_test_tic", "mean_test_aic", "mean_test_ll"]:
        assert np.all(np.isfinite(a.cv_results_[key]))
        # same folds, same deterministic solver: identical up to BLAS threading
        assert_allclose(a.cv_results_[key], b.cv_results_[key], rtol=1e-10)
    assert a.best_params_ == b.best_params_
    # independent loop over the same folds: criteria of each fold's training fit,
    # log-loss on its held-out rows
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    expected = {"tic": [], "aic": [], "ll": []}
    for C in C_GRID:
        per_fold = {key: [] for key in expected}
        for train, test in folds:
            est = LogisticRegression(C=C, tol=1e-10).fit(X[train], y[train])
            crit = ts.criteria(ts.curvature(est, X[train], y[train]))
            per_fold["tic"].append(-crit.tic / (2 * len(train)))
            per_fold["aic"].append(-crit.aic / (2 * len(train)))
            per_fold["ll"].append(-log_loss(y[test], est.predict_proba(X[test])))
        for key in expected:
            expected[key].append(np.mean(per_fold[key]))
    for key, values in expected.items():
        assert_allclose(a.cv_results_[f"mean_test_{key}"], values, rtol=RTOL_REFIT)
    assert a.best_params_["estimator__C"] == C_GRID[int(np.argmax(expected["tic"]))]


def test_multimetric_insample_serial_equals_parallel_with_criteria_scoring(binary):
    X, y = binary
    searches = [
        GridSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression(tol=1e-10)),
            {"logisticregression__C": C_GRID},
            cv=InSample(),
            scoring=criteria_scoring("neg_tic", "neg_bic"),
            refit="neg_bic",
            n_jobs=n_jobs,
            error_score="raise",
        ).fit(X, y)
        for n_jobs in (1, 2)
    ]
    # independent loop: -TIC/2n and -BIC/2n of each pipeline fit on all rows
    loop = []
    for C in C_GRID:
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=C, tol=1e-10))
        loop.append(ts.criteria(ts.curvature(pipe.fit(X, y), X, y)))
    for key in ("tic", "bic"):
        expected = [-getattr(c, key) / (2 * len(y)) for c in loop]
        assert_allclose(
            searches[0].cv_results_[f"mean_test_neg_{key}"], expected, rtol=RTOL_REFIT
        )
    best = C_GRID[int(np.argmin([c.bic for c in loop]))]
    assert searches[0].best_params_["logisticregression__C"] == best
    assert_allclose(
        searches[0].cv_results_["mean_test_neg_tic"],
        searches[1].cv_results_["mean_test_neg_tic"],
        rtol=1e-10,
    )
    assert searches[0].best_params_ == searches[1].best_params_


def test_randomized_and_halving_searches_run(counts):
    X, y = counts
    scorer = get_scorer("neg_tic")
    alphas = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    rs = RandomizedSearchCV(
        PoissonRegressor(tol=1e-10),
        {"alpha": alphas},
        n_iter=3,
        cv=InSample(),
        scoring=scorer,
        random_state=0,
        error_score="raise",
    ).fit(X, y)
    # independent loop over the candidates the search drew: -TIC / 2n of each fit
    tried = [p["alpha"] for p in rs.cv_results_["params"]]
    assert len(set(tried)) == 3
    expected = [
        -ts.criteria(
            ts.curvature(PoissonRegressor(alpha=a, tol=1e-10).fit(X, y), X, y)
        ).tic
        / (2 * len(y))
        for a in tried
    ]
    assert_allclose(rs.cv_results_["mean_test_score"], expected, rtol=RTOL_REFIT)
    assert rs.best_params_["alpha"] == tried[int(np.argmax(expected))]
    hs = HalvingGridSearchCV(
        ts.InformationCriteria(PoissonRegressor(tol=1e-10)),
        {"estimator__alpha": alphas},
        cv=3,
        scoring=scorer,
        min_resources=60,
        random_state=0,
        error_score="raise",
    ).fit(X, y)
    # the best candidate is the argmax of the last round's scores ...
    last = hs.cv_results_["iter"] == hs.cv_results_["iter"].max()
    scores = hs.cv_results_["mean_test_score"][last]
    assert hs.best_score_ == scores.max()
    best = np.flatnonzero(last)[int(np.argmax(scores))]
    assert hs.best_params_ == hs.cv_results_["params"][best]
    # ... and the refit wrapper carries the criteria of a plain fit on all rows
    direct = ts.criteria(
        ts.curvature(
            PoissonRegressor(alpha=hs.best_params_["estimator__alpha"], tol=1e-10).fit(
                X, y
            ),
            X,
            y,
        )
    )
    assert_allclose(hs.best_estimator_.criteria_.tic, direct.tic, rtol=RTOL_REFIT)


def test_user_criterion_scorer_in_parallel(binary):
    X, y = binary
    scorer = make_criterion_scorer(lambda c: c.tic + c.bic, name="tic+bic")
    search = GridSearchCV(
        LogisticRegression(tol=1e-10),
        {"C": C_GRID[:2]},
        cv=InSample(),
        scoring=scorer,
        n_jobs=2,
    ).fit(X, y)
    loop = _loop_criteria(X, y, C_GRID[:2])
    expected = [-(loop[C].tic + loop[C].bic) / (2 * len(y)) for C in C_GRID[:2]]
    assert_allclose(search.cv_results_["mean_test_score"], expected, rtol=RTOL_REFIT)
    up = make_criterion_scorer(
        lambda c: c.soft_rank, per_sample=False, greater_is_better=True
    )
    est = LogisticRegression(tol=1e-10).fit(X, y)
    assert_allclose(up(est, X, y), ts.criteria(ts.curvature(est, X, y)).soft_rank)


def test_scorers_pickle(binary):
    X, y = binary
    est = LogisticRegression(tol=1e-10).fit(X, y)
    for name in get_scorer_names():
        s = pickle.loads(pickle.dumps(get_scorer(name)))
        assert_allclose(s(est, X, y), get_scorer(name)(est, X, y), rtol=RTOL)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"neg_tic.*neg_aic|Did you mean") as err:
        get_scorer("neg_ticc")
    assert "neg_tic" in str(err.value) and "neg_bic" in str(err.value)
    with pytest.raises(ValueError, match="neg_bic"):
        check_scoring(LogisticRegression(), ["neg_tic", "nonsense"])
    with pytest.raises(TypeError, match="scorer name or a callable"):
        get_scorer(3)


def test_metric_where_scorer_expected():
    with pytest.raises(TypeError, match="looks like a metric.*neg_tic"):
        get_scorer(log_loss)
    with pytest.raises(TypeError, match="looks like a metric"):
        make_criterion_scorer(log_loss)
    with pytest.raises(TypeError, match="get_scorer"):
        make_criterion_scorer("tic")
    with pytest.raises(TypeError, match="is not a scorer.*neg_tic"):
        get_scorer(ts.criteria)


def test_scikit_learn_scorer_objects_are_scorers(binary):
    # make_scorer objects are called as scorer(estimator, X, y_true): not metrics
    from sklearn.metrics import get_scorer as sk_get_scorer
    from sklearn.metrics import make_scorer

    X, y = binary
    est = LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    sk = sk_get_scorer("neg_log_loss")
    assert get_scorer(sk) is sk
    custom = make_scorer(log_loss, response_method="predict_proba")
    assert_allclose(sk(est, X, y), -log_loss(y, est.predict_proba(X)), rtol=RTOL)
    resolved = check_scoring(est, {"ll": custom, "tic": "neg_tic"})
    assert_allclose(resolved["ll"](est, X, y), log_loss(y, est.predict_proba(X)))


def test_unsupported_estimator_lists_supported(binary):
    X, y = binary
    with pytest.raises(TypeError, match="Supported models:.*PoissonRegressor"):
        check_scoring(RandomForestClassifier(), "neg_tic")
    with pytest.raises(TypeError, match="Supported models"):
        check_scoring(
            ts.InformationCriteria(RandomForestClassifier()), {"t": "neg_tic"}
        )
    # held-out scorers are fine for any estimator (and score what they say)
    ll = check_scoring(RandomForestClassifier(), "neg_log_loss")
    rf = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    assert_allclose(ll(rf, X, y), -log_loss(y, rf.predict_proba(X)), rtol=RTOL)
    with pytest.raises(TypeError, match="Supported models"):
        get_scorer("neg_tic")(rf, X, y)


def test_check_scoring_knows_every_supported_linear_model(binary):
    """SGD with a likelihood loss, RidgeCV and LogisticRegressionCV are supported by
    curvature(), so check_scoring accepts them (it refused SGD and RidgeCV), and the
    scorer's value is -TIC/(2n) of their curvature; SGD's hinge loss has none."""
    from sklearn.linear_model import (
        LogisticRegressionCV,
        RidgeCV,
        SGDClassifier,
        SGDRegressor,
    )

    X, y = binary
    yr = X[:, 0] + 0.1 * np.arange(len(y)) % 3
    cases = [
        (SGDClassifier(loss="log_loss", alpha=0.01, tol=1e-10, random_state=0), y),
        (SGDRegressor(alpha=0.01, tol=1e-10, random_state=0), yr),
        (RidgeCV(alphas=[0.1, 1.0]), yr),
        (LogisticRegressionCV(Cs=[0.1, 1.0], tol=1e-10), y),
    ]
    for est, target in cases:
        scorer = check_scoring(est, "neg_tic")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SGD's fits are not stationary
            fitted = clone(est).fit(X, target)
            crit = ts.criteria(ts.curvature(fitted, X, target))
            assert_allclose(
                scorer(fitted, X, target), -crit.tic / (2 * crit.n_samples), rtol=1e-9
            )
    with pytest.raises(TypeError, match="Supported models"):
        check_scoring(SGDClassifier(loss="hinge"), "neg_tic")


def test_unfitted_wrapper_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="criteria_"):
        get_scorer("neg_aic")(ts.InformationCriteria(Ridge()), None, None)


def test_held_out_warning_once_per_search():
    """Issue 18: one HeldOutDataWarning per search, not one per fold and grid value."""

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = (X[:, 0] + rng.normal(size=150) > 0).astype(int)
    search = GridSearchCV(
        LogisticRegression(tol=1e-10),
        {"C": [0.1, 1.0, 10.0]},
        scoring=ts.get_scorer("neg_tic"),
        cv=5,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's default: once per text and place
        search.fit(X, y)
    held = [w for w in caught if issubclass(w.category, ts.HeldOutDataWarning)]
    assert len(held) == 1


def test_flagged_tic_warns_once_per_grid_search():
    """Issue 23: one line per search, not one SeparationWarning per fit."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    grid = {"C": np.logspace(-3, 2, 12)}  # separable data: weak penalties flagged
    est = LogisticRegression(tol=1e-8, max_iter=10_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = GridSearchCV(
            est, grid, cv=ts.InSample(), scoring=get_scorer("neg_tic")
        ).fit(X, y)
    flagged = [w for w in caught if w.category is ts.FlaggedCriterionWarning]
    assert len(flagged) == 1
    text = str(flagged[0].message)
    assert "\n" not in text and "neg_alo" in text and "high_leverage" in text
    folded = (ts.SeparationWarning, ts.OverconfidenceWarning)
    assert not [w for w in caught if issubclass(w.category, folded)]
    # TIC still picks the weakest penalty: the warning is what tells the user
    assert search.best_params_["C"] == 100.0
    # the recipe: neg_alo with InSample gives ALO's pick and no warning at all
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alo = GridSearchCV(
            est, grid, cv=ts.InSample(), scoring=get_scorer("neg_alo")
        ).fit(X, y)
    assert not [w for w in caught if issubclass(w.category, UserWarning)]
    path = ts.criterion_path(est, "C", grid["C"], X, y)
    assert alo.best_params_["C"] == path.best_value("alo") < 100.0
    # a new search gets a fresh scorer: it warns again, once
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GridSearchCV(
            est, {"C": [10.0, 100.0]}, cv=ts.InSample(),
            scoring=ts.criteria_scoring("neg_tic", "neg_alo"), refit="neg_alo",
        ).fit(X, y)  # fmt: skip
    assert sum(w.category is ts.FlaggedCriterionWarning for w in caught) == 1
