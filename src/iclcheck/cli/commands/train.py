"""``iclcheck train``: train an L-layer linear self-attention with Adam on fresh prompts (numpy, seeded)
and read out what it learned: coefficients, Dist(M, I) in the whitened frame, loss with a CI and the
gap to the exact optimum of the restricted family (Ahn et al. Thm 3 / condition (8))."""

from __future__ import annotations

import argparse
import math
import re

from iclcheck.cli.commands._lsa_common import add_common, positive_int, setting_of
from iclcheck.cli.main import COMMANDS
from iclcheck.cli.progress import add_progress_flag, progress_bar, train_callback
from iclcheck.numerics.limits import MAX_BATCH, MAX_LAYERS, MAX_MEMORY_BYTES, MAX_STEPS
from iclcheck.theory.errors import InputError, NumericalFailure

__all__ = ["register", "run"]


MAX_MEMORY_GIB = MAX_MEMORY_BYTES // 2**30
MAX_SAMPLES = 20_000_000  # Monte Carlo prompts for the final loss and the gap
MC_BATCH = 20_000  # prompts per Monte Carlo batch (fewer when one batch would exceed the memory bound)

# library parameter -> flag
FLAGS = {"L": "-L", "steps": "--steps", "batch": "--batch", "lr": "--lr", "clip": "--clip", "warmup": "--warmup",
         "samples": "--samples"}
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


def _finite(out: dict, keys: tuple[str, ...]) -> None:
    """Never print nan: a non-finite result is a numerical failure, not an answer."""
    for k in keys:
        v = out.get(k)
        vals = v if isinstance(v, (list, tuple)) else [v]
        if any(x is not None and not math.isfinite(x) for x in vals):
            raise NumericalFailure("training", f"the trained model's {k} is not finite ({v})",
                                   "lower --lr, set --clip or --warmup, or use fewer layers -L")


