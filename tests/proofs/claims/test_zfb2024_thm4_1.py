"""zfb2024.thm4_1: confirmed; their unmasked forward pass is recomputed here token by token with Python loops
(the definition f(E) = E + W^PV E (E^T W^KQ E)/N read literally) and compared with the claim's canonical route."""

import numpy as np

from iclcheck.numerics.model.forward import predict, sample_prompts
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.notation.zhang import to_canonical, zhang_solution
from iclcheck.theory.setting import Setting


def _their_prediction_loops(E, W_PV, W_KQ):
    d1, N1 = E.shape
    N = N1 - 1
    total = 0.0
    for i in range(N1):  # f(E)[d+1, N+1] = E[d+1,N+1] + (1/N) sum_i (W^PV E)[d+1, i] (E^T W^KQ E)[i, N+1]
        pv = sum(W_PV[d1 - 1, k] * E[k, i] for k in range(d1))
        kq = sum(E[k, i] * W_KQ[k, l] * E[l, N] for k in range(d1) for l in range(d1))
        total += pv * kq
    return E[d1 - 1, N] + total / N


def test_verdict_and_forward_pass_by_loops(claim_result):
    res = claim_result("zfb2024.thm4_1")
    assert res.verdict is Verdict.CONFIRMED
    rng = np.random.default_rng(0)
    Lam = np.diag([0.5, 1.0, 2.0])
    n = 6
    pr = sample_prompts(Setting.make(Lam, n), 5, rng)
    W_PV, W_KQ = zhang_solution(Lam, n)
    Gam = (1 + 1 / n) * Lam + np.trace(Lam) / n * np.eye(3)
    np.testing.assert_allclose(W_PV[3, 3] * W_KQ[:3, :3], np.linalg.inv(Gam), rtol=1e-14)
    P, Q = to_canonical(W_PV, W_KQ)
    ours = predict(pr.Z0, [P], [Q])
    theirs = [_their_prediction_loops(pr.Z0[b], W_PV, W_KQ) for b in range(5)]
    np.testing.assert_allclose(theirs, ours, atol=1e-12)
