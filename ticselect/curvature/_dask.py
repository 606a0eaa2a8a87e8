"""Layer 1 — GLM curvature on dask arrays: one blockwise map and a tree reduction.

Every GLM quantity is a sum over rows, so each row chunk ``(X_b, y_b, w_b)`` goes
through the in-memory kernel (:func:`~ticselect.curvature._glm.glm_curvature`) on its
own, and the ``p × p`` results are added pairwise in a tree:

``H = Σ_b H_b``, ``C = Σ_b C_b``, ``∇L = Σ_b ∇L_b + diag(penalty) θ̂``,
``L = Σ_b L_b``, ``Σ wᵢ|gᵢ| = Σ_b (Σ_{i∈b} wᵢ|gᵢ|)``.

A task holds one chunk of ``X`` (``chunk × p`` floats) plus ``O(p²)`` sums; nothing
of size ``n × p`` exists on any worker, and the client receives only ``p × p``
matrices.  Families with an estimated dispersion take a first pass for it (its
maximum-likelihood value is a function of one weighted mean of a per-row statistic).
The per-sample gradients stay a lazy dask array of shape ``(n_rows, n_params)``.

dask is an optional dependency: it is imported inside the functions that need it, and
dask inputs are recognised without importing it (:func:`is_dask_collection`).
Conventions: see :mod:`ticselect.curvature._result`.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from .._validation import check_dispersion, check_fitted, feature_names
from ._families import Gamma, _DevianceDispersionFamily, _solve_log_minus_digamma
from ._glm import _evaluators, _linear_predictor, glm_curvature
from ._result import Curvature
from .adapters.dask_ml import dask_ml_spec, is_dask_ml_glm
from .adapters.sklearn_glm import SKLEARN_GLMS, sklearn_glm_spec

__all__ = ["dask_curvature", "dask_spec_curvature", "is_dask_collection"]

_SUMS = ("hessian", "grad_cov", "data_grad", "abs_grad_sum", "nll", "n_samples")


def is_dask_collection(obj):
    """Whether ``obj`` is a dask array or DataFrame (checked without importing dask).

    Parameters
    ----------
    obj : object
        Anything.

    Returns
    -------
    bool
    """
    module = type(obj).__module__.split(".")[0]
    return module in ("dask", "dask_expr") and hasattr(obj, "__dask_graph__")


def _as_dask_design(X, est):
    """A 2-D float dask array with known row chunks and a single column chunk."""
    if hasattr(X, "to_dask_array"):  # a dask DataFrame
        X = X.to_dask_array(lengths=True)
    if getattr(X, "ndim", None) != 2:
        raise ValueError(
            f"X must be a 2-D dask array, got {type(X).__name__} with "
            f"ndim={getattr(X, 'ndim', None)}."
        )
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if X.dtype != np.float64:
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"X has dtype {X.dtype}; ticselect needs numeric features."
            )
        X = X.astype(np.float64)
    n_in = getattr(est, "n_features_in_", X.shape[1])
    if X.shape[1] != n_in:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(est).__name__} was fitted with "
            f"{n_in} features."
        )
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def _aligned(v, X, name):
    """``v`` as a 1-D dask array chunked like the rows of ``X`` (None stays None)."""
    import dask.array as da

    if v is None:
        return None
    if hasattr(v, "to_dask_array"):  # dask Series / one-column DataFrame
        v = v.to_dask_array(lengths=True)
    if not is_dask_collection(v):
        v = np.asarray(v)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {v.shape}.")
    if v.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but {name} has {v.shape[0]}.")
    if isinstance(v, np.ndarray):
        return da.from_array(v, chunks=(X.chunks[0],))
    return v.rechunk((X.chunks[0],))


def dask_curvature(model, X, y, sample_weight=None, *, dispersion=None):
    """:class:`Curvature` of a fitted GLM on dask data, without materialising ``X``.

    Parameters
    ----------
    model : fitted estimator
        A scikit-learn GLM (see :data:`ticselect.SUPPORTED`) or a dask-ml
        ``LogisticRegression``, ``LinearRegression`` or ``PoissonRegression``.
    X : dask array or dask DataFrame of shape (n_samples, n_features)
        Training design; column chunks are merged, row chunks are the unit of work.
    y : array-like or dask array of shape (n_samples,)
        Targets.
    sample_weight : array-like or dask array of shape (n_samples,), default=None
        Frequency weights.
    dispersion : None or float, default=None
        See :func:`ticselect.curvature`.

    Returns
    -------
    Curvature
        The same numbers as the in-memory path (up to summation order);
        ``per_sample_grads`` is a lazy dask array.

    Examples
    --------
    >>> import dask.array as da, numpy as np, ticselect as ts
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3))
    >>> y = (X[:, 0] + rng.normal(size=1000) > 0).astype(int)
    >>> model = LogisticRegression(tol=1e-10).fit(X, y)
    >>> curv = ts.curvature(model, da.from_array(X, chunks=250), y)
    >>> bool(np.allclose(curv.hessian, ts.curvature(model, X, y).hessian, rtol=1e-10))
    True
    >>> type(curv.per_sample_grads).__name__       # lazy until .compute()
    'Array'
    """
    check_fitted(model)
    if y is None:
        raise ValueError("y is required to compute the curvature: pass the targets.")
    Xd = _as_dask_design(X, model)
    yd = _aligned(y, Xd, "y")
    wd = _aligned(sample_weight, Xd, "sample_weight")
    if wd is None:
        import dask.array as da

        wd = da.ones(Xd.shape[0], chunks=(Xd.chunks[0],))
    names = feature_names(model, Xd.shape[1])
    if is_dask_ml_glm(model):
        spec = dask_ml_spec(model, Xd, yd, wd, names)
    elif isinstance(model, SKLEARN_GLMS):
        spec = _sklearn_spec(model, Xd, yd, wd, names)
    else:
        raise TypeError(
            f"dask inputs are supported for GLMs (scikit-learn's linear models and "
            f"dask-ml's LogisticRegression, LinearRegression, PoissonRegression), "
            f"not {type(model).__name__}: pass X.compute() for an in-memory "
            "computation."
        )
    return dask_spec_curvature(spec, dispersion=dispersion)


def _class_counts(yb, wb, classes):
    """Weighted class counts of a chunk, and its number of unknown labels."""
    codes = np.searchsorted(classes, yb).clip(0, len(classes) - 1)
    known = classes[codes] == yb
    counts = np.bincount(codes[known], weights=wb[known], minlength=len(classes))
    return counts, np.count_nonzero(~known)


def _codes(yb, classes):
    return np.searchsorted(classes, yb).astype(float)


def _scaled_weights(wb, yb, classes, cw):
    return wb * cw[np.searchsorted(classes, yb)]


def _sklearn_spec(est, X, y, w, names):
    """:func:`sklearn_glm_spec` on a summary of ``y``, with the lazy data swapped in.

    The adapter needs the data only through ``Σw`` (the GLM penalties) and, for a
    classifier, the weighted class counts (``class_weight``): it is called on one
    row per class (or one row) carrying those totals.
    """
    import dask
    import dask.array as da

    if isinstance(est, LogisticRegression):
        classes = np.asarray(est.classes_)
        parts = [
            dask.delayed(_class_counts)(yb, wb, classes)
            for yb, wb in zip(y.to_delayed(), w.to_delayed(), strict=True)
        ]
        results = dask.compute(*parts)
        counts = np.sum([r[0] for r in results], axis=0)
        unknown = sum(int(r[1]) for r in results)
        if unknown:
            raise ValueError(
                f"y contains {unknown} labels that the fitted {type(est).__name__} "
                f"has not seen (classes_={classes.tolist()})."
            )
        if est.class_weight is not None and np.any(counts <= 0):
            raise ValueError(
                f"class_weight={est.class_weight!r} needs every class of "
                f"classes_={classes.tolist()} in y with a positive weight."
            )
        stub = sklearn_glm_spec(est, None, classes, counts, names)
        cw = np.divide(
            stub.sample_weight, counts, out=np.ones(len(classes)), where=counts > 0
        )
        w_lazy = da.map_blocks(_scaled_weights, w, y, classes, cw, dtype=float)
        y_lazy = da.map_blocks(_codes, y, classes, dtype=float)
        return replace(stub, X=X, y=y_lazy, sample_weight=w_lazy)
    total = float(w.sum().compute())
    stub = sklearn_glm_spec(est, None, np.ones(1), np.array([total]), names)
    return replace(stub, X=X, y=y.astype(float), sample_weight=w)


# ---------------------------------------------------------------------- chunk kernels
def _chunk_spec(small, Xb, yb, wb, ob):
    if not sp.issparse(Xb):
        Xb = np.asarray(Xb, dtype=float)
        finite = np.all(np.isfinite(Xb))
    else:
        finite = np.all(np.isfinite(Xb.data))
    if not finite:
        raise ValueError("X contains NaN or infinite values; remove or impute them.")
    wb = np.asarray(wb, dtype=float)
    if not np.all(np.isfinite(wb)) or np.any(wb < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    yb = np.asarray(yb)
    small.family.check_y(yb)
    ob = None if ob is None else np.asarray(ob, dtype=float)
    return replace(small, X=Xb, y=yb, sample_weight=wb, offset=ob)


def _dispersion_statistic(fam, y, eta):
    """Per-row ``t`` with ``φ̂ = f(Σ wt / Σ w)``: the unit deviance, or Gamma's."""
    mu = fam.mean(eta)
    fam.check_mu(mu)
    if isinstance(fam, _DevianceDispersionFamily):
        return fam._unit_deviance(y, mu)[0]
    if isinstance(fam, Gamma):
        return y / mu - np.log(y / mu) - 1.0
    raise TypeError(  # pragma: no cover - every family with a dispersion is above
        f"no blockwise maximum-likelihood dispersion for the {fam.name} family."
    )


