"""``iclcheck loss``: the exact population loss f(P, Q) of one LSA layer, at given P, Q or in closed form.

f(P, Q) = E (TF(Z0) - w^T x_q)^2 in the canonical model (STATEMENTS.md section 0), written by
``theory.one_layer.full_loss_formula`` as a polynomial in the last row of P (p_1..p_{d+1}) and the
first d columns of Q (q_{i,j}, i = 1..d+1, j = 1..d; 1-based). Only those entries matter.
"""

from __future__ import annotations

import argparse
import io
import zipfile
import zlib
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iclcheck.cli.commands.precond import (
    add_test_setting_arguments,
    setting_summary,
    test_setting_from_args,
    test_summary,
)
from iclcheck.cli.formatting import dump_json, fmt_number, json_envelope
from iclcheck.cli.inputs import add_setting_arguments, read_npy_bytes, read_regular_file, setting_from_args
from iclcheck.cli.main import COMMANDS
from iclcheck.theory.errors import InputError

if TYPE_CHECKING:  # heavy modules are imported where they are used (CLI start-up)
    import numpy as np

    from iclcheck.theory.setting import Setting

__all__ = ["MAX_PARAMS_BYTES", "MAX_SYMBOLIC_DIM", "load_params", "loss_symbols", "register", "run", "symbolic_loss"]

# --symbolic: the expanded polynomial has O(d^4) terms; d = 8 takes ~5 s, d = 12 ~16 s, d = 16 ~28 s
# (symbolic n, this machine), so the closed form is printed up to d = 10.
MAX_SYMBOLIC_DIM = 10
MAX_PARAMS_BYTES = 1 << 30  # the .npz file (P and Q are (d+1)x(d+1) each, d <= 10000)

EPILOG = """examples:
  iclcheck loss --cov diag:1,2,3 -n 4 --params pq.npz
  iclcheck loss --cov eye:2 -n 10 --params pq.npz --format json
  iclcheck loss --cov diag:1,2 -n n --symbolic                  (closed form, symbolic n)
  iclcheck loss --cov diag:1,1/2 -n 5 --symbolic --format latex
  iclcheck loss --cov diag:1,2,3 -n 4 --params pq.npz --test-n 8 --test-cov diag:2,4,6   (also f at a test setting)

--params: an .npz archive (numpy.savez) with arrays P and Q, each (d+1)x(d+1); never unpickled.
--symbolic: f as a polynomial in p_k = P[d+1, k] (last row of P) and q_{i,j} = Q[i, j], j <= d
(1-based), for an exact Sigma. f = E(TF - w^T x_q)^2, TF = -[Z_1]_{d+1,n+1} (no factor 1/2).
--symbolic is limited to d <= 10 (O(d^4) terms).
exit status: 0 success; 2 bad input (one line on stderr); 3 valid input whose answer cannot be
computed to the promised accuracy (one line saying why, with the figure).
"""


def loss_symbols(d: int) -> tuple[Any, Any]:
    """(p, q): p = [p_1..p_{d+1}] (last row of P), q = [[q_{i,j}]] (d+1) x d (first d columns of Q)."""
    import sympy as sp

    p = sp.Matrix([sp.Symbol(f"p_{k}") for k in range(1, d + 2)])  # (d+1, 1)
    q = sp.Matrix(d + 1, d, lambda i, j: sp.Symbol(f"q_{{{i + 1},{j + 1}}}"))  # (d+1, d)
    return p, q


def symbolic_loss(setting: Setting) -> Any:
    """The expanded closed form f(p, q) for the setting's exact Sigma, Sigma_w, sigma2 (n may be a Symbol)."""
    import sympy as sp

    from iclcheck.theory.one_layer import SYMPY_OPS, exact_inputs, full_loss_formula

    d = setting.d
    S, W, Sh, km3, s2, n = exact_inputs(setting)  # an int n becomes a sympy Integer there
    p, q = loss_symbols(d)
    b, c = p[:d, :], p[d, 0]  # (d, 1), scalar
    Q11, q21 = q[:d, :], q[d, :].T  # (d, d), (d, 1)
    f = full_loss_formula(S, W, Sh, km3, s2, n, b, c, Q11, q21, SYMPY_OPS)
    return sp.expand(f)


def _identifier(name: str) -> str:
    """'q_{1,2}' -> 'q_1_2' (a Python identifier that sympy.parse_expr reads as one Symbol)."""
    return name.replace("{", "").replace("}", "").replace(",", "_")


