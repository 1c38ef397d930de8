"""The one renderer of the CLI: a command's result object to table / json / markdown / latex, and ``--out``.

A command parses its flags, makes one call of the public API (``iclcheck.api``) and hands the result to ``emit``.
The result is any object with ``to_dict()`` (the command's JSON body); for ``--out`` it also has
``out_arrays(npy)`` -> (arrays, scalars), the matrices written in binary (.npy: exactly one array; .npz: every
array and scalar), and ``OUT_REPLACES``, the JSON keys of those arrays that the file replaces (null in the JSON). The text formats are the command's own functions ``(result, args, written) -> lines``;
everything else (the JSON envelope, --out, the note on big JSON) is done here, once for every command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from iclcheck.cli.formatting import big_json_note, check_out_path, dump_json, json_envelope, write_arrays

__all__ = ["Body", "Labelled", "Result", "TextFormat", "check_out", "emit", "print_lines"]


class Result(Protocol):
    """What ``emit`` renders: the command's JSON body as a dict."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass
class Labelled:
    """A result whose JSON body is its own ``to_dict()`` with the command's keys around it: ``before`` first (labels
    of how it was asked for), ``after`` last (a section the command adds)."""

    result: Any
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.before, **self.result.to_dict(), **self.after}


@dataclass
class Body:
    """A JSON body the command assembles from a result without a ``to_dict`` of that shape; ``result`` is what
    the text formats read."""

    body: dict[str, Any]
    result: Any = None

    def to_dict(self) -> dict[str, Any]:
        return self.body


# a text format: (result, parsed args, the --out description or None) -> the lines to print
TextFormat = Callable[[Any, argparse.Namespace, "dict[str, Any] | None"], Iterable[str]]


def check_out(args: argparse.Namespace) -> None:
    """``--out`` validated before any work (when the command has it and it was given)."""
    if getattr(args, "out", None) is not None:
        check_out_path(args.out)


def print_lines(lines: Iterable[str]) -> None:
    """The lines of a text format, one ``print`` each (the bytes the commands always printed)."""
    for line in lines:
        print(line)


def _write_out(result: Any, path: str) -> tuple[dict[str, Any], set[str]]:
    """Write the result's arrays to ``path``: (the file's description, the names of the arrays written)."""
    from iclcheck.theory.errors import InputError

    try:
        arrays, scalars = result.out_arrays(str(path).lower().endswith(".npy"))
    except InputError as exc:  # the result names its parameter "out"
        raise InputError("--out", exc.problem) from None
    return write_arrays(path, arrays, scalars=scalars), set(getattr(result, "OUT_REPLACES", ())) & set(arrays)


def _json_body(result: Any, written: dict[str, Any] | None, dropped: set[str], out_after: str | None
               ) -> dict[str, Any]:
    """The result's dict; with ``--out``, the matrices the file replaces are null in the JSON and ``out`` names
    the file (after the key ``out_after``, else last)."""
    body = result.to_dict()
    if written is None:
        return body
    body = {k: (None if k in dropped else v) for k, v in body.items()}
    if out_after is None or out_after not in body:
        return {**body, "out": written}
    keys = list(body)
    at = keys.index(out_after) + 1
    return {**{k: body[k] for k in keys[:at]}, "out": written, **{k: body[k] for k in keys[at:]}}


def emit(command: str, result: Any, args: argparse.Namespace, *, setting: Any = None,
         text: TextFormat | None = None, latex: TextFormat | None = None, markdown: TextFormat | None = None,
         out_after: str | None = None, binary_out: bool = True, indent: bool = False) -> int:
    """Render ``result`` in ``args.format`` (json, table, latex, markdown; default table) after writing its
    arrays to ``args.out`` when given. JSON: ``result.to_dict()`` in the one envelope (``json_envelope``: the
    setting object from ``setting``), the arrays written to --out set to null, a note on stderr when the JSON
    carries more than ``BIG_JSON_ENTRIES`` matrix entries. ``binary_out=False``: the command's --out is not a
    binary file of arrays (sweep's dataset directory, written by the API); ``indent``: indented JSON. Returns the
    exit status (0)."""
    path = getattr(args, "out", None) if binary_out else None
    written, dropped = _write_out(result, path) if path is not None else (None, set())
    fmt = getattr(args, "format", "table")
    if fmt == "json":
        body = _json_body(result, written, dropped, out_after)
        big_json_note(*(v for v in body.values() if getattr(v, "ndim", 0) >= 1))  # matrices, not scalars
        dump_json(json_envelope(command, body, setting=setting, args=args), indent=indent)
        return 0
    render = {"latex": latex, "markdown": markdown}.get(fmt) or text
    if render is None:  # pragma: no cover - argparse's choices keep a command to the formats it renders
        raise ValueError(f"{command} has no {fmt} format")
    print_lines(render(result, args, written))
    return 0
