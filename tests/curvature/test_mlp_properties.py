"""MLP curvature: properties beyond test_mlp.py's oracles.

Gauss–Newton split for every activation × output, other depths, sgd warnings,
stationarity of deeper / multi-output fits, the memory guard and its estimate, bad
input on the matrix-free path.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from autograd import hessian
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ticselect as ts
from tests.curvature.test_mlp import (
    ACTS,
    OUTS,
    TASKS,
    N,
    _data,
    _fit,
    _logits_function,
    _random_spec,
    _theta,
    assert_matches_reference,
)
from ticselect.curvature._matrix_free import (
    curvature_operators,
    estimate_tic_penalty,
    estimate_trace,
    top_eigenvalues,
)
from ticselect.curvature._mlp import (
    forward,
    gauss_newton_kernel,
    mlp_exact,
    output_loss,
    predict,
)
from ticselect.curvature.adapters.sklearn_mlp import exact_memory_bytes, mlp_spec


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("out,K", OUTS)
def test_gauss_newton_plus_residual_every_combination(act, out, K):
    spec = _random_spec(np.random.default_rng(21), act, out, K)
    spec.sigma2_is_param = False  # the split is over the network weights
    _, _, H, _ = mlp_exact(spec)
    _, r, _ = output_loss(spec.output, forward(spec)[1][-1], spec.Y, spec.sigma2)
    wr = spec.sample_weight[:, None] * r  # held fixed: Σᵢ wᵢ Σ_k r_ik ∇²z_ik
    R = hessian(lambda th: (wr * _logits_function(spec)(th)).sum())(_theta(spec))
    GN = gauss_newton_kernel(spec)
    # Both sides are exact float64 sums in different orders: rounding-level agreement.
    assert_allclose(GN + R, H, rtol=1e-10, atol=1e-11 * np.abs(H).max())
    # Two hidden layers: even relu/identity nets have cross-layer second derivatives,
    # so the residual is a real part of H and the check tests both terms.
    assert np.abs(R).max() > 1e-3 * np.abs(H).max()
    assert np.linalg.eigvalsh(GN).min() > -1e-10 * np.abs(GN).max()


@pytest.mark.parametrize("sizes", [(3, 1), (3, 4), (3, 4, 3, 2)])
@pytest.mark.parametrize("out,K", [("softmax", 3), ("identity", 2)])
def test_other_depths_match_autograd(sizes, out, K):
    # No hidden layer (a GLM), one hidden layer, three hidden layers.
    spec = _random_spec(np.random.default_rng(22), "tanh", out, K, sizes=sizes)
    if sizes == (3, 1):  # _random_spec adds the output layer after `sizes`
        spec.coefs, spec.intercepts = spec.coefs[:1], spec.intercepts[:1]
        spec.coefs[0] = np.random.default_rng(0).normal(size=(3, K))
        spec.intercepts[0] = np.zeros(K)
    _, G, H, _ = mlp_exact(spec)
    assert_matches_reference(spec, H, G)  # test_mlp's independent densities


def test_sgd_fit_stopped_early_warns():
    est, X, y = _fit("multiclass", solver="sgd", max_iter=3, learning_rate_init=1e-3)
    with pytest.warns(ts.NotStationaryWarning, match="solver='sgd'.*stopped"):
        ts.curvature(est, X, y)


def test_tight_lbfgs_fit_does_not_warn():
    est, X, y = _fit("multiclass")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ts.NotStationaryWarning)
        ts.curvature(est, X, y)


# relu is left out: L-BFGS on a piecewise-smooth loss typically stops with a
# pre-activation at a kink (|u| ~ 1e-10 seen here), where the one-sided gradient is not
# zero; the NotStationaryWarning is then the right answer.  Multi-output regression is
# left out: scikit-learn's loss value averages the squared error over outputs while
# its gradient sums it, so L-BFGS stops early (see test_gradient_is_sklearns_gradient).
@pytest.mark.parametrize("act", ["identity", "logistic", "tanh"])
@pytest.mark.parametrize("task", ["multiclass", "multilabel", "regression", "poisson"])
def test_stationarity_two_hidden_layers(task, act):
    est, X, y = _fit(task, act, hidden_layer_sizes=(3, 2))
    curv = ts.curvature(est, X, y, stationarity_tol=np.inf)
    # L-BFGS-B stops on its relative-decrease test (factr·eps ≈ 2e-9), at relative
    # gradients of 1e-5..1.5e-2 here (the worst a poorly scaled entry: scipy 1.17's
    # L-BFGS-B leaves 0.0145 on poisson-logistic, older releases 2e-3); the
    # scale-free Newton decrement (loss a Newton step would still remove) is at most
    # 5e-5 nats here, 20x under the bound, so no warning is due (both must exceed).
    assert curv.stationarity < 5e-2
    assert curv.newton_decrement < 1e-3
    # a penalty counted twice would leave a gradient that a Newton step turns into
    # a loss decrease orders of magnitude above the true one (the decrement is
    # scale-free, unlike the relative gradient, whose worst entry is solver-dependent)
    wrong = curv.gradient + curv.penalty * curv.params
    H_lam = curv.penalized_hessian
    wrong_decrement = 0.5 * wrong @ np.linalg.lstsq(H_lam, wrong, rcond=None)[0]
    assert wrong_decrement > 100 * max(curv.newton_decrement, 1e-6)


def _sklearn_gradient(est, X, y, sw):
    """scikit-learn's own gradient of its objective, per layer (private API)."""
    L = len(est.coefs_)
    if isinstance(est, MLPClassifier):
        y = est._label_binarizer.transform(y)
    y = np.asarray(y, dtype=float).reshape(X.shape[0], -1)
    acts = [X] + [None] * L
    _, cg, ig = est._backprop(X, y, sw, acts, [None] * L, [None] * L, [None] * L)
    return np.concatenate(
        [np.concatenate([c.ravel(), b]) for c, b in zip(cg, ig, strict=True)]
    )


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("task", TASKS)
def test_gradient_is_sklearns_gradient(task, act):
    # At any θ (here an unconverged fit, so the gradient is far from 0), our penalised
    # gradient, in scikit-learn's units, is the gradient scikit-learn descends: the
    # penalty units (alpha, alpha/σ²) and the multi-output convention (sum over outputs)
    # are checked directly, not only through stationarity.
    sw = np.random.default_rng(26).integers(1, 4, N).astype(float)
    est, X, y = _fit(task, act, hidden_layer_sizes=(3, 2), max_iter=15, sw=sw)
    curv = ts.curvature(est, X, y, sample_weight=sw, stationarity_tol=np.inf)
    ours = curv.gradient[: curv.n_params - int(curv.dispersion_is_param)]
    if curv.dispersion_is_param:  # Gaussian: scikit-learn's loss is σ² · NLL + const
        ours = ours * curv.dispersion
    ref = _sklearn_gradient(est, X, y, sw)
    assert np.abs(ref).max() > 1e-4  # not at a stationary point: a real comparison
    assert_allclose(ours / sw.sum(), ref, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_forward_pass_two_hidden_layers_in_pipeline(task):
    X, y = _data(task, np.random.default_rng(23))
    X = 2.0 * X - 1.0
    cls = MLPClassifier if task == "multiclass" else MLPRegressor
    pipe = make_pipeline(
        StandardScaler(),
        cls(hidden_layer_sizes=(4, 3), activation="relu", max_iter=50, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    spec = mlp_spec(pipe[-1], pipe[0].transform(X), y, np.ones(N))
    ref = pipe.predict_proba(X) if task == "multiclass" else pipe.predict(X)[:, None]
    assert_allclose(predict(spec), ref, rtol=1e-14, atol=1e-15)
    # The pipeline's curvature is the bare network's on transformed inputs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ts.NotStationaryWarning)
        a = ts.curvature(pipe, X, y)
        b = ts.curvature(pipe[-1], pipe[0].transform(X), y)
    assert_allclose(a.hessian, b.hessian, rtol=1e-14, atol=0)


def test_matrix_free_two_hidden_layers_and_seed_dependence():
    est, X, y = _fit("multiclass", hidden_layer_sizes=(3, 3))
    curv = ts.curvature(est, X, y)
    ops = curvature_operators(est, X, y)
    exact_pen = ts.criteria(curv).tic_penalty
    full = estimate_tic_penalty(ops, n_matvecs=3 * N, random_state=0, cg_tol=1e-11)
    # Sketch spans all n directions: only CG error (rel. residual 1e-11) remains.
    assert_allclose(full.value, exact_pen, rtol=1e-6)
    a = estimate_tic_penalty(ops, n_matvecs=12, random_state=1)
    b = estimate_tic_penalty(ops, n_matvecs=12, random_state=2)
    assert a.value != b.value  # the seed matters, so reproducibility is not vacuous
    assert abs(a.value - exact_pen) <= 5 * a.error
    assert a.error < 0.1 * exact_pen  # ~4 % here: the 5-sigma check keeps its power
    tr = estimate_trace(ops, n_matvecs=12, random_state=1)
    tr2 = estimate_trace(ops, n_matvecs=12, random_state=2)
    assert tr.value != tr2.value
    exact_tr = np.trace(curv.hessian)
    assert abs(tr.value - exact_tr) <= 5 * tr.error + 1e-10 * abs(exact_tr)
    assert tr.error < 0.1 * exact_tr  # ~4 % here
    top = top_eigenvalues(ops, k=2, random_state=0)
    assert_allclose(top.value, np.linalg.eigvalsh(curv.hessian)[::-1][:2], rtol=1e-7)


def test_matrix_free_bad_input():
    X, y = _data("binary", np.random.default_rng(24))
    with pytest.raises(NotFittedError, match="not fitted"):
        curvature_operators(MLPClassifier(), X, y)
    est, X, y = _fit("binary")
    with pytest.raises(ValueError, match="features"):
        curvature_operators(est, X[:, :2], y)
    est.intercepts_[-1][0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        curvature_operators(est, X, y)
    with pytest.raises(ValueError, match="non-finite"):
        ts.curvature(est, X, y)


def test_too_large_exact_request_reports_size_in_gib():
    est, X, y = _fit("regression", hidden_layer_sizes=(5,))
    sizes = [3, 5, 1]
    need = exact_memory_bytes(sizes, N, 1) / 2**30
    with pytest.raises(ValueError, match=rf"needs about {need:.2f} GiB") as info:
        ts.curvature(est, X, y, max_memory=1e4)
    assert "matrix-free" in str(info.value)
    # Just above the estimate it runs.
    ts.curvature(est, X, y, max_memory=need * 2**30 * 1.001)


@pytest.mark.parametrize(
    "n,sizes", [(600, [3, 48, 4]), (300, [6, 20, 12, 5]), (400, [30, 12, 10])]
)
def test_memory_estimate_bounds_measured_peak(n, sizes):
    # numpy reports its allocations to tracemalloc, so this is the true array peak.
    rng = np.random.default_rng(25)
    spec = _random_spec(rng, "tanh", "softmax", sizes[-1], sizes=sizes[:-1], n=n)
    tracemalloc.start()
    try:
        mlp_exact(spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = exact_memory_bytes(sizes, n)
    # An upper estimate (the guard must not let a run that does not fit through),
    # but not a uselessly loose one.  The wide-layer case [3, 48, 4] is dominated by
    # the n·h² per-sample Hessians that a d²-only estimate misses by 10x.
    assert peak <= est <= 3 * peak


def test_memory_guard_chooses_exact_or_matrix_free():
    from ticselect.selection._tic_penalty import tic_penalty

    est, X, y = _fit("multiclass", hidden_layer_sizes=(4,))
    exact = ts.criteria(ts.curvature(est, X, y)).tic_penalty
    a = tic_penalty(est, X, y)  # fits in memory: exact
    assert a.value == exact and a.error == 0.0 and a.n_matvecs == 0
    need = exact_memory_bytes([3, 4, 3], N)
    b = tic_penalty(est, X, y, max_memory=0.5 * need, n_matvecs=30, random_state=0)
    assert b.n_matvecs > 0 and b.error > 0  # the matrix-free route
    assert abs(b.value - exact) <= 5 * b.error
    assert b.error < 0.1 * exact  # ~1.5 % here: a bounded, meaningful error bar
    c = tic_penalty(est, X, y, max_memory=0.5 * need, n_matvecs=30, random_state=0)
    assert c == b
    d = tic_penalty(est, X, y, method="matrix_free", n_matvecs=3 * N, cg_tol=1e-11)
    assert_allclose(d.value, exact, rtol=1e-6)  # the sketch spans all n directions
    with pytest.raises(ValueError, match=r"needs about \d+\.\d\d GiB"):
        tic_penalty(est, X, y, method="exact", max_memory=0.5 * need)
    with pytest.raises(ValueError, match="method must be"):
        tic_penalty(est, X, y, method="dense")
    # The pipeline's network is found and the guard applies to it.
    pipe = make_pipeline(StandardScaler(with_mean=False, with_std=False), est)
    pipe[0].fit(X)
    e = tic_penalty(pipe, X, y, max_memory=0.5 * need, n_matvecs=30, random_state=0)
    assert e == b
