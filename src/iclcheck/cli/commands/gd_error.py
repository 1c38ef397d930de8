"""``iclcheck gd-error``: the exact expected error of k = 1..K steps of in-context GD from w_0 = 0.

The iteration w_{k+1} = w_k - eta P (1/n) X^T (X w_k - y) on each prompt, the error of the query prediction
(--target label) or of the weights ||w_k - w*||^2 (--target weights: Huang, Wang, Lee 2025's chain of thought).
Exact from the Wishart moments when P Sigma = c I (plain GD with Sigma = c I, or --precondition inverse with any
Sigma), any task prior and noise, Gaussian covariates. --eta opt: the step that minimises each k's error."""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from iclcheck.cli.commands._lsa_common import positive_int
from iclcheck.cli.inputs import add_setting_arguments, positive_number, setting_from_args
from iclcheck.cli.main import COMMANDS
from iclcheck.theory.errors import InputError

__all__ = ["register", "run"]

EPILOG = """examples:
  iclcheck gd-error --cov eye:10 -n 20 --steps 12 --eta 20/31 --target weights
  iclcheck gd-error --cov diag:2,1,0.5 -n 8 --noise 0.1 --steps 6 --precondition inverse --format json

Columns: k, the step eta, the exact expected error, the expected fraction of eigenvalues of eta c S beyond the
stability edge 2 ('edge mass') and the share of the error they carry; '!' marks a heavy tail (more than half of the
expected error from less than 5% of the spectrum: the mean rests on rare prompts, a Monte Carlo mean sits below it).
"""


def _eta(text: str) -> float | None:
    if str(text).strip() in ("opt", "optimal"):
        return None
    return positive_number(text, what="--eta")


def run(args: argparse.Namespace) -> int:
    from iclcheck import api
    from iclcheck.cli.render import Labelled, emit

    st = setting_from_args(args, exact=False)
    if st.n_is_symbolic:
        raise InputError("-n", "this command needs a numeric n")
    eta = _eta(args.eta)
    res = api.gd_error(st, args.steps, eta=eta, target=args.target,
                       precondition=None if args.precondition == "none" else "inverse")
    return emit("gd-error", Labelled(res, before={"precondition": args.precondition}), args, setting=st,
                text=partial(_table, setting=st))


def _table(view: Any, args: argparse.Namespace, written: Any, *, setting: Any) -> list[str]:
    res = view.result
    lines = [f"GD from w_0 = 0, target {res.target}, d={res.d}, n={res.n}, sigma2={setting.sigma2:g}, precondition "
             f"{args.precondition}, step {'optimal per k' if res.optimal_step else 'fixed'}", "",
             "    k  eta          E error         edge mass  edge share"]
    for k in range(res.error.size):
        flag = " !" if res.heavy_tail[k] else ""
        lines.append(f"{k + 1:5d}  {res.eta[k]:<11.6g}  {res.error[k]:<14.8g}  {res.edge_mass[k]:<9.3g}  "
                     f"{res.edge_share[k]:.3g}{flag}")
    worse = "never" if res.first_worse is None else f"k = {res.first_worse}"
    return [*lines, "", f"least error at k = {res.argmin}; first k with error above k = 1: {worse}"]


def register(sub: Any) -> None:
    p = sub.add_parser("gd-error", help=COMMANDS["gd-error"], description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_setting_arguments(p)
    p.add_argument("--steps", type=positive_int, default=10, help="largest number of GD steps K, at most 13 "
                   "(default 10)")
    p.add_argument("--eta", default="opt", metavar="ETA", help="step size: a number, a/b, or 'opt' (the optimal "
                   "step for each k; default)")
    p.add_argument("--target", choices=("label", "weights"), default="label",
                   help="label: E (x_q^T w_k - y_q)^2; weights: E ||w_k - w*||^2 (default label)")
    p.add_argument("--precondition", choices=("none", "inverse"), default="none",
                   help="none: plain GD (needs Sigma = c I); inverse: P = Sigma^-1 (default none)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")
    p.set_defaults(func=run)
