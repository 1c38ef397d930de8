"""The foundation issue's performance targets, measured against baselines in the same run.

(a) precond at d = 2000 (random SPD Sigma = U diag(logspace(0, 2, d)) U^T, Sigma_w = I, Gaussian, n = 50)
    against one numpy.linalg.solve of the same size, both with a 2000 x 2000 right-hand side (the
    size of Gamma*) and with a vector right-hand side. Rows:
      precond            Setting.make (validation: symmetry, Cholesky, condition estimate) + Gamma* + L*
      precond, no check  Gamma* + L* on an already validated Setting
      CLI from .npy      'iclcheck precond --cov FILE.npy -n 50' in-process (load, checks, table output)
      iclcheck process   the same as a new Python process (start-up and imports included)
(b) exact population loss f(P, Q) at random P, Q, d = 500 (closed form, float), and its gradient when
    numerics/one_layer/derivatives.py provides one. Target: loss + gradient < 1 s.
(c) the symbolic one-layer closed form for d = 3, symbolic n (rational tridiagonal Sigma, sigma2 = 1/3):
    theory.one_layer.full_loss_formula over sympy symbols + sp.expand (what 'iclcheck loss --symbolic'
    runs), and the independent brute-force derivation theory.derive when present. Target: < 10 s.

Times are medians of --repeat runs (wall clock, time.perf_counter); in (a) each repeat runs the
baselines and the variants back to back and the ratios are medians of the per-repeat ratios. The BLAS thread count is whatever
the environment sets; run with OMP_NUM_THREADS=1 for numbers that do not depend on machine load.

Usage:
    python benchmarks/bench_foundation.py            # full sizes, table
    python benchmarks/bench_foundation.py --quick    # d = 400 / 100, d = 2 symbolic: a smoke run
    python benchmarks/bench_foundation.py --json
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sympy as sp

from iclcheck.api import precond
from iclcheck.cli import main as cli_main
from iclcheck.cli.commands.loss import symbolic_loss
from iclcheck.cli.inputs import N_SYMBOL, parse_cov_spec
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.setting import Setting

__all__ = ["bench_loss", "bench_precond", "bench_startup", "bench_symbolic", "main"]


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    ts, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def bench_precond(d: int, *, repeat: int, seed: int = 0) -> list[dict[str, Any]]:
    """Each repeat times the baselines and every precond variant back to back, so the ratios compare
    runs made under the same machine load; the table reports medians (of times and of ratios)."""
    S = parse_cov_spec(f"random:d={d},cond=100,seed={seed}")  # (d, d)
    n = 50
    rng = np.random.default_rng(seed + 1)
    A = rng.standard_normal((d, d)) + 3 * np.sqrt(d) * np.eye(d)  # (d, d), well conditioned
    B = rng.standard_normal((d, d))  # (d, d)
    b = B[:, 0].copy()  # (d,)
    st = Setting.make(S, n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sigma.npy"
        np.save(path, S)

        def cli() -> int:
            with contextlib.redirect_stdout(io.StringIO()):
                return cli_main(["precond", "--cov", str(path), "-n", str(n)])

        def proc() -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "iclcheck", "precond", "--cov", str(path), "-n", str(n)],
                                  capture_output=True, check=False)

        cli()  # warm: the first call imports every command module (a once-per-process cost)
        cases = {
            "solve_B": lambda: np.linalg.solve(A, B),
            "solve_b": lambda: np.linalg.solve(A, b),
            "precond": lambda: precond(Setting.make(S, n)),
            "precond, no check": lambda: precond(st),
            "CLI from .npy": cli,
            "iclcheck process from .npy": proc,
        }
        times: dict[str, list[float]] = {k: [] for k in cases}
        outs: dict[str, Any] = {}
        for r in range(repeat):
            for k, fn in cases.items():
                if k == "iclcheck process from .npy" and r >= 3:
                    continue  # seconds each; three are enough
                t = time.perf_counter()
                outs[k] = fn()
                times[k].append(time.perf_counter() - t)
    assert outs["CLI from .npy"] == 0 and outs["iclcheck process from .npy"].returncode == 0
    G, L = outs["precond"].gamma, outs["precond"].loss
    # sanity: Gamma* is the stationary point of the reduced loss, M Gamma*^T = S (W = I)
    resid = float(np.max(np.abs(OneLayer(st).M @ G.T - S)) / np.max(np.abs(S)))
    rows = []
    for k in ("precond", "precond, no check", "CLI from .npy", "iclcheck process from .npy"):
        ts = times[k]
        m = len(ts)
        rows.append({
            "case": f"{k} d={d}", "seconds": statistics.median(ts),
            "vs_solve_matrix_rhs": statistics.median(t / s for t, s in zip(ts, times["solve_B"][:m], strict=True)),
            "vs_solve_vector_rhs": statistics.median(t / s for t, s in zip(ts, times["solve_b"][:m], strict=True)),
        })
    rows.append({"case": f"numpy.linalg.solve(A, B) d={d}, B {d}x{d}", "seconds": statistics.median(times["solve_B"])})
    rows.append({"case": f"numpy.linalg.solve(A, b) d={d}, b vector", "seconds": statistics.median(times["solve_b"])})
    rows[0]["stationarity_residual"] = resid
    rows[0]["min_loss"] = L
    return rows


def bench_startup(*, repeat: int) -> list[dict[str, Any]]:
    """CLI start-up as fresh processes against ``python -c "import numpy"`` (targets: --help <= 3x,
    'precond --cov eye:2 -n 3' <= 5x; tests/cli/test_startup.py asserts them)."""
    cmds = {
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
        "iclcheck --help": [sys.executable, "-m", "iclcheck", "--help"],
        "iclcheck precond --cov eye:2 -n 3": [sys.executable, "-m", "iclcheck", "precond", "--cov", "eye:2", "-n", "3"],
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(max(repeat, 5)):
        for k, c in cmds.items():
            t = time.perf_counter()
            subprocess.run(c, capture_output=True, check=True)
            times[k].append(time.perf_counter() - t)
    base = statistics.median(times["python -c 'import numpy'"])
    return [{"case": f"start-up: {k}", "seconds": statistics.median(v), "vs_import_numpy": statistics.median(v) / base}
            for k, v in times.items()]


def _gradient_fn() -> tuple[str, Callable[..., Any]] | None:
    """The gradient routine of numerics.one_layer.derivatives, if that module exists yet."""
    try:
        mod = importlib.import_module("iclcheck.numerics.one_layer.derivatives")
    except ImportError:
        return None
    for name in ("loss_and_grad", "loss_and_gradient", "value_and_grad"):
        if hasattr(mod, name):
            return name, getattr(mod, name)
    return None


def bench_loss(d: int, *, repeat: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    S = parse_cov_spec(f"random:d={d},cond=100,seed={seed}")  # (d, d)
    P = rng.standard_normal((d + 1, d + 1)) / np.sqrt(d)  # (d+1, d+1)
    Q = rng.standard_normal((d + 1, d + 1)) / np.sqrt(d)  # (d+1, d+1)
    rows = []
    for law in ("gaussian", "uniform"):
        st = Setting.make(S, 20, sigma2=0.1, covariates=law)
        one = OneLayer(st)
        one.loss(P, Q)  # warm the setting-only caches (S^{1/2} for non-Gaussian laws)
        t_loss, _ = _median(lambda one=one: one.loss(P, Q), repeat)
        t_setup, _ = _median(lambda st=st: OneLayer(st).loss(P, Q), repeat)
        rows.append({"case": f"loss f(P,Q) d={d} {law} (cached setting)", "seconds": t_loss})
        rows.append({"case": f"loss f(P,Q) d={d} {law} (incl. setting setup)", "seconds": t_setup})
        g = _gradient_fn()
        if g is not None:
            name, fn = g
            fn(one, P, Q)  # warm its per-setting constants
            t_grad, (val, _, _) = _median(lambda one=one, fn=fn: fn(one, P, Q), repeat)
            t_grad_setup, _ = _median(lambda st=st, fn=fn: fn(OneLayer(st), P, Q), repeat)
            agree = abs(val - one.loss(P, Q)) / abs(one.loss(P, Q))
            rows.append({"case": f"loss+grad ({name}) d={d} {law} (cached setting)", "seconds": t_grad,
                         "rel_diff_vs_loss": agree})
            rows.append({"case": f"loss+grad ({name}) d={d} {law} (incl. setting setup)", "seconds": t_grad_setup})
    if _gradient_fn() is None:
        rows.append({"case": "gradient: numerics.derivatives not available, not measured", "seconds": None})
    return rows


def bench_symbolic(d: int, *, repeat: int) -> list[dict[str, Any]]:
    half = sp.Rational(1, 2)
    S = [[2 if i == j else (half if abs(i - j) == 1 else 0) for j in range(d)] for i in range(d)]
    st = Setting.make(S, N_SYMBOL, sigma2=sp.Rational(1, 3))
    t_formula, f = _median(lambda: symbolic_loss(st), repeat)
    rows = [{"case": f"symbolic f, d={d}, symbolic n: full_loss_formula + expand", "seconds": t_formula,
             "terms": len(sp.Add.make_args(f))}]
    try:
        from iclcheck.theory.derive import derive_one_layer_loss, param_symbols
    except ImportError:
        rows.append({"case": "iclcheck.theory.derive not available, not measured", "seconds": None})
        return rows
    P, Q = param_symbols(d)
    t_derive, f_derive = _median(lambda: derive_one_layer_loss(st, params=(P, Q)), repeat)
    # the two routes agree exactly (rename the symbols of the closed form to derive's P_ij, Q_ij)
    from iclcheck.cli.commands.loss import loss_symbols

    p, q = loss_symbols(d)
    sub = {p[k]: P[d, k] for k in range(d + 1)} | {q[i, j]: Q[i, j] for i in range(d + 1) for j in range(d)}
    equal = sp.expand(N_SYMBOL**2 * (f.xreplace(sub) - f_derive)) == 0
    rows.append({"case": f"symbolic f, d={d}, symbolic n: theory.derive brute force", "seconds": t_derive,
                 "equal_to_closed_form": bool(equal)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Foundation benchmarks: precond vs numpy.linalg.solve, loss (+gradient), symbolic closed form.",
        epilog="examples:\n  OMP_NUM_THREADS=1 python benchmarks/bench_foundation.py\n"
        "  python benchmarks/bench_foundation.py --quick --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run, seconds)")
    ap.add_argument("--repeat", type=int, default=5, help="median of this many runs (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        print("bench_foundation: --repeat must be >= 1", file=sys.stderr)
        return 2
    d_pre, d_loss, d_sym = (400, 100, 2) if args.quick else (2000, 500, 3)
    rows = (bench_startup(repeat=args.repeat) + bench_precond(d_pre, repeat=args.repeat)
            + bench_loss(d_loss, repeat=args.repeat)
            + bench_symbolic(d_sym, repeat=min(args.repeat, 3)))
    env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "numpy": np.__version__,
           "sympy": sp.__version__, "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps({"benchmark": "foundation", "env": env, "rows": rows}))
        return 0
    print(f"env: {env}")
    print(f"{'case':<62} {'seconds':>9} {'/solve(A,B)':>12} {'/solve(A,b)':>12}  notes")
    for r in rows:
        sec = f"{r['seconds']:.4f}" if r["seconds"] is not None else "-"
        rb = f"{r['vs_solve_matrix_rhs']:.2f}x" if "vs_solve_matrix_rhs" in r else ""
        rv = f"{r['vs_solve_vector_rhs']:.2f}x" if "vs_solve_vector_rhs" in r else ""
        notes = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                          if k not in ("case", "seconds", "vs_solve_matrix_rhs", "vs_solve_vector_rhs"))
        print(f"{r['case']:<62} {sec:>9} {rb:>12} {rv:>12}  {notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
