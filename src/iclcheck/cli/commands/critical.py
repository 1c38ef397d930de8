"""``iclcheck critical``: every critical point the multi-start search finds on the one-layer landscape.

See ``numerics.critical`` for the search (seeded, replayable starts; descent and Newton runs), the
deduplication (modulo P -> gP, Q -> Q/g and the x -> -x mirror) and the classification (Hessian restricted
to the complement of the scaling direction).
"""

from __future__ import annotations

import argparse
import re
from functools import partial
from typing import Any

from iclcheck.cli.formatting import add_out_argument
from iclcheck.cli.main import COMMANDS
from iclcheck.numerics.limits import MAX_CRITICAL_DIM, MAX_SEED, MAX_STARTS
from iclcheck.theory.errors import InputError

__all__ = ["MAX_CRITICAL_DIM", "MAX_SEED", "MAX_STARTS", "landscape_json", "register", "run", "spec_dimension"]



def spec_dimension(text: str, *, what: str) -> int | None:
    """The dimension d a covariance SPEC asks for, read from the text alone (eye:D, diag:..., random:d=D),
    so a size limit can be checked before any matrix is built; None for files and malformed specs (the
    full parser reports those)."""
    s = str(text).strip()
    head, sep, body = s.partition(":")
    if not sep:
        return None
    if head == "eye" and re.fullmatch(r"\+?\d{1,9}", body.strip()):
        return int(body)
    if head == "diag":
        return body.count(",") + 1
    if head == "random":
        m = re.search(r"(?:^|,)\s*d=(\+?\d{1,9})\s*(?:,|$)", body)
        return int(m.group(1)) if m else None
    return None

EPILOG = """examples:
  iclcheck critical --cov random:d=3,cond=10,seed=1 -n 5 --starts 64
  iclcheck critical --cov diag:1,2 -n 3 --noise 0.1 --format json
  iclcheck critical --cov eye:2 -n 4 --covariates uniform --plot landscape.png

Parameters searched: the last row of P (b, c) and the first d columns of Q (Q11, q21); nothing else
affects the output. Each start k is replayable from (--seed, k). kind: global-min | local-min | saddle
(index = number of negative Hessian eigenvalues off the scaling direction). gamma = -c Q11^T, the
preconditioner the point implements exactly when b = 0 and q21 = 0 (reduced form; 'reduced' column =
0). distance = sqrt(E(o - o*)^2) / sqrt(E o*^2), o the point's output and o* the output of the
predicted Gamma* point (d <= 6; tensor distance beyond). flat = Hessian eigenvalues counted as zero
besides the scaling direction (> 0: a degenerate point, e.g. on a continuum of critical points when Sigma
has symmetries; such continua are listed point by point, not merged). Exit status 0 also when some
runs do not converge (they are listed); 2 for bad input, checked before any work.

Runs per start (--methods): auto = descent and newton (the saddle search) for d <= 10, descent only
beyond; a descent result not yet converged is polished by Newton steps (MINRES on exact Hessian-vector
products above d = 10); points are classified by the whole Hessian spectrum (built from those products).

limits (checked before any work): d <= 50 ((d+1)^2 = 2601 parameters; time, not memory, is the limit:
peak memory < 0.1 GB; one descent start takes ~1 s at d = 20 and ~2 s at d = 50 here, the search takes
--starts times that), 1 <= --starts <= 10000, 0 <= --seed <= 2^63 - 1.
"""


def landscape_json(land: Any) -> dict[str, Any]:
    """The JSON body of a Landscape (``Landscape.to_dict``)."""
    return land.to_dict()


def _check_flags(args: argparse.Namespace) -> None:
    """Bounds checked from the flags alone, before the setting is built."""
    if not 1 <= args.starts <= MAX_STARTS:
        raise InputError("--starts", f"must be between 1 and {MAX_STARTS}, got {args.starts}")
    if not 0 <= args.seed <= MAX_SEED:
        raise InputError("--seed", f"must be an integer in [0, 2^63 - 1], got {args.seed}")
    d = spec_dimension(args.cov, what="--cov")
    if d is not None and d > MAX_CRITICAL_DIM:
        raise InputError("--cov", f"critical supports d <= {MAX_CRITICAL_DIM} ((d+1)^2 parameters per run), got d = {d}")


