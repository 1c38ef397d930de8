"""``verify --jobs``: claims as Dask tasks give the same report as the sequential run, byte for byte; the
default (``--jobs 1``) never imports Dask."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iclcheck.cli.main import main

pytest.importorskip("distributed")

# a few quick claims: exact (sympy), numeric and Monte Carlo steps, confirmed and refuted verdicts, released-code
# records; given out of key order, so the report must keep the order asked for
KEYS = ["vonoswald2023.prop1", "mahankali2023.thm1", "ahn2023.lemma1", "ahn2023.eq7"]


def test_markdown_report_is_byte_identical_with_two_workers(capsys, tmp_path, monkeypatch):
    import iclcheck.proofs.report as report

    # two claims that are not neighbours in KEYS run as one task (as claims sharing a cached computation do): the
    # report must still keep the order asked for
    monkeypatch.setattr(report, "SHARED_WORK", {"a test group": ("ahn2023.lemma1", "vonoswald2023.prop1")})
    reports = {}
    for jobs in ("1", "2"):
        path = tmp_path / f"jobs{jobs}.md"
        assert main(["verify", *KEYS, "--format", "markdown", "--report", str(path), "--jobs", jobs]) == 0
        capsys.readouterr()
        reports[jobs] = path.read_bytes()
    assert reports["1"] == reports["2"]
    text = reports["1"].decode()
    assert all(f"`{k}`" in text for k in KEYS)  # every claim is in it, in the order asked for
    assert [text.index(f"`{k}`") for k in KEYS] == sorted(text.index(f"`{k}`") for k in KEYS)
    assert "**refuted** as printed" in text and "**confirmed** as recorded" in text


def test_a_bad_scheduler_is_one_line_and_exit_2(capsys):
    rc = main(["verify", "ahn2023.eq7", "--scheduler", "nonsense://x"])
    out, err = capsys.readouterr()
    assert rc == 2 and err.startswith("iclcheck verify: --scheduler: cannot connect") and len(err.splitlines()) == 1


def test_the_default_run_imports_no_dask():
    code = ("import sys, io, contextlib\nfrom iclcheck.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['verify', 'ahn2023.eq7'])\n"
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "[]"


def test_claims_sharing_work_form_one_task_placed_first():
    from types import SimpleNamespace

    from iclcheck.proofs.report import LONG_FIRST, SHARED_WORK, _tasks

    keys = ["a.x", "ahn2023.fig4", "b.y", "ahn2023.thm4", "c.z", LONG_FIRST[1], LONG_FIRST[0]]
    claims = [SimpleNamespace(key=k) for k in keys]
    assert any("ahn2023.thm4" in v and "ahn2023.fig4" in v for v in SHARED_WORK.values())
    # the group first, then the long claims in LONG_FIRST's order, then the rest in the order given
    assert _tasks(claims) == [[1, 3], [6], [5], [0], [2], [4]]
    assert _tasks(claims[:2]) == [[0], [1]]  # a group with one member present is a plain task
    assert sorted(i for t in _tasks(claims) for i in t) == list(range(len(keys)))


def test_with_jobs_this_process_runs_tasks_and_a_cluster_failure_is_raised(monkeypatch):
    """``jobs = 2``: this process takes tasks from the queue while the cluster starts in a thread; a cluster that
    cannot start is raised here (after the task in hand), not lost, and no claim is reported twice."""
    import iclcheck.numerics.dask_client as dc
    from iclcheck.proofs.registry import Context, select
    from iclcheck.proofs.report import run_claims
    from iclcheck.theory.errors import InputError

    class NoCluster:
        def __init__(self, jobs, scheduler):
            raise InputError("scheduler", "no cluster here (test)")

    monkeypatch.setattr(dc, "dask_client", NoCluster)
    seen = []
    with pytest.raises(InputError, match="no cluster here"):
        run_claims(select(KEYS), Context(), on_done=lambda i, n, c, r: seen.append(c.key), jobs=2)
    assert seen and len(seen) == len(set(seen)) and set(seen) <= set(KEYS)  # ran here, each once


def test_jobs_out_of_range_is_an_input_error():
    from iclcheck.proofs.registry import Context, select
    from iclcheck.proofs.report import run_claims
    from iclcheck.theory.errors import InputError

    for bad in (0, 10**6, 2.0, True):
        with pytest.raises(InputError, match="jobs"):
            run_claims(select(KEYS[:1]), Context(), jobs=bad)
