"""``iclcheck compare``: per-step errors of in-context regression algorithms side by side (GD with its
optimal step, preconditioned GD, the optimal L-step polynomial of condition (8), GD++, Iterative
Newton, OLS / Bayes ridge, a trained L-layer LSA), with Monte Carlo CIs and an optional log-scale plot."""

from __future__ import annotations

import argparse

from iclcheck.cli.commands._lsa_common import add_common, positive_int, setting_of
from iclcheck.cli.main import COMMANDS
from iclcheck.cli.progress import add_progress_flag, progress_bar, train_callback
from iclcheck.numerics.limits import (
    MAX_COMPARE_BYTES,
    MAX_COMPARE_LAYERS,
    MAX_COMPARE_N,
    MAX_COMPARE_SAMPLES,
    MAX_COMPARE_STEPS,
)
from iclcheck.numerics.limits import MAX_STEPS as MAX_TRAIN_STEPS

__all__ = ["register", "run"]

EPILOG = """examples:
  iclcheck compare --cov eye:5 --task-cov inv -n 20 -L 3 --plot well.png
  iclcheck compare --cov diag:1,1,0.25,0.0625,1 --rotate 1 --task-cov inv -n 20 -L 3 --steps 15 --plot ill.png
  iclcheck compare --cov diag:100,100,1,1 -n 8 -L 2 --train-steps 0 --format json

error = E (yhat_k - w^T x_q)^2 at step/layer k on the same fresh prompts for every algorithm (99.9% CI,
clipped at 0). Exact where the restricted families give it (pgd, opt-poly, gdpp when x ~ N(0, Sigma) and
w ~ N(0, Sigma^-1)): marked '='. Step sizes (gd, pgd) minimise the error after L steps (the attention
models' depth); steps beyond L are run with that step size and marked '+'. A Monte Carlo cell whose tails
make the mean not estimable at this sample size is marked '?' (the JSON gives median and quantiles). Iterative Newton uses Fu et al.'s indexing (step k = w_k = M_k X^T y) and their code's
alpha = 1/||S S^T||_F. The trained LSA (full P, Q) is read out after every layer.

bounds (checked before any work): -L <= 20 (the exact condition-(8) optimum stops there), --steps <= 10000,
--samples <= 1e6 and about 2 GiB of prompts, -n <= 10000, --train-steps <= 1e6. Exit 3 (one line) when a
reported error is not finite (an algorithm overflowed float64).
"""


def register(sub) -> None:
    p = sub.add_parser("compare", help=COMMANDS["compare"],
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument("--steps", type=positive_int, default=None, help="iterations of GD / Newton (default max(L, 10); at most 10000)")
    p.add_argument("--samples", type=positive_int, default=4000, help="test prompts (default 4000; at most 1e6, and about 2 GiB of prompts: "
                   "samples x (d+1) x (n+1); -n at most 10000)")
    p.add_argument("--train-steps", type=int, default=1500,
                   help="Adam steps for the trained LSA (default 1500; 0 skips it; at most 1e6)")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="write the error curves to FILE (.png/.pdf/.svg, a regular file; log scale when the errors "
                        "span decades, outliers and off-range baselines named in a note under the plot)")
    add_progress_flag(p)
    p.set_defaults(func=run)


# the bounds live in numerics.limits (the library checks them too)
MAX_N, MAX_SAMPLES, MAX_STEPS, MAX_BYTES = MAX_COMPARE_N, MAX_COMPARE_SAMPLES, MAX_COMPARE_STEPS, MAX_COMPARE_BYTES


