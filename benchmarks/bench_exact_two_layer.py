"""The exact L = 2 loss with general weights (numerics.deep.exact_two_layer) against the literal Monte Carlo at equal time.

Models: Sigma = random_spd(d, 2), w ~ N(0, Sigma^-1), n = 20; the (8) model at a = (0.3, 0.5) with random x-blocks
added to every P_l, Q_l (0.2 N(0, 1)) and every entry perturbed (0.02 N(0, 1)) - general weights.

Rows, per (d, sigma2):
  exact       the value; seconds cold (every cache cleared: bases, Wishart moments, moment blocks) and warm (median
              of --repeat calls at the same (p, n): what a second model at that setting costs)
  literal     Monte Carlo of the literal forward pass (model_loss.mc_literal) with as many prompts as fit in the cold
              exact time (per-prompt time from a 20,000-prompt pilot; at least 1,000): mean, 99.9% interval, its
              relative half-width, |exact - mean| / stderr, and the prompts (and seconds) the literal run would need
              for a 0.1% relative half-width at its measured variance.

Usage:
    python benchmarks/bench_exact_two_layer.py            # d = 2, 3, 4 with sigma2 = 0 and 0.05; d = 5 noiseless
    python benchmarks/bench_exact_two_layer.py --quick    # d = 2, 3
Set OMP_NUM_THREADS=1 for figures that do not depend on machine load.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _model(d: int, n: int, sigma2: float, seed: int):
    from iclcheck.numerics.families.gdpp import family_params
    from iclcheck.numerics.random_matrices import random_spd
    from iclcheck.theory.setting import Setting

    rng = np.random.default_rng(seed)
    st = Setting.make(random_spd(d, 2.0, rng), n, Sigma_w="inv", sigma2=sigma2)
    P0, Q0 = (np.array(x) for x in family_params(st.Sigma, (0.3, 0.5)))
    Ps = P0 + 0.02 * rng.standard_normal(P0.shape)
    Qs = Q0 + 0.02 * rng.standard_normal(Q0.shape)
    Ps[:, :d, :d] += 0.2 * rng.standard_normal((2, d, d))
    Qs[:, :d, :d] += 0.2 * rng.standard_normal((2, d, d))
    return st, Ps, Qs


def _clear() -> None:
    from iclcheck.numerics.deep import exact_two_layer as E

    for f in (E._basis, E.wishart_moments, E.moment_blocks, E._hermite_transform):
        f.cache_clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="d = 2, 3 only")
    args = ap.parse_args()

    from iclcheck.numerics.deep.exact_two_layer import two_layer_loss
    from iclcheck.numerics.deep.model_loss import mc_literal

    grid = [(2, 0.0), (2, 0.05), (3, 0.0), (3, 0.05)]
    if not args.quick:
        grid += [(4, 0.0), (4, 0.05), (5, 0.0)]
    print(f"{'d':>2} {'s2':>5} {'p':>2} {'exact':>12} {'cold s':>7} {'warm s':>7} | {'literal prompts':>15} "
          f"{'mean':>10} {'99.9% CI':>23} {'rel hw':>8} {'|z|':>5} | {'prompts for 0.1%':>16} {'s':>8}")
    for d, s2 in grid:
        st, Ps, Qs = _model(d, args.n, s2, seed=10 * d + int(s2 > 0))
        _clear()
        t0 = time.perf_counter()
        exact = two_layer_loss(st, Ps, Qs)
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            two_layer_loss(st, Ps, Qs)
            warm.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pilot = mc_literal(st, Ps, Qs, samples=20_000, seed=99)
        per = (time.perf_counter() - t0) / 20_000
        k = max(1_000, int(cold / per))
        t0 = time.perf_counter()
        est = mc_literal(st, Ps, Qs, samples=k, seed=1)
        t_lit = time.perf_counter() - t0
        hw = est.ci[1] - est.mean if est.ci[0] > 0 else est.halfwidth
        z = abs(exact - est.mean) / est.stderr if est.stderr > 0 else float("nan")
        need = k * (est.halfwidth / (1e-3 * exact)) ** 2
        heavy = " heavy" if est.heavy_tail or pilot.heavy_tail else ""
        ci = f"[{est.ci[0]:.5g}, {est.ci[1]:.5g}]"
        print(f"{d:>2} {s2:>5g} {d + (s2 > 0):>2} {exact:>12.7g} {cold:>7.2f} {statistics.median(warm):>7.2f} | "
              f"{k:>15,} {est.mean:>10.5g} {ci:>23} {hw / exact:>8.2%} {z:>5.2f} | {need:>16.3g} "
              f"{need * t_lit / k:>8.3g}{heavy}")


if __name__ == "__main__":
    main()
