"""Time the exact multi-layer machinery (cold caches every repeat).

  moments_sym   E tr(S^k), k = 0..K, exact polynomials in symbolic n, d (Stein recursion; all mixed moments
                E prod tr(S^{k_i}) of total degree <= K are computed on the way)      target K = 12 < 10 s
  moments_num   the same with n = 20, d = 5 (exact integers)
  gd_optimum    exact certified L-layer optimum for d = 5, n = 20 (rational solve, Sturm real-root count,
                roots to double precision)                                           target L = 3 < 5 s
  gdpp_optimum  GD++ L = 3 optimum, d = 5, n = 20 (THE optimiser: its default multistart on the exact loss)

Usage:
    python benchmarks/bench_multilayer.py                  # table
    python benchmarks/bench_multilayer.py --K 12 --L 3 --repeat 3 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import iclcheck.numerics.families as nm
import iclcheck.numerics.families.quadrature as nq
import iclcheck.theory.sample_moments as sm
from iclcheck.theory.multilayer import optimal_gd_exact

__all__ = ["bench", "main"]


def _cold() -> None:
    sm._table.cache_clear()
    sm._dependencies.cache_clear()
    nq._moments_cached.cache_clear()
    nq._quadrature_cached.cache_clear()


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        _cold()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench(*, K: int = 12, L: int = 3, repeat: int = 1, gdpp: bool = True) -> list[dict]:
    rows = []
    t, _ = _best(lambda: sm.trace_moments(K, n=sm.n_sym, d=sm.d_sym), repeat)
    rows.append({"task": f"moments_sym K={K}", "seconds": t, "target": 10.0})
    t, _ = _best(lambda: sm.trace_moments(K, n=20, d=5), repeat)
    rows.append({"task": f"moments_num K={K} (n=20, d=5)", "seconds": t, "target": None})
    t, opt = _best(lambda: (lambda o: (o, o.a_float()))(optimal_gd_exact(L, n=20, d=5)), repeat)
    o, a = opt
    rows.append({"task": f"gd_optimum L={L} (d=5, n=20)", "seconds": t, "target": 5.0,
                 "coefficients": a, "loss": float(o.loss), "certified": o.certified})
    if gdpp:
        t, g = _best(lambda: nm.optimal_gdpp((5, 20), 3), repeat)  # THE optimiser, its default starts
        rows.append({"task": f"gdpp_optimum L=3 (d=5, n=20, {g.starts} starts)", "seconds": t, "target": None,
                     "a": g.a.tolist(), "b": g.b.tolist(), "loss": g.loss, "gradient_norm": g.gradient_norm,
                     "method": g.method})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--K", type=int, default=12)
    p.add_argument("--L", type=int, default=3)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--no-gdpp", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = bench(K=args.K, L=args.L, repeat=args.repeat, gdpp=not args.no_gdpp)
    if args.json:
        print(json.dumps(rows))
        return 0
    w = sys.stdout.write
    w(f"{'task':44s} {'seconds':>9s} {'target':>8s}\n")
    for r in rows:
        tgt = f"< {r['target']:g}" if r["target"] else ""
        w(f"{r['task']:44s} {r['seconds']:9.3f} {tgt:>8s}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
