"""The ``iclcheck`` command. Subcommands live in iclcheck/cli/commands/*.py, one module each.

Start-up is light: the top-level parser is built from the table ``COMMANDS`` (name -> one-line help)
without importing any command module, and only the module of the command being run is imported
(``tests/cli/test_startup.py`` checks that ``iclcheck --help`` imports none of numpy, sympy, scipy,
cvxpy, matplotlib, and times it). Command modules keep their heavy imports inside functions.

Exit status: 0 success, 2 bad input (one line on stderr, no traceback), 3 numerical failure (valid input
whose answer could not be computed to the promised accuracy), 1 internal error or a failed check.
Set ICLCHECK_DEBUG=1 to see the traceback of an internal error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Iterable
from typing import NoReturn

from iclcheck.cli.flags import flag_message
from iclcheck.theory.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_NUMERICAL,
    ICLCheckError,
    NumericalFailure,
)

__all__ = ["COMMANDS", "build_parser", "main"]

# name -> the one-line help of ``iclcheck --help``. Each module iclcheck/cli/commands/<name>.py defines
# ``register(subparsers)`` (a command "a-b" lives in a_b.py); tests/cli/test_startup.py checks this table against
# the modules.
COMMANDS: dict[str, str] = {
    "check-weights": "read a trained L-layer model (.npz, .safetensors, torch), report its loss and gap to the theory",
    "certify": "prove a global lower bound of the one-layer loss and certify the predicted Gamma* point",
    "compare": "per-step errors of GD, preconditioned GD, GD++, Newton, OLS and trained LSA",
    "critical": "find, deduplicate and classify the critical points of the one-layer loss",
    "flow": "gradient flow of an exact population loss: plateaus, conserved quantities, limit, rates (no sampling)",
    "gd-error": "exact expected error of k = 1..K in-context GD steps (label or weights), arg-min k, tail flag",
    "layers": "optimal per-layer coefficients of the L-layer GD / GD++ families (exact loss)",
    "list": "list the registered claims (key, title, source)",
    "new-claim": "write a new claim module and its test from the template (your own theorem)",
    "loss": "exact population loss of one LSA layer at given P, Q, or its closed form (--symbolic)",
    "precond": "optimal one-layer preconditioner Gamma* and minimal loss for a covariance",
    "sweep": "critical-point census (minima, basins, gaps, certificates) over a grid of settings, on Dask",
    "train": "train an L-layer LSA with Adam and report what it learned",
    "verify": "run the published claims' proof-checks and print their verdicts",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _selected(argv: list[str]) -> str | None:
    """The command named in argv (the first argument that is not an option), if any."""
    for a in argv:
        if a == "--":
            return None
        if not a.startswith("-"):
            return a if a in COMMANDS else None
    return None


def build_parser(argv: list[str] | None = None, *, commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``iclcheck`` parser. ``commands``: the subcommands whose modules are imported and whose full
    parsers are built (default: the one named in ``argv`` when argv is given, else every command); the
    others get a stub parser carrying only their one-line help."""
    parser = _Parser(
        prog="iclcheck",
        description=(
            "Exact checks of what linear self-attention learns in context: closed-form losses, optimal "
            "preconditioners, certified critical points and the published theorems as proof-checks."
        ),
        epilog="Start with 'iclcheck verify' (every published claim, with verdicts) or "
        "'iclcheck precond --cov diag:1,2,3 -n 4 --exact'. Exit status: 0 success, 2 bad input, "
        "3 numerical failure, 1 internal error or failed check.",
    )
    from iclcheck import __version__

    parser.add_argument("--version", action="version", version=f"iclcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    if commands is None:
        chosen = _selected(argv) if argv is not None else None
        full = set(COMMANDS) if argv is None else ({chosen} if chosen else set())
    else:
        full = set(commands)
    for name in sorted(COMMANDS):
        if name in full:
            importlib.import_module(f"iclcheck.cli.commands.{name.replace('-', '_')}").register(sub)
        else:
            sub.add_parser(name, help=COMMANDS[name], add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except NumericalFailure as exc:
        print(f"iclcheck {args.command}: numerical failure: {flag_message(exc, args.command)}", file=sys.stderr)
        return EXIT_NUMERICAL
    except ICLCheckError as exc:
        print(f"iclcheck {args.command}: {flag_message(exc, args.command)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("iclcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        print(f"iclcheck {args.command}: out of memory (the input is too large for this machine)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # an internal error: one line unless debugging
        if os.environ.get("ICLCHECK_DEBUG"):
            traceback.print_exc()
        print(f"iclcheck {args.command}: internal error: {type(exc).__name__}: {exc} "
              "(set ICLCHECK_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
