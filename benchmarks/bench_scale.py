"""Benchmark: certificates and critical points at the papers' own sizes (issue 12, point 1).

  python benchmarks/bench_scale.py [--json] [--quick]

Rows: (1) certify at d = 6, the former dense QP route (``_solve_qp_dense``: kron factor, dense least
squares, then the same rigorous ``float_bound``) vs the Kronecker-eigenbasis QP that ``certify`` uses now,
both timed here in one process; (2) certify at d = 10 (von Oswald et al.) and d = 20 (Fu et al.):
time, proven bound, attained loss at Gamma*, gap; (3) the critical-point search at d = 20 with 64 starts
and d = 50 with 3 starts (descent runs, the default above d = 10): time, minima found, whether the lowest
is certified (d = 20: by ``certify``; d = 50 is above the certificate's d <= 40 lift, so the check there
is the closed-form optimum). Settings random:d=D,cond=10,seed=1, n = 20 (certify) / n = 5 (critical).
--quick: 8 starts at d = 20, 1 at d = 50. Wall-clock times, one process; CPU times alongside (the
machine is shared, so wall time includes waiting).
"""

from __future__ import annotations

import argparse
import json
import time

from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics import certificate as cert
from iclcheck.numerics.certificate.qp import _solve_qp_dense
from iclcheck.numerics.critical import find_critical_points
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.lift import LiftedLoss
from iclcheck.theory.setting import Setting


def _ol(d: int, n: int) -> OneLayer:
    return OneLayer(Setting.make(parse_cov_spec(f"random:d={d},cond=10,seed=1", exact=False), n))


def _timed(f):
    t, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - t, time.process_time() - c


def _old_route(ol: OneLayer) -> float:
    L = LiftedLoss(ol)
    _, _, _, nu, F = _solve_qp_dense(L, "CLARABEL")
    return cert.float_bound(L, cert.y_from_dual(L, F, nu))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = []
    cert.certify(_ol(2, 3))  # import and warm cvxpy once, outside the timings

    ol = _ol(6, 20)
    old, t_old, c_old = _timed(lambda: _old_route(ol))
    new, t_new, c_new = _timed(lambda: cert.certify(ol))
    attained = ol.loss(*ol.params_from_gamma(ol.gamma_star()))
    rows.append({"case": "certify d=6, former dense QP (bound only)", "seconds": t_old, "cpu": c_old,
                 "bound": old, "attained": attained, "gap": attained - old, "result": "-"})
    rows.append({"case": "certify d=6, Kronecker QP (full certify)", "seconds": t_new, "cpu": c_new,
                 "bound": new.lower_bound, "attained": attained, "gap": new.gap,
                 "result": "certified" if new.certified else "NOT certified"})
    for d in (10, 20):
        ol = _ol(d, 20)
        c, t, cpu = _timed(lambda ol=ol: cert.certify(ol))
        rows.append({"case": f"certify d={d}", "seconds": t, "cpu": cpu, "bound": c.lower_bound,
                     "attained": c.predicted_loss, "gap": c.gap,
                     "result": "certified" if c.certified else f"NOT certified: {c.reason}"})
    for d, starts in ((20, 8 if args.quick else 64), (50, 1 if args.quick else 3)):
        ol = _ol(d, 5)
        land, t, cpu = _timed(lambda ol=ol, starts=starts: find_critical_points(ol, starts=starts, seed=0))
        minima = [p for p in land.points if p.index == 0]
        best = land.points[0] if land.points else None
        if d <= cert.MAX_CERT_DIM:
            c = cert.certify(ol)
            ok = bool(best and c.certified and c.lower_bound <= best.loss <= c.predicted_upper)
            how = f"lowest certified global (gap {c.gap:.1e})" if ok else "lowest NOT certified"
        else:
            ok = bool(best and abs(best.loss - ol.min_loss()) <= 1e-9 * ol.min_loss())
            how = ("lowest = closed-form optimum (d > 40: no certificate)" if ok else
                   "lowest differs from the closed-form optimum")
        conv = sum(r.converged for r in land.runs)
        rows.append({"case": f"critical d={d}, {starts} starts (descent)", "seconds": t, "cpu": cpu,
                     "bound": float("nan"), "attained": best.loss if best else float("nan"), "gap": float("nan"),
                     "result": f"{len(minima)} minima ({sum(p.kind == 'local-min' for p in minima)} spurious), "
                               f"{conv}/{len(land.runs)} runs converged; {how}"})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    w = max(len(r["case"]) for r in rows)
    print(f"{'case':<{w}}  {'wall s':>7}  {'cpu s':>7}  {'bound':>14}  {'attained':>14}  {'gap':>8}  result")
    for r in rows:
        print(f"{r['case']:<{w}}  {r['seconds']:7.2f}  {r['cpu']:7.2f}  {r['bound']:14.10g}  {r['attained']:14.10g}  "
              f"{r['gap']:8.1e}  {r['result']}")
    print(f"certify d=6 speed-up (wall, old route bound vs new full certify): {t_old / t_new:.1f}x")


if __name__ == "__main__":
    main()
