"""The commands whose API call returns a result without the command's JSON shape (layers, certify, flow) or with
the command's labels added (gd-error): the CLI's JSON against the API call made directly."""

from __future__ import annotations

import numpy as np
import pytest

import iclcheck


def test_layers_is_optimal_layers(cli_json, api_json):
    from iclcheck.cli.commands.layers import LayersView

    st = iclcheck.setting(np.diag([1.0, 1.0, 0.25, 0.0625, 1.0]), 20, Sigma_w="inv")
    opt = iclcheck.optimal_layers(st, 3)
    got = cli_json("layers", "--cov", "diag:1,1,0.25,0.0625,1", "-n", "20", "-L", "3")
    assert got["coefficients"] == [float(a) for a in opt.coefficients] and got["loss"] == opt.loss
    assert got["certified_global_min"] is True
    want = api_json("layers", LayersView(st, "gd", 3, opt), setting=st, cov="diag:1,1,0.25,0.0625,1", task_cov=None)
    assert {k: v for k, v in got.items() if k != "setting"} == {k: v for k, v in want.items() if k != "setting"}


def test_gd_error_is_gd_error_with_its_label(cli_json):
    st = iclcheck.setting(np.eye(10), 20)
    res = iclcheck.gd_error(st, 12, eta=20 / 31, target="weights")
    got = cli_json("gd-error", "--cov", "eye:10", "-n", "20", "--steps", "12", "--eta", "20/31", "--target", "weights")
    assert got["precondition"] == "none" and got["error"] == res.error.tolist() and got["argmin"] == res.argmin == 5


def test_certify_is_certify(cli_json):
    st = iclcheck.setting([[1, 0], [0, 4]], 3)
    c = iclcheck.certify(st, exact=True)
    got = cli_json("certify", "--cov", "diag:1,4", "-n", "3", "--exact")
    assert got["certified"] is bool(c.certified) is True
    assert got["exact_loss"] == str(c.exact_loss) and got["lower_bound"] == pytest.approx(c.lower_bound, rel=1e-12)


def test_flow_is_flow(cli_json):
    st = iclcheck.setting(np.eye(3), 12, Sigma_w="inv")
    res = iclcheck.flow(st, "tied", init=0.1, t_max=30.0, L=3, samples=1001, rtol=1e-9, atol=1e-13, seed=0,
                        heads=1, rank=1, hessian=True)
    got = cli_json("flow", "--cov", "eye:3", "-n", "12", "--task-cov", "inv", "--model", "tied", "-L", "3",
                   "--init", "0.1", "--t-max", "30")
    assert got["final_loss"] == pytest.approx(float(res.loss[-1]), rel=1e-6)
    assert got["classification"] == res.classification


def test_check_weights_is_check_weights(tmp_path, cli_json, api_json):
    from iclcheck.cli.inputs import setting_from_args
    from iclcheck.cli.main import build_parser

    P, Q = np.zeros((2, 3, 3)), np.zeros((2, 3, 3))
    P[:, 2, 2] = 1.0
    Q[:, :2, :2] = -0.3 * np.eye(2)
    f = tmp_path / "w.npz"
    np.savez(f, P=P, Q=Q)
    argv = (str(f), "--cov", "diag:1,2", "-n", "5", "--samples", "1000", "--no-implements")
    st = setting_from_args(build_parser().parse_args(["check-weights", *argv]), exact=False)
    res = iclcheck.check_weights(f, st, samples=1000)
    assert cli_json("check-weights", *argv) == api_json("check-weights", res, setting=st, cov="diag:1,2", task_cov=None)


def test_list_is_claims(cli_json):
    got = cli_json("list")
    keys = [c.key for c in iclcheck.claims()]
    assert [c["key"] for c in got["claims"]] == keys and got["papers"] == len({c.paper for c in iclcheck.claims()})
