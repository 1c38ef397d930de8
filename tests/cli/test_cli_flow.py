"""iclcheck flow: JSON envelope, plateaus against the encoded plateau losses (numerics.families.restricted), the plot file, and
one line with exit 2 on bad input."""

import json

import numpy as np
import pytest

from iclcheck.cli.main import main
from iclcheck.numerics.families.restricted import plateau_losses
from iclcheck.theory.setting import Setting
from tests.cli.test_json_schema import validate_envelope


def test_attnS_json_and_plot(capsys, tmp_path):
    png = tmp_path / "f.png"
    assert main(["flow", "--cov", "diag:0.4,0.3", "-n", "31", "--model", "attnS", "--heads", "2", "--init", "0.01",
                 "--t-max", "4000", "--samples", "401", "--plot", str(png), "--format", "json"]) == 0
    o = json.loads(capsys.readouterr().out)
    validate_envelope(o, "flow")
    want = plateau_losses(Setting.make(np.diag([0.4, 0.3]), 31))
    assert [round(p["loss"], 3) for p in o["plateaus"]] == [round(v, 3) for v in want[:2]]
    assert abs(o["final_loss"] - want[2]) < 1e-8 and o["invariant_drift"] < 1e-8
    assert png.stat().st_size > 1000


def test_table(capsys):
    assert main(["flow", "--cov", "eye:3", "-n", "12", "--task-cov", "inv", "--model", "tied", "-L", "3", "--init",
                 "0.1", "--t-max", "30", "--samples", "101"]) == 0
    assert "final loss 0.21495" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["--t-max", "-1"], ["--t-max", "inf"], ["--init", "x"], ["--rtol", "0"], ["--samples", "2"],
    ["--model", "nope"], ["--heads", "0"],
])
def test_bad_input_one_line_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(["flow", "--cov", "eye:2", "-n", "5", *argv]))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
