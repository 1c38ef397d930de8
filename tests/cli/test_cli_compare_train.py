"""CLI: JSON shape and exit codes of ``iclcheck compare`` and ``iclcheck train``."""

import json

from iclcheck.cli import main


def test_train_json_shape(capsys):
    rc = main(["train", "--cov", "eye:2", "--task-cov", "inv", "-n", "6", "-L", "2", "--steps", "30",
               "--batch", "64", "--samples", "2000", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["coefficients"]) == 2 and len(out["dist_A"]) == 2
    assert out["optimum"]["loss"] > 0 and len(out["gap_ci"]) == 2 and out["loss_ci"][0] <= out["loss"]


def test_compare_json_shape_and_plot(capsys, tmp_path):
    png = tmp_path / "c.png"
    rc = main(["compare", "--cov", "eye:2", "--task-cov", "inv", "-n", "6", "-L", "2", "--steps", "3",
               "--samples", "200", "--train-steps", "5", "--plot", str(png), "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["algorithms"]) == {"gd", "pgd", "opt-poly", "gdpp", "newton", "ols", "bayes", "lsa"}
    assert len(out["algorithms"]["gd"]["errors"]) == 4 and png.stat().st_size > 0
    m = out["similarity"]["lsa_vs_newton"]
    assert len(m["best_step"]) == 2 and all(0 <= k <= 3 for k in m["best_step"])
    assert all(-1.0 <= v <= 1.0 for v in m["sim_e"])


def test_bad_input_exits_2(capsys, tmp_path):
    assert main(["train", "--cov", "diag:1,-1", "-n", "5", "-L", "2"]) == 2
    missing = tmp_path / "no-such-dir" / "x.png"  # a fixed path such as /nonexistent may exist (root can create it)
    assert main(["compare", "--cov", "eye:2", "-n", "5", "-L", "2", "--plot", str(missing)]) == 2
    assert main(["train", "--cov", "eye:2", "-n", "5", "-L", "2", "--lr", "-1"]) == 2
    err = capsys.readouterr().err
    assert all(len(line) < 300 for line in err.strip().splitlines())
