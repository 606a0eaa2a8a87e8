"""Every script in ``examples/`` runs to completion (in a subprocess, headless)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
# a line each example must print (guards against a script that runs but shows nothing)
EXPECTED = {
    "quickstart.py": "ranked by ALO",
    "poisson_misspecified.py": "picks (number of features)",
    "mlp_digits.py": "TIC picks width=",
    "calibration_gap.py": "Calibration report (classification)",
    "pipeline_gridsearch.py": "ALO search picks C=",
    "compare_formulas.py": "30 rows with missing values dropped (educ 30)",
    "scale_out.py": "same scores as the serial search: True",
    "temperature_scaling.py": "(temperature-scaled); measured gap of the network",
}


def test_every_example_is_checked():
    assert {p.name for p in SCRIPTS} == set(EXPECTED)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    env = dict(
        os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # examples may save figures into the working directory
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert EXPECTED[script.name] in proc.stdout
    assert "Traceback" not in proc.stderr
