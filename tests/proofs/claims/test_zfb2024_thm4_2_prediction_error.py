"""zfb2024.thm4_2.prediction_error: confirmed as recorded. Independent route: THEIR forward pass
(theory.notation.zhang.zhang_forward: unmasked, + sign, 1/M at test time) at their trained solution for length N,
run on test prompts of length M with a FIXED w and label noise (numpy draws here), against the theorem's right-hand
side computed in numpy from the printed formula (a = w, Sigma = Cov(xy) = (w^T L w + s2) L + L w w^T L)."""

import numpy as np

from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.notation.zhang import zhang_forward, zhang_solution


def _printed_rhs(lam, N, M, w, s2):
    L = np.diag(lam)
    G = (1 + 1 / N) * L + lam.sum() / N * np.eye(len(lam))
    G2 = np.linalg.inv(G) @ np.linalg.inv(G)
    Sig = (w @ L @ w + s2) * L + L @ np.outer(w, w) @ L
    t = lam.sum()
    q = w @ (G2 @ L @ L @ L + 2 * t * G2 @ L @ L + t * t * G2 @ L) @ w
    return s2 + np.trace(Sig @ G2 @ L) / M + q / N ** 2


def test_derived_example_by_their_forward_pass(claim_result):
    res = claim_result("zfb2024.thm4_2.prediction_error")
    assert res.verdict is Verdict.CONFIRMED and res.provenance == "3P+DERIVED"
    lam, N, M = np.array([2.0, 1.0, 0.5]), 10, 7
    w, s2 = np.array([0.7, -1.2, 0.4]), 0.3
    rhs = _printed_rhs(lam, N, M, w, s2)
    assert abs(rhs - 1.24734) < 1e-5  # NEXT-CLAIMS' printed value of the formula
    W_PV, W_KQ = zhang_solution(np.diag(lam), N)  # trained at length N
    rng = np.random.default_rng(7)
    vals = []
    for _ in range(10):
        x = rng.standard_normal((20_000, M + 1, 3)) * np.sqrt(lam)  # (B, M+1, d), test length M
        y = x @ w + np.sqrt(s2) * rng.standard_normal((20_000, M + 1))  # (B, M+1), noisy query too
        E = np.concatenate([x.transpose(0, 2, 1), y[:, None, :]], axis=1)  # (B, d+1, M+1)
        E[:, 3, M] = 0.0  # the query's label slot
        vals.append((zhang_forward(E, W_PV, W_KQ) - y[:, M]) ** 2)
    est = estimate_from_values(np.concatenate(vals))
    assert est.ci[0] <= rhs <= est.ci[1], est.describe()
    # power: the same formula with the training length in place of M (1/N normalisation at test time) is outside
    assert not est.ci[0] <= _printed_rhs(lam, N, N, w, s2) <= est.ci[1]
