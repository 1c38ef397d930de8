"""numerics.sweep: seeds from the setting, rows independent of the worker count, resume without recomputation,
and no row lost or duplicated when a Dask worker process is killed mid-sweep.

The reference rows are computed by calling ``census_row`` in this process (no Dask at all), so the Dask runs are
compared with a route that shares no scheduling, pickling or file code with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time

import numpy as np
import pytest

from iclcheck.numerics.sweep import (
    LAWS,
    SweepPoint,
    census_row,
    describe,
    grid,
    point_key,
    point_seed,
    read_sweep,
    run_sweep,
)
from iclcheck.theory.errors import InputError

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

TINY = dict(d=[2], cond=[1, 10], n=[3], noise=[0, 1])  # 4 settings, ~0.1 s each at 4 starts
STARTS = 4


@pytest.fixture(scope="module")
def cluster():
    """One 2-worker LocalCluster shared by the Dask tests (starting one and importing iclcheck in its workers
    costs several seconds here); run_sweep reaches it through its scheduler address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


def _parts(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("part-*.parquet"))}


# -- seeds and descriptions --------------------------------------------------------------------------------
def test_the_seed_is_sha256_of_the_canonical_description():
    p = SweepPoint(d=2, cond=10, n=3, noise=0.5, law="uniform", cov_seed=7)
    desc = describe(p, starts=16, seed=3)
    assert json.loads(desc) == {"d": 2, "cond": 10.0, "n": 3, "noise": 0.5, "law": "uniform", "cov_seed": 7,
                                "starts": 16, "seed": 3, "certify": True, "version": 2}
    assert list(json.loads(desc)) == sorted(json.loads(desc))  # canonical: sorted keys
    digest = hashlib.sha256(desc.encode()).digest()
    assert point_seed(desc) == int.from_bytes(digest[:8], "big") // 2
    assert point_key(desc) == digest.hex()[:16]
    # int and float spellings of the same setting are one point
    assert describe(SweepPoint(2, 10.0, 3, 0.5, "uniform", 7), starts=16, seed=3) == desc


def test_laws_agree_with_the_setting_module():
    from iclcheck.theory.setting import COVARIATE_LAWS

    assert tuple(LAWS) == tuple(COVARIATE_LAWS)


@pytest.mark.parametrize("kw, what", [
    (dict(d=0, cond=1, n=3), "d"), (dict(d=2, cond=0.5, n=3), "cond"), (dict(d=2, cond=1, n=0), "n"),
    (dict(d=2, cond=1, n=3, noise=-1), "sigma2"), (dict(d=2, cond=1, n=3, law="cauchy"), "covariates"),
    (dict(d=2, cond=1, n=3, cov_seed=-1), "cov_seed"), (dict(d=True, cond=1, n=3), "d"),
    (dict(d=2, cond=float("nan"), n=3), "cond"), (dict(d=51, cond=1, n=3), "d"),
])
def test_bad_points_name_the_field(kw, what):
    with pytest.raises(InputError) as e:
        SweepPoint(**kw)
    assert e.value.what == what


def test_grid_is_the_sorted_product_without_repeats():
    pts = grid(d=[3, 2, 2], cond=[10, 1], n=[3])
    assert pts == sorted(pts) and len(pts) == 4
    assert {(p.d, p.cond) for p in pts} == {(2, 1.0), (2, 10.0), (3, 1.0), (3, 10.0)}


def test_the_point_sigma_is_the_documented_random_matrix():
    """Sigma = U diag(logspace(0, log10 cond, d)) U^T: check the spectrum and symmetry independently."""
    S = np.asarray(SweepPoint(d=3, cond=100, n=5, cov_seed=4).setting().Sigma, dtype=float)
    np.testing.assert_allclose(S, S.T, atol=0)
    np.testing.assert_allclose(np.linalg.eigvalsh(S), [1, 10, 100], rtol=1e-12)


# -- the census of one point --------------------------------------------------------------------------------
def test_census_accounts_for_every_start_and_finds_the_closed_form_minimum():
    from iclcheck.numerics.one_layer.closed_form import OneLayer

    p = SweepPoint(d=2, cond=10, n=3)
    row = census_row(p.as_dict(), 12, 0)
    total = sum(row["minima_fraction"]) + row["saddle_fraction"] + row["nonconverged_fraction"]
    assert total == pytest.approx(1.0, abs=1e-12)
    assert [round(f * 12) for f in row["minima_fraction"]] == [f * 12 for f in row["minima_fraction"]]
    assert row["minima_loss"] == sorted(row["minima_loss"])
    # the lowest level is the closed-form optimum L* of the reduced family (theory route, not the search)
    L_star = OneLayer(p.setting()).min_loss()
    assert row["global_loss"] == pytest.approx(L_star, rel=1e-8)
    assert row["global_reached"] is True and row["best_loss"] == row["global_loss"]
    assert row["global_certified"] is True and row["lower_bound"] <= L_star
    assert row["spurious_fraction"] == pytest.approx(sum(row["minima_fraction"][1:]))
    if row["n_minima"] > 1:
        g = (row["minima_loss"][1] - row["minima_loss"][0]) / row["minima_loss"][0]
        assert row["spurious_gap"] == pytest.approx(g, rel=1e-8)


