"""mahankali2023.thm2: confirmed (Gaussian); the non-Gaussian extension's eta' = n/(n+d+1+sigma^2+kappa-3) is
re-estimated here by Monte Carlo least squares for Rademacher covariates (kappa = 1) - an independent route."""

import numpy as np

from iclcheck.numerics.model.forward import sample_prompts
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.setting import Setting


def test_verdict_and_note(claim_result):
    res = claim_result("mahankali2023.thm2")
    assert res.verdict is Verdict.CONFIRMED
    assert "kappa" in res.finding and "not a refutation" in res.finding


def test_non_gaussian_eta_by_least_squares():
    d, n, s2 = 2, 3, 0.0
    S = np.diag([0.5, 2.0])
    st = Setting.make(S, n, Sigma_w="inv", sigma2=s2, covariates="rademacher")
    pr = sample_prompts(st, 400_000, np.random.default_rng(11))
    f = np.einsum("bnd,bn,de,be->b", pr.X, pr.y, np.linalg.inv(S), pr.xq) / n  # (B,) h^T Sigma^-1 x_q
    eta = (f @ pr.yq) / (f @ f)
    r = pr.yq - eta * f
    se = np.sqrt(np.mean((f * r) ** 2) / len(f)) / np.mean(f * f)
    kappa = 1.0
    assert abs(eta - n / (n + d + 1 + s2 + kappa - 3)) < 3.5 * se
    assert abs(eta - n / (n + d + 1 + s2)) > 3.5 * se  # the Gaussian eta is visibly wrong here
