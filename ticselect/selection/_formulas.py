"""Compare model formulas on one data frame: :func:`compare_formulas`.

The statistician's workflow (R's ``AIC(glm(y ~ a), glm(y ~ a + b))``): formulas in,
one ranked table out.  Each formula is fitted by statsmodels' formula interface
(``GLM.from_formula``, the engine of ``smf.glm``), so the design matrices, the
reference levels of ``C(...)`` and the column names are exactly those a statsmodels
user gets, and the fitted results are ordinary statsmodels results.  (formulaic
would add a dependency and a second set of coding defaults for no gain here:
statsmodels already depends on patsy, and can use formulaic itself when
``SM_FORMULA_ENGINE=formulaic`` is set.)

Common rows
-----------
Criteria are only comparable on the same rows.  A row is kept when every
candidate's variables, the weights, the offset and the groups are present; rows
missing anything in *any* candidate are dropped once, for all, and counted
(:attr:`FormulaComparison.n_dropped`, with the count per column in
:attr:`FormulaComparison.missing`).

Likelihood-ratio tests
----------------------
Candidate ``A`` is nested in ``B`` when the columns of ``A``'s design matrix lie in
the column space of ``B``'s (to a relative residual of ``1e-8``): ``y ~ a`` in
``y ~ a + b``, ``y ~ a + b`` in ``y ~ a * b``, a numeric ``x`` in ``C(x)``.  Each
candidate is tested against the largest candidate nested in it (its *next smaller
one*): ``LR = 2 (loglik_B - loglik_A)`` on ``df = rank(X_B) - rank(X_A)`` degrees of
freedom, ``p = P(χ²_df > LR)`` (Wilks 1938) — the statistic, ``df`` and p-value of
statsmodels' ``compare_lr_test`` for linear models.

The likelihood-ratio test assumes the model's own variance (``C = H``).  Where a
candidate is flagged ``"misspecified"`` (:data:`ticselect.criteria.MISSPECIFIED_RATIO`:
``tr(H⁻¹C)`` well above its effective dimension, e.g. over-dispersed counts) its
p-values are off, while TIC and the sandwich covariance hold.  Each tested pair
therefore also gets the **robust Wald test** of the same restriction (``wald``,
``wald_p``, on the same ``df``): with ``X_A = X_B T`` (``A`` nested in ``B``) the
restriction is ``Nᵀβ_B = 0`` for ``N`` spanning the null space of ``Tᵀ``, and
``W = (Nᵀβ̂)ᵀ (Nᵀ V N)⁻¹ (Nᵀβ̂)`` with ``V = H⁻¹CH⁻¹`` the sandwich (HC0; cluster-robust
with ``groups``, whose ``C`` sums the scores within clusters) of ``B``'s coefficients,
``p = P(χ²_df > W)`` (White 1982; statsmodels' ``wald_test`` with ``cov_type="HC0"``).
The text table shows them beside the LR test when some row is flagged.
"""

from __future__ import annotations

import difflib
import re
import warnings

import numpy as np
import pandas as pd
from scipy import linalg, stats
from statsmodels.genmod import families as sm_families
from statsmodels.genmod.generalized_linear_model import GLM

from ..criteria import criteria
from ..curvature import SingularHessianWarning, curvature
from ._compare import SORT_BY, Comparison, _loo_of

__all__ = ["FormulaComparison", "compare_formulas"]