def symbolic_json(expr: Any) -> dict[str, Any]:
    """The closed form in JSON, readable back by sympy (docs/json.md): ``loss_symbolic`` (str, as before, with the
    names p_k and q_{i,j}); ``loss_symbolic_parseable`` (the same with identifier names q_i_j) for
    ``sympy.parse_expr(text, local_dict=...)`` with ``symbols`` (identifier -> {"name": printed name,
    "assumptions": sympy assumptions}); ``loss_symbolic_srepr`` (``sympy.srepr``: parse_expr rebuilds it exactly)."""
    import sympy as sp

    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    rename = {s: sp.Symbol(_identifier(s.name), **s.assumptions0) for s in syms}
    return {
        "loss_symbolic": str(expr),
        "loss_symbolic_parseable": str(expr.xreplace(rename)),
        "symbols": {rename[s].name: {"name": s.name, "assumptions": {k: bool(v) for k, v in
                                                                      sorted(s.assumptions0.items())}}
                    for s in syms},
        "loss_symbolic_srepr": sp.srepr(expr),
    }


def load_params(path: str, d: int) -> tuple[np.ndarray, np.ndarray]:
    """P, Q from an .npz archive (allow_pickle=False), checked: present, real, (d+1)x(d+1), finite."""
    from iclcheck.numerics.one_layer import check_params

    what = "--params"
    fp = Path(path)
    data = read_regular_file(fp, what=what, limit=MAX_PARAMS_BYTES, limit_text="1 GB")
    if not data.startswith(b"PK"):
        hint = " (it is a single .npy array" if data.startswith(b"\x93NUMPY") else " (no zip signature"
        raise InputError(what, f"{fp.name} is not an .npz archive of arrays P, Q{hint}; save them with "
                         "numpy.savez(file, P=P, Q=Q))")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise InputError(what, f"{fp.name} is not a valid .npz archive (damaged zip)") from None
    need = 8 * (d + 1) ** 2 + 4096  # a (d+1)x(d+1) float64 array and a generous header
    out = []
    with archive:
        names = archive.namelist()
        missing = [k for k in ("P", "Q") if f"{k}.npy" not in names]
        if missing:
            found = ", ".join(n.removesuffix(".npy") for n in names[:10]) or "nothing"
            raise InputError(what, f"{fp.name} has no array {' or '.join(missing)} (found: {found})")
        for k in ("P", "Q"):
            info = archive.getinfo(f"{k}.npy")
            if info.file_size > need:
                raise InputError(what, f"array {k} in {fp.name} is {info.file_size} bytes uncompressed; a "
                                 f"{d + 1}x{d + 1} array needs at most {need}")
            try:
                with archive.open(info) as member:
                    raw = member.read(need + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
                    RuntimeError) as exc:
                raise InputError(what, f"array {k} in {fp.name} is damaged ({type(exc).__name__})") from None
            A = read_npy_bytes(raw, what=what, name=f"array {k} in {fp.name}", max_dim=d + 1)
            out.append(A.astype(float))
    P, Q = check_params(out[0], out[1], d, what=what)
    return P, Q


def _exact_loss_at(setting: Setting, P: np.ndarray, Q: np.ndarray) -> Any:
    """f at the exact binary values of the stored floats (rational arithmetic throughout)."""
    import sympy as sp

    from iclcheck.theory.one_layer import SYMPY_OPS, exact_inputs, full_loss_formula

    d = setting.d
    S, W, Sh, km3, s2, n = exact_inputs(setting, n=sp.Integer(setting.n))

    def ex(A: np.ndarray) -> sp.Matrix:  # exact value of each stored double
        return sp.Matrix(A.shape[0], A.shape[1], [sp.Rational(*Fraction(float(v)).as_integer_ratio())
                                                  for v in A.ravel()])

    b = ex(P[d:, :d]).T  # (d, 1)
    c = ex(P[d:, d:])[0, 0]
    Q11 = ex(Q[:d, :d])  # (d, d)
    q21 = ex(Q[d:, :d]).T  # (d, 1)
    val = sp.Integer(0) + full_loss_formula(S, W, Sh, km3, s2, n, b, c, Q11, q21, SYMPY_OPS)
    if not val.is_Rational:
        raise InputError("--exact", f"the exact loss is not rational here ({val}); drop --exact")
    return val


def _symbolic_or_flag(setting: Any, flag: str, problem: str) -> Any:
    """symbolic_loss(setting), its 'exact mode' refusal restated for the flag that asked for it."""
    try:
        return symbolic_loss(setting)
    except InputError as exc:
        if exc.what != "exact mode":
            raise
        raise InputError(flag, problem) from None


