"""``iclcheck flow``: gradient flow of the exact population loss (no sampling) of one attention parametrisation.

Models: one_layer (the full P, Q), attnS (H heads of separate key/query of rank R), attnM (H merged key-query heads),
gd_family / tied (the restricted L-layer families, w ~ N(0, Sigma^-1)). The start is a random draw of scale --init from
--seed. Reports the plateaus (entry, exit, loss), the conserved quantities' drift, the limit's classification and the
fitted tail rates; --plot writes the loss against time with the plateaus shaded."""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from iclcheck.cli.commands._lsa_common import positive_int, seed_arg
from iclcheck.cli.inputs import add_setting_arguments, positive_number, setting_from_args
from iclcheck.cli.main import COMMANDS
from iclcheck.theory.errors import InputError

__all__ = ["register", "run"]

EPILOG = """examples:
  iclcheck flow --cov diag:0.4,0.3,0.2,0.1 -n 31 --model attnS --heads 4 --init 0.003 --t-max 27000 --plot saddles.png
  iclcheck flow --cov eye:3 -n 12 --task-cov inv --model tied -L 3 --init 0.1 --t-max 30 --format json

Plateaus: runs of samples where the loss falls slower than 5% of its average rate for at least 2% of the run (a run
reaching the end is the limit). The integrator is scipy's LSODA at --rtol; conserved quantities should drift by no
more than about that tolerance.
"""

MAX_PARAMS = 20_000


def run(args: argparse.Namespace) -> int:
    from iclcheck import api
    from iclcheck.cli.render import Body, emit
    from iclcheck.numerics.dynamics.flow import model

    st = setting_from_args(args, exact=False)
    if st.n_is_symbolic:
        raise InputError("-n", "this command needs a numeric n")
    init = positive_number(args.init, what="--init")
    t_max = positive_number(args.t_max, what="--t-max")
    rtol = positive_number(args.rtol, what="--rtol")
    rank = None if args.model == "attnM" else args.rank
    m = model(st, args.model, heads=args.heads, rank=rank, L=args.L)
    if m.size > MAX_PARAMS:
        raise InputError("--heads/--rank/--cov", f"{m.size} parameters: at most {MAX_PARAMS} for this command")
    if args.samples < 3:
        raise InputError("--samples", f"must be at least 3, got {args.samples}")
    res = api.flow(st, args.model, init=init, t_max=t_max, samples=args.samples, rtol=rtol, atol=rtol * 1e-4,
                   heads=args.heads, rank=rank, L=args.L, seed=args.seed, hessian=m.size <= 200)
    if args.plot:
        from iclcheck.numerics.plots.many_steps import flow_plot

        flow_plot(res, args.plot)
    out: dict[str, Any] = {"model": res.model, "parameters": m.size, "t_max": t_max, "samples": args.samples,
                           "rtol": rtol, "init_scale": init, "seed": args.seed,
                           "plateaus": [{"entry": p.entry, "exit": p.exit, "loss": p.loss} for p in res.plateaus],
                           "final_loss": float(res.loss[-1]), "final_grad_norm": float(res.grad_norm[-1]),
                           "classification": res.classification, "invariant_drift": res.invariant_drift,
                           "rates": dict(res.rates), "nfev": res.nfev}
    return emit("flow", Body(out, res), args, setting=st, text=partial(_table, setting=st))


def _table(view: Any, args: argparse.Namespace, written: Any, *, setting: Any) -> list[str]:
    res, out = view.result, view.body
    lines = [f"gradient flow of the exact population loss: {res.model}, {out['parameters']} parameters, "
             f"d={setting.d}, n={setting.n}, t in [0, {out['t_max']:g}], LSODA rtol {out['rtol']:g}", ""]
    if res.plateaus:
        lines.append("plateau  entry        exit         loss")
        lines += [f"{i:7d}  {p.entry:<11.5g}  {p.exit:<11.5g}  {p.loss:.8g}" for i, p in enumerate(res.plateaus)]
    else:
        lines.append("no plateau detected")
    lines += ["", f"final loss {res.loss[-1]:.10g}, |grad| {res.grad_norm[-1]:.3g}: {res.classification}",
              f"conserved quantities: max drift {res.invariant_drift:.3g}"]
    if res.rates:
        lines.append(f"tail: exponential rate {res.rates['exp_rate']:.4g}, gradient-dominance exponent p = "
                     f"{res.rates['p']:.3f}")
    if args.plot:
        lines.append(f"plot: {args.plot}")
    return lines


def register(sub: Any) -> None:
    p = sub.add_parser("flow", help=COMMANDS["flow"], description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_setting_arguments(p)
    p.add_argument("--model", choices=("one_layer", "attnS", "attnM", "gd_family", "tied"), default="attnS",
                   help="the parametrisation (default attnS)")
    p.add_argument("--heads", type=positive_int, default=1, help="attnS / attnM: number of heads (default 1)")
    p.add_argument("--rank", type=positive_int, default=1, help="attnS: rank R of each key/query (default 1)")
    p.add_argument("-L", type=positive_int, default=1, help="gd_family / tied: number of layers or loops (default 1)")
    p.add_argument("--init", default="0.01", help="scale of the random start (default 0.01)")
    p.add_argument("--t-max", default="1000", help="integration time (default 1000)")
    p.add_argument("--samples", type=positive_int, default=1001, help="sampled times (default 1001)")
    p.add_argument("--rtol", default="1e-9", help="LSODA relative tolerance (default 1e-9)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the random start (default 0)")
    p.add_argument("--plot", metavar="FILE.png", default=None, help="write the loss against time, plateaus shaded")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")
    p.set_defaults(func=run)
