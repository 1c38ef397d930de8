"""softmaxlin2025.infinite_prompt: confirmed; the tilting limit by numerical quadrature (d = 2, scipy) and the
large-n softmax output of the literal forward pass (numerics.model.lsa) approaching it."""

import numpy as np
import pytest
from scipy import integrate

from iclcheck.numerics.attention.kernel_attention import predict
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("softmaxlin2025.infinite_prompt")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_tilting_by_quadrature():
    Sigma = np.array([[1.0, 0.4], [0.4, 0.7]])
    beta, a = np.array([0.6, -1.1]), np.array([0.5, 0.8])
    Si = np.linalg.inv(Sigma)

    def dens(x1, x2):
        x = np.array([x1, x2])
        return np.exp(-0.5 * x @ Si @ x + a @ x)

    num = integrate.dblquad(lambda x2, x1: (beta @ [x1, x2]) * dens(x1, x2), -9, 9, -9, 9, epsabs=1e-11)[0]
    den = integrate.dblquad(lambda x2, x1: dens(x1, x2), -9, 9, -9, 9, epsabs=1e-11)[0]
    assert num / den == pytest.approx(beta @ Sigma @ a, rel=1e-7)


def test_literal_softmax_head_approaches_the_limit():
    rng = np.random.default_rng(3)
    d, n = 2, 200_000
    W, beta, xq = np.array([[0.3, 0.1], [0.0, 0.4]]), np.array([1.0, -0.5]), np.array([0.7, 0.9])
    X = rng.standard_normal((1, n, d))
    y = X[0] @ beta
    Ps, Qs = np.zeros((1, d + 1, d + 1)), np.zeros((1, d + 1, d + 1))
    Ps[0, d, d], Qs[0, :d, :d] = -1.0, W  # read-out -[Z]: +sum_i p_i y_i
    out = predict("softmax", build_prompts(X[:, :2000], y[None, :2000], xq[None]), Ps, Qs)[0]
    a = W @ xq
    e = np.exp(X[0] @ a)
    big = float(e @ y / e.sum())  # the same head at n = 2e5 (scores only)
    assert abs(big - beta @ a) < 5 * 2.0 / np.sqrt(n)  # O(n^-1/2), constant below 2 here
    assert abs(out - beta @ a) < 5 * 2.0 / np.sqrt(2000)
