"""Imports run one way: theory -> numerics -> proofs -> cli, and nothing imports the CLI.

The rooms are installed as ``iclcheck.theory``, ``iclcheck.numerics``, ``iclcheck.proofs`` and
``iclcheck.cli``; a bare ``import theory`` (the pre-namespace spelling) would pick up whatever a user's
working directory or environment calls ``theory``, so it is forbidden everywhere.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOMS = {"theory": ROOT / "theory", "numerics": ROOT / "numerics", "proofs": ROOT / "proofs",
         "cli": ROOT / "src" / "iclcheck" / "cli"}  # the rooms are also linked under src/iclcheck
FORBIDDEN = {"theory": {"numerics", "proofs", "cli"}, "numerics": {"proofs", "cli"}, "proofs": {"cli"},
             "cli": set()}
BARE = {"theory", "numerics", "proofs"}


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(rooms of iclcheck imported, bare top-level names imported)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "iclcheck":
                names += [f"iclcheck.{a.name}" for a in node.names]
    rooms = {n.split(".")[1] for n in names if n.startswith("iclcheck.") and n.count(".") >= 1}
    bare = {n.split(".")[0] for n in names} & BARE
    return rooms, bare


def test_imports_run_one_way():
    bad = []
    for room, folder in ROOMS.items():
        for f in folder.rglob("*.py"):
            hit = _imports(f)[0] & FORBIDDEN[room]
            if hit:
                bad.append(f"{f.relative_to(ROOT)} imports {sorted(hit)}")
    assert not bad, "layering violated: " + "; ".join(bad)


def test_nothing_below_the_cli_imports_it_and_no_bare_room_imports():
    bad = []
    for folder in ("theory", "numerics", "proofs", "src", "tests", "benchmarks", "scripts"):
        for f in (ROOT / folder).rglob("*.py"):
            rooms, bare = _imports(f)
            if bare:
                bad.append(f"{f.relative_to(ROOT)} imports bare {sorted(bare)} (use iclcheck.{sorted(bare)[0]})")
    assert not bad, "; ".join(bad)


def test_no_cli_flag_names_below_the_cli():
    """Library errors name library parameters (Sigma, n, lr, starts); only iclcheck/cli maps them to flags."""
    import re

    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
    bad = []
    for room in ("theory", "numerics"):
        for f in (ROOT / room).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text(), filename=str(f))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and flag.search(node.value):
                    if node.value.lstrip().startswith(('"""', "'''")) or "\n" in node.value:
                        continue  # docstrings may say how the CLI exposes a function
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno}: {flag.search(node.value).group()}")
    assert not bad, "CLI flags in library strings: " + "; ".join(bad)
