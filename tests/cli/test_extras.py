"""Optional extras (pyproject: sweep = dask[distributed] + pyarrow, weights = safetensors, torch): without them a
command that needs one fails with one line naming the extra and exit status 2, the API raises MissingExtra with the
same message, and what `pip install .` promises (verify, reading .safetensors) still runs. The missing modules are
simulated in a subprocess by an import hook that refuses them, as an environment without them would."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib

from iclcheck.theory.errors import ICLCheckError, MissingExtra, import_optional

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = {"dask": "sweep", "distributed": "sweep", "pyarrow": "sweep", "safetensors": "weights"}

# The top-level modules named in ICLCHECK_TEST_BLOCK refused by the first meta-path finder, as in an environment
# where they are not installed (`import pyarrow.parquet` raises "No module named 'pyarrow'"); then `iclcheck ARGS`.
HOOK = """
import importlib.abc, os, sys
BLOCKED = set(os.environ["ICLCHECK_TEST_BLOCK"].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in BLOCKED:
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)
        return None
sys.meta_path.insert(0, Block())
"""
RUN = HOOK + "from iclcheck.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def _python(code: str, *argv: str, block=tuple(OPTIONAL)) -> tuple[int, str, str]:
    env = {**os.environ, "ICLCHECK_TEST_BLOCK": ",".join(block)}
    p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def _run(*argv: str, block=tuple(OPTIONAL)) -> tuple[int, str, str]:
    return _python(RUN, *argv, block=block)


def _line(command: str, feature: str, extra: str, module: str) -> str:
    return (f"iclcheck {command}: {feature} needs the optional dependencies of '{extra}' ({module} is not "
            f"installed): pip install 'iclcheck[{extra}]'\n")


def test_the_hook_blocks_like_a_missing_install():
    pytest.importorskip("pyarrow.parquet")  # installed here, refused under the hook
    code = HOOK + "try:\n    import pyarrow.parquet\nexcept ModuleNotFoundError as e:\n    print(e.name)\n"
    assert _python(code, block=("pyarrow",)) == (0, "pyarrow\n", "")


def test_sweep_without_the_sweep_extra(tmp_path):
    argv = ("sweep", "--d", "2", "--cond", "1", "-n", "3", "--starts", "2", "--no-certify", "--quiet",
            "--out", str(tmp_path / "atlas"))
    rc, out, err = _run(*argv)
    assert (rc, out) == (2, "")
    assert err == _line("sweep", "the sweep's Parquet dataset", "sweep", "pyarrow")
    rc, out, err = _run(*argv, block=("dask", "distributed"))  # pyarrow there, Dask not: before any setting runs
    assert (rc, out) == (2, "")
    assert err == _line("sweep", "running on a Dask cluster", "sweep", "distributed")
    assert list((tmp_path / "atlas").glob("part-*")) == []


def test_verify_jobs_without_the_sweep_extra():
    rc, out, err = _run("verify", "ahn2023.eq7", "--jobs", "2", "--no-progress")
    assert (rc, out) == (2, "")
    assert err == _line("verify", "running the claims on a Dask cluster (jobs > 1 or a scheduler)", "sweep",
                        "distributed")


def test_verify_runs_without_any_extra(tmp_path, capsys):
    """The README's main job after `pip install .`: verify gives the same report without the extras as with them."""
    from iclcheck.cli import main

    keys = ("ahn2023.eq7", "ahn2023.lemma1")
    rc, out, err = _run("verify", *keys, "--format", "json", "--no-progress", "--report", str(tmp_path / "r.md"))
    assert (rc, err) == (0, "")
    assert main(["verify", *keys, "--format", "json", "--no-progress"]) == 0  # here, with every extra installed
    here = json.loads(capsys.readouterr().out)["claims"]
    without = json.loads(out)["claims"]
    assert [r["key"] for r in without] == list(keys)
    for r in here + without:
        r.pop("seconds")
    assert without == here
    assert "ahn2023.lemma1" in (tmp_path / "r.md").read_text()


