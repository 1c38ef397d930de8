"""The claim fu2023.rates runs in the quick profile and every step carries its evidence."""

from iclcheck.proofs.claims.fu2023_rates import CLAIM
from iclcheck.proofs.registry import Context


def test_fu2023_rates_quick_profile():
    res = CLAIM.verify(Context(seed=0, profile="quick"))
    assert res.key == "fu2023.rates" and res.steps
    assert all(s.detail for s in res.steps)
    assert res.verdict in ("confirmed", "refuted", "inconclusive")


def test_printed_alpha_is_a_finding_and_code_alpha_passes():
    res = CLAIM.verify(Context(seed=1))
    by = {s.name: s.status for s in res.steps}
    assert by["iteration counts follow the predicted forms"] == "pass"
    assert by["printed alpha = 2/||S S^T||_2 converges"] == "fail" and res.finding
