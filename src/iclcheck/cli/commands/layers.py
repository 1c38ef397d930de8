"""``iclcheck layers``: optimal per-layer coefficients of Ahn et al.'s restricted L-layer families.

Family gd (condition (8)):  P_l = [[0, 0], [0, 1]], Q_l = -[[A_l, 0], [0, 0]], A_l = a_l Sigma^{-1}.
Family gdpp (condition (11)): P_l = [[B_l, 0], [0, 1]] with B_l = b_l I, same Q_l.
Data: x ~ N(0, Sigma), w ~ N(0, Sigma^{-1}) (Ahn's Thm 3/4 setting; for Sigma = I this is w ~ N(0, I)),
label noise N(0, sigma2). The setting flags are check-weights' (--cov, -n, --task-cov, --noise, --covariates);
the families' exact loss honours --task-cov inv (the default here) or any task covariance equal to Sigma^-1 (for
Sigma = I: I), and Gaussian covariates; any other value is refused in one line naming the flag. The loss is exact (theory.multilayer). For gd the global minimum is certified
whenever the best degree-L filter is real-rooted (always without noise; with strong noise it may not be,
and the output then says so and gives that filter's loss as a lower bound). gdpp: multistart, not certified.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np

from iclcheck.cli.commands._lsa_common import positive_int, seed_arg
from iclcheck.cli.inputs import COVARIATE_LAWS, setting_from_args
from iclcheck.cli.main import COMMANDS
from iclcheck.cli.progress import add_progress_flag, progress_callback
from iclcheck.numerics.limits import MAX_GD_LAYERS, MAX_GDPP_LAYERS, MAX_GDPP_STARTS
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["register", "run"]

EPILOG = """examples:
  iclcheck layers --cov eye:5 -n 20 -L 3
  iclcheck layers --cov diag:1,1,0.25,0.0625,1 -n 20 -L 3 --format json
  iclcheck layers --cov eye:5 -n 20 -L 2 --family gdpp --noise 0.1
  iclcheck layers --cov random:d=4,cond=100,seed=1 -n 10 -L 4