_FAMILIES = {
    "gaussian": sm_families.Gaussian,
    "binomial": sm_families.Binomial,
    "poisson": sm_families.Poisson,
    "gamma": sm_families.Gamma,
    "inverse_gaussian": sm_families.InverseGaussian,
}
_LINKS = {
    "identity": sm_families.links.Identity,
    "log": sm_families.links.Log,
    "logit": sm_families.links.Logit,
    "probit": sm_families.links.Probit,
    "cloglog": sm_families.links.CLogLog,
    "inverse": sm_families.links.InversePower,
    "inverse_squared": sm_families.links.InverseSquared,
    "sqrt": sm_families.links.Sqrt,
}
#: Support of the response: (test, description) per family.
_SUPPORT = {
    "binomial": (lambda y: np.all((y >= 0) & (y <= 1)), "0 <= y <= 1"),
    "poisson": (lambda y: np.all(y >= 0), "y >= 0"),
    "gamma": (lambda y: np.all(y > 0), "y > 0"),
    "inverse_gaussian": (lambda y: np.all(y > 0), "y > 0"),
    "negativebinomial": (lambda y: np.all(y >= 0), "y >= 0"),
    "tweedie": (lambda y: np.all(y >= 0), "y >= 0"),
}
#: Class names of statsmodels family instances that differ from the family names.
_INSTANCE_NAMES = {"inversegaussian": "inverse_gaussian"}
_NESTED_RTOL = 1e-8
_SUMMARY = (
    "k", "loglik", "aic", "bic", "alo", "d_alo", "d_alo_se", "p_worse_alo", "tic",
    "d_tic", "d_tic_se", "lr", "lr_df", "lr_p", "flags",
)  # fmt: skip
#: Added after ``lr_p`` to the first screen when some row is flagged misspecified.
_ROBUST = ("wald", "wald_p")


