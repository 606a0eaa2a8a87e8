"""The design's finiteness check, moved into the linear predictor (issue 24 item 14).

For the scikit-learn GLMs ``curvature`` no longer sums ``X`` to check it: every
column enters ``η = Xβ + β₀``, and ``NaN·β``, ``±inf·0`` and ``±inf·β`` are not
finite for any finite ``β``, so ``glm_curvature`` checks ``η`` (block by block on
the fused route, whole on the others) and raises scikit-learn's own message from
``check_array``.  These tests put the bad entry where a cheaper check could miss it:
a column whose coefficient is 0, a later block of the fused pass, ``+inf`` and
``-inf`` in one row (``η`` NaN), each route (fused binary and Poisson, Gaussian
with its ML dispersion, multinomial, SGD); and check that the message is the one
the full check gives.  The binary label check's two-comparison path is checked
against ``isin`` on unseen labels of several dtypes.
"""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import (
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    SGDClassifier,
)

import ticselect as ts
from ticselect._validation import validate_X
from ticselect.curvature._glm_blocks import BLOCK_FLOATS


def _data(kind, rng, n=300, p=4):
    X = rng.normal(size=(n, p))
    X[:, -1] = 0.0  # a column whose fitted coefficient is exactly 0 (L2 fits)
    eta = X[:, 0] - 0.5 * X[:, 1]
    if kind == "poisson":
        return X, rng.poisson(np.exp(0.3 * eta)).astype(float)
    if kind == "gaussian":
        return X, eta + rng.normal(size=n)
    if kind == "multinomial":
        return X, np.digitize(eta, [-0.5, 0.5])
    return X, (eta + rng.logistic(size=n) > 0).astype(int)


MODELS = {
    "logistic (fused)": ("binary", lambda: LogisticRegression()),
    "poisson (fused)": ("poisson", lambda: PoissonRegressor(alpha=0.1)),
    "ridge (η first, ML dispersion)": ("gaussian", lambda: Ridge(alpha=1.0)),
    "multinomial (whole η)": ("multinomial", lambda: LogisticRegression()),
    "sgd log loss": (
        "binary",
        lambda: SGDClassifier(
            loss="log_loss", alpha=0.01, tol=None, max_iter=200, random_state=0
        ),  # fmt: skip
    ),
}

BAD = {  # name -> (row, entries {column: value}); column -1 has coefficient 0
    "nan": (3, {1: np.nan}),
    "+inf": (7, {0: np.inf}),
    "-inf": (7, {0: -np.inf}),
    "nan in a zero-coefficient column": (11, {-1: np.nan}),
    "inf in a zero-coefficient column": (11, {-1: np.inf}),
    "+inf and -inf in one row": (5, {0: np.inf, 1: -np.inf}),
    "nan in the last row": (-1, {2: np.nan}),
}


def _full_check_message(est, X):
    with pytest.raises(ValueError) as info:
        validate_X(X, est)  # the full check, as before the change
    return str(info.value)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("bad", BAD)
def test_non_finite_design_raises_the_full_checks_message(model, bad, rng):
    kind, make = MODELS[model]
    X, y = _data(kind, rng)
    est = make().fit(X, y)
    assert est.coef_.reshape(-1, X.shape[1])[:, -1].max() == 0.0
    row, entries = BAD[bad]
    Xbad = X.copy()
    for col, value in entries.items():
        Xbad[row, col] = value
    expected = _full_check_message(est, Xbad)
    assert "X" in expected and ("NaN" in expected or "infinity" in expected)
    with pytest.raises(ValueError) as info:
        ts.curvature(est, Xbad, y)
    assert str(info.value) == expected


def test_non_finite_design_in_a_later_block_of_the_fused_pass(rng):
    # more rows than one group of blocks: the bad row is met late in the pass
    p = 4
    n = 3 * BLOCK_FLOATS // p * 4 + 17
    X, y = _data("binary", rng, n=n, p=p)
    est = LogisticRegression().fit(X, y)
    Xbad = X.copy()
    Xbad[n - 5, -1] = np.nan  # coefficient 0: only η's NaN·0 shows it
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ts.curvature(est, Xbad, y)


def test_finite_design_is_unchanged_by_the_skipped_sum(rng):
    # the same curvature as from a design that went through the full check
    X, y = _data("binary", rng)
    est = LogisticRegression().fit(X, y)
    a = ts.curvature(est, X, y)
    b = ts.curvature(est, validate_X(X, est), y)
    np.testing.assert_array_equal(a.hessian, b.hessian)
    np.testing.assert_array_equal(a.grad_cov, b.grad_cov)


@pytest.mark.parametrize(
    "labels, unseen",
    [
        ((0, 1), 2),
        ((0.0, 1.0), 0.5),
        ((-1, 1), 0),
        ((3, 7), 5),
        (("no", "yes"), "maybe"),
        ((False, True), None),  # booleans: no unseen value possible
    ],
)
def test_binary_labels_unseen_raise_and_seen_code_as_isin(labels, unseen, rng):
    X = rng.normal(size=(80, 2))
    codes = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    y = np.asarray(labels)[codes]
    est = LogisticRegression().fit(X, y)
    spec = ts.curvature(est, X, y).rows.spec
    np.testing.assert_array_equal(spec.y, codes.astype(float))
    if unseen is None:
        return
    ybad = y.astype(object if isinstance(unseen, str) else float)
    ybad[4] = unseen
    ybad = ybad.astype(y.dtype) if isinstance(unseen, str) else ybad
    with pytest.raises(ValueError, match="has not seen"):
        ts.curvature(est, X, ybad)


def test_huge_finite_design_is_one_error_without_warnings(rng):
    # Finite values whose squares overflow (|x| ~ 1e308) pass the finiteness check;
    # the row pass then emitted 13 RuntimeWarnings (overflow in square, multiply)
    # before an error about "a fitted probability of 0 or 1" for a Ridge fit.  Now:
    # one ValueError naming the design and the fix, and no RuntimeWarning.
    X, y = _data("gaussian", rng)
    est = Ridge(alpha=1.0).fit(X, y)
    Xbad = X.copy()
    Xbad[3, :2] = [1e308, -1e308]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match=r"values up to 1e\+308, whose squares"):
            ts.curvature(est, Xbad, y)
