"""Plugins: claims from the entry-point group iclcheck.claims and from --claims PATH, with their origin.

The example plugin (examples/plugin) is "installed" onto a temporary sys.path entry with a dist-info folder carrying
its entry_points.txt (what pip writes; a full temporary venv install takes minutes on this machine) and run through
``iclcheck list`` and ``verify`` in a subprocess, so that this test process's registry never sees it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iclcheck.proofs.registry import all_claims
from iclcheck.theory.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin"


def _dist(site: Path, name: str, entry_points: str) -> None:
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def _install_example(site: Path) -> None:
    shutil.copytree(PLUGIN / "iclcheck_example_plugin", site / "iclcheck_example_plugin")
    text = (PLUGIN / "pyproject.toml").read_text()
    assert '[project.entry-points."iclcheck.claims"]' in text  # the entry point the dist-info below mirrors
    _dist(site, "iclcheck-example-plugin", "[iclcheck.claims]\nexample = iclcheck_example_plugin.claims\n")


def _cli(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "iclcheck", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def _cli_side_by_side(site: Path, *argvs: list[str]) -> list[subprocess.CompletedProcess]:
    """``_cli`` for independent commands, run at the same time (each loads every claim module: on two cores the
    batch costs about half its sequential wall time)."""
    env = {**os.environ, "PYTHONPATH": str(site) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    outs = [(site.parent / f"cli-{i}.out", site.parent / f"cli-{i}.err") for i in range(len(argvs))]
    procs = []
    try:
        for argv, (o, e) in zip(argvs, outs, strict=True):
            with open(o, "w") as fo, open(e, "w") as fe:  # files, not pipes: no run can stall on a full pipe
                procs.append(subprocess.Popen([sys.executable, "-m", "iclcheck", *argv], stdout=fo, stderr=fe,
                                              text=True, env=env))
        for p in procs:
            p.wait(timeout=300)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [subprocess.CompletedProcess(p.args, p.returncode, o.read_text(), e.read_text())
            for p, (o, e) in zip(procs, outs, strict=True)]


def test_installed_example_plugin_is_listed_with_its_origin_and_verified(tmp_path):
    site = tmp_path / "site"
    _install_example(site)
    out, table, res, moved, refused = _cli_side_by_side(
        site, ["list", "--format", "json"], ["list", "example2024"],
        ["verify", "example2024.min_loss", "--format", "json"],
        ["verify", "example2024.min_loss", "--cov", "eye:3", "-n", "9"],
        ["verify", "example2024.min_loss", "--cov", "diag:1,2", "-n", "9"])
    assert out.returncode == 0, out.stderr
    claims = {c["key"]: c for c in json.loads(out.stdout)["claims"]}
    assert claims["example2024.min_loss"]["origin"] == "plugin iclcheck-example-plugin"
    assert claims["ahn2023.eq7"]["origin"] == "built-in"
    assert "plugin iclcheck-example-plugin" in table.stdout and "example2024 (1 claim)" in table.stdout
    assert res.returncode == 0, res.stderr
    (c,) = json.loads(res.stdout)["claims"]
    assert c["key"] == "example2024.min_loss" and c["verdict"] == "confirmed"
    assert moved.returncode == 0 and "confirmed" in moved.stdout and "d=3, n=9" in moved.stdout
    assert refused.returncode == 2 and "Sigma = I" in refused.stderr


def test_example_claim_value_by_an_independent_route():
    """d(d+1)/(n+d+1) against a direct numpy Monte Carlo of one GD step with step n/(n+d+1) (no toolkit code)."""
    import numpy as np

    from iclcheck.proofs.registry import all_claims as load

    claim = load(paths=[PLUGIN / "iclcheck_example_plugin" / "claims.py"])["example2024.min_loss"]
    assert claim.origin.startswith("file ") and claim.origin.endswith("claims.py")
    rng = np.random.default_rng(5)
    d, n, B = 2, 5, 400_000
    X = rng.standard_normal((B, n, d))
    w = rng.standard_normal((B, d))
    xq = rng.standard_normal((B, d))
    h = np.einsum("bnd,bn->bd", X, np.einsum("bnd,bd->bn", X, w)) / n
    err = (n / (n + d + 1) * np.einsum("bd,bd->b", xq, h) - np.einsum("bd,bd->b", xq, w)) ** 2
    half = 3.29 * err.std() / np.sqrt(B)
    assert abs(err.mean() - d * (d + 1) / (n + d + 1)) <= half


def test_broken_plugin_is_one_line_and_the_others_still_run(tmp_path):
    _install_example(tmp_path)
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('no module named numpyy')\n")
    _dist(tmp_path, "broken-plugin", "[iclcheck.claims]\nbroken = broken_plugin\n")
    out = _cli(tmp_path, "list", "--keys")
    assert out.returncode == 0
    assert "example2024.min_loss" in out.stdout and "ahn2023.eq7" in out.stdout
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "broken-plugin" in lines[0] and "numpyy" in lines[0] and "Traceback" not in out.stderr


def test_collision_with_a_built_in_key_names_both_origins(tmp_path):
    (tmp_path / "clash.py").write_text(
        "import dataclasses\nfrom iclcheck.proofs.registry import all_claims\n"
        "CLAIM = dataclasses.replace(all_claims(plugins=False)['ahn2023.eq7'])\n")
    _dist(tmp_path, "clash-plugin", "[iclcheck.claims]\nclash = clash:CLAIM\n")
    out = _cli(tmp_path, "list")
    assert out.returncode == 2
    assert "ahn2023.eq7" in out.stderr and "plugin clash-plugin" in out.stderr and "built-in" in out.stderr
    assert out.stderr.count("\n") == 1


def test_claims_path_file_and_folder_with_origin(tmp_path, capsys):
    from iclcheck.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(PLUGIN / "iclcheck_example_plugin" / "claims.py", folder / "example2024_min_loss.py")
    (folder / "test_example2024_min_loss.py").write_text("raise RuntimeError('tests are not claim modules')\n")
    (folder / "bad.py").write_text("x = 1\n")
    claims = all_claims(paths=[folder], problems=(problems := []))
    assert claims["example2024.min_loss"].origin == f"file {folder / 'example2024_min_loss.py'}"
    assert len(problems) == 1 and "bad.py" in problems[0] and "no CLAIM" in problems[0]
    assert main(["list", "example2024", "--claims", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "example2024.min_loss" in out and "file " in out and "bad.py" in err
    assert main(["list", "--claims", str(tmp_path / "nowhere")]) == 2
    assert "neither a .py file nor a folder" in capsys.readouterr().err


def test_duplicate_keys_between_two_files_are_an_error(tmp_path):
    src = (PLUGIN / "iclcheck_example_plugin" / "claims.py").read_text()
    (tmp_path / "a.py").write_text(src)
    (tmp_path / "b.py").write_text(src)
    with pytest.raises(InputError) as e:
        all_claims(paths=[tmp_path])
    assert "a.py" in e.value.problem and "b.py" in e.value.problem
