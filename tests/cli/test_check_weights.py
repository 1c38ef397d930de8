"""CLI ``iclcheck check-weights``: the issue's PyTorch-layout case (1.68 with the convention named, 18.97 and a
warning without it), JSON, one-line errors, and the round trip train --save-weights -> check-weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iclcheck.cli import main
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.setting import Setting

S_DIAG, N = (1.0, 2.0, 3.0), 10  # --cov diag:1,2,3 -n 10, Sigma_w = I


def closed_form_min_loss() -> float:
    """Diagonal Sigma, Sigma_w = I, Gaussian: Gamma*_ii = 1/(a s_i + b), a = (n+1)/n, b = tr(Sigma)/n and
    L* = sum s_i - sum s_i^2 Gamma*_ii (written out here, independently of OneLayer)."""
    a, b = (N + 1) / N, sum(S_DIAG) / N
    return sum(S_DIAG) - sum(s * s / (a * s + b) for s in S_DIAG)


def optimum_in_pytorch_layout() -> dict[str, np.ndarray]:
    """The one-layer optimum P = e e^T, Q = -[[Gamma*^T, 0], [0, 0]] stored as a PyTorch-layout model would learn
    it: prediction +[Z]_{d+1,n+1}, so W_V = -P; W_K = I, W_Q = Q (Q = W_K^T W_Q)."""
    a, b = (N + 1) / N, sum(S_DIAG) / N
    P, Q = np.zeros((4, 4)), np.zeros((4, 4))
    P[3, 3] = 1.0
    Q[:3, :3] = -np.diag([1.0 / (a * s + b) for s in S_DIAG])
    return {"W_K": np.eye(4), "W_Q": Q, "W_V": -P}


def _run(capsys, *argv):
    rc = main(["check-weights", *argv, "--cov", "diag:1,2,3", "-n", str(N)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_pytorch_layout_reports_the_true_loss_with_the_convention_named(tmp_path, capsys):
    f = tmp_path / "pt.npz"
    W = optimum_in_pytorch_layout()
    np.savez(f, **W)
    rc, out, _ = _run(capsys, str(f), "--convention", "pytorch", "--format", "json")
    assert rc == 0
    res = json.loads(out)
    st = Setting.make(np.diag(S_DIAG), N)
    mapped = OneLayer(st).loss(-W["W_V"], W["W_K"].T @ W["W_Q"])  # the canonical loss of the mapped weights
    assert res["loss"]["exact"] and res["loss"]["value"] == pytest.approx(mapped, rel=1e-12)
    assert res["loss"]["value"] == pytest.approx(closed_form_min_loss(), rel=1e-12)
    assert round(res["loss"]["value"], 2) == 1.68  # the figure
    assert res["warnings"] == []
    assert abs(res["gap"]["value"]) < 1e-12 and res["layers"][0]["distance"] < 1e-12


def test_the_same_model_read_as_canonical_gives_1897_and_warns(tmp_path, capsys):
    W = optimum_in_pytorch_layout()
    f = tmp_path / "as_canonical.npz"
    np.savez(f, P=W["W_V"], Q=W["W_K"].T @ W["W_Q"])  # P = W_V, Q = W_K^T W_Q fed to the canonical model
    rc, out, _ = _run(capsys, str(f))
    assert rc == 0
    assert "loss 18.97" in out
    warn = [line for line in out.splitlines() if "WARNING" in line]
    assert warn and "prediction sign gives a much lower loss: 1.676 (exact)" in warn[0]
    rc, out, _ = _run(capsys, str(f), "--format", "json")
    res = json.loads(out)
    assert round(res["loss"]["value"], 2) == 18.97
    flips = {f["flip"]: f["value"] for f in res["flips"]}
    assert flips["prediction sign"] == pytest.approx(closed_form_min_loss(), rel=1e-12)


def test_bad_files_exit_2_with_one_line(tmp_path, capsys):
    import pickle

    bad = tmp_path / "model.pkl"
    bad.write_bytes(pickle.dumps({"P": 1}))
    rc, out, err = _run(capsys, str(bad))
    assert rc == 2 and "pickle" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    wrong = tmp_path / "w.npz"
    np.savez(wrong, P=np.eye(3), Q=np.eye(3))  # d = 2 against --cov diag:1,2,3
    rc, out, err = _run(capsys, str(wrong))
    assert rc == 2 and "d = 2" in err and len(err.strip().splitlines()) == 1
    rc, out, err = _run(capsys, str(tmp_path / "missing.npz"))
    assert rc == 2 and "no such file" in err and len(err.strip().splitlines()) == 1


def test_train_save_weights_round_trip(tmp_path, capsys):
    f = tmp_path / "trained.safetensors"
    rc = main(["train", "--cov", "eye:2", "--task-cov", "inv", "-n", "6", "-L", "2", "--steps", "60", "--batch",
               "128", "--samples", "20000", "--seed", "3", "--save-weights", str(f), "--format", "json"])
    assert rc == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["weights_file"] == str(f)
    rc = main(["check-weights", str(f), "--cov", "eye:2", "--task-cov", "inv", "-n", "6", "--format", "json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["L"] == 2 and res["metadata"]["family"] == "gd" and res["metadata"]["steps"] == 60
    # the learned coefficients read back are those train reported
    np.testing.assert_allclose([e["a"] for e in res["layers"]], trained["coefficients"], rtol=1e-12)
    # gd family, L = 2, w ~ N(0, Sigma^-1): the exact (Wick) loss, inside train's Monte Carlo interval
    assert res["loss"]["exact"]
    lo, hi = trained["loss_ci"]
    assert lo <= res["loss"]["value"] <= hi
    assert res["reference"]["loss"] == pytest.approx(trained["optimum"]["loss"], rel=1e-12)


def test_save_weights_needs_a_known_suffix(capsys):
    rc = main(["train", "--cov", "eye:2", "-n", "6", "-L", "1", "--steps", "5", "--save-weights", "w.txt"])
    assert rc == 2 and "--save-weights" in capsys.readouterr().err
