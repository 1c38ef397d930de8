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

The Markdown report (``--format markdown``) is byte-identical on rerun with the same seed and
profile: it has no timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from iclcheck.cli.commands._lsa_common import seed_arg
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
    from iclcheck.cli.commands._lsa_common import positive_int

    p.add_argument("--jobs", type=positive_int, default=1,
                   help="run the claims as tasks on a local Dask cluster of N worker processes (default 1: in this "
                   "process, no Dask); the report is the same as with 1")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the claims on a running Dask scheduler (e.g. tcp://host:8786)")
    p.set_defaults(func=run)


def _render(fmt: str, results, ctx, titles: dict[str, str], seconds: float,
            notations: dict[str, str]) -> str:
    from iclcheck.proofs.report import json_report, markdown_report, table_report

    if fmt == "json":
        return json.dumps(json_report(results, ctx, seconds=seconds), indent=2)
    if fmt == "markdown":
        return markdown_report(results, ctx, titles=titles, notations=notations).rstrip("\n")
    tail = (f"\n\n{len(results)} claims in {seconds:.1f}s (seed {ctx.seed}, profile {ctx.profile}): "
            + ", ".join(f"{v} {sum(r.verdict == v for r in results)}"
                        for v in ("confirmed", "refuted", "inconclusive", ERROR)))
    return table_report(results, titles=titles) + tail


def run(args: argparse.Namespace) -> int:
    from iclcheck.proofs.registry import Context, select
    from iclcheck.proofs.report import progress_printer, run_claims
    claims = select(args.claims or None)
    ctx = Context(seed=args.seed, profile=args.profile)
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
    print(_render(args.format, results, ctx, titles, seconds, notations))
    if args.report is not None:
        suffix = args.report.suffix.lower()
        fmt = "markdown" if suffix == ".md" else "json" if suffix == ".json" else args.format
        try:
            args.report.write_text(_render(fmt, results, ctx, titles, seconds, notations) + "\n")
        except OSError as exc:
            raise InputError("--report", f"cannot write {str(args.report)!r}: {exc.strerror}") from None
    if any(r.verdict == ERROR for r in results):
        return 1
    if args.strict and any(r.verdict != "confirmed" for r in results):
        return 1
    return 0
