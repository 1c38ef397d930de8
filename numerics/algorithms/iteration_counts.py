"""Fu et al.: Newton vs GD iteration counts (unnormalised S = X^T X, their convention); moved from
numerics.compare (re-exported there). Newton's iteration M_{k+1} = 2 M_k - M_k S M_k in floats (float64 or float32):
the count to a relative error (``iterations_to``, and from the eigenvalues ``predicted_count``), the error path and
its regrowth (``error_path``, ``regrowth``); moved from the claim fu2023.eq5 (re-exported there)."""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.algorithms.reference import ols

__all__ = ["error_path", "gd_counts", "gd_unnormalised_errors", "iterations_to", "newton_counts", "predicted_count",
           "regrowth"]


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


def iterations_to(X: np.ndarray, y: np.ndarray, alpha: float, *, eps: float, max_steps: int = 200,
                  dtype: type = np.float64) -> int | str:
    """First k with ||w_k - w_OLS|| <= eps ||w_OLS||; "diverged" if the iterates blow up (non-finite or
    ||M_k S|| > 1e6: |e_0| > 1 on some direction), "stalled" if neither happens within max_steps (float32 on an ill-conditioned S can stall above EPS32).
    The iteration runs in ``dtype`` (float64 or float32); w_OLS and the error in float64."""
    w_ols = ols(X, y)
    X = np.asarray(X, dtype=dtype)
    S = X.T @ X
    M = dtype(alpha) * S
    Xty = X.T @ np.asarray(y, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(max_steps + 1):
            if not np.all(np.isfinite(M)) or np.linalg.norm((M @ S).astype(float), 2) > 1e6:
                return "diverged"
            if np.linalg.norm((M @ Xty).astype(float) - w_ols) <= eps * np.linalg.norm(w_ols):
                return k
            M = 2 * M - M @ S @ M
    return "stalled"


def error_path(X: np.ndarray, y: np.ndarray, alpha: float, *, steps: int, dtype: type = np.float64) -> np.ndarray:
    """Relative errors ||w_k - w_OLS|| / ||w_OLS||, k = 0..steps, of the iteration run in ``dtype``."""
    w_ols = ols(X, y)
    X = np.asarray(X, dtype=dtype)
    S = X.T @ X
    M = dtype(alpha) * S
    Xty = X.T @ np.asarray(y, dtype=dtype)
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps + 1):
            out.append(np.linalg.norm((M @ Xty).astype(float) - w_ols) / np.linalg.norm(w_ols))
            M = 2 * M - M @ S @ M
    return np.array(out)


def regrowth(errors: np.ndarray, eps: float) -> tuple[int, int | None, int | None]:
    """(first k with error <= eps, first later k with error > eps again, first later k with error > 1)."""
    below = np.flatnonzero(errors <= eps)
    if not below.size:
        raise ValueError("the error never reaches eps")
    k0 = int(below[0])
    ks = np.arange(errors.size)
    up = np.flatnonzero((ks > k0) & ~(errors <= eps))
    big = np.flatnonzero((ks > k0) & ~(errors <= 1.0))
    return k0, (int(up[0]) if up.size else None), (int(big[0]) if big.size else None)


def predicted_count(X: np.ndarray, y: np.ndarray, alpha: float, *, eps: float) -> int:
    """First k with ||w_k - w_OLS|| <= eps ||w_OLS||, from the eigenvalues (an independent route to iterations_to):
    w_k - w_OLS = -V diag((1 - alpha lambda^2)^(2^k)) V^T w_OLS on range(S)."""
    lam, V = np.linalg.eigh(X.T @ X)
    w = ols(X, y)
    c = V.T @ w  # (d,) w_OLS in the eigenbasis (0 on null(S) for the min-norm OLS)
    e = 1.0 - alpha * lam**2
    for k in range(200):
        if np.linalg.norm(np.abs(e) ** (2.0**k) * c) <= eps * np.linalg.norm(w):
            return k
    return -1
