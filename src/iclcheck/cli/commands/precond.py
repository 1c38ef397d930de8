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

from iclcheck.cli.formatting import add_out_argument, fmt_number, format_matrix
from iclcheck.cli.inputs import add_setting_arguments, setting_from_args
from iclcheck.cli.main import COMMANDS
from iclcheck.theory.errors import InputError

if TYPE_CHECKING:  # heavy modules are imported where they are used (CLI start-up)
    import numpy as np

    from iclcheck.theory.setting import Setting

__all__ = ["add_test_setting_arguments", "register", "run", "test_setting_from_args"]

EPILOG = """examples:
  iclcheck precond --cov diag:1,2,3 -n 4 --exact
  iclcheck precond --cov diag:1,2,3 -n n --exact            (n kept symbolic)
  iclcheck precond --cov diag:1,1/4 -n 10 --task-cov inv --noise 0.1 --format json
  iclcheck precond --cov random:d=200,cond=100,seed=0 -n 50 --covariates uniform
  iclcheck precond --cov sigma.csv -n 20 --format latex
  iclcheck precond --cov diag:1,2,3 -n 20 --test-n 5              (trained at n=20, tested at n=5)
  iclcheck precond --cov diag:1,2,3 -n 20 --test-cov diag:4,8,12  (covariate shift Sigma -> 4 Sigma)
  iclcheck precond --cov random:d=2000,cond=100,seed=0 -n 50 --out gamma.npy    (summary only; Gamma* in binary)

SPEC: eye:D | diag:v1,v2,... (integers, decimals, a/b; exact) | random:d=D,cond=K,seed=S
(Haar rotation, eigenvalues log-spaced 1..K) | a .npy (never unpickled), .csv or .json file.
--test-*: evaluate Gamma* (trained at the setting) at a test setting; each unset --test-* flag
takes the training value. Rows: the test loss L_test(Gamma*), the test setting's own optimum
L*_test and the excess L_test(Gamma*) - L*_test (query target w^T x_q, noiseless).
Output: Gamma* (the preconditioner of x_q^T Gamma (1/n) sum y_i x_i; the LSA layer is
P = e e^T, Q[:d,:d] = -Gamma*^T) and the minimal loss L* = E(prediction - w^T x_q)^2.
exit status: 0 success; 2 bad input (one line on stderr); 3 valid input whose answer cannot be
computed to the promised accuracy (one line saying why, with the figure).
"""


TEST_FLAGS = ("--test-cov", "--test-n", "--test-task-cov", "--test-noise", "--test-covariates")


def add_test_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """--test-cov, --test-n, --test-task-cov, --test-noise, --test-covariates (each defaults to the training value)."""
    from iclcheck.cli.inputs import COVARIATE_LAWS

    g = parser.add_argument_group("test setting (default: the training setting)")
    g.add_argument("--test-cov", metavar="SPEC", default=None,
                   help="test covariate covariance Sigma_test, a SPEC as for --cov (same d as --cov)")
    g.add_argument("--test-n", metavar="N", default=None, help="test prompt length (integer 1..1e15)")
    g.add_argument("--test-task-cov", metavar="SPEC|inv", default=None,
                   help="test task prior covariance ('inv' = Sigma_test^-1; default: the training --task-cov, "
                        "with 'inv' meaning Sigma_test^-1)")
    g.add_argument("--test-noise", metavar="S2", default=None, help="test label-noise variance (default --noise)")
    g.add_argument("--test-covariates", choices=COVARIATE_LAWS, default=None,
                   help="test covariate law (default --covariates)")


_TEST_FLAG_OF = {"covariance Sigma": "--test-cov", "task covariance Sigma_w": "--test-task-cov",
                 "noise variance sigma2": "--test-noise", "n": "--test-n", "covariates": "--test-covariates"}


def _relabel(parse: Any, flag: str, *a: Any, **kw: Any) -> Any:
    """``parse(*a, **kw)`` with its InputError shown under the test flag (the parsers name the training flags)."""
    try:
        return parse(*a, **kw)
    except InputError as exc:
        raise InputError(flag, exc.problem) from None