def run(args: argparse.Namespace) -> int:
    if not args.symbolic and args.params is None:
        raise InputError("--params", "give an .npz file with arrays P and Q, or use --symbolic for the closed form")
    setting = setting_from_args(args)
    if args.symbolic and setting.d > MAX_SYMBOLIC_DIM:
        raise InputError("--symbolic", f"the closed form is printed for d <= {MAX_SYMBOLIC_DIM} (it has O(d^4) terms; "
                         f"d = 16 takes ~30 s), got d = {setting.d}; evaluate it at --params instead")
    if (args.exact or args.symbolic) and not setting.is_exact:
        raise InputError("--exact" if args.exact else "--symbolic",
                         "needs exact inputs: eye/diag/csv/json covariances and a rational --noise")
    out: dict[str, Any] = {"setting": setting_summary(setting, args.cov)}
    if args.params is not None:
        P, Q = load_params(args.params, setting.d)
        if setting.n_is_symbolic:
            raise InputError("-n", "evaluating at --params needs a numeric n")
        from iclcheck.numerics.one_layer import OneLayer

        out["params"] = args.params
        out["loss"] = OneLayer(setting).loss(P, Q)
        if args.exact:
            out["loss_exact"] = str(_exact_loss_at(setting, P, Q))
    test = test_setting_from_args(args, setting, exact=bool(args.exact or args.symbolic))
    if test is not None:
        if (args.exact or args.symbolic) and not test.is_exact:
            raise InputError("--exact" if args.exact else "--symbolic", "needs exact test inputs too: eye/diag/csv/json "
                             "--test-cov and a rational --test-noise")
        test_out: dict[str, Any] = {"setting": test_summary(test, args)}
        if args.params is not None:
            from iclcheck.numerics.shift import shifted_loss_at_params

            test_out["loss"] = shifted_loss_at_params(test, P, Q)
            if args.exact:
                test_out["loss_exact"] = str(_exact_loss_at(test, P, Q))
        if args.symbolic:
            test_out["loss_symbolic"] = _symbolic_or_flag(
                test, "--test-covariates", f"{test.covariates} test covariates need Sigma_test^(1/2) in closed form: "
                "available for a diagonal --test-cov only with them")
        out["test"] = test_out
    if args.symbolic:
        out["loss_symbolic"] = _symbolic_or_flag(
            setting, "--symbolic", f"{setting.covariates} covariates need Sigma^(1/2) in closed form; the closed "
            "form is available for a diagonal Sigma only with them")
        out["variables"] = ("p_k = P[d+1, k] (last row of P), q_{i,j} = Q[i, j] for j <= d (1-based); "
                            "f = E(TF - w^T x_q)^2")

    if args.format == "json":
        if "loss_symbolic" in out:
            out.update(symbolic_json(out["loss_symbolic"]))
        if "loss_symbolic" in out.get("test", {}):
            out["test"]["loss_symbolic"] = str(out["test"]["loss_symbolic"])
        dump_json(json_envelope("loss", out, setting=setting, args=args))
    elif args.format == "latex":
        import sympy as sp

        if "loss_symbolic" in out:
            print(f"f(P, Q) = {sp.latex(out['loss_symbolic'])}")
        if "loss" in out:
            val = sp.latex(sp.Rational(out["loss_exact"])) if "loss_exact" in out else sp.latex(sp.Float(out["loss"], 15))
            print(f"f(P, Q) \\big|_{{\\mathrm{{params}}}} = {val}")
        t = out.get("test", {})
        if "loss_symbolic" in t:
            print(f"f_{{\\mathrm{{test}}}}(P, Q) = {sp.latex(t['loss_symbolic'])}")
        if "loss" in t:
            val = sp.latex(sp.Rational(t["loss_exact"])) if "loss_exact" in t else sp.latex(sp.Float(t["loss"], 15))
            print(f"f_{{\\mathrm{{test}}}}(P, Q) \\big|_{{\\mathrm{{params}}}} = {val}")
    else:
        print(f"One-layer LSA loss f(P, Q) ({setting.describe()})")
        if "loss_symbolic" in out:
            print("  variables: " + out["variables"])
            print(f"f = {out['loss_symbolic']}")
        if "loss" in out:
            print(f"f at {args.params} = {fmt_number(out['loss'], digits=15)}")
            if "loss_exact" in out:
                print(f"  exactly (at the stored binary floats) = {out['loss_exact']}")
        if "test" in out:
            t = out["test"]
            assert test is not None  # out["test"] is computed from it
            print(f"At the test setting ({test.describe()})")
            if "loss_symbolic" in t:
                print(f"f_test = {t['loss_symbolic']}")
            if "loss" in t:
                print(f"f_test at {args.params} = {fmt_number(t['loss'], digits=15)}")
                if "loss_exact" in t:
                    print(f"  exactly (at the stored binary floats) = {t['loss_exact']}")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "loss",
        help=COMMANDS["loss"],
        description="Evaluate the exact population pre-training loss f(P, Q) of one linear self-attention "
        "layer at P, Q from an .npz file, or print f in closed form (--symbolic).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_setting_arguments(p)
    p.add_argument("--params", metavar="FILE.npz", default=None, help="arrays P and Q, each (d+1)x(d+1)")
    p.add_argument("--symbolic", action="store_true",
                   help=f"print f as a polynomial in p_k, q_{{i,j}} (exact Sigma, d <= {MAX_SYMBOLIC_DIM}; -n n keeps n "
                        "symbolic)")
    p.add_argument("--exact", action="store_true",
                   help="also give the loss at --params in rational arithmetic (exact inputs only)")
    add_test_setting_arguments(p)
    p.add_argument("--format", choices=("table", "json", "latex"), default="table", help="output format")
    p.set_defaults(func=run)
