"""zfb2024.thm4_1.balanced_limit: confirmed as recorded (+1/4). Independent route: a hand-written RK4 gradient flow
of their loss (1/2) L(u U^T) in the variables (U, u), with the gradient of the canonical reduced loss taken here by
hand (dL/dGamma = 2 (S Gamma M - S S), S = Lambda, checked against central differences of
numerics.one_layer.closed_form.OneLayer.reduced_loss), not the recorded Lemma 5.2 formulas; from Assumption 3.3's
initialisation it ends at u = [tr Gamma^-2]^(+1/4), not at the -1/4 value."""

import numpy as np

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.setting import Setting


def test_rk4_gradient_flow_reaches_the_plus_quarter_limit(claim_result):
    res = claim_result("zfb2024.thm4_1.balanced_limit")
    assert res.verdict is Verdict.CONFIRMED and res.provenance == "3P+DERIVED"
    Lam, N, d = np.diag([2.0, 1.0, 0.5]), 10, 3
    one = OneLayer(Setting.make(Lam, N))
    M = one.M

    def grad_G(G):  # d/dGamma of tr(G^T S G M) - 2 tr(G^T S S) + tr S (S = Lambda, W = I)
        return 2 * (Lam @ G @ M - Lam @ Lam)

    rng = np.random.default_rng(8)
    G0 = rng.normal(size=(d, d))
    fd = np.zeros((d, d))
    for i in range(d):
        for j in range(d):
            E = np.zeros((d, d))
            E[i, j] = 1e-5
            fd[i, j] = (one.reduced_loss(G0 + E) - one.reduced_loss(G0 - E)) / 2e-5
    np.testing.assert_allclose(grad_G(G0), fd, rtol=1e-6, atol=1e-6)

    def flow(U, u):  # -grad of (1/2) L(u U^T) in (U, u)
        gG = grad_G(u * U.T) / 2  # (d, d)
        return -u * gG.T, -np.sum(gG * U.T)

    Th = rng.normal(size=(d, d))
    TT = Th @ Th.T
    TT /= np.linalg.norm(TT)
    sigma = 0.2
    U, u = sigma * TT, sigma
    dt = 0.01
    for _ in range(12_000):  # RK4 to t = 120
        k1 = flow(U, u)
        k2 = flow(U + dt / 2 * k1[0], u + dt / 2 * k1[1])
        k3 = flow(U + dt / 2 * k2[0], u + dt / 2 * k2[1])
        k4 = flow(U + dt * k3[0], u + dt * k3[1])
        U = U + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        u = u + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    Gam = (1 + 1 / N) * Lam + np.trace(Lam) / N * np.eye(d)
    tr2 = np.trace(np.linalg.inv(Gam) @ np.linalg.inv(Gam))
    assert abs(u - tr2 ** 0.25) < 1e-7 and abs(u - tr2 ** -0.25) > 0.2
    np.testing.assert_allclose(u * U, np.linalg.inv(Gam), atol=1e-7)
    assert abs(np.sum(U * U) - u * u) < 1e-8  # balancedness kept by the independent integrator
