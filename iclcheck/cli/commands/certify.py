"""``iclcheck certify``: a global-optimality certificate for the one-layer loss (numerics.certificate)."""

from __future__ import annotations

import argparse
from typing import Any

from iclcheck.cli.formatting import dump_json, fmt_number, print_table
from iclcheck.cli.inputs import add_setting_arguments, setting_from_args
from iclcheck.numerics.certificate import MAX_CERT_DIM, certify
from iclcheck.numerics.one_layer import OneLayer
from iclcheck.theory.errors import InputError

__all__ = ["register", "run"]

EPILOG = f"""examples:
  iclcheck certify --cov random:d=3,cond=10,seed=1 -n 5
  iclcheck certify --cov diag:1,2,3 -n 4 --covariates rademacher --format json

What it proves when certified: f(P, Q) >= lower_bound for EVERY P, Q (a dual point of a convex
relaxation in the lifted variable m = p (x) vec(Q[:, :d]), in which the loss is a convex quadratic),
and the loss of the predicted Gamma* point is within the stated tolerance of that bound: Gamma*'s
point is a global minimiser of the full one-layer loss. The moments of the lift are computed from
first principles (Isserlis + exact Gauss-Hermite quadrature over w), independently of the closed form.
Solver: CLARABEL (interior point; SCS is too inaccurate to certify small gaps). d <= {MAX_CERT_DIM}.
Exit status: 0 certified, 1 not certified (the reason is printed), 2 bad input.
"""


def run(args: argparse.Namespace) -> int:
    setting = setting_from_args(args, exact=False)
    if setting.d > MAX_CERT_DIM:
        raise InputError("--cov", f"certify supports d <= {MAX_CERT_DIM} (lifted dimension grows like d^3), "
                         f"got d = {setting.d}")
    if not args.gap_tol > 0:
        raise InputError("--gap-tol", f"must be positive, got {args.gap_tol}")
    c = certify(OneLayer(setting), solver=args.solver, gap_tol=args.gap_tol)
    if args.format == "json":
        dump_json({
            "lower_bound": c.lower_bound, "predicted_loss": c.predicted_loss, "gap": c.gap,
            "certified": bool(c.certified), "solver": c.solver, "status": c.status,
            "primal": c.primal, "dual": c.dual, "solver_gap": c.solver_gap, "gap_tolerance": c.gap_tol,
            "dual_residual": c.dual_residual, "kernel_residual": c.kernel_residual,
            "minimiser_distance": c.minimiser_distance, "reason": c.reason, "statement": c.statement,
        })
    else:
        print(f"setting: {setting.describe()}")
        print_table([
            ["lower bound (dual)", fmt_number(c.lower_bound, digits=12)],
            ["primal of relaxation", fmt_number(c.primal, digits=12)],
            ["predicted loss (Gamma*)", fmt_number(c.predicted_loss, digits=12)],
            ["gap (predicted - lower)", f"{c.gap:.2e}  (tolerance {c.gap_tol:.1e})"],
            ["solver / status", f"{c.solver} / {c.status}"],
            ["dual stationarity residual", f"{c.dual_residual:.1e}"],
            ["relaxation minimiser vs Gamma*", f"{c.minimiser_distance:.1e}"],
            ["certified", "yes" if c.certified else "NO"],
        ], headers=["quantity", "value"])
        print(c.statement)
    return 0 if c.certified else 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "certify",
        help="certify that the predicted Gamma* point is a global minimum of the one-layer loss",
        description="Global-optimality certificate for the full one-layer LSA loss by a convex relaxation "
        "(cvxpy + CLARABEL), with primal/dual values, the solver status and an independent residual check.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_setting_arguments(p)
    p.add_argument("--solver", choices=("CLARABEL", "SCS"), default="CLARABEL", help="conic solver")
    p.add_argument("--gap-tol", type=float, default=1e-6,
                   help="relative gap tolerance: certified when gap <= tol * max(1, |predicted loss|)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.set_defaults(func=run)
