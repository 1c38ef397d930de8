"""The ``iclcheck`` command. Subcommands live in iclcheck/cli/commands/*.py and are discovered here.

Exit status: 0 success, 2 bad input (one line on stderr, no traceback), 3 numerical failure (valid input
whose answer could not be computed: divergence, solver failure), 1 internal error or a failed check.
Set ICLCHECK_DEBUG=1 to see the traceback of an internal error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback

from iclcheck.theory.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_NUMERICAL,
    ICLCheckError,
    NumericalFailure,
)

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="iclcheck",
        description=(
            "Exact checks of what linear self-attention learns in context: closed-form losses, optimal "
            "preconditioners, certified critical points and the published theorems as proof-checks."
        ),
        epilog="Start with 'iclcheck verify' (every published claim, with verdicts) or "
        "'iclcheck precond --cov diag:1,2,3 -n 4 --exact'.",
    )
    from iclcheck import __version__

    parser.add_argument("--version", action="version", version=f"iclcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    import iclcheck.cli.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"iclcheck.cli.commands.{info.name}")
        if hasattr(mod, "register"):
            mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except NumericalFailure as exc:
        print(f"iclcheck {args.command}: numerical failure: {exc}", file=sys.stderr)
        return EXIT_NUMERICAL
    except ICLCheckError as exc:
        print(f"iclcheck {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("iclcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: one line unless debugging
        if os.environ.get("ICLCHECK_DEBUG"):
            traceback.print_exc()
        print(f"iclcheck {args.command}: internal error: {type(exc).__name__}: {exc} "
              "(set ICLCHECK_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
