"""Coefficient tables with model-based, robust and clustered standard errors.

:func:`inference` turns a fitted model into an :class:`InferenceResult` with
statsmodels' names (``params``, ``bse``, ``tvalues``/``zvalues``, ``pvalues``,
``cov_params()``, ``conf_int()``, ``summary_frame()``), from the same exact ``H`` and
per-sample gradients that TIC uses.

Covariances (``H_λ`` the penalised observed information of
:mod:`ticselect.curvature._result`, inverted on the complement of the gauge
directions; ``n = Σ wᵢ``; ``p`` the number of mean parameters, i.e. without the
dispersion; ``G`` the number of groups):

- ``"nonrobust"``: ``H_λ⁻¹``, the inverse observed information.  For the Gaussian
  family with an estimated variance the mean block is multiplied by ``n / (n - p)``
  (``s² (XᵀX)⁻¹``, as statsmodels' OLS and Gaussian GLM) and p-values use Student's
  ``t`` with ``n - p`` degrees of freedom.  For other families with a dispersion the
  maximum-likelihood ``φ̂`` is used; pass ``dispersion=results.scale`` to use
  statsmodels' Pearson estimate (and reproduce its numbers).
- ``"HC0"``: the sandwich ``H_λ⁻¹ C H_λ⁻¹`` (Huber 1967; White 1980),
  ``C = Σ wᵢ gᵢgᵢᵀ``.
- ``"HC1"``: HC0 times ``n / (n - p)`` (statsmodels' small-sample factor).
- ``"cluster"``: ``H_λ⁻¹ C_g H_λ⁻¹`` with ``C_g = Σ_g s_g s_gᵀ`` over the groups'
  summed scores (Liang & Zeger 1986), times ``G/(G - 1) · (n - 1)/(n - p)``
  (statsmodels' ``use_correction=True``).

For **penalised** fits (``Ridge``, ``LogisticRegression(C<inf)``, ...) these are the
sandwich errors of the *penalised* estimator around its own limit: it is biased
towards 0, so they are not valid p-values or intervals for the unpenalised
coefficients.  The table footer says so.

**L1 and elastic-net** fits get a table of their active set (the non-zero
coefficients, intercept and dispersion; see :mod:`ticselect.curvature._result`), from
``H_λ`` with the L2 part of the penalty.  These errors treat the selected set as if it
had been fixed in advance: they are *conditional* on the selection and ignore it, so
their p-values and intervals are not valid post-selection inference (for that, see
e.g. Lee, Sun, Sun & Taylor 2016, Ann. Statist. 44(3)).  The footer says so and
names the coefficients fixed at 0.
"""

from __future__ import annotations

import html

import numpy as np
from scipy import stats
from sklearn.pipeline import Pipeline

from ..curvature import curvature
from ..stattests import solve_penalised

__all__ = ["InferenceResult", "inference"]

COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")


