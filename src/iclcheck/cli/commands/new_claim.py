"""``iclcheck new-claim KEY [--dir DIR] [--tests-dir DIR]``: write a claim module and its test from the template.

KEY is ``<paper><year>.<name>`` (lower-case paper tag, four-digit year, an optional lower-case letter for a second
paper of the same year (``vonoswald2023b``), then one or more parts of identifier characters), e.g.
``smith2024.thm2``; the module is ``<paper><year>_<name>.py`` (dots become underscores), a copy
of proofs/claims/_template.py with the key filled in, and the test ``test_<module>.py`` runs it (found as a
built-in claim, or loaded from its file as ``--claims`` would) and checks its decisive value by an independent
route. Existing files are never overwritten (exit 2). Load the result with ``iclcheck verify --claims DIR`` or
ship it as a plugin (docs/plugins.md).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from iclcheck.cli.main import COMMANDS
from iclcheck.numerics.limits import MAX_PATH_DEPTH
from iclcheck.theory.errors import InputError

__all__ = ["KEY_RE", "claim_module_name", "register", "run", "write_claim"]

# the registry's key rule (proofs/registry.py KEY_PATTERN, equal by a test), repeated here so that building the
# parser imports nothing heavy
KEY_RE = re.compile(r"[a-z]+[0-9]{4}[a-z]?(\.[A-Za-z_][A-Za-z0-9_]*)+", re.ASCII)
TEMPLATE_KEY = "template2023.eq7"

TEST_TEMPLATE = '''"""Tests of {key} (written by 'iclcheck new-claim {key}'): the claim runs, and its decisive value is checked by
an independent route (here: sympy minimisation of the d = 1 loss written from Gaussian moments, not the toolkit's
formula). Replace the route with your own when you change the claim."""

from pathlib import Path

import sympy as sp

from iclcheck.proofs.registry import Context, all_claims

KEY = "{key}"
CLAIM_FILE = Path(__file__).resolve().parent / {claim_rel!r}


def _claim():
    claims = all_claims()
    if KEY not in claims:  # not a built-in claim: load it from its file, as 'iclcheck verify --claims' does
        claims = all_claims(paths=[CLAIM_FILE])
    return claims[KEY]


def test_claim_is_confirmed_and_its_value_matches_an_independent_route():
    res = _claim().run(Context(seed=0, profile="quick"))
    assert res.verdict.value == "confirmed", res.finding
    # d = 1, Sigma = 1, w ~ N(0, 1): E(x_q g h - w x_q)^2 = g^2 (n+2)/n - 2 g + 1 (E x^4 = 3), minimised at n/(n+2)
    n, g = sp.symbols("n g", positive=True)
    g_star = sp.solve(sp.diff(g**2 * (n + 2) / n - 2 * g + 1, g), g)[0]
    step = next(s for s in res.steps if s.exact)
    assert sp.simplify(sp.Matrix(step.expected)[0, 0].subs(sp.Symbol("n", positive=True, integer=True), n)
                       - g_star) == 0
'''


def claim_module_name(key: str) -> str:
    """The module name of a claim key ('smith2024.thm2' -> 'smith2024_thm2'), after validating the key."""
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        shown = key if isinstance(key, str) and len(key) <= 60 else f"{str(key)[:60]}..."
        raise InputError("KEY", f"{shown!r} is not a claim key: expected <paper><year>.<name> with a lower-case paper "
                         "tag, a four-digit year (an optional letter after it: smith2024b) and identifier characters "
                         "(e.g. smith2024.thm2)")
    return key.replace(".", "_")


def _template_text() -> str:
    import iclcheck.proofs.claims as pkg

    return (Path(pkg.__path__[0]) / "_template.py").read_text(encoding="utf-8")


def _folder(path: str | Path, what: str) -> Path:
    """A folder argument, bounded before anything is created: at most MAX_PATH_DEPTH components."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip() or "\0" in str(path):
        raise InputError(what, f"needs a folder name, got {str(path)[:60]!r}")
    p = Path(path)
    if len(p.parts) > MAX_PATH_DEPTH:
        raise InputError(what, f"is {len(p.parts):,} folders deep; at most {MAX_PATH_DEPTH} are supported")
    return p


