"""vonoswald2023.gdpp_gamma: each gamma step's deviation is |gamma* - published| (recomputed from its figures)."""


def test_gamma_steps_show_their_own_difference(claim_result):
    steps = [s for s in claim_result("vonoswald2023.gdpp_gamma").steps if s.name.startswith("gamma*")]
    assert len(steps) == 4
    for s in steps:
        assert abs(abs(s.computed - s.expected) - s.deviation) < 1e-15 and (s.status == "pass") == (s.deviation <= s.tolerance)
