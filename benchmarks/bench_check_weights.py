"""check-weights and the API loss, timed (issue 10, "How we will know").

Rows (medians of --repeat runs, wall clock, in-process; process start-up excluded):
  check-weights L=3 exact     'iclcheck check-weights' on a 3-layer GD-family model (A_l = a_l Sigma^-1, d = 5,
                              n = 20, w ~ N(0, Sigma^-1)): exact quadrature loss, reference, layers, five flips
  check-weights L=3 MC        the same model with small full perturbations: no exact route, Monte Carlo of
                              --samples prompts (and of 50,000 per flip)
  api loss L=1 (d=5)          iclcheck.loss(setting, P, Q) at random P, Q (the one-layer closed form)

Usage:
    python benchmarks/bench_check_weights.py                 # table
    python benchmarks/bench_check_weights.py --samples 50000 --repeat 3
Set OMP_NUM_THREADS=1 for figures that do not depend on machine load.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _median_time(fn, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--samples", type=int, default=200_000)
    args = ap.parse_args()

    import iclcheck
    from iclcheck.cli import main as cli
    from iclcheck.numerics.families.gdpp import family_params
    from iclcheck.numerics.random_matrices import ahn_sigma

    Sigma = ahn_sigma(np.random.default_rng(0))  # Ahn et al.'s d = 5 covariance
    np.save(tmp := Path(tempfile.mkdtemp()) / "sigma.npy", Sigma)
    st = iclcheck.setting(Sigma, 20, Sigma_w="inv")
    opt = iclcheck.optimal_layers(st, 3)
    Ps, Qs = (np.array(x) for x in family_params(Sigma, opt.coefficients))
    exact_file = tmp.parent / "gd3.npz"
    iclcheck.save_weights(exact_file, Ps, Qs)
    rng = np.random.default_rng(1)
    mc_file = tmp.parent / "full3.npz"
    iclcheck.save_weights(mc_file, Ps + 0.01 * rng.standard_normal(Ps.shape), Qs)
    base = ["--cov", str(tmp), "--task-cov", "inv", "-n", "20", "--samples", str(args.samples)]

    def run(f):
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli(["check-weights", str(f), *base]) == 0

    run(exact_file)  # warm caches (quadrature nodes, imports): timed rows are the steady state
    rows = [("check-weights L=3 exact (d=5, n=20)", _median_time(lambda: run(exact_file), args.repeat))]
    rows.append((f"check-weights L=3 MC ({args.samples:,} prompts)", _median_time(lambda: run(mc_file), args.repeat)))
    st1 = iclcheck.setting(Sigma, 20)
    P, Q = rng.standard_normal((6, 6)) * 0.3, rng.standard_normal((6, 6)) * 0.3
    iclcheck.loss(st1, P, Q)
    t = _median_time(lambda: iclcheck.loss(st1, P, Q), max(args.repeat, 20))
    rows.append(("api loss L=1 (d=5), closed form", t))
    res = iclcheck.check_weights(str(exact_file), st)
    print(f"{'row':<44} {'seconds':>10}")
    for name, t in rows:
        print(f"{name:<44} {t:10.2e}")
    print(f"(exact L=3 loss {res.loss.value:.6g} = reference {res.reference:.6g}: {res.loss.method.split(':')[0]})")


if __name__ == "__main__":
    main()
