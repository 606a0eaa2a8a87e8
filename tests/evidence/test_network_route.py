"""The networks' evidence route: no H, KFAC, the symmetry term, flags, errors."""

import copy
import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

import ticselect as ts
from ticselect._evidence_net import symmetry_count
from ticselect.flatness import kfac_factors
from ticselect.flatness._fisher import kfac_matrix


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _classifier(rng, classes=2, width=5, alpha=0.3, activation="tanh", n=80):
    X = rng.normal(size=(n, 4))
    if classes == 2:
        y = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    else:
        y = rng.integers(0, classes, n)
    net = MLPClassifier((width,), activation=activation, alpha=alpha, solver="lbfgs",
                        max_iter=5000, tol=1e-12, random_state=0)  # fmt: skip
    return _fit(net, X, y), X, y


def _regressor(rng):
    """Every unit in use (at alpha=0.5 two units die, and their biases are flat)."""
    X = rng.normal(size=(60, 3))
    y = np.tanh(2 * X[:, 0]) - X[:, 1] * X[:, 2] + 0.3 * rng.normal(size=60)
    net = MLPRegressor(hidden_layer_sizes=(4,), activation="tanh", alpha=0.05,
                       solver="lbfgs",
                       max_iter=5000, tol=1e-12, random_state=0)  # fmt: skip
    return _fit(net, X, y), X, y


def _with_dense_kfac(curv):
    """The curvature with its model Fisher replaced by the dense KFAC matrix."""
    K = kfac_matrix(kfac_factors(curv), curv.n_params)
    out = copy.copy(curv)  # (pickling, and so copying, drops the closures)
    out.model_fisher_fn, out.loss_fn = (lambda: K), curv.loss_fn
    return out


@pytest.mark.parametrize("kind", ["binary", "softmax", "regressor"])
def test_kfac_blocks_equal_the_dense_kfac_matrix(rng, kind):
    """The U-basis blocks against the general route on n·A⊗G formed densely."""
    if kind == "regressor":
        net, X, y = _regressor(rng)
    else:
        net, X, y = _classifier(rng, 2 if kind == "binary" else 3)
    curv = ts.curvature(net, X, y, stationarity_tol=np.inf)
    dense = _with_dense_kfac(curv)
    n_layers = len(curv.layers)
    for prior in (None, np.array([0.7, 3.0])[:n_layers]):
        for unpen in ("integrate", "profile"):
            a = ts.evidence(curv, "kfac", prior, unpenalized=unpen)
            b = ts.evidence(dense, "ggn", prior, unpenalized=unpen)
            assert np.isfinite(a.log_evidence)
            # rtol: two float64 evaluations of one determinant (blocks vs dense)
            assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-9)
            assert_allclose(a.gamma_groups, b.gamma_groups, rtol=1e-8)
            assert_allclose(a.newton_correction, b.newton_correction, rtol=1e-6,
                            atol=1e-12)  # fmt: skip
            assert a.hessian == "kfac"
    if kind == "regressor":  # the dispersion profiled: same scale search
        a = ts.evidence(curv, "kfac", dispersion="profile")
        b = ts.evidence(dense, "ggn", dispersion="profile")
        assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-9)


@pytest.mark.parametrize("hessian", ["ggn", "kfac"])
def test_a_curvature_without_h_gives_the_same_evidence(rng, hessian):
    net, X, y = _classifier(rng, 3)
    full = ts.curvature(net, X, y, stationarity_tol=np.inf)
    light = ts.curvature(net, X, y, hessian=False)
    assert light.hessian is None and light.grad_cov is None
    a, b = ts.evidence(full, hessian), ts.evidence(light, hessian)
    assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-12)
    assert_allclose(a.gamma, b.gamma, rtol=1e-12)
    # a Pipeline and a wrapper reach the same route
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(), net)
    c = ts.evidence(ts.curvature(pipe, X, y, hessian=False), hessian)
    assert_allclose(c.log_evidence, a.log_evidence, rtol=1e-12)


