"""Layer 4 — argument parsing and dispatch of the ``ticselect`` command."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import textwrap

from ._budget import DEFAULT_MAX_SECONDS, max_seconds_arg
from ._data import FAMILIES, CLIError

__all__ = ["main"]

_PROG = "ticselect"


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr."""

    def error(self, message):
        """Print ``ticselect: error: <message>`` and exit with status 2."""
        hint = f" (see '{self.prog} --help')"
        self.exit(2, f"{_PROG}: error: {message}{hint}\n")


def _grid(text):
    from ._select import parse_grid

    try:
        return parse_grid(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"invalid grid {text!r}: {exc}; use '0.01,0.1,1' or 'lo:hi:n' (log10)"
        ) from exc


#: Largest grid: each value is a full fit plus one per CV fold, and the table, the
#: JSON and the plot hold every row; 200 log-spaced values already resolve a decade
#: forty times over.
MAX_GRID = 200


def _grid_size(text):
    value = _positive_int(text)
    if value > MAX_GRID:
        raise argparse.ArgumentTypeError(
            f"{text} grid values is too many: each is a full fit plus one per CV "
            f"fold (and a row of the table); use at most {MAX_GRID}"
        )
    return value


def _attach_negative_values(argv):
    """Rewrite ``--grid -3:2:4`` as ``--grid=-3:2:4``.

    argparse reads ``-3:2:4`` as an option: it only recognises plain negative numbers.
    """
    out = list(argv)
    for i in range(len(out) - 1):
        if out[i] == "--grid" and out[i + 1].startswith("-") and ":" in out[i + 1]:
            out[i : i + 2] = [f"--grid={out[i + 1]}", ""]
    return [a for a in out if a != ""] if "" in out else out


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _penalty_value(text):
    # C = inf (no penalty) and alpha = 0 are both meaningful; the estimator rejects
    # the one that is not (C = 0) with a one-line error
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # negative or nan
        raise argparse.ArgumentTypeError(
            f"expected a non-negative number, got {text!r}"
        )
    return value


def _c_hat(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a positive finite number, got {text!r}"
        )
    return value


def _folds(text):
    try:
        value = int(text)
    except ValueError:
        value = 1
    if value == 1 or value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 (no CV) or >= 2, got {text!r}")
    return value


def _columns(text):
    return [c.strip() for c in text.split(",") if c.strip()]


def _common(p):
    data = p.add_argument_group("data")
    data.add_argument(
        "--csv", metavar="PATH", help="CSV (or .parquet) file with a header row; "
        "text columns are one-hot encoded (default: the bundled breast-cancer data)"
    )  # fmt: skip
    data.add_argument("--target", metavar="COLUMN", help="target column of --csv")
    data.add_argument(
        "--dropna", action="store_true",
        help="drop rows with a missing target or feature (default: error)",
    )  # fmt: skip
    data.add_argument(
        "--features", metavar="A,B,...", type=_columns,
        help="feature columns (default: every column but the target)",
    )  # fmt: skip
    data.add_argument(
        "--groups", metavar="COLUMN",
        help="cluster column of --csv: rows are independent only between groups "
        "(clustered TIC, cluster-robust errors, group-wise CV folds and split)",
    )  # fmt: skip
    data.add_argument(
        "--family", choices=FAMILIES, default="auto",
        help="likelihood; auto: binomial for two classes, multinomial for text "
        "labels, else gaussian (default: auto)",
    )  # fmt: skip
    model = p.add_argument_group("model")
    model.add_argument(
        "--model", choices=("glm", "mlp"), default="glm",
        help="glm: LogisticRegression / Ridge / PoissonRegressor / GammaRegressor; "
        "mlp: one hidden layer, lbfgs (default: glm)",
    )  # fmt: skip
    model.add_argument(
        "--hidden", type=_positive_int, default=8, metavar="H",
        help="hidden units of --model mlp (default: 8)",
    )  # fmt: skip
    model.add_argument(
        "--no-scale", action="store_true", help="do not standardise the features"
    )
    model.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    model.add_argument(
        "--threads", type=_positive_int, metavar="N",
        help="BLAS threads (default: 1 below 10^6 data cells, else all)",
    )  # fmt: skip
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print JSON only")
    out.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one line"
    )


def build_parser():
    """Return the argument parser of the ``ticselect`` command.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> args = build_parser().parse_args(["select", "--grid", "0.1,1", "--cv", "0"])
    >>> args.command, args.grid.tolist(), args.cv
    ('select', [0.1, 1.0], 0)
    """
    parser = _Parser(
        prog=_PROG,
        description="Model selection by TIC, AIC, BIC and cross-validation.",
    )
    from .. import __version__

    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    _add_select(sub)
    _add_report(sub)
    _add_compare(sub)
    return parser


