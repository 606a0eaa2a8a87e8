"""The no-separation certificate (issue 24 item 14): sound against the programme.

The certificate may only ever answer "not separated" where the linear programme
finds no separating direction.  It is a proof at *any* coefficients (fitted or not),
so the tests try it at fitted points and at arbitrary ones, on random designs and on
adversarial ones: complete and quasi-complete separation, separation by a dummy
column, separation that only rows of zero weight break, binomial counts at their
ends, Poisson zero cells, non-canonical links, early-stopped fits that have not run
down the separating direction yet.
"""

import warnings
from dataclasses import replace

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression, PoissonRegressor

import ticselect as ts
from ticselect.curvature import _certificate, _separation
from ticselect.curvature._glm import glm_curvature


def _spec(model, X, y, sample_weight=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if hasattr(model, "model"):  # statsmodels results
            return ts.curvature(model).rows.spec
        return ts.curvature(model, X, y, sample_weight=sample_weight).rows.spec


def _verdicts(spec):
    """(certificate, programme) on ``spec``; ``None`` where the point is not finite."""
    point = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            glm_curvature(spec, _point=point)
    except ValueError:  # a fitted probability of exactly 0 or 1: no point
        return None
    signs = _separation._signs(spec, np.asarray(spec.y), slice(None))
    cert = _certificate.certify_not_separated(spec, signs, point)
    rows = np.flatnonzero(np.asarray(spec.sample_weight) > 0)
    separated = _separation._lp(spec, rows)[0] is not None
    return cert, separated


def _points(spec, rng, n_random=6):
    """The fitted point, scaled copies of it, and random coefficients."""
    coef, icpt = spec.coef, spec.intercept
    yield spec
    for scale in (0.3, 3.0, 30.0):
        yield replace(
            spec, coef=coef * scale, intercept=None if icpt is None else icpt * scale
        )
    for _ in range(n_random):
        s = rng.choice([0.05, 0.5, 3.0])
        yield replace(
            spec,
            coef=rng.normal(scale=s, size=coef.shape),
            intercept=None if icpt is None else rng.normal(scale=s, size=icpt.shape),
        )


def _logistic_designs(rng):
    n, p = rng.choice([12, 40, 200]), rng.choice([1, 2, 4])
    X = rng.normal(size=(n, p))
    kinds = ["random", "complete", "quasi", "dummy", "tied"]
    kind = rng.choice(kinds, p=[0.4, 0.15, 0.15, 0.15, 0.15])
    if kind == "random":
        y = (X @ rng.normal(size=p) + rng.logistic(size=n) > 0).astype(int)
    elif kind == "complete":
        y = (X[:, 0] > 0).astype(int)
    elif kind == "quasi":  # ties on the boundary hold both classes
        X[:, 0] = rng.integers(-1, 2, size=n)
        y = (X[:, 0] > 0).astype(int)
        zero = np.flatnonzero(X[:, 0] == 0)
        y[zero] = rng.integers(0, 2, size=zero.size)
        y[zero[:2]] = [0, 1]
    elif kind == "dummy":  # a dummy that is 1 only on a few rows of class 1
        y = (X[:, 0] + rng.logistic(size=n) > 0).astype(int)
        X[:, -1] = 0.0
        X[np.flatnonzero(y == 1)[:2], -1] = 1.0
    else:  # one class barely separated: the separating rows sit next to the rest
        y = (X[:, 0] > 0).astype(int)
        X[:, 0] = np.where(y == 1, X[:, 0] + 1e-6, X[:, 0] - 1e-6)
    if len(np.unique(y)) < 2:
        y[:2] = [0, 1]
    return X, y, kind


@pytest.mark.parametrize("seed", range(40))
def test_logistic_never_contradicts_the_programme(seed):
    rng = np.random.default_rng(seed)
    X, y, kind = _logistic_designs(rng)
    fit_intercept = bool(rng.integers(0, 2)) or X.shape[1] == 1
    C = rng.choice([0.01, 1.0, 1e4, np.inf])
    max_iter = int(rng.choice([3, 10_000]))  # early-stopped fits too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(
            C=C, max_iter=max_iter, fit_intercept=fit_intercept
        ).fit(X, y)
    spec = _spec(model, X, y)
    for point in _points(spec, rng):
        out = _verdicts(point)
        if out is not None:
            cert, separated = out
            assert not (cert and separated), (kind, C, max_iter)


