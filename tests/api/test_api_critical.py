"""``iclcheck.critical_points``: the global minimum against the closed-form Gamma*, the JSON body and the binary
arrays of ``Landscape``, and the CLI's JSON body equal to the API result's ``to_dict()``."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import iclcheck


@pytest.fixture(scope="module")
def land():
    return iclcheck.critical_points(iclcheck.setting(np.diag([1.0, 2.0]), 3), starts=6, methods=("descent",))


def test_global_minimum_implements_the_closed_form(land):
    # Gamma*_ii = 1 / ((n+1)/n s_i + tr(Sigma)/n), Sigma = diag(1, 2), n = 3
    want = [float(1 / (Fraction(4, 3) * s + Fraction(3, 3))) for s in (1, 2)]
    best = land.points[0]
    assert best.kind == "global-min" and land.methods == ("descent",)
    np.testing.assert_allclose(np.diag(best.gamma), want, rtol=1e-7)
    assert best.loss == pytest.approx(land.predicted_loss, rel=1e-10)


def test_to_dict_and_out_arrays_carry_the_same_points(land):
    body = land.to_dict()
    arrays, _ = land.out_arrays(False)
    assert len(body["points"]) == len(land.points) == arrays["gammas"].shape[0]
    np.testing.assert_array_equal(arrays["gammas"][0], np.array(body["points"][0]["gamma"]))
    np.testing.assert_array_equal(arrays["losses"], [p["loss"] for p in body["points"]])
    assert set(land.out_arrays(True)[0]) == {"gammas"}


def test_plot_is_written(tmp_path):
    f = tmp_path / "l.png"
    iclcheck.critical_points(iclcheck.setting(np.eye(2), 4), starts=2, plot=f)
    assert f.stat().st_size > 0


def test_bad_plot_is_refused_before_any_work(tmp_path):
    with pytest.raises(iclcheck.InputError, match="must end in"):
        iclcheck.critical_points(iclcheck.setting(np.eye(2), 4), starts=2, plot=tmp_path / "l.txt")


def test_cli_json_body_is_the_api_result(cli_json, api_json):
    from iclcheck.cli.inputs import setting_from_args
    from iclcheck.cli.main import build_parser

    argv = ("--cov", "random:d=3,cond=10,seed=1", "-n", "5", "--starts", "4", "--noise", "0.1")
    st = setting_from_args(build_parser().parse_args(["critical", *argv]), exact=False)
    res = iclcheck.critical_points(st, starts=4)
    assert cli_json("critical", *argv) == api_json("critical", res, setting=st, cov=argv[1], task_cov=None)
