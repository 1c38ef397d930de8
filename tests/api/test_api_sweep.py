"""``iclcheck.sweep``: the census against the one-layer closed form and the critical-point search run directly,
resuming, bad arguments, and the CLI's JSON body equal to the API result's ``to_dict()``."""

from __future__ import annotations

import numpy as np
import pytest

import iclcheck
from iclcheck import InputError

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def census(tmp_path_factory):
    out = tmp_path_factory.mktemp("atlas")
    return out, iclcheck.sweep({"d": [2], "cond": [1.0, 10.0], "n": [3]}, out, starts=4)


def test_global_level_is_the_closed_form_optimum(census):
    from iclcheck.numerics.sweep import SweepPoint

    _, r = census
    assert r.summary.computed == 2 and not r.summary.failed
    for row in r.rows:
        st = SweepPoint(d=row["d"], cond=row["cond"], n=row["n"]).setting()
        assert row["predicted_loss"] == pytest.approx(iclcheck.min_loss(st), rel=1e-8)
        if row["global_reached"]:
            assert row["global_loss"] == pytest.approx(row["predicted_loss"], rel=1e-8)


def test_a_rerun_reads_back(census):
    out, r = census
    again = iclcheck.sweep({"d": [2], "cond": [1.0, 10.0], "n": [3]}, out, starts=4)
    assert (again.summary.computed, again.summary.skipped) == (0, 2)
    assert again.rows == r.rows


def test_points_and_lists_agree(census):
    from iclcheck.numerics.sweep import grid

    out, r = census
    again = iclcheck.sweep(grid(d=[2], cond=[10.0, 1.0], n=[3]), out, starts=4)
    assert again.rows == r.rows


@pytest.mark.parametrize(("settings", "options", "name"), [
    ("d=2", {}, "settings"), ({"d": [2], "cond": [1.0], "n": [3]}, {"jobs": 2, "scheduler": "tcp://x:1"}, "jobs"),
    ({"d": [2], "cond": [1.0], "n": [3]}, {"plot": "a.txt"}, "plot file"),
    ({"d": [99], "cond": [1.0], "n": [3]}, {}, "d")])
def test_bad_arguments_are_input_errors_naming_the_parameter(tmp_path, settings, options, name):
    with pytest.raises(InputError) as exc:
        iclcheck.sweep(settings, tmp_path / "atlas", **options)
    assert exc.value.what == name


def test_cli_json_body_is_the_api_result(census, cli_json, api_json):
    out, res = census
    got = cli_json("sweep", "--d", "2", "--cond", "1,10", "-n", "3", "--starts", "4", "--out", str(out), "--quiet")
    want = api_json("sweep", res)
    assert (got.pop("computed"), got.pop("skipped")) == (0, 2)  # the CLI's run read the API's rows back
    assert (want.pop("computed"), want.pop("skipped")) == (2, 0)
    assert got == want
    assert np.isfinite([r["best_loss"] for r in got["settings"]]).all()