def test_certificate_is_not_vacuous():
    """Non-separated data with a converged, moderately penalised fit: it proves it."""
    proved = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(400, 3))
        y = (X @ [1.0, -0.5, 0.2] + rng.logistic(size=400) > 0).astype(int)
        spec = _spec(LogisticRegression(C=1.0).fit(X, y), X, y)
        cert, separated = _verdicts(spec)
        assert not separated
        proved += cert
    assert proved == 20


@pytest.mark.parametrize("seed", range(8))
def test_zero_weight_rows_do_not_count(seed):
    # the only rows that break the separation by x0 carry weight 0: the programme
    # drops them, so the data are separated and the certificate must not pass
    rng = np.random.default_rng(seed)
    n = 40
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(int)
    w = np.ones(n)
    flip = np.flatnonzero(X[:, 0] > 0)[:3]
    y[flip] = 0
    w[flip] = 0.0
    model = LogisticRegression(C=1.0).fit(X, y, sample_weight=w)
    spec = _spec(model, X, y, sample_weight=w)
    for point in _points(spec, rng):
        out = _verdicts(point)
        if out is not None:
            cert, separated = out
            assert separated
            assert not cert


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_binomial_counts_and_links(seed, link):
    rng = np.random.default_rng(seed)
    n = 30
    x = rng.normal(size=n)
    trials = rng.integers(1, 6, size=n).astype(float)
    k = rng.binomial(trials.astype(int), 1 / (1 + np.exp(-2 * x)))
    if seed % 2:  # all-or-none rows at the ends of x: separated by x
        k = np.where(x > 0.5, trials, np.where(x < -0.5, 0.0, k))
        mid = np.abs(x) <= 0.5
        k[mid] = np.clip(k[mid], 1, trials[mid] - 1)
    links = {
        "logit": sm.families.links.Logit(),
        "probit": sm.families.links.Probit(),
        "cloglog": sm.families.links.CLogLog(),
    }
    exog = sm.add_constant(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(
            np.column_stack([k, trials - k]),
            exog,
            family=sm.families.Binomial(link=links[link]),
        ).fit(maxiter=int(rng.choice([2, 100])))
    spec = _spec(res, None, None)
    for point in _points(spec, rng):
        out = _verdicts(point)
        if out is not None:
            cert, separated = out
            assert not (cert and separated)


@pytest.mark.parametrize("seed", range(10))
def test_poisson_zero_cells(seed):
    rng = np.random.default_rng(seed)
    n = 50
    X = rng.normal(size=(n, 3))
    y = rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
    if seed % 2:  # a dummy that is 1 only on rows with y = 0: a zero-count cell
        y[:4] = 0.0
        X[:, -1] = 0.0
        X[:4, -1] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PoissonRegressor(alpha=float(rng.choice([1e-6, 1e-2, 1.0]))).fit(X, y)
    spec = _spec(model, X, y)
    n_cert = 0
    for point in _points(spec, rng):
        out = _verdicts(point)
        if out is not None:
            cert, separated = out
            assert not (cert and separated)
            assert separated == bool(seed % 2)
            n_cert += cert
    if not seed % 2:
        assert n_cert > 0  # the fitted point at least


def test_along_the_separating_direction():
    """Walk the fit down its separating direction: never certified on the way."""
    x = np.r_[np.linspace(-2, -0.1, 20), 0.0, 0.0, np.linspace(0.1, 2, 20)]
    X = np.column_stack([x, np.random.default_rng(0).normal(size=x.size)])
    y = (x > 0).astype(int)
    y[20:22] = [0, 1]  # quasi-complete: two tied rows at x = 0
    spec = _spec(LogisticRegression(C=1.0).fit(X, y), X, y)
    d = np.array([[1.0, 0.0]])
    for t in np.r_[0.0, np.geomspace(1e-3, 30, 25)]:
        out = _verdicts(replace(spec, coef=spec.coef + t * d))
        if out is not None:
            assert out == (False, True)


def test_rounding_bound_covers_the_residual():
    """R bounds ‖Σ aᵢx̃ᵢ‖_{M⁻¹} computed in extended precision."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 6)) * rng.uniform(0.1, 100, size=6)
    y = (X @ rng.normal(size=6) / 50 + rng.logistic(size=3000) > 0).astype(int)
    spec = _spec(LogisticRegression(C=0.05, max_iter=5000).fit(X, y), X, y)
    point = {}
    glm_curvature(spec, _point=point)
    H, G = point["hessian"], point["gradient"]
    D, L, kappa = _certificate._equilibrated_factor(H, X.shape[0])
    from scipy import linalg

    v = -linalg.cho_solve((L, True), G / D) / D
    R = _certificate._residual_bound(H, G, point["abs_gradient"], v, D, kappa, 3000)
    ld = np.longdouble
    Xt = np.column_stack([X, np.ones(X.shape[0])]).astype(ld)
    w = np.asarray(spec.sample_weight, dtype=ld)
    u = -(w * point["d1"][:, 0].astype(ld))
    h = w * point["d2"][:, 0, 0].astype(ld)
    t = (X @ v[:-1] + v[-1]).astype(ld)  # the products as the certificate forms them
    r = Xt.T @ (u - h * t)
    M = Xt.T @ (h[:, None] * Xt)
    exact = float(np.sqrt(r @ np.linalg.solve(M.astype(float), r.astype(float))))
    assert exact <= R
    assert R < 1e-6  # and it is small: the check is about signs, not about R


def test_large_fit_skips_the_programme(monkeypatch):
    """A converged fit on many rows never reaches the linear programme (item 14)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 10)) / np.sqrt(10)
    y = (X @ rng.normal(size=10) + rng.logistic(size=20_000) > 0).astype(int)
    model = LogisticRegression().fit(X, y)

    def no_programme(*args, **kwargs):
        raise AssertionError("the linear programme ran")

    monkeypatch.setattr(_separation, "linprog", no_programme)
    monkeypatch.setattr(_separation, "_CACHE", type(_separation._CACHE)())
    crit = ts.criteria(ts.curvature(model, X, y))
    assert "separation" not in crit.flags
    with pytest.raises(AssertionError, match="programme ran"):
        _separation.separating_direction(_spec(model, X, y))  # the spy works


