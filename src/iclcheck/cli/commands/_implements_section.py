"""The check-weights section "what the layers implement" (L >= 2): ``numerics.implements`` on the mapped model -
each layer's nearest (8) / (11) family point in the whitened frame, the family named, and per layer the best of
k steps of GD, preconditioned GD, GD++ and Iterative Newton against the model's intermediate prediction."""

from __future__ import annotations

import argparse

from iclcheck.cli.commands._lsa_common import positive_int

__all__ = ["add_arguments", "section"]

NAMES = {"gd": "GD", "pgd": "precond. GD", "gdpp": "GD++", "newton": "Newton"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--implements-prompts", type=positive_int, default=10_000, metavar="N",
                   help="prompts for the per-layer algorithm matching of an L >= 2 model (half to fit, half to "
                        "measure; default 10000)")
    p.add_argument("--max-steps", type=positive_int, default=12,
                   help="largest number of algorithm steps k matched to a layer (default 12, at most 64)")
    p.add_argument("--no-implements", action="store_true", help="skip the per-layer algorithm matching")


def section(args: argparse.Namespace, st, w) -> tuple[list[str], dict | None]:
    """(table lines, JSON dict) of the section; ([], None) for one layer or with --no-implements."""
    if w.L < 2 or getattr(args, "no_implements", False):
        return [], None
    from iclcheck.cli.progress import progress_callback
    from iclcheck.numerics.deep.implements import implements

    with progress_callback(args, desc="implements", unit="fit") as progress:  # a bar of the (layer, algorithm) fits
        r = implements(st, w.Ps, w.Qs, readout_sign=w.readout_sign, mask=w.mask, prompts=args.implements_prompts,
                       max_steps=args.max_steps, seed=args.seed, progress=progress)
    fam = {"8": "condition (8) (GD family: P = [[0, 0], [0, c]], Q = -[[A, 0], [0, 0]])",
           "11": "condition (11) (GD++ family: P = [[B, 0], [0, c]], Q = -[[A, 0], [0, 0]])"}
    res = ", ".join(f"({k}) {v:.3g}" for k, v in r.family_residual.items())
    out = ["  what the layers implement (docs/deep.md; whitened frame, A = a Sigma^-1, B = b I):",
           f"    family: {fam[r.family] if r.family else 'neither (8) nor (11)'}; prediction residual off the "
           f"family / E y_q^2: {res}"]
    if r.readout_sign == 1:
        out.append("    (read with the model's readout +[Z_L]: the family pattern of its weights, not the canonical GD)")
    out.append(f"    {'layer':>5}  {'a_l':>9}  {'b_l':>9}  {'res(A)':>7}  {'res(B)':>7}  {'off (11)':>8}")
    for f in r.layers:
        out.append(f"    {f.layer:>5}  {f.a:9.4f}  {f.b:9.4f}  {f.residual_A:7.3f}  {f.residual_B:7.3f}  "
                   f"{f.off_pattern_11:8.3f}")
    if r.exact_reading:
        out.append(f"    {r.exact_reading}")
    out.append(f"    per layer, the model's prediction after l layers against k steps ({r.prompts:,} prompts, seed "
               f"{r.seed}; error = E (pred - alg)^2 / E y_q^2 on the held-out half, 99.9% CI):")
    out.append(f"    {'l':>3}  {'best':>11}  {'k':>3}  {'error':>10}  {'interval':>23}  " + "  ".join(
        f"{NAMES[a]:>14}" for a in ("gd", "pgd", "gdpp", "newton")))
    for m, tie in zip(r.best, r.ties, strict=True):
        row = {x.algorithm: x for x in r.matches if x.layer == m.layer}
        lo, hi = m.error.ci
        others = "  ".join(f"{f'k={row[a].k} {row[a].error.mean:.2g}' + ('*' if row[a].error.heavy_tail else ''):>14}"
                           for a in ("gd", "pgd", "gdpp", "newton") if a in row)
        flag = "*" if m.error.heavy_tail else ""
        span = f"[{lo:.3g}, {hi:.3g}]{flag}"
        out.append(f"    {m.layer:>3}  {NAMES[m.algorithm]:>11}  {m.k:>3}  {m.error.mean:10.3g}  {span:>23}  {others}"
                   + (f"  (tied: {', '.join(NAMES[t] for t in tie)})" if tie else ""))
    if any(x.error.heavy_tail for x in r.matches):
        out.append("    * heavy-tailed: that mean is not estimable at this many prompts (its interval is not trusted); "
                   "ties are decided by a paired sign test")
    return out, r.to_dict()
