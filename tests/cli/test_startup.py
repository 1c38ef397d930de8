"""CLI start-up: building the parser imports nothing heavy, and start-up time is measured against
``python -c "import numpy"`` in fresh processes (wall clock of the child process, median of 5)."""

from __future__ import annotations

import importlib
import json
import statistics
import subprocess
import sys
import time

import pytest

HEAVY = ("numpy", "sympy", "scipy", "cvxpy", "matplotlib")


def _child(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


@pytest.mark.parametrize("argv", [["--help"], ["precond", "--help"], ["loss", "--help"], ["verify", "--help"],
                                  ["list", "--help"]])
def test_building_the_parser_imports_nothing_heavy(argv):
    code = (
        "import sys, json\n"
        "from iclcheck.cli.main import build_parser\n"
        f"build_parser({argv!r})\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    assert json.loads(_child(code)) == []


def test_the_command_table_matches_the_modules():
    from iclcheck.cli.main import COMMANDS, build_parser

    parser = build_parser()  # every module imported and registered
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert helps == COMMANDS
    for name in COMMANDS:  # each command module exists and registers itself
        assert hasattr(importlib.import_module(f"iclcheck.cli.commands.{name.replace('-', '_')}"), "register")


def _median_seconds(cmd: list[str], repeat: int = 5) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, timeout=120)
        ts.append(time.perf_counter() - t)  # wall clock of the whole child process (start-up included)
    return statistics.median(ts)


def test_start_up_time_against_importing_numpy():
    numpy_s = _median_seconds([sys.executable, "-c", "import numpy"])
    help_s = _median_seconds([sys.executable, "-m", "iclcheck", "--help"])
    precond_s = _median_seconds([sys.executable, "-m", "iclcheck", "precond", "--cov", "eye:2", "-n", "3"])
    assert help_s <= 3 * numpy_s, (help_s, numpy_s)
    assert precond_s <= 5 * numpy_s, (precond_s, numpy_s)
