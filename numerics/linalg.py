"""Dense symmetric positive (semi)definite kernels shared by the numerics: the Cholesky inverse, its refinement with a
doubled-precision residual (no BLAS rounding), the PSD square root, the triangle mirror and a BLAS-free Frobenius product."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["frobenius_inner", "mirror_upper", "refined_spd_inverse", "sqrtm_psd"]


def _spd_inverse(A: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (d <= 300: numpy's Cholesky and a
    triangular inverse; larger: LAPACK potrf + potri, which fills one triangle; see mirror_upper). overwrite:
    A may be destroyed (d > 300: no copy)."""
    if A.shape[0] <= 300:  # small: numpy only (no scipy import on the CLI's fast path)
        try:
            Linv = np.linalg.inv(np.linalg.cholesky(A))  # A = L L^T, A^{-1} = L^-T L^-1
        except np.linalg.LinAlgError:
            raise np.linalg.LinAlgError("matrix is not positive definite (Cholesky failed)") from None
        X = Linv.T @ Linv
        return (X + X.T) / 2
    import scipy.linalg as sla

    # A.T: the F-ordered view of a C-ordered A, the same matrix for a symmetric A (LAPACK reads one triangle), so
    # LAPACK works on it in place (overwrite: A is scratch) or after a plain copy, not a transposing one
    c, info = sla.lapack.dpotrf(A.T, lower=0, clean=0, overwrite_a=overwrite)
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix is not positive definite (potrf info={info})")
    inv, info = sla.lapack.dpotri(c, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed (info={info})")
    return mirror_upper(inv).T  # symmetric: its transpose is the C-ordered view of the same matrix


def frobenius_inner(A: np.ndarray, B: np.ndarray) -> float:
    """<A, B> = sum_ij A_ij B_ij by numpy's pairwise sums in row blocks (no d x d temporary, no BLAS: the same
    bits on every machine), the block sums added by math.fsum. Up to 2^19 entries (d <= 724) it is exactly
    float(np.sum(A * B))."""
    blk = max(1, 2**19 // max(1, A.shape[1]))  # rows per block: ~4 MB of products
    return math.fsum(float(np.sum(A[i:i + blk] * B[i:i + blk])) for i in range(0, A.shape[0], blk))


def mirror_upper(A: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose upper triangle is A's (in place): what LAPACK/BLAS routines that fill one
    triangle (potri, syrk) leave. Mirrored in cache-sized blocks (10x faster than triu + triu.T at d = 2000,
    bit-identical)."""
    d, blk = A.shape[0], 256
    for i in range(0, d, blk):
        A[i + blk:, i:i + blk] = A[i:i + blk, i + blk:].T
        B = A[i:i + blk, i:i + blk]
        A[i:i + blk, i:i + blk] = np.triu(B) + np.triu(B, 1).T
    return A


_SPLIT = 134217729.0  # 2^27 + 1 (Dekker's split of a double into two 26-bit halves)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def _residual_dot2(A: np.ndarray, X: np.ndarray) -> np.ndarray:
    """R = I - A X with the accuracy of doubled precision (Ogita, Rump, Oishi 2005, Dot2: TwoProduct
    by Dekker's split, TwoSum), rounded once to double. Pure elementwise numpy: no BLAS rounding."""
    d = A.shape[0]
    Ah, Al = _split(A)
    Xh, Xl = _split(X)
    s = np.eye(d)
    c = np.zeros((d, d))
    for k in range(d):
        a, ah, al = A[:, k:k + 1], Ah[:, k:k + 1], Al[:, k:k + 1]  # (d, 1)
        x, xh, xl = -X[k:k + 1, :], -Xh[k:k + 1, :], -Xl[k:k + 1, :]  # (1, d)
        h = a * x  # TwoProduct: h + r = a * x exactly
        r = al * xl - (((h - ah * xh) - al * xh) - ah * xl)
        t = s + h  # TwoSum: t + q = s + h exactly
        z = t - s
        q = (s - (t - z)) + (h - z)
        s = t
        c += q + r
    return s + c


def refined_spd_inverse(A: np.ndarray, *, max_steps: int = 4) -> np.ndarray:
    """A^{-1} for SPD A, to ~1e-15 relative accuracy for condition numbers up to ~1e13: a Cholesky
    inverse refined by X <- X + X (I - A X) with the residual in doubled precision."""
    X = _spd_inverse(A)
    for _ in range(max_steps):
        R = _residual_dot2(A, X)
        dX = X @ R
        dX = (dX + dX.T) / 2
        X = X + dX
        if np.max(np.abs(dX)) <= 1e-17 * np.max(np.abs(X)):
            break
    return (X + X.T) / 2


def sqrtm_psd(S: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root (the Sigma^{1/2} of the covariate law)."""
    ev, U = np.linalg.eigh(S)
    return (U * np.sqrt(np.clip(ev, 0, None))) @ U.T