def _dispersion_from_mean(fam, s):
    if isinstance(fam, Gamma):
        return 0.0 if s <= 0 else 1.0 / _solve_log_minus_digamma(s)
    return float(s)


def _dispersion_part(small, Xb, yb, wb, ob):
    spec = _chunk_spec(small, Xb, yb, wb, ob)
    t = _dispersion_statistic(spec.family, spec.y, _linear_predictor(spec)[:, 0])
    return {"wt": float(np.sum(spec.sample_weight * t)), "w": float(np.sum(wb))}


def _chunk_sums(small, Xb, yb, wb, ob, phi, phi_is_param):
    spec = _chunk_spec(small, Xb, yb, wb, ob)
    curv = glm_curvature(spec, dispersion=phi, _dispersion_is_param=phi_is_param)
    meta = {
        k: getattr(curv, k)
        for k in ("params", "param_names", "penalty", "gauge", "dispersion",
                  "dispersion_is_param", "family", "link", "model_name")
    }  # fmt: skip
    return {
        "hessian": curv.hessian,
        "grad_cov": curv.grad_cov,
        "data_grad": curv.gradient - curv.penalty * curv.params,
        "abs_grad_sum": curv.abs_grad_sum,
        "nll": curv.nll,
        "n_samples": float(np.sum(spec.sample_weight)),
        "meta": meta,
    }