def test_what_needs_h_refuses_a_curvature_without_it(rng):
    net, X, y = _classifier(rng)
    light = ts.curvature(net, X, y, hessian=False)
    with pytest.raises(TypeError, match="hessian=False"):
        ts.criteria(light)
    with pytest.raises(ValueError, match="hessian='exact' needs the Hessian"):
        ts.evidence(light, "exact")
    with pytest.raises(ValueError, match="groups= needs"):
        ts.curvature(net, X, y, hessian=False, groups=np.arange(len(y)) // 2)
    # a GLM ignores hessian=False (its Hessian costs n·p²) and has no KFAC route
    glm = LogisticRegression(C=1.0).fit(X, y)
    curv = ts.curvature(glm, X, y, hessian=False)
    assert curv.hessian is not None
    with pytest.raises(ValueError, match="not a network"):
        ts.evidence(curv, "kfac")
    assert ts.evidence(curv).hessian == "exact"
    # KFAC needs one precision per layer's weights
    prior = np.where(light.penalty > 0, 1.0, 0.0)
    prior[0] = 2.0
    with pytest.raises(ValueError, match="one prior precision per layer"):
        ts.evidence(light, "kfac", prior)
    with pytest.raises(ValueError, match="symmetry must be"):
        ts.evidence(light, symmetry="yes")


# ------------------------------------------------------------------- symmetries
def _copies(net, activation):
    """Every unit permutation and sign flip of the hidden layer, as new networks.

    A flip of unit s negates its incoming weights and bias and its outgoing weights;
    for the logistic, σ(-u) = 1 - σ(u), so the output bias also gains the outgoing
    weight.  relu has no flip."""
    W1, b1 = net.coefs_[0], net.intercepts_[0]
    W2, b2 = net.coefs_[1], net.intercepts_[1]
    h = W1.shape[1]
    signs = [(1,) * h] if activation == "relu" else itertools.product((1, -1), repeat=h)
    signs = list(signs)
    out = []
    for perm in itertools.permutations(range(h)):
        for sg in signs:
            s = np.array(sg, dtype=float)
            c = copy.deepcopy(net)
            c.coefs_[0] = (W1 * s)[:, perm]
            c.intercepts_[0] = (b1 * s)[list(perm)]
            c.coefs_[1] = (W2 * s[:, None])[list(perm)]
            shift = W2[s < 0].sum(axis=0) if activation == "logistic" else 0.0
            c.intercepts_[1] = b2 + shift
            out.append(c)
    return out


@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu"])
def test_symmetry_term_counts_the_copies_of_the_mode(rng, activation):
    """Enumerate the copies: all distinct, each with the same penalised loss and the
    same Laplace evidence, so the sum over them is their number times one."""
    net, X, y = _classifier(rng, width=3, activation=activation, alpha=0.1)
    light = ts.curvature(net, X, y, hessian=False)
    base = ts.evidence(light, "ggn", unpenalized="integrate", symmetry=False)
    default = ts.evidence(light, symmetry=False)  # KFAC, biases profiled
    copies = _copies(net, activation)
    thetas = []
    for c in copies:
        curv = ts.curvature(c, X, y, hessian=False)
        ev = ts.evidence(curv, "ggn", unpenalized="integrate", symmetry=False)
        # P H_Λ Pᵀ has the determinant of H_Λ; the factorisation visits the units in
        # another order, so the rounding differs (the bias blocks are ill-conditioned)
        assert_allclose(ev.log_evidence, base.log_evidence, rtol=1e-7)
        # the default too, but for the logistic's flip: it moves the output bias by
        # the outgoing weight (a shear between penalised and unpenalised
        # coordinates, which changes the profiled block) and maps the next layer's
        # input a to 1 - a (an affine change that KFAC's E[ããᵀ] does not follow)
        other = ts.evidence(curv, symmetry=False).log_evidence
        if activation != "logistic":
            assert_allclose(other, default.log_evidence, rtol=1e-7)
        thetas.append(curv.params)
    T = np.array(thetas)
    dist = np.linalg.norm(T[:, None] - T[None], axis=2)
    np.fill_diagonal(dist, np.inf)
    assert dist.min() > 1e-3  # pairwise distinct modes
    expected = np.log(len(copies))
    assert len(copies) == (48 if activation != "relu" else 6)
    full = ts.evidence(light, "ggn", unpenalized="integrate", symmetry=True)
    assert_allclose(full.log_symmetry, expected, rtol=1e-14)
    assert_allclose(full.log_evidence - base.log_evidence, expected, rtol=1e-12)
    # log of the sum of the equal Laplace masses of the copies
    assert_allclose(np.logaddexp.reduce(np.full(len(copies), base.log_evidence)),
                    full.log_evidence, rtol=1e-12)  # fmt: skip


def test_symmetry_changes_rankings_only_between_widths(rng):
    X = rng.normal(size=(120, 4))
    y = (np.sin(2 * X[:, 0]) + X[:, 1] > 0).astype(int)
    scores = {}
    for width in (2, 6):
        for alpha in (0.1, 0.3, 1.0):
            net = MLPClassifier((width,), activation="tanh", alpha=alpha,
                                solver="lbfgs", max_iter=5000, tol=1e-10,
                                random_state=0)  # fmt: skip
            curv = ts.curvature(_fit(net, X, y), X, y, hessian=False)
            a, b = ts.evidence(curv, symmetry=True), ts.evidence(curv, symmetry=False)
            scores[width, alpha] = (a.log_evidence, b.log_evidence)
    for width in (2, 6):
        with_, without = zip(*[scores[width, a] for a in (0.1, 0.3, 1.0)],
                             strict=True)  # fmt: skip
        assert np.all(np.isfinite(with_))
        assert np.argsort(with_).tolist() == np.argsort(without).tolist()
        shift = np.array(with_) - np.array(without)
        assert_allclose(shift, symmetry_count([width], "tanh"), rtol=1e-12)
    # between widths the shift differs by log(6!·2⁶) - log(2!·2²)
    gap = symmetry_count([6], "tanh") - symmetry_count([2], "tanh")
    assert_allclose(gap, np.log(720 * 64 / 8), rtol=1e-14)
    # two hidden layers: one term per layer
    assert_allclose(symmetry_count([3, 2], "tanh"), np.log(48 * 8), rtol=1e-14)


# ------------------------------------------------------------------------- flags
def test_flags_of_a_network_evidence(rng):
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    # stopped after 3 iterations: the GGN Newton decrement is large
    early = MLPClassifier((5,), activation="tanh", alpha=0.1, solver="lbfgs",
                          max_iter=3, random_state=0)  # fmt: skip
    ev = ts.evidence(ts.curvature(_fit(early, X, y), X, y, hessian=False))
    assert "not_stationary" in ev.flags and np.isfinite(ev.log_evidence)
    # a prior so strong that the data determine less than one parameter (a fit at
    # such an alpha kills every unit: its hidden biases are flat, the evidence nan)
    net = MLPClassifier((5,), activation="tanh", alpha=1.0, solver="lbfgs",
                        max_iter=5000, tol=1e-12, random_state=0)  # fmt: skip
    curv = ts.curvature(_fit(net, X, y), X, y, hessian=False)
    for hessian in ("ggn", "kfac"):
        ev = ts.evidence(curv, hessian, prior_precision=1e6)
        assert ev.gamma < 1 and "negligible_gamma" in ev.flags
        assert np.isfinite(ev.log_evidence)
        assert "negligible_gamma" not in ts.evidence(curv, hessian).flags
    assert "gamma < 1" in ts._evidence.EVIDENCE_FLAGS["negligible_gamma"]


@pytest.mark.filterwarnings("ignore")
def test_criteria_carry_the_network_evidence_flags(rng):
    """``negligible_gamma`` reaches ``Criteria.flags`` (and so the tables of compare,
    criterion_path and select) exactly when the default evidence's γ < 1;
    ``indefinite`` stays the exact-Hessian evidence's own flag."""
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    seen = []
    for alpha, max_iter in [(100.0, 5000), (1e-4, 10), (1.0, 5000)]:
        net = MLPClassifier((5,), activation="tanh", alpha=alpha, solver="lbfgs",
                            max_iter=max_iter, tol=1e-12, random_state=0)  # fmt: skip
        curv = ts.curvature(_fit(net, X, y), X, y, stationarity_tol=np.inf)
        flags = ts.criteria(curv).flags
        gamma = ts.evidence(curv).gamma
        assert ("negligible_gamma" in flags) == (gamma < 1), alpha
        assert "indefinite" not in flags
        seen.append("negligible_gamma" in flags)
    assert seen == [True, False, False]  # γ = 0.18 at alpha = 100
    # GLMs are left alone
    glm = LogisticRegression(C=1e-6).fit(X, y)
    assert "negligible_gamma" not in ts.criteria(ts.curvature(glm, X, y)).flags