def test_census_merges_a_continuum_of_minima_into_one_level():
    """Sigma = I at d = 2: rotations make the spurious minima a continuum, found as several points."""
    row = census_row(SweepPoint(d=2, cond=1, n=3).as_dict(), 16, 0)
    assert row["n_min_points"] > row["n_minima"]
    assert row["minima_degenerate"][-1] is True


# -- Dask runs -----------------------------------------------------------------------------------------------
def test_rows_do_not_depend_on_the_worker_count(tmp_path, cluster):
    pts = grid(**TINY)
    # certify=False keeps cvxpy out of the workers (seconds of import each); certified rows: the census test
    s1 = run_sweep(pts, tmp_path / "one", starts=STARTS, certify=False, jobs=1)  # the default: a fresh LocalCluster
    s2 = run_sweep(pts, tmp_path / "two", starts=STARTS, certify=False, scheduler=cluster.scheduler_address)
    assert (s1.computed, s2.computed, s1.workers, s2.workers) == (4, 4, 1, 2)
    one, two = _parts(tmp_path / "one"), _parts(tmp_path / "two")
    assert len(one) == 4 and one == two  # byte-identical files
    ref = [census_row(p.as_dict(), STARTS, 0, False) for p in pts]  # in-process, no Dask
    assert read_sweep(tmp_path / "two").to_pylist() == sorted(ref, key=lambda r: [r[c] for c in
                                                                                   ("d", "cond", "n", "noise")])


class _Stop(Exception):
    pass


def test_an_interrupted_sweep_resumes_without_recomputing_finished_settings(tmp_path, cluster):
    pts = grid(**TINY)
    out = tmp_path / "run"
    at = dict(starts=STARTS, certify=False, scheduler=cluster.scheduler_address)

    def stop_after_two(i, total, p, row):
        if i == 2:
            raise _Stop

    with pytest.raises(_Stop):
        run_sweep(pts, out, **at, progress=stop_after_two)
    kept = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in out.glob("part-*.parquet")}
    assert len(kept) == 2 and not list(out.glob(".*"))  # no temporary file left behind
    seen = []
    s = run_sweep(pts, out, **at, progress=lambda i, t, p, r: seen.append(p))
    assert (s.total, s.skipped, s.computed) == (4, 2, 2) and len(seen) == 2  # tasks run: only the missing two
    for name, st in kept.items():  # finished parts are not rewritten
        f = out / name
        assert (f.stat().st_ino, f.stat().st_mtime_ns) == st
    again = run_sweep(pts, out, **at)
    assert (again.skipped, again.computed) == (4, 0)
    ref = {r["key"]: r for r in (census_row(p.as_dict(), STARTS, 0, False) for p in pts)}
    rows = read_sweep(out).to_pylist()
    assert len(rows) == 4 and all(r == ref[r["key"]] for r in rows)


def test_resume_refuses_a_directory_made_with_other_options(tmp_path, cluster):
    pts = grid(d=[2], cond=[10], n=[3])
    run_sweep(pts, tmp_path / "r", starts=STARTS, certify=False, scheduler=cluster.scheduler_address)
    with pytest.raises(InputError) as e:  # refused before any cluster is contacted
        run_sweep(pts, tmp_path / "r", starts=STARTS + 1, certify=False, jobs=1)
    assert e.value.what == "out" and "starts=4" in e.value.problem


def test_a_killed_worker_loses_no_row_and_duplicates_none(tmp_path, cluster):
    # 6 settings of ~0.2-0.5 s each (d = 3, 8 starts) on 2 workers; one worker process is SIGKILLed while it
    # has a task, after the first row is in. The nanny restarts it and the scheduler reruns the lost task.
    # The busy worker is read from the LocalCluster's in-process scheduler and its pid from the nanny (a second
    # Client in this process would share run_sweep's event-loop machinery).
    pts = grid(d=[3], cond=[10, 100], n=[3, 5, 10])
    killed: list[int] = []

    def kill_a_busy_worker(i, total, p, row):
        if killed:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            busy = {a for a, ws in list(cluster.scheduler.workers.items()) if ws.processing}
            for nanny in list(cluster.workers.values()):
                if nanny.worker_address in busy and nanny.process is not None and nanny.process.pid:
                    os.kill(nanny.process.pid, signal.SIGKILL)
                    killed.append(nanny.process.pid)
                    return
            time.sleep(0.02)

    s = run_sweep(pts, tmp_path / "k", starts=8, certify=False, scheduler=cluster.scheduler_address,
                  progress=kill_a_busy_worker)
    assert killed, "no worker was busy after the first row (the test did not kill anything)"
    assert s.failed == [] and s.computed == 6
    rows = read_sweep(tmp_path / "k").to_pylist()
    keys = [r["key"] for r in rows]
    assert len(keys) == 6 and len(set(keys)) == 6
    ref = {r["key"]: r for r in (census_row(p.as_dict(), 8, 0, False) for p in pts)}
    assert set(ref) == set(keys) and all(r == ref[r["key"]] for r in rows)
