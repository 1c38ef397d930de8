"""Random matrices used across iclcheck: Haar rotations and the papers' covariances. One generator each.

Randomness is an argument (a ``numpy.random.Generator``), never global state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ahn_sigma", "haar_orthogonal", "random_spd", "split_spectrum_sigma", "whitening_matrix"]


# From this d on, the Q factor is computed by CholeskyQR2 (BLAS-3 only: Gram matrix, Cholesky, triangular solve,
# twice), ~5-10x faster than LAPACK's Householder QR here (d = 2000: ~3 s against ~20-30 s on 2 loaded cores).
# It is the same matrix (the Q of Z = QR with R's diagonal positive is unique), up to rounding (~1e-14 at d = 2000);
# below the threshold the Householder route is kept bit for bit.
CHOLQR_MIN_D = 512
_MIN_RCOND = 1e-6  # CholeskyQR2 only when cond(Z) < 1e6 (estimated): far inside its stable range (cond < ~7e7)


def _q_cholqr2(Z: np.ndarray, *, scratch: np.ndarray | None = None) -> np.ndarray | None:
    """Q of Z = Q R (R with positive diagonal) by CholeskyQR2, or None when Z is too ill-conditioned for it
    (Cholesky fails, or the estimated cond(Z) exceeds 1 / _MIN_RCOND).

    Works on Q^T, which for a C-ordered Z is the F-ordered view ``Z.T``, so that the Fortran kernels get their
    operands without a copy: per pass one symmetric rank-k update (Gram, one triangle), one Cholesky, one
    triangular solve from the left, and the Q returned is C-ordered. Z is overwritten by Q (a fresh d x d array
    costs a page fault per 4 KiB on first touch: ~20 ms at d = 2000); when None is returned Z is unchanged or
    holds Z R1^-1, whose Q factor is Z's (R1^-1 is upper triangular with a positive diagonal). ``scratch``, an
    F-ordered d x d array (or None: one is allocated), holds the Gram matrices."""
    from scipy.linalg import blas, lapack

    Qt = Z.T  # (d, d) F-ordered view of Z^T
    G = np.empty(Z.shape, order="F") if scratch is None else scratch
    for k in range(2):
        G = blas.dsyrk(1.0, Qt, beta=0.0, c=G, overwrite_c=1)  # upper triangle of Qt Qt^T = Q^T Q, into G
        R, info = lapack.dpotrf(G, lower=0, clean=0, overwrite_a=1)  # Q^T Q = R^T R (upper triangle read)
        if info != 0:
            return None
        if k == 0:
            # CholeskyQR2 is orthogonal to O(eps) when cond(Z) = cond(R) < eps^-1/2 ~ 7e7 (Yamamoto et al. 2015);
            # LAPACK's estimate of R's infinity-norm condition (= R^T's 1-norm one; O(d^2)) must show cond < 1e6,
            # else Householder (of a Gaussian Z at d = 2000: ~1e5)
            rcond, info = lapack.dtrcon(R, norm="I", uplo="U", diag="N")
            if info != 0 or not rcond > _MIN_RCOND:
                return None
        Qt = blas.dtrsm(1.0, R, Qt, side=0, lower=0, trans_a=1, overwrite_b=1)  # R^-T Q^T = (Q R^-1)^T, in place
    return Qt.T


def haar_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-uniform orthogonal matrix (QR of a Gaussian matrix with the sign fix of R's diagonal)."""
    return _haar(d, rng)


def _haar(d: int, rng: np.random.Generator, scratch: np.ndarray | None = None) -> np.ndarray:
    Z = rng.standard_normal((d, d))  # (d, d)
    if d >= CHOLQR_MIN_D:
        Q = _q_cholqr2(Z, scratch=scratch)
        if Q is not None:
            return Q
    Qm, R = np.linalg.qr(Z)  # (d, d), (d, d)
    return Qm * np.sign(np.diag(R))


def random_spd(d: int, cond: float, rng: np.random.Generator) -> np.ndarray:
    """U diag(logspace(1..cond)) U^T with U Haar-distributed: eigenvalues log-spaced from 1 to ``cond``."""
    lam = np.logspace(0.0, np.log10(cond), d)  # (d,)
    if d >= CHOLQR_MIN_D:  # B B^T with B = U diag(lam)^1/2: one symmetric rank-k update, half a product's flops
        from scipy.linalg import blas

        from iclcheck.numerics.linalg import mirror_upper

        S = np.empty((d, d), order="F")  # the Gram scratch of the Haar draw, then Sigma (two d x d arrays in all)
        B = _haar(d, rng, scratch=S)  # (d, d) C-ordered U, scaled in place to B; B.T is its F-ordered view
        B *= np.sqrt(lam)
        S = blas.dsyrk(1.0, B.T, trans=1, beta=0.0, c=S, overwrite_c=1)
        return mirror_upper(S).T  # symmetric: .T is its C-ordered view
    U = haar_orthogonal(d, rng)  # (d, d)
    S = (U * lam) @ U.T  # (d, d)  (below the threshold: bit for bit the matrices of earlier versions)
    return (S + S.T) / 2


def ahn_sigma(rng: np.random.Generator, eigenvalues: Any = (1.0, 1.0, 0.25, 0.0625, 1.0)) -> np.ndarray:
    """Ahn et al. 2023 section 4.3: Sigma = U^T D U, U uniform orthogonal, D = diag(1, 1, 0.25, 0.0625, 1)."""
    D = np.asarray(eigenvalues, dtype=float)
    U = haar_orthogonal(D.size, rng)
    S = U.T @ np.diag(D) @ U
    return (S + S.T) / 2


def split_spectrum_sigma(d: int, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """Fu et al.'s ill-conditioned covariance: half the eigenvalues kappa, half 1, uniformly random basis
    (scipy's ``ortho_group``, kept so that seeded results stay the same)."""
    from scipy.stats import ortho_group

    U = ortho_group.rvs(d, random_state=rng)
    ev = np.array([float(kappa)] * (d // 2) + [1.0] * (d - d // 2))
    S = (U * ev) @ U.T
    return (S + S.T) / 2


def whitening_matrix(Sigma: np.ndarray) -> np.ndarray:
    """D = diag(Sigma^{1/2}, 1): Z = D Z_s; a layer (P, Q) on Z is (D^-1 P D, D Q D) on Z_s."""
    from iclcheck.numerics.linalg import sqrtm_psd

    d = Sigma.shape[0]
    D = np.eye(d + 1)
    D[:d, :d] = sqrtm_psd(Sigma)
    return D
