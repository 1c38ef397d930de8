"""The GD++ multistart (``numerics.families.gdpp``, THE optimiser behind ahn2023.thm4 and ahn2023.fig4) with its stopping
rules (issue 19: max|theta| <= THETA_MAX, BFGS_MAXITER, TRUST_MAXITER) against the former limits (BFGS 3000,
trust-exact 200, no bound), in the same process, interleaved, on the problems the verify report solves: (d, n, L) =
(5, 20, 3), (5, 10, 3), (3, 20, 2), 24 starts, seed 0. The best point, its loss, gradient norm, spread and hits must
be identical to the bit (checked); the local minima now listed are printed (the former rule also listed the end
points of diverging starts, e.g. 1.318 at max|theta| = 6.6e5 for (5, 10, 3)).

    python benchmarks/bench_gdpp.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from iclcheck.numerics.families import gdpp as fg

PROBLEMS = ((5, 20, 3), (5, 10, 3), (3, 20, 2))
FORMER = {"bfgs_maxiter": 3000, "trust_maxiter": 200, "theta_max": np.inf}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    total_old, total_new = [], []
    for (d, n, L) in PROBLEMS:
        old_t, new_t = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            old = fg._multistart(d, n, 0.0, L, fg.DEFAULT_GDPP_STARTS, 0, **FORMER)
            t1 = time.perf_counter()
            new = fg._multistart(d, n, 0.0, L, fg.DEFAULT_GDPP_STARTS, 0)
            t2 = time.perf_counter()
            old_t.append(t1 - t0)
            new_t.append(t2 - t1)
            same = (np.array_equal(old[0], new[0]) and np.array_equal(old[1], new[1]) and old[2:7] == new[2:7])
            if not same:
                raise SystemExit(f"({d}, {n}, {L}): the best point differs from the former limits'")
        mo, mn = statistics.median(old_t), statistics.median(new_t)
        total_old.append(mo)
        total_new.append(mn)
        print(f"d={d}, n={n}, L={L}: former {mo:.2f} s, now {mn:.2f} s (medians of {args.repeat}): "
              f"{mn / mo:.2f}x; best F = {new[2]!r} identical; {new[9]} of 24 starts stopped")
        print(f"  local minima listed (stationary, bounded): {[float(f'{v:.4g}') for v in new[7]]}")
    print(f"all three: former {sum(total_old):.2f} s, now {sum(total_new):.2f} s: "
          f"{sum(total_new) / sum(total_old):.2f}x")


if __name__ == "__main__":
    main()
