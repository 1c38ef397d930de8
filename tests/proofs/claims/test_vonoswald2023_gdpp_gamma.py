"""The claim vonoswald2023.gdpp_gamma runs in the quick profile and every step carries its evidence."""

from iclcheck.proofs.claims.vonoswald2023_gdpp_gamma import CLAIM
from iclcheck.proofs.registry import Context


def test_vonoswald2023_gdpp_gamma_quick_profile():
    res = CLAIM.verify(Context(seed=0, profile="quick"))
    assert res.key == "vonoswald2023.gdpp_gamma" and res.steps
    assert all(s.detail for s in res.steps)
    assert res.verdict in ("confirmed", "refuted", "inconclusive")
