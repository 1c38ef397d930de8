"""``iclcheck train``: train an L-layer linear self-attention with Adam on fresh prompts (numpy, seeded)
and read out what it learned: coefficients, Dist(M, I) in the whitened frame, loss with a CI and the
gap to the exact optimum of the restricted family (Ahn et al. Thm 3 / condition (8))."""

from __future__ import annotations

import argparse
import re
from typing import Any

from iclcheck.cli.commands._lsa_common import add_common, positive_int, setting_of
from iclcheck.cli.main import COMMANDS
from iclcheck.cli.progress import add_progress_flag, progress_bar, train_callback
from iclcheck.numerics.limits import MAX_BATCH, MAX_LAYERS, MAX_MEMORY_BYTES, MAX_STEPS  # noqa: F401 (the bounds, named here)
from iclcheck.theory.errors import InputError, NumericalFailure

__all__ = ["register", "run"]


MAX_MEMORY_GIB = MAX_MEMORY_BYTES // 2**30
MAX_SAMPLES = 20_000_000  # Monte Carlo prompts for the final loss and the gap (iclcheck.api.TRAIN_MAX_SAMPLES)

# library parameter -> flag
FLAGS = {"L": "-L", "steps": "--steps", "batch": "--batch", "lr": "--lr", "clip": "--clip", "warmup": "--warmup",
         "samples": "--samples", "save_weights": "--save-weights"}
_HINT_WORDS = re.compile(r"\b(lr|clip|warmup|L)\b")

EPILOG = """examples:
  # Ahn et al. Sec. 4.3 (3 layers, condition (8)); about 2 minutes on one core, gap ~0.5-0.7%
  iclcheck train --cov diag:1,1,0.25,0.0625,1 --rotate 1 --task-cov inv -n 20 -L 3 --progress
  iclcheck train --cov eye:5 --task-cov inv -n 20 -L 3 --family gdpp --steps 4000 --format json
  iclcheck train --cov eye:3 -n 10 -L 2 --family full --lr 0.01 --steps 500

families: gd = condition (8) (A_i only), gdpp = condition (11) (A_i, B_i), full = every entry of P_i, Q_i.
Learned a_i = tr(Sigma^1/2 A_i Sigma^1/2)/d (canonical model, 1/n inside the layer); Dist(M, I) =
min_alpha ||M - alpha I||_F / ||M||_F. The gap to the optimum is a paired Monte Carlo difference
(same prompts for both models) against the exact condition-(8) optimum (needs --task-cov inv or
Sigma = I, Gaussian covariates).

bounds (refused with exit 2 before any work): -L <= 64, --steps <= 1,000,000, --batch <= 1,000,000
and one step's working set <= 2 GiB (about 8 B x batch x (L (2 D (n+1) + 2 D^2) + ...), D = d+1),
--samples <= 20,000,000. A run that diverges (non-finite loss, gradient or parameters) stops with
exit 3 and says at which step; lower --lr, set --clip or --warmup, or use fewer layers.
"""


