"""cheng2024.kernel_limit_bayes: confirmed; for one fixed X the layer-L risk formula by Monte Carlo over labels only;
the posterior mean by gp_posterior (a linear solve); ReLU divergence along a negative eigenvalue by explicit iteration."""

import numpy as np

from iclcheck.numerics.attention.kernel_attention import functional_gd
from iclcheck.numerics.attention.kernels import (
    gp_posterior,
    kernel_matrix,
    kernel_regression,
    sphere_covariates,
)
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("cheng2024.kernel_limit_bayes")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]
    assert "indefinite" in r.finding


def test_layer_risk_for_one_prompt_by_label_monte_carlo():
    rng = np.random.default_rng(0)
    d, n, L, B = 4, 6, 2, 200_000
    X = sphere_covariates(rng, 1, n + 1, d)[0]
    K = kernel_matrix("exp", X, scale=1 / d)
    Lc = np.linalg.cholesky(K)
    Y = rng.standard_normal((B, n + 1)) @ Lc.T  # (B, n+1) ~ N(0, K)
    eta = n / np.linalg.eigvalsh(K[:n, :n]).max()
    f = functional_gd("exp", np.broadcast_to(X[:n], (B, n, d)), Y[:, :n], np.broadcast_to(X[n], (B, d)), [eta] * L,
                      b=np.sqrt(1 / d))
    Kc, k, kqq = K[:n, :n], K[:n, n], K[n, n]
    G = np.linalg.solve(Kc, np.eye(n) - np.linalg.matrix_power(np.eye(n) - eta * Kc / n, L))
    want = kqq - 2 * k @ G @ k + k @ G @ Kc @ G.T @ k
    e = (f - Y[:, n]) ** 2
    assert abs(e.mean() - want) < 3.29 * e.std(ddof=1) / np.sqrt(B)
    mean, var = gp_posterior(Kc, k, kqq, Y[:5, :n])
    np.testing.assert_allclose(mean, kernel_regression(Kc, k, Y[:5, :n]), rtol=1e-8)


def test_relu_functional_gd_diverges_on_an_indefinite_kernel():
    X = np.array([[-0.85, -0.51], [-0.01, -1.49], [0.3, -0.11], [-1.19, -2.4]])  # lambda_min ~ -0.05
    K = kernel_matrix("relu", X)
    lam, V = np.linalg.eigh(K)
    assert lam[0] < 0
    y = V[:, 0]  # along the negative eigenvector
    f = functional_gd("relu", X[None], y[None], np.array([[0.3, 0.5]]), [0.5] * 3000, path=True)[0]
    assert abs(f[-1]) > 1e3 * max(1.0, abs(f[10]))
