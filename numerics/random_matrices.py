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


def _q_cholqr2(Z: np.ndarray) -> np.ndarray | None:
    """Q of Z = Q R (R with positive diagonal) by CholeskyQR2, or None when Z is too ill-conditioned for it
    (Cholesky fails, or the estimated cond(Z) exceeds 1 / _MIN_RCOND)."""
    from scipy.linalg import blas, lapack

    Q = Z
    for k in range(2):
        try:
            Lc = np.linalg.cholesky(Q.T @ Q)  # (d, d) Q^T Q = Lc Lc^T, R = Lc^T (numpy's LAPACK: the faster here)
        except np.linalg.LinAlgError:
            return None
        if k == 0:
            # CholeskyQR2 is orthogonal to O(eps) when cond(Z) = cond(R) < eps^-1/2 ~ 7e7 (Yamamoto et al. 2015);
            # LAPACK's estimate of R's 1-norm condition (O(d^2)) must show cond < 1e6, else Householder
            rcond, info = lapack.dtrcon(Lc, norm="1", uplo="L", diag="N")
            if info != 0 or not rcond > _MIN_RCOND:
                return None
        Q = blas.dtrsm(1.0, Lc, Q, side=1, lower=1, trans_a=1)  # Q Lc^{-T} = Q R^{-1}
    return Q


def haar_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-uniform orthogonal matrix (QR of a Gaussian matrix with the sign fix of R's diagonal)."""
    Z = rng.standard_normal((d, d))  # (d, d)
    if d >= CHOLQR_MIN_D:
        Q = _q_cholqr2(Z)
        if Q is not None:
            return Q
    Qm, R = np.linalg.qr(Z)  # (d, d), (d, d)
    return Qm * np.sign(np.diag(R))


def random_spd(d: int, cond: float, rng: np.random.Generator) -> np.ndarray:
    """U diag(logspace(1..cond)) U^T with U Haar-distributed: eigenvalues log-spaced from 1 to ``cond``."""
    U = haar_orthogonal(d, rng)  # (d, d)
    lam = np.logspace(0.0, np.log10(cond), d)  # (d,)
    S = (U * lam) @ U.T  # (d, d)
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
    from iclcheck.numerics.one_layer import sqrtm_psd

    d = Sigma.shape[0]
    D = np.eye(d + 1)
    D[:d, :d] = sqrtm_psd(Sigma)
    return D
