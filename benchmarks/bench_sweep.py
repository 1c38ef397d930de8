"""Benchmark of the Dask paths: ``iclcheck sweep`` on 1 vs 2 local workers, and ``verify --jobs 2`` vs 1.

  python benchmarks/bench_sweep.py [--starts 64] [--claims KEY ...] [--profile thorough] [--json]

Cases, each as a ratio in one run (same machine, same load):
(1) the 24-setting grid d in {2, 3}, cond in {1, 10, 100}, n in {3, 10}, noise in {0, 1} (Gaussian covariates,
    --starts descent starts, certificates on) with a fresh LocalCluster of 1 worker, then of 2 workers
    (wall clock including the cluster's start and its workers' imports); the two result directories must be
    byte-identical (checked);
(2) the claims (default: a subset, see CLAIMS; ``--claims all`` for every claim) in the given profile with
    run_claims(jobs=1) (in process, no Dask) and run_claims(jobs=2); the Markdown reports must be identical
    (checked).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from iclcheck.numerics.sweep import grid, run_sweep

# thorough-profile subset that runs in minutes here (the full thorough profile takes ~15 min on one core)
CLAIMS = ["ahn2023.thm1", "ahn2023.thm2", "mahankali2023.thm1", "mahankali2023.thm2", "vonoswald2023.gdpp_gamma",
          "zfb2024.thm4_1", "fu2023.eq5", "ahn2023.lemma1"]


def _parts(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("part-*.parquet"))}


def bench_sweep(starts: int) -> dict:
    pts = grid(d=[2, 3], cond=[1, 10, 100], n=[3, 10], noise=[0, 1])
    secs, parts = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            out = Path(tmp) / f"jobs{jobs}"
            t = time.perf_counter()
            s = run_sweep(pts, out, starts=starts, jobs=jobs)
            secs[jobs] = time.perf_counter() - t
            assert s.computed == len(pts) and not s.failed, s
            parts[jobs] = _parts(out)
    assert parts[1] == parts[2], "1-worker and 2-worker sweeps differ"
    return {"case": f"sweep 24 settings x {starts} starts", "seconds_1_worker": round(secs[1], 2),
            "seconds_2_workers": round(secs[2], 2), "speedup": round(secs[1] / secs[2], 2), "identical": True}


def bench_verify(keys: list[str], profile: str) -> dict:
    from iclcheck.proofs.registry import Context, select
    from iclcheck.proofs.report import markdown_report, run_claims

    claims = select(None if keys == ["all"] else keys)
    ctx = Context(seed=0, profile=profile)
    titles = {c.key: c.title for c in claims}
    notations = {c.key: c.notation for c in claims}
    secs, reports = {}, {}
    for jobs in (1, 2):
        t = time.perf_counter()
        res = run_claims(claims, ctx, jobs=jobs)
        secs[jobs] = time.perf_counter() - t
        reports[jobs] = markdown_report(res, ctx, titles=titles, notations=notations)
    assert reports[1] == reports[2], "verify reports differ between jobs 1 and 2"
    return {"case": f"verify --profile {profile}, {len(claims)} claims ({', '.join(c.key for c in claims)})",
            "seconds_1_worker": round(secs[1], 2), "seconds_2_workers": round(secs[2], 2),
            "speedup": round(secs[1] / secs[2], 2), "identical": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=64)
    ap.add_argument("--claims", nargs="*", default=CLAIMS)
    ap.add_argument("--profile", choices=("quick", "thorough"), default="thorough")
    ap.add_argument("--skip-verify", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [bench_sweep(args.starts)]
    if not args.skip_verify:
        rows.append(bench_verify(args.claims, args.profile))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['case']}: 1 worker {r['seconds_1_worker']:.1f} s, 2 workers {r['seconds_2_workers']:.1f} s, "
              f"speed-up x{r['speedup']:.2f} (results identical: {r['identical']})")


if __name__ == "__main__":
    main()
