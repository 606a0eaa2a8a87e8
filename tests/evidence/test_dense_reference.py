"""The general evidence route (one in-place factorisation, penalised block first)
against the formulas written plainly with dense numpy: a dense orthonormal gauge
complement, ``np.linalg.slogdet`` of the full and the penalised block,
``np.linalg.inv`` traces.  Also the pieces: ``GaugeComplement.block``/``compact``
and ``profile_factor``."""

import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.neural_network import MLPClassifier

import ticselect as ts
from ticselect._evidence_linalg import profile_factor
from ticselect.curvature._linalg import GaugeComplement, complement_basis
from ticselect.curvature._output import curvature_output_jacobians, model_fisher_matrix

_LOG_2PI = np.log(2 * np.pi)


def _net(seed, classes, hidden, activation, alpha, n=150, dead=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if classes == 2:
        y = (X[:, 0] - X[:, 1] + 0.7 * rng.normal(size=n) > 0).astype(int)
    else:
        y = np.digitize(X[:, 0] + 0.5 * rng.normal(size=n), [-0.4, 0.4])
    net = MLPClassifier(hidden, activation=activation, alpha=alpha, solver="lbfgs",
                        max_iter=3000, tol=1e-12, random_state=seed)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X, y)
        if dead:  # unit 0 of a relu layer off on every row: its bias is flat
            net.coefs_[0][:, 0] = 0.0
            net.intercepts_[0][0] = -1.0
            net.coefs_[1][0, :] = 0.0
        return ts.curvature(net, X, y, stationarity_tol=np.inf)


def _dense_reference(curv, hessian, lam, unpenalized):
    """The evidence's parts by the textbook formulas (module conventions).

    Also the condition number of the matrix whose log-determinant is taken.
    """
    if hessian == "exact":
        H = curv.hessian
    else:  # the model Fisher from the output Jacobians, not the network kernel
        H = model_fisher_matrix(curvature_output_jacobians(curv, "test"))
    theta = curv.params
    grad = curv.gradient - curv.penalty * theta + lam * theta
    Q = complement_basis(curv.gauge if curv.gauge.shape[1] else None, curv.n_params)
    A = Q.T @ (H + np.diag(lam)) @ Q
    g = Q.T @ grad
    w, V = np.linalg.eigh(Q.T @ np.diag(lam) @ Q)
    pos = w > 1e-12 * w.max()
    U = V[:, pos]  # the prior's range
    rank, logdet_p = int(pos.sum()), float(np.sum(np.log(w[pos])))
    values = np.unique(lam[lam > 0])  # one prior group per precision
    parts = [Q.T @ np.diag(np.where(lam == v, v, 0.0)) @ Q for v in values]
    if unpenalized == "integrate":
        M, const = A, 0.5 * (Q.shape[1] - rank) * _LOG_2PI
    else:
        M, const = U.T @ A @ U, 0.0
        parts = [U.T @ P @ U for P in parts]
    sign, logdet_h = np.linalg.slogdet(M)
    ev = np.linalg.eigvalsh(A)
    if sign <= 0 or np.linalg.cond(M) > 1e15:  # not positive definite
        return None, None, None, None, (np.inf, np.inf), 0.0
    inv = np.linalg.inv(M)
    if ev.min() > 1e-8 * ev.max():  # ½ gᵀH_Λ⁻¹g
        dec = 0.5 * g @ np.linalg.solve(A, g)
    elif ev.min() < 1e-14 * ev.max() and unpenalized == "profile":
        dec = 0.5 * (U.T @ g) @ inv @ (U.T @ g)  # flat directions maximised over
    else:  # between: which the pivot rule picks is not decided here
        dec = None
    # γ_g = rank Λ_g - tr(H_Λ⁻¹Λ_g), clipped at 0 (an indefinite H can push it below)
    gam = [np.linalg.matrix_rank(P) - np.trace(inv @ P) for P in parts]
    gam = np.maximum(np.array(gam), 0.0)
    value = -curv.nll - 0.5 * np.sum(lam * theta**2) + 0.5 * logdet_p
    value += -0.5 * logdet_h + const + (dec or 0.0)
    return value, logdet_h, dec, gam, (np.linalg.cond(M), ev.max() / ev.min()), sign


