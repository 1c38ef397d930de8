"""smk2024.order_sensitivity: confirmed; the causal mask's order dependence by hand (two context tokens, two layers:
the second layer sees the first token's causal state, which depends on which token comes first)."""

import numpy as np

from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("smk2024.order_sensitivity")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_one_causal_layer_is_still_invariant_two_are_not():
    # after one layer the query has attended to every context token (order-free); context states are prefix sums
    rng = np.random.default_rng(1)
    X, y, xq = rng.standard_normal((1, 4, 2)), rng.standard_normal((1, 4)), rng.standard_normal((1, 2))
    Ps, Qs = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 3))
    p = np.array([2, 0, 3, 1])
    one = [forward(LSA(L=1, mask="causal"), build_prompts(a, b, xq), Ps[:1], Qs[:1])[0, 2, 4]
           for a, b in ((X, y), (X[:, p], y[:, p]))]
    two = [forward(LSA(L=2, mask="causal"), build_prompts(a, b, xq), Ps, Qs)[0, 2, 4]
           for a, b in ((X, y), (X[:, p], y[:, p]))]
    assert abs(one[0] - one[1]) < 1e-12 * (1 + abs(one[0]))
    assert abs(two[0] - two[1]) > 1e-6
