"""hwl2025.no_cot_lower_bound: the class optimum by an independent route, a least-squares fit of w* on h over sampled
prompts (the empirical Gamma* and its held-out error), and the weight-target optimum at a non-isotropic setting against
the closed form's own float route."""

import numpy as np

from iclcheck.numerics.dynamics.cot import weight_class_optimum
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.setting import Setting


def test_verdict(claim_result):
    res = claim_result("hwl2025.no_cot_lower_bound")
    assert res.verdict is Verdict.CONFIRMED


def test_regression_of_w_on_h_finds_gamma_star():
    rng = np.random.default_rng(11)
    d, n, m = 4, 9, 200_000
    X = rng.standard_normal((m, n, d))
    w = rng.standard_normal((m, d))
    h = np.einsum("mnd,mn->md", X, np.einsum("mnd,md->mn", X, w)) / n
    G = np.linalg.lstsq(h[: m // 2], w[: m // 2], rcond=None)[0].T  # w ~ G h
    assert np.allclose(G, n / (n + d + 1) * np.eye(d), atol=0.02)
    held = np.mean(np.sum((h[m // 2:] @ G.T - w[m // 2:]) ** 2, axis=1))
    assert abs(held - d * (d + 1) / (n + d + 1)) < 0.05


def test_non_isotropic_optimum_by_regression():
    rng = np.random.default_rng(12)
    S = np.diag([2.0, 0.5, 1.0])
    st = Setting.make(S, 6, Sigma_w=np.diag([1.0, 2.0, 0.5]), sigma2=0.3)
    G, val = weight_class_optimum(st)
    m = 200_000
    X = rng.standard_normal((m, 6, 3)) @ np.sqrt(S)
    w = rng.standard_normal((m, 3)) @ np.sqrt(np.diag([1.0, 2.0, 0.5]))
    y = np.einsum("mnd,md->mn", X, w) + np.sqrt(0.3) * rng.standard_normal((m, 6))
    h = np.einsum("mnd,mn->md", X, y) / 6
    Gh = np.linalg.lstsq(h, w, rcond=None)[0].T
    assert np.allclose(Gh, G, atol=0.03)
    assert abs(np.mean(np.sum((h @ G.T - w) ** 2, axis=1)) - val) < 0.03 * val
