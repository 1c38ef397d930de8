"""Time the symbolic one-layer loss: brute-force derivation vs the matrix closed form, symbolic n.

For each d: a fixed rational Sigma (tridiagonal, 2 on the diagonal, 1/2 off it), Sigma_w = I,
sigma2 = 1/3, full (d+1) x (d+1) matrices of parameter symbols, n a sympy Symbol.

  derive   theory.derive.derive_one_layer_loss (moment expansion of the literal model)
  formula  theory.one_layer.full_loss_formula over sympy symbols, then n * f expanded (a polynomial)
  check    the exact zero test expand(n^2 (derive - formula)) == 0

Usage:
    python benchmarks/bench_symbolic.py                 # table, d = 1, 2, 3
    python benchmarks/bench_symbolic.py --dims 1 2 3 4 --repeat 3 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import sympy as sp

from iclcheck.theory import Setting
from iclcheck.theory.derive import derive_one_layer_loss, param_symbols
from iclcheck.theory.one_layer import SYMPY_OPS, exact_inputs, full_loss_formula, split_params

__all__ = ["bench", "main"]


def _setting(d: int, n: sp.Symbol, covariates: str) -> Setting:
    half = sp.Rational(1, 2)
    if covariates == "gaussian":
        S = [[2 if i == j else (half if abs(i - j) == 1 else 0) for j in range(d)] for i in range(d)]
    else:
        S = [[(i + 2) if i == j else 0 for j in range(d)] for i in range(d)]
    return Setting.make(S, n, sigma2=sp.Rational(1, 3), covariates=covariates)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench(d: int, *, repeat: int = 1, covariates: str = "gaussian") -> dict:
    """Seconds (best of ``repeat``) for the two routes and the exact comparison at dimension d."""
    n = sp.Symbol("n", positive=True, integer=True)
    st = _setting(d, n, covariates)
    P, Q = param_symbols(d)
    t_derive, f_derive = _best(lambda: derive_one_layer_loss(st), repeat)

    def formula():
        S, W, Sh, km3, s2, nn = exact_inputs(st)
        b, c, Q11, q21 = split_params(P, Q, d)
        return sp.expand(n * full_loss_formula(S, W, Sh, km3, s2, nn, b, c, Q11, q21, SYMPY_OPS)) / n

    t_formula, f_formula = _best(formula, repeat)
    t = time.perf_counter()
    equal = sp.expand(n**2 * (f_derive - f_formula)) == 0
    t_check = time.perf_counter() - t
    terms = len(sp.Add.make_args(sp.expand(n * f_formula)))
    return {
        "d": d,
        "covariates": covariates,
        "n": "symbolic",
        "params": 2 * (d + 1) ** 2,
        "terms": terms,
        "derive_s": t_derive,
        "formula_s": t_formula,
        "check_s": t_check,
        "equal": bool(equal),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Time the brute-force symbolic one-layer loss (symbolic n) against the matrix formula.",
        epilog="examples:\n  python benchmarks/bench_symbolic.py\n"
        "  python benchmarks/bench_symbolic.py --dims 1 2 3 4 --covariates uniform --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--dims", type=int, nargs="+", default=[1, 2, 3], help="dimensions d (default 1 2 3)")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many runs (default 1)")
    ap.add_argument("--covariates", choices=["gaussian", "uniform", "rademacher"], default="gaussian")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)
    if args.repeat < 1 or any(d < 1 or d > 6 for d in args.dims):
        print("bench_symbolic: --repeat must be >= 1 and each d in 1..6", file=sys.stderr)
        return 2
    rows = [bench(d, repeat=args.repeat, covariates=args.covariates) for d in args.dims]
    if args.json:
        print(json.dumps({"benchmark": "symbolic_one_layer", "rows": rows}))
    else:
        print(f"{'d':>2} {'law':>10} {'terms':>6} {'derive [s]':>11} {'formula [s]':>12} {'check [s]':>10}  equal")
        for r in rows:
            print(f"{r['d']:>2} {r['covariates']:>10} {r['terms']:>6} {r['derive_s']:>11.3f} "
                  f"{r['formula_s']:>12.3f} {r['check_s']:>10.3f}  {r['equal']}")
    return 0 if all(r["equal"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