class InferenceResult:
    """Coefficient table of a fitted model (built by :func:`ticselect.inference`).

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        Fitted parameters ``θ̂`` (layout of :class:`~ticselect.Curvature`).
    bse : ndarray of shape (n_params,)
        Standard errors, ``√diag(cov_params())``.
    tvalues : ndarray of shape (n_params,)
        ``params / bse`` (z-statistics unless ``use_t``; ``zvalues`` is the same).
    pvalues : ndarray of shape (n_params,)
        Two-sided p-values (normal, or Student's t with ``df_resid`` when ``use_t``).
    param_names : list of str
        One name per parameter (the Pipeline's output feature names when known).
    cov_type : str
        ``"nonrobust"``, ``"HC0"``, ``"HC1"`` or ``"cluster"``.
    use_t : bool
        Whether p-values and intervals use Student's t.
    df_resid : float
        ``n - p``.
    n_groups : int or None
        Number of clusters for ``"cluster"``.
    penalised : bool
        Whether the fit has an L2 penalty (see the module note).
    model_name : str
        Short description of the model.
    curvature : Curvature
        The curvature the table was computed from.

    Examples
    --------
    >>> import numpy as np, ticselect as ts
    >>> from sklearn.linear_model import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> y = rng.poisson(np.exp(0.3 + 0.5 * X[:, 0]))
    >>> res = ts.inference(PoissonRegressor(alpha=0, tol=1e-10).fit(X, y), X, y,
    ...                    cov_type="HC1")
    >>> res.param_names
    ['x0', 'x1', 'intercept']
    >>> res.conf_int().shape
    (3, 2)
    """

    def __init__(self, curv, cov, *, cov_type, use_t, df_resid, n_groups, param_names):
        self.curvature = curv
        self._cov = cov
        self.params = curv.params.copy()
        self.param_names = list(param_names)
        self.cov_type = cov_type
        self.use_t = bool(use_t)
        self.df_resid = float(df_resid)
        self.n_groups = n_groups
        self.penalised = bool(
            np.any(curv.penalty > 0) or np.any(curv.penalty_linear != 0)
        )
        self.model_name = curv.model_name
        var = np.diag(cov)
        if np.any(var < -1e-12 * np.max(np.abs(var), initial=1.0)):
            raise ValueError(
                f"The {cov_type} covariance of {curv.model_name} has negative "
                "variances (the Hessian is not positive definite at the fit)."
            )
        self.bse = np.sqrt(np.clip(var, 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.tvalues = np.where(self.bse > 0, self.params / self.bse, np.nan)
        if self.use_t:
            self.pvalues = 2.0 * stats.t.sf(np.abs(self.tvalues), self.df_resid)
        else:
            self.pvalues = 2.0 * stats.norm.sf(np.abs(self.tvalues))

    @property
    def zvalues(self):
        """``params / bse`` (the same array as :attr:`tvalues`)."""
        return self.tvalues

    def cov_params(self):
        """Return the covariance matrix of the parameters.

        Returns
        -------
        ndarray of shape (n_params, n_params)
        """
        return self._cov.copy()

    def _quantile(self, alpha):
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
        if self.use_t:
            return stats.t.isf(alpha / 2, self.df_resid)
        return stats.norm.isf(alpha / 2)

    def conf_int(self, alpha=0.05):
        """Return ``(1 - alpha)`` confidence intervals.

        Parameters
        ----------
        alpha : float, default=0.05
            Level.

        Returns
        -------
        ndarray of shape (n_params, 2)
            Lower and upper bounds.
        """
        q = self._quantile(alpha)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])

    def _columns(self, alpha):
        stat = "t" if self.use_t else "z"
        lo, hi = f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"
        ci = self.conf_int(alpha)
        return {
            "coef": self.params,
            "std err": self.bse,
            stat: self.tvalues,
            f"P>|{stat}|": self.pvalues,
            lo: ci[:, 0],
            hi: ci[:, 1],
        }

    def summary_frame(self, alpha=0.05):
        """Return the table as a :class:`pandas.DataFrame` (requires pandas).

        Parameters
        ----------
        alpha : float, default=0.05
            Level of the intervals.

        Returns
        -------
        pandas.DataFrame
            Columns ``coef, std err, z (or t), P>|z|, [α/2, 1-α/2]``, indexed by
            parameter name.
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - exercised without pandas
            raise ImportError(
                "summary_frame needs pandas: pip install 'ticselect[pandas]'."
            ) from exc
        return pd.DataFrame(self._columns(alpha), index=self.param_names)

    def footer(self):
        """Return the notes printed under the table.

        Returns
        -------
        list of str
        """
        kind = {
            "nonrobust": "inverse observed information H_λ⁻¹",
            "HC0": "sandwich H_λ⁻¹ C H_λ⁻¹",
            "HC1": "sandwich H_λ⁻¹ C H_λ⁻¹ · n/(n-p)",
            "cluster": f"cluster sandwich over {self.n_groups} groups, "
            "G/(G-1)·(n-1)/(n-p)",
        }[self.cov_type]
        notes = [f"covariance: {self.cov_type} ({kind})"]
        if self.penalised:
            notes.append(
                "penalised fit: these are the penalised estimator's sandwich errors, "
                "not valid p-values or intervals for the unpenalised coefficients"
            )
        active = self.curvature.active_set
        if active is not None:
            notes.append(
                f"L1 fit: rows for the active set only ({active.n_active} of "
                f"{len(active.names)} coefficients, intercept included, non-zero; "
                f"{', '.join(active.inactive_names[:6]) or 'none'}"
                f"{', ...' if len(active.inactive_names) > 6 else ''} fixed at 0); "
                "the errors are conditional on the selected set and ignore the "
                "selection, so they are not valid post-selection inference"
            )
        if self.curvature.gauge.shape[1]:
            notes.append(
                "over-parameterised softmax: covariance on the complement of its "
                "gauge directions (contrasts between classes are identified)"
            )
        if self.curvature.flags:
            notes.append("reliability flags: " + ", ".join(self.curvature.flags))
        return notes

    def _cells(self, alpha):
        cols = self._columns(alpha)
        header = ["", *cols]
        rows = []
        for i, name in enumerate(self.param_names):
            cells = [name]
            for key, v in cols.items():
                x = v[i]
                cells.append(f"{x:.3f}" if key.startswith("P>") else f"{x:.4g}")
            rows.append(cells)
        return header, rows

    def summary(self, alpha=0.05):
        """Return an aligned text table with its footer.

        Parameters
        ----------
        alpha : float, default=0.05
            Level of the intervals.

        Returns
        -------
        str
        """
        header, rows = self._cells(alpha)
        widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
        fmt = [
            (lambda s, w=w: s.ljust(w)) if j == 0 else (lambda s, w=w: s.rjust(w))
            for j, w in enumerate(widths)
        ]
        lines = [f"Coefficients of {self.model_name}"]
        lines.append("  ".join(f(h) for f, h in zip(fmt, header, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(f(c) for f, c in zip(fmt, r, strict=True)) for r in rows]
        lines += self.footer()
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return (
            f"<InferenceResult of {self.model_name}: {len(self.params)} parameters, "
            f"cov_type={self.cov_type!r}>"
        )

    def _repr_html_(self):
        header, rows = self._cells(0.05)
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
            for r in rows
        )
        foot = "<br>".join(html.escape(n) for n in self.footer())
        return (
            f"<table><caption>Coefficients of {html.escape(self.model_name)}"
            f"</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            f"<tfoot><tr><td colspan='{len(header)}'>{foot}</td></tr></tfoot></table>"
        )


def _pipeline_names(model, curv):
    """The Pipeline's output feature names in place of ``x0, x1, ...``."""
    names = list(curv.param_names)
    if not (isinstance(model, Pipeline) and len(model) > 1):
        return names
    try:
        out = [str(s) for s in model[:-1].get_feature_names_out()]
    except (AttributeError, TypeError, ValueError):
        return names
    p = len(out)
    if names[:p] == [f"x{j}" for j in range(p)] and (
        len(names) == p or names[p] in ("intercept", "dispersion")
    ):
        names[:p] = out
    return names


