"""gatmiry2024.looped_tied: the exact tied and untied losses against Monte Carlo of the literal forward pass
(numerics.model.lsa, tied and untied GD layers built here by hand), paired on the same prompts."""

import numpy as np

from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
from iclcheck.proofs.verdict import Verdict


def test_verdict_and_decided_candidate(claim_result):
    res = claim_result("gatmiry2024.looped_tied")
    assert res.verdict is Verdict.CONFIRMED
    step = next(s for s in res.steps if s.name.startswith("candidate 4"))
    assert all(0.38 <= c <= 2.0 for c in step.computed)
    assert "Candidate 4 decided" in res.finding


def _gd_params(d, coeffs):
    Ps = np.zeros((len(coeffs), d + 1, d + 1))
    Qs = np.zeros((len(coeffs), d + 1, d + 1))
    for l, a in enumerate(coeffs):
        Ps[l, d, d] = 1.0
        Qs[l, :d, :d] = -a * np.eye(d)
    return Ps, Qs


def test_tied_and_untied_losses_by_monte_carlo(claim_result):
    res = claim_result("gatmiry2024.looped_tied")
    finding = res.finding
    # the exact values the claim reports for L = 2 (d = 5, n = 20): tied a*, tied loss, untied loss
    a_tied = float(next(s for s in res.steps if s.name.startswith("a*(L)")).computed[1])
    tied_exact = float(finding.split("tied losses ")[1].split(",")[0])
    untied_exact = float(finding.split(" vs untied ")[1].split(",")[0])
    d, n, L = 5, 20, 2
    # untied optimum for L = 2 recomputed here: roots of the kernel polynomial from the Wishart moments
    # m_k = E tr S^k (k <= 4) of S = X^T X / n, X (n x d) iid N(0, 1) (Hermitian-free closed forms)
    m1 = d
    m2 = d * (d + n + 1) / n
    m3 = d * (n**2 + d**2 + 3 * n * d + 3 * n + 3 * d + 4) / n**2
    m4 = d * (n**3 + d**3 + 6 * n**2 * d + 6 * n * d**2 + 6 * n**2 + 6 * d**2 + 17 * n * d + 21 * n + 21 * d + 20) / n**3
    c = np.linalg.solve([[m2, m3], [m3, m4]], [-m1, -m2])  # p(x) = 1 + c1 x + c2 x^2
    a_untied = 1.0 / np.roots([c[1], c[0], 1.0]).real
    rng = np.random.default_rng(2410)
    tied, untied = [], []
    for _ in range(40):
        B = 5000
        X = rng.standard_normal((B, n, d))
        w = rng.standard_normal((B, d))
        xq = rng.standard_normal((B, d))
        Z0 = build_prompts(X, np.einsum("bnd,bd->bn", X, w), xq)
        yq = np.einsum("bd,bd->b", xq, w)
        P1, Q1 = _gd_params(d, [a_tied])
        tied.append((-forward(LSA(L=L, tied=True), Z0, P1, Q1)[:, d, n] - yq) ** 2)
        P2, Q2 = _gd_params(d, list(a_untied))
        untied.append((-forward(LSA(L=L), Z0, P2, Q2)[:, d, n] - yq) ** 2)
    t, u = np.concatenate(tied), np.concatenate(untied)
    for est, exact in ((t, tied_exact), (u, untied_exact)):
        assert abs(est.mean() - exact) <= 4.0 * est.std(ddof=1) / np.sqrt(est.size) + 1e-5, (est.mean(), exact)
    diff = t - u  # paired: the cost of tying is positive beyond noise
    assert diff.mean() > 4.0 * diff.std(ddof=1) / np.sqrt(diff.size)