def test_separated_large_fit_still_flagged():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5000, 3))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression(C=np.inf, max_iter=10_000).fit(X, y)
        crit = ts.criteria(ts.curvature(model, X, y))
    assert "separation" in crit.flags
    assert any(issubclass(w.category, ts.SeparationWarning) for w in caught)


@pytest.mark.parametrize("family", ["logistic", "poisson", "multinomial"])
def test_rare_dummy_outside_the_row_subsample_is_found(family):
    """A dummy column non-zero on 3 rows separates them.  When the programme's seeded
    row subsample misses those rows it used to answer "not separated"."""
    rng = np.random.default_rng(0)
    n = 20_000  # above the programme's budget of 12 000 rows at 5 parameters
    X = rng.normal(size=(n, 4))
    X[:, 3] = 0.0
    size = 3000 if family == "multinomial" else 12_000  # 20 entries per row there
    sub = np.random.default_rng(0).choice(np.arange(n), size, replace=False)
    outside = np.setdiff1d(np.arange(n), sub)
    if family == "multinomial":
        y = np.digitize(X[:, 0] + rng.logistic(size=n), [-1.0, 1.0])
        rare = outside[y[outside] == 2][:3]  # only rows of class 2
        model = LogisticRegression(C=1e4)
    elif family == "logistic":
        y = (X @ [1.0, -1.0, 0.5, 0.0] + rng.logistic(size=n) > 0).astype(int)
        rare = outside[y[outside] == 1][:3]  # only rows of class 1
        model = LogisticRegression(C=1e4)
    else:
        y = rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
        rare = outside[:3]
        y[rare] = 0.0  # only rows with y = 0: a zero-count cell
        model = PoissonRegressor(alpha=1e-6)
    X[rare, 3] = 1.0
    model.fit(X, y)
    assert _separation._rows_to_solve(_spec(model, X, y))[1].size == size
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ts.criteria(ts.curvature(model, X, y))
    messages = [str(w.message) for w in caught if w.category is ts.SeparationWarning]
    assert len(messages) == 1 and "3 of 20000 rows" in messages[0]
    d, n_extreme, method = _separation._direction(_spec(model, X, y))
    assert method == "lp-subsample" and n_extreme == 3
    # the dummy's coefficient (in every class block for the multinomial)
    assert np.unique(np.flatnonzero(d) % 5).tolist() == [3]


