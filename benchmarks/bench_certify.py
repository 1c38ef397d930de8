"""``certify`` at d = 40 (the largest float certificate) against the route before issue 19, in the same process,
interleaved, same setting; the bounds must agree. Issue 19 made two changes: one eigendecomposition of the P x P
lifted Gram matrix (before: ``eigvalsh`` for the proven lambda_min bound, then ``eigh`` for the QP's Kronecker
factor), and the reduced moments U^T G U gathered by pair index (before: dense products with U = U_pair, three
per certify: the lift and the two rounding majorants).

Target: the new route at least 1.3x faster. The baseline is the former computation restored: the two former
eigen-calls and the dense ``reduced``.

On a loaded 2-core machine OpenBLAS's two threads make single timings erratic (1.4-8 s for the same call); with
OPENBLAS_NUM_THREADS=1 in the environment (both routes alike) the ratio is stable.

    python benchmarks/bench_certify.py [--repeat 5] [--cov random:d=40,cond=10,seed=0] [-n 50]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

import iclcheck.numerics.certificate.bound as cb
import iclcheck.numerics.certificate.qp as cq
import iclcheck.numerics.one_layer.lift as lift
from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics.certificate import certify
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.setting import Setting


def dense_reduced(mo, *, exact=False):
    """The former ``lift.reduced``: dense products U^T G U and U^T a3 with U = U_pair [(d+1)^2, P]."""
    k = mo.EGG.shape[0]
    U = lift.pair_basis(k - 1, exact=exact)
    return U.T @ mo.EGG.reshape(k * k, k * k) @ U, U.T @ mo.a3.reshape(k * k, k - 1)


@contextlib.contextmanager
def former_route():
    """The former code: dense ``reduced``; eigvalsh(G_s) for the lambda_min bound, then eigh(G_s) for the factor."""
    bound, qp, red_lift, red_bound = cb.gs_eigh, cq.gs_eigh, lift.reduced, cb.reduced
    cb.gs_eigh = lambda L: (np.linalg.eigvalsh(L.Gs), None)
    cq.gs_eigh = lambda L: np.linalg.eigh(L.Gs)
    lift.reduced = cb.reduced = dense_reduced
    try:
        yield
    finally:
        cb.gs_eigh, cq.gs_eigh, lift.reduced, cb.reduced = bound, qp, red_lift, red_bound


def run(spec: str, n: int, covariates: str):
    ol = OneLayer(Setting.make(parse_cov_spec(spec, exact=False), n, covariates=covariates))
    t0 = time.perf_counter()
    c = certify(ol)
    return time.perf_counter() - t0, c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cov", default="random:d=40,cond=10,seed=0")
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--covariates", default="gaussian")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    run(args.cov, args.n, args.covariates)  # warm-up: imports, cvxpy's first compile
    old, new = [], []
    for _ in range(args.repeat):
        time.sleep(0.3)
        with former_route():
            t, c_old = run(args.cov, args.n, args.covariates)
        old.append(t)
        time.sleep(0.3)
        t, c_new = run(args.cov, args.n, args.covariates)
        new.append(t)
        same = (c_old.lower_bound == c_new.lower_bound and c_old.predicted_upper == c_new.predicted_upper
                and c_old.certified == c_new.certified)
        if not same:
            raise SystemExit(f"bounds differ: former {c_old.lower_bound!r} <= {c_old.predicted_upper!r}, "
                             f"new {c_new.lower_bound!r} <= {c_new.predicted_upper!r}")
    mo, mn = statistics.median(old), statistics.median(new)
    print(f"certify --cov {args.cov} -n {args.n} --covariates {args.covariates}: certified={c_new.certified}, "
          f"bounds {c_new.lower_bound!r} <= f* <= {c_new.predicted_upper!r} (same on both routes)")
    print(f"former (dense U^T G U, eigvalsh + eigh): median {mo:.3f} s  {sorted(round(x, 3) for x in old)}")
    print(f"now    (gathered, one eigh):             median {mn:.3f} s  {sorted(round(x, 3) for x in new)}")
    print(f"speed-up {mo / mn:.2f}x (target >= 1.3x)")


if __name__ == "__main__":
    main()
