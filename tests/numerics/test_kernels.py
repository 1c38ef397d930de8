"""numerics.attention.kernels: K_+ conventions, the GP sampler's covariance (Monte Carlo interval), GP posterior = kernel
ridge regression, the Bayes predictors against independent formulas (conditioning of the joint Gaussian)."""

import numpy as np
import pytest

from iclcheck.numerics.attention.kernels import (
    bayes_prior_mean,
    gp_posterior,
    kernel_matrix,
    kernel_regression,
    noise_mixture_bayes,
    psd_part,
    ridge_oracle,
    sample_gp_labels,
)
from iclcheck.theory.errors import InputError


def test_kernel_values_by_hand():
    U = np.array([[1.0, 2.0], [-1.0, 0.5]])
    assert kernel_matrix("linear", U)[0, 1] == pytest.approx(0.0)
    assert kernel_matrix("relu", U, scale=2.0)[0, 0] == pytest.approx(10.0)
    assert kernel_matrix("exp", U, scale=0.5)[1, 1] == pytest.approx(np.exp(0.625))
    with pytest.raises(InputError):
        kernel_matrix("rbf", U)


def test_psd_part_conventions():
    K = np.array([[0.0, 1.0], [1.0, 0.0]])  # eigenvalues -1, 1
    np.testing.assert_allclose(psd_part(K), np.eye(2), atol=1e-15)  # |lambda|: the identity
    np.testing.assert_allclose(psd_part(K, mode="clip"), 0.5 * np.ones((2, 2)), atol=1e-15)
    A = np.random.default_rng(0).standard_normal((4, 4))
    np.testing.assert_allclose(psd_part(A @ A.T), A @ A.T, atol=1e-12)


def test_gp_sampler_covariance_in_its_interval():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 2))
    Kp = psd_part(kernel_matrix("relu", X))
    y = sample_gp_labels(np.broadcast_to(kernel_matrix("relu", X), (200_000, 3, 3)), rng)  # (B, 3)
    prod = y[:, :, None] * y[:, None, :]  # (B, 3, 3)
    mean, se = prod.mean(0), prod.std(0, ddof=1) / np.sqrt(len(y))
    assert np.all(np.abs(mean - Kp) < 4.4 * se), (mean, Kp)  # 4.4 sigma: ~1e-5 per entry, 9 entries


def test_gp_posterior_is_kernel_ridge():
    rng = np.random.default_rng(2)
    X, xq, y = rng.standard_normal((4, 5, 3)), rng.standard_normal((4, 1, 3)), rng.standard_normal((4, 5))
    K, kq = kernel_matrix("exp", X, scale=1 / 3), kernel_matrix("exp", X, xq, scale=1 / 3)[..., 0]
    kqq = kernel_matrix("exp", xq, scale=1 / 3)[..., 0, 0]
    mean, var = gp_posterior(K, kq, kqq, y, noise=0.3)
    np.testing.assert_allclose(mean, kernel_regression(K, kq, y, ridge=0.3), rtol=1e-10)
    assert np.all(var > 0)
    # linear kernel, n < d: ridgeless kernel regression = minimum-norm interpolation x_q^T X^+ y
    Xl, xl = rng.standard_normal((3, 6)), rng.standard_normal(6)
    yl = rng.standard_normal(3)
    got = kernel_regression(kernel_matrix("linear", Xl), Xl @ xl, yl)
    assert got == pytest.approx(xl @ np.linalg.pinv(Xl) @ yl, rel=1e-10)


def test_prior_mean_bayes_by_conditioning():
    # E[w | y] = mu + Sigma_w X^T (X Sigma_w X^T + sigma2 I)^{-1} (y - X mu): the other side of Woodbury
    rng = np.random.default_rng(3)
    B, n, d, s2, v = 3, 4, 3, 0.2, 0.7
    X, y, xq, mu = rng.standard_normal((B, n, d)), rng.standard_normal((B, n)), rng.standard_normal((B, d)), \
        rng.standard_normal(d)
    want = [xq[b] @ (mu + v * X[b].T @ np.linalg.solve(v * X[b] @ X[b].T + s2 * np.eye(n), y[b] - X[b] @ mu))
            for b in range(B)]
    np.testing.assert_allclose(bayes_prior_mean(X, y, xq, mu, sigma2=s2, w_var=v), want, rtol=1e-10)


def test_noise_mixture_bayes():
    rng = np.random.default_rng(4)
    B, n, d = 4, 6, 3
    X, y, xq = rng.standard_normal((B, n, d)), rng.standard_normal((B, n)), rng.standard_normal((B, d))
    # one noise level: the ridge predictor with lambda = s^2 / w_var
    np.testing.assert_allclose(noise_mixture_bayes(X, y, xq, np.array([0.5]), np.array([1.0]), w_var=2.0),
                               ridge_oracle(X, y, xq, 0.25 / 2.0), rtol=1e-12)
    # two levels: a convex combination of the two ridge predictors, weights by the marginal likelihoods
    s, p = np.array([0.3, 2.0]), np.array([0.4, 0.6])
    got = noise_mixture_bayes(X, y, xq, s, p)
    logl = []
    for sk in s:
        C = X @ X.transpose(0, 2, 1) + sk**2 * np.eye(n)
        logl.append([-0.5 * (y[b] @ np.linalg.solve(C[b], y[b]) + np.linalg.slogdet(C[b])[1]) for b in range(B)])
    logl = np.array(logl).T + np.log(p)
    wts = np.exp(logl - logl.max(1, keepdims=True))
    wts /= wts.sum(1, keepdims=True)
    want = wts[:, 0] * ridge_oracle(X, y, xq, s[0] ** 2) + wts[:, 1] * ridge_oracle(X, y, xq, s[1] ** 2)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    with pytest.raises(InputError):
        noise_mixture_bayes(X, y, xq, np.array([-1.0]), np.array([1.0]))