CASES = list(itertools.product(
    [2, 3],  # classes: logistic output, softmax output (gauge)
    [(4,), (3, 3)],  # one and two hidden layers
    ["tanh", "relu"],
))  # fmt: skip


def _priors(curv):
    """(prior_precision argument, its diagonal Λ) pairs."""
    own = np.asarray(curv.penalty, dtype=float)
    per_layer = np.zeros(curv.n_params)
    for layer, v in zip(curv.layers, (0.8, 2.5, 5.0), strict=False):
        per_layer[layer["weights"].ravel()] = v
    out_bias = np.full(curv.n_params, 0.6)  # every bias penalised but the output's:
    out_bias[curv.layers[-1]["bias"].ravel()] = 0.0  # well-determined, m = K
    everything = np.full(curv.n_params, 0.6)
    return [(None, own), (np.array([0.8, 2.5, 5.0])[: len(curv.layers)], per_layer),
            (out_bias, out_bias), (everything, everything)]  # fmt: skip


@pytest.mark.parametrize(("classes", "hidden", "activation"), CASES)
def test_general_route_equals_dense_formulas(classes, hidden, activation):
    """1e-10 relative, widened by ``1e-14·cond(H_Λ)`` absolute: a backward error
    ``ε‖H_Λ‖`` of either factorisation moves ``log|H_Λ|``, the traces and
    ``gᵀH_Λ⁻¹g`` by up to about ``k·ε·cond`` (k ≤ 45 here).  Flat, unpenalised
    biases (saturated or dead units) make ``cond`` large for the fits' own prior;
    the priors that penalise the hidden biases keep it small, so the tight bound
    is tested there."""
    curv = _net(3, classes, hidden, activation, alpha=0.5)
    checked = []
    for (prior, lam), hessian, unpen in itertools.product(
        _priors(curv), ["exact", "ggn"], ["integrate", "profile"]
    ):
        ev = ts.evidence(curv, hessian, prior, unpenalized=unpen)
        value, logdet_h, dec, gam, cond, sign = _dense_reference(
            curv, hessian, lam, unpen
        )
        where = str((classes, hidden, activation, hessian, unpen, cond))
        if not np.isfinite(ev.log_evidence):
            # the reference agrees: not positive definite, or numerically singular
            assert {"indefinite", "singular"} & set(ev.flags), where
            assert sign <= 0 or max(cond) > 1e8 or hessian == "exact", where
            continue
        tol = 1e-14 * cond[0]
        tol_dec = 1e-14 * abs(cond[1]) * max(1.0, abs(dec or 0.0))  # H_Λ's own cond
        assert_allclose(ev.log_det_hessian, logdet_h, rtol=1e-10, atol=tol,
                        err_msg=where)  # fmt: skip
        assert_allclose(ev.gamma_groups, gam, rtol=1e-10, atol=tol, err_msg=where)
        if dec is not None:
            assert_allclose(ev.newton_correction, dec, rtol=1e-10, atol=tol_dec,
                            err_msg=where)  # fmt: skip
            assert_allclose(ev.log_evidence, value, rtol=1e-10, atol=tol + tol_dec,
                            err_msg=where)  # fmt: skip
            checked.append(where)
    assert checked


def test_profile_with_flat_unpenalised_direction_matches_penalised_block():
    """A dead relu unit: its bias is flat, the whole GGN + Λ singular, the profile
    (penalised block only) still defined and equal to the dense formula."""
    curv = _net(3, 2, (4,), "relu", alpha=0.5, dead=True)
    lam = np.asarray(curv.penalty, dtype=float)
    F = model_fisher_matrix(curvature_output_jacobians(curv, "test"))
    flat = np.flatnonzero((np.abs(F).sum(axis=0) == 0) & (lam == 0))
    assert flat.size == 1  # the dead unit's bias
    full = ts.evidence(curv, "ggn", unpenalized="integrate")
    prof = ts.evidence(curv, "ggn", unpenalized="profile")
    assert "singular" in full.flags and np.isnan(full.log_evidence)
    P = np.flatnonzero(lam > 0)
    W = F[np.ix_(P, P)] + np.diag(lam[P])
    assert_allclose(prof.log_det_hessian, np.linalg.slogdet(W)[1], rtol=1e-10)
    g = (curv.gradient - curv.penalty * curv.params + lam * curv.params)[P]
    assert_allclose(prof.newton_correction, 0.5 * g @ np.linalg.solve(W, g),
                    rtol=1e-8, atol=1e-12)  # fmt: skip
    gam = len(P) - np.trace(np.linalg.inv(W) @ np.diag(lam[P]))
    assert_allclose(prof.gamma, gam, rtol=1e-10)