@pytest.mark.parametrize("seed", range(12))
def test_norm_bound_agrees_with_the_products(seed):
    """The certificate with the row-norm bound (products formed only for the rows
    it leaves) proves whatever the certificate forming every product proves, and
    is never "not separated" where the programme finds a separation."""
    rng = np.random.default_rng(100 + seed)
    X, y, kind = _logistic_designs(rng)
    w = rng.choice([0.0, 0.5, 1.0, 3.0], size=y.size) if seed % 2 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=rng.choice([0.01, 1.0, 1e4])).fit(X, y, w)
    spec = _spec(model, X, y, sample_weight=w)
    for point_spec in _points(spec, rng, n_random=3):
        point = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                glm_curvature(point_spec, _point=point)
        except ValueError:
            continue
        signs = _separation._signs(point_spec, np.asarray(point_spec.y), slice(None))
        with_bound = _certificate.certify_not_separated(point_spec, signs, point)
        every_row = _certificate.certify_not_separated(
            point_spec, signs, {**point, "row_norms": None}
        )
        # a row the bound leaves gets the very test of the product route: the bound
        # never loses a proof, and never proves what the programme refutes
        assert with_bound >= every_row
        if with_bound:
            assert not _lp_separated(point_spec), kind


def _lp_separated(spec):
    rows = np.flatnonzero(np.asarray(spec.sample_weight) > 0)
    return _separation._lp(spec, rows)[0] is not None


def test_converged_fit_needs_no_product():
    """On a converged, lightly penalised fit the norm bound settles every row: the
    certificate forms no ``x̃ᵢᵀv`` (no pass over X)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 10)) / np.sqrt(10)
    y = (X @ rng.normal(size=10) + rng.logistic(size=20_000) > 0).astype(float)
    spec = _spec(LogisticRegression().fit(X, y), X, y)
    point = {}
    glm_curvature(spec, _point=point)
    signs = _separation._signs(spec, y, slice(None))

    class NoProducts(np.ndarray):
        def __getitem__(self, key):
            raise AssertionError("a product x̃ᵢᵀv was formed")

        def __matmul__(self, other):
            raise AssertionError("a product x̃ᵢᵀv was formed")

    guarded = replace(spec, X=X.view(NoProducts))
    assert _certificate.certify_not_separated(guarded, signs, point)
    with pytest.raises(AssertionError, match="product"):  # the guard works
        _certificate.certify_not_separated(guarded, signs, {**point, "row_norms": None})
