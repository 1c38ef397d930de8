"""The claim fu2023.illconditioned runs in the quick profile and every step carries its evidence."""

from iclcheck.proofs.claims.fu2023_illconditioned import CLAIM
from iclcheck.proofs.registry import Context


def test_fu2023_illconditioned_quick_profile():
    res = CLAIM.verify(Context(seed=0, profile="quick"))
    assert res.key == "fu2023.illconditioned" and res.steps
    assert all(s.detail for s in res.steps)
    assert res.verdict in ("confirmed", "refuted", "inconclusive")


def test_transformer_part_is_inconclusive():
    res = CLAIM.verify(Context(seed=0))
    assert res.verdict == "inconclusive"
    assert [s.status for s in res.steps] == ["pass", "inconclusive"]
