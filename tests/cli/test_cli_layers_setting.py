"""``iclcheck layers`` takes check-weights' setting flags: --task-cov inv (or a SPEC equal to Sigma^-1) and Gaussian
covariates are honoured; any other prior or law is one line naming the flag, exit 2."""

import json

import numpy as np
import pytest

from iclcheck.cli import main


def _json(capsys, argv):
    assert main(argv + ["--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_task_cov_inv_and_an_equal_spec_give_the_default_answer(capsys):
    base = ["layers", "--cov", "diag:1,2,4", "-n", "10", "-L", "2"]
    default = _json(capsys, base)
    inv = _json(capsys, base + ["--task-cov", "inv"])
    spec = _json(capsys, base + ["--task-cov", "diag:1,0.5,0.25"])  # Sigma^-1 written out
    for other in (inv, spec):
        assert other["loss"] == default["loss"]
        assert other["coefficients"] == default["coefficients"]
    # independent route: the L = 1 optimum of the whitened problem is one GD step a = n/(n+d+1) (Ahn et al. eq. (7)
    # after whitening, w ~ N(0, Sigma^-1)), so the family's a_0 at L = 1 is that scalar
    one = _json(capsys, ["layers", "--cov", "diag:1,2,4", "-n", "10", "-L", "1", "--task-cov", "inv"])
    assert one["coefficients"] == pytest.approx([10 / (10 + 3 + 1)], rel=1e-10)


def test_identity_prior_is_honoured_only_at_sigma_identity(capsys):
    a = _json(capsys, ["layers", "--cov", "eye:3", "-n", "10", "-L", "2", "--task-cov", "eye:3"])
    b = _json(capsys, ["layers", "--cov", "eye:3", "-n", "10", "-L", "2"])
    assert a["loss"] == b["loss"] and np.isfinite(a["loss"])


@pytest.mark.parametrize(("extra", "flag"), [
    (["--cov", "diag:1,2,4", "--task-cov", "eye:3"], "--task-cov"),
    (["--cov", "eye:3", "--task-cov", "diag:1,2,3"], "--task-cov"),
    (["--cov", "eye:3", "--covariates", "uniform"], "--covariates"),
    (["--cov", "eye:3", "--covariates", "rademacher"], "--covariates"),
    (["--cov", "eye:3", "--task-cov", "eye:2"], "--task-cov"),
])
def test_a_setting_the_family_cannot_honour_is_one_line_naming_the_flag(capsys, extra, flag):
    assert main(["layers", "-n", "10", "-L", "2", *extra]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and flag in err and "Traceback" not in err
