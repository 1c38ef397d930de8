"""Fast float evaluation of the one-layer closed forms of ``theory.one_layer`` (the sympy -> numpy bridge).

The formulas are the very code of ``theory.one_layer`` run over numpy ops, so there is one
derivation and two backends; the numpy backend is O(d^3) and vectorised.
"""

from __future__ import annotations

from functools import cached_property
from types import SimpleNamespace

import numpy as np
import scipy.linalg as sla

from iclcheck.theory.errors import InputError
from iclcheck.theory.one_layer import full_loss_formula, split_params
from iclcheck.theory.setting import Setting

__all__ = ["NUMPY_OPS", "OneLayer", "check_params"]

NUMPY_OPS = SimpleNamespace(
    tr=np.trace,
    diagcol=lambda A: np.diagonal(A)[:, None].copy(),
    had=lambda u, v: u * v,
    total=np.sum,
    scalar=lambda A: A[0, 0],
    diagmat=lambda u: np.diag(u[:, 0]),
)


def _spd_inverse(A: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (LAPACK potrf + potri).

    potri fills one triangle; the other is mirrored in cache-sized blocks (10x faster than
    triu + triu.T at d = 2000, bit-identical)."""
    c, info = sla.lapack.dpotrf(A, lower=0, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix is not positive definite (potrf info={info})")
    inv, info = sla.lapack.dpotri(c, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed (info={info})")
    d, blk = inv.shape[0], 256
    for i in range(0, d, blk):
        inv[i + blk:, i:i + blk] = inv[i:i + blk, i + blk:].T
        B = inv[i:i + blk, i:i + blk]
        inv[i:i + blk, i:i + blk] = np.triu(B) + np.triu(B, 1).T
    return inv


def sqrtm_psd(S: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root (the Sigma^{1/2} of the covariate law)."""
    ev, U = np.linalg.eigh(S)
    return (U * np.sqrt(np.clip(ev, 0, None))) @ U.T


def check_params(P: np.ndarray, Q: np.ndarray, d: int, what: str = "parameters") -> tuple[np.ndarray, np.ndarray]:
    P = np.asarray(P, dtype=float)
    Q = np.asarray(Q, dtype=float)
    for name, A in (("P", P), ("Q", Q)):
        if A.shape != (d + 1, d + 1):
            raise InputError(f"{what} {name}", f"must be {(d + 1)}x{(d + 1)} for d={d}, got shape {A.shape}")
        if not np.all(np.isfinite(A)):
            raise InputError(f"{what} {name}", "has non-finite entries (NaN or inf)")
    return P, Q


class OneLayer:
    """Float closed forms for one setting; caches the setting-only pieces (S^{1/2}, M)."""

    def __init__(self, setting: Setting):
        if setting.n_is_symbolic:
            raise InputError("n", "float evaluation needs a numeric n (symbolic n is for exact output)")
        self.setting = setting
        self.S = setting.Sigma
        self.W = setting.Sigma_w
        self.d = setting.d
        self.n = setting.n
        self.sigma2 = setting.sigma2
        self.km3 = np.full((self.d, 1), float(setting.kurtosis) - 3.0)

    @cached_property
    def Sh(self) -> np.ndarray:
        return sqrtm_psd(self.S) if not self.setting.gaussian else np.zeros_like(self.S)

    @cached_property
    def SWS(self) -> np.ndarray:
        kind = self.setting.task_cov_kind
        if kind == "identity":
            return self.S @ self.S
        if kind == "inverse":
            return self.S.copy()
        return self.S @ self.W @ self.S

    @cached_property
    def SW(self) -> np.ndarray:
        kind = self.setting.task_cov_kind
        if kind == "identity":
            return self.S
        if kind == "inverse":
            return np.eye(self.d)
        return self.S @ self.W

    @cached_property
    def M(self) -> np.ndarray:
        """M of the reduced loss (symmetric positive definite)."""
        n = self.n
        tau = np.trace(self.SW) + self.sigma2
        M = (n + 1) / n * self.SWS + tau / n * self.S
        if not self.setting.gaussian:
            nu = np.einsum("ij,jk,ki->i", self.Sh, self.W, self.Sh)  # diag(S^1/2 W S^1/2)
            M = M + (self.Sh * (self.km3[:, 0] * nu)) @ self.Sh / n  # + (1/n) S^1/2 diag(km3 nu) S^1/2
        return (M + M.T) / 2

    # -- reduced model -------------------------------------------------------------------------
    def _gaussian_ab(self) -> tuple[float, float]:
        """For Gaussian covariates M = S (a W S + b I) with a = (n+1)/n, b = tau/n."""
        n = self.n
        return (n + 1) / n, (np.trace(self.SW) + self.sigma2) / n

    def gamma_star(self) -> np.ndarray:
        """Gamma* = W S M^{-1} (a copy of the cached value)."""
        return self._gamma_star.copy()

    @cached_property
    def _gamma_star(self) -> np.ndarray:
        """Gamma* = W S M^{-1}.

        Gaussian covariates: M = S (a W S + b I), so Gamma*^T = (a W S + b I)^{-1} W, which for
        W = I is the inverse of the SPD matrix a S + b I and for W = S^{-1} is S^{-1}/(a + b): one
        Cholesky inverse (~d^3 flops), no product S W S. Otherwise one Cholesky solve with M."""
        kind = self.setting.task_cov_kind
        if self.setting.gaussian and kind in ("identity", "inverse"):
            a, b = self._gaussian_ab()
            if kind == "identity":
                return _spd_inverse(a * self.S + b * np.eye(self.d))
            return _spd_inverse(self.S) / (a + b)
        return sla.solve(self.M, self.SW, assume_a="pos", check_finite=False).T

    def reduced_loss(self, Gamma: np.ndarray) -> float:
        G = np.asarray(Gamma, dtype=float)
        return float(np.sum((self.S @ G) * (G @ self.M)) - 2 * np.sum(G * self.SWS) + np.trace(self.SW))

    def min_loss(self, Gamma: np.ndarray | None = None) -> float:
        """L* = tr(S W) - <Gamma*, S W S>_F. For Gaussian covariates and W in {I, S^{-1}} this uses
        T = W S, (aT + bI)^{-1} T^2 = [(aT + bI) - 2b I + b^2 (aT + bI)^{-1}] / a^2, so only the
        trace of Gamma* (already computed) is needed: O(d) after gamma_star."""
        G = self._gamma_star if Gamma is None else Gamma
        kind = self.setting.task_cov_kind
        if Gamma is None and self.setting.gaussian and kind in ("identity", "inverse"):
            a, b = self._gaussian_ab()
            d = self.d
            trT = float(np.trace(self.S)) if kind == "identity" else float(d)
            tr_inv = float(np.trace(G)) if kind == "identity" else d / (a + b)
            return trT - (a * trT + b * d - 2 * b * d + b * b * tr_inv) / (a * a)
        return float(np.trace(self.SW) - np.sum(G * self.SWS))

    # -- full parameters -----------------------------------------------------------------------
    def loss(self, P: np.ndarray, Q: np.ndarray) -> float:
        """Exact population loss f(P, Q) of one LSA layer (only P's last row and Q's first d columns matter)."""
        P, Q = check_params(P, Q, self.d)
        b, c, Q11, q21 = split_params(P, Q, self.d)
        b = b.reshape(-1, 1)
        q21 = q21.reshape(-1, 1)
        return float(
            full_loss_formula(self.S, self.W, self.Sh, self.km3, self.sigma2, self.n, b, c, Q11, q21, NUMPY_OPS)
        )

    @staticmethod
    def params_from_gamma(Gamma: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(P, Q) of the canonical one-layer point implementing Gamma: P = scale * e e^T, Q11 = -Gamma^T/scale."""
        d = Gamma.shape[0]
        P = np.zeros((d + 1, d + 1))
        P[d, d] = scale
        Q = np.zeros((d + 1, d + 1))
        Q[:d, :d] = -np.asarray(Gamma).T / scale
        return P, Q
