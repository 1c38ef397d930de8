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
          "verdict": "confirmed",              # confirmed | refuted | recorded reading fails | inconclusive | error
                                               # ("refuted" only for a statement READ in the paper's own text)
          "steps": [                           # the checked steps, in order (empty for "error")
            {"name": str, "status": "pass" | "fail" | "inconclusive", "detail": str,
             "computed": any, "expected": any, # the numbers compared (JSON-able; sympy as text)
             "deviation": float | null,        # the number compared against the tolerance
             "tolerance": float | null, "exact": bool}
          ],
          "finding": str | null,               # what fails and the corrected statement, if any (full text)
          "finding_parts": {...},              # the finding as data when the claim gives one: checked, fails,
                                               # counterexample, corrected, scope, scope_note, confirm, note, ...
          "max_deviation": float | null,
          "seconds": float
        }
      ],
      "summary": {"claims": int,
                  "counts": {"confirmed": int, "refuted": int, "recorded reading fails": int,
                             "inconclusive": int, "error": int},
                  "seed": int, "profile": "quick" | "thorough", "seconds": float}
    }

At a user's setting (``--cov SPEC -n N`` [``--task-cov``, ``--noise``, ``--covariates``, ``-L``], the grammar of
precond/loss) the selected claims that declare parameters run there (``Context(setting=...)``); a claim that
cannot be moved says why in one line on stderr and is skipped (exit 2 if none can); a parameter a claim does not
accept (noise for a noiseless theorem, -L for a one-layer claim) is an error naming it. The JSON then also has
``"setting"``. ``--claims PATH`` adds the claims of a .py file or folder (plugins: docs/plugins.md).

The Markdown report (``--format markdown``) is byte-identical on rerun with the same seed and
profile: it has no timings. It and ``--report FILE`` keep the full detail; the default table output is brief (the
table, then a few short lines per finding), ``-v`` prints every finding in full with its failing steps. On a
terminal a progress bar (tqdm) runs on stderr; ``--progress`` prints one line per claim even when stderr is not a
terminal, ``--no-progress`` turns both off.
"""

from __future__ import annotations

import argparse
import contextlib
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
  iclcheck verify --format markdown --report STATUS.md     the full report (docs/VERIFICATION.md)
  iclcheck verify --profile thorough --strict              nightly: many random settings, fail on non-confirmed
  iclcheck verify ahn2023.thm1 --cov random:d=4,cond=10,seed=1 -n 30      a claim at your own setting
  iclcheck verify mahankali2023 --cov eye:3 -n 10 --noise 1/2             (claims that cannot move say why)
  iclcheck verify --claims my_claims/      your own claims too (docs/plugins.md; 'iclcheck new-claim KEY');
                                           their code runs, as pytest runs a conftest.py

columns: "dev" and "tol" come from one decisive step: for a refuted claim the failing step furthest
outside its tolerance, otherwise the step closest to its tolerance; in that step's unit (absolute or
relative error; |z| for Monte Carlo steps, compared with the critical value; 0 for exact identities).

verdicts: confirmed (every step passed), refuted as printed (a step failed and the statement is the
paper's own text: it does not hold; see the finding), recorded reading fails (a step failed but the
statement was not read in the paper's own text: our reading fails, which is not a refutation; the finding
gives the reading that holds), inconclusive (nothing failed but some step could not decide), error (the
check itself crashed: a toolkit bug). 'iclcheck list' shows the keys and each statement's provenance.

output: the table, then a few short lines per finding; -v prints every finding in full with the steps
that did not pass; --format markdown and --report FILE keep the full detail.

exit status: 0 every claim was checked (whatever its verdict); 1 some claim crashed (the others still
run), or --strict and some verdict is not 'confirmed' or some plugin failed to load; 2 bad input. A claim
or plugin that calls sys.exit() is that claim's failure, never the exit status."""


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
                   help="show one progress line per claim on stderr even when stderr is not a terminal (on a terminal "
                   "a progress bar is shown by default)")
    p.add_argument("--no-progress", action="store_true", help="no progress display on stderr, not even on a terminal")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="table output: every finding in full, with the steps that did not pass (default: a few short "
                   "lines per finding)")
    p.add_argument("--claims", dest="claim_paths", action="append", metavar="PATH", type=str, default=None,
                   help="also load the claims of PATH (a .py file or a folder of them); repeatable. This imports "
                   "PATH: its code runs, as pytest runs a conftest.py (load only files you trust)")
    add_user_setting_arguments(p)
    from iclcheck.cli.commands._lsa_common import positive_int

    p.add_argument("--jobs", type=positive_int, default=1,
                   help="run the claims in N processes: this one and a local Dask cluster of N - 1 workers, taking "
                   "tasks from one queue (default 1: in this process, no Dask); the report is the same as with 1")
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
            notations: dict[str, str], args: argparse.Namespace | None = None, *, verbose: bool = True) -> str:
    from iclcheck.proofs.report import counts_line, json_report, markdown_report, table_report

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
            + counts_line(results))
    return table_report(results, titles=titles, verbose=verbose) + tail


