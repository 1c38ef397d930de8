"""``iclcheck precond`` at d = 2000 end to end against one numpy.linalg.solve of that size, in the same process.

Target (issue 10, point 5): ``iclcheck precond --cov random:d=2000,cond=100,seed=0 -n 50`` within 3x of one
``numpy.linalg.solve`` of a 2000 x 2000 system with 2000 right-hand sides (the size of Gamma* = W S M^-1), with
``--format json`` (stdout to /dev/null) and with ``--out FILE.npy``. Process start (interpreter, imports) is
excluded: the modules are imported before timing.

The runs are interleaved (solve, then each mode, ``--repeat`` rounds) with a pause before each timed call: OpenBLAS
threads busy-wait for a while after a call, and numpy and scipy each bundle their own OpenBLAS, so back to back the
spinning threads of one library slow the other's (measured: a run right after a solve is 0.1-0.2 s slower). The
figures are medians; the ratio is median run / median solve. Then the stages of one run, each timed alone (median
of the rounds): what the remaining time is made of.

    python benchmarks/bench_precond_big.py [--d 2000] [--repeat 5]
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

PAUSE = 0.3  # seconds before each timed call (see the docstring)


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


def stage_times(d: int) -> dict[str, float]:
    """One run's stages, each timed alone (after a pause)."""
    import orjson

    from iclcheck.numerics.one_layer.closed_form import OneLayer
    from iclcheck.numerics.random_matrices import random_spd
    from iclcheck.theory.setting import Setting

    out: dict[str, float] = {}

    def timed(name, f):
        time.sleep(PAUSE)
        t0 = time.perf_counter()
        r = f()
        out[name] = time.perf_counter() - t0
        return r

    S = timed("random_spd (Haar by CholeskyQR2, B B^T)", lambda: random_spd(d, 100.0, np.random.default_rng(0)))
    st = timed("Setting.make (symmetry, Cholesky SPD check)", lambda: Setting.make(S, 50))
    one = OneLayer(st)
    G = timed("Gamma* (Cholesky inverse of a S + b I)", lambda: one.gamma_star(copy=False))  # as precond takes it
    timed("L* (O(d^2) closed form)", one.min_loss)
    timed("JSON encoding of Gamma* (orjson)", lambda: orjson.dumps(G, option=orjson.OPT_SERIALIZE_NUMPY))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    # process start excluded: everything the command imports, imported now
    import orjson  # noqa: F401
    import scipy.linalg  # noqa: F401

    import iclcheck.cli.commands.precond  # noqa: F401
    import iclcheck.numerics.one_layer.closed_form  # noqa: F401
    import iclcheck.theory.setting  # noqa: F401

    rng = np.random.default_rng(0)
    spec = f"random:d={args.d},cond=100,seed=0"
    base = ["precond", "--cov", spec, "-n", "50"]
    solves: list[float] = []
    runs: dict[str, list[float]] = {}
    stages: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        modes = {"--format json": base + ["--format", "json"],
                 "--out FILE.npy": base + ["--out", os.path.join(tmp, "gamma.npy")],
                 "--out + --format json": base + ["--out", os.path.join(tmp, "gamma.npz"), "--format", "json"]}
        for _ in range(args.repeat):
            time.sleep(PAUSE)
            solves.append(time_solve(args.d, rng))
            for name, argv in modes.items():
                time.sleep(PAUSE)
                runs.setdefault(name, []).append(run_cli(argv))
            for name, t in stage_times(args.d).items():
                stages.setdefault(name, []).append(t)
    ref = statistics.median(solves)
    print(f"one numpy.linalg.solve, {args.d}x{args.d} with {args.d} right-hand sides: median {ref:.2f} s "
          f"(of {len(solves)}: {', '.join(f'{s:.2f}' for s in solves)})")
    for name, ts in runs.items():
        t = statistics.median(ts)
        print(f"  precond {name:24s} median {t:5.2f} s = {t / ref:4.2f} x solve  (target <= 3.0; runs "
              f"{', '.join(f'{x:.2f}' for x in ts)})")
    print("stages of one run, each alone (median):")
    for name, ts in stages.items():
        t = statistics.median(ts)
        print(f"  {name:46s} {t:5.3f} s = {t / ref:4.2f} x solve")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures scale with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
