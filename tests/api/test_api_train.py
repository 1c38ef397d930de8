"""``iclcheck.train``: the learned coefficients against the closed-form optimum, seeding, bad options, the saved
weights, and the CLI's JSON body equal to the API result's ``to_dict()``."""

from __future__ import annotations

import numpy as np
import pytest

import iclcheck
from iclcheck import InputError


@pytest.fixture(scope="module")
def one_layer():
    st = iclcheck.setting(np.eye(2), 10, Sigma_w="inv")
    return st, iclcheck.train(st, 1, steps=300, samples=20_000, seed=1)


def test_one_layer_learns_the_closed_form_optimum(one_layer):
    st, r = one_layer
    a_opt, f_opt = r.optimum
    assert float(a_opt[0]) == pytest.approx(10 / 13, rel=1e-9)  # Sigma = Sigma_w = I: Gamma* = n/(n+d+1) I
    assert f_opt == pytest.approx(iclcheck.min_loss(st), rel=1e-9)  # the one-layer optimum of the reduced model
    assert abs(r.layers[0]["a"] - 10 / 13) < 0.05
    assert r.gap.ci[0] < 0.05 * f_opt and r.loss.mean > 0


def test_same_seed_same_model(one_layer):
    st, r = one_layer
    again = iclcheck.train(st, 1, steps=300, samples=20_000, seed=1)
    np.testing.assert_array_equal(again.run.Ps, r.run.Ps)
    assert again.loss.mean == r.loss.mean


def test_no_optimum_outside_the_family_setting():
    r = iclcheck.train(iclcheck.setting(np.diag([1.0, 2.0]), 10), 2, steps=20, samples=2000)
    assert r.optimum is None and r.gap is None and "Sigma" in r.optimum_note
    assert r.to_dict()["optimum"] is None


@pytest.mark.parametrize(("options", "name"), [
    ({"clip": -1.0}, "clip"), ({"lr": 0.0}, "lr"), ({"warmup": -2}, "warmup"), ({"samples": 10**9}, "samples"),
    ({"save_weights": "w.txt"}, "save_weights"), ({"steps": 10**9}, "steps")])
def test_bad_options_are_input_errors_naming_the_parameter(options, name):
    with pytest.raises(InputError) as exc:
        iclcheck.train(iclcheck.setting(np.eye(2), 5), 1, **options)
    assert exc.value.what == name


def test_too_many_layers_is_refused():
    with pytest.raises(InputError, match="at most 64 layers"):
        iclcheck.train(iclcheck.setting(np.eye(2), 5), 65)


def test_saved_weights_read_back(tmp_path):
    st = iclcheck.setting(np.eye(2), 6, Sigma_w="inv")
    f = tmp_path / "w.npz"
    r = iclcheck.train(st, 2, steps=10, samples=2000, save_weights=f, metadata={"note": "test"})
    w = iclcheck.load_weights(f)
    np.testing.assert_array_equal(w.Ps, r.run.Ps)
    assert w.metadata["note"] == "test" and w.metadata["L"] == 2 and r.to_dict()["weights_file"] == str(f)


def test_cli_json_body_is_the_api_result(cli_json, api_json):
    argv = ("--cov", "eye:3", "--task-cov", "inv", "-n", "10", "-L", "2", "--family", "gdpp", "--steps", "30",
            "--samples", "3000", "--seed", "4")
    from iclcheck.cli.commands._lsa_common import setting_of
    from iclcheck.cli.main import build_parser

    st = setting_of(build_parser().parse_args(["train", *argv]))  # the CLI's setting (float, from the spec)
    res = iclcheck.train(st, 2, family="gdpp", steps=30, samples=3000, seed=4)
    got, want = cli_json("train", *argv), api_json("train", res, setting=st, cov="eye:3", task_cov="inv")
    assert got.pop("seconds") >= 0 and want.pop("seconds") >= 0  # wall time: the one key that differs
    assert got == want