def inference(
    model,
    X=None,
    y=None,
    sample_weight=None,
    *,
    cov_type="nonrobust",
    groups=None,
    dispersion=None,
):
    """Standard errors, z/t-values, p-values and intervals of a fitted model.

    Parameters
    ----------
    model : fitted estimator or statsmodels results
        Anything :func:`ticselect.curvature` accepts.
    X, y, sample_weight : array-like or None
        Training data (``None`` for statsmodels results).
    cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default="nonrobust"
        Covariance estimator; see :mod:`ticselect.selection._inference`.
    groups : array-like of shape (n_samples,), default=None
        Cluster labels; required by, and only used with, ``cov_type="cluster"``.
    dispersion : None or float, default=None
        Passed to :func:`ticselect.curvature` (``results.scale`` reproduces
        statsmodels' nonrobust errors for families with a dispersion).

    Returns
    -------
    InferenceResult

    Raises
    ------
    ValueError
        For an unknown ``cov_type``, ``groups`` missing for (or given without)
        ``"cluster"``, fewer than two groups, or no residual degrees of freedom.

    Notes
    -----
    For penalised fits the errors are those of the penalised estimator (see the module
    note); they are not valid for the unpenalised coefficients.

    Examples
    --------
    >>> import numpy as np, statsmodels.api as sm, ticselect as ts
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(400, 2))
    >>> y = rng.binomial(1, 1 / (1 + np.exp(-x[:, 0])))
    >>> res = sm.Logit(y, sm.add_constant(x)).fit(disp=0, cov_type="HC0")
    >>> ours = ts.inference(sm.Logit(y, sm.add_constant(x)).fit(disp=0),
    ...                     cov_type="HC0")
    >>> bool(np.allclose(ours.bse, res.bse, rtol=1e-6))
    True
    >>> print(ours.summary())  # doctest: +ELLIPSIS
    Coefficients of statsmodels Logit
           coef  std err       z  P>|z|  [0.025   0.975]
    -----  ...
    const  ...
    covariance: HC0 (sandwich H_λ⁻¹ C H_λ⁻¹)
    """
    if cov_type not in COV_TYPES:
        raise ValueError(
            f"cov_type must be one of {list(COV_TYPES)}, got {cov_type!r}."
        )
    if cov_type == "cluster" and groups is None:
        raise ValueError("cov_type='cluster' needs groups= (one label per row).")
    if cov_type != "cluster" and groups is not None:
        raise ValueError(
            f"groups= is used by cov_type='cluster' only (got cov_type={cov_type!r})."
        )
    curv = curvature(model, X, y, sample_weight, dispersion=dispersion, groups=groups)
    d = curv.n_params
    Hinv = solve_penalised(curv, np.eye(d))
    Hinv = 0.5 * (Hinv + Hinv.T)
    n = curv.n_samples
    is_phi = np.zeros(d, dtype=bool)
    if curv.dispersion_is_param:
        is_phi[-1] = True
    p = curv.n_free_params - int(curv.dispersion_is_param)
    df_resid = n - p
    if cov_type != "nonrobust" or curv.family == "gaussian":
        if not df_resid > 0:
            raise ValueError(
                f"No residual degrees of freedom: n = {n:g} samples for p = {p} mean "
                "parameters."
            )
    use_t = False
    n_groups = None
    if cov_type == "nonrobust":
        cov = Hinv
        if curv.family == "gaussian" and curv.dispersion_is_param:
            mean = ~is_phi
            cov = cov.copy()
            cov[np.ix_(mean, mean)] *= n / df_resid
            use_t = True
    else:
        cov = Hinv @ curv.grad_cov @ Hinv
        cov = 0.5 * (cov + cov.T)
        if cov_type == "HC1":
            cov = cov * (n / df_resid)
        elif cov_type == "cluster":
            n_groups = curv.n_groups
            if n_groups < 2:
                raise ValueError("cov_type='cluster' needs at least two groups.")
            cov = cov * (n_groups / (n_groups - 1) * (n - 1) / df_resid)
    return InferenceResult(
        curv,
        cov,
        cov_type=cov_type,
        use_t=use_t,
        df_resid=df_resid,
        n_groups=n_groups,
        param_names=_pipeline_names(model, curv),
    )
