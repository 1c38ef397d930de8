"""ahn2023.thm4: registered and confirmed in the quick profile (fixed seed)."""

from iclcheck.proofs.claims.ahn2023_thm4 import CLAIM
from iclcheck.proofs.registry import Context, all_claims


def test_registered():
    assert all_claims()["ahn2023.thm4"] is CLAIM


def test_confirmed_quick():
    res = CLAIM.run(Context(seed=0))
    assert res.verdict == "confirmed", [(s.name, s.detail) for s in res.steps if s.status != "pass"]
    names = " ".join(s.name for s in res.steps)
    assert "B_{L-1}" in names and "whitening" in names and "critical point" in names
