"""zfb2024.thm4_1.flow: an independent integration of the same full flow (hand-written RK4 on the exact gradient of
numerics.one_layer.derivatives, fixed step) reaches the balanced split u = [tr Gamma^-2]^(1/4), U = [tr Gamma^-2]^(-1/4) Gamma^-1
(closed form), and leaves the other entries at 0."""

import numpy as np

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import loss_and_grad
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.notation.zhang import zhang_gamma
from iclcheck.theory.setting import Setting


def test_verdict(claim_result):
    res = claim_result("zfb2024.thm4_1.flow")
    assert res.verdict is Verdict.CONFIRMED


def test_rk4_reaches_the_balanced_split():
    Lam, N, sigma, d = np.diag([2.0, 1.0, 0.5]), 10, 0.05, 3
    ol = OneLayer(Setting.make(Lam, N))
    rng = np.random.default_rng(3)
    Th = rng.normal(size=(d, d))
    TT = Th @ Th.T
    TT /= np.linalg.norm(TT)
    P, Q = np.zeros((d + 1, d + 1)), np.zeros((d + 1, d + 1))
    P[d, d], Q[:d, :d] = sigma, -sigma * TT

    def g(P, Q):
        _, dP, dQ = loss_and_grad(ol, P, Q)
        return -0.5 * dP, -0.5 * dQ  # the flow of (1/2) x the canonical loss

    h = 0.05
    for _ in range(1600):  # t = 80
        k1 = g(P, Q)
        k2 = g(P + h / 2 * k1[0], Q + h / 2 * k1[1])
        k3 = g(P + h / 2 * k2[0], Q + h / 2 * k2[1])
        k4 = g(P + h * k3[0], Q + h * k3[1])
        P = P + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        Q = Q + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    Gi = np.linalg.inv(zhang_gamma(Lam, N))
    t2 = float(np.trace(Gi @ Gi))
    assert abs(P[d, d] - t2**0.25) < 1e-6
    assert np.allclose(-Q[:d, :d], t2**-0.25 * Gi, atol=1e-6)
    mask = np.ones((d + 1, d + 1), bool)
    mask[d, d] = False
    assert np.max(np.abs(P[mask])) < 1e-12
