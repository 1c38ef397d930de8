"""zhang2025.attnM.sigmoid: the recorded curve against a hand-written RK4 of the merged head (v, W) with the master
loss's gradient at Lambda = I written out here (dL/dGamma = 2 (m Gamma - I)), not numerics.dynamics.flow."""

import numpy as np

from iclcheck.proofs.claims.zhang2025_attnM_sigmoid import sigma_formula
from iclcheck.proofs.verdict import Verdict


def test_verdict(claim_result):
    res = claim_result("zhang2025.attnM.sigmoid")
    assert res.verdict is Verdict.CONFIRMED


def test_rk4_of_the_merged_head_follows_the_curve():
    D, N, a0 = 3, 12, 0.1
    m = 1 + (1 + D) / N

    def rhs(v, W):
        Gr = 2 * (m * (-v * W) - np.eye(D))  # dL/dGamma at Gamma = -v W
        return np.sum(Gr * W), v * Gr  # -dL/dv = sum Gr * W; -dL/dW = v Gr

    v, W = -np.sqrt(D) * a0, a0 * np.eye(D)
    h, out = 1e-3, {}
    for k in range(1, 2001):
        k1 = rhs(v, W)
        k2 = rhs(v + h / 2 * k1[0], W + h / 2 * k1[1])
        k3 = rhs(v + h / 2 * k2[0], W + h / 2 * k2[1])
        k4 = rhs(v + h * k3[0], W + h * k3[1])
        v = v + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        W = W + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        if k % 500 == 0:
            out[k * h] = -v * W[0, 0]
    t = np.array(sorted(out))
    assert np.allclose([out[x] for x in t], sigma_formula(t, D, N, 0.5, np.sqrt(D) * a0), atol=1e-8)