def test_setting_from_args(args: argparse.Namespace, train: Setting, *, exact: bool) -> Setting | None:
    """The test Setting from the --test-* flags (None when none was given); unset flags take the training values."""
    if all(getattr(args, f[2:].replace("-", "_"), None) is None for f in TEST_FLAGS):
        return None
    import numpy as np

    from iclcheck.cli.inputs import parse_cov_spec, parse_n, parse_noise, parse_task_cov
    from iclcheck.theory.setting import Setting

    if args.test_cov is not None:
        Sigma = parse_cov_spec(args.test_cov, what="--test-cov", exact=exact)
        if Sigma.shape[0] != train.d:
            raise InputError("--test-cov", f"is {Sigma.shape[0]}x{Sigma.shape[0]} but --cov is {train.d}x{train.d} "
                             "(a predictor trained in dimension d is evaluated in the same d)")
    else:
        Sigma = train.Sigma_exact if (exact and train.Sigma_exact is not None) else train.Sigma
    if args.test_task_cov is not None:
        W = _relabel(parse_task_cov, "--test-task-cov", args.test_task_cov, exact=exact)
        if isinstance(W, np.ndarray) and W.shape != (train.d, train.d):
            raise InputError("--test-task-cov", f"is {W.shape[0]}x{W.shape[1]} but --cov is {train.d}x{train.d}")
    elif train.task_cov_kind in ("identity", "inverse"):
        W = None if train.task_cov_kind == "identity" else "inv"
    else:
        W = train.Sigma_w_exact if (exact and train.Sigma_w_exact is not None) else train.Sigma_w
    if args.test_noise is not None:
        s2 = _relabel(parse_noise, "--test-noise", args.test_noise)
    else:
        s2 = train.sigma2_exact if train.sigma2_exact is not None else train.sigma2
    if not exact:
        s2 = float(s2)
    if args.test_n is not None and str(args.test_n).strip() == "n":
        raise InputError("--test-n", "must be a positive integer (a symbolic test length is available in the API, "
                         "iclcheck.theory.shift)")
    n = _relabel(parse_n, "--test-n", args.test_n) if args.test_n is not None else train.n
    law = args.test_covariates if args.test_covariates is not None else train.covariates
    try:
        return Setting.make(Sigma, n, Sigma_w=W, sigma2=s2, covariates=law)
    except InputError as exc:
        raise InputError(_TEST_FLAG_OF.get(exc.what, "--test-cov"), exc.problem) from None


def _latex_float_matrix(G: np.ndarray) -> str:
    import sympy as sp

    return sp.latex(sp.Matrix(G.shape[0], G.shape[1], [sp.Float(float(v), 6) for v in G.ravel()]))


def _check_exact(args: argparse.Namespace, setting: Setting) -> None:
    if args.exact and not setting.is_exact:
        raise InputError("--exact", "needs exact inputs: eye/diag/csv/json covariances and a rational --noise "
                         "(random: and float .npy are floats; drop --exact)")


def _check_test(args: argparse.Namespace, setting: Setting, test: Setting | None) -> None:
    """Requests that have no answer, refused before any work (the messages name the flags)."""
    if test is not None and args.exact and not test.is_exact:
        raise InputError("--exact", "needs exact test inputs too: eye/diag/csv/json --test-cov and a rational "
                         "--test-noise (drop --exact for floats)")
    if test is not None and setting.n_is_symbolic and not test.is_exact:
        raise InputError("--test-cov", "symbolic n needs exact test inputs (eye/diag/csv/json, a rational --test-noise)")
    if args.bayes and args.format == "latex":
        raise InputError("--bayes", "is printed in the table and json formats only")


def _flagged(exc: InputError, args: argparse.Namespace, test: Setting | None) -> InputError:
    """The API's refusal restated under the flag that asked for it."""
    closed_form = "closed form" in exc.problem  # the covariate law has no exact answer at this Sigma
    if exc.what == "exact" and closed_form:
        hint = "drop --exact for floats" if args.exact else "symbolic n needs it; give a numeric n"
        return InputError("--exact" if args.exact else "-n", f"{exc.problem} ({hint})")
    if exc.what == "test" and closed_form and test is not None:
        return InputError("--test-covariates", f"{test.covariates} test covariates need Sigma_test^(1/2) in closed "
                          "form; exact output is available for a diagonal --test-cov only with them (drop --exact "
                          "for floats)")
    return InputError({"bayes": "--bayes", "exact": "--exact", "test": "--test-cov"}.get(exc.what, exc.what),
                      exc.problem)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from iclcheck import api
    from iclcheck.cli.render import check_out, emit

    check_out(args)  # before any work: a regular file that can be written
    setting = setting_from_args(args)
    _check_exact(args, setting)
    want_exact = args.exact or (args.format == "latex" and setting.is_exact)
    test = test_setting_from_args(args, setting, exact=want_exact)
    _check_test(args, setting, test)
    try:
        res = api.precond(setting, exact=True if args.exact else "auto" if want_exact else False, test=test,
                          bayes=args.bayes)
    except InputError as exc:
        raise _flagged(exc, args, test) from None
    res = replace(res, cov=args.cov, test_cov=args.test_cov if args.test_cov is not None else "train")
    return emit("precond", res, args, setting=setting, text=_table, latex=_latex, out_after="setting")


