"""ahn2023.thm5: confirmed; the best multiple of I is re-estimated here by Monte Carlo least squares of the literal
ReLU forward pass (no closed form), and must contain the printed 2n/(2(d+2)+(n-1)) in its CI."""

import numpy as np

from iclcheck.numerics.model.forward import predict, sample_prompts
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.setting import Setting


def test_verdict(claim_result):
    res = claim_result("ahn2023.thm5")
    assert res.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in res.steps if s.status != "pass"]


def test_best_multiple_by_least_squares():
    d, n = 3, 5
    rng = np.random.default_rng(7)
    pr = sample_prompts(Setting.make(np.eye(d), n), 300_000, rng)
    P = np.diag([0.0] * d + [1.0])
    Q = np.zeros((d + 1, d + 1))
    Q[:d, :d] = -np.eye(d)
    m = predict(pr.Z0, [P], [Q], relu=True)  # (B,) prediction at a = 1: (1/n) sum y_i min(x_i^T x_q, 0)
    a_hat = (m @ pr.yq) / (m @ m)
    # delta method standard error of a ratio of means
    r = pr.yq - a_hat * m
    se = np.sqrt(np.mean((m * r) ** 2) / len(m)) / np.mean(m * m)
    printed = 2 * n / (2 * (d + 2) + (n - 1))
    assert abs(a_hat - printed) < 3.5 * se, (a_hat, printed, se)


def test_relu_prediction_by_hand():
    # P = c e e^T, Q = [[B, 0], [0, 0]]: TF = -(c/n) sum_i y_i ReLU(x_i^T B x_q), written out per prompt.
    from iclcheck.proofs.claims.ahn2023_thm5 import params, tf

    rng = np.random.default_rng(3)
    d, n = 3, 6
    pr = sample_prompts(Setting.make(np.eye(d), n), 50, rng)
    c, B = 0.7, rng.normal(size=(d, d))
    P, Q = params(c, B)
    by_hand = -(c / n) * np.einsum("bi,bi->b", pr.y, np.maximum(np.einsum("bid,de,be->bi", pr.X, B, pr.xq), 0.0))
    np.testing.assert_allclose(tf(pr.Z0, P, Q), by_hand, rtol=1e-12, atol=1e-12)
