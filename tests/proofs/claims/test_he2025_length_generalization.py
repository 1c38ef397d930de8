"""he2025.length_generalization: confirmed; the canonical (1/n') linear risk at n' = 80 by Monte Carlo of the literal
forward pass of numerics.model.lsa, and the folded-1/n risk by Monte Carlo of its explicit formula."""

import numpy as np
import sympy as sp

from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.softmax import one_step_gd_risk, one_step_gd_risk_at


def test_confirmed(claim_result):
    r = claim_result("he2025.length_generalization")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_linear_risks_at_a_longer_prompt_by_monte_carlo():
    rng = np.random.default_rng(2)
    d, n, n2, B = 5, 40, 80, 40_000
    v, s2 = sp.Rational(1, 5), sp.Rational(1, 10)
    g_p, _ = one_step_gd_risk(n, d, v, s2, s2)
    X = rng.standard_normal((B, n2, d))
    w = rng.standard_normal((B, d)) / np.sqrt(5)
    y = np.einsum("bnd,bd->bn", X, w) + rng.standard_normal((B, n2)) * np.sqrt(0.1)
    xq = rng.standard_normal((B, d))
    yq = np.einsum("bd,bd->b", xq, w) + rng.standard_normal(B) * np.sqrt(0.1)
    P, Q = np.zeros((1, d + 1, d + 1)), np.zeros((1, d + 1, d + 1))
    P[0, d, d], Q[0, :d, :d] = 1.0, -float(g_p) * np.eye(d)
    pred = -forward(LSA(L=1, reassociate=True), build_prompts(X, y, xq), P, Q)[:, d, n2]  # explicit 1/n'
    e = (pred - yq) ** 2
    want = float(one_step_gd_risk_at(g_p, n2, d, v, s2, s2))
    assert abs(e.mean() - want) < 3.29 * e.std(ddof=1) / np.sqrt(B)
    folded = float(g_p) / n * np.einsum("bd,bd->b", xq, np.einsum("bnd,bn->bd", X, y))  # 1/n kept from training
    e = (folded - yq) ** 2
    want = float(one_step_gd_risk_at(g_p * sp.Rational(n2, n), n2, d, v, s2, s2))
    assert abs(e.mean() - want) < 3.29 * e.std(ddof=1) / np.sqrt(B)