def _movable(claims, user):
    """The claims that can run at the user's setting; the others say why on stderr. A parameter that a movable
    claim does not accept is an error (InputError naming it); none movable: exit 2."""
    from iclcheck.proofs.registry import runnable_at

    try:
        keep, skipped = runnable_at(claims, user)  # the API's policy too
    except InputError as exc:
        if exc.what != "setting":
            raise
        raise InputError("--cov", f"{exc.problem}; 'iclcheck list' shows what each claim accepts") from None
    for c, why in skipped:
        print(f"iclcheck verify: {c.key} is not run at this setting: {why}", file=sys.stderr)
    return keep


@contextlib.contextmanager
def _progress(args: argparse.Namespace, total: int):
    """The progress display on stderr, as an ``on_done`` callback (or None): a tqdm bar on a terminal (the default;
    tqdm redraws one line, handles narrow terminals and closes cleanly on errors), one plain line per claim with
    --progress when stderr is not a terminal, nothing with --no-progress."""
    from iclcheck.proofs.report import progress_printer

    if args.no_progress:
        yield None
        return
    if not sys.stderr.isatty():
        yield progress_printer() if args.progress else None
        return
    from iclcheck.cli.progress import stderr_bar

    with stderr_bar(total, desc="verify", unit="claim") as bar:
        def on_done(i, n, claim, res) -> None:
            bar.set_postfix_str(f"{claim.key}: {res.verdict}", refresh=False)
            bar.update(1)

        yield on_done


def run(args: argparse.Namespace) -> int:
    from iclcheck.proofs.registry import Context, select
    from iclcheck.proofs.report import run_claims
    if args.report is not None:  # before any claim runs: a regular file that can be written (never a FIFO)
        from iclcheck.numerics.files.write import check_output_path

        check_output_path(args.report, what="--report")
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
    t0 = time.perf_counter()
    with _progress(args, len(claims)) as on_done:
        try:
            results = run_claims(claims, ctx, on_done=on_done, jobs=args.jobs, scheduler=args.scheduler)
        except InputError as exc:  # the cluster's options (jobs, scheduler)
            raise InputError(f"--{exc.what}", exc.problem) from None
    seconds = time.perf_counter() - t0
    print(_render(args.format, results, ctx, titles, seconds, notations, args, verbose=args.verbose))
    if args.report is not None:
        suffix = args.report.suffix.lower()
        fmt = "markdown" if suffix == ".md" else "json" if suffix == ".json" else args.format
        try:
            args.report.write_text(_render(fmt, results, ctx, titles, seconds, notations, args) + "\n")
        except OSError as exc:
            raise InputError("--report", f"cannot write {str(args.report)!r}: {exc.strerror}") from None
    if any(r.verdict == ERROR for r in results):
        return 1
    if args.strict and (problems or any(r.verdict != "confirmed" for r in results)):
        return 1  # a plugin that failed to load (problems) is not a confirmed claim either
    return 0
