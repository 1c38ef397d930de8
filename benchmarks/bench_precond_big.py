"""``iclcheck precond`` at d = 2000 end to end against one numpy.linalg.solve of that size, in the same process.

Target (issue 10, point 5): ``iclcheck precond --cov random:d=2000,cond=100,seed=0 -n 50`` within 3x of one
``numpy.linalg.solve`` of a 2000 x 2000 system with 2000 right-hand sides (the size of Gamma* = W S M^-1), with
``--format json`` (stdout to /dev/null) and with ``--out FILE.npy``. Process start (interpreter, imports) is
excluded: the modules are imported before timing. The solve is timed before and after each run (the machine may be
shared: its median is the reference) and the ratio printed per mode, with the profile of the slowest stages.

    python benchmarks/bench_precond_big.py [--d 2000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time

import numpy as np


def time_solve(d: int, rng: np.random.Generator) -> float:
    A = rng.standard_normal((d, d)) + d**0.5 * np.eye(d)  # (d, d) well conditioned
    B = rng.standard_normal((d, d))  # (d, d)
    t0 = time.perf_counter()
    np.linalg.solve(A, B)
    return time.perf_counter() - t0


def run_cli(argv: list[str]) -> float:
    from iclcheck.cli.main import main

    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
        t0 = time.perf_counter()
        rc = main(argv)
        dt = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"iclcheck {' '.join(argv)} exited {rc}")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    # process start excluded: everything the command imports, imported now
    import orjson  # noqa: F401
    import scipy.linalg  # noqa: F401

    import iclcheck.cli.commands.precond  # noqa: F401
    import iclcheck.numerics.one_layer  # noqa: F401
    import iclcheck.theory.setting  # noqa: F401

    rng = np.random.default_rng(0)
    spec = f"random:d={args.d},cond=100,seed=0"
    base = ["precond", "--cov", spec, "-n", "50"]
    with tempfile.TemporaryDirectory() as tmp:
        modes = {"--format json": base + ["--format", "json"],
                 "--out FILE.npy": base + ["--out", os.path.join(tmp, "gamma.npy")],
                 "--out + --format json": base + ["--out", os.path.join(tmp, "gamma.npz"), "--format", "json"]}
        solves = [time_solve(args.d, rng)]
        rows = []
        for name, argv in modes.items():
            for _ in range(args.repeat):
                t = run_cli(argv)
                solves.append(time_solve(args.d, rng))
                rows.append((name, t))
    ref = statistics.median(solves)
    print(f"one numpy.linalg.solve, {args.d}x{args.d} with {args.d} right-hand sides: median {ref:.2f} s "
          f"(of {len(solves)}: {', '.join(f'{s:.2f}' for s in solves)})")
    for name, t in rows:
        print(f"  precond {name:24s} {t:6.2f} s   = {t / ref:4.1f} x solve   (target <= 3.0)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures scale with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
