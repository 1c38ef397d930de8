"""Loss + gradient of the one-layer model with uniform (or Rademacher) covariates at d = 1000 against one d x d
matrix product, in the same process (issue 19). The diagonals diag(A B C) of the non-Gaussian terms go through BLAS
from d = BLAS_DIAG_MIN_D on; the former route (a 3-operand ``np.einsum``, a d^3 C loop outside BLAS) is run beside
it by raising that threshold, and both must agree (loss to 1e-12 relative, gradient to 1e-12 of its largest entry).

Target: ``loss_and_grad`` with a warm setting (constants cached on the OneLayer) <= 10x one d x d product. Also
shown: a fresh setting (OneLayer built, S^{1/2} and the setting's constants computed inside the timing).

    python benchmarks/bench_nongaussian.py [--d 1000] [--covariates uniform] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import iclcheck.numerics.one_layer.closed_form as one_layer
from iclcheck.numerics.one_layer.derivatives import loss_and_grad
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.theory.setting import Setting

PAUSE = 0.2  # seconds before each timed call: OpenBLAS threads busy-wait for a while after a call


def timed(f) -> tuple[float, object]:
    time.sleep(PAUSE)
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--d", type=int, default=1000)
    ap.add_argument("--covariates", default="uniform", choices=["uniform", "rademacher"])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    d, rng = args.d, np.random.default_rng(0)
    st = Setting.make(random_spd(d, 10.0, rng), 2 * d, covariates=args.covariates)
    P, Q = (rng.standard_normal((d + 1, d + 1)) / np.sqrt(d) for _ in range(2))
    A, B = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    blas = one_layer.BLAS_DIAG_MIN_D
    rows: dict[str, list[float]] = {k: [] for k in ("matmul", "warm", "warm former", "fresh", "fresh former")}
    ol_new, ol_old = one_layer.OneLayer(st), None
    for r in range(args.repeat):
        rows["matmul"].append(timed(lambda: A @ B)[0])
        for former in (False, True):
            one_layer.BLAS_DIAG_MIN_D = 10**9 if former else blas
            tag = " former" if former else ""
            t, (f, dP, dQ) = timed(lambda: loss_and_grad(one_layer.OneLayer(st), P, Q))
            rows["fresh" + tag].append(t)
            if r == 0 and former:
                ol_old = one_layer.OneLayer(st)
                loss_and_grad(ol_old, P, Q)  # its constants cached for the warm timings
            ol = ol_old if former else ol_new
            t, res = timed(lambda ol=ol: loss_and_grad(ol, P, Q))
            rows["warm" + tag].append(t)
            if former:
                f_old, dP_old, dQ_old = res
            else:
                f_new, dP_new, dQ_new = res
        one_layer.BLAS_DIAG_MIN_D = blas
        scale = max(np.abs(dP_old).max(), np.abs(dQ_old).max())
        if not (abs(f_new - f_old) <= 1e-12 * abs(f_old) and np.abs(dP_new - dP_old).max() <= 1e-12 * scale
                and np.abs(dQ_new - dQ_old).max() <= 1e-12 * scale):
            raise SystemExit("the BLAS route and the einsum route disagree")
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"d = {d}, {args.covariates} covariates, medians of {args.repeat} (interleaved):")
    print(f"  one d x d matmul:             {med['matmul'] * 1e3:8.1f} ms")
    for k in ("warm", "warm former", "fresh", "fresh former"):
        print(f"  loss_and_grad {k:13s}:  {med[k]:8.3f} s = {med[k] / med['matmul']:6.1f}x matmul")
    print(f"target: warm <= 10x matmul: {'met' if med['warm'] <= 10 * med['matmul'] else 'NOT met'}")


if __name__ == "__main__":
    main()
