"""``iclcheck precond``: the optimal one-layer preconditioner Gamma* and the minimal loss L*.

Reduced model (theory.one_layer): the predictor x_q^T Gamma (1/n) sum_i y_i x_i has the convex loss
L(Gamma) = tr(Gamma^T S Gamma M) - 2 tr(Gamma^T S W S) + tr(S W), minimised at Gamma* = W S M^{-1}
with L* = tr(S W) - tr(Gamma*^T S W S). The LSA layer implementing it is P = e_{d+1} e_{d+1}^T,
Q[:d, :d] = -Gamma*^T (up to P -> gP, Q -> Q/g).

Float path: ``numerics.one_layer.OneLayer``. Exact path (--exact, or --format latex with exact
inputs): the same formula of ``theory.one_layer`` in rational arithmetic, n an integer or symbolic.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from iclcheck.cli.formatting import (
    add_out_argument,
    big_json_note,
    dump_json,
    exact_rows,
    fmt_number,
    format_matrix,
    json_envelope,
    write_arrays,
)
from iclcheck.cli.inputs import add_setting_arguments, setting_from_args
from iclcheck.cli.main import COMMANDS
from iclcheck.theory.errors import InputError

if TYPE_CHECKING:  # heavy modules are imported where they are used (CLI start-up)
    import numpy as np

    from iclcheck.theory.setting import Setting

__all__ = ["exact_preconditioner", "float_preconditioner", "register", "run", "setting_summary"]

EPILOG = """examples:
  iclcheck precond --cov diag:1,2,3 -n 4 --exact
  iclcheck precond --cov diag:1,2,3 -n n --exact            (n kept symbolic)
  iclcheck precond --cov diag:1,1/4 -n 10 --task-cov inv --noise 0.1 --format json
  iclcheck precond --cov random:d=200,cond=100,seed=0 -n 50 --covariates uniform
  iclcheck precond --cov sigma.csv -n 20 --format latex
  iclcheck precond --cov random:d=2000,cond=100,seed=0 -n 50 --out gamma.npy    (summary only; Gamma* in binary)

SPEC: eye:D | diag:v1,v2,... (integers, decimals, a/b; exact) | random:d=D,cond=K,seed=S
(Haar rotation, eigenvalues log-spaced 1..K) | a .npy (never unpickled), .csv or .json file.
Output: Gamma* (the preconditioner of x_q^T Gamma (1/n) sum y_i x_i; the LSA layer is
P = e e^T, Q[:d,:d] = -Gamma*^T) and the minimal loss L* = E(prediction - w^T x_q)^2.
exit status: 0 success; 2 bad input (one line on stderr); 3 valid input whose answer cannot be
computed to the promised accuracy (one line saying why, with the figure).
"""


def exact_preconditioner(setting: Setting) -> tuple[Any, Any]:
    """(Gamma*, L*) exactly (theory.one_layer.exact_optimum: rationals, or rational functions of n)."""
    from iclcheck.theory.one_layer import exact_optimum

    return exact_optimum(setting)


def float_preconditioner(setting: Setting) -> tuple[np.ndarray, float]:
    """(Gamma*, L*) in floats via numerics.one_layer.OneLayer (numeric n)."""
    from iclcheck.numerics.one_layer import OneLayer

    one = OneLayer(setting)  # caches Gamma*, which min_loss() reuses
    G = one.gamma_star()  # (d, d)
    return G, one.min_loss()


def setting_summary(setting: Setting, cov: str) -> dict[str, Any]:
    """The setting as a JSON-ready dict."""
    return {
        "d": setting.d,
        "n": str(setting.n) if setting.n_is_symbolic else int(setting.n),
        "covariates": setting.covariates,
        "sigma2": setting.sigma2,
        **({"sigma2_exact": str(setting.sigma2_exact)} if setting.sigma2_exact is not None else {}),
        "task_cov": setting.task_cov_kind,
        "cov": cov,
    }


def _latex_float_matrix(G: np.ndarray) -> str:
    import sympy as sp

    return sp.latex(sp.Matrix(G.shape[0], G.shape[1], [sp.Float(float(v), 6) for v in G.ravel()]))


def run(args: argparse.Namespace) -> int:
    setting = setting_from_args(args)
    want_exact = args.exact or (args.format == "latex" and setting.is_exact)
    if args.exact and not setting.is_exact:
        raise InputError("--exact", "needs exact inputs: eye/diag/csv/json covariances and a rational --noise "
                         "(random: and float .npy are floats; drop --exact)")
    G_ex = L_ex = None
    if want_exact:
        try:
            G_ex, L_ex = exact_preconditioner(setting)
        except InputError as exc:
            if exc.what != "exact mode":
                raise
            if not args.exact and not setting.n_is_symbolic:  # LaTeX without --exact: floats are the answer
                G_ex = L_ex = None
            else:
                hint = "drop --exact for floats" if args.exact else "symbolic n needs it; give a numeric n"
                raise InputError("--exact" if args.exact else "-n",
                                 f"{setting.covariates} covariates need Sigma^(1/2) in closed form; exact output "
                                 f"is available for a diagonal Sigma only with them ({hint})") from None
    G = L = None
    if not setting.n_is_symbolic:
        G, L = float_preconditioner(setting)

    written = None
    if args.out is not None:
        if G is None:
            raise InputError("--out", "symbolic n has no float matrix to write; give a numeric n")
        written = write_arrays(args.out, {"gamma": G}, scalars={"loss": L})
    if args.format == "json":
        out: dict[str, Any] = {
            "gamma": G if G is not None and written is None else None,
            "loss": L,
            "setting": setting_summary(setting, args.cov),
        }
        if written is not None:
            out["out"] = written
        if G_ex is not None:
            out["gamma_exact"] = exact_rows(G_ex)
            out["loss_exact"] = str(L_ex)
        big_json_note(G if written is None else None)
        dump_json(json_envelope("precond", out, setting=setting, args=args))
    elif args.format == "latex":
        import sympy as sp

        if G_ex is not None:
            print(f"\\Gamma^* = {sp.latex(G_ex)}")
            print(f"L^* = {sp.latex(L_ex)}")
        else:
            print(f"\\Gamma^* = {_latex_float_matrix(G)}")
            print(f"L^* = {sp.latex(sp.Float(L, 15))}")
    else:
        print(f"Optimal preconditioner Gamma* ({setting.describe()})")
        print("  predictor x_q^T Gamma (1/n) sum_i y_i x_i; LSA layer P = e e^T, Q[:d,:d] = -Gamma*^T")
        if written is not None:
            print(f"  Gamma* ({G.shape[0]}x{G.shape[1]}) written to {written['file']} ({written['format']})")
        else:
            print(format_matrix(G_ex if G_ex is not None else G))
        if L_ex is not None:
            approx = f"  (= {fmt_number(L, digits=12)})" if L is not None else ""
            print(f"minimal loss L* = {L_ex}{approx}")
        else:
            print(f"minimal loss L* = {fmt_number(L, digits=12)}")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "precond",
        help=COMMANDS["precond"],
        description="Print the optimal preconditioner Gamma* of one linear self-attention layer and the "
        "minimal population loss, exactly (--exact) or in floats.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_setting_arguments(p)
    p.add_argument("--exact", action="store_true",
                   help="exact rational output (and symbolic n with -n n); needs exact inputs")
    p.add_argument("--format", choices=("table", "json", "latex"), default="table", help="output format")
    add_out_argument(p, "Gamma* (.npy: the matrix; .npz: arrays gamma and loss)")
    p.set_defaults(func=run)
