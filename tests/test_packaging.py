"""Packaging: the only top-level import package is ``iclcheck``; every source package is installed."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

import iclcheck

ROOT = Path(__file__).resolve().parents[1]


def _config():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


ROOMS = ("theory", "numerics", "proofs")


def test_rooms_are_links_into_the_one_package():
    """theory/, numerics/ and proofs/ live at the root and appear in src/iclcheck as relative symbolic links."""
    for room in ROOMS:
        link = ROOT / "src" / "iclcheck" / room
        assert link.is_symlink(), f"src/iclcheck/{room} must be a symbolic link to ../../{room}"
        assert link.resolve() == (ROOT / room).resolve()
        assert not Path(os.readlink(link)).is_absolute()


def test_every_source_package_is_found_under_iclcheck():
    """setuptools' package discovery (through the links) finds every folder with an __init__.py, and nothing else."""
    from setuptools import find_packages

    assert _config()["packages"]["find"]["where"] == ["src"]
    found = set(find_packages(where=str(ROOT / "src")))
    expected = {"iclcheck"}
    for dirpath, _dirs, files in os.walk(ROOT / "src" / "iclcheck", followlinks=True):
        if "__init__.py" in files:
            expected.add(".".join(Path(dirpath).relative_to(ROOT / "src").parts))
    assert found == expected
    assert all(p == "iclcheck" or p.startswith("iclcheck.") for p in found)


def test_version_is_exposed():
    out = subprocess.run([sys.executable, "-m", "iclcheck", "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"iclcheck {iclcheck.__version__}"


@pytest.mark.slow
def test_wheel_has_one_top_level_package(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True)
    (wheel,) = tmp_path.glob("iclcheck-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
        assert top == {"iclcheck"}
        tl = [n for n in names if n.endswith("top_level.txt")]
        if tl:
            assert z.read(tl[0]).decode().split() == ["iclcheck"]
        assert "iclcheck/proofs/claims/ahn2023_thm1.py" in names
        assert "iclcheck/theory/notation/ahn.py" in names
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the wheel must carry the LICENSE"
        assert "iclcheck/py.typed" in names, "the wheel must carry py.typed (PEP 561: the package is typed)"


def _quickstart_commands() -> list[str]:
    """The README's quick-start commands: the lines of the first ```bash block, comments stripped."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [ln.split("#", 1)[0].strip() for ln in block.strip().splitlines() if ln.split("#", 1)[0].strip()]


def test_ci_runs_the_readme_quickstart_literally():
    """The README promises two commands that work on a fresh clone; .ci/run must run exactly those lines."""
    cmds = _quickstart_commands()
    assert len(cmds) == 2, cmds
    assert cmds[0].startswith("pip install . ") and cmds[1].startswith("pip install '.[test]'")
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    for cmd in cmds:
        assert cmd in ci_lines, f".ci/run does not run the README's command {cmd!r} literally"


def test_no_source_folder_shadows_the_installed_package():
    """`python -m pytest` from the root puts the root first on sys.path: no folder there may be called
    `iclcheck` (it would shadow the installed package, whose theory/numerics/proofs come via package-dir)."""
    assert not (ROOT / "iclcheck").exists()
    assert (ROOT / "src" / "iclcheck" / "__init__.py").is_file()


def test_citation_names_this_version():
    """CITATION.cff's version is the package's (cffconvert --validate checks its schema in CI)."""
    text = (ROOT / "CITATION.cff").read_text()
    versions = [ln.split(":", 1)[1].strip().strip('"') for ln in text.splitlines() if ln.startswith("version:")]
    assert versions == [iclcheck.__version__]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
