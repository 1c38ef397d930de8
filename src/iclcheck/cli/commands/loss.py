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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iclcheck.cli.commands.precond import add_test_setting_arguments, test_setting_from_args
from iclcheck.cli.formatting import fmt_number
from iclcheck.cli.inputs import add_setting_arguments, read_npy_bytes, read_regular_file, setting_from_args
from iclcheck.cli.main import COMMANDS
from iclcheck.one_layer_loss import MAX_SYMBOLIC_DIM, VARIABLES, loss_symbols, symbolic_loss  # noqa: F401 (re-exported)
from iclcheck.theory.errors import InputError

if TYPE_CHECKING:  # heavy modules are imported where they are used (CLI start-up)
    import numpy as np

    from iclcheck.theory.setting import Setting

__all__ = ["MAX_PARAMS_BYTES", "MAX_SYMBOLIC_DIM", "load_params", "loss_symbols", "register", "run", "symbolic_loss"]

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


def _check_flags(args: argparse.Namespace, setting: Setting) -> None:
    if args.symbolic and setting.d > MAX_SYMBOLIC_DIM:
        raise InputError("--symbolic", f"the closed form is printed for d <= {MAX_SYMBOLIC_DIM} (it has O(d^4) terms; "
                         f"d = 16 takes ~30 s), got d = {setting.d}; evaluate it at --params instead")
    if (args.exact or args.symbolic) and not setting.is_exact:
        raise InputError("--exact" if args.exact else "--symbolic",
                         "needs exact inputs: eye/diag/csv/json covariances and a rational --noise")


def _params(args: argparse.Namespace, setting: Setting) -> tuple[Any, Any]:
    if args.params is None:
        return None, None
    P, Q = load_params(args.params, setting.d)
    if setting.n_is_symbolic:
        raise InputError("-n", "evaluating at --params needs a numeric n")
    return P, Q


def _flagged(exc: InputError, args: argparse.Namespace, setting: Setting, test: Setting | None) -> InputError:
    """The API's refusal restated under the flag that asked for it."""
    closed_form = "closed form" in exc.problem  # the covariate law has no exact answer at this Sigma
    if exc.what == "exact":
        return InputError("--exact", f"{exc.problem}; drop --exact")
    if exc.what == "test" and closed_form and test is not None:
        return InputError("--test-covariates", f"{test.covariates} test covariates need Sigma_test^(1/2) in closed "
                          "form: available for a diagonal --test-cov only with them")
    if exc.what == "symbolic" and closed_form:
        return InputError("--symbolic", f"{setting.covariates} covariates need Sigma^(1/2) in closed form; the closed "
                          "form is available for a diagonal Sigma only with them")
    return InputError({"symbolic": "--symbolic", "test": "--test-cov"}.get(exc.what, exc.what), exc.problem)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from iclcheck import api
    from iclcheck.cli.render import emit

    if not args.symbolic and args.params is None:
        raise InputError("--params", "give an .npz file with arrays P and Q, or use --symbolic for the closed form")
    setting = setting_from_args(args)
    _check_flags(args, setting)
    P, Q = _params(args, setting)
    test = test_setting_from_args(args, setting, exact=bool(args.exact or args.symbolic))
    if test is not None and (args.exact or args.symbolic) and not test.is_exact:
        raise InputError("--exact" if args.exact else "--symbolic", "needs exact test inputs too: eye/diag/csv/json "
                         "--test-cov and a rational --test-noise")
    try:
        res = api.layer_loss(setting, P=P, Q=Q, exact=args.exact, symbolic=args.symbolic, test=test)
    except InputError as exc:
        raise _flagged(exc, args, setting, test) from None
    res = replace(res, params=args.params, cov=args.cov,
                  test_cov=args.test_cov if args.test_cov is not None else "train")
    return emit("loss", res, args, setting=setting, text=_table, latex=_latex)


def _latex_value(exact: Any, value: float) -> str:
    import sympy as sp

    return sp.latex(sp.Rational(exact)) if exact is not None else sp.latex(sp.Float(value, 15))


def _latex(res: Any, args: argparse.Namespace, written: Any) -> list[str]:
    import sympy as sp

    lines = []
    if res.loss_symbolic is not None:
        lines.append(f"f(P, Q) = {sp.latex(res.loss_symbolic)}")
    if res.evaluated:
        lines.append(f"f(P, Q) \\big|_{{\\mathrm{{params}}}} = {_latex_value(res.loss_exact, res.loss)}")
    if res.test_loss_symbolic is not None:
        lines.append(f"f_{{\\mathrm{{test}}}}(P, Q) = {sp.latex(res.test_loss_symbolic)}")
    if res.evaluated and res.test is not None:
        lines.append(f"f_{{\\mathrm{{test}}}}(P, Q) \\big|_{{\\mathrm{{params}}}} = "
                     f"{_latex_value(res.test_loss_exact, res.test_loss)}")
    return lines


def _at_params(name: str, value: float, exact: Any, params: str) -> list[str]:
    lines = [f"{name} at {params} = {fmt_number(value, digits=15)}"]
    if exact is not None:
        lines.append(f"  exactly (at the stored binary floats) = {exact}")
    return lines


def _table(res: Any, args: argparse.Namespace, written: Any) -> list[str]:
    lines = [f"One-layer LSA loss f(P, Q) ({res.setting.describe()})"]
    if res.loss_symbolic is not None:
        lines += ["  variables: " + VARIABLES, f"f = {res.loss_symbolic}"]
    if res.evaluated:
        lines += _at_params("f", res.loss, res.loss_exact, args.params)
    if res.test is not None:
        lines.append(f"At the test setting ({res.test.describe()})")
        if res.test_loss_symbolic is not None:
            lines.append(f"f_test = {res.test_loss_symbolic}")
        if res.evaluated:
            lines += _at_params("f_test", res.test_loss, res.test_loss_exact, args.params)
    return lines


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
