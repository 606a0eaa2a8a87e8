"""Curvature on dask arrays and of dask-ml GLMs, on a 2-process LocalCluster.

Oracles: the in-memory numpy path (every quantity is a sum over rows, so the
blockwise path must agree up to summation order: rtol 1e-10), row duplication for
integer weights, the stationarity of dask-glm's own penalised objective at its fit, and
the equivalent scikit-learn fit.
"""

import pickle
import warnings
from dataclasses import replace

import dask
import dask.array as da
import dask.dataframe as dd
import joblib
import numpy as np
import pandas as pd
import pytest
import zarr
from dask_ml.linear_model import LinearRegression as DaskLinearRegression
from dask_ml.linear_model import LogisticRegression as DaskLogisticRegression
from dask_ml.linear_model import PoissonRegression as DaskPoissonRegression
from distributed import Client, LocalCluster
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from ticselect.curvature._dask import dask_spec_curvature
from ticselect.curvature._families import get_family
from ticselect.curvature._glm import GLMSpec, glm_curvature

# summation order is the only difference between the two paths: 1e-10 of each
# matrix's largest entry (entries that cancel to ~1e-6 of it keep absolute errors)
RTOL = 1e-10


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _data(seed=0, n=600, p=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    w = rng.integers(1, 4, size=n).astype(float)
    eta = 0.4 * X[:, 0] - 0.3 * X[:, 1]
    ys = {
        "logistic": (eta + rng.logistic(size=n) > 0).astype(int),
        "poisson": rng.poisson(np.exp(eta)).astype(float),
        "gamma": rng.gamma(2.0, np.exp(eta) / 2.0),
        "gaussian": eta + rng.normal(size=n),
    }
    return X, w, ys


MODELS = {
    "logistic": lambda: LogisticRegression(C=0.5, tol=1e-10),
    "poisson": lambda: PoissonRegressor(alpha=1e-3, tol=1e-10),
    "gamma": lambda: GammaRegressor(alpha=1e-3, tol=1e-10),
    "gaussian": lambda: Ridge(alpha=2.0),
}


def _assert_same(a, b, same_rows=True):
    for name in ("hessian", "grad_cov", "params", "penalty", "abs_grad_sum"):
        ref = getattr(a, name)
        np.testing.assert_allclose(
            getattr(b, name),
            ref,
            rtol=RTOL,
            atol=RTOL * np.max(np.abs(ref)),
            err_msg=name,
        )
    # the gradient vanishes at the fit: compare on the scale of its terms
    np.testing.assert_allclose(b.gradient, a.gradient, rtol=0, atol=RTOL * a.nll)
    assert b.nll == pytest.approx(a.nll, rel=RTOL)
    assert b.n_samples == pytest.approx(a.n_samples, rel=RTOL)
    assert b.n_rows == a.n_rows or not same_rows
    assert b.param_names == a.param_names
    assert (b.dispersion is None) == (a.dispersion is None)
    if a.dispersion is not None:
        assert b.dispersion == pytest.approx(a.dispersion, rel=RTOL)
    assert b.dispersion_is_param == a.dispersion_is_param


@pytest.mark.parametrize("family", list(MODELS))
def test_dask_equals_numpy_on_the_cluster(client, family):
    X, w, ys = _data()
    y = ys[family]
    model = MODELS[family]().fit(X, y, sample_weight=w)
    ref = ts.curvature(model, X, y, w)
    Xd = da.from_array(X, chunks=(130, 2))  # ragged row chunks, split columns
    got = ts.curvature(model, Xd, da.from_array(y, chunks=200), w)
    _assert_same(ref, got)
    assert got.stationarity == pytest.approx(ref.stationarity, rel=1e-6, abs=1e-12)
    G = got.per_sample_grads
    assert isinstance(G, da.Array)  # lazy until asked for
    G = G.compute()
    np.testing.assert_allclose(
        G, ref.per_sample_grads, rtol=RTOL, atol=RTOL * np.abs(G).max()
    )
    theta = ref.params * 1.01
    assert got.loss_fn(theta) == pytest.approx(ref.loss_fn(theta), rel=RTOL)
    np.testing.assert_allclose(got.hessian_fn(theta), ref.hessian_fn(theta), rtol=1e-9)


def test_threaded_scheduler_weights_equal_duplicated_rows():
    X, w, ys = _data(1, n=300)
    y = ys["gamma"]
    model = MODELS["gamma"]().fit(X, y, sample_weight=w)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    with dask.config.set(scheduler="threads"):
        weighted = ts.curvature(model, da.from_array(X, chunks=70), y, w)
        dup = ts.curvature(model, da.from_array(X[rows], chunks=170), y[rows])
    _assert_same(dup, weighted, same_rows=False)


def test_multinomial_class_weight_and_string_labels():
    X, w, _ = _data(2, n=400)
    y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    model = LogisticRegression(C=0.3, tol=1e-10, class_weight="balanced")
    model.fit(X, y, sample_weight=w)
    ref = ts.curvature(model, X, y, w)
    with dask.config.set(scheduler="threads"):
        got = ts.curvature(
            model, da.from_array(X, chunks=90), da.from_array(y, chunks=90), w
        )
    _assert_same(ref, got)
    assert got.gauge.shape == ref.gauge.shape == (got.n_params, 5)


def test_offsets_on_the_spec():
    X, w, ys = _data(3)
    off = np.linspace(-0.5, 0.5, len(w))
    spec = GLMSpec(
        family=get_family("poisson"),
        X=X,
        y=ys["poisson"],
        coef=np.array([[0.3, -0.2, 0.1, 0.0]]),
        intercept=np.array([0.05]),
        sample_weight=w,
        offset=off,
        l2=2.0,
        feature_names=[f"x{j}" for j in range(4)],
    )
    ref = glm_curvature(spec)
    chunks = (150,)
    lazy = replace(
        spec,
        X=da.from_array(X, chunks=(150, 4)),
        y=da.from_array(spec.y, chunks=chunks),
        sample_weight=da.from_array(w, chunks=chunks),
        offset=da.from_array(off, chunks=chunks),
    )
    with dask.config.set(scheduler="threads"):
        got = dask_spec_curvature(lazy)
    _assert_same(ref, got)
    assert np.max(np.abs(ref.gradient)) > 1.0  # off the optimum: a real comparison


def test_dask_dataframe_and_pipeline_free_design():
    X, w, ys = _data(4, n=300)
    y = ys["gaussian"]
    model = LinearRegression().fit(X, y, sample_weight=w)
    frame = dd.from_pandas(pd.DataFrame(X), npartitions=3)
    with dask.config.set(scheduler="threads"):
        got = ts.curvature(model, frame, dd.from_pandas(pd.Series(y), npartitions=3), w)
    _assert_same(ts.curvature(model, X, y, w), got)


def test_bad_dask_inputs_raise():
    X, w, ys = _data(5, n=200)
    y = ys["poisson"]
    model = MODELS["poisson"]().fit(X, y)
    Xbad = X.copy()
    Xbad[150, 2] = np.nan
    with dask.config.set(scheduler="threads"):
        with pytest.raises(ValueError, match="NaN or infinite"):
            ts.curvature(model, da.from_array(Xbad, chunks=50), y)
        with pytest.raises(ValueError, match="rows but y"):
            ts.curvature(model, da.from_array(X, chunks=50), y[:-1])
        with pytest.raises(ValueError, match="outside the support"):
            ts.curvature(model, da.from_array(X, chunks=50), -y - 1)
        with pytest.raises(ValueError, match="non-negative"):
            ts.curvature(model, da.from_array(X, chunks=50), y, -w)
        mlp = MLPRegressor(hidden_layer_sizes=(2,), max_iter=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp.fit(X, y)
        with pytest.raises(TypeError, match="X.compute"):
            ts.curvature(mlp, da.from_array(X, chunks=50), y)


# ----------------------------------------------------------------------- dask-ml
C = 0.25


def _dask_ml_cases():
    X, _, ys = _data(6, n=800, p=3)
    return X, {
        "logistic": (DaskLogisticRegression, ys["logistic"]),
        "poisson": (DaskPoissonRegression, ys["poisson"]),
        "gaussian": (DaskLinearRegression, ys["gaussian"]),
    }


def _relative_gradient(curv, penalty):
    """Stationarity of ``data gradient + penalty * θ``, as in the conventions."""
    data = curv.gradient - curv.penalty * curv.params
    grad = data + penalty * curv.params
    return np.max(np.abs(grad) / (curv.abs_grad_sum + np.abs(penalty * curv.params)))


@pytest.mark.parametrize("family", ["logistic", "poisson", "gaussian"])
def test_dask_ml_fit_is_stationary_in_the_adapters_units(client, family):
    X, cases = _dask_ml_cases()
    cls, y = cases[family]
    Xd, yd = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    # a strong penalty (λ = 1/C = 50 against n = 800 rows) makes its units visible
    model = cls(C=0.02, solver="lbfgs", tol=1e-12, max_iter=1000).fit(Xd, yd)
    curv = ts.curvature(model, Xd, yd)
    # lbfgs stops at scipy's default factr: relative gradients ~1e-6
    assert curv.stationarity < 1e-4
    assert "not_stationary" not in curv.flags
    # other units are far from stationary: twice or half the penalty
    for wrong in (2 * curv.penalty, curv.penalty / 2):
        assert _relative_gradient(curv, wrong) > 100 * max(curv.stationarity, 1e-6)
    # the in-memory path reads the same model identically
    _assert_same(ts.curvature(model, X, y), curv)


def _equivalent_sklearn(family, n):
    if family == "logistic":  # dask-glm penalises the intercept: liblinear too
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(
                C=C, solver="liblinear", intercept_scaling=1.0, tol=1e-12
            ),
        )
    if family == "poisson":  # sklearn: mean half-deviance + alpha/2 |γ|²
        est = PoissonRegressor(alpha=1 / (C * n), fit_intercept=False, tol=1e-12)
    else:  # Ridge: |y - Xγ|² + alpha |γ|²; dask-glm: Σ(y - η)² + |γ|² / (2C)
        est = Ridge(alpha=1 / (2 * C), fit_intercept=False)
    return make_pipeline(StandardScaler(with_mean=False), est)


@pytest.mark.parametrize("family", ["logistic", "poisson", "gaussian"])
def test_dask_ml_criteria_equal_the_equivalent_sklearn_fit(family):
    X, cases = _dask_ml_cases()
    cls, y = cases[family]
    fit_intercept = family == "logistic"
    model = cls(
        C=C, solver="lbfgs", tol=1e-12, max_iter=1000, fit_intercept=fit_intercept
    )
    model.fit(X, y)
    sk = _equivalent_sklearn(family, len(y)).fit(X, y)
    got = ts.criteria(ts.curvature(model, X, y))
    ref = ts.criteria(ts.curvature(sk, X, y))
    # both fits stop at relative gradients ~1e-6: first-order differences in tic
    for name in ("loglik", "tic", "aic", "tic_penalty"):
        assert getattr(got, name) == pytest.approx(getattr(ref, name), rel=1e-5)


def test_dask_ml_l1_is_refused():
    X, cases = _dask_ml_cases()
    cls, y = cases["logistic"]
    model = cls(C=C, penalty="l1", solver="admm", max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="only the L2 penalty"):
        ts.curvature(model, X, y)


# ------------------------------------------------------------- searches on a cluster
def test_scorers_and_curvature_pickle(client):
    X, w, ys = _data(7, n=200)
    y = ys["logistic"]
    model = MODELS["logistic"]().fit(X, y)
    scorer = ts.get_scorer("neg_tic")
    again = pickle.loads(pickle.dumps(scorer))
    assert again(model, X, y) == scorer(model, X, y)
    curv = ts.curvature(model, X, y)
    back = pickle.loads(pickle.dumps(curv))
    np.testing.assert_array_equal(back.hessian, curv.hessian)
    np.testing.assert_array_equal(back.per_sample_grads, curv.per_sample_grads)
    # a Curvature computed on a worker comes back whole
    remote = client.submit(ts.curvature, model, X, y).result()
    np.testing.assert_array_equal(remote.grad_cov, curv.grad_cov)
    assert client.submit(scorer, model, X, y).result() == scorer(model, X, y)


def test_gridsearch_with_neg_tic_under_the_dask_backend(client):
    X, _, ys = _data(8, n=300)
    y = ys["logistic"]
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}
    est = LogisticRegression(tol=1e-10)
    kwargs = dict(cv=ts.InSample(), scoring=ts.get_scorer("neg_tic"), n_jobs=2)
    serial = GridSearchCV(est, grid, **{**kwargs, "n_jobs": 1}).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_cluster = GridSearchCV(est, grid, **kwargs).fit(X, y)
    np.testing.assert_array_equal(
        on_cluster.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert on_cluster.best_params_ == serial.best_params_
    with joblib.parallel_backend("dask"):
        path = ts.criterion_path(est, "C", grid["C"], X, y)
    assert [c.tic for c in path.criteria] == pytest.approx(
        -2 * len(y) * serial.cv_results_["mean_test_score"], rel=1e-6
    )


# ---------------------------------------------------------------------- out of core
def test_zarr_store_and_npy_memmap(tmp_path):
    X, w, ys = _data(9, n=500)
    y = ys["logistic"]
    model = MODELS["logistic"]().fit(X, y, sample_weight=w)
    ref = ts.curvature(model, X, y, w)
    store = zarr.open_array(
        str(tmp_path / "X.zarr"), mode="w", shape=X.shape, chunks=(120, 4), dtype="f8"
    )
    store[:] = X
    np.save(tmp_path / "X.npy", X)
    memmap = np.load(tmp_path / "X.npy", mmap_mode="r")
    with dask.config.set(scheduler="threads"):
        from_zarr = ts.curvature(model, da.from_zarr(str(tmp_path / "X.zarr")), y, w)
        from_npy = ts.curvature(model, da.from_array(memmap, chunks=(120, 4)), y, w)
    _assert_same(ref, from_zarr)
    _assert_same(ref, from_npy)


def test_dask_ml_on_dask_arrays_through_scorers_path_and_pipeline(client):
    from dask_ml.preprocessing import StandardScaler as DaskStandardScaler

    X, cases = _dask_ml_cases()
    cls, y = cases["logistic"]
    Xd, yd = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    est = cls(C=C, solver="lbfgs", tol=1e-12, max_iter=1000)
    scorer = ts.check_scoring(est, "neg_tic")
    model = est.fit(Xd, yd)
    assert scorer(model, Xd, yd) == pytest.approx(scorer(model, X, y), rel=RTOL)
    path = ts.criterion_path(est, "C", [0.1, 1.0], Xd, yd, keep_estimators=False)
    for C_, crit in zip([0.1, 1.0], path.criteria, strict=True):
        fit = cls(C=C_, solver="lbfgs", tol=1e-12, max_iter=1000).fit(X, y)
        assert crit.tic == pytest.approx(ts.criteria(ts.curvature(fit, X, y)).tic)
    # a Pipeline whose first step keeps dask arrays lazy
    pipe = make_pipeline(DaskStandardScaler(), est).fit(Xd, yd)
    lazy = ts.curvature(pipe, Xd, yd)
    assert isinstance(lazy.per_sample_grads, da.Array)
    _assert_same(ts.curvature(pipe[-1], pipe[0].transform(X), y), lazy)
