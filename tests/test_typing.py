"""The package is typed (PEP 561) and CI type-checks it: the mypy configuration, its CI step, and the one place where
the supported Python versions differ (tomllib is new in 3.11)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
MYPY = PYPROJECT["tool"]["mypy"]

# the flags --strict turns on that a per-module section can set (mypy: strict itself is global-only)
STRICT_FLAGS = ("disallow_any_generics", "disallow_subclassing_any", "disallow_untyped_calls",
                "disallow_untyped_defs", "disallow_incomplete_defs", "check_untyped_defs",
                "disallow_untyped_decorators", "warn_unused_ignores", "warn_return_any", "no_implicit_reexport",
                "strict_equality", "extra_checks")


def test_the_package_ships_py_typed():
    assert (ROOT / "src" / "iclcheck" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["iclcheck"]


def test_mypy_reads_the_package_through_src():
    """mypy_path = src: the rooms are checked once, as iclcheck.<room>.<module>, through the symbolic links."""
    assert MYPY["mypy_path"] == "src" and MYPY["packages"] == ["iclcheck"]
    assert MYPY["python_version"] == PYPROJECT["project"]["requires-python"].removeprefix(">=")
    assert "ignore_missing_imports" not in MYPY, "missing imports are ignored per module, never globally"


def test_the_public_api_is_checked_strictly():
    strict = [o for o in MYPY["overrides"] if "iclcheck.api" in o["module"]]
    assert len(strict) == 1 and set(strict[0]["module"]) == {"iclcheck", "iclcheck.api"}
    assert {f: strict[0].get(f) for f in STRICT_FLAGS} == dict.fromkeys(STRICT_FLAGS, True)


def test_only_untyped_third_party_modules_are_ignored():
    """Never a module of iclcheck (the code imports the new paths of moved numerics modules, which mypy follows)."""
    ignored = [m for o in MYPY["overrides"] if o.get("ignore_missing_imports") for m in o["module"]]
    assert ignored and not any(m.startswith("iclcheck") for m in ignored)
    assert not any(m.partition(".")[0] in ("numpy", "scipy", "tqdm", "matplotlib", "cvxpy") for m in ignored)


def test_ci_runs_mypy_after_ruff_in_the_development_run():
    lines = [ln.split("#", 1)[0].strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    dev = lines.index('echo "== development run (editable install, lint, type check)"')
    ruff = next(i for i, ln in enumerate(lines) if ln.startswith("ruff check"))
    assert dev < ruff < lines.index("mypy")
    dev_extra = " ".join(PYPROJECT["project"]["optional-dependencies"]["dev"])
    assert all(pkg in dev_extra for pkg in ("mypy", "scipy-stubs", "types-tqdm"))


def test_toml_grid_reads_with_tomli_before_python_3_11(tmp_path, monkeypatch):
    """requires-python is >= 3.10; before 3.11 the grid file is read by tomli (a dependency there)."""
    from iclcheck.cli.commands.sweep import parse_grid_file

    text = "[grid]\nd = [2, 3]\ncond = [1, 10]\nn = [5]\n"
    (tmp_path / "g.toml").write_text(text)
    (tmp_path / "g.json").write_text('{"grid": {"d": [2, 3], "cond": [1, 10], "n": [5]}}')
    calls = []
    tomli = types.ModuleType("tomli")
    tomli.loads = lambda s: calls.append(s) or tomllib.loads(s)
    monkeypatch.setitem(sys.modules, "tomli", tomli)
    monkeypatch.setattr(sys, "version_info", (3, 10, 14, "final", 0))
    got = parse_grid_file(str(tmp_path / "g.toml"))
    monkeypatch.undo()
    assert calls == [text]
    assert got == parse_grid_file(str(tmp_path / "g.json"))
    dep = [r for r in PYPROJECT["project"]["dependencies"] if r.startswith("tomli")]
    assert dep == ["tomli>=1.1; python_version < '3.11'"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("mypy") is None, reason="mypy is in the dev extra")
def test_mypy_finds_no_error():
    out = subprocess.run(["mypy"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:]
