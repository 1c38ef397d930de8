"""zhang2025.attnS.plateau_losses: the printed plateau values against an independent route, Monte Carlo of the
literal forward pass (numerics.model.lsa) with separate-K/Q heads built here by hand along the top-m eigenvectors."""

import numpy as np
import pytest

from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
from iclcheck.proofs.verdict import Verdict

LAM = np.array([0.4, 0.3, 0.2, 0.1])
N = 31


def printed(m):
    tr = LAM.sum()
    return tr - sum(lam / (1 + (1 + tr / lam) / N) for lam in LAM[:m])


def test_verdict(claim_result):
    res = claim_result("zhang2025.attnS.plateau_losses")
    assert res.verdict is Verdict.CONFIRMED
    assert res.provenance == "3P+READ-code+DERIVED"


@pytest.mark.parametrize("m", [1, 2, 4])
def test_plateau_loss_by_monte_carlo_of_the_forward_pass(m):
    rng = np.random.default_rng(2025 + m)
    D = LAM.size
    U = np.linalg.qr(rng.standard_normal((D, D)))[0]
    Sigma = U @ np.diag(LAM) @ U.T
    # per-direction optimum of E (x_q^T Gamma h - x_q^T w)^2: g = lam / ((N+1)/N lam^2 + tr(Lam) lam / N)
    g = LAM / ((N + 1) / N * LAM**2 + LAM.sum() * LAM / N)
    H = m  # one rank-1 head per learned eigenvector: value -c, key = query = c u_i, c^3 = g_i
    Ps = np.zeros((1, H, D + 1, D + 1))
    Qs = np.zeros((1, H, D + 1, D + 1))
    for i in range(m):
        c = np.cbrt(g[i])
        Ps[0, i, D, D] = -c
        Qs[0, i, :D, :D] = np.outer(c * U[:, i], c * U[:, i])
    Lc = np.linalg.cholesky(Sigma)
    errs = []
    for _ in range(20):
        B = 5000
        X = rng.standard_normal((B, N, D)) @ Lc.T
        xq = rng.standard_normal((B, D)) @ Lc.T
        w = rng.standard_normal((B, D))
        y = np.einsum("bnd,bd->bn", X, w)
        ZL = forward(LSA(L=1), build_prompts(X, y, xq), Ps, Qs)
        errs.append((-ZL[:, D, N] - np.einsum("bd,bd->b", xq, w)) ** 2)
    e = np.concatenate(errs)
    half = 4.0 * e.std(ddof=1) / np.sqrt(e.size)  # |z| <= 4 (3 cases: family-wise error < 2e-4)
    assert abs(e.mean() - printed(m)) <= half, (e.mean(), printed(m), half)
