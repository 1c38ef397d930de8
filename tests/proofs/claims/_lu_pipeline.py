"""The authors' finite-d pipeline of Lu et al. 2024 / Letey et al. 2025, written out in numpy for the tests (an
independent route: none of it is iclcheck's code): a task pool, n contexts of ell = d examples, the least-squares
fit of Gamma on the features H_Z, and its exact test error; and the 1/d extrapolation of finite-d means."""

import numpy as np

from iclcheck.theory.proportional import exact_error, task_moments_gaussian


def sphere_pool(rng: np.random.Generator, k: int, d: int) -> np.ndarray:
    """k tasks uniform on the sphere of radius sqrt(d) (Lu et al.'s pool)."""
    W = rng.standard_normal((k, d))
    W *= np.sqrt(d) / np.linalg.norm(W, axis=1, keepdims=True)
    return W


def gaussian_pool(rng: np.random.Generator, k: int, lam: np.ndarray) -> np.ndarray:
    """k tasks ~ N(0, diag(lam)) (Letey et al.'s anisotropic pretraining)."""
    return rng.standard_normal((k, lam.size)) * np.sqrt(lam)


def pipeline_error(rng: np.random.Generator, W: np.ndarray, n: int, rho: float, *, min_norm: bool = False) -> float:
    """Pool W (k, d), n contexts: fit Gamma (d, d+1) by least squares on H_Z (min_norm: the minimum-norm solution,
    valid on both sides of the interpolation threshold), then its exact test error at C_te = I."""
    d = W.shape[1]
    ell = d
    w = W[rng.integers(0, W.shape[0], size=n)]
    X = rng.standard_normal((n, ell + 1, d)) / np.sqrt(d)
    y = (X @ w[:, :, None])[:, :, 0] + np.sqrt(rho) * rng.standard_normal((n, ell + 1))
    u = (d / ell) * (X[:, :ell] * y[:, :ell, None]).sum(1)  # (n, d)
    s = (y[:, :ell] ** 2).mean(1, keepdims=True)  # (n, 1)
    H = (X[:, ell, :, None] * np.hstack([u, s])[:, None, :]).reshape(n, -1)  # (n, d(d+1))
    G = np.linalg.pinv(H) @ y[:, ell] if min_norm else np.linalg.solve(H.T @ H, H.T @ y[:, ell])
    return exact_error(G.reshape(d, d + 1), ell, rho, task_moments_gaussian(np.zeros(d), np.eye(d), rho))


def extrapolate(ds, values, ses) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of values = c0 + c1 / d (weights 1/se^2): (coefficients, their covariance)."""
    A = np.stack([np.ones(len(ds)), 1 / np.asarray(ds, float)], 1) / np.asarray(ses)[:, None]
    coef, *_ = np.linalg.lstsq(A, np.asarray(values) / np.asarray(ses), rcond=None)
    return coef, np.linalg.inv(A.T @ A)