def _gauge(rng, g, K, d):
    G = np.zeros((d, g))
    for j in range(g):
        u = rng.normal(size=K)
        G[j * K : (j + 1) * K, j] = u / np.linalg.norm(u)
    return G


@pytest.mark.parametrize("gauge", ["none", "blocks", "dense"])
def test_block_and_compact_equal_restrict(rng, gauge):
    d = 14
    G = {"none": None, "blocks": _gauge(rng, 3, 3, d),
         "dense": np.linalg.qr(rng.normal(size=(d, 2)))[0]}[gauge]  # fmt: skip
    gc = GaugeComplement(G, d)
    X = rng.normal(size=(d + 1, d + 1))
    M = X @ X.T  # one extra row and column (a dispersion), never read
    R = gc.restrict(M[:d, :d].copy())
    k = gc.n_free
    rows = np.array([0, 2, 3, k - 1])
    cols = np.array([1, 2, k - 2])
    assert_allclose(gc.block(M, rows, cols), R[np.ix_(rows, cols)], rtol=1e-13,
                    atol=1e-13)  # fmt: skip
    for sub in (rows, np.arange(k)):
        work = M.copy()
        out = gc.compact(work, sub)
        assert_allclose(out, R[np.ix_(sub, sub)], rtol=1e-13, atol=1e-12)
        if gauge != "dense":  # written over the memory of work
            assert np.shares_memory(out, work)
    # eigenvalues do not depend on the complement's basis
    Qd = complement_basis(G, d)
    assert_allclose(np.linalg.eigvalsh(R), np.linalg.eigvalsh(Qd.T @ M[:d, :d] @ Qd),
                    rtol=1e-10)  # fmt: skip
    if gauge != "dense":
        with pytest.raises(ValueError, match="ascending"):
            gc.compact(M.copy(), rows[::-1])
        with pytest.raises(ValueError, match="C-contiguous"):
            gc.compact(np.asfortranarray(M), rows[:2])


def test_profile_factor_against_dense(rng):
    r, m = 9, 3
    X = rng.normal(size=(r + m, r + m + 4))
    A = X @ X.T
    g = rng.normal(size=r + m)
    W, B, D = A[:r, :r].copy(), A[r:, :r].copy(), A[r:, r:].copy()
    fac, full, dec = profile_factor(W, B, D, g, 1e-10)
    assert full == ""
    assert_allclose(fac[2], np.linalg.slogdet(A[:r, :r])[1], rtol=1e-12)
    assert_allclose(dec, 0.5 * g @ np.linalg.solve(A, g), rtol=1e-10)
    # an unpenalised direction equal to a penalised one: the whole A is singular
    # (or, by rounding, indefinite), W is fine and the decrement is W's
    X2 = X.copy()
    X2[-1] = X2[0]
    A2 = X2 @ X2.T
    W, B, D = A2[:r, :r].copy(), A2[r:, :r].copy(), A2[r:, r:].copy()
    fac, full, dec = profile_factor(W, B, D, g, 1e-10)
    assert full in ("singular", "indefinite") and not isinstance(fac, str)
    assert_allclose(dec, 0.5 * g[:r] @ np.linalg.solve(A[:r, :r], g[:r]), rtol=1e-10)
    A3 = A.copy()
    A3[-1, -1] = -1.0
    W, B, D = A3[:r, :r].copy(), A3[r:, :r].copy(), A3[r:, r:].copy()
    assert profile_factor(W, B, D, g, 1e-10)[1] == "indefinite"
    W = -np.eye(r)
    fac, full, dec = profile_factor(W, B.copy(), D.copy(), g, 1e-10)
    assert (fac, full, dec) == ("indefinite", "indefinite", None)
