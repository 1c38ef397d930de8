"""dss2025.linear_sa_ce_step: confirmed; the logistic gradient by central differences of the cross-entropy."""

import numpy as np

from iclcheck.numerics.classification import cross_entropy, logistic_gd_step, sample_classes
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("dss2025.linear_sa_ce_step")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_gd_step_by_central_differences():
    rng = np.random.default_rng(0)
    pr = sample_classes(rng, 1, 7, 3, 4)
    W0 = rng.standard_normal((1, 4, 3)) * 0.3

    def L(W):
        return float(cross_entropy(np.einsum("cd,nd->nc", W, pr.X[0]), pr.Y[0]).mean())

    h, g = 1e-6, np.zeros((4, 3))
    for idx in np.ndindex(4, 3):
        e = np.zeros((4, 3))
        e[idx] = h
        g[idx] = (L(W0[0] + e) - L(W0[0] - e)) / (2 * h)
    np.testing.assert_allclose(logistic_gd_step(pr.X, pr.Y, 0.5, W0)[0], W0[0] - 0.5 * g, atol=1e-8)
