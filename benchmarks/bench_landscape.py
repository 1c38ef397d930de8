"""Benchmark of the one-layer landscape tools.

  python benchmarks/bench_landscape.py [--json]

Cases: (1) 64 starts of the critical-point search at d = 3 (random:d=3,cond=10,seed=1, n = 5; target
< 10 s); (2) one converged descent start at d = 50 (random:d=50,cond=10,seed=0, n = 20, target < 30 s),
converged meaning balanced |grad f| <= 1e-9 max(1, tr(S W)); (3) the certificate at d = 3, 6 and 10.
Times are wall-clock, single process.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics.certificate import certify
from iclcheck.numerics.critical import find_critical_points, run_start, start_point
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.setting import Setting


def _ol(spec: str, n: int) -> OneLayer:
    return OneLayer(Setting.make(parse_cov_spec(spec, exact=False), n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []

    ol = _ol("random:d=3,cond=10,seed=1", 5)
    t = time.perf_counter()
    land = find_critical_points(ol, starts=64, seed=0)
    dt = time.perf_counter() - t
    rows.append({"case": "critical d=3, 64 starts (128 runs)", "seconds": dt, "target": 10.0,
                 "detail": f"{len(land.points)} points, {len(land.nonconverged)} non-converged runs"})

    ol = _ol("random:d=50,cond=10,seed=0", 20)
    grad_tol = 1e-9 * max(1.0, float(np.trace(ol.SW)))
    scale = np.sqrt(2 * np.linalg.norm(ol.gamma_star()))
    t = time.perf_counter()
    theta, ok, gn, it, msg = run_start(ol, start_point(50, seed=0, start=0, scale=scale), method="descent",
                                       grad_tol=grad_tol)
    dt = time.perf_counter() - t
    from iclcheck.numerics.one_layer.derivatives import loss_flat

    rows.append({"case": "one descent start d=50 (2601 parameters)", "seconds": dt, "target": 30.0,
                 "detail": f"converged={ok} |grad|={gn:.1e} iters={it} loss-L*={loss_flat(ol, theta) - ol.min_loss():.1e}"})

    # Isserlis moments (O(d^4)) + the rigorous bound; before (3^d Gauss-Hermite, unproven bound): d = 6 in
    # 0.99 s; after: 0.28 s; d = 10: 0.6 s; d = 12: 4.5 s; d = 16: 44 s; d = 20: 225 s (over the limit 16)
    for d in (3, 6, 10):
        ol = _ol(f"random:d={d},cond=10,seed=1", 5)
        t = time.perf_counter()
        c = certify(ol)
        dt = time.perf_counter() - t
        rows.append({"case": f"certify d={d}", "seconds": dt, "target": 60.0,
                     "detail": f"certified={c.certified} bound={c.lower_bound:.12g} gap={c.gap:.1e} "
                               f"status={c.status}"})

    if args.json:
        print(json.dumps({"benchmarks": rows}, indent=2))
        return
    w = max(len(r["case"]) for r in rows)
    print(f"{'case':<{w}}  {'seconds':>8}  {'target':>6}  detail")
    for r in rows:
        tgt = "-" if r["target"] is None else f"<{r['target']:g}"
        print(f"{r['case']:<{w}}  {r['seconds']:8.2f}  {tgt:>6}  {r['detail']}")


if __name__ == "__main__":
    main()
