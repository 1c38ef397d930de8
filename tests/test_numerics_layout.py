"""The layout of numerics/: subpackages where a prefix was one, no import cycle between its modules and subpackages
(the imports a module runs when it is imported: module level, not the lazy ones inside functions), and the documented old path ``iclcheck.numerics.restricted`` still works."""

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUM = ROOT / "numerics"
PACKAGES = ("critical", "certificate", "families", "weights", "training")


def _node(module: str, names: set[str]) -> str | None:
    """The top-level module or subpackage of numerics that ``iclcheck.numerics.<module>`` lives in."""
    head = module.split(".")[0]
    return head if head in names else None


def _graph() -> dict[str, set[str]]:
    names = {p.stem for p in NUM.glob("*.py") if p.stem != "__init__"} | set(PACKAGES)
    edges: dict[str, set[str]] = {n: set() for n in names}
    for f in NUM.rglob("*.py"):
        rel = f.relative_to(NUM).parts
        if rel == ("__init__.py",):
            continue
        src = rel[0].removesuffix(".py")
        tree = ast.parse(f.read_text(), filename=str(f))
        lazy = {id(x) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                for x in ast.walk(fn)}
        for n in ast.walk(tree):
            if id(n) in lazy:
                continue
            mods = ([a.name for a in n.names] if isinstance(n, ast.Import) else
                    [n.module] + [f"{n.module}.{a.name}" for a in n.names]
                    if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module else [])
            for m in mods:
                if m.startswith("iclcheck.numerics."):
                    dst = _node(m.removeprefix("iclcheck.numerics."), names)
                    if dst and dst != src:
                        edges[src].add(dst)
    return edges


def test_subpackages_replace_the_prefixed_files():
    for pkg in PACKAGES:
        assert (NUM / pkg / "__init__.py").is_file(), pkg
    flat = sorted(p.name for p in NUM.glob("*.py") for pkg in PACKAGES if p.stem.startswith(pkg + "_"))
    assert flat == [], f"prefixed flat modules beside their subpackage: {flat}"


def test_no_import_cycle_between_numerics_modules_and_subpackages():
    edges = _graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(edges[v]):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state and (cyc := visit(w)):
                return cyc
        state[v] = 2
        path.pop()
        return None

    for v in sorted(edges):
        if v not in state:
            cyc = visit(v)
            assert cyc is None, "import cycle: " + " -> ".join(cyc)


def test_the_documented_old_path_is_the_moved_module():
    old = importlib.import_module("iclcheck.numerics.restricted")
    new = importlib.import_module("iclcheck.numerics.families.restricted")
    assert old is new
    assert callable(old.kq_gamma)


def test_the_facade_exports_every_name_it_lists():
    fam = importlib.import_module("iclcheck.numerics.families")
    missing = [n for n in fam.__all__ if not hasattr(fam, n)]
    assert fam.__all__ and missing == []