The gd loss depends on the a_l only through prod_l (1 - a_l x): any reordering of the layers is
equally optimal, so the coefficients are printed ascending. For gdpp the order matters.
"""


def _setting(args: argparse.Namespace) -> Setting:
    """The shared SPEC grammar of iclcheck.cli.inputs (check-weights' flags). The families' exact loss
    (numerics.families.quadrature.problem_from) needs Gaussian x and w ~ N(0, Sigma^-1): --task-cov inv (the default here),
    or a SPEC equal to Sigma^-1 (entry by entry, relative 1e-12); anything else is refused naming the flag."""
    ns = argparse.Namespace(cov=args.cov, n=args.n, noise=args.noise, task_cov=args.task_cov or "inv",
                            covariates=args.covariates)
    if args.covariates != "gaussian":
        raise InputError("--covariates", f"the exact L-layer family loss is for Gaussian covariates, got "
                         f"{args.covariates!r} (use check-weights or train for other laws)")
    st = setting_from_args(ns, exact=False)
    if st.task_cov_kind != "inverse":
        inv = np.linalg.inv(st.Sigma)
        if not np.allclose(st.Sigma_w, inv, rtol=1e-12, atol=1e-12 * float(np.max(np.abs(inv)))):
            raise InputError("--task-cov", "the L-layer families' exact loss is for w ~ N(0, Sigma^-1) (Ahn et al. "
                             "Thm 3/4): give --task-cov inv (or a SPEC equal to Sigma^-1), got another prior")
        st = Setting.make(st.Sigma, st.n, Sigma_w="inv", sigma2=st.sigma2)
    return st


def _check_flags(args: argparse.Namespace) -> None:
    """Every bound before any work (numerics.limits; also checked by the library)."""
    if args.L < 1:
        raise InputError("-L", f"must be a positive integer, got {args.L}")
    if args.family == "gdpp" and args.L > MAX_GDPP_LAYERS:
        raise InputError("-L", f"the exact gdpp loss is implemented for L <= {MAX_GDPP_LAYERS} (degree 2*40 moments "
                         "at L = 4)")
    if args.L > MAX_GD_LAYERS:
        raise InputError("-L", f"at most {MAX_GD_LAYERS} layers (exact moments of degree 2L+2), got {args.L:,}")
    if args.starts > MAX_GDPP_STARTS:
        raise InputError("--starts", f"at most {MAX_GDPP_STARTS:,} multistart runs, got {args.starts:,}")


@dataclass
class LayersView:
    """The optimum of a restricted family (``iclcheck.optimal_layers``: a GDOptimum or GDPPOptimum) with the
    setting and family it belongs to: the command's JSON body (``to_dict``) and table."""

    setting: Setting
    family: str
    L: int
    opt: Any

    @property
    def note(self) -> str:
        st = self.setting
        family_text = ("A_l = a_l Sigma^-1 (P_l = [[0,0],[0,1]], Q_l = -[[A_l,0],[0,0]])" if self.family == "gd"
                       else "A_l = a_l Sigma^-1, B_l = b_l I (P_l = [[B_l,0],[0,1]], Q_l = -[[A_l,0],[0,0]])")
        iso = bool(np.allclose(st.Sigma, np.eye(st.d), atol=1e-14))
        return (f"family: {family_text}; data x ~ N(0, Sigma), w ~ N(0, Sigma^-1) (Ahn et al. Thm 3/4 setting)"
                + ("" if iso else "; the coefficients multiply Sigma^-1 and the loss does not depend on Sigma "
                   "(whitening)"))

    def to_dict(self) -> dict[str, Any]:
        st, opt = self.setting, self.opt
        out: dict[str, Any] = {"family": self.family, "d": st.d, "n": int(st.n), "L": self.L, "sigma2": st.sigma2,
                               "note": self.note}
        if self.family == "gd":
            out.update(coefficients=[float(v) for v in opt.coefficients], loss=opt.loss,
                       certified_global_min=opt.certified, gradient_norm=opt.gradient_norm,
                       lower_bound=opt.lower_bound, method=opt.method,
                       order="any permutation of the coefficients is equally optimal (loss symmetric); ascending")
        else:
            out.update(coefficients=[float(v) for v in opt.a], b_coefficients=[float(v) for v in opt.b],
                       loss=opt.loss, certified_global_min=False, gradient_norm=opt.gradient_norm,
                       stationary=opt.attained, starts=opt.starts, seed=opt.seed, hits=opt.hits,
                       local_minima=list(opt.local_minima[:5]), method=opt.method,
                       order=f"layer order 0..L-1; b_{self.L - 1} does not enter the loss (reported 0)")
        out["loss_zero_predictor"] = float(st.d)
        return out


def run(args: argparse.Namespace) -> int:
    from iclcheck import api
    from iclcheck.cli.render import emit

    _check_flags(args)
    st = _setting(args)
    with progress_callback(args, desc="layers", unit="start") as progress:  # a bar of the multistart's starts
        opt = api.optimal_layers(st, args.L, family=args.family, seed=args.seed, progress=progress,
                                 starts=args.starts if args.family == "gdpp" else None)
    return emit("layers", LayersView(st, args.family, args.L, opt), args, setting=st, text=_table)


def _table(view: LayersView, args: argparse.Namespace, written: Any) -> list[str]:
    st, out, gdpp = view.setting, view.to_dict(), view.family == "gdpp"
    lines = [f"{view.family} family, d={st.d}, n={st.n}, L={view.L}, sigma2={st.sigma2:g}", f"{view.note}", "",
             "layer  a_l" + ("            b_l" if gdpp else "")]
    for l, a in enumerate(out["coefficients"]):
        row = f"{l:5d}  {a:<13.8g}" + (f"  {out['b_coefficients'][l]:<13.8g}" if gdpp else "")
        lines.append(row.rstrip())
    what = "best loss found" if gdpp else "minimal loss"
    lines += ["", f"{what} E(TF - y_q)^2 = {out['loss']:.10g}   (log loss {np.log(out['loss']):.4f}; "
              f"zero predictor {st.d})"]
    if out["certified_global_min"]:
        cert = "global minimum certified (convex in the coefficients of prod (1 - a_l x), minimiser real-rooted)"
    elif not gdpp:
        cert = (f"not certified: the best degree-{view.L} filter has complex roots (its loss {out['lower_bound']:.8g} "
                "is a lower bound no real steps attain); best real coefficients by multistart")
    else:
        cert = f"{view.opt.method}; lowest local minima found " + ", ".join(f"{v:.6g}" for v in view.opt.local_minima[:3])
    lines += [f"{cert}; |gradient| = {out['gradient_norm']:.2e}", out["order"]]
    return lines


def register(sub: Any) -> None:
    p = sub.add_parser(
        "layers",
        help=COMMANDS["layers"],
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--cov", default="eye:5", metavar="SPEC",
                   help="covariance Sigma: eye:D, diag:v1,v2,... (integers, decimals, a/b), random:d=D,cond=K,seed=S, "
                        "or a .npy/.csv/.json file (default eye:5)")
    p.add_argument("-n", required=True, metavar="N", help="number of in-context examples (positive integer)")
    p.add_argument("-L", type=int, required=True,
                   help=f"number of layers (gd: at most {MAX_GD_LAYERS}; gdpp: at most {MAX_GDPP_LAYERS})")
    p.add_argument("--family", choices=("gd", "gdpp"), default="gd",
                   help="gd: condition (8), A_l = a_l Sigma^-1; gdpp: condition (11), also B_l = b_l I")
    p.add_argument("--task-cov", metavar="SPEC|inv", default=None,
                   help="task prior covariance Sigma_w: 'inv' = Sigma^-1 (the default: the families' exact loss needs "
                        "it), or a SPEC as for --cov equal to Sigma^-1; any other prior is refused")
    p.add_argument("--noise", default="0", metavar="S2", help="label-noise variance sigma2 >= 0 (default 0)")
    p.add_argument("--covariates", choices=COVARIATE_LAWS, default="gaussian",
                   help="law of the standardized coordinates: only gaussian is honoured (the exact loss); the others "
                        "are refused")
    p.add_argument("--starts", type=positive_int, default=24,
                   help=f"gdpp: multistart runs (default 24, at most {MAX_GDPP_STARTS:,}; ~0.4 s each at L = 3)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the gdpp multistart, 0 <= S < 2^63 (default 0)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    add_progress_flag(p)
    p.set_defaults(func=run)
