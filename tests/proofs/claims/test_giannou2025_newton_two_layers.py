"""giannou2025.newton_two_layers: the constructed layers checked by an independent route, a plain numpy loop over
tokens (z_i + (1/c) sum_{keys j} P z_j (z_j^T Q z_i)) instead of numerics.model.lsa, and the Newton iterates against
numpy's inverse (they converge to S^{-1} quadratically)."""

import numpy as np

from iclcheck.numerics.families.restricted import newton_layers, newton_prompt
from iclcheck.proofs.verdict import Verdict


def token_loop(Z, Ps, Qs):
    c = Z.shape[1] - 1
    for l in range(Ps.shape[0]):
        new = Z.copy()
        for i in range(Z.shape[1]):
            for h in range(Ps.shape[1]):
                for j in range(c):  # the last column (query) is never a key
                    new[:, i] += Ps[l, h] @ Z[:, j] * (Z[:, j] @ Qs[l, h] @ Z[:, i]) / c
        Z = new
    return Z


def test_verdict(claim_result):
    res = claim_result("giannou2025.newton_two_layers")
    assert res.verdict is Verdict.CONFIRMED
    assert "fu2023.thm5_1" in res.finding


def test_newton_iterates_by_a_token_loop():
    rng = np.random.default_rng(2403)
    d, n = 3, 6
    X = rng.standard_normal((n, d))
    S = X.T @ X / n
    Ps, Qs = newton_layers(d, n)
    M = S / np.sum(S * S)  # alpha = 1/|S|_F^2 < 2/lambda_max^2
    errs = []
    for _ in range(24):
        ZL = token_loop(newton_prompt(X, M), Ps, Qs)
        M_next = ZL[d:2 * d, n:n + d]
        np.testing.assert_allclose(M_next, 2 * M - M @ S @ M, rtol=1e-10, atol=1e-12)
        M = M_next
        errs.append(np.linalg.norm(np.eye(d) - M @ S, 2))
    assert errs[-1] < 1e-10  # Newton converges to S^{-1}
    k = next(i for i, e in enumerate(errs) if e < 0.5)
    for a, b in zip(errs[k:-1], errs[k + 1:], strict=True):  # quadratic: e_{k+1} = e_k^2 (up to rounding)
        assert b <= a**2 * (1 + 1e-6) + 1e-14