def _add_select(sub):
    """The ``select`` subcommand."""
    sel = sub.add_parser(
        "select",
        help="rank a grid of candidates by ALO, TIC, AIC/BIC and CV log-loss",
        description="Fit a grid of candidates and rank them by approximate "
        "leave-one-out (ALO), TIC, AIC/BIC and K-fold CV log-loss; * marks each "
        "pick, > the recommended one.",
    )
    _common(sel)
    grid = sel.add_argument_group("grid")
    grid.add_argument(
        "--grid", type=_grid, metavar="VALUES",
        help="values of C (classification) or alpha (regression, mlp): '0.01,0.1,1' "
        "or 'lo:hi:n' for logspace(lo, hi, n) (--grid -3:2:12 works)",
    )  # fmt: skip
    grid.add_argument(
        "--n-grid", type=_grid_size, default=12, metavar="N",
        help=f"size of the default log-spaced grid, at most {MAX_GRID} (default: 12)",
    )  # fmt: skip
    grid.add_argument(
        "--cv", type=_folds, default=5, metavar="K",
        help="folds of the CV log-loss; 0 skips CV (default: 5)",
    )  # fmt: skip
    grid.add_argument(
        "--rule", choices=("min", "one_se"), default="min",
        help="how the recommended criterion picks: its minimum, or one_se, the most "
        "regularised value within one paired standard error of it (default: min)",
    )  # fmt: skip
    sel.add_argument(
        "--tune", action="store_true",
        help="also tune the penalty without a grid (ts.CriterionSearch, ALO, within "
        "the grid's range) and print its value, fits and time under the table",
    )  # fmt: skip
    grid.add_argument(
        "--max-seconds", type=max_seconds_arg, default=DEFAULT_MAX_SECONDS,
        metavar="S",
        help="refuse a run estimated to take longer; 'inf' for no limit (default: "
        f"{DEFAULT_MAX_SECONDS:g}, ten minutes)",
    )  # fmt: skip
    sel.add_argument("--plot", metavar="FILE", help="save the criterion-path plot")
    sel.add_argument(
        "--all", action="store_true",
        help="every column: AIC/BIC/TIC/ALO on the deviance scale, edf, timings",
    )  # fmt: skip
    sel.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )  # fmt: skip
    sel.add_argument(
        "--quiet", action="store_true",
        help="no progress bar and no warnings on stderr",
    )  # fmt: skip


def _add_report(sub):
    """The ``report`` subcommand."""
    rep = sub.add_parser(
        "report",
        help="curvature, criteria, flatness and calibration of one model",
        description="Fit one model on a training split and print its curvature, "
        "criteria, flatness and held-out calibration.",
    )
    _common(rep)
    rep.add_argument(
        "--value", type=_penalty_value, metavar="V",
        help="C (classification) or alpha (regression, mlp) (default: the value "
        "'ticselect select' recommends on the same data and options)",
    )  # fmt: skip
    rep.add_argument(
        "--details", action="store_true",
        help="also print the curvature summary and the flatness and PAC-Bayes "
        "measures (computed only then)",
    )  # fmt: skip
    rep.add_argument(
        "--cov-type", choices=("nonrobust", "HC0", "HC1", "cluster"), default=None,
        help="standard errors of the coefficient table (default: cluster with "
        "--groups, else HC1)",
    )  # fmt: skip
    rep.add_argument(
        "--c-hat", type=_c_hat, default=None, metavar="C",
        help="overdispersion factor of QAIC (default: Pearson X²/(n - k) for "
        "binomial and Poisson models, none otherwise)",
    )  # fmt: skip
    rep.add_argument(
        "--test-size", type=float, default=0.25, metavar="F",
        help="held-out fraction for the test NLL and calibration; 0 = none "
        "(default: 0.25)",
    )  # fmt: skip


def _add_compare(sub):
    """The ``compare`` subcommand."""
    cmp = sub.add_parser(
        "compare",
        help="compare model formulas on a data file by AIC, BIC, TIC and LR tests",
        description="Fit each formula (statsmodels/patsy syntax, e.g. "
        "'y ~ a * C(region)') on the rows where every formula is complete, and rank "
        "them by approximate leave-one-out (or --sort-by); nested formulas get a "
        "likelihood-ratio test against the next smaller one (and a robust Wald test "
        "where a model is flagged misspecified).",
    )
    cmp.add_argument("data", metavar="DATA", help="CSV or Parquet file with a header")
    cmp.add_argument(
        "formulas", nargs="+", metavar="FORMULA",
        help="model formulas with the same response, e.g. 'y ~ a' 'y ~ a + b'",
    )  # fmt: skip
    from ._compare import FORMULA_FAMILIES

    cmp.add_argument(
        "--family", choices=FORMULA_FAMILIES, default="gaussian",
        help="likelihood of every formula (default: gaussian)",
    )  # fmt: skip
    cmp.add_argument(
        "--link", metavar="LINK",
        help="link (log, logit, probit, cloglog, identity, inverse, sqrt, "
        "inverse_squared; default: the family's canonical link)",
    )  # fmt: skip
    cmp.add_argument("--weights", metavar="COLUMN", help="frequency-weight column")
    cmp.add_argument("--offset", metavar="COLUMN", help="offset column, e.g. log(t)")
    cmp.add_argument(
        "--groups", metavar="COLUMN",
        help="cluster column: TIC sums the scores within each cluster",
    )  # fmt: skip
    cmp.add_argument(
        "--sort-by", default="recommended",
        choices=("recommended", "alo", "tic", "aic", "aicc", "bic"),
        help="criterion that ranks the rows (default: recommended, the one the "
        "recommendation rests on: ALO, or TIC where ALO is unavailable)",
    )  # fmt: skip
    cmp.add_argument(
        "--all", action="store_true", help="every column of the comparison table"
    )
    out = cmp.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print JSON only")
    out.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one line"
    )


