"""Fast float evaluation of the one-layer closed forms of ``theory.one_layer`` (the sympy -> numpy bridge).

The formulas are the very code of ``theory.one_layer`` run over numpy ops, so there is one
derivation and two backends; the numpy backend is O(d^3) and vectorised.

Accuracy. L* is evaluated as L* = (1/n) tr(N Gamma*) with N = n M - n S W S = S W S + tau S + H
(all terms of one sign), never as the difference tr(S W) - tr(Gamma*^T S W S), which cancels to
O(1/n) and loses log10(n) digits (1.5e-5 relative at n = 1e12 before). For Sigma_w = Sigma^{-1}
(Gamma* = Sigma^{-1}/(a + b)) the inverse is refined by iterative refinement with the residual
I - Sigma X computed in doubled precision (Ogita-Rump-Oishi Dot2, error-free transformations in
plain numpy, so the result does not depend on the BLAS), which brings a condition number up to
the accepted 1e12 to ~1e-15 relative accuracy; L* = (1 + tau) d / (n (a + b)) in closed form.
"""

from __future__ import annotations

from functools import cached_property
from types import SimpleNamespace

import numpy as np

from iclcheck.numerics.linalg import _spd_inverse, frobenius_inner, refined_spd_inverse, sqrtm_psd
from iclcheck.theory.errors import InputError, NumericalFailure
from iclcheck.theory.one_layer import full_loss_formula, split_params
from iclcheck.theory.setting import Setting

__all__ = [
    "BLAS_DIAG_MIN_D",
    "MAX_REFINE_DIM",
    "NUMPY_OPS",
    "OneLayer",
    "check_params",
    "diag_of_product",
    "frobenius_inner",
    "refined_spd_inverse",
    "sqrtm_psd",
]

# Sigma_w = Sigma^{-1}: the doubled-precision refinement costs ~25 d^3 elementwise flops; above this
# dimension it is skipped and the plain inverse is accepted only for condition numbers <= INV_PLAIN_COND.
MAX_REFINE_DIM = 400
INV_PLAIN_COND = 1e6

NUMPY_OPS = SimpleNamespace(
    tr=np.trace,
    diagcol=lambda A: np.diagonal(A)[:, None].copy(),
    had=lambda u, v: u * v,
    total=np.sum,
    scalar=lambda A: A[0, 0],
    diagmat=lambda u: np.diag(u[:, 0]),
)


BLAS_DIAG_MIN_D = 32  # from this size diag_of_product goes through BLAS (measured: einsum's loop is 10-50x slower)


def diag_of_product(A: np.ndarray, B: np.ndarray, C: np.ndarray, *, transpose_C: bool = False) -> np.ndarray:
    """diag(A B C) (or diag(A B C^T) with ``transpose_C``) for d x d arrays, in O(d^3) either way.

    Below ``BLAS_DIAG_MIN_D`` by one 3-operand ``np.einsum`` (numpy's own loop: the same bits on every BLAS
    kernel, which keeps the small settings of the verify report kernel-independent); from there on as
    rowsum((A @ B) * C^T): one BLAS product, 49-54x faster than the einsum loop at d = 1000."""
    if A.shape[0] < BLAS_DIAG_MIN_D:
        return np.einsum("ij,jk,ik->i" if transpose_C else "ij,jk,ki->i", A, B, C)
    AB = A @ B  # [d, d]
    return np.einsum("ij,ij->i", AB, C) if transpose_C else np.einsum("ij,ji->i", AB, C)


