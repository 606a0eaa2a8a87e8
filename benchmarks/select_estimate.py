"""``ticselect select``'s run-time estimate against the run it estimates.

For a few configurations on the default data (breast cancer, 569 × 30), prints the
estimate the command makes before its first fit (``ticselect/cli/_budget.py``: the
range is the subspace-route estimate to the time guard's bound) next to the run's
measured wall time and its parts per candidate (from ``--json``: fit, curvature +
criteria, ALO, CV refits), all in one process on one BLAS thread.

Usage: ``python benchmarks/select_estimate.py [--big]`` (``--big`` adds a 200-unit
network on one grid value without CV, about 5 minutes on a slow machine).
"""

import argparse
import contextlib
import io
import json
import time

import numpy as np

from ticselect.cli import main
from ticselect.cli._budget import estimate_run
from ticselect.curvature._timing import matmul_rate

CASES = [
    ("glm, defaults", []),
    ("glm, 48 values", ["--n-grid", "48"]),
    ("mlp h=8, defaults", ["--model", "mlp"]),
    ("mlp h=50, 4 values, cv 3", ["--model", "mlp", "--hidden", "50", "--n-grid", "4",
                                  "--cv", "3"]),
]  # fmt: skip
BIG = [("mlp h=200, 1 value, no cv", ["--model", "mlp", "--hidden", "200",
                                      "--n-grid", "1", "--cv", "0"])]  # fmt: skip


def _option(argv, name, default):
    return type(default)(argv[argv.index(name) + 1]) if name in argv else default


def main_():
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", action="store_true")
    args = parser.parse_args()
    rate = matmul_rate()
    print(f"matmul rate {rate / 1e9:.1f} GFlop/s")
    header = (
        f"{'case':<34}{'estimate [s]':>16}{'run [s]':>9}{'run/est':>9}"
        f"{'fit':>7}{'curv':>7}{'ALO':>7}{'CV':>7}  (per candidate, s)"
    )
    print(header + "\n" + "-" * len(header))
    for name, extra in CASES + (BIG if args.big else []):
        argv = ["select", "--json", "--quiet", "--max-seconds", "inf", *extra]
        model = _option(argv, "--model", "glm")
        n_grid = _option(argv, "--n-grid", 12)
        cv = _option(argv, "--cv", 5)
        est = estimate_run(569, 30, "binomial", model, n_grid, cv,
                           hidden=_option(argv, "--hidden", 8), rate=rate)  # fmt: skip
        out = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = main(argv)
        wall = time.perf_counter() - t0
        assert status == 0
        rows = json.loads(out.getvalue())["candidates"]
        parts = [np.mean([r[k] for r in rows]) for k in
                 ("fit_time", "criteria_time", "alo_time", "cv_time")]  # fmt: skip
        print(
            f"{name:<34}{est.low:>7.1f}-{est.seconds:<8.1f}{wall:>9.1f}"
            f"{wall / est.seconds:>9.2f}" + "".join(f"{t:>7.2f}" for t in parts),
            flush=True,
        )


if __name__ == "__main__":
    main_()
