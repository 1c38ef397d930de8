"""``iclcheck list``: the registered claims (key, title, source); ``--format json`` for machines.

JSON: ``{"claims": [{"key": str, "title": str, "source": str, "statement": str, "notation": str}, ...]}``.
"""

from __future__ import annotations

import argparse
import json

from iclcheck.cli.main import COMMANDS

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "list",
        help=COMMANDS["list"],
        description="List the published claims iclcheck checks. Pass keys or prefixes to filter.",
        epilog="examples:\n  iclcheck list\n  iclcheck list ahn2023 --format json\n"
        "  iclcheck verify $(iclcheck list --keys | grep mahankali)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("claims", nargs="*", metavar="KEY_OR_PREFIX", help="filter by key or prefix")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--keys", action="store_true", help="print only the keys, one per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iclcheck.proofs.registry import select

    claims = select(args.claims or None)
    if args.keys:
        print("\n".join(c.key for c in claims))
        return 0
    if args.format == "json":
        print(json.dumps({"claims": [{"key": c.key, "title": c.title, "source": c.source,
                                      "statement": c.statement, "notation": c.notation} for c in claims]},
                         indent=2))
        return 0
    rows = [(c.key, c.title, c.source) for c in claims]
    heads = ("key", "claim", "source")
    w = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(x) for h, x in zip(heads, w, strict=True)).rstrip())
    print("  ".join("-" * x for x in w))
    for r in rows:
        print("  ".join(c.ljust(x) for c, x in zip(r, w, strict=True)).rstrip())
    print(f"\n{len(rows)} claims. Run them: iclcheck verify [KEY_OR_PREFIX ...]")
    return 0
