"""Packaging: the only top-level import package is ``iclcheck``; every source package is installed."""

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


def test_every_source_package_is_listed_under_iclcheck():
    cfg = _config()
    dirs = cfg["package-dir"]
    found = set()
    for name, folder in dirs.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    # iclcheck's own subfolders that are themselves mapped elsewhere are not duplicated
    assert set(cfg["packages"]) == found
    assert all(p == "iclcheck" or p.startswith("iclcheck.") for p in cfg["packages"])


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