def register(sub) -> None:
    p = sub.add_parser("train", help=COMMANDS["train"],
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument("--family", choices=("gd", "gdpp", "full"), default="gd", help="parameter family (default gd)")
    p.add_argument("--steps", type=positive_int, default=5000, help=f"Adam steps (default 5000, at most {MAX_STEPS:,})")
    p.add_argument("--batch", type=positive_int, default=1024,
                   help=f"fresh prompts per step (default 1024, at most {MAX_BATCH:,} and a {MAX_MEMORY_GIB} GiB "
                        "working set per step)")
    p.add_argument("--lr", type=float, default=None,
                   help="peak learning rate, cosine-decayed to 1%% (default 0.1 for gd, 0.01 gdpp and full)")
    p.add_argument("--clip", type=float, default=None,
                   help="clip the gradient to this global norm (default: none for gd, 1.0 for gdpp / full, "
                        "whose losses have heavy-tailed minibatch gradients)")
    p.add_argument("--warmup", type=int, default=None, help="linear warm-up steps (default 0 for gd, 100 otherwise)")
    p.add_argument("--samples", type=positive_int, default=200_000,
                   help=f"Monte Carlo prompts for the final loss and the gap (default 200000, at most {MAX_SAMPLES:,})")
    add_progress_flag(p)
    p.add_argument("--save-weights", metavar="FILE.npz|FILE.safetensors", default=None,
                   help="write the learned P, Q (canonical convention, stacked (L, d+1, d+1)) with the setting as "
                        "metadata; read them back with 'iclcheck check-weights FILE'")
    p.set_defaults(func=run)


def _flagged(exc: InputError | NumericalFailure) -> Exception:
    """The library's error with its parameter names replaced by this command's flags."""
    if isinstance(exc, NumericalFailure):
        return NumericalFailure(exc.what, exc.problem, _HINT_WORDS.sub(lambda m: FLAGS[m.group(1)], exc.hint))
    return InputError(FLAGS.get(exc.what, exc.what), exc.problem)


def run(args: argparse.Namespace) -> int:
    from iclcheck import api
    from iclcheck.cli.render import emit

    st = setting_of(args)
    try:
        with progress_bar(args, args.steps, desc="train", unit="step") as bar:
            res = api.train(st, args.L, family=args.family, steps=args.steps, batch=args.batch, lr=args.lr,
                            clip=args.clip, warmup=args.warmup, samples=args.samples, seed=args.seed,
                            callback=None if bar is None else train_callback(bar),
                            save_weights=getattr(args, "save_weights", None), metadata={"cov": args.cov})
    except (InputError, NumericalFailure) as exc:
        raise _flagged(exc) from None
    return emit("train", res, args, setting=st, text=_table)


def _table(res: Any, args: argparse.Namespace, written: Any) -> list[str]:
    import numpy as np

    gdpp = res.family != "gd"
    lines = [f"trained {res.L}-layer LSA, family {res.family}: {res.setting.describe()}",
             f"  {res.steps} Adam steps x {res.batch} fresh prompts, lr {res.lr:g}, seed {res.seed}: "
             f"{res.run.seconds:.1f} s",
             f"  {'layer':>5}  {'a_l (learned)':>13}  {'Dist(A,I)':>9}" + ("  {:>8}  {:>9}".format("b_l", "Dist(B,I)")
                                                                           if gdpp else "")]
    for l, e in enumerate(res.layers):
        extra = f"  {e['b']:8.4f}  {e['dist_B']:9.4f}" if gdpp else ""
        lines.append(f"  {l:>5}  {e['a']:13.4f}  {e['dist_A']:9.4f}{extra}")
    la = res.loss
    lines.append(f"  loss {la.mean:.5g}  (99.9% CI [{la.ci[0]:.5g}, {la.ci[1]:.5g}])" if la.estimable
                 else f"  loss {la.describe('.5g')}")
    if res.optimum is None:
        lines.append(f"  (no exact optimum: {res.optimum_note})")
    else:
        lines.append(f"  exact condition-(8) optimum: a = {np.round(res.optimum[0], 4).tolist()} (any order), loss "
                     f"{res.optimum[1]:.5g}")
        if gdpp:
            lines.append("  (the reference is the condition-(8) optimum; GD++ / full parameters can go below it: see "
                         "'iclcheck layers --family gdpp' and the claim ahn2023.fig4)")
        out = res.to_dict()
        lines.append(f"  gap to optimum: {out['gap_note']}" if out["gap"] is None else
                     f"  gap to optimum {out['gap']:+.4g} = {100 * out['relative_gap']:+.2f}% (paired 99.9% CI "
                     f"[{100 * out['relative_gap_ci'][0]:+.2f}%, {100 * out['relative_gap_ci'][1]:+.2f}%])")
    if res.weights_file is not None:
        lines.append(f"  learned P, Q (canonical, stacked) written to {res.weights_file}")
    return lines