_TEST_ROWS = (("loss", "test loss L_test(Gamma*)", "L_{\\mathrm{test}}(\\Gamma^*)"),
              ("test_optimum", "test optimum L*_test", "L^*_{\\mathrm{test}}"),
              ("excess", "excess L_test(Gamma*) - L*_test", "L_{\\mathrm{test}}(\\Gamma^*) - L^*_{\\mathrm{test}}"))


def _latex(res: Any, args: argparse.Namespace, written: Any) -> list[str]:
    import sympy as sp

    if res.gamma_exact is not None:
        lines = [f"\\Gamma^* = {sp.latex(res.gamma_exact)}", f"L^* = {sp.latex(res.loss_exact)}"]
    else:  # no exact answer: n is numeric (a symbolic n without one was refused), so Gamma* is set
        lines = [f"\\Gamma^* = {_latex_float_matrix(res.gamma)}", f"L^* = {sp.latex(sp.Float(res.loss, 15))}"]
    t = res.test_dict()
    for key, _, name in _TEST_ROWS if t is not None else ():
        val = (sp.latex(sp.sympify(t[key + "_exact"])) if key + "_exact" in t else sp.latex(sp.Float(t[key], 15)))
        lines.append(f"{name} = {val}")
    return lines


def _table(res: Any, args: argparse.Namespace, written: Any) -> list[str]:
    G, L, setting = res.gamma, res.loss, res.setting
    lines = [f"Optimal preconditioner Gamma* ({setting.describe()})",
             "  predictor x_q^T Gamma (1/n) sum_i y_i x_i; LSA layer P = e e^T, Q[:d,:d] = -Gamma*^T"]
    if written is not None:
        lines.append(f"  Gamma* ({G.shape[0]}x{G.shape[1]}) written to {written['file']} ({written['format']})")
    else:
        lines.append(format_matrix(res.gamma_exact if res.gamma_exact is not None else G))
    if res.loss_exact is not None:
        approx = f"  (= {fmt_number(L, digits=12)})" if L is not None else ""
        lines.append(f"minimal loss L* = {res.loss_exact}{approx}")
    else:
        lines.append(f"minimal loss L* = {fmt_number(L, digits=12)}")
    t = res.test_dict()
    if t is not None:
        lines.append(f"Gamma* at the test setting ({res.test.describe()})")
        for key, name, _ in _TEST_ROWS:
            ex = t.get(key + "_exact")
            fl = f"{fmt_number(t[key], digits=12)}" if key in t else None
            shown = f"{ex}  (= {fl})" if ex is not None and fl is not None else (ex or fl)
            lines.append(f"  {name} = {shown}")
    b = res.bayes
    if b is not None:
        lines.append(f"Bayes risk (posterior mean) = {b.describe('.5g')}; LSA excess L* - Bayes = "
                     f"{L - b.value:.5g} (L* / Bayes = {L / b.value:.4g})" if b.value > 0 else
                     f"Bayes risk (posterior mean) = {b.describe('.5g')}; LSA excess L* - Bayes = {L:.5g}")
    return lines


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
    add_test_setting_arguments(p)
    p.add_argument("--format", choices=("table", "json", "latex"), default="table", help="output format")
    p.add_argument("--bayes", action="store_true",
                   help="also print the Bayes-optimal risk for w ~ N(0, Sigma_w) (posterior mean = generalized "
                        "ridge; exact where a closed form exists, else Monte Carlo with 20000 draws, seed 0, and "
                        "its 99.9%% interval) and the LSA excess L* - Bayes; d <= 20, n <= 200")
    add_out_argument(p, "Gamma* (.npy: the matrix; .npz: arrays gamma and loss)")
    p.set_defaults(func=run)
