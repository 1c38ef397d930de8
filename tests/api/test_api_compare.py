"""``iclcheck.compare``: exact errors against independent closed forms, seeding, the plot file, bad options, and
the CLI's JSON body equal to the API result's ``to_dict()``."""

from __future__ import annotations

import numpy as np
import pytest

import iclcheck
from iclcheck import InputError


@pytest.fixture(scope="module")
def iso():
    st = iclcheck.setting(np.eye(2), 8, Sigma_w="inv")
    return st, iclcheck.compare(st, 2, samples=500, train_steps=0)


def test_zero_steps_error_is_the_prior_variance(iso):
    st, r = iso
    for c in r.curves:
        if c.steps[0] == 0 and c.exact[0] is not None:  # yhat_0 = 0: E (w^T x_q)^2 = tr(Sigma Sigma_w) = d
            assert c.exact[0] == pytest.approx(2.0, rel=1e-12), c.name


def test_optimal_two_layer_polynomial_is_the_layers_optimum(iso):
    st, r = iso
    poly = {c.name: c for c in r.curves}["opt-poly"]
    assert poly.exact[2] == pytest.approx(iclcheck.optimal_layers(st, 2).loss, rel=1e-9)
    assert poly.errors[2].contains(poly.exact[2])  # the Monte Carlo interval holds the exact value


def test_same_seed_same_errors(iso):
    st, r = iso
    again = iclcheck.compare(st, 2, samples=500, train_steps=0)
    assert [e.mean for c in again.curves for e in c.errors] == [e.mean for c in r.curves for e in c.errors]


def test_plot_is_written(tmp_path):
    f = tmp_path / "c.png"
    r = iclcheck.compare(iclcheck.setting(np.eye(2), 6, Sigma_w="inv"), 1, steps=2, samples=200, train_steps=0,
                         plot=f)
    assert f.stat().st_size > 0 and r.plot == str(f)


@pytest.mark.parametrize(("options", "name"), [({"train_steps": -1}, "train_steps"), ({"plot": "c.txt"}, "plot"),
                                               ({"samples": 10**8}, "samples")])
def test_bad_options_are_input_errors_naming_the_parameter(options, name):
    with pytest.raises(InputError) as exc:
        iclcheck.compare(iclcheck.setting(np.eye(2), 6), 1, **options)
    assert exc.value.what == name


def test_cli_json_body_is_the_api_result(cli_json, api_json):
    from iclcheck.cli.commands._lsa_common import setting_of
    from iclcheck.cli.main import build_parser

    argv = ("--cov", "diag:100,100,1,1", "-n", "8", "-L", "2", "--train-steps", "20", "--samples", "300")
    st = setting_of(build_parser().parse_args(["compare", *argv]))
    res = iclcheck.compare(st, 2, samples=300, train_steps=20)
    got, want = cli_json("compare", *argv), api_json("compare", res, setting=st, cov="diag:100,100,1,1", task_cov=None)
    for doc in (got, want):  # the trained LSA's wall time: the one value that differs
        assert doc["algorithms"]["lsa"]["params"].pop("seconds") >= 0
    assert got == want
