"""vonoswald2023b.ar_one_step: confirmed (two seeds); the exact d = 1 Isserlis moments against a hand derivation
(t = 1) and against a Monte Carlo of the sequences; the one-step predictor against an explicit loop."""

from fractions import Fraction

import numpy as np
import pytest

from iclcheck.numerics.autoregressive import gd_one_step, sample_ar
from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.autoregressive import ar1_cov, gaussian_moment, one_step_moments


@pytest.mark.parametrize("seed", [0, 2])
def test_confirmed(claim_result, seed):
    r = claim_result("vonoswald2023b.ar_one_step", seed=seed)
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_t1_moments_by_hand():
    # t = 1: y = s_2, g = s_1^2 s_0; w = 1: s_1 = s_0 + e_0, s_2 = s_1 + e_1, V1 = 1 + sigma2, Cov(s_0, s_1) = 1.
    # E[y g] = E[s_1^3 s_0] = 3 V1; E[g^2] = E[s_1^4 s_0^2] = 3 V1^2 + 12 V1; E[y^2] = 1 + 2 sigma2
    s2 = Fraction(1, 10)
    V1 = 1 + s2
    assert one_step_moments(1, ar1_cov(2, Fraction(1), s2)) == (1 + 2 * s2, 3 * V1, 3 * V1**2 + 12 * V1)


def test_isserlis_counts_pairings():
    C = ((Fraction(1),),)
    assert [gaussian_moment(C, (0,) * k) for k in (2, 4, 6, 8)] == [1, 3, 15, 105]  # (k-1)!!


@pytest.mark.parametrize("w", [Fraction(1), Fraction(-1), Fraction(4, 5)])
def test_exact_moments_against_monte_carlo(w):
    T, s2 = 5, Fraction(1, 10)
    C = ar1_cov(T + 1, w, s2)
    rng = np.random.default_rng(17)
    S, _ = sample_ar(200_000, T + 1, 1, rng, sigma2=float(s2), W=np.array([[float(w)]]))
    g = gd_one_step(S)[:, :, 0]  # (B, T+1)
    for t in (1, 3, T):
        a, b, c = one_step_moments(t, C)
        y = S[:, t + 1, 0]
        for vals, exact in ((y * y, a), (y * g[:, t], b), (g[:, t] ** 2, c)):
            est = estimate_from_values(vals, level=0.999)
            lo, hi = est.ci
            assert lo <= float(exact) <= hi, (t, float(exact), est.ci)


def test_gd_one_step_against_a_loop():
    rng = np.random.default_rng(1)
    S, _ = sample_ar(2, 6, 3, rng, sigma2=0.1, scale=0.9)
    P = gd_one_step(S, 0.3)
    for t in range(S.shape[1] - 1):
        A = np.zeros((3, 3))
        for u in range(t):
            A += np.outer(S[1, u + 1], S[1, u])
        np.testing.assert_allclose(P[1, t], 0.3 * A @ S[1, t], rtol=1e-12, atol=1e-14)
