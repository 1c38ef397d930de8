"""Fu et al.: Newton vs GD iteration counts (unnormalised S = X^T X, their convention); moved from
numerics.compare (re-exported there)."""

from __future__ import annotations

import numpy as np

__all__ = ["gd_counts", "gd_unnormalised_errors", "newton_counts"]


def gd_unnormalised_errors(X, y, xq, yq, *, eta: float, ks) -> np.ndarray:
    """Test errors (x_q^T w_k - y_q)^2, (len(ks), B), of GD w_{k+1} = w_k - eta (S w_k - X^T y) from 0.

    Run in the eigenbasis of S (the same linear recursion, diagonalised): w_k = V diag(1 - (1 -
    eta lambda)^k) V^T w_OLS on range(S); so any step count costs O(d) per prompt."""
    S = X.transpose(0, 2, 1) @ X  # (B, d, d)
    lam, V = np.linalg.eigh(S)  # (B, d), (B, d, d)
    b = np.einsum("bdi,bnd,bn->bi", V, X, y)  # (B, d) = V^T X^T y
    pos = lam > 1e-12 * lam[:, -1:]
    c = np.where(pos, b / np.where(pos, lam, 1.0), 0.0)  # OLS coordinates
    q = np.einsum("bdi,bd->bi", V, xq)  # (B, d)
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for k in np.atleast_1d(ks):
            f = 1.0 - (1.0 - eta * lam) ** int(k)
            out.append((np.einsum("bi,bi->b", q, f * c) - yq) ** 2)
    return np.stack(out)


def newton_counts(S: np.ndarray, w_ols: np.ndarray, eps_list, *, alpha: np.ndarray, max_iter: int = 80) -> np.ndarray:
    """Measured Iterative Newton counts: the first k with ||M_k X^T y - w_OLS|| <= eps ||w_OLS||
    (M_k from the literal recursion M_{k+1} = 2M_k - M_k S M_k; X^T y = S w_OLS). (len(eps), B);
    max_iter + 1 where not reached."""
    B, d, _ = S.shape
    M = alpha[:, None, None] * S  # (B, d, d)
    target = np.einsum("bij,bj->bi", S, w_ols)  # X^T y
    nrm = np.linalg.norm(w_ols, axis=1)
    eps_arr = np.asarray(eps_list, float)
    counts = np.full((eps_arr.size, B), max_iter + 1)
    for k in range(max_iter + 1):
        rel = np.linalg.norm(np.einsum("bij,bj->bi", M, target) - w_ols, axis=1) / nrm  # (B,)
        hit = (rel[None, :] <= eps_arr[:, None]) & (counts > max_iter)
        counts[hit] = k
        M = 2 * M - M @ S @ M
    return counts


def gd_counts(S: np.ndarray, w_ols: np.ndarray, eps_list, *, eta: np.ndarray) -> np.ndarray:
    """First k with ||w_k - w_OLS|| <= eps ||w_OLS|| for GD w_{k+1} = w_k - eta (S w_k - X^T y), w_0 = 0.

    The error is -(I - eta S)^k w_OLS exactly; evaluated in S's eigenbasis and located by doubling +
    bisection over k (the norm is non-increasing in k for 0 < eta <= 1/lambda_max)."""
    lam, V = np.linalg.eigh(S)  # (B, d)
    c2 = np.einsum("bdi,bd->bi", V, w_ols) ** 2  # (B, d)
    nrm2 = c2.sum(1)
    r = np.abs(1.0 - eta[:, None] * lam)  # (B, d)
    logr = np.log(np.clip(r, 1e-300, None))
    eps_arr = np.asarray(eps_list, float)
    out = np.zeros((eps_arr.size, S.shape[0]), dtype=np.int64)

    def rel2(k: np.ndarray) -> np.ndarray:
        return np.sum(c2 * np.exp(2 * k[:, None] * logr), axis=1) / nrm2

    for j, eps in enumerate(eps_arr):
        hi = np.ones(S.shape[0])
        while True:
            bad = rel2(hi) > eps**2
            if not bad.any() or hi.max() > 1e12:
                break
            hi = np.where(bad, hi * 2, hi)
        lo = np.floor(hi / 2)
        while np.any(hi - lo > 1):
            mid = np.floor((lo + hi) / 2)
            ok = rel2(mid) <= eps**2
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        out[j] = np.where(rel2(np.zeros_like(hi)) <= eps**2, 0, hi).astype(np.int64)
    return out
