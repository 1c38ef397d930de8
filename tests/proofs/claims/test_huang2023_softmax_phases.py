"""huang2023.softmax_phases: confirmed; the flow's ordering by an explicit Euler integration of the full gradient flow
(all coordinates together, no quadrature)."""

import numpy as np

from iclcheck.numerics.attention import softmax_discrete as sd
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("huang2023.softmax_phases")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_euler_flow_learns_the_dominant_feature_first():
    p, n = np.array([0.6, 0.2, 0.1, 0.1]), 10
    q, dt, seen = np.zeros(4), 0.05, {}
    half = [(sd.feature_loss(0, p, n, k) + sd.feature_loss(40, p, n, k)) / 2 for k in range(4)]
    for step in range(4000):
        g = np.array([p[k] * sd.feature_loss_grad(q[k], p, n, k) for k in range(4)])  # dL/dq_k
        q -= dt * g
        for k in range(4):
            if k not in seen and sd.feature_loss(q[k], p, n, k) <= half[k]:
                seen[k] = step * dt
    assert seen[0] < seen[1] < seen[2]