def check_params(P: np.ndarray, Q: np.ndarray, d: int, what: str = "parameters") -> tuple[np.ndarray, np.ndarray]:
    """P, Q as float (d+1)x(d+1) arrays with finite entries, or InputError naming ``what``."""
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
        self.km3 = np.full((self.d, 1), setting.kurtosis_float - 3.0)

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
    def N(self) -> np.ndarray:
        """N = n (M - S W S) = S W S + tau S + H (symmetric): M = S W S + N / n."""
        tau = np.trace(self.SW) + self.sigma2
        N = self.SWS + tau * self.S
        if not self.setting.gaussian:
            nu = diag_of_product(self.Sh, self.W, self.Sh)  # diag(S^1/2 W S^1/2)
            N = N + (self.Sh * (self.km3[:, 0] * nu)) @ self.Sh  # + S^1/2 diag(km3 nu) S^1/2
        return (N + N.T) / 2

    @cached_property
    def M(self) -> np.ndarray:
        """M of the reduced loss (symmetric positive definite): (n+1)/n S W S + tau/n S + H/n."""
        M = self.SWS + self.N / self.n
        return (M + M.T) / 2

    # -- reduced model -------------------------------------------------------------------------
    def _gaussian_ab(self) -> tuple[float, float]:
        """For Gaussian covariates M = S (a W S + b I) with a = (n+1)/n, b = tau/n."""
        n = self.n
        return (n + 1) / n, (np.trace(self.SW) + self.sigma2) / n

    def gamma_star(self, *, copy: bool = True) -> np.ndarray:
        """Gamma* = W S M^{-1}: a copy of the cached value, or (copy=False) the cached array itself, read-only."""
        if not copy:
            G = self._gamma_star.view()
            G.flags.writeable = False
            return G
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
            if kind == "identity":  # cond(a S + b I) <= 1 + a n lambda_max / tr S: well conditioned
                C = a * self.S  # (d, d) a S + b I, bit for bit, without an identity matrix
                C.flat[:: self.d + 1] += b
                return _spd_inverse(C, overwrite=True)
            return self._inverse_S() / (a + b)
        if kind == "inverse":  # S W = I, so Gamma*^T = M^{-1} S W = M^{-1}: the refined inverse
            return refined_spd_inverse(self.M) if self.d <= MAX_REFINE_DIM else self._solve(self.M, self.SW).T
        return self._solve(self.M, self.SW).T

    @staticmethod
    def _solve(A: np.ndarray, B: np.ndarray) -> np.ndarray:
        import scipy.linalg as sla

        return sla.solve(A, B, assume_a="pos", check_finite=False)

    def _inverse_S(self) -> np.ndarray:
        """Sigma^{-1} to ~1e-15 relative accuracy (refined), or NumericalFailure when d is too large to
        refine and Sigma too ill-conditioned for the plain inverse to reach 1e-8."""
        if self.d <= MAX_REFINE_DIM:
            return refined_spd_inverse(self.S)
        ev = np.linalg.eigvalsh(self.S)
        cond = ev[-1] / ev[0]
        if cond > INV_PLAIN_COND:
            raise NumericalFailure(
                "Gamma* for Sigma_w = Sigma^-1",
                f"Sigma has condition number {cond:.3g}: above {INV_PLAIN_COND:.0e} a plain inverse may miss 1e-8 "
                f"relative accuracy and the refined one is limited to d <= {MAX_REFINE_DIM} (d = {self.d})",
                "use a smaller d or a better-conditioned Sigma",
            )
        return _spd_inverse(self.S)

    def reduced_loss(self, Gamma: np.ndarray) -> float:
        """L(Gamma) = tr(Gamma^T S Gamma M) - 2 tr(Gamma^T S W S) + tr(S W) at any d x d Gamma."""
        G = np.asarray(Gamma, dtype=float)
        if G.shape != (self.d, self.d) or not np.all(np.isfinite(G)):
            raise InputError("Gamma", f"must be a finite {self.d}x{self.d} matrix, got shape {G.shape}")
        return float(np.sum((self.S @ G) * (G @ self.M)) - 2 * np.sum(G * self.SWS) + np.trace(self.SW))

    def min_loss(self) -> float:
        """L* = min_Gamma L(Gamma) = L(Gamma*), as (1/n) tr(N Gamma*) with N = S W S + tau S + H.

        (Equal to tr(S W) - tr(Gamma*^T S W S) = tr(M^{-1}(M - S W S) W S), but without its O(1/n)
        cancellation.) W = S^{-1}, Gaussian: N = (1 + tau) S and Gamma* = S^{-1}/(a + b), so
        L* = (1 + tau) d / (n (a + b)) exactly, tau = d + sigma2. The former ``min_loss(Gamma)`` returned
        tr(S W) - <Gamma, S W S>, which is the loss only at a stationary Gamma; use reduced_loss."""
        if self.setting.gaussian and self.setting.task_cov_kind == "inverse":
            a, b = self._gaussian_ab()
            tau = self.d + self.sigma2
            return float((1.0 + tau) * self.d / (self.n * (a + b)))
        if self.setting.gaussian and self.setting.task_cov_kind == "identity":
            # W = I: N = S^2 + tau S and Gamma* = n ((n+1) S + tau I)^-1, so per eigenvalue
            # lam (lam + tau) / ((n+1) lam + tau) = lam / (n+1) + (tau / (n+1)) * n lam / ((n+1) lam + tau):
            # L* = (tr S + tau <S, Gamma*>) / (n+1), two positive terms, O(d^2) (no product S S)
            tr_s = float(np.trace(self.S))
            tau = tr_s + self.sigma2
            return float((tr_s + tau * frobenius_inner(self.S, self._gamma_star)) / (self.n + 1))
        # L* >= 0 (a loss); when it is 0 exactly (e.g. Rademacher, d = 1: N = 0) rounding may give -1e-16,
        # and 0 is then the closer value
        return max(frobenius_inner(self.N, self._gamma_star.T) / self.n, 0.0)

    # -- full parameters -----------------------------------------------------------------------
    def loss(self, P: np.ndarray, Q: np.ndarray) -> float:
        """Exact population loss f(P, Q) of one LSA layer (only P's last row and Q's first d columns matter)."""
        P, Q = check_params(P, Q, self.d)
        b, c, Q11, q21 = split_params(P, Q, self.d)
        b = b.reshape(-1, 1)
        q21 = q21.reshape(-1, 1)
        with np.errstate(over="ignore", invalid="ignore"):
            f = float(
                full_loss_formula(self.S, self.W, self.Sh, self.km3, self.sigma2, self.n, b, c, Q11, q21, NUMPY_OPS)
            )
        if not np.isfinite(f):
            scale = max(float(np.max(np.abs(P))), float(np.max(np.abs(Q))))
            raise NumericalFailure("loss f(P, Q)", f"overflows float64 (largest |entry| of P, Q is {scale:.3g}; f is "
                                   "a polynomial of degree 6 in them)", "give P, Q of moderate size")
        return f

    @staticmethod
    def params_from_gamma(Gamma: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(P, Q) of the canonical one-layer point implementing Gamma: P = scale * e e^T, Q11 = -Gamma^T/scale."""
        d = Gamma.shape[0]
        P = np.zeros((d + 1, d + 1))
        P[d, d] = scale
        Q = np.zeros((d + 1, d + 1))
        Q[:d, :d] = -np.asarray(Gamma).T / scale
        return P, Q
