"""iclcheck gd-error: the table, the JSON envelope, and one line with exit 2 on bad input."""

import json

import pytest

from iclcheck.cli.main import main
from tests.cli.test_json_schema import validate_envelope


def test_json(capsys):
    assert main(["gd-error", "--cov", "eye:10", "-n", "20", "--steps", "6", "--eta", "20/31", "--target", "weights",
                 "--format", "json"]) == 0
    o = json.loads(capsys.readouterr().out)
    validate_envelope(o, "gd-error")
    assert o["steps"] == [1, 2, 3, 4, 5, 6] and abs(o["error"][0] - 110 / 31) < 1e-12
    assert o["argmin"] == 5 and len(o["heavy_tail"]) == 6


def test_table(capsys):
    assert main(["gd-error", "--cov", "diag:2,1", "-n", "6", "--steps", "3", "--precondition", "inverse"]) == 0
    out = capsys.readouterr().out
    assert "least error at k = 3" in out


@pytest.mark.parametrize("argv", [
    ["--cov", "diag:2,1", "-n", "6"],  # plain GD needs Sigma = c I
    ["--cov", "eye:2", "-n", "6", "--steps", "14"],
    ["--cov", "eye:2", "-n", "6", "--eta", "x"],
    ["--cov", "eye:2", "-n", "6", "--eta", "0"],
    ["--cov", "eye:2", "-n", "6", "--steps", "0"],
])
def test_bad_input_one_line_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as e:
        rc = main(["gd-error", *argv])
        raise SystemExit(rc)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
