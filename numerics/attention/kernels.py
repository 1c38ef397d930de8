"""Kernel and Bayes baselines for non-linear in-context regression: dot-product kernels, kernel (ridge / ridgeless)
regression, the Gaussian-process posterior, a GP label sampler, and two Bayes predictors of linear regression under
non-Gaussian-centred priors (a mixture over noise levels, Vladymyrov et al. 2024; a prior mean, Xie et al. 2025).

Kernels act on rows: ``kernel_matrix(kind, U, W)[i, j] = h(u_i, w_j)`` with, for ``scale`` s,

    linear  h(u, w) = s <u, w>          relu  h(u, w) = max(0, s <u, w>)          exp  h(u, w) = exp(s <u, w>)

(Cheng, Chen, Sra 2024 use s = 1 for linear / ReLU and s = 1/d for exp). The ReLU kernel is not positive
semi-definite; Cheng et al.'s released code (as restated by the re-implementation cited in notes/WAVE3-CLAIMS.md
section 2) samples labels from N(0, K_+) with K_+ = K with its eigenvalues replaced by their absolute values:
``psd_part(K, mode="abs")`` is that convention (``mode="clip"``: negative eigenvalues set to 0, the nearest PSD
matrix in Frobenius norm, offered for comparison). ``sample_gp_labels`` states which it used.

All functions take a batch axis first (B, ...) where it is marked; the kernel ridge solution uses an eigen-
decomposition of the symmetric K (ridgeless: the pseudo-inverse on eigenvalues above ``rcond`` times the largest).
"""

from __future__ import annotations

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = ["KERNELS", "bayes_prior_mean", "gp_posterior", "kernel_matrix", "kernel_regression",
           "noise_mixture_bayes", "psd_part", "ridge_oracle", "ridge_weights", "sample_gp_labels", "sphere_covariates"]

KERNELS = ("linear", "relu", "exp")


def _kind(kind: str) -> str:
    if kind not in KERNELS:
        raise InputError("kernel", f"unknown kernel {kind!r}; choose one of {', '.join(KERNELS)}")
    return kind


def kernel_matrix(kind: str, U: np.ndarray, W: np.ndarray | None = None, *, scale: float = 1.0) -> np.ndarray:
    """h(u_i, w_j) for rows of U (..., m, d) and W (..., k, d) (W = U by default): (..., m, k)."""
    _kind(kind)
    U = np.asarray(U, float)
    W = U if W is None else np.asarray(W, float)
    G = scale * (U @ np.swapaxes(W, -1, -2))  # (..., m, k) scaled inner products
    if kind == "linear":
        return G
    if kind == "relu":
        return np.maximum(G, 0.0)
    return np.exp(G)


def psd_part(K: np.ndarray, *, mode: str = "abs") -> np.ndarray:
    """K_+ of a symmetric K (..., n, n): eigenvalues replaced by |lambda| (``"abs"``, Cheng et al.'s code) or by
    max(lambda, 0) (``"clip"``)."""
    if mode not in ("abs", "clip"):
        raise InputError("mode", f"must be 'abs' or 'clip', got {mode!r}")
    K = np.asarray(K, float)
    lam, V = np.linalg.eigh((K + np.swapaxes(K, -1, -2)) / 2)  # (..., n), (..., n, n)
    lam = np.abs(lam) if mode == "abs" else np.maximum(lam, 0.0)
    return (V * lam[..., None, :]) @ np.swapaxes(V, -1, -2)


def sample_gp_labels(K: np.ndarray, rng: np.random.Generator, *, mode: str = "abs", jitter: float = 1e-12
                     ) -> np.ndarray:
    """y ~ N(0, K_+) for each symmetric K (..., m, m) of a batch (``psd_part`` convention ``mode``): (..., m).
    y = C z with C the Cholesky factor of K_+ + jitter * mean(diag K_+) I (unique, so the draws do not depend on
    the LAPACK build the way eigenvector signs do; the jitter only guards singular K_+)."""
    Kp = psd_part(K, mode=mode)
    m = Kp.shape[-1]
    scale = np.trace(Kp, axis1=-2, axis2=-1)[..., None, None] / m
    C = np.linalg.cholesky(Kp + jitter * scale * np.eye(m))
    z = rng.standard_normal(Kp.shape[:-1])  # (..., m)
    return np.einsum("...ij,...j->...i", C, z)