def _combine(a, b):
    out = {k: a[k] + b[k] for k in a if k != "meta"}
    if "meta" in a:
        out["meta"] = a["meta"]
    return out


def _tree_sum(parts):
    """Pairwise reduction of delayed dicts (depth ``log₂`` of the chunk count)."""
    import dask

    parts = list(parts)
    while len(parts) > 1:
        paired = [
            dask.delayed(_combine)(parts[i], parts[i + 1])
            for i in range(0, len(parts) - 1, 2)
        ]
        if len(parts) % 2:
            paired.append(parts[-1])
        parts = paired
    return parts[0]


def _chunk_loss(small, Xb, yb, wb, ob, theta, phi, phi_is_param, pt):
    spec = _chunk_spec(small, Xb, yb, wb, ob)
    loss, _ = _evaluators(spec, pt, phi, phi_is_param, None)
    return loss(theta)


def _chunk_hessian(small, Xb, yb, wb, ob, theta, phi, phi_is_param, pt):
    spec = _chunk_spec(small, Xb, yb, wb, ob)
    _, hessian = _evaluators(spec, pt, phi, phi_is_param, None)
    return hessian(theta)


def _chunk_grads(Xb, yb, wb, *ob, small, phi, phi_is_param):
    spec = _chunk_spec(small, Xb, yb[:, 0], wb[:, 0], ob[0][:, 0] if ob else None)
    curv = glm_curvature(spec, dispersion=phi, _dispersion_is_param=phi_is_param)
    return curv.per_sample_grads


