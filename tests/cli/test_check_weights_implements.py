"""CLI ``iclcheck check-weights``, the section "what the layers implement" (L >= 2): the family and its fitted a_l
named for a model built from (8) / (11) coefficients, the per-layer best algorithm, JSON, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iclcheck.cli import main
from iclcheck.numerics.families.gdpp import family_params
from iclcheck.numerics.weights import save_weights

COV = ("--cov", "diag:1,2,3", "--task-cov", "inv", "-n", "20")


def _model(tmp_path, a, b=None):
    Ps, Qs = (np.array(x) for x in family_params(np.diag([1.0, 2.0, 3.0]), a, b))
    f = tmp_path / "m.npz"
    save_weights(f, Ps, Qs)
    return str(f)


def test_a_gdpp_model_is_named_gdpp_in_the_table(tmp_path, capsys):
    f = _model(tmp_path, [0.36004297, 2.15695049, 7.71534795], [0.85889972, 0.51329098, 0.0])
    rc = main(["check-weights", f, *COV, "--samples", "20000", "--implements-prompts", "20000",
               "--max-steps", "6"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "what the layers implement" in out and "family: condition (11)" in out
    assert "exact: layer l computes l steps of GD++" in out and "a = [0.36, 2.157, 7.715]" in out
    rows = [ln.split() for ln in out.splitlines() if ln.strip().startswith(("2 ", "3 ")) and "GD++" in ln]
    assert [r[1] for r in rows] == ["GD++", "GD++"]


def test_json_carries_the_reading_and_a_gd_model_is_condition_8(tmp_path, capsys):
    f = _model(tmp_path, [0.5, 0.9])
    rc = main(["check-weights", f, *COV, "--samples", "20000", "--implements-prompts", "4000", "--max-steps", "3",
               "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    imp = out["implements"]
    assert imp["family"] == "8" and np.allclose(imp["a"], [0.5, 0.9])
    assert imp["best"][0]["algorithm"] == "pgd" and imp["best"][0]["k"] == 1
    assert out["loss"]["exact"]


def test_no_implements_and_bad_max_steps(tmp_path, capsys):
    f = _model(tmp_path, [0.5, 0.9])
    assert main(["check-weights", f, *COV, "--samples", "20000", "--no-implements"]) == 0
    assert "what the layers implement" not in capsys.readouterr().out
    rc = main(["check-weights", f, *COV, "--samples", "20000", "--max-steps", "100"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "max_steps" in err
    rc = main(["check-weights", f, *COV, "--samples", "20000", "--implements-prompts", "10"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "prompts" in err


def _trainer():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "train_pytorch_layout.py"
    spec = importlib.util.spec_from_file_location("train_pytorch_layout", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.train_pytorch_layout


@pytest.mark.slow
def test_slow_a_trained_pytorch_layout_model_is_read_layer_by_layer(tmp_path, capsys):
    from safetensors.numpy import save_file

    from iclcheck.theory.setting import Setting

    st = Setting.make(np.eye(3), 20, Sigma_w="inv")
    Ps, Qs = _trainer()(st, 3, steps=1500, seed=0)
    arrays = {}
    for l in range(3):
        arrays[f"layers.{l}.k_proj.weight"] = np.eye(4)
        arrays[f"layers.{l}.q_proj.weight"] = np.ascontiguousarray(Qs[l])
        arrays[f"layers.{l}.v_proj.weight"] = np.ascontiguousarray(Ps[l])
    f = tmp_path / "pt.safetensors"
    save_file(arrays, str(f))
    rc = main(["check-weights", str(f), "--convention", "pytorch", "--cov", "eye:3", "--task-cov", "inv", "-n", "20",
               "--samples", "50000", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    imp = out["implements"]
    # a_l written out here: Sigma = I, so a_l = tr(-c Q[:3, :3]) / 3 with c = W_V[3, 3]
    expected = [float(np.trace(-Ps[l][3, 3] * Qs[l][:3, :3]) / 3) for l in range(3)]
    np.testing.assert_allclose(imp["a"], expected, rtol=1e-12)
    assert imp["family"] in ("8", "11", None)
    assert [m["layer"] for m in imp["best"]] == [1, 2, 3]
    assert all(m["algorithm"] in ("gd", "pgd", "gdpp", "newton") and m["k"] >= 1 for m in imp["best"])