def _sm_family(family, link):
    if isinstance(family, sm_families.Family):
        if link is not None:
            raise ValueError("Pass link= only with a family name, not an instance.")
        name = type(family).__name__.lower()
        return family, _INSTANCE_NAMES.get(name, name)
    if family not in _FAMILIES:
        raise ValueError(
            f"family must be one of {sorted(_FAMILIES)} or a statsmodels family, got "
            f"{family!r}."
        )
    if link is None:
        return _FAMILIES[family](), family
    if link not in _LINKS:
        raise ValueError(f"link must be one of {sorted(_LINKS)}, got {link!r}.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # statsmodels warns for a non-standard link
        try:
            return _FAMILIES[family](_LINKS[link]()), family
        except (Warning, ValueError) as exc:
            raise ValueError(
                f"the {link} link is not available for the {family} family."
            ) from exc


def _column(data, value, what):
    """A weights/offset/groups argument as a Series aligned with ``data``."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise ValueError(f"{what}={value!r} is not a column of data.")
        return data[value].reset_index(drop=True)
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != len(data):
        raise ValueError(
            f"{what} must be a column name or a 1-d array of length {len(data)} "
            f"(the rows of data), got shape {arr.shape}."
        )
    return pd.Series(arr)


def _plain_dtypes(frame, used):
    """Nullable pandas columns as NumPy ones with ``NaN`` for ``pd.NA``.

    ``Int64``, ``Float64``, ``boolean`` and ``string`` columns (``convert_dtypes``,
    ``dtype_backend=...``) hold ``pd.NA``, which patsy cannot test for missing.
    """
    out = frame
    for c in dict.fromkeys(used):
        col = frame[c]
        if not isinstance(col.dtype, pd.api.extensions.ExtensionDtype) or isinstance(
            col.dtype, pd.CategoricalDtype
        ):
            continue
        if out is frame:
            out = frame.copy()
        if pd.api.types.is_bool_dtype(col):
            out[c] = col.astype(object).where(col.notna(), np.nan)
        elif pd.api.types.is_numeric_dtype(col):
            out[c] = col.to_numpy(dtype=float, na_value=np.nan)
        else:
            out[c] = col.astype(object).where(col.notna(), np.nan)
    return out


def _check_infinite(frame, used):
    """A ValueError naming the first used numeric column with infinite values."""
    for c in dict.fromkeys(used):
        col = frame[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            n_inf = int(np.isinf(col.to_numpy(dtype=float, na_value=np.nan)).sum())
            if n_inf:
                raise ValueError(
                    f"column {c!r} has {n_inf} infinite values; remove or replace "
                    "those rows (missing values, NaN, are dropped for you)."
                )


def _check_weights(extras, keep):
    """Infinite weights or offsets, negative or all-zero weights: a ValueError."""
    for what in ("weights", "offset"):
        if extras[what] is None:
            continue
        try:
            v = np.asarray(extras[what][keep], dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what} must be numeric.") from exc
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{what} has infinite values; give finite values.")
        if what == "weights" and (np.any(v < 0) or not np.any(v > 0)):
            raise ValueError(
                f"weights must be non-negative and not all zero (min {v.min():g}); "
                "they are frequency weights (a weight m counts a row m times)."
            )


def _formula_error(formula, exc, columns):
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    hint = ""
    name = re.search(r"name '([^']+)' is not defined", first)
    if name:
        cols = [str(c) for c in columns]
        close = [c for c in cols if c.lower() == name.group(1).lower()]
        close = close or difflib.get_close_matches(name.group(1), cols, 1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        first = f"{name.group(1)!r} is not a column of data{hint}"
    return ValueError(f"formula {formula!r}: {first}.")


def _build(formula, frame, family, **kw):
    try:
        return GLM.from_formula(formula, frame, family=family, **kw)
    except Exception as exc:  # patsy/formulaic errors derive from Exception only
        raise _formula_error(formula, exc, list(frame.columns)) from exc


def _referenced_columns(formulas, columns):
    """Columns of data named in the formulas (identifiers and ``Q("...")``)."""
    names = set()
    for f in formulas:
        names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", f))
        names.update(re.findall(r"Q\(\s*[\"'](.+?)[\"']\s*\)", f))
    return [c for c in columns if c in names]


def _orth(X):
    """Orthonormal basis of the column space of ``X`` (SVD, relative cutoff)."""
    U, s, _ = linalg.svd(X, full_matrices=False, check_finite=False)
    keep = s > max(X.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0)
    return U[:, keep]


def _lr_tests(exogs, logliks):
    """For each model, ``(index of next smaller nested model, LR, df, p)`` or None."""
    bases = [_orth(X) for X in exogs]
    ranks = [b.shape[1] for b in bases]
    out = []
    for i in range(len(exogs)):
        best = None
        for j, Xj in enumerate(exogs):
            if ranks[j] >= ranks[i]:
                continue
            resid = Xj - bases[i] @ (bases[i].T @ Xj)
            if linalg.norm(resid) <= _NESTED_RTOL * max(linalg.norm(Xj), 1.0):
                if best is None or ranks[j] > ranks[best]:
                    best = j
        if best is None:
            out.append(None)
            continue
        lr = 2.0 * (logliks[i] - logliks[best])
        df = ranks[i] - ranks[best]
        out.append((best, lr, df, float(stats.chi2.sf(lr, df))))
    return out


def robust_wald(X_big, X_small, params, curv):
    """Robust (sandwich) Wald test that ``X_small``'s model restricts ``X_big``'s.

    Parameters
    ----------
    X_big, X_small : ndarray of shape (n, p_big) and (n, p_small)
        Designs, ``X_small``'s columns in the column space of ``X_big``'s.
    params : ndarray of shape (p_big,)
        Coefficients of the larger model.
    curv : Curvature
        Its curvature (``H``, ``C``; coefficients first, then any dispersion).

    Returns
    -------
    statistic : float
    df : int
    p_value : float
    """
    T = linalg.lstsq(X_big, X_small, check_finite=False)[0]  # X_small = X_big T
    N = linalg.null_space(T.T)  # restriction Nᵀβ = 0
    p = X_big.shape[1]
    Hinv = linalg.pinvh(curv.hessian, check_finite=False)
    V = (Hinv @ curv.grad_cov @ Hinv)[:p, :p]
    r = N.T @ np.asarray(params, dtype=float)
    RVR = N.T @ V @ N
    df = int(np.linalg.matrix_rank(RVR))
    if df == 0:
        return np.nan, 0, np.nan
    stat = float(r @ linalg.pinvh(RVR, check_finite=False) @ r)
    return stat, df, float(stats.chi2.sf(stat, df))


def compare_formulas(
    data, formulas, *, family="gaussian", link=None, weights=None, offset=None,
    groups=None, names=None, sort_by="recommended",
):  # fmt: skip
    """Fit model formulas on the same rows and compare them in one table.

    Parameters
    ----------
    data : pandas.DataFrame or dict of array-like
        The data; formulas name its columns.  Text, boolean and categorical columns
        are categorical predictors (dummy coded against their first level, as in
        statsmodels); ``C(x)`` makes a numeric column categorical.
    formulas : list of str or dict of str to str
        Formulas ``"y ~ a + C(region)"`` (patsy syntax, as ``smf.glm``), all with the
        same response.  A dict maps names to formulas (default names: the formulas).
    family : {"gaussian", "binomial", "poisson", "gamma", "inverse_gaussian"} or \
statsmodels family, default="gaussian"
        Likelihood of every candidate.
    link : str or None, default=None
        Link name (``"log"``, ``"logit"``, ``"probit"``, ``"cloglog"``,
        ``"identity"``, ``"inverse"``, ``"sqrt"``, ``"inverse_squared"``); ``None``
        is the family's canonical link.
    weights : str or array-like of shape (n_rows,), default=None
        Frequency weights (statsmodels' ``freq_weights``): a column name or values.
    offset : str or array-like of shape (n_rows,), default=None
        Offset added to the linear predictor (e.g. ``log(exposure)``).
    groups : str or array-like of shape (n_rows,), default=None
        Cluster labels.  TIC's ``C`` then sums the scores within each cluster,
        ``C = Σ_g s_g s_gᵀ`` with ``s_g = Σ_{i ∈ g} wᵢ gᵢ`` (the meat of the
        cluster-robust sandwich), so its penalty estimates the optimism for new
        clusters when rows of one cluster are dependent, and ``d_tic_se`` sums
        the paired differences within clusters.  AIC and BIC ignore it.
    names : list of str or None, default=None
        Row names (overrides the dict keys or formulas).
    sort_by : {"recommended", "alo", "tic", "aic", "aicc", "bic", "aic_edf", \
"bic_edf"}, default="recommended"
        Criterion that ranks the rows (``"recommended"``: the one the
        recommendation rests on, as in :func:`~ticselect.compare`).

    Returns
    -------
    FormulaComparison
        A :class:`~ticselect.Comparison` with, per row, ``n_samples``, ``k``,
        ``loglik``, AIC, AICc, BIC, TIC, their differences to the best and weights,
        ``d_tic_se`` (standard error of ``d_tic`` from the paired pointwise TIC
        differences, see :func:`ticselect.compare`; with ``groups`` summed within
        clusters), approximate leave-one-out (``alo``, exact for the Gaussian
        family), the reliability ``flags``, the likelihood-ratio test against
        the next smaller nested candidate (``lr``, ``lr_df``, ``lr_p``,
        ``lr_vs``) and the robust Wald test of the same restriction (``wald``,
        ``wald_p``), the recommended formula (``recommended``, ``pick_note``);
        plus the fitted statsmodels results (``estimators``) and the rows
        dropped for missing values.  Conventions: criteria on the deviance scale of
        :mod:`ticselect.criteria`; a dispersion (Gaussian ``σ²``, Gamma) is
        estimated by maximum likelihood and counted in ``k``, as R's ``AIC()``
        does for ``glm(family=gaussian)``.  So for the binomial and Poisson
        families ``loglik``, ``aic`` and ``bic`` equal statsmodels' ``llf``,
        ``aic`` and ``bic_llf``; for the Gaussian family ``loglik`` equals ``llf``
        and ``aic``, ``bic`` count one more parameter than statsmodels' do.

    Raises
    ------
    ValueError
        For a malformed formula, a formula naming a missing column, formulas with
        different responses, a response outside the family's support, or no
        complete rows.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> import ticselect as ts
    >>> data = sm.datasets.anes96.load_pandas().data
    >>> table = ts.compare_formulas(
    ...     data,
    ...     {"ideology": "vote ~ selfLR",
    ...      "+ party": "vote ~ selfLR + C(PID)",
    ...      "+ party x ideology": "vote ~ selfLR * C(PID)"},
    ...     family="binomial",
    ... )
    >>> table.to_dict()["+ party"]["lr_vs"]  # tested against the next smaller one
    'ideology'
    >>> table.to_dict()["+ party"]["lr_df"], table.n_dropped
    (6, 0)
    >>> res = table.estimators["+ party"]  # the statsmodels fit itself
    >>> bool(abs(table.to_dict()["+ party"]["aic"] - res.aic) < 1e-8)
    True
    """
    data, formulas, names = _check_formulas(data, formulas, names, sort_by)
    sm_family, fam_name = _sm_family(family, link)
    common, kw, g, n_dropped, missing = _common_rows(
        data, formulas, sm_family, weights, offset, groups
    )
    crits, fitted, curvs, exogs, endogs = [], [], [], [], []
    for name, f in zip(names, formulas, strict=True):
        crit, res, curv, X, y = _fit_formula(
            name, f, common, sm_family, fam_name, kw, g
        )
        crits.append(crit)
        curvs.append(curv)
        fitted.append(res)
        exogs.append(X)
        endogs.append(y)
    for f, y in zip(formulas[1:], endogs[1:], strict=True):
        if y.shape != endogs[0].shape or not np.array_equal(y, endogs[0]):
            raise ValueError(
                f"formulas {formulas[0]!r} and {f!r} have different responses; "
                "likelihoods are only comparable for the same response."
            )
    lr = _lr_tests(exogs, [c.loglik for c in crits])
    wald = [
        None
        if t is None
        else robust_wald(exogs[i], exogs[t[0]], fitted[i].params, curvs[i])
        for i, t in enumerate(lr)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularHessianWarning)  # criteria() warned
        loos = [_loo_of(c) for c in curvs]
    return FormulaComparison(
        names, crits, fitted, sort_by=sort_by, curvatures=curvs, loos=loos,
        formulas=formulas, lr=lr, wald=wald,
        n_dropped=n_dropped, missing=missing, family=fam_name,
        grouped=g is not None,
    )  # fmt: skip


def _check_formulas(data, formulas, names, sort_by):
    """Validate the inputs of :func:`compare_formulas`: ``(frame, formulas, names)``."""
    if sort_by not in SORT_BY:
        raise ValueError(f"sort_by must be one of {list(SORT_BY)}, got {sort_by!r}.")
    if not isinstance(data, pd.DataFrame):
        try:
            data = pd.DataFrame(data)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                "data must be a pandas DataFrame (or a dict of equal-length columns), "
                f"got {type(data).__name__}."
            ) from exc
    if isinstance(formulas, str):
        raise TypeError("formulas must be a list (or dict) of formula strings.")
    if isinstance(formulas, dict):
        default_names, formulas = [str(k) for k in formulas], list(formulas.values())
    else:
        formulas = list(formulas)
        default_names = list(formulas)
    if not formulas:
        raise ValueError("compare_formulas() needs at least one formula.")
    for f in formulas:
        if not isinstance(f, str) or "~" not in f:
            raise ValueError(
                f"formula {f!r} has no '~'; write 'response ~ predictors', e.g. "
                "'y ~ a + C(region)'."
            )
    names = default_names if names is None else [str(n) for n in names]
    if len(names) != len(formulas):
        raise ValueError(f"Got {len(names)} names for {len(formulas)} formulas.")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(
            f"Model names must be unique, but {twice} occur more than once: drop the "
            "repeated formula (or, in Python, name each row with names=)."
        )
    return data, formulas, names


def _common_rows(data, formulas, sm_family, weights, offset, groups):
    """The rows every formula (and weights/offset/groups) can use.

    Returns ``(common frame, fit keywords, groups or None, n_dropped, missing values
    per column)``.
    """
    frame = data.reset_index(drop=True)
    extras = {
        "weights": _column(data, weights, "weights"),
        "offset": _column(data, offset, "offset"),
        "groups": _column(data, groups, "groups"),
    }
    used = _referenced_columns(formulas, frame.columns)
    used += [v for v in (weights, offset, groups) if isinstance(v, str)]
    frame = _plain_dtypes(frame, used)
    _check_infinite(frame, used)
    keep = np.ones(len(frame), dtype=bool)
    for series in extras.values():
        if series is not None:
            keep &= ~pd.isna(series).to_numpy()
    missing = {c: int(pd.isna(frame[c]).sum()) for c in dict.fromkeys(used)}
    for what, value in (("weights", weights), ("offset", offset), ("groups", groups)):
        if value is not None and not isinstance(value, str):  # arrays: by argument
            missing[what] = int(pd.isna(extras[what]).sum())
    missing = {c: m for c, m in missing.items() if m}
    no_rows = ValueError(
        f"no row has every variable of every formula (missing values per column: "
        f"{missing})."
    )
    for f in formulas:  # rows each formula can use (its missing="drop" rows)
        cols = _referenced_columns([f], frame.columns)
        if not (keep & frame[cols].notna().all(axis=1).to_numpy()).any():
            raise no_rows  # statsmodels would fail on zero rows with a cryptic error
        model = _build(f, frame[keep], sm_family, missing="drop")
        rows = np.zeros(len(frame), dtype=bool)
        rows[np.asarray(model.data.row_labels, dtype=int)] = True
        keep &= rows
    n_dropped = int(len(frame) - keep.sum())
    if not keep.any():
        raise no_rows
    _check_weights(extras, keep)
    kw = {}
    if extras["weights"] is not None:
        kw["freq_weights"] = np.asarray(extras["weights"][keep], dtype=float)
    if extras["offset"] is not None:
        kw["offset"] = np.asarray(extras["offset"][keep], dtype=float)
    g = None if extras["groups"] is None else extras["groups"][keep].to_numpy()
    return frame[keep], kw, g, n_dropped, missing


def _fit_formula(name, f, common, sm_family, fam_name, kw, g):
    """Fit one formula on the common rows: ``(criteria, result, curvature, X, y)``.

    The fit's warnings are relayed once each, prefixed with the model's name.
    """
    model = _build(f, common, sm_family, missing="raise", **kw)
    y = np.asarray(model.endog, dtype=float)
    if y.ndim > 1:  # a text response: one 0/1 column per level
        raise ValueError(
            f"formula {f!r}: the response is text ({y.shape[1]} columns once "
            "encoded); use a numeric response, e.g. a 0/1 column or I(y == 'yes')."
        )
    if fam_name in _SUPPORT and not _SUPPORT[fam_name][0](y):
        raise ValueError(
            f"formula {f!r}: the response is outside the support of the "
            f"{fam_name} family (needs {_SUPPORT[fam_name][1]}; min "
            f"{y.min():g}, max {y.max():g})."
        )
    res, caught = _fit(model)
    curv = curvature(res, groups=g)
    X = np.asarray(model.exog, dtype=float)
    if not getattr(res, "converged", True):
        curv.add_flag("not_stationary")
    if any("separation" in str(c.message).lower() for c in caught):
        curv.add_flag("separation")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        curv.add_flag("rank_deficient")
    crit = criteria(curv)
    seen = {}  # statsmodels repeats a warning per iteration: relay each once
    for c in caught:
        if not issubclass(c.category, RuntimeWarning):  # overflow noise: flags
            seen.setdefault(str(c.message), c.category)
    for msg, category in seen.items():
        warnings.warn(f"{name}: {msg}", category, stacklevel=3)
    return crit, res, curv, X, y


def _fit(model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit()
    return res, caught


class FormulaComparison(Comparison):
    """A :class:`~ticselect.Comparison` of formulas (built by :func:`compare_formulas`).

    Adds to :class:`~ticselect.Comparison` (whose ``flags`` column holds the
    reliability flags joined by ``","``, see :attr:`ticselect.Criteria.flags`) the
    columns ``lr``, ``lr_df``, ``lr_p`` (likelihood-ratio test against the next
    smaller nested candidate; ``nan`` when there is none), ``lr_vs`` (its name, or
    ``None``), ``wald`` and ``wald_p`` (the robust Wald test of the same restriction,
    see the module docstring).

    Attributes
    ----------
    formulas : dict of str to str
        Formula of each model, best first.
    n_dropped : int
        Rows dropped because a variable of some formula (or the weights, offset or
        groups) was missing.
    missing : dict of str to int
        Missing values per column used, for the columns that have any (weights,
        offset or groups given as arrays under those names).
    family : str
        Family name.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> import ticselect as ts
    >>> data = sm.datasets.randhie.load_pandas().data.head(2000)
    >>> table = ts.compare_formulas(
    ...     data, ["mdvis ~ lncoins", "mdvis ~ lncoins + physlm"], family="poisson"
    ... )
    >>> table.columns[-7:]
    ['flags', 'lr', 'lr_df', 'lr_p', 'lr_vs', 'wald', 'wald_p']
    >>> row = table.to_dict()["mdvis ~ lncoins + physlm"]
    >>> row["lr_vs"], row["lr_df"], "misspecified" in row["flags"]  # over-dispersed
    ('mdvis ~ lncoins', 1, True)
    >>> bool(row["wald_p"] > row["lr_p"])  # the robust test is the honest one here
    True
    """

    def __init__(
        self, names, crits, fitted, *, sort_by="recommended", curvatures=None,
        loos=None, formulas, lr, wald=None, n_dropped, missing, family, grouped=False,
    ):  # fmt: skip
        with warnings.catch_warnings():
            # criteria() has already warned about a singular H_λ once per model;
            # d_tic_se's pointwise solve would repeat it in other words
            warnings.simplefilter("ignore", SingularHessianWarning)
            super().__init__(
                names, crits, fitted, sort_by=sort_by, curvatures=curvatures,
                loos=loos,
            )  # fmt: skip
        by_name = dict(zip(names, formulas, strict=True))
        self.formulas = {n: by_name[n] for n in self.names}
        self.n_dropped = int(n_dropped)
        self.missing = dict(missing)
        self.family = family
        self.grouped = bool(grouped)
        self.columns = [*self.columns, "lr", "lr_df", "lr_p", "lr_vs", "wald", "wald_p"]
        wald = [None] * len(names) if wald is None else wald
        for name, test, robust in zip(names, lr, wald, strict=True):
            row = self._rows[name]
            if test is None:
                row.update(lr=np.nan, lr_df=None, lr_p=np.nan, lr_vs=None)
            else:
                j, stat, df, p = test
                row.update(lr=stat, lr_df=int(df), lr_p=p, lr_vs=names[j])
            stat, _, p = (np.nan, 0, np.nan) if robust is None else robust
            row.update(wald=stat, wald_p=p)

    @property
    def _misspecified(self):
        return any("misspecified" in self.criteria[n].flags for n in self.names)

    def _default_columns(self):
        cols = list(_SUMMARY)
        if self.recommendation.alo_index is None:
            alo = ("alo", "d_alo", "d_alo_se", "p_worse_alo")
            cols = [c for c in cols if c not in alo]
        if self._misspecified:
            i = cols.index("lr_p") + 1
            cols[i:i] = list(_ROBUST)
        return cols

    def _footer(self):
        """Lines under the table: family, n, dropped rows, ranking, LR pairs."""
        n = self._rows[self.names[0]]["n_samples"]
        lines = [
            f"{self.family} family; n = {n:g}; ranked by {self.sort_by.upper()}; "
            "* marks each criterion's pick, > the recommended formula"
        ]
        if self.n_dropped:
            cols = ", ".join(f"{c} {m}" for c, m in self.missing.items())
            lines.append(f"{self.n_dropped} rows with missing values dropped ({cols})")
        if self.grouped:
            lines.append("TIC with cluster-summed scores (groups)")
        tested = [n for n in self.names if self._rows[n]["lr_vs"]]
        if tested:
            lines.append("lr: likelihood-ratio test against the next smaller model")
            if self._misspecified:
                lines.append(
                    "misspecified rows: the LR test assumes the model's variance (C = "
                    "H) and its p-values are off; wald is the robust (sandwich) Wald "
                    "test of the same restriction, which holds"
                )
        lines += [f"  {n!r} against {self._rows[n]['lr_vs']!r}" for n in tested]
        return lines

    def summary(self, columns=None, full=False):
        """Return an aligned text table, best model first.

        Parameters
        ----------
        columns : list of str or None, default=None
            Columns to show; ``None`` shows k, loglik, AIC, BIC, ALO with
            ``d_alo``, TIC with ``d_tic`` and its standard error ``d_tic_se``, the
            likelihood-ratio test (with the robust Wald test beside it when some
            row is flagged ``misspecified``) and the flags.
        full : bool, default=False
            Every column (when ``columns`` is ``None``).

        Returns
        -------
        str
        """
        if columns is None and not full:
            columns = self._default_columns()
        return super().summary(columns, full=full)

    def _repr_html_(self):
        return self._html(self._default_columns(), "; ".join(self._footer()))

    def __repr__(self):
        return (
            f"<FormulaComparison of {len(self.names)} formulas, best={self.best!r}, "
            f"{self.n_dropped} rows dropped{self._repr_flag()}>"
        )
