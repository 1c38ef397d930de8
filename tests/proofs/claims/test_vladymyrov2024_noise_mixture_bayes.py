"""vladymyrov2024.noise_mixture_bayes: confirmed; the mixture's posterior weights against a direct Bayes computation
on a two-point prompt (n = 1, d = 1, by hand), and the mixture tends to the oracle when one level dominates."""

import numpy as np
import pytest

from iclcheck.numerics.attention.kernels import noise_mixture_bayes, ridge_oracle
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("vladymyrov2024.noise_mixture_bayes")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_one_example_by_hand():
    # n = d = 1: y ~ N(0, x^2 + s^2) under level s; posterior mean of w given s is x y / (x^2 + s^2)
    x, y, xq = 1.5, 0.8, 2.0
    s, p = np.array([0.5, 2.0]), np.array([0.3, 0.7])
    like = p * np.exp(-0.5 * y**2 / (x**2 + s**2)) / np.sqrt(x**2 + s**2)
    want = xq * np.sum(like / like.sum() * x * y / (x**2 + s**2))
    got = noise_mixture_bayes(np.array([[[x]]]), np.array([[y]]), np.array([[xq]]), s, p)[0]
    assert got == pytest.approx(want, rel=1e-12)


def test_dominant_level_gives_the_oracle():
    rng = np.random.default_rng(0)
    X, y, xq = rng.standard_normal((5, 6, 3)), rng.standard_normal((5, 6)), rng.standard_normal((5, 3))
    got = noise_mixture_bayes(X, y, xq, np.array([0.5, 2.0]), np.array([1.0, 1e-300]))
    np.testing.assert_allclose(got, ridge_oracle(X, y, xq, 0.25), rtol=1e-10)
