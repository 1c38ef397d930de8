"""Exact spectral quadrature for the restricted L-layer families (whitened frame of ``theory.multilayer``).

The family losses are E tr p(S)^2 (+ a noise term) for a polynomial filter p, S = (1/n) X^T X with X (n x d)
iid N(0, 1). Everything here is built from the exact integer Wishart moments m_k = E tr S^k
(``theory.sample_moments``): the float moments, the Gauss quadrature of the expected spectral measure
(Golub-Welsch in high precision) and the quadratic-form matrix of the monomial basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError
from iclcheck.theory.sample_moments import wishart_moments
from iclcheck.theory.setting import Setting

__all__ = ["FamilyProblem", "float_moments", "problem_from", "spectral_quadrature"]


@lru_cache(maxsize=64)
def _moments_cached(K: int, n: int, d: int) -> tuple[float, ...]:
    W = wishart_moments(K, n=n, d=d)  # exact ints
    return tuple(float(w) / float(n) ** k for k, w in enumerate(W))  # E tr(S^k)


def float_moments(K: int, *, n: int, d: int) -> np.ndarray:
    """[E tr(S^k)]_{k=0..K} as floats (from the exact integer Wishart moments)."""
    return np.array(_moments_cached(int(K), int(n), int(d)))


@dataclass(frozen=True)
class FamilyProblem:
    """The whitened problem: dimension d, context length n, noise sigma2; ``Sigma`` only for display
    and for mapping coefficients back to full matrices (A_l = a_l Sigma^{-1})."""

    d: int
    n: int
    sigma2: float = 0.0
    Sigma: np.ndarray | None = None

    @property
    def isotropic(self) -> bool:
        return self.Sigma is None or bool(np.allclose(self.Sigma, np.eye(self.d), atol=1e-14))


def problem_from(spec: Any, *, sigma2: float | None = None) -> FamilyProblem:
    """A Setting (Gaussian, w ~ N(0, Sigma^{-1}) or Sigma = Sigma_w = I), or a tuple (d, n[, sigma2])."""
    if isinstance(spec, FamilyProblem):
        return spec
    if isinstance(spec, Setting):
        if spec.n_is_symbolic:
            raise InputError("n", "the multi-layer optimum needs a numeric n")
        if not spec.gaussian:
            raise InputError("covariates", f"the exact multi-layer losses are for Gaussian data, got {spec.covariates}")
        iso = np.allclose(spec.Sigma, np.eye(spec.d), atol=1e-14) and np.allclose(spec.Sigma_w, np.eye(spec.d))
        if spec.task_cov_kind != "inverse" and not iso:
            raise InputError(
                "task prior", "the family A_i = a_i Sigma^-1 reduces exactly to Sigma = I only for "
                "w ~ N(0, Sigma^-1) (Ahn et al. Thm 3/4) or Sigma = Sigma_w = I; use the inverse prior")
        s2 = spec.sigma2 if sigma2 is None else float(sigma2)
        return FamilyProblem(d=spec.d, n=int(spec.n), sigma2=float(s2), Sigma=spec.Sigma.copy())
    try:
        vals = tuple(spec)
    except TypeError:
        raise InputError("problem", f"expected a Setting or a tuple (d, n[, sigma2]), got {spec!r}") from None
    if len(vals) not in (2, 3):
        raise InputError("problem", f"expected (d, n) or (d, n, sigma2), got {len(vals)} values")
    d, n = vals[0], vals[1]
    for what, v in (("d", d), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(what, f"must be a positive integer, got {v!r}")
    s2 = float(vals[2]) if len(vals) == 3 else 0.0
    if sigma2 is not None:
        s2 = float(sigma2)
    if not np.isfinite(s2) or s2 < 0:
        raise InputError("noise variance sigma2", f"must be finite and >= 0, got {s2}")
    return FamilyProblem(d=int(d), n=int(n), sigma2=s2)


def _Htil(K: int, pr: FamilyProblem) -> np.ndarray:
    """(K+1)x(K+1) matrix of the quadratic form f = c^T Htil c for deg p = K (monomial basis; ill
    conditioned for large K because of cancellation; used only for small K and in tests)."""
    m = float_moments(2 * K, n=pr.n, d=pr.d)
    j = np.arange(K + 1)
    H = m[j[:, None] + j[None, :]]  # (K+1, K+1)
    if pr.sigma2:
        idx = j[:, None] + j[None, :] - 1
        mask = (j[:, None] >= 1) & (j[None, :] >= 1)
        H = H + np.where(mask, pr.sigma2 / pr.n * m[np.clip(idx, 0, None)], 0.0)
    return H


@lru_cache(maxsize=64)
def _quadrature_cached(N: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    import mpmath

    with mpmath.workdps(30 + 4 * N):
        W = wishart_moments(2 * N, n=n, d=d)
        m = [mpmath.mpf(w) / mpmath.mpf(n) ** k for k, w in enumerate(W)]
        H = mpmath.matrix(N + 1, N + 1)
        for i in range(N + 1):
            for j in range(N + 1):
                H[i, j] = m[i + j]
        R = mpmath.cholesky(H).T  # upper triangular, H = R^T R
        J = mpmath.matrix(N, N)
        for k in range(N):
            J[k, k] = R[k, k + 1] / R[k, k] - (R[k - 1, k] / R[k - 1, k - 1] if k > 0 else 0)
            if k < N - 1:
                J[k, k + 1] = J[k + 1, k] = R[k + 1, k + 1] / R[k, k]
        E, V = mpmath.eigsy(J)
        nodes = np.array([float(E[i]) for i in range(N)])
        weights = np.array([float(m[0] * V[0, i] ** 2) for i in range(N)])
    order = np.argsort(nodes)
    return nodes[order], weights[order]


def spectral_quadrature(deg: int, *, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss nodes x_i > 0 and weights w_i with sum_i w_i x_i^k = E tr(S^k) exactly for k <= deg.

    Built from the exact moments by Golub-Welsch in high precision (mpmath), then rounded: evaluating
    f = sum_i w_i p(x_i)^2 with p as a product of factors avoids the cancellation of the monomial form."""
    N = max(int(deg) // 2 + 1, 1)
    return _quadrature_cached(N, int(n), int(d))


def _quad_loss(pvals: np.ndarray, x: np.ndarray, w: np.ndarray, pr: FamilyProblem) -> Any:
    """sum w p^2 + (sigma2/n) sum w (1 - p)^2 / x (p(x) r(x) form of theory.multilayer)."""
    val = np.sum(w * pvals**2)
    if pr.sigma2:
        val = val + pr.sigma2 / pr.n * np.sum(w * (1.0 - pvals) ** 2 / x)
    return val

