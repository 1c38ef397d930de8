"""``iclcheck sweep``: the grammar (lists, TOML/JSON grids), one line and exit 2 for bad input (before any
cluster starts), an end-to-end run with resume and the atlas plot, and a light ``--help``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from iclcheck.cli.main import main

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


def _run(capsys, *argv):
    rc = main(["sweep", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("argv, flag", [
    (["--d", "x", "--cond", "1", "-n", "3"], "--d"),
    (["--d", "2,", "--cond", "1", "-n", "3"], "--d"),
    (["--d", "51", "--cond", "1", "-n", "3"], "--d"),
    (["--d", "2", "--cond", "0.5", "-n", "3"], "--cond"),
    (["--d", "2", "--cond", "1e400", "-n", "3"], "--cond"),
    (["--d", "2", "--cond", "__import__('os')", "-n", "3"], "--cond"),
    (["--d", "2", "--cond", "1", "-n", "0"], "-n"),
    (["--d", "2", "--cond", "1"], "-n"),
    (["--d", "2", "--cond", "1", "-n", "3", "--noise", "-1"], "--noise"),
    (["--d", "2", "--cond", "1", "-n", "3", "--law", "cauchy"], "--law"),
    (["--d", "2", "--cond", "1", "-n", "3", "--cov-seed", "-3"], "--cov-seed"),
    (["--d", "2", "--cond", "1", "-n", "3", "--starts", "0"], "--starts"),
    (["--d", "2", "--cond", "1", "-n", "3", "--plot", "atlas.txt"], "--plot"),
    (["--d", "2", "--cond", "1", "-n", "3", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:9"], "--jobs"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, flag):
    rc, out, err = _run(capsys, *argv, "--out", str(tmp_path / "o"))
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"{flag}:" in err or f"argument {flag}" in err
    assert not (tmp_path / "o").exists()  # refused before anything was created


def test_an_out_path_that_is_a_file_is_refused(capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    rc, out, err = _run(capsys, "--d", "2", "--cond", "1", "-n", "3", "--out", str(f))
    assert rc == 2 and "--out:" in err and "not a directory" in err


@pytest.mark.parametrize("text, suffix, problem", [
    ("[grid]\nd = [2]\ncond = [1]\n", ".toml", "needs the key 'n'"),
    ("[grid]\nd = [2]\ncond = [1]\nn = [3]\nrho = [1]\n", ".toml", "keys among"),
    ("[grid]\nd = ['2']\ncond = [1]\nn = [3]\n", ".toml", "grid.d[0]: expected an integer"),
    ("[grid]\nd = [2]\ncond = [true]\nn = [3]\n", ".toml", "grid.cond[0]: expected a number"),
    ("settings = [{d = 2, cond = 0.1, n = 3}]\n", ".toml", "settings[0]: cond: must be"),
    ("d = 2\n", ".toml", "'grid' table and/or a 'settings' list"),
    ("[grid\n", ".toml", "is not valid TOML"),
    ('{"settings": [{"d": 2, "cond": 1}]}', ".json", "settings[0] must be a table with d, cond, n"),
    ("[1, 2", ".json", "is not valid JSON"),
])
def test_bad_grid_files(capsys, tmp_path, text, suffix, problem):
    g = tmp_path / f"grid{suffix}"
    g.write_text(text)
    rc, out, err = _run(capsys, "--grid", str(g), "--out", str(tmp_path / "o"))
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--grid:" in err
    assert problem in err, err


def test_grid_file_and_list_flags_give_the_same_points(tmp_path):
    import argparse

    from iclcheck.cli.commands.sweep import _points

    toml = tmp_path / "g.toml"
    toml.write_text("[grid]\nd = [2, 3]\ncond = [1, 10, 100]\nn = [3, 10]\nnoise = [0, 1]\n")
    js = tmp_path / "g.json"
    js.write_text(json.dumps({"settings": [{"d": d, "cond": c, "n": n, "noise": s} for d in (2, 3)
                                           for c in (1, 10, 100) for n in (3, 10) for s in (0, 1)]}))
    base = dict(d=None, cond=None, n=None, noise=None, law=None, cov_seed=None, grid=None)
    flags = _points(argparse.Namespace(**{**base, "d": "2,3", "cond": "1,10,100", "n": "3,10", "noise": "0,1"}))
    assert len(flags) == 24
    assert _points(argparse.Namespace(**{**base, "grid": str(toml)})) == flags
    assert _points(argparse.Namespace(**{**base, "grid": str(js)})) == flags
    with pytest.raises(Exception, match="either --grid or the value lists"):
        _points(argparse.Namespace(**{**base, "grid": str(toml), "d": "2"}))


def test_the_setting_is_the_cli_random_spec():
    """A row is reproducible with 'iclcheck critical --cov random:d=D,cond=K,seed=S': same Sigma, bit for bit."""
    from iclcheck.cli.inputs import parse_cov_spec
    from iclcheck.numerics.sweep import SweepPoint

    S = SweepPoint(d=3, cond=10, n=5, cov_seed=2).setting().Sigma
    np.testing.assert_array_equal(S, parse_cov_spec("random:d=3,cond=10,seed=2", exact=False))


def test_sweep_end_to_end_resume_json_and_plot(capsys, tmp_path):
    out, png = tmp_path / "atlas", tmp_path / "atlas.png"
    argv = ["--d", "2", "--cond", "1,10", "-n", "3", "--starts", "4", "--out", str(out), "--no-certify"]
    rc, text, err = _run(capsys, *argv, "--plot", str(png))
    assert rc == 0, err
    assert "computed 2, read back 0" in text and png.stat().st_size > 10_000
    assert len([ln for ln in err.splitlines() if ln.startswith("[")]) == 2  # a progress line per setting
    rc, text, err = _run(capsys, *argv, "--format", "json", "--quiet")
    assert rc == 0 and err == ""
    doc = json.loads(text)
    assert (doc["computed"], doc["skipped"]) == (0, 2)
    assert [(r["d"], r["cond"]) for r in doc["settings"]] == [(2, 1.0), (2, 10.0)]
    for r in doc["settings"]:
        assert r["starts"] == 4 and r["certified"] is None and r["n_minima"] >= 1


def test_sweep_help_imports_nothing_heavy():
    code = ("import sys, json\nfrom iclcheck.cli.main import build_parser\nbuild_parser(['sweep', '--help'])\n"
            "print(json.dumps(sorted(m for m in ('numpy', 'scipy', 'sympy', 'cvxpy', 'matplotlib', 'dask', "
            "'distributed', 'pyarrow') if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout) == []

