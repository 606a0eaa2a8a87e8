"""The package's layering (docs/architecture.md), checked from the code itself."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import ticselect as ts

PACKAGE = Path(ts.__file__).resolve().parent

#: Imports allowed inside a function: optional dependencies only (the CLI, whose
#: start-up is lazy on purpose, is exempt as a whole).
OPTIONAL = {"matplotlib", "pandas", "dask", "distributed", "dask_ml", "zarr", "tqdm"}


def _function_level_imports(package=None):
    package = PACKAGE if package is None else package
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).as_posix()
        if rel.startswith("ticselect/cli/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    names = [a.name for a in inner.names]
                elif isinstance(inner, ast.ImportFrom):
                    base = "." * inner.level + (inner.module or "")
                    if inner.module:
                        names = [base]
                    else:
                        names = [base + a.name for a in inner.names]
                else:
                    continue
                for name in names:
                    if name.split(".")[0] not in OPTIONAL:
                        found.append(f"{rel}:{inner.lineno} imports {name}")
    return sorted(set(found))


def test_no_function_level_imports_but_optional_dependencies():
    assert _function_level_imports() == []


def test_function_level_import_check_can_fail(tmp_path):
    # the checker itself sees an import hidden in a function
    fake = tmp_path / "ticselect"
    fake.mkdir()
    (fake / "mod.py").write_text(
        "def f():\n    from . import other\n    return other\n"
    )
    assert _function_level_imports(fake) == ["ticselect/mod.py:2 imports .other"]


def test_import_contracts_hold():
    """import-linter's layer and acyclicity contracts in pyproject.toml."""
    exe = Path(sys.executable).with_name("lint-imports")
    root = PACKAGE.parent
    if not (root / "pyproject.toml").exists():  # pragma: no cover - installed copy
        pytest.fail(
            "run the tests from a source checkout (pyproject.toml holds the contracts)"
        )
    proc = subprocess.run(
        [str(exe)], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


PUBLIC_PATHS = [
    ("ticselect.criteria", ["Criteria", "criteria", "soft_rank"]),
    ("ticselect.flatness", ["Flatness", "flatness", "relative_flatness"]),
    ("ticselect.calibration", ["expected_calibration_error", "ReliabilityDisplay"]),
    ("ticselect.scoring", ["InSample", "get_scorer", "criteria_scoring"]),
    ("ticselect.cli", ["main"]),
    ("ticselect.curvature", ["Curvature", "curvature"]),
    ("ticselect.selection", ["InformationCriteria", "compare", "tic_penalty"]),
]


@pytest.mark.parametrize("module,names", PUBLIC_PATHS)
def test_documented_import_paths(module, names):
    mod = importlib.import_module(module)
    for name in names:
        assert hasattr(mod, name), f"{module}.{name}"


@pytest.mark.parametrize("name", sorted(ts.__all__))
def test_every_public_name_imports_from_the_top(name):
    namespace = {}
    exec(f"from ticselect import {name}", namespace)
    assert namespace[name] is getattr(ts, name)


def test_console_script_entry_point_resolves():
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "ticselect"]
    assert ep.value == "ticselect.cli:main"
    assert ep.load() is importlib.import_module("ticselect.cli").main
