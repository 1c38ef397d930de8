"""``iclcheck list``: the registered claims grouped by paper (key, title, provenance, origin, source); ``--format json``.

Claims come from the toolkit ("built-in"), from installed plugins (entry-point group ``iclcheck.claims``:
"plugin <dist name>") and from ``--claims PATH`` ("file <path>"); docs/plugins.md. A plugin that fails to load is
one line on stderr; the others are listed.

Each claim whose statement was read somewhere (a locator: the paper's section, the authors' repo@commit:path) shows it
on a second line, "read: ...".

JSON: ``{"claims": [{"key": str, "paper": str, "title": str, "source": str, "provenance": str, "locator": str, "origin": str,
"parameters": [str], "movable": bool, "fixed": str, "statement": str, "notation": str}, ...], "papers": int}``
("parameters": what a claim can be moved to; "fixed": why it cannot move further). Provenance tags (only READ is the paper's own text)
are those of ``iclcheck.proofs.registry.PROVENANCE_TAGS``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from iclcheck.cli.main import COMMANDS

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "list",
        help=COMMANDS["list"],
        description="List the published claims iclcheck checks. Pass keys or prefixes to filter.",
        epilog="examples:\n  iclcheck list\n  iclcheck list ahn2023 --format json\n"
        "  iclcheck verify $(iclcheck list --keys | grep mahankali)\n"
        "  iclcheck list --claims my_claims/        (your own claims too: docs/plugins.md)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("claims", nargs="*", metavar="KEY_OR_PREFIX", help="filter by key or prefix")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--keys", action="store_true", help="print only the keys, one per line")
    p.add_argument("--claims", dest="claim_paths", action="append", metavar="PATH", type=str, default=None,
                   help="also load the claims of PATH (a .py file or a folder of them); repeatable. This imports "
                   "PATH: its code runs, as pytest runs a conftest.py (load only files you trust)")
    p.set_defaults(func=run)


def _claim_json(c: Any) -> dict[str, Any]:
    return {"key": c.key, "paper": c.paper, "title": c.title, "source": c.source, "provenance": c.provenance,
            "locator": c.locator, "origin": c.origin, "parameters": list(c.parameters), "movable": bool(c.parameters),
            "fixed": c.fixed_reason if not c.parameters else c.fixed, "statement": c.statement,
            "notation": c.notation}


def run(args: argparse.Namespace) -> int:
    from iclcheck.cli.render import Body, emit
    from iclcheck.proofs.registry import select

    problems: list[str] = []
    claims = select(args.claims or None, paths=args.claim_paths, problems=problems)
    for line in problems:
        print(f"iclcheck list: {line}", file=sys.stderr)
    if args.keys:
        print("\n".join(c.key for c in claims))
        return 0
    body = {"claims": [_claim_json(c) for c in claims], "papers": len({c.paper for c in claims})}
    return emit("list", Body(body, claims), args, text=_table, indent=True)


def _table(view: Any, args: argparse.Namespace, written: Any) -> list[str]:
    from iclcheck.proofs.registry import PROVENANCE_TAGS

    claims = view.result
    heads = ("key", "claim", "provenance", "moves", "origin", "source")
    rows: list[tuple[str, ...]] = [(c.key, c.title, c.provenance, ",".join(c.parameters) or "-", c.origin, c.source)
                                   for c in claims]
    w = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(x) for h, x in zip(heads, w, strict=True)).rstrip(), "  ".join("-" * x for x in w)]
    locators = {c.key: c.locator for c in claims}
    fixed = {c.key: c.fixed_reason for c in claims if not c.parameters}  # why a claim runs at its own settings only
    papers: dict[str, list[tuple[str, ...]]] = {}
    for c, r in zip(claims, rows, strict=True):
        papers.setdefault(c.paper, []).append(r)
    for i, (paper, group) in enumerate(papers.items()):
        lines += [""] if i else []
        lines.append(f"{paper} ({len(group)} claim{'s' if len(group) != 1 else ''})")
        for r in group:
            lines.append("  ".join(c.ljust(x) for c, x in zip(r, w, strict=True)).rstrip())
            lines += [f"    read: {locators[r[0]]}"] if locators.get(r[0]) else []
            lines += [f"    fixed: {fixed[r[0]]}"] if r[0] in fixed else []
    used = sorted({t for c in claims for t in c.provenance.split("+")})
    moving = sum(bool(c.parameters) for c in claims)
    return [*lines, "", f"{len(rows)} claims from {len(papers)} papers. Run them: iclcheck verify [KEY_OR_PREFIX ...]",
            f"{moving} of them run at your setting ('moves': the parameters they accept; iclcheck verify KEY "
            "--cov SPEC -n N [--task-cov, --noise, -L]); '-': the paper's settings only ('fixed:' says why)",
            "provenance: " + "; ".join(f"{t} = {PROVENANCE_TAGS[t]}" for t in used)
            + ". Only READ is the paper's own text; the others are checked 'as recorded'."]
