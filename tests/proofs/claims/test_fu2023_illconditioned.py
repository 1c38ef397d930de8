"""fu2023.illconditioned: the algorithmic step passes, the transformer step cannot be decided here."""


def test_transformer_part_is_inconclusive(claim_result):
    res = claim_result("fu2023.illconditioned")
    assert res.verdict == "inconclusive"
    assert [s.status for s in res.steps] == ["pass", "inconclusive"]