def run(args: argparse.Namespace) -> int:
    if args.L > MAX_LAYERS:  # before the setting is even parsed: no work beyond the bound
        raise InputError("-L", f"at most {MAX_LAYERS} layers for training, got {args.L:,}")
    if args.samples > MAX_SAMPLES:
        raise InputError("--samples", f"at most {MAX_SAMPLES:,}, got {args.samples:,}")
    save = getattr(args, "save_weights", None)
    if save is not None and not save.endswith((".npz", ".safetensors")):
        raise InputError("--save-weights", f"{save}: the file name must end in .npz or .safetensors")
    if save is not None:  # before training: a regular file that can be written (never a FIFO or a device)
        from iclcheck.numerics.outfiles import check_output_path

        check_output_path(save, what="--save-weights", suffixes=(".npz", ".safetensors"))
    if save is not None and save.endswith(".safetensors"):  # before training, not after it
        from iclcheck.theory.errors import import_optional

        import_optional("safetensors.numpy", extra="weights", feature="writing .safetensors")
    import numpy as np

    from iclcheck.cli.formatting import dump_json, json_envelope
    from iclcheck.numerics.families import family_params, optimal_gd_coefficients
    from iclcheck.numerics.training import check_budget, paired_gap, step_memory_bytes, summarize, train

    st = setting_of(args)
    lr = args.lr if args.lr is not None else {"gd": 0.1, "gdpp": 0.01, "full": 0.01}[args.family]
    clip = args.clip if args.clip is not None else (None if args.family == "gd" else 1.0)
    warmup = args.warmup if args.warmup is not None else (0 if args.family == "gd" else 100)
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise InputError("--clip", f"must be a positive number, got {args.clip}")
    if warmup < 0:
        raise InputError("--warmup", f"must be >= 0, got {args.warmup}")
    if not (np.isfinite(lr) and lr > 0):
        raise InputError("--lr", f"must be a positive number, got {args.lr}")
    try:
        check_budget(st, args.L, steps=args.steps, batch=args.batch)
        mc_batch = max(1, min(MC_BATCH, (MAX_MEMORY_GIB * 2**30) // step_memory_bytes(st.d, int(st.n), args.L, 1)))
        rng = np.random.default_rng(args.seed)
        with progress_bar(args, args.steps, desc="train", unit="step") as bar:
            res = train(st, args.L, family_name=args.family, steps=args.steps, batch=args.batch, lr=lr, rng=rng,
                        clip=clip, warmup=warmup, callback=None if bar is None else train_callback(bar))
    except (InputError, NumericalFailure) as exc:
        raise _flagged(exc) from None
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are refused below
        info = summarize(res, st)
    out = {
        "setting": st.describe(), "family": args.family, "L": args.L, "steps": args.steps, "batch": args.batch,
        "lr": lr, "clip": clip, "warmup": warmup, "seed": args.seed, "seconds": round(res.seconds, 2),
        "coefficients": [e["a"] for e in info["layers"]],
        "dist_A": [e["dist_A"] for e in info["layers"]],
    }
    if args.family != "gd":
        out["b"] = [e["b"] for e in info["layers"]]
        out["dist_B"] = [e["dist_B"] for e in info["layers"]]
    out["A_whitened"] = [e["A_whitened"].tolist() for e in info["layers"]]
    if args.family != "gd":
        out["B_whitened"] = [e["B_whitened"].tolist() for e in info["layers"]]
    if args.family == "full":
        out["off_pattern"] = [e["off_pattern"] for e in info["layers"]]
    try:
        a_opt, f_opt = optimal_gd_coefficients(st, args.L)
    except InputError as exc:
        a_opt, f_opt, why = None, None, str(exc)
    with np.errstate(over="ignore", invalid="ignore"):
        if a_opt is not None:
            assert f_opt is not None  # set with a_opt
            Pb, Qb = family_params(st.Sigma, a_opt)
            la, gap = paired_gap(st, res.Ps, res.Qs, np.array(Pb), np.array(Qb), samples=args.samples, rng=rng,
                                 batch=mc_batch)
            out.update({"loss": la.mean, "loss_ci": list(la.ci),
                        "optimum": {"family": "gd (condition (8), A_i = a_i Sigma^-1)", "coefficients": a_opt.tolist(),
                                    "loss": f_opt},
                        "gap": gap.mean, "gap_ci": list(gap.ci), "relative_gap": gap.mean / f_opt,
                        "relative_gap_ci": [gap.ci[0] / f_opt, gap.ci[1] / f_opt]})
            if not (la.estimable and gap.estimable):  # no gap, percentage or ratio of a mean that is not estimable
                out.update({"gap": None, "gap_ci": None, "relative_gap": None, "relative_gap_ci": None,
                            "gap_note": "not reported: the Monte Carlo mean is not estimable (heavy tails): "
                                        + (la.tail_note() or gap.tail_note())})
        else:
            from iclcheck.numerics.forward import sample_prompts
            from iclcheck.numerics.montecarlo import mc_mean
            from iclcheck.numerics.training import loss_on

            la = mc_mean(lambda r, k: loss_on(res.Ps, res.Qs, sample_prompts(st, k, r)), samples=args.samples,
                         rng=rng, batch=mc_batch)
            out.update({"loss": la.mean, "loss_ci": list(la.ci), "optimum": None, "optimum_note": why})
    _finite(out, ("coefficients", "dist_A", "b", "dist_B", "off_pattern", "loss", "loss_ci", "gap", "gap_ci"))
    out["history"] = [[t, v] for t, v in res.history[:: max(1, len(res.history) // 20)]]
    if save is not None:
        from iclcheck.numerics.weights import save_weights

        meta = {"convention": "canonical", "written_by": "iclcheck train", "setting": st.describe(), "cov": args.cov,
                "n": int(st.n), "task_cov": st.task_cov_kind, "sigma2": st.sigma2, "covariates": st.covariates,
                "family": args.family, "L": args.L, "steps": args.steps, "seed": args.seed}
        try:
            save_weights(save, res.Ps, res.Qs, metadata=meta)
        except InputError as exc:
            raise InputError("--save-weights", exc.problem) from None
        out["weights_file"] = save
    if args.format == "json":
        dump_json(json_envelope("train", out, setting=st, args=args))
        return 0
    print(f"trained {args.L}-layer LSA, family {args.family}: {st.describe()}")
    print(f"  {args.steps} Adam steps x {args.batch} fresh prompts, lr {lr:g}, seed {args.seed}: {res.seconds:.1f} s")
    print(f"  {'layer':>5}  {'a_l (learned)':>13}  {'Dist(A,I)':>9}" + ("  {:>8}  {:>9}".format("b_l", "Dist(B,I)")
                                                                          if args.family != "gd" else ""))
    for l, e in enumerate(info["layers"]):
        extra = f"  {e['b']:8.4f}  {e['dist_B']:9.4f}" if args.family != "gd" else ""
        print(f"  {l:>5}  {e['a']:13.4f}  {e['dist_A']:9.4f}{extra}")
    if la.estimable:
        print(f"  loss {out['loss']:.5g}  (99.9% CI [{out['loss_ci'][0]:.5g}, {out['loss_ci'][1]:.5g}])")
    else:
        print(f"  loss {la.describe('.5g')}")
    if a_opt is not None:
        print(f"  exact condition-(8) optimum: a = {np.round(a_opt, 4).tolist()} (any order), loss {f_opt:.5g}")
        if args.family != "gd":
            print("  (the reference is the condition-(8) optimum; GD++ / full parameters can go below it: see "
                  "'iclcheck layers --family gdpp' and the claim ahn2023.fig4)")
        if out["gap"] is None:
            print(f"  gap to optimum: {out['gap_note']}")
        else:
            print(f"  gap to optimum {out['gap']:+.4g} = {100 * out['relative_gap']:+.2f}% (paired 99.9% CI "
                  f"[{100 * out['relative_gap_ci'][0]:+.2f}%, {100 * out['relative_gap_ci'][1]:+.2f}%])")
    else:
        print(f"  (no exact optimum: {why})")
    if save is not None:
        print(f"  learned P, Q (canonical, stacked) written to {save}")
    return 0