def kernel_regression(K: np.ndarray, kq: np.ndarray, y: np.ndarray, *, ridge: float = 0.0,
                      rcond: float = 1e-12) -> np.ndarray:
    """k_q^T (K + ridge I)^{-1} y for K (..., n, n) symmetric, kq (..., n) = h(x_i, x_q), y (..., n): (...,).
    ridge = 0: ridgeless (pseudo-inverse; eigenvalues below rcond * max |lambda| dropped)."""
    if not (np.isfinite(ridge) and ridge >= 0):
        raise InputError("ridge", f"must be a finite number >= 0, got {ridge!r}")
    K = np.asarray(K, float)
    lam, V = np.linalg.eigh((K + np.swapaxes(K, -1, -2)) / 2)  # (..., n)
    lam = lam + ridge
    cut = rcond * np.max(np.abs(lam), axis=-1, keepdims=True)
    inv = np.where(np.abs(lam) > cut, 1.0 / np.where(np.abs(lam) > cut, lam, 1.0), 0.0)  # (..., n)
    a = np.einsum("...ji,...j->...i", V, np.asarray(kq, float))  # V^T kq
    b = np.einsum("...ji,...j->...i", V, np.asarray(y, float))  # V^T y
    return np.sum(a * inv * b, axis=-1)


