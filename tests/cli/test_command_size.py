"""Each CLI command is parse -> one API call -> the shared renderer (cli/render.py): no function of a command
module grows past the size where computing, validating and rendering start to mix again."""

from __future__ import annotations

import ast
from pathlib import Path

COMMANDS = Path(__file__).resolve().parents[2] / "src" / "iclcheck" / "cli" / "commands"
LIMIT = 40  # statements (ast.stmt nodes) inside one function, its nested ones included


def statements(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return sum(isinstance(node, ast.stmt) for node in ast.walk(fn)) - 1  # not the def itself


def test_no_command_function_is_over_the_limit():
    sizes = {}
    for f in sorted(COMMANDS.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                sizes[f"{f.stem}.{node.name}"] = statements(node)
    assert len(sizes) > 50 and "precond.run" in sizes  # the folder was read
    over = {name: n for name, n in sizes.items() if n > LIMIT}
    assert not over, f"over {LIMIT} statements: {over}"


def test_the_count_sees_nested_statements():
    fn = ast.parse("def f(x):\n    if x:\n        for i in x:\n            y = i\n    return x\n").body[0]
    assert isinstance(fn, ast.FunctionDef) and statements(fn) == 4  # if, for, assignment, return