def _json_safe(obj):
    """Strict JSON: infinities as the strings ``"inf"``/``"-inf"``, NaN as ``null``.

    An infinite value is a result (AICc with ``n ≤ k + 1``, ``C = inf``); NaN means
    "no value", which JSON writes ``null``.
    """
    if isinstance(obj, dict):
        return {key: _json_safe(val) for key, val in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(val) for val in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


#: Options ``report`` shares with ``select``: the recommendation is made with them.
_SHARED = {
    "csv": "--csv", "target": "--target", "features": "--features",
    "groups": "--groups", "family": "--family", "model": "--model",
    "hidden": "--hidden", "seed": "--seed", "threads": "--threads",
}  # fmt: skip


def _select_args(args):
    """``select``'s arguments for a ``report`` without ``--value``.

    The same data and model options, every other option at ``select``'s own
    default (read from its parser, so they stay the command's defaults).
    """
    argv = ["select", "--quiet", "--no-progress"]
    for key, flag in _SHARED.items():
        value = getattr(args, key, None)
        if value is not None:
            argv += [flag, ",".join(value) if isinstance(value, list) else str(value)]
    argv += ["--dropna"] * bool(getattr(args, "dropna", False))
    argv += ["--no-scale"] * bool(getattr(args, "no_scale", False))
    return build_parser().parse_args(argv)


def _dump(obj, stream):
    stream.write(json.dumps(_json_safe(obj), indent=2, allow_nan=False) + "\n")


def _first_sentence(message):
    """The first sentence of a warning's first line (a sentence ends with ``. X``)."""
    line = message.splitlines()[0]
    return re.split(r"(?<=[.;])\s+(?=[A-Z])", line, maxsplit=1)[0]


def _run(args, out, err):
    if args.command == "select":
        from ._select import format_select, run_select

        if args.progress is None:
            args.progress = bool(getattr(err, "isatty", lambda: False)())
        if args.quiet:
            args.progress = False
        result = run_select(args, err=err)
        if args.json:
            _dump(result, out)
        else:
            from ._tune import format_tune

            out.write(format_select(result, full=args.all) + "\n")
            if "tune" in result:
                out.write(format_tune(result) + "\n")
    elif args.command == "compare":
        from ._compare import format_compare, run_compare

        result = run_compare(args)
        if args.json:
            _dump({k: v for k, v in result.items() if k != "table"}, out)
        else:
            out.write(format_compare(result) + "\n")
    else:
        from ._report import format_report, run_report

        select_args = _select_args(args) if args.value is None else None
        result = run_report(args, select_args=select_args)
        if args.json:
            _dump(result, out)
        else:
            out.write(format_report(result) + "\n")
    if not args.json and not getattr(args, "quiet", False):
        # the first sentence of each (the rest is in --json), once each, wrapped
        shown = list(dict.fromkeys(_first_sentence(m) for m in result["warnings"]))
        for msg in shown[:3]:
            text = f"{_PROG}: warning: {msg}"
            err.write(textwrap.fill(text, 100, subsequent_indent="  ") + "\n")
        if len(shown) > 3:
            err.write(f"{_PROG}: warning: ... and {len(shown) - 3} more (--json)\n")
    return 0


def main(argv=None):
    """Run the ``ticselect`` command.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (``sys.argv[1:]`` when ``None``).

    Returns
    -------
    int
        Exit status: 0 on success, 1 for a data or model problem, 2 for a usage
        error.

    Examples
    --------
    >>> import contextlib, io, json
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     status = main(["select", "--grid", "0.1,1", "--cv", "0", "--json"])
    >>> status, sorted(json.loads(buf.getvalue())["picks"])
    (0, ['aic_edf', 'alo', 'bic_edf', 'evidence', 'tic'])
    """
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    argv = _attach_negative_values(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(out)
        return 2
    try:
        return _run(args, out, err)
    except CLIError as exc:
        if args.debug:
            raise
        err.write(f"{_PROG}: error: {exc}\n")
        return exc.status
    except (ValueError, TypeError, OSError, ArithmeticError, MemoryError) as exc:
        if args.debug:
            raise
        text = " ".join(str(exc).split()) or type(exc).__name__
        err.write(f"{_PROG}: error: {text}\n")
        return 1
    except KeyboardInterrupt:
        err.write(f"\n{_PROG}: error: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