def gp_posterior(K: np.ndarray, kq: np.ndarray, kqq: np.ndarray, y: np.ndarray, *, noise: float = 0.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """GP posterior mean and variance at the query: k^T (K + noise I)^{-1} y and k_qq - k^T (K + noise I)^{-1} k
    (noise = 0: the noiseless posterior, K must be non-singular)."""
    K = np.asarray(K, float)
    n = K.shape[-1]
    A = K + noise * np.eye(n)
    y, kq = np.broadcast_arrays(np.asarray(y, float), np.asarray(kq, float))
    A = np.broadcast_to(A, y.shape[:-1] + A.shape[-2:])
    sol = np.linalg.solve(A, np.stack([y, kq], axis=-1))  # (..., n, 2)
    mean = np.sum(kq * sol[..., 0], axis=-1)
    var = np.asarray(kqq, float) - np.sum(kq * sol[..., 1], axis=-1)
    return mean, var


def ridge_weights(X: np.ndarray, y: np.ndarray, lam) -> np.ndarray:
    """(X^T X + lam I)^{-1} X^T y per prompt (X (B, n, d), y (B, n), lam scalar or (B,)): (B, d)."""
    X = np.asarray(X, float)
    d = X.shape[-1]
    lam = np.broadcast_to(np.asarray(lam, float), X.shape[:-2])
    A = np.swapaxes(X, -1, -2) @ X + lam[..., None, None] * np.eye(d)  # (B, d, d)
    return np.linalg.solve(A, np.einsum("bnd,bn->bd", X, y)[..., None])[..., 0]  # (B, d)


def ridge_oracle(X: np.ndarray, y: np.ndarray, xq: np.ndarray, lam) -> np.ndarray:
    """x_q^T (X^T X + lam I)^{-1} X^T y per prompt (X (B, n, d), y (B, n), xq (B, d), lam scalar or (B,))."""
    return np.einsum("bd,bd->b", xq, ridge_weights(X, y, lam))


def noise_mixture_bayes(X: np.ndarray, y: np.ndarray, xq: np.ndarray | None, noise_sd: np.ndarray,
                        prior: np.ndarray, *, w_var: float = 1.0) -> np.ndarray:
    """The Bayes predictor (posterior mean of w^T x_q) when w ~ N(0, w_var I) and the noise sd s is drawn from the
    discrete law ``prior`` on ``noise_sd`` (a quadrature of a continuous law): the ridge predictors
    x_q^T (X^T X + (s^2 / w_var) I)^{-1} X^T y mixed with posterior weights prop. to prior(s) N(y; 0, w_var X X^T
    + s^2 I) (Vladymyrov et al. 2024's noise-level mixture). X (B, n, d), y (B, n), xq (B, d) -> (B,); with
    xq None the posterior mean of w itself, (B, d)."""
    X, y = np.asarray(X, float), np.asarray(y, float)
    s = np.asarray(noise_sd, float)
    p = np.asarray(prior, float)
    if s.ndim != 1 or p.shape != s.shape or np.any(s <= 0) or np.any(p < 0) or not p.sum() > 0:
        raise InputError("noise_sd", "noise levels must be positive with non-negative prior weights of the same size")
    n = X.shape[-2]
    G = w_var * X @ np.swapaxes(X, -1, -2)  # (B, n, n)
    logws, preds = [], []
    for sk, pk in zip(s, p, strict=True):
        C = G + sk**2 * np.eye(n)  # (B, n, n) the marginal covariance of y
        Lc = np.linalg.cholesky(C)
        z = np.linalg.solve(Lc, y[..., None])[..., 0]  # (B, n)
        logdet = 2 * np.sum(np.log(np.diagonal(Lc, axis1=-2, axis2=-1)), axis=-1)
        logws.append(np.log(pk) - 0.5 * (np.sum(z * z, axis=-1) + logdet) if pk > 0 else np.full(len(y), -np.inf))
        preds.append(ridge_weights(X, y, sk**2 / w_var))  # (B, d)
    logw = np.stack(logws, axis=-1)  # (B, K)
    wts = np.exp(logw - logw.max(axis=-1, keepdims=True))
    wts /= wts.sum(axis=-1, keepdims=True)
    w_mean = np.sum(wts[:, None, :] * np.stack(preds, axis=-1), axis=-1)  # (B, d)
    return w_mean if xq is None else np.einsum("bd,bd->b", xq, w_mean)


def bayes_prior_mean(X: np.ndarray, y: np.ndarray, xq: np.ndarray, mu: np.ndarray, *, sigma2: float,
                     w_var: float = 1.0) -> np.ndarray:
    """Posterior mean of w^T x_q for w ~ N(mu, w_var I), y = X w + N(0, sigma2): x_q^T (mu + (X^T X +
    (sigma2 / w_var) I)^{-1} X^T (y - X mu)) (Xie et al. 2025's prior mean). X (B, n, d), mu (d,) or (B, d)."""
    X = np.asarray(X, float)
    mu = np.broadcast_to(np.asarray(mu, float), X.shape[:-2] + X.shape[-1:])
    r = np.asarray(y, float) - np.einsum("bnd,bd->bn", X, mu)
    return np.einsum("bd,bd->b", xq, mu) + ridge_oracle(X, r, xq, sigma2 / w_var)


def sphere_covariates(rng: np.random.Generator, B: int, m: int, d: int, *, top: float = 1.0,
                      rest: float = 0.1) -> np.ndarray:
    """Cheng, Chen, Sra 2024's covariates (App. D as restated): x = Sigma^{1/2} xi, xi uniform on S^{d-1}, Sigma =
    U^T diag(top, rest, ..., rest) U with U Haar (one per prompt). (B, m, d)."""
    xi = rng.standard_normal((B, m, d))
    xi /= np.linalg.norm(xi, axis=-1, keepdims=True)
    G = rng.standard_normal((B, d, d))
    U, R = np.linalg.qr(G)
    U = U * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[:, None, :]  # Haar (sign-fixed QR)
    D = np.full(d, np.sqrt(rest))
    D[0] = np.sqrt(top)
    half = np.swapaxes(U, -1, -2) @ (D[:, None] * U)  # (B, d, d) Sigma^{1/2} = U^T D^{1/2} U
    return xi @ half  # rows x = Sigma^{1/2} xi (half symmetric)
