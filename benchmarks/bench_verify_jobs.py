"""Quick ``iclcheck verify`` of every registered claim with --jobs 1 and --jobs 2, now and as before issue 19, in one
run (each a fresh process: no cache carries over), plus the bytes of the four Markdown reports (must be identical).

"Before" restores, in every process of the run (the CLI and each Dask worker, through a ``sitecustomize`` on
PYTHONPATH), the former GD++ multistart limits (BFGS 3000, trust-exact 200, no bound on |theta|) and, for --jobs 2,
one task per claim (no ``SHARED_WORK`` groups) and Dask's MALLOC_TRIM_THRESHOLD_=65536 in the workers (set in the
CLI's environment, which the workers inherit now that ``numerics.dask_client`` no longer sets it). The other issue-19
changes (non-Gaussian BLAS route, one eigendecomposition and gathered reduced moments in certify) touch no claim's
cost measurably and are not undone.

    python benchmarks/bench_verify_jobs.py [--repeat 1] [--only now]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

BEFORE = """
import iclcheck.numerics.families.gdpp as _fg
_fg.BFGS_MAXITER, _fg.TRUST_MAXITER, _fg.THETA_MAX = 3000, 200, float("inf")
import iclcheck.proofs.report as _rep
_rep.SHARED_WORK = {}
"""
RUN = ("import sys; from iclcheck.cli.main import main; "
       "sys.exit(main(['verify', '--format', 'markdown', '--seed', '0', '--profile', 'quick'] + sys.argv[1:]))")


def run(jobs: int, before: bool, tmp: str) -> tuple[float, float, bytes]:
    """(wall seconds, CPU seconds of the process and all it started, report bytes)."""
    env = dict(os.environ)
    if before:
        site = os.path.join(tmp, "before")
        os.makedirs(site, exist_ok=True)
        with open(os.path.join(site, "sitecustomize.py"), "w") as f:
            f.write(BEFORE)
        env["PYTHONPATH"] = site + os.pathsep + env.get("PYTHONPATH", "")
        if jobs > 1:
            env["MALLOC_TRIM_THRESHOLD_"] = "65536"
    out = os.path.join(tmp, f"report-{jobs}-{before}.md")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", RUN, "--jobs", str(jobs), "--report", out], env=env,
                         capture_output=True, text=True, timeout=1800)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if res.returncode not in (0, 1):  # 1: some claim refuted (a verdict, not a failure of the run)
        raise SystemExit(f"verify --jobs {jobs} ({'before' if before else 'now'}) exited {res.returncode}: "
                         f"{res.stderr[-1000:]}")
    with open(out, "rb") as f:
        return dt, cpu, f.read()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--only", choices=["now", "before"], default=None)
    args = ap.parse_args()
    cases = [(j, b) for b in (False, True) for j in (1, 2) if args.only is None or args.only == ("before" if b else "now")]
    times: dict[tuple[int, bool], list[float]] = {c: [] for c in cases}
    cpus: dict[tuple[int, bool], list[float]] = {c: [] for c in cases}
    reports: dict[tuple[int, bool], bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for c in cases:
                time.sleep(1.0)
                t, cpu, rep = run(*c, tmp)
                times[c].append(t)
                cpus[c].append(cpu)
                reports[c] = rep
                print(f"  verify --jobs {c[0]} ({'before' if c[1] else 'now'}): {t:.1f} s wall, {cpu:.1f} s CPU",
                      flush=True)
    med = {c: statistics.median(v) for c, v in times.items()}
    mcpu = {c: statistics.median(v) for c, v in cpus.items()}
    distinct = len(set(reports.values()))
    print(f"medians of {args.repeat} (wall, fresh process each, {len(cases)} configurations interleaved):")
    for c in cases:
        print(f"  {'before' if c[1] else 'now':6s} --jobs {c[0]}: {med[c]:6.1f} s wall, {mcpu[c]:6.1f} s CPU")
    for b in sorted({c[1] for c in cases}):
        if (1, b) in med and (2, b) in med:
            print(f"  {'before' if b else 'now'}: --jobs 2 is {med[1, b] / med[2, b]:.2f}x as fast as --jobs 1 (wall), "
                  f"uses {mcpu[2, b] / mcpu[1, b]:.2f}x its CPU")
    if (1, False) in med and (1, True) in med:
        print(f"  --jobs 1: now {med[1, False] / med[1, True]:.2f}x the time before")
    print(f"Markdown reports: {'all identical' if distinct == 1 else f'{distinct} DIFFERENT versions'} "
          f"({len(next(iter(reports.values())))} bytes)")
    if distinct != 1:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
