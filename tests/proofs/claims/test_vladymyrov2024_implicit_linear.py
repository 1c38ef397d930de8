"""vladymyrov2024.implicit_linear: confirmed (two seeds); the masked model is linear in x_q for random weights
(Hypothesis, through the literal forward pass: additivity and homogeneity, not second differences)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
from iclcheck.proofs.verdict import Verdict


@pytest.mark.parametrize("seed", [0, 4])
def test_confirmed(claim_result, seed):
    r = claim_result("vladymyrov2024.implicit_linear", seed=seed)
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), L=st.integers(1, 4), d=st.integers(1, 4), n=st.integers(1, 7))
def test_additive_and_homogeneous_in_the_query(seed, L, d, n):
    rng = np.random.default_rng(seed)
    Ps, Qs = rng.standard_normal((L, d + 1, d + 1)) * 0.4, rng.standard_normal((L, d + 1, d + 1)) * 0.4
    X, y = rng.standard_normal((1, n, d)), rng.standard_normal((1, n))
    a, b, c = rng.standard_normal((1, d)), rng.standard_normal((1, d)), float(rng.uniform(-3, 3))

    def f(xq):
        return -forward(LSA(L=L), build_prompts(X, y, xq), Ps, Qs)[0, d, n]

    scale = 1 + abs(f(a)) + abs(f(b)) + abs(f(a + c * b))
    assert abs(f(a + c * b) - f(a) - c * f(b)) < 1e-10 * scale
