"""Regenerate the README's "Verification status" block from `iclcheck verify --format markdown`.

The block sits between the markers

    <!-- verification-status:begin -->
    <!-- verification-status:end -->

The README holds the summary (table and findings); docs/VERIFICATION.md holds the whole report with
every claim's checked steps.

Usage:
    python scripts/update_readme_status.py            # rewrite README's block and docs/VERIFICATION.md (seed 0, quick)
    python scripts/update_readme_status.py --check    # exit 1 if the block is out of date (for CI)

The Markdown report is deterministic for a fixed seed and profile, and must not depend on the machine: numbers
that rounding decides are printed as rounding-stable statistics, and tests/proofs/test_reproducible_report.py
compares the report under two OpenBLAS kernels. When --check fails it prints where the files differ and which
BLAS kernel produced the new text, so a machine-dependent number can be told from a stale file.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from iclcheck.proofs.registry import Context, select
from iclcheck.proofs.report import markdown_report, run_claims

BEGIN = "<!-- verification-status:begin -->"
END = "<!-- verification-status:end -->"
ROOT = Path(__file__).resolve().parents[1]
STEPS_HEADING = "Each claim's checked steps:"


def render(seed: int = 0, profile: str = "quick") -> str:
    claims = select(None)
    ctx = Context(seed=seed, profile=profile)
    return markdown_report(run_claims(claims, ctx), ctx, titles={c.key: c.title for c in claims},
                           notations={c.key: c.notation for c in claims})


def blas_kernel() -> str:
    """The BLAS library and kernel numpy runs on (via threadpoolctl when installed), for the --check message."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (install threadpoolctl to see it)"
    import numpy  # noqa: F401  (loads the BLAS whose kernel is reported)

    libs = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')}".strip()
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(libs) or "none found"


def first_differences(old: str, new: str, *, limit: int = 12) -> list[str]:
    """The first changed lines between the committed text and the regenerated one (unified diff, no context)."""
    out = [ln for ln in difflib.unified_diff(old.splitlines(), new.splitlines(), "committed", "regenerated", n=0,
                                             lineterm="")]
    return [ln[:240] for ln in out[:limit]] + (["..."] if len(out) > limit else [])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md's block is out of date")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    ap.add_argument("--full", type=Path, default=ROOT / "docs" / "VERIFICATION.md")
    args = ap.parse_args(argv)
    text = args.readme.read_text()
    if BEGIN not in text or END not in text:
        print(f"{args.readme}: markers {BEGIN} / {END} not found; add them where the status belongs", file=sys.stderr)
        return 2
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    full = render()
    summary = full.split(STEPS_HEADING, 1)[0].rstrip() + (
        f"\n\nEvery claim's checked steps, with the numbers compared: [{args.full.name}]"
        f"({args.full.relative_to(args.readme.parent).as_posix()}).\n")
    new = f"{head}{BEGIN}\n{summary}{END}{tail}"
    full_doc = "# Verification report\n\n" + full
    if args.check:
        stale = [(f, want) for f, want in ((args.readme, new), (args.full, full_doc))
                 if not f.exists() or f.read_text() != want]
        if stale:
            print(f"out of date: {', '.join(str(f) for f, _ in stale)}; run python scripts/update_readme_status.py "
                  f"(BLAS: {blas_kernel()})", file=sys.stderr)
            for f, want in stale:
                for line in first_differences(f.read_text() if f.exists() else "", want):
                    print(f"  {line}", file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(new)
    args.full.parent.mkdir(parents=True, exist_ok=True)
    args.full.write_text(full_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