def run(args: argparse.Namespace) -> int:
    from iclcheck import api
    from iclcheck.cli.inputs import setting_from_args
    from iclcheck.cli.progress import progress_bar
    from iclcheck.cli.render import check_out, emit

    _check_flags(args)
    check_out(args)  # before any work: a regular file that can be written
    if args.plot is not None:
        from iclcheck.numerics.plots.landscape import check_plot_path

        check_plot_path(args.plot)
    setting = setting_from_args(args, exact=False)
    if setting.d > MAX_CRITICAL_DIM:
        raise InputError("--cov", f"critical supports d <= {MAX_CRITICAL_DIM}, got d = {setting.d}")
    with progress_bar(args, args.starts, desc="critical", unit="start") as bar:
        land = api.critical_points(setting, starts=args.starts, seed=args.seed,
                                   methods=None if args.methods == "auto" else tuple(args.methods.split(",")),
                                   progress=None if bar is None else lambda k, total: bar.update(k - bar.n),
                                   plot=args.plot or None)
    return emit("critical", land, args, setting=setting, text=partial(_table, setting=setting))


def _table(land: Any, args: argparse.Namespace, written: Any, *, setting: Any) -> list[str]:
    from iclcheck.cli.formatting import fmt_number, format_matrix, format_table

    methods, d = land.methods, len(land.gamma_star)
    runs = f"{len(methods)} runs ({', '.join(methods)})" if len(methods) > 1 else f"1 run ({methods[0]})"
    rows = [
        [i, p.kind, p.index, fmt_number(p.loss, digits=10), f"{p.grad_norm:.1e}", p.count,
         fmt_number(p.distance_to_predicted, digits=4), fmt_number(p.reduced_form_residual, digits=3),
         p.n_zero]
        for i, p in enumerate(land.points)
    ]
    lines = [f"setting: {setting.describe()}",
             f"{land.starts} starts x {runs}, seed {land.seed}, |grad f| <= {land.grad_tol:.2g}",
             f"predicted (reduced-family) loss L* = {fmt_number(land.predicted_loss, digits=10)}",
             format_table(rows, headers=["#", "kind", "index", "loss", "|grad|", "count", "distance", "reduced",
                                         "flat"])]
    if written is not None:
        lines.append(f"the points' gamma ({len(land.points)} x {d}x{d}) written to {written['file']}")
    elif land.points:
        lines.append(f"gamma of point 0 (-c Q11^T):\n{format_matrix(land.points[0].gamma)}")
    lines.append(f"non-converged runs: {len(land.nonconverged)} of {len(land.runs)}")
    lines += [f"  start {r.start} ({r.method}): {r.message}" for r in land.nonconverged]
    if args.plot:
        lines.append(f"plot written to {args.plot}")
    return lines


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "critical",
        help=COMMANDS["critical"],
        description="Multi-start search for the critical points of the full one-layer LSA loss f(P, Q), "
        "deduplicated modulo its symmetries and classified by the restricted Hessian.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from iclcheck.cli.inputs import add_setting_arguments

    add_setting_arguments(p)
    p.add_argument("--starts", type=int, default=64, help=f"number of random starts, 1..{MAX_STARTS} (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starts, 0..2^63-1 (default 0)")
    p.add_argument("--methods", choices=("auto", "descent", "descent,newton"), default="auto",
                   help="runs per start: auto (descent and newton for d <= 10, descent beyond; default), descent, "
                   "or descent,newton (newton also finds saddles; slow at large d)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="save the loss along the path global-min -> lowest saddle and the Hessian spectra")
    from iclcheck.cli.progress import add_progress_flag

    add_progress_flag(p)
    add_out_argument(p, "the critical points (.npy: their gammas stacked (k, d, d); .npz: gammas, thetas (the "
                     "packed (P, Q)), gamma_star, losses)")
    p.set_defaults(func=run)
