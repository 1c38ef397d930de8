"""``iclcheck layers``: JSON contract, the whitening invariance, bad input -> one line, exit 2."""

import json

import numpy as np
import pytest

from iclcheck.cli import main
from iclcheck.theory.multilayer import optimal_gd_exact


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_contract_and_exact_values(capsys):
    out = _json(capsys, ["layers", "--cov", "eye:5", "-n", "20", "-L", "3", "--format", "json"])
    assert set(out) >= {"coefficients", "loss"}
    assert isinstance(out["coefficients"], list) and len(out["coefficients"]) == 3
    exact = optimal_gd_exact(3, n=20, d=5)  # rational solve + real-root isolation: the exact route
    np.testing.assert_allclose(out["coefficients"], exact.a_float(), rtol=1e-12)
    assert out["loss"] == pytest.approx(float(exact.loss), rel=1e-12)
    assert out["certified_global_min"] is True


def test_non_identity_sigma_explains_family_and_matches_identity(capsys):
    a = _json(capsys, ["layers", "--cov", "diag:1,1,0.25,0.0625,1", "-n", "20", "-L", "2", "--format", "json"])
    b = _json(capsys, ["layers", "--cov", "eye:5", "-n", "20", "-L", "2", "--format", "json"])
    assert "Sigma^-1" in a["note"]
    np.testing.assert_allclose(a["coefficients"], b["coefficients"], rtol=1e-12)


def test_gdpp_json(capsys):
    out = _json(capsys, ["layers", "-n", "20", "-L", "2", "--family", "gdpp", "--starts", "4", "--format", "json"])
    assert len(out["b_coefficients"]) == 2 and out["b_coefficients"][1] == 0.0
    assert out["loss"] < 0.3612  # below the certified gd optimum for L = 2 (GD++ contains GD: b = 0)


def test_table_output(capsys):
    assert main(["layers", "-n", "10", "-L", "2", "--noise", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "minimal loss" in text and "certified" in text


@pytest.mark.parametrize("argv,msg", [
    (["layers", "--cov", "bogus", "-n", "5", "-L", "2"], "--cov"),
    (["layers", "-n", "5", "-L", "0"], "-L"),
    (["layers", "-n", "5", "-L", "2", "--noise", "-1"], "--noise"),
    (["layers", "-n", "5", "-L", "4", "--family", "gdpp"], "-L"),
    (["layers", "--cov", "diag:1,-2", "-n", "5", "-L", "2"], "positive definite"),
])
def test_bad_input_one_line_exit_2(capsys, argv, msg):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_shared_spec_grammar(capsys):
    """iclcheck.cli.inputs grammar: random:d=..,cond=..,seed=.. and exact a/b entries; Sigma does not change the answer."""
    r = _json(capsys, ["layers", "--cov", "random:d=3,cond=50,seed=2", "-n", "9", "-L", "2", "--format", "json"])
    e = _json(capsys, ["layers", "--cov", "eye:3", "-n", "9", "-L", "2", "--noise", "0", "--format", "json"])
    np.testing.assert_allclose(r["coefficients"], e["coefficients"], rtol=1e-12)
    q = _json(capsys, ["layers", "--cov", "diag:1,1/4", "-n", "5", "-L", "1", "--noise", "1/10", "--format", "json"])
    assert q["coefficients"][0] == pytest.approx(5 / (5 + 2 + 1 + 0.1), rel=1e-12)  # n / (n + d + 1 + sigma2)
