"""The layout of numerics/: modules grouped into subpackages by concern, a small import graph between its top-level
units (a unit is a top-level module or subpackage), no import cycle between units nor between modules - counting the
lazy imports inside functions too, since a cycle through a lazy import is still a cycle of responsibilities (the one
numerics had, deep.implements <-> deep.model_loss, was lazy) - and every moved module's old import path working
through the one alias table of ``iclcheck.numerics`` (the same module object, not a copy).

These are the only tests that import through the old paths; everything else uses the new ones."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUM = ROOT / "numerics"
PACKAGES = ("algorithms", "attention", "certificate", "critical", "deep", "dynamics", "families", "files", "model",
            "one_layer", "plots", "training", "weights")
MAX_UNITS = 27  # "about 25" (issue "Five walls", item 1)
MAX_LEVELS = 7


def _units() -> set[str]:
    return {p.stem for p in NUM.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in NUM.iterdir() if (p / "__init__.py").is_file()}


def _graph() -> dict[str, set[str]]:
    """unit -> the units it imports (absolute imports anywhere in its files: module level and inside functions)."""
    names = _units()
    edges: dict[str, set[str]] = {n: set() for n in names}
    for f in NUM.rglob("*.py"):
        rel = f.relative_to(NUM).parts
        if rel == ("__init__.py",):
            continue
        src = rel[0].removesuffix(".py")
        for n in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            mods = ([a.name for a in n.names] if isinstance(n, ast.Import) else
                    [n.module] + [f"{n.module}.{a.name}" for a in n.names]
                    if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module else [])
            for m in mods:
                if m.startswith("iclcheck.numerics."):
                    dst = m.removeprefix("iclcheck.numerics.").split(".")[0]
                    if dst in names and dst != src:
                        edges[src].add(dst)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
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
        if v not in state and (cyc := visit(v)):
            return cyc
    return None


def _levels(edges: dict[str, set[str]]) -> dict[str, int]:
    level: dict[str, int] = {}

    def lv(v: str) -> int:
        if v not in level:
            level[v] = 1 + max((lv(w) for w in edges[v]), default=0)
        return level[v]

    for v in edges:
        lv(v)
    return level


def test_subpackages_replace_the_prefixed_files():
    for pkg in PACKAGES:
        assert (NUM / pkg / "__init__.py").is_file(), pkg
    flat = sorted(p.name for p in NUM.glob("*.py") for pkg in PACKAGES if p.stem.startswith(pkg + "_"))
    assert flat == [], f"prefixed flat modules beside their subpackage: {flat}"
    assert sorted(p.name for p in NUM.iterdir() if (p / "__init__.py").is_file()) == sorted(PACKAGES)


def test_no_import_cycle_between_numerics_units_lazy_imports_included():
    cyc = _cycle(_graph())
    assert cyc is None, "import cycle: " + " -> ".join(cyc)


def _module_graph() -> dict[str, set[str]]:
    """module -> the modules of numerics it imports, lazy imports included (names relative to iclcheck.numerics; a
    package is its __init__). A package's __init__ importing its own submodules (a facade) is left out: the
    submodules never need the facade to load."""
    mods = {".".join(f.relative_to(NUM).with_suffix("").parts).removesuffix(".__init__"): f for f in NUM.rglob("*.py")}
    mods.pop("__init__")
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, f in mods.items():
        for n in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            targets = ([a.name for a in n.names] if isinstance(n, ast.Import) else
                       [n.module] + [f"{n.module}.{a.name}" for a in n.names]
                       if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module else [])
            for m in targets:
                if m.startswith("iclcheck.numerics."):
                    dst = m.removeprefix("iclcheck.numerics.")
                    while dst and dst not in mods:
                        dst = dst.rpartition(".")[0]
                    if dst and dst != name and not dst.startswith(name + "."):
                        edges[name].add(dst)
    return edges


def test_no_import_cycle_between_numerics_modules_lazy_imports_included():
    """Inside a subpackage too: deep.implements <-> deep.model_loss would be invisible to the graph of units."""
    cyc = _cycle(_module_graph())
    assert cyc is None, "import cycle: " + " -> ".join(cyc)


def test_the_cycle_check_sees_lazy_imports():
    """A function-level import closing a loop is reported (the check that missed implements <-> model_loss)."""
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    tree = ast.parse("def f():\n    from iclcheck.numerics.deep.model_loss import as_stack\n")
    lazy = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert lazy and lazy[0].module == "iclcheck.numerics.deep.model_loss"  # ast.walk reaches into function bodies


def test_the_graph_of_units_stays_small():
    edges = _graph()
    units, levels = len(edges), max(_levels(edges).values())
    assert units <= MAX_UNITS, f"{units} top-level units in numerics/: group modules into a subpackage"
    assert levels <= MAX_LEVELS, f"{levels} levels of imports between the units of numerics/"


def test_the_moved_modules_import_no_alias_inside_iclcheck():
    """Code inside the repository imports the new paths; only the alias table (and this test) names the old ones."""
    numerics = importlib.import_module("iclcheck.numerics")
    old = {f"iclcheck.numerics.{o}" for o in numerics.MOVED}
    bad = []
    for folder in ("theory", "numerics", "proofs", "tests", "benchmarks", "scripts", "src/iclcheck"):
        for f in (ROOT / folder).rglob("*.py"):
            if f.name == "test_numerics_layout.py" or f.relative_to(ROOT).parts[:3] in (
                    ("src", "iclcheck", "theory"), ("src", "iclcheck", "numerics"), ("src", "iclcheck", "proofs")):
                continue  # the rooms linked into src/iclcheck are read at the root
            for n in ast.walk(ast.parse(f.read_text(), filename=str(f))):
                mods = ([a.name for a in n.names] if isinstance(n, ast.Import) else
                        [n.module] + [f"{n.module}.{a.name}" for a in n.names]
                        if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module else [])
                bad += [f"{f.relative_to(ROOT)}:{n.lineno} {m}" for m in mods if m in old]
    assert bad == [], "old import paths: " + "; ".join(bad)


def test_every_alias_is_the_moved_module():
    numerics = importlib.import_module("iclcheck.numerics")
    assert len(numerics.MOVED) >= 20
    for old, new in numerics.MOVED.items():
        a = importlib.import_module(f"iclcheck.numerics.{old}")
        b = importlib.import_module(f"iclcheck.numerics.{new}")
        assert a is b, old
        assert sys.modules[f"iclcheck.numerics.{old}"] is b
        assert getattr(numerics, old) is b
        assert b.__name__ == b.__spec__.name == f"iclcheck.numerics.{new}", old  # its own spec, not the alias's


def test_the_old_spellings_of_imports_work():
    import iclcheck.numerics.model_loss as m
    from iclcheck.numerics import lsa
    from iclcheck.numerics.deep import model_loss as new
    from iclcheck.numerics.model import lsa as new_lsa
    from iclcheck.numerics.model_loss import as_stack
    from iclcheck.numerics.restricted import kq_gamma

    assert m is new and lsa is new_lsa
    assert as_stack is new.as_stack
    assert callable(kq_gamma)
    with pytest.raises(AttributeError):
        importlib.import_module("iclcheck.numerics").no_such_module  # noqa: B018


def test_setting_an_attribute_through_the_old_path_sets_it_on_the_module(monkeypatch):
    import iclcheck.numerics.deep.model_loss as new
    import iclcheck.numerics.model_loss as old

    sentinel = object()
    monkeypatch.setattr("iclcheck.numerics.model_loss.DEFAULT_SAMPLES", sentinel)
    assert new.DEFAULT_SAMPLES is sentinel and old.DEFAULT_SAMPLES is sentinel


def test_the_old_modules_that_became_packages_keep_their_names():
    """one_layer, deep, plots, files and algorithms are packages now; each exports the old module's names, and any
    other name of the old module is found on its defining module."""
    for pkg, core in (("one_layer", "closed_form"), ("deep", "conditioned"), ("plots", "curves"),
                      ("files", "read"), ("algorithms", "reference")):
        p = importlib.import_module(f"iclcheck.numerics.{pkg}")
        c = importlib.import_module(f"iclcheck.numerics.{pkg}.{core}")
        assert set(c.__all__) <= set(p.__all__), pkg
        assert all(getattr(p, n) is getattr(c, n) for n in c.__all__), pkg
    # INV_PLAIN_COND is not in __all__: the package's __getattr__ serves it from the defining module
    from iclcheck.numerics.one_layer import INV_PLAIN_COND
    from iclcheck.numerics.one_layer.closed_form import INV_PLAIN_COND as direct

    assert INV_PLAIN_COND == direct


def test_importing_the_package_stays_light():
    code = ("import sys, iclcheck.numerics\n"
            "print([m for m in ('numpy', 'scipy', 'sympy', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_each_old_path_imports_in_a_fresh_process():
    """``python -c "import iclcheck.numerics.<old>"`` for every old name: the moved modules and the modules that
    became packages, each in a process of its own (no earlier import to lean on)."""
    numerics = importlib.import_module("iclcheck.numerics")
    olds = sorted(numerics.MOVED) + ["algorithms", "deep", "files", "one_layer", "plots"]
    code = ("import importlib, sys\n"
            "old, new = sys.argv[1], sys.argv[2]\n"
            "m = importlib.import_module('iclcheck.numerics.' + old)\n"
            "assert m is importlib.import_module('iclcheck.numerics.' + new), old\n"
            "print(m.__name__)\n")
    procs = {old: subprocess.Popen([sys.executable, "-c", code, old, numerics.MOVED.get(old, old)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for old in olds}
    for old, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (old, err[-2000:])
        assert out.strip() == "iclcheck.numerics." + numerics.MOVED.get(old, old)


def test_the_facade_exports_every_name_it_lists():
    fam = importlib.import_module("iclcheck.numerics.families")
    missing = [n for n in fam.__all__ if not hasattr(fam, n)]
    assert fam.__all__ and missing == []


def test_the_type_checker_is_told_about_exactly_the_old_paths_still_imported():
    """mypy cannot follow the alias table: pyproject lists the old paths that src/iclcheck (the CLI and the API)
    still imports, no more (mypy warns of unused sections) and no fewer."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    numerics = importlib.import_module("iclcheck.numerics")
    old = {f"iclcheck.numerics.{o}" for o in numerics.MOVED}
    imported = set()
    for f in (ROOT / "src" / "iclcheck").rglob("*.py"):
        if f.relative_to(ROOT / "src" / "iclcheck").parts[0] in ("theory", "numerics", "proofs"):
            continue  # the rooms, linked in: checked by test_the_moved_modules_import_no_alias_inside_iclcheck
        for n in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            mods = ([a.name for a in n.names] if isinstance(n, ast.Import) else
                    [n.module] if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module else [])
            imported |= {m for m in mods if m in old}
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = [set(o["module"]) for o in conf["tool"]["mypy"]["overrides"] if set(o["module"]) & old]
    assert listed == ([imported] if imported else []), (
        f"set the mypy override of the old paths in pyproject.toml to {sorted(imported)} (none: remove it)")
