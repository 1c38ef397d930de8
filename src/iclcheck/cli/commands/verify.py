"""``iclcheck verify``: run the published claims' proof-checks and report their verdicts.

Exit status: 0 when every selected claim was checked (whatever its verdict); 2 on bad input (an
unknown key, a bad option); 1 when some claim's ``verify`` raised (an internal error: it is
recorded, the other claims still run) or, with ``--strict``, when any verdict is not ``confirmed``.

JSON shape (``--format json``; one object on stdout; also written by ``--report FILE.json``)::

    {
      "claims": [                              # in key order
        {
          "key": "ahn2023.thm1",               # str
          "source": "[Ahn et al. 2023, Thm 1] arXiv 2306.00297",
          "statement": "...",                  # as printed, paper notation
          "verdict": "confirmed",              # confirmed | refuted | inconclusive | error
          "steps": [                           # the checked steps, in order (empty for "error")
            {"name": str, "status": "pass" | "fail" | "inconclusive", "detail": str,
             "computed": any, "expected": any, # the numbers compared (JSON-able; sympy as text)
             "deviation": float | null,        # the number compared against the tolerance
             "tolerance": float | null, "exact": bool}
          ],
          "finding": str | null,               # what fails and the corrected statement, if any
          "max_deviation": float | null,
          "seconds": float
        }
      ],
      "summary": {"claims": int,
                  "counts": {"confirmed": int, "refuted": int, "inconclusive": int, "error": int},
                  "seed": int, "profile": "quick" | "thorough", "seconds": float}
    }

At a user's setting (``--cov SPEC -n N`` [``--task-cov``, ``--noise``, ``--covariates``, ``-L``], the grammar of
precond/loss) the selected claims that declare parameters run there (``Context(setting=...)``); a claim that
cannot be moved says why in one line on stderr and is skipped (exit 2 if none can); a parameter a claim does not
accept (noise for a noiseless theorem, -L for a one-layer claim) is an error naming it. The JSON then also has
``"setting"``. ``--claims PATH`` adds the claims of a .py file or folder (plugins: docs/plugins.md).

The Markdown report (``--format markdown``) is byte-identical on rerun with the same seed and
profile: it has no timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from iclcheck.cli.commands._lsa_common import positive_int, seed_arg
from iclcheck.cli.main import COMMANDS
from iclcheck.theory.errors import InputError

ERROR = "error"  # the verdict of a claim whose check crashed (iclcheck.proofs.report.ERROR)

__all__ = ["register", "run"]

EPILOG = """examples:
  iclcheck verify                          every registered claim, quick profile, table
  iclcheck verify ahn2023                  all claims of Ahn et al. 2023 (a key prefix)
  iclcheck verify ahn2023.thm1 zfb2024.thm4_1 --format json
  iclcheck verify --format markdown --report STATUS.md     the README's verification status
  iclcheck verify --profile thorough --strict              nightly: many random settings, fail on non-confirmed
  iclcheck verify ahn2023.thm1 --cov random:d=4,cond=10,seed=1 -n 30      a claim at your own setting
  iclcheck verify mahankali2023 --cov eye:3 -n 10 --noise 1/2             (claims that cannot move say why)
  iclcheck verify --claims my_claims/      your own claims too (docs/plugins.md; 'iclcheck new-claim KEY')

columns: "dev" and "tol" come from one decisive step: for a refuted claim the failing step furthest
outside its tolerance, otherwise the step closest to its tolerance; in that step's unit (absolute or
relative error; |z| for Monte Carlo steps, compared with the critical value; 0 for exact identities).

verdicts: confirmed (every step passed), refuted (a step failed: the paper's statement as printed
does not hold; see the finding), inconclusive (nothing failed but some step could not decide),
error (the check itself crashed: a toolkit bug). 'iclcheck list' shows the keys.