def _check_sizes(args: argparse.Namespace, d: int, n: int) -> None:
    """Bounds checked before any work (documented in --help): sizes, and a memory estimate of the prompts
    (samples x (d+1) x (n+1) floats, a few copies) and the per-step predictions (samples x steps)."""
    from iclcheck.theory.errors import InputError

    if args.L > MAX_COMPARE_LAYERS:
        raise InputError("-L", f"at most {MAX_COMPARE_LAYERS} layers for compare (the exact condition-(8) optimum it "
                         f"compares against stops there), got {args.L:,}")
    if n > MAX_N:
        raise InputError("-n", f"must be at most {MAX_N} for compare, got {n}")
    if args.samples > MAX_SAMPLES:
        raise InputError("--samples", f"must be at most {MAX_SAMPLES}, got {args.samples}")
    steps = args.steps if args.steps is not None else max(args.L, 10)
    if steps > MAX_STEPS:
        raise InputError("--steps", f"must be at most {MAX_STEPS}, got {steps}")
    need = 8 * args.samples * (4 * (d + 1) * (n + 1) + 8 * (steps + 1) + 4 * n)
    if need > MAX_BYTES:
        raise InputError("--samples", f"needs about {need / 2**30:.1f} GiB at d={d}, n={n}, {steps} steps, more "
                         f"than the {MAX_BYTES // 2**30} GiB bound: lower --samples, -n or --steps")


_FLAGS = {"L": "-L", "n": "-n", "steps": "--steps", "samples": "--samples", "train_steps": "--train-steps",
          "plot": "--plot"}


def run(args: argparse.Namespace) -> int:
    from iclcheck import api
    from iclcheck.cli.render import emit
    from iclcheck.theory.errors import InputError

    if args.L > MAX_COMPARE_LAYERS:  # before the setting is even parsed
        raise InputError("-L", f"at most {MAX_COMPARE_LAYERS} layers for compare (the exact condition-(8) optimum it "
                         f"compares against stops there), got {args.L:,}")
    if args.train_steps < 0:
        raise InputError("--train-steps", f"must be >= 0, got {args.train_steps}")
    if args.train_steps > MAX_TRAIN_STEPS:
        raise InputError("--train-steps", f"at most {MAX_TRAIN_STEPS:,}, got {args.train_steps:,}")
    st = setting_of(args)
    _check_sizes(args, st.d, int(st.n))
    try:
        with progress_bar(args, args.train_steps, desc="train", unit="step") as bar:
            res = api.compare(st, args.L, steps=args.steps, samples=args.samples, seed=args.seed,
                              train_steps=args.train_steps, callback=None if bar is None else train_callback(bar),
                              plot=args.plot or None)
    except InputError as exc:
        raise InputError(_FLAGS.get(exc.what, exc.what), exc.problem) from None
    res.plot = args.plot  # as given (the JSON has always named it so)
    return emit("compare", res, args, setting=st, text=_table)


def _cell(e, x, bz) -> str:
    v, mark = (x, "=") if x is not None else (e.mean, "" if e.estimable else "?")
    return f"{f'{v:.4g}{mark}{chr(43) if bz else chr(32)}':>13}"


def _table(res, args: argparse.Namespace, written) -> list[str]:
    lines = [f"per-step error E(yhat_k - w^T x_q)^2, {res.samples} prompts, {res.setting}, L={res.L}",
             "  = exact   + beyond the L steps the step size is optimal for   ? Monte Carlo mean not estimable "
             "(heavy tail; see --format json for median/quantiles)"]
    K, curves = res.steps, res.curves
    width = max(len(c.label) for c in curves)
    head = "".join(f"{k:>13}" for k in range(K + 1))
    lines.append(f"{'algorithm':<{width}}  {head}")
    for c in curves:
        row = {int(s): _cell(e, x, bz) for s, e, x, bz in zip(c.steps, c.errors, c.exact, c.beyond(), strict=True)}
        if len(c.errors) == 1:
            cells = "".join(next(iter(row.values())) if k == K else f"{'':>13}" for k in range(K + 1))
        else:
            cells = "".join(row.get(k, f"{'':>13}") for k in range(K + 1))
        lines.append(f"{c.label:<{width}}  {cells}")
        lines += [f"{'':<{width}}  ({c.params[key]})" for key in ("skipped", "method") if c.params.get(key)]
    if res.similarity:
        lines.append("best-matching step per layer l = 1..L (argmax_k SimE on prefix prompts, Fu et al.), SimE in "
                     "brackets:")
        for k, v in res.similarity.items():
            cells = ", ".join(f"{s} [{e:.3f}]" for s, e in zip(v["best_step"], v["sim_e"], strict=True))
            lines.append(f"  {k:<16} {cells}")
    if args.plot:
        lines.append(f"plot written to {args.plot}")
    return lines