def _dask_dispersion(spec, small_d, blocks, dispersion):
    """``(φ, φ is a parameter)`` of a dask GLM.

    The ML dispersion from one pass over the chunks, the given one, or
    ``(None, False)`` for families without dispersion.
    """
    import dask

    fam = spec.family
    phi, phi_is_param = None, False
    if fam.has_dispersion and dispersion is None:
        tot = _tree_sum(dask.delayed(_dispersion_part)(small_d, *b) for b in blocks)
        tot = dask.compute(tot)[0]
        if not tot["w"] > 0:
            raise ValueError("sample_weight sums to zero; at least one must be > 0.")
        phi, phi_is_param = _dispersion_from_mean(fam, tot["wt"] / tot["w"]), True
        if not phi > 0:
            raise ValueError(
                f"The maximum-likelihood dispersion of {spec.model_name} is 0: the "
                "model reproduces y exactly, so the likelihood is unbounded. Fix the "
                "dispersion with dispersion=<float>."
            )
    elif fam.has_dispersion:
        phi = check_dispersion(dispersion)
    return phi, phi_is_param


def dask_spec_curvature(spec, *, dispersion=None):
    """:class:`Curvature` of a :class:`GLMSpec` whose data are dask arrays.

    Parameters
    ----------
    spec : GLMSpec
        ``X`` a 2-D dask array with one column chunk; ``y``, ``sample_weight`` and
        ``offset`` (or ``None``) 1-D dask arrays chunked like the rows of ``X``.
    dispersion : None or float, default=None
        See :func:`ticselect.curvature`.

    Returns
    -------
    Curvature
    """
    import dask
    import dask.array as da

    if spec.drop_classes:
        raise ValueError("models with a reference class are not supported on dask.")
    X = spec.X
    cols = [X.to_delayed()[:, 0], spec.y.to_delayed(), spec.sample_weight.to_delayed()]
    if spec.offset is not None:
        cols.append(spec.offset.to_delayed())
    else:
        cols.append([None] * len(cols[0]))
    small = replace(spec, X=None, y=None, sample_weight=None, offset=None)
    small_d = dask.delayed(small, pure=True)
    blocks = list(zip(*cols, strict=True))

    phi, phi_is_param = _dask_dispersion(spec, small_d, blocks, dispersion)

    total = _tree_sum(
        dask.delayed(_chunk_sums)(small_d, *b, phi, phi_is_param) for b in blocks
    )
    total = dask.compute(total)[0]
    if not total["n_samples"] > 0:
        raise ValueError("sample_weight sums to zero; at least one weight must be > 0.")
    meta = total["meta"]
    params, penalty = meta["params"], meta["penalty"]
    d = params.shape[0]
    pt = spec.coef.shape[1] + int(spec.intercept is not None)

    def loss_fn(theta):
        parts = [
            dask.delayed(_chunk_loss)(small_d, *b, theta, phi, phi_is_param, pt)
            for b in blocks
        ]
        return float(sum(dask.compute(*parts)))

    def hessian_fn(theta):
        parts = [
            dask.delayed(_chunk_hessian)(small_d, *b, theta, phi, phi_is_param, pt)
            for b in blocks
        ]
        return _tree_reduce_arrays(dask.compute(*parts))

    arrays = [X, spec.y[:, None], spec.sample_weight[:, None]]
    if spec.offset is not None:
        arrays.append(spec.offset[:, None])
    grads = da.map_blocks(
        functools.partial(
            _chunk_grads, small=small, phi=phi, phi_is_param=phi_is_param
        ),
        *arrays,
        chunks=(X.chunks[0], (d,)),
        dtype=float,
        meta=np.empty((0, 0)),
    )
    curv = Curvature(
        loss_fn=loss_fn,
        hessian_fn=hessian_fn,
        params=params,
        param_names=meta["param_names"],
        hessian=total["hessian"],
        grad_cov=total["grad_cov"],
        penalty=penalty,
        nll=total["nll"],
        n_samples=total["n_samples"],
        n_rows=X.shape[0],
        gradient=total["data_grad"] + penalty * params,
        abs_grad_sum=total["abs_grad_sum"],
        per_sample_grads=grads,
        gauge=meta["gauge"] if meta["gauge"].shape[1] else None,
        dispersion=meta["dispersion"],
        dispersion_is_param=meta["dispersion_is_param"],
        family=meta["family"],
        link=meta["link"],
        model_name=meta["model_name"],
    )
    curv.rows_unavailable = (
        "this Curvature was built chunk by chunk from a dask array, and approximate "
        "leave-one-out takes one Newton step per row from the rows in memory. "
        "Compute X and y first (X.compute(), y.compute()) and build the curvature "
        "from those arrays, or rank by TIC, which the dask curvature gives"
    )
    return curv


def _tree_reduce_arrays(arrays):
    return functools.reduce(np.add, arrays)
