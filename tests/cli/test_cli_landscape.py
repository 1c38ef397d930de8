"""``iclcheck critical`` and ``iclcheck certify`` end to end (through iclcheck.cli.main): JSON shape, the
issue's own commands, exit codes, bad input, the plot. Expected numbers come from other routes: L* from
OneLayer.min_loss (reduced model), the best rank-one loss from Eckart-Young."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iclcheck.cli import main
from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.setting import Setting

SPEC = "random:d=3,cond=10,seed=1"


def run_cli(capsys, *argv):
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse's own errors (one line, exit 2)
        rc = exc.code
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
    assert 0 <= data["gap"] <= data["gap_tolerance"]
    assert data["lower_bound"] <= data["predicted_loss"] <= data["predicted_upper"]


@pytest.mark.parametrize("solver", ["SCS", "OSQP", "CLARABEL"])
def test_certify_bound_is_below_the_attained_loss_for_each_solver(capsys, ol, solver):
    """The issue's command: SCS used to certify f >= 5.66338285 while f(Gamma*) = 5.66338235."""
    rc, out, _ = run_cli(capsys, "certify", "--cov", SPEC, "-n", "5", "--solver", solver, "--format", "json")
    data = json.loads(out)
    attained = ol.loss(*ol.params_from_gamma(ol.gamma_star()))  # the closed form, another route
    assert rc == (0 if data["certified"] else 1)
    if data["certified"]:
        assert data["lower_bound"] <= attained
        assert f"{data['lower_bound']:.12g}" in data["statement"]


@pytest.mark.parametrize(
    "argv,why",
    [
        (["--cov", "random:d=3,cond=1e11,seed=1", "-n", "4"], "not provably positive"),
        (["--cov", "random:d=3,cond=100,seed=1", "-n", "1000000000000"], "Not certified"),
    ],
)
def test_certify_former_crashes_are_not_certified_exit_1(capsys, argv, why):
    rc, out, err = run_cli(capsys, "certify", *argv, "--format", "json")
    assert rc == 1 and "Traceback" not in err
    data = json.loads(out)
    assert data["certified"] is False and why in data["statement"]


@pytest.mark.parametrize(
    "argv,why",
    [
        (["--cov", "diag:1e-300", "-n", "4"], "below 1e-40"),  # the loss would underflow: refused up front
        (["--cov", "random:d=3,cond=100,seed=1", "-n", "999999999999999999999999999999"], "at most 1e+15"),
    ],
)
def test_certify_former_crashes_out_of_scale_are_bad_input(capsys, argv, why):
    rc, out, err = run_cli(capsys, "certify", *argv, "--format", "json")
    assert rc == 2 and out == "" and "Traceback" not in err and why in err and len(err.strip().splitlines()) == 1


def test_certify_exact_is_rational(capsys):
    rc, out, _ = run_cli(capsys, "certify", "--cov", "diag:1,4", "-n", "3", "--covariates", "rademacher",
                         "--exact", "--format", "json")
    data = json.loads(out)
    assert rc == 0 and data["certified"] and data["exact"]
    from fractions import Fraction

    from iclcheck.theory.one_layer import min_loss_exact

    s = Setting.make(parse_cov_spec("diag:1,4"), 3, covariates="rademacher")
    assert Fraction(data["exact_bound"]) == Fraction(data["exact_loss"]) == Fraction(str(min_loss_exact(s)))


def test_certify_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["certify", "--help"])
    out = capsys.readouterr().out
    for line in ("0  certified", "1  not certified", "2  bad input", "3  numerical failure"):
        assert line in out


def test_command_modules_are_light_at_import():
    import subprocess
    import sys

    code = ("import sys, iclcheck.cli.commands.certify, iclcheck.cli.commands.critical; "
            "bad = [m for m in ('cvxpy', 'scipy', 'iclcheck.numerics.certificate', 'iclcheck.numerics.critical') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mirrored_limits_match_the_library():
    from iclcheck.cli.commands import certify as cc
    from iclcheck.cli.commands import critical as kc
    from iclcheck.numerics import certificate as nc
    from iclcheck.numerics import critical as nk

    assert (cc.MAX_CERT_DIM, cc.MAX_EXACT_CERT_DIM, cc.MAX_GAP_TOL, cc.QP_SOLVERS) == (
        nc.MAX_CERT_DIM, nc.MAX_EXACT_CERT_DIM, nc.MAX_GAP_TOL, nc.QP_SOLVERS)
    assert (kc.MAX_CRITICAL_DIM, kc.MAX_STARTS, kc.MAX_SEED) == (nk.MAX_CRITICAL_DIM, nk.MAX_STARTS, nk.MAX_SEED)


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
        (["critical", "--cov", "eye:2", "-n", "3", "--plot", "MISSING_DIR/x.png", "--starts", "1"], "--plot"),
        (["critical", "--cov", "eye:2", "-n", "3", "--plot", "x.txt", "--starts", "1"], "--plot"),
        (["critical", "--cov", "eye:2", "-n", "3", "--seed", str(2**63)], "--seed"),
        (["critical", "--cov", "eye:2", "-n", "3", "--starts", "1e9"], "--starts"),
        (["critical", "--cov", "eye:2", "-n", "3", "--starts", "10001"], "--starts"),
        (["critical", "--cov", "eye:1000", "-n", "3"], "--cov"),
        (["critical", "--cov", "random:d=51,cond=2", "-n", "3"], "--cov"),  # d > MAX_CRITICAL_DIM = 50
        (["certify", "--cov", "eye:41", "-n", "3"], "--cov"),  # d > MAX_CERT_DIM = 40
        (["certify", "--cov", "eye:10000", "-n", "3"], "--cov"),
        (["certify", "--cov", "eye:11", "-n", "3", "--exact"], "--cov"),
        (["certify", "--cov", "random:d=2,cond=3", "-n", "3", "--exact"], "--exact"),
        (["certify", "--cov", "diag:2,3", "-n", "3", "--exact", "--covariates", "uniform"], "--cov"),
        (["certify", "--cov", "eye:2", "-n", "3", "--gap-tol", "-1"], "--gap-tol"),
        (["certify", "--cov", "eye:2", "-n", "3", "--gap-tol", "inf"], "--gap-tol"),
        (["certify", "--cov", "eye:2", "-n", "3", "--gap-tol", "nan"], "--gap-tol"),
        (["certify", "--cov", "eye:2", "-n", "3", "--gap-tol", "0"], "--gap-tol"),
        (["certify", "--cov", "eye:2", "-n", "3", "--solver", "NOPE"], "--solver"),
        (["certify", "--cov", "eye:2", "-n", "3", "--noise", "-1"], "--noise"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path, argv, flag):
    # MISSING_DIR: a directory that surely does not exist (a fixed path such as /nonexistent may, under root)
    argv = [a.replace("MISSING_DIR", str(tmp_path / "no-such-dir")) for a in argv]
    import iclcheck.numerics.certificate as nc
    import iclcheck.numerics.critical as nk

    def no_work(*a, **k):
        raise AssertionError("computation started before the input was refused")

    monkeypatch.setattr(nc, "_certify_float", no_work)  # bad options are refused before any work
    monkeypatch.setattr(nk, "find_critical_points", no_work)
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err
