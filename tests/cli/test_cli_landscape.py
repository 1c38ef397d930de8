"""``iclcheck critical`` and ``iclcheck certify`` end to end (through iclcheck.cli.main): JSON shape, the
issue's own commands, exit codes, bad input, the plot. Expected numbers come from other routes: L* from
OneLayer.min_loss (reduced model), the best rank-one loss from Eckart-Young."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iclcheck.cli import main
from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics.one_layer import OneLayer, sqrtm_psd
from iclcheck.theory.setting import Setting

SPEC = "random:d=3,cond=10,seed=1"


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def ol():
    return OneLayer(Setting.make(parse_cov_spec(SPEC, exact=False), 5))


def test_critical_json_lists_the_points(capsys, ol):
    rc, out, _ = run_cli(capsys, "critical", "--cov", SPEC, "-n", "5", "--starts", "64", "--format", "json")
    assert rc == 0
    data = json.loads(out)
    assert {"points", "predicted_loss", "starts", "nonconverged"} <= set(data)
    assert data["starts"] == 64
    for p in data["points"]:
        assert {"loss", "kind", "index", "grad_norm", "count", "gamma", "distance_to_predicted"} <= set(p)
        assert p["kind"] in ("global-min", "local-min", "saddle")
        assert (p["index"] > 0) == (p["kind"] == "saddle")
        assert np.asarray(p["gamma"]).shape == (3, 3)
        assert p["grad_norm"] <= data["grad_tol"]
    assert data["predicted_loss"] == pytest.approx(ol.min_loss(), rel=1e-12)
    best = data["points"][0]
    assert best["kind"] == "global-min" and best["distance_to_predicted"] < 1e-7
    np.testing.assert_allclose(best["gamma"], ol.gamma_star(), rtol=1e-6, atol=1e-9)
    assert sum(p["count"] for p in data["points"]) + len(data["nonconverged"]) == data["runs"] == 128
    # the spurious local minimum: best rank-one reduced loss (Eckart-Young)
    T = np.linalg.solve(sqrtm_psd(ol.S), ol.SWS) @ np.linalg.inv(sqrtm_psd(ol.M))
    rank_one = float(np.trace(ol.SW)) - np.linalg.svd(T, compute_uv=False)[0] ** 2
    local = [p for p in data["points"] if p["kind"] == "local-min"]
    assert len(local) == 1 and local[0]["loss"] == pytest.approx(rank_one, rel=1e-10)


def test_critical_table_and_plot(capsys, tmp_path):
    png = tmp_path / "land.png"
    rc, out, _ = run_cli(capsys, "critical", "--cov", "diag:1,3", "-n", "4", "--starts", "6", "--plot", str(png))
    assert rc == 0 and "global-min" in out and "non-converged runs" in out
    assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_certify_json_certifies_the_issue_setting(capsys, ol):
    rc, out, _ = run_cli(capsys, "certify", "--cov", SPEC, "-n", "5", "--format", "json")
    data = json.loads(out)
    assert rc == 0
    assert {"lower_bound", "predicted_loss", "gap", "certified", "solver", "status", "statement"} <= set(data)
    assert data["certified"] is True and data["solver"] == "CLARABEL" and data["status"] == "optimal"
    assert data["predicted_loss"] == pytest.approx(ol.min_loss(), rel=1e-10)
    assert abs(data["gap"]) <= data["gap_tolerance"]


def test_certify_table_and_not_certified_exit_status(capsys, monkeypatch):
    rc, out, _ = run_cli(capsys, "certify", "--cov", "diag:1,2", "-n", "3", "--covariates", "uniform")
    assert rc == 0 and "certified" in out and "yes" in out
    import cvxpy as cp

    def boom(self, *a, **k):
        raise cp.error.SolverError("simulated")

    monkeypatch.setattr(cp.Problem, "solve", boom)
    rc, out, _ = run_cli(capsys, "certify", "--cov", "diag:1,2", "-n", "3", "--format", "json")
    assert rc == 1 and json.loads(out)["certified"] is False


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["critical", "--cov", "eye:2", "-n", "3", "--starts", "0"], "--starts"),
        (["critical", "--cov", "eye:2", "-n", "3", "--seed", "-1"], "--seed"),
        (["critical", "--cov", "diag:1,-1", "-n", "3"], "--cov"),
        (["critical", "--cov", "eye:2", "-n", "0"], "-n"),
        (["critical", "--cov", "eye:2", "-n", "3", "--plot", "/nonexistent-dir/x.png", "--starts", "1"], "--plot"),
        (["critical", "--cov", "eye:2", "-n", "3", "--plot", "x.txt", "--starts", "1"], "--plot"),
        (["certify", "--cov", "eye:7", "-n", "3"], "--cov"),
        (["certify", "--cov", "eye:2", "-n", "3", "--gap-tol", "-1"], "--gap-tol"),
        (["certify", "--cov", "eye:2", "-n", "3", "--noise", "-1"], "--noise"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, flag):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err
