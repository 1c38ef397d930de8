"""The claim ahn2023.fig4 runs in the quick profile and every step carries its evidence."""

from iclcheck.proofs.claims.ahn2023_fig4 import CLAIM
from iclcheck.proofs.registry import Context


def test_ahn2023_fig4_quick_profile():
    res = CLAIM.verify(Context(seed=0, profile="quick"))
    assert res.key == "ahn2023.fig4" and res.steps
    assert all(s.detail for s in res.steps)
    assert res.verdict in ("confirmed", "refuted", "inconclusive")
