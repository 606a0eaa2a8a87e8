"""Layer 4 — the run-time estimate of ``ticselect select``, before it starts.

A run fits every grid value once on all rows, computes its curvature, criteria and
approximate leave-one-out, and refits it on the ``K`` CV training folds.  Each part
is modelled in flops at this machine's matrix-multiply rate
(:func:`ticselect.curvature._timing.matmul_rate`, measured once, a few ms), the
time guard's model, and the sum is multiplied by the candidates:

- curvature and criteria: a network's :func:`~ticselect.curvature._timing.dense_seconds`
  (the time guard's bound; its subspace-route estimate is the lower end of the
  range shown); a GLM's
  two weighted Gram products (``4·n·d²``) and ``GLM_DENSE_FACTOR · 2·d³``;
- approximate leave-one-out: the rows' Jacobians against the factor of ``H_λ``
  (``4·n·K·d²``), plus for a network ``ALO_FACTOR · 2·d³`` (the gauge restriction and
  the eigendecomposition of ``H_λ``, which is singular for a network), for a GLM the
  refinement's bound (the one-step cost again plus two fits, see
  :mod:`ticselect.selection._loo_refine`);
- one fit: a network ``MLP_ITERS`` L-BFGS iterations of ``MLP_ITER_FACTOR · 6·n·d``
  flops (forward and backward pass) plus ``MLP_ITER_OVERHEAD`` seconds; a GLM
  ``GLM_ITERS`` Newton iterations (``2·n·d² + d³/3`` each) below
  ``NEWTON_MAX_COEF`` coefficients, else ``GLM_ITERS`` L-BFGS iterations of
  ``4·n·d``;
- CV: ``K`` fits on ``(K − 1)/K`` of the rows.

``n`` rows, ``d`` parameters, ``K`` linear predictors (classes of a multinomial).
The constants were measured on the default data and on digits (see
``benchmarks/README.md``, "Run-time estimate of select"); the fits are the rough
part (their iteration count depends on the data; a fit that runs to ``max_iter``
takes several times the estimate), the rest is within a factor 2.  ``select``
refuses a run whose estimate exceeds ``--max-seconds`` (default
:data:`DEFAULT_MAX_SECONDS`) and shows the estimate next to its progress bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..curvature._timing import dense_seconds, matmul_rate
from ._data import CLASSIFICATION, NEWTON_MAX_COEF, CLIError

__all__ = ["DEFAULT_MAX_SECONDS", "RunEstimate", "check_run_time", "estimate_run"]

#: Default ``--max-seconds`` of ``select``: ten minutes.
DEFAULT_MAX_SECONDS = 600.0
#: Typical L-BFGS iterations of the CLI's networks (``tol=1e-8``): 200–330 on the
#: default data at 200 hidden units, 120–210 on digits.
MLP_ITERS = 300
#: One L-BFGS iteration of a network in units of ``6·n·d`` flops at the matmul
#: rate (measured 7–8 at n = 569, d = 6401: tanh and small products) ...
MLP_ITER_FACTOR = 8.0
#: ... plus this many seconds (Python and scipy's L-BFGS: 2.6 ms measured at 8
#: hidden units on a loaded machine, where the flops take 0.6 ms).
MLP_ITER_OVERHEAD = 1e-3
#: ALO's ``d × d`` work for a network, in units of ``2·d³`` flops (measured 4.0–4.4
#: at d = 6401).
ALO_FACTOR = 4.5
#: Newton (or L-BFGS) iterations of a GLM fit, a generous typical count.
GLM_ITERS = 30
#: A GLM's criteria (spectrum and factorisations of ``H``) in units of ``2·d³``.
GLM_DENSE_FACTOR = 10.0
#: Seconds that no fit, curvature or ALO goes below (Python and scikit-learn
#: overhead: a GLM fit of the default run takes 15-30 ms with its pipeline).
_FLOOR = 0.02


@dataclass(frozen=True)
class RunEstimate:
    """Estimated seconds of a ``select`` run, per part of one candidate.

    Attributes
    ----------
    fit, curvature, alo, cv : float
        Seconds of one candidate's fit, curvature + criteria, ALO and CV refits
        (``curvature`` on the time guard's bound).
    curvature_low : float
        ``curvature`` on a network's subspace route (equal for GLMs).
    n_values : int
        Candidates.
    """

    fit: float
    curvature: float
    alo: float
    cv: float
    curvature_low: float
    n_values: int

    @property
    def seconds(self):
        """Estimated seconds of the whole run (on the time guard's bound), float."""
        return self.n_values * (self.fit + self.curvature + self.alo + self.cv)

    @property
    def low(self):
        """The same with a network's subspace-route curvature, float."""
        return self.seconds - self.n_values * (self.curvature - self.curvature_low)

    def label(self):
        """``"about 6-11 min"``: the estimate for the progress bar and messages."""
        high = _duration(self.seconds)
        unit = high.split()[-1]
        low = _duration(self.low, unit).split()[0]
        return f"about {high}" if low == high.split()[0] else f"about {low}-{high}"

    def breakdown(self):
        """One candidate's parts, for the refusal message, str."""
        parts = [("fit", self.fit), ("curvature", self.curvature), ("ALO", self.alo)]
        if self.cv:
            parts.append(("CV refits", self.cv))
        return " + ".join(f"{name} {_duration(t)}" for name, t in parts)


def _duration(seconds, unit=None):
    """``"12 s"``, ``"7 min"``, ``"1.5 h"`` (in ``unit`` when given)."""
    unit = unit or ("s" if seconds < 90 else "min" if seconds < 5400 else "h")
    if unit == "s":
        return f"{seconds:.0f} s" if seconds >= 1 else "<1 s"
    if unit == "min":
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_run(
    n_rows, n_columns, family, model, n_values, n_folds, *, hidden=8, n_classes=2,
    rate=None,
):  # fmt: skip
    """Estimate the seconds of a ``select`` run (see the module docstring).

    Parameters
    ----------
    n_rows, n_columns : int
        Rows and design columns (after one-hot encoding).
    family : str
        Resolved family.
    model : {"glm", "mlp"}
        Candidate kind.
    n_values, n_folds : int
        Grid values and CV folds (0: no CV).
    hidden : int, default=8
        Hidden units of a network.
    n_classes : int, default=2
        Classes of a classification target.
    rate : float or None, default=None
        Flop/s; ``None`` measures it (:func:`~ticselect.curvature._timing.matmul_rate`).

    Returns
    -------
    RunEstimate

    Examples
    --------
    >>> one = estimate_run(569, 30, "binomial", "mlp", 1, 0, hidden=200, rate=1e10)
    >>> twelve = estimate_run(569, 30, "binomial", "mlp", 12, 5, hidden=200, rate=1e10)
    >>> round(twelve.seconds / one.seconds, 1) > 12    # twelve candidates, CV refits
    True
    """
    rate = matmul_rate() if rate is None else float(rate)
    n, p = float(n_rows), float(n_columns)
    K = n_classes if family == "multinomial" else 1
    if model == "mlp":
        out = n_classes if family == "multinomial" else 1
        d = (p + 1) * hidden + (hidden + 1) * out
        fit = MLP_ITERS * (MLP_ITER_FACTOR * 6.0 * n * d / rate + MLP_ITER_OVERHEAD)
        curv = dense_seconds(d, n, rate)
        curv_low = dense_seconds(d, n, rate, route="subspace")
        alo = (4.0 * n * out * d * d + ALO_FACTOR * 2.0 * d**3) / rate
    else:
        d = (p + 1) * K
        if d <= NEWTON_MAX_COEF:
            fit = GLM_ITERS * (2.0 * n * d * d + d**3 / 3.0) / rate
        else:
            fit = GLM_ITERS * 4.0 * n * d / rate
        curv = curv_low = (4.0 * n * d * d + GLM_DENSE_FACTOR * 2.0 * d**3) / rate
        one_step = 4.0 * n * K * d * d / rate
        alo = 2.0 * one_step + 2.0 * fit
    cv = n_folds * (n_folds - 1) / n_folds * fit if n_folds else 0.0
    return RunEstimate(
        fit=fit + _FLOOR,
        curvature=curv + _FLOOR,
        alo=alo + _FLOOR,
        cv=cv + (n_folds * _FLOOR if n_folds else 0.0),
        curvature_low=curv_low + _FLOOR,
        n_values=int(n_values),
    )


def design_columns(data):
    """Columns of the candidates' design: numeric columns plus the dummies, int."""
    encoded = data.extra.get("encoded", {})
    n_cat = len(data.categorical)
    dummies = sum(max(len(levels) - 1, 0) for levels in encoded.values())
    return int(data.X.shape[1] - n_cat + dummies)


def check_run_time(args, data, family, y, n_values, n_folds):
    """The run's estimate; a ``CLIError`` when it exceeds ``args.max_seconds``.

    Parameters
    ----------
    args : argparse.Namespace
        ``select``'s options (``model``, ``hidden``, ``max_seconds``).
    data : Dataset
        The loaded data.
    family : str
        Resolved family.
    y : ndarray
        Target.
    n_values, n_folds : int
        Grid values and CV folds.

    Returns
    -------
    RunEstimate
    """
    import numpy as np

    n_classes = len(np.unique(y)) if family in CLASSIFICATION else 1
    est = estimate_run(
        data.X.shape[0], design_columns(data), family, args.model, n_values, n_folds,
        hidden=args.hidden, n_classes=n_classes,
    )  # fmt: skip
    limit = getattr(args, "max_seconds", DEFAULT_MAX_SECONDS)
    if est.seconds > limit:
        raise CLIError(
            f"this run would take {est.label()} ({n_values} "
            f"candidate{'s' if n_values != 1 else ''} × ({est.breakdown()})), more "
            f"than --max-seconds {limit:g}. Use fewer "
            "grid values (--n-grid, --grid), fewer folds (--cv, 0 skips CV)"
            + (", fewer hidden units (--hidden)" if args.model == "mlp" else "")
            + ", or raise --max-seconds ('inf' for no limit).",
            status=2,
        )
    return est


def max_seconds_arg(text):
    """Parse ``--max-seconds``: a positive number of seconds, or ``inf``, float."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        import argparse

        raise argparse.ArgumentTypeError(
            f"expected a positive number of seconds or 'inf', got {text!r}"
        )
    return value
