"""Registry hygiene: every claim module is registered, cited, stated, mapped to the canonical notation and tested.

Adding a claim touches one module (proofs/claims/<paper><year>_<claim>.py defining CLAIM with key
'<paper><year>.<claim>') plus its test tests/proofs/claims/test_<module>.py; this file fails otherwise."""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import iclcheck.proofs.claims as pkg
from iclcheck.proofs.registry import Claim, all_claims, select
from iclcheck.theory.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(i.name for i in pkgutil.iter_modules(pkg.__path__) if not i.name.startswith("_"))
ARXIV = re.compile(r"arXiv:? ?\d{4}\.\d{4,5}")
LOCATOR = re.compile(r"\b(Thm|Theorem|Lemma|Prop|Proposition|Cor|Corollary|eq|Eq|Fig|Figure|Sec|Section|section|"
                     r"Appendix|appendix|Table|Algorithm|[A-Z]\.\d)")


def module_to_key(name: str) -> str:
    """ahn2023_thm1 -> ahn2023.thm1, zhang2024_thm4_1 -> zhang2024.thm4_1 (the first underscore is the dot)."""
    paper, _, claim = name.partition("_")
    return f"{paper}.{claim}"


def test_there_are_claims():
    assert len(MODULES) >= 8


@pytest.mark.parametrize("name", MODULES)
def test_module_defines_a_complete_claim(name):
    mod = importlib.import_module(f"iclcheck.proofs.claims.{name}")
    claim = getattr(mod, "CLAIM", None)
    assert isinstance(claim, Claim), f"proofs/claims/{name}.py defines no CLAIM = Claim(...)"
    assert claim.key == module_to_key(name), f"key {claim.key!r} does not match module {name!r}"
    assert re.fullmatch(r"[a-z]+\d{4}\.[a-z0-9_]+", claim.key), claim.key
    assert claim.title.strip() and len(claim.title) <= 60, "a few words for the table"
    assert ARXIV.search(claim.source), f"{claim.key}: source lacks the arXiv id: {claim.source!r}"
    assert LOCATOR.search(claim.source), f"{claim.key}: source lacks a theorem/equation/section locator"
    assert re.search(r"[A-Z][a-z]+", claim.source.split("]")[0]), f"{claim.key}: source lacks the authors"
    assert len(claim.statement.strip()) >= 20, f"{claim.key}: statement as printed is missing"
    assert len(claim.notation.strip()) >= 20, f"{claim.key}: notation map to the canonical model is missing"
    assert callable(claim.verify)


@pytest.mark.parametrize("name", MODULES)
def test_every_claim_module_has_a_test(name):
    path = ROOT / "tests" / "proofs" / "claims" / f"test_{name}.py"
    assert path.is_file(), f"claim module proofs/claims/{name}.py has no test {path.relative_to(ROOT)}"


def test_every_module_is_registered_and_keys_are_unique():
    claims = all_claims()
    assert sorted(claims) == sorted(module_to_key(m) for m in MODULES)
    assert len(set(claims)) == len(MODULES)


def test_select_by_key_prefix_and_unknown():
    keys = [c.key for c in select(["ahn2023"])]
    assert "ahn2023.thm1" in keys and all(k.startswith("ahn2023.") for k in keys)
    assert [c.key for c in select(["ahn2023.thm1"])] == ["ahn2023.thm1"]
    assert [c.key for c in select(["ahn2023.thm1", "ahn2023.thm1"])] == ["ahn2023.thm1"]
    with pytest.raises(InputError, match="no registered claim matches 'nosuch'"):
        select(["nosuch"])