def _make_dirs(path: Path) -> None:
    """mkdir -p without recursion (Path.mkdir(parents=True) recurses once per missing level)."""
    missing = []
    p = path
    while not p.is_dir() and p != p.parent:
        missing.append(p)
        p = p.parent
    for q in reversed(missing):
        q.mkdir(exist_ok=True)


def write_claim(key: str, directory: str | Path = ".", tests_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``<module>.py`` (the template with ``key``) into ``directory`` and ``test_<module>.py`` into
    ``tests_dir`` (default: ``directory``); refuses to overwrite either. Returns both paths."""
    module = claim_module_name(key)
    directory = _folder(directory, "--dir")
    tests_dir = _folder(tests_dir, "--tests-dir") if tests_dir is not None else directory
    claim_path = directory / f"{module}.py"
    test_path = tests_dir / f"test_{module}.py"
    for p in (claim_path, test_path):
        if p.exists() or p.is_symlink():
            raise InputError("KEY", f"{str(p)!r} already exists; not overwritten (remove it or choose another key)")
    text = _template_text()
    if f'key="{TEMPLATE_KEY}"' not in text:  # pragma: no cover - the template ships with the toolkit
        raise RuntimeError("proofs/claims/_template.py no longer defines the template key")
    head = (f"# Written by 'iclcheck new-claim {key}' from proofs/claims/_template.py: replace the statement, source,\n"
            "# notation and verify() with your claim's (docs/plugins.md).\n")
    text = head + text.replace(f'key="{TEMPLATE_KEY}"', f'key="{key}"')
    try:
        _make_dirs(directory)
        _make_dirs(tests_dir)
        with open(claim_path, "x", encoding="utf-8") as f:  # "x": never overwrite, even in a race
            f.write(text)
        rel = os.path.relpath(claim_path.resolve(), test_path.parent.resolve())
        with open(test_path, "x", encoding="utf-8") as f:
            f.write(TEST_TEMPLATE.format(key=key, claim_rel=rel))
    except FileExistsError as exc:
        raise InputError("KEY", f"{exc.filename!r} already exists; not overwritten") from None
    except OSError as exc:
        raise InputError("--dir", f"cannot write {exc.filename!r}: {exc.strerror}") from None
    return claim_path, test_path


def run(args: argparse.Namespace) -> int:
    claim_path, test_path = write_claim(args.key, args.dir, args.tests_dir)
    print(f"wrote {claim_path} (the claim) and {test_path} (its test)")
    print(f"next: edit both, then 'iclcheck verify {args.key} --claims {claim_path}' and "
          f"'python -m pytest -q {test_path}'")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "new-claim",
        help=COMMANDS["new-claim"],
        description="Write <paper><year>_<name>.py from the claim template (proofs/claims/_template.py) with KEY "
        "filled in, and its test. Never overwrites.",
        epilog="examples:\n  iclcheck new-claim smith2024.thm2 --dir my_claims\n"
        "  iclcheck new-claim smith2024.thm2 --dir proofs/claims --tests-dir tests/proofs/claims\n"
        "then: iclcheck verify smith2024.thm2 --claims my_claims   (docs/plugins.md)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("key", metavar="KEY", help="the claim key, <paper><year>.<name> (e.g. smith2024.thm2)")
    p.add_argument("--dir", type=Path, default=Path("."),
                   help=f"folder of the claim module (default: .; created if missing, at most {MAX_PATH_DEPTH} levels)")
    p.add_argument("--tests-dir", type=Path, default=None, help="folder of its test (default: --dir)")
    p.set_defaults(func=run)
