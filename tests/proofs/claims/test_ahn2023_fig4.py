"""ahn2023.fig4: the published B_0, B_1 lie in the 5%-loss band of the restricted optimum; the order of ||A_i|| holds."""


def test_published_b_within_band_and_order(claim_result):
    by = {s.name: s for s in claim_result("ahn2023.fig4").steps}
    for i, pub in enumerate((0.9, 0.565)):
        s = by[f"b_{i}* vs published B_{i} ~ {pub} I"]
        assert s.status == "pass" and abs(s.computed - pub) == s.deviation <= s.tolerance
    assert by["||A_0|| <= ||A_1|| <= ||A_2|| at the optimum"].status == "pass"
