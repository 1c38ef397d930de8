"""The L-layer loss routes of numerics.deep.conditioned against the literal forward pass (issue 18, "How we will know").

Models: the condition-(8) optimum of the setting (w ~ N(0, Sigma^-1), Sigma = random_spd(d, 2), sigma2 = 0.05) with
every entry of every P_l, Q_l perturbed by --scale x N(0, 1): general weights (exact at L = 2 when d + [sigma2 > 0]
<= 5: numerics.deep.exact_two_layer, benchmarks/bench_exact_two_layer.py; no exact route at L >= 3).

Rows, per (d, n, L):
  agreement   the conditioned estimator (x_q integrated, the Gram from its Wishart law given w; with the control
              variate of model_loss) and a literal-forward-pass Monte Carlo of --literal prompts: both 99.9%
              intervals, |difference| / combined stderr, and whether either is heavy-tailed
  variance    per-prompt variance x seconds per prompt of each estimator (median of --repeat timed runs of
              --samples prompts); the variance-reduction factor at equal time is
              (var_literal t_literal) / (var_conditioned t_conditioned), for the conditioned estimator without
              and with the control variate (the pilot decides whether the control is used; the pilot's cost is
              in the time). Heavy-tailed rows are marked: their variances are not estimable.

Usage:
    python benchmarks/bench_deep.py                     # d = 3, 4, 5; L = 2, 3, 4; n = 20, 80
    python benchmarks/bench_deep.py --quick
Set OMP_NUM_THREADS=1 for figures that do not depend on machine load.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _timed(fn, repeat: int):
    ts, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return out, statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200_000, help="prompts per timed run (default 200000)")
    ap.add_argument("--literal", type=int, default=1_000_000, help="literal prompts of the agreement row")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--quick", action="store_true", help="d = 3, L = 2, 3, n = 20; 100000 literal prompts")
    ap.add_argument("--only", default=None, help="rows 'd,n,L;d,n,L' instead of the grid")
    args = ap.parse_args()

    from iclcheck.numerics.deep.conditioned import controlled_loss
    from iclcheck.numerics.deep.model_loss import family_control, mc_literal
    from iclcheck.numerics.families.gd import optimal_gd
    from iclcheck.numerics.families.gdpp import family_params
    from iclcheck.numerics.random_matrices import random_spd
    from iclcheck.theory.setting import Setting

    grid = [(3, 20, 2), (3, 20, 3)] if args.quick else [
        (3, 20, 2), (4, 20, 2), (5, 20, 2), (3, 20, 3), (4, 40, 3), (3, 40, 4), (3, 80, 2), (3, 80, 3)]
    if args.only:
        grid = [tuple(int(v) for v in row.split(",")) for row in args.only.split(";")]
    lit_n = 100_000 if args.quick else args.literal
    print(f"{'d':>2} {'n':>3} {'L':>2}  {'conditioned + control (99.9% CI)':>36}  {'literal (99.9% CI)':>32}  "
          f"{'|z|':>5}  {'VR cond':>8}  {'VR +ctl':>8}  {'us/prompt lit/cond/ctl':>24}  control; tails")
    for d, n, L in grid:
        st = Setting.make(random_spd(d, 2.0, np.random.default_rng(d)), n, Sigma_w="inv", sigma2=0.05)
        a = optimal_gd(st, L).coefficients
        Ps, Qs = (np.array(x) for x in family_params(st.Sigma, a))
        rng = np.random.default_rng(100 + 10 * d + L)
        Ps = Ps + args.scale * rng.standard_normal(Ps.shape)
        Qs = Qs + args.scale * rng.standard_normal(Qs.shape)
        ctl = family_control(st, Ps, Qs)
        (c0, _), t0 = _timed(lambda st=st, Ps=Ps, Qs=Qs: controlled_loss(st, Ps, Qs, None, samples=args.samples,
                                                                         seed=1), args.repeat)
        (c1, beta), t1 = _timed(lambda st=st, Ps=Ps, Qs=Qs, ctl=ctl: controlled_loss(
            st, Ps, Qs, ctl, samples=args.samples, seed=1), args.repeat)
        lt, tl = _timed(lambda st=st, Ps=Ps, Qs=Qs: mc_literal(st, Ps, Qs, samples=args.samples, seed=2),
                        args.repeat)
        N = args.samples
        var = {k: e.stderr**2 * N for k, e in (("c0", c0), ("c1", c1), ("lit", lt))}
        vr0 = var["lit"] * tl / (var["c0"] * t0)
        vr1 = var["lit"] * tl / (var["c1"] * t1)
        big, _ = controlled_loss(st, Ps, Qs, ctl, samples=lit_n, seed=3)
        lit = mc_literal(st, Ps, Qs, samples=lit_n, seed=4)
        z = abs(big.mean - lit.mean) / np.hypot(big.stderr, lit.stderr)
        used = "ctl used" if beta is not None else "ctl dropped"
        tails = ",".join(k for k, e in (("cond", c0), ("ctl", c1), ("lit", lt), ("agree-ctl", big),
                                        ("agree-lit", lit)) if e.heavy_tail) or "none"
        ci = f"{big.mean:.5g} [{big.ci[0]:.5g}, {big.ci[1]:.5g}]"
        cl = f"{lit.mean:.5g} [{lit.ci[0]:.5g}, {lit.ci[1]:.5g}]"
        us = f"{1e6 * tl / N:.1f}/{1e6 * t0 / N:.1f}/{1e6 * t1 / N:.1f}"
        print(f"{d:>2} {n:>3} {L:>2}  {ci:>36}  {cl:>32}  {z:5.2f}  {vr0:8.2f}  {vr1:8.2f}  {us:>24}  {used}; heavy: {tails}",
              flush=True)


if __name__ == "__main__":
    main()
