"""One JSON envelope for every command: each command of the CLI's command table (``iclcheck.cli.main.COMMANDS``, so
a command added later is covered without editing this file) that offers ``--format json`` is run once, and its
output is checked against the envelope table of docs/json.md, read from the page itself (key, type), plus the
``setting`` object's keys (``test_json_schema.validate_setting``). A new command with JSON output and no entry in
``RUNS`` fails here until it gets one."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest

from iclcheck import __version__
from iclcheck.cli import main
from iclcheck.cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]


def _validate_setting():
    """test_json_schema.validate_setting (the setting object's checks), loaded from its file (tests is no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_json_schema_checks", Path(__file__).with_name("test_json_schema.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.validate_setting


validate_setting = _validate_setting()
DOC = ROOT / "docs" / "json.md"


def _envelope_table() -> dict[str, str]:
    """{key: type text} of the first table of docs/json.md (the envelope)."""
    text = DOC.read_text()
    rows = {}
    for line in text.split("## The `setting` object")[0].splitlines():
        m = re.fullmatch(r"\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|.*\|", line.strip())
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


_TYPES = {"int": (int,), "str": (str,), "object or null": (dict, type(None))}


def _check_against_doc(obj: dict, command: str) -> None:
    table = _envelope_table()
    assert list(table) == ["schema", "iclcheck_version", "command", "setting"], table  # the page's own table
    assert list(obj)[: len(table)] == list(table), list(obj)[:6]
    for key, typ in table.items():
        assert isinstance(obj[key], _TYPES[typ]) and not isinstance(obj[key], bool), (key, obj[key])
    assert obj["schema"] == 1 and obj["iclcheck_version"] == __version__ and obj["command"] == command
    if obj["setting"] is not None:
        validate_setting(obj["setting"])


def _json_commands() -> list[str]:
    """The commands whose parser offers --format json (read from the parsers, not listed by hand)."""
    parser = build_parser(commands=COMMANDS)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = []
    for name in sorted(COMMANDS):
        fmt = [a for a in sub.choices[name]._actions if "--format" in a.option_strings]
        if fmt and "json" in (fmt[0].choices or ()):
            out.append(name)
    return out


def _weights(tmp: Path) -> list[str]:
    A = 0.3 * np.eye(2)  # one GD layer in the canonical convention: P = [[0, 0], [0, 1]], Q = -[[A, 0], [0, 0]]
    P, Q = np.zeros((1, 3, 3)), np.zeros((1, 3, 3))
    P[0, 2, 2], Q[0, :2, :2] = 1.0, -A
    np.savez(tmp / "w.npz", P=P, Q=Q)
    return [str(tmp / "w.npz"), "--cov", "eye:2", "-n", "6", "--samples", "2000"]


# command -> (argv after the command name, the setting is an object) ; tmp is a fresh folder
RUNS = {
    "certify": (lambda tmp: ["--cov", "diag:1,2", "-n", "4"], True),
    "check-weights": (_weights, True),
    "compare": (lambda tmp: ["--cov", "eye:2", "--task-cov", "inv", "-n", "6", "-L", "2", "--steps", "2", "--samples",
                             "200", "--train-steps", "2"], True),
    "critical": (lambda tmp: ["--cov", "diag:1,2", "-n", "4", "--starts", "2"], True),
    "layers": (lambda tmp: ["--cov", "eye:2", "-n", "6", "-L", "2"], True),
    "list": (lambda tmp: ["ahn2023.eq7"], False),
    "loss": (lambda tmp: ["--cov", "diag:1,2", "-n", "4", "--symbolic"], True),
    "precond": (lambda tmp: ["--cov", "diag:1,2", "-n", "4", "--exact"], True),
    "sweep": (lambda tmp: ["--d", "2", "--cond", "10", "-n", "3", "--starts", "2", "--no-certify", "--quiet",
                           "--out", str(tmp / "sw")], False),  # many settings: each row carries its own
    "train": (lambda tmp: ["--cov", "eye:2", "--task-cov", "inv", "-n", "6", "-L", "2", "--steps", "3", "--batch", "8",
                           "--samples", "200"], True),
    "verify": (lambda tmp: ["ahn2023.eq7"], False),
    "gd-error": (lambda tmp: ["--cov", "eye:3", "-n", "8", "--steps", "2"], True),
    "flow": (lambda tmp: ["--cov", "diag:0.4,0.3", "-n", "31", "--model", "attnS", "--heads", "2", "--t-max", "100",
                          "--samples", "21"], True),
}


def test_every_json_command_is_discovered():
    found = _json_commands()
    assert {"precond", "sweep", "check-weights", "verify", "list"} <= set(found)  # the discovery works
    missing = sorted(set(found) - set(RUNS))
    assert not missing, f"commands with --format json and no run in RUNS: {missing} (add one)"


@pytest.mark.parametrize("command", _json_commands())
def test_json_envelope(command, tmp_path, capsys):
    make, has_setting = RUNS[command]
    assert main([command, *make(tmp_path), "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    _check_against_doc(obj, command)
    assert (obj["setting"] is not None) == has_setting
    assert f"### `{command}`" in DOC.read_text(), f"docs/json.md has no example for {command}"