exit status: 0 every claim was checked (whatever its verdict); 1 some claim crashed (the others still
run), or --strict and some verdict is not 'confirmed'; 2 bad input."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help=COMMANDS["verify"],
        description="Run each selected claim's proof-check (a sequence of named steps, exact where possible, "
        "numeric with a stated tolerance otherwise, Monte Carlo only with a confidence interval) and report "
        "its verdict.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("claims", nargs="*", metavar="KEY_OR_PREFIX",
                   help="claim keys or prefixes (e.g. 'ahn2023' or 'ahn2023.thm1'); default: all")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                   help="output format on stdout (default: table)")
    p.add_argument("--report", metavar="FILE", type=Path,
                   help="also write the report to FILE (markdown if FILE ends in .md, json if .json, "
                   "else in --format)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of every random draw, 0 <= S < 2^63 (default 0)")
    p.add_argument("--profile", choices=("quick", "thorough"), default="quick",
                   help="quick: few random settings, seconds per claim; thorough: many, for nightly runs")
    p.add_argument("--strict", action="store_true", help="exit 1 unless every verdict is 'confirmed'")
    p.add_argument("--progress", action="store_true",
                   help="show one progress line per claim on stderr even when stderr is not a terminal")
    p.add_argument("--claims", dest="claim_paths", action="append", metavar="PATH", type=Path, default=None,
                   help="also load the claims of PATH (a .py file or a folder of them); repeatable")
    add_user_setting_arguments(p)
    from iclcheck.cli.commands._lsa_common import positive_int

    p.add_argument("--jobs", type=positive_int, default=1,
                   help="run the claims as tasks on a local Dask cluster of N worker processes (default 1: in this "
                   "process, no Dask); the report is the same as with 1")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the claims on a running Dask scheduler (e.g. tcp://host:8786)")
    p.set_defaults(func=run)


def add_user_setting_arguments(p: argparse.ArgumentParser) -> None:
    """--cov, -n, --task-cov, --noise, --covariates, -L: the grammar of precond/loss, all optional here."""
    from iclcheck.cli.inputs import COVARIATE_LAWS

    g = p.add_argument_group("a user's setting (run the selected claims there; the same grammar as precond/loss)")
    g.add_argument("--cov", metavar="SPEC", default=None,
                   help="covariance Sigma: eye:D, diag:v1,..., random:d=D,cond=K,seed=S or a .npy/.csv/.json file")
    g.add_argument("-n", metavar="N", default=None, help="number of in-context examples (with --cov)")
    g.add_argument("--task-cov", metavar="SPEC|inv", default=None, help="task prior covariance Sigma_w (default I)")
    g.add_argument("--noise", metavar="S2", default=None, help="label-noise variance sigma^2 (default 0)")
    g.add_argument("--covariates", choices=COVARIATE_LAWS, default=None,
                   help="law of the standardized coordinates (default gaussian)")
    g.add_argument("-L", "--layers", dest="L", type=positive_int, default=None, help="number of layers")


def user_setting_of(args: argparse.Namespace):
    """The ``UserSetting`` of the options, or None when no --cov/-n was given (the default run)."""
    extra = [f for f, v in (("--task-cov", args.task_cov), ("--noise", args.noise), ("--covariates", args.covariates),
                            ("-L", args.L)) if v is not None]
    if args.cov is None and args.n is None:
        if extra:
            raise InputError(extra[0], "moves the claims to a user's setting: give --cov SPEC and -n N too")
        return None
    if args.cov is None or args.n is None:
        raise InputError("--cov" if args.cov is None else "-n", "a user's setting needs both --cov SPEC and -n N")
    from iclcheck.cli.inputs import setting_from_args
    from iclcheck.proofs.registry import UserSetting

    ns = argparse.Namespace(cov=args.cov, n=args.n, task_cov=args.task_cov, noise=args.noise or "0",
                            covariates=args.covariates or "gaussian", exact=False, symbolic=False, format=None)
    setting = setting_from_args(ns, exact=True)  # exact where the inputs are (the claims' exact steps use it)
    if setting.n_is_symbolic:
        raise InputError("-n", "claims at a user's setting need a numeric n")
    return UserSetting(setting=setting, L=args.L)


def _render(fmt: str, results, ctx, titles: dict[str, str], seconds: float,
            notations: dict[str, str], args: argparse.Namespace | None = None) -> str:
    from iclcheck.proofs.report import json_report, markdown_report, table_report

    if fmt == "json":
        from iclcheck.cli.formatting import json_envelope

        env = json_envelope("verify", json_report(results, ctx, seconds=seconds),
                            setting=ctx.moved.setting if ctx.setting is not None else None, args=args)
        if ctx.setting is not None and ctx.moved.L is not None:
            env["setting"]["L"] = ctx.moved.L
        return json.dumps(env, indent=2)
    if fmt == "markdown":
        md = markdown_report(results, ctx, titles=titles, notations=notations).rstrip("\n")
        if ctx.setting is not None:
            md = f"At your setting: {ctx.moved.setting.describe()}.\n\n" + md
        return md
    where = ""
    if ctx.setting is not None:
        where = f"\nat your setting: {ctx.moved.setting.describe()}" + (f", L={ctx.moved.L}" if ctx.moved.L else "")
    tail = (f"{where}\n\n{len(results)} claims in {seconds:.1f}s (seed {ctx.seed}, profile {ctx.profile}): "
            + ", ".join(f"{v} {sum(r.verdict == v for r in results)}"
                        for v in ("confirmed", "refuted", "inconclusive", ERROR)))
    return table_report(results, titles=titles) + tail


def _movable(claims, user):
    """The claims that can run at the user's setting; the others say why on stderr. A parameter that a movable
    claim does not accept is an error (InputError naming it); none movable: exit 2."""
    from iclcheck.proofs.registry import movable

    def skip(c, why: str) -> None:
        print(f"iclcheck verify: {c.key} is not run at this setting: {why}", file=sys.stderr)

    keep = movable(claims, user, skip=skip)
    if not keep:
        raise InputError("--cov", "none of the selected claims can be moved to a user's setting (see the lines "
                         "above; 'iclcheck list' shows what each claim accepts)")
    return keep


def run(args: argparse.Namespace) -> int:
    from iclcheck.proofs.registry import Context, select
    from iclcheck.proofs.report import progress_printer, run_claims
    problems: list[str] = []
    claims = select(args.claims or None, paths=args.claim_paths, problems=problems)
    for line in problems:
        print(f"iclcheck verify: {line}", file=sys.stderr)
    user = user_setting_of(args)
    if user is not None:
        claims = _movable(claims, user)
    ctx = Context(seed=args.seed, profile=args.profile, setting=user)
    titles = {c.key: c.title for c in claims}
    notations = {c.key: c.notation for c in claims}
    show = args.progress or sys.stderr.isatty()
    t0 = time.perf_counter()
    try:
        results = run_claims(claims, ctx, on_done=progress_printer() if show else None, jobs=args.jobs,
                             scheduler=args.scheduler)
    except InputError as exc:  # the cluster's options (jobs, scheduler)
        raise InputError(f"--{exc.what}", exc.problem) from None
    seconds = time.perf_counter() - t0
    print(_render(args.format, results, ctx, titles, seconds, notations, args))
    if args.report is not None:
        suffix = args.report.suffix.lower()
        fmt = "markdown" if suffix == ".md" else "json" if suffix == ".json" else args.format
        try:
            args.report.write_text(_render(fmt, results, ctx, titles, seconds, notations, args) + "\n")
        except OSError as exc:
            raise InputError("--report", f"cannot write {str(args.report)!r}: {exc.strerror}") from None
    if any(r.verdict == ERROR for r in results):
        return 1
    if args.strict and any(r.verdict != "confirmed" for r in results):
        return 1
    return 0
