"""ahn2023.thm3: the check runs, is registered, and confirms (quick profile, fixed seed)."""

from iclcheck.proofs.claims.ahn2023_thm3 import CLAIM
from iclcheck.proofs.registry import Context, all_claims


def test_registered():
    assert all_claims()["ahn2023.thm3"] is CLAIM
    assert "Thm 3" in CLAIM.source and "Sigma^-1" in CLAIM.statement


def test_confirmed_quick():
    res = CLAIM.run(Context(seed=0))
    assert res.verdict == "confirmed", [(s.name, s.status, s.detail) for s in res.steps if s.status != "pass"]
    names = " ".join(s.name for s in res.steps)
    assert "whitening" in names and "certified" in names and "MC full gradient" in names and "Wick" in names
    assert res.finding and "attained" in res.finding