def test_plots_need_no_extra(tmp_path):
    f = tmp_path / "landscape.png"
    rc, out, err = _run("critical", "--cov", "eye:2", "-n", "3", "--starts", "2", "--plot", str(f))
    assert rc == 0, err
    assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _setting_weights(tmp_path: Path) -> Path:
    """The one-layer optimum at Sigma = I_2, n = 6 (P = e e^T, Q = -Gamma* with Gamma* = I / ((n+1)/n + d/n)),
    written by the safetensors library itself (the reader under test is iclcheck's own)."""
    st = pytest.importorskip("safetensors.numpy")
    d, n = 2, 6
    P, Q = np.zeros((d + 1, d + 1)), np.zeros((d + 1, d + 1))
    P[d, d] = 1.0
    Q[:d, :d] = -np.eye(d) / ((n + 1) / n + d / n)
    f = tmp_path / "opt.safetensors"
    st.save_file({"P": P, "Q": Q}, str(f))
    return f


def test_check_weights_reads_safetensors_without_the_library(tmp_path):
    f = _setting_weights(tmp_path)
    rc, out, err = _run("check-weights", str(f), "--cov", "eye:2", "-n", "6", "--format", "json")
    assert rc == 0, err
    res = json.loads(out)
    # the optimum's loss, written out: L* = tr S - sum s^2 / (a s + b) with s = 1, a = 7/6, b = 2/6
    assert res["L"] == 1 and res["loss"]["exact"]
    np.testing.assert_allclose(res["loss"]["value"], 2 - 2 / (7 / 6 + 2 / 6), rtol=1e-12)


def test_train_save_safetensors_without_the_weights_extra(tmp_path):
    f = tmp_path / "w.safetensors"
    rc, out, err = _run("train", "--cov", "eye:2", "-n", "6", "-L", "1", "--steps", "20", "--batch", "64",
                        "--samples", "1000", "--save-weights", str(f), "--format", "json")
    assert (rc, out) == (2, "")
    assert err == _line("train", "writing .safetensors", "weights", "safetensors")
    assert not f.exists()


def test_api_save_weights_raises_missing_extra(tmp_path, monkeypatch):
    import iclcheck

    monkeypatch.setitem(sys.modules, "safetensors", None)  # `import safetensors...` now fails as if not installed
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(MissingExtra) as info:
        iclcheck.save_weights(tmp_path / "w.safetensors", np.eye(3), np.eye(3))
    e = info.value
    assert isinstance(e, ICLCheckError) and isinstance(e, ImportError) and e.extra == "weights"
    assert str(e) == ("writing .safetensors needs the optional dependencies of 'weights' (safetensors is not "
                      "installed): pip install 'iclcheck[weights]'")
    assert not (tmp_path / "w.safetensors").exists()
    iclcheck.save_weights(tmp_path / "w.npz", np.eye(3), np.eye(3))  # .npz needs no extra


def test_a_broken_install_is_one_line_too(tmp_path, monkeypatch):
    (tmp_path / "brokenmod.py").write_text("raise ImportError('libfoo.so: cannot open shared object file')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtra) as info:
        import_optional("brokenmod", extra="sweep", feature="this")
    assert str(info.value) == ("this needs the optional dependencies of 'sweep' (brokenmod cannot be imported: "
                               "libfoo.so: cannot open shared object file): pip install 'iclcheck[sweep]'")
    assert import_optional("json", extra="sweep", feature="this") is json


def test_pyproject_extras():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(meta["dependencies"])
    extras = meta["optional-dependencies"]
    for module, extra in OPTIONAL.items():
        assert module not in core
        assert any(module in req for req in extras[extra])
    assert "matplotlib" in core and "tqdm" in core  # verify's plots and its progress bar need no extra
    for name in ("test", "dev"):  # the default test run uses sweep and weights
        assert "iclcheck[sweep,weights]" in extras[name]


def _optional_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.partition(".")[0] in OPTIONAL]
    return found


def test_optional_modules_are_imported_only_through_import_optional():
    """A plain `import pyarrow` anywhere in the library would be a traceback for a user without the extra."""
    files = [f for room in ("theory", "numerics", "proofs", "src/iclcheck/cli") for f in (ROOT / room).rglob("*.py")]
    files += [ROOT / "src/iclcheck/api.py"]
    assert len(files) > 50
    assert [hit for f in files for hit in _optional_imports(f)] == []
