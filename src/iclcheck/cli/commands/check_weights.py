"""``iclcheck check-weights``: read a trained L-layer model (.npz, .safetensors, or a PyTorch state_dict where
torch is installed), map it from its convention to the canonical model and report its population loss (exact, or
a Monte Carlo interval), the gap to the theory's optimum for the setting, each layer's distance to the predicted
matrix in the whitened frame, and a warning when a sign, scale or layout mistake (arrays transposed, two arrays
swapped) gives a much lower loss."""

from __future__ import annotations

import argparse

from iclcheck.cli.commands import _implements_section as implements_section
from iclcheck.cli.commands._lsa_common import positive_int, seed_arg
from iclcheck.cli.inputs import add_setting_arguments, setting_from_args
from iclcheck.cli.main import COMMANDS
from iclcheck.cli.progress import add_progress_flag, progress_callback
from iclcheck.numerics.limits import MAX_MODEL_LAYERS
from iclcheck.theory.errors import InputError

__all__ = ["register", "run"]

CONVENTION_NAMES = ("canonical", "ahn", "vonoswald", "zhang", "pytorch")  # numerics.weights.CONVENTIONS (tested)
MAX_SAMPLES = 20_000_000

EPILOG = """conventions (each an explicit map to the canonical model Z + (1/n) P Z M (Z^T Q Z), prediction
-[Z_L]_{d+1,n+1}; docs/weights.md):
  canonical, ahn  arrays P, Q per layer, as given
  vonoswald       P, W_K, W_Q, W_V per layer (no 1/N; prediction -[Z]_{y,query}): P = N P W_V, Q = W_K^T W_Q
  zhang           W_PV, W_KQ per layer (prediction +[f(E)]_{d+1,N+1}, no query mask): P = W^PV, Q = -W^KQ
  pytorch         W_K, W_Q, W_V per layer, attention W_V Z M (Z^T W_K^T W_Q Z)/n, prediction +[Z_L]_{d+1,n+1}
                  (sign +): P = W_V, Q = W_K^T W_Q; one layer: exactly the canonical model at P = -W_V

layout: every array W is applied to column tokens, output = W z (pytorch: nn.Linear.weight). Code computing
Z @ W on row tokens stores W^T: transpose it (the warning names "arrays transposed" when that fits better).

numbers: float16, bfloat16, float32, float64 (read as float64); complex, integer, sparse or quantized arrays are
refused.

arrays: stacked NAME of shape (L, D, D) or (D, D), or per layer NAME0, NAME1, ... or layers.0.NAME
(.weight suffixes and k_proj/q_proj/v_proj are understood). Never unpickled: .npz with allow_pickle=False,
.pt only through torch.load(weights_only=True).

examples:
  iclcheck train --cov eye:3 --task-cov inv -n 10 -L 2 --steps 300 --save-weights w.npz
  iclcheck check-weights w.npz --cov eye:3 --task-cov inv -n 10
  iclcheck check-weights model.safetensors --convention pytorch --cov diag:1,2,3 -n 10 --format json

bounds: at most 64 layers (the models iclcheck train writes), files <= 1 GiB, --samples <= 20,000,000.

exit status: 0 checked (whatever the loss); 2 bad input or an unreadable / pickled / wrong-shape file;
3 a numerical failure (e.g. weights whose forward pass overflows)."""


def register(sub) -> None:
    p = sub.add_parser("check-weights", help=COMMANDS["check-weights"], description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help="weights: .npz, .safetensors or a torch.save state_dict (.pt)")
    p.add_argument("--convention", choices=CONVENTION_NAMES, default="canonical",
                   help="layout and sign convention of the weights (default canonical; pytorch: prediction "
                        "+[Z_L]_{d+1,n+1})")
    add_setting_arguments(p)
    p.add_argument("--samples", type=positive_int, default=200_000,
                   help=f"Monte Carlo prompts when no exact route applies (default 200000, at most {MAX_SAMPLES:,})")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed of the Monte Carlo (default 0)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")
    implements_section.add_arguments(p)
    add_progress_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.samples > MAX_SAMPLES or args.samples < 100:
        raise InputError("--samples", f"must be in [100, {MAX_SAMPLES:,}], got {args.samples:,}")
    st = setting_from_args(args, exact=False)
    if st.n_is_symbolic:
        raise InputError("-n", "check-weights needs a numeric n")
    from iclcheck.cli.render import Labelled, emit
    from iclcheck.numerics.weights import load_weights
    from iclcheck.numerics.weights.check import check_loaded_weights

    try:
        w = load_weights(args.file, convention=args.convention, n=int(st.n), d=st.d)
    except InputError as exc:
        raise InputError(args.file if exc.what in ("weights file", "weights") else exc.what, exc.problem) from None
    if w.L > MAX_MODEL_LAYERS:  # before any loss is computed (numerics.limits; model_loss checks it too)
        raise InputError(args.file, f"{w.L:,} layers: check-weights supports at most {MAX_MODEL_LAYERS} (the "
                         "models iclcheck train writes)")
    with progress_callback(args, desc="check-weights", unit="prompt") as progress:  # none when every loss is exact
        res = check_loaded_weights(st, w, samples=args.samples, seed=args.seed, progress=progress)
    impl_lines, impl = implements_section.section(args, st, w)
    view = Labelled(res, after={} if impl is None else {"implements": impl})
    return emit("check-weights", view, args, setting=st, text=lambda v, a, _: report_lines(res, st) + impl_lines)


def report_lines(res, st) -> list[str]:
    w, ml = res.weights, res.loss
    out = [f"check-weights {w.source}: {w.L}-layer LSA read as {w.convention} ({st.describe()})",
           f"  map: {w.map}"]
    if not w.canonical:
        out.append(f"  model: prediction {'+' if w.readout_sign == 1 else '-'}[Z_L]_{{d+1,n+1}}, "
                   f"{'masked' if w.mask else 'unmasked (every token a key)'}")
    meta = w.metadata
    if meta.get("written_by"):
        out.append(f"  file: written by {meta['written_by']} (family {meta.get('family')}, {meta.get('steps')} steps, "
                   f"seed {meta.get('seed')}) for {meta.get('setting')}")
        if meta.get("setting") and meta.get("setting") != st.describe():
            out.append("  note: the file was written for another setting than the one checked here")
    out.append(f"  loss {ml.describe()}")
    if res.reference is not None:
        out.append(f"  reference {res.reference:.6g}: {res.reference_name}")
    if res.gap is None:
        out.append(f"  gap to the reference: {res.gap_note}" if res.reference is not None else f"  ({res.gap_note})")
    else:
        g, lo, hi = res.gap
        if ml.exact and abs(g) <= 1e-10 * max(res.reference, 1e-300):
            out.append("  gap to the reference 0 (equal to rounding: |gap| <= 1e-10 x reference)")
        else:
            rel = f" = {100 * res.relative_gap:+.2f}%" if res.relative_gap is not None else ""
            span = "" if ml.exact else f" (interval [{lo:+.4g}, {hi:+.4g}])"
            out.append(f"  gap to the reference {g:+.4g}{rel}{span}")
    if res.layers:
        out.append(f"  layers ({res.layers_note}; whitened frame):")
        out.append(f"  {'layer':>5}  {'a_l':>9}  {'distance':>9}  {'off-pattern':>11}")
        for e in res.layers:
            out.append(f"  {e['layer']:>5}  {e['a']:9.4f}  {e['distance']:9.4f}  {e['off_pattern']:11.4f}")
    else:
        out.append(f"  layers: {res.layers_note}")
    for wmsg in res.warnings:
        out.append(f"  WARNING: {wmsg}")
    return out
