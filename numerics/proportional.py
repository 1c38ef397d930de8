"""Numerics for the proportional-asymptotics formulas (theory/proportional.py): deterministic equivalents of the
resolvent of an anisotropic sample covariance (solved by bracketing, never by sampling), the Letey et al. 2025
error at matrix task covariances, and the finite-d pipeline of Lu et al. 2024 (a pool of k tasks, n pretraining
contexts, Gamma fitted by ridge(less) regression) whose exact test error is theory.proportional.exact_error.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.errors import InputError, NumericalFailure
from iclcheck.theory.proportional import alignment_error_from_pieces
from iclcheck.theory.setting import Setting

__all__ = ["alignment_error", "features", "fit_gamma", "loglog_slope", "pool_master_error", "resolvent_equivalent",
           "sample_pool", "slope_se", "xi_root"]

_XTOL = 1e-15  # brentq's absolute tolerance on M (values are O(1/nu)); rtol is 4 eps (scipy's floor)


def resolvent_equivalent(eigs_C: np.ndarray, kappa: float, nu: float) -> tuple[float, float]:
    """(M, dM/dnu) for M = lim (1/d) tr (R + nu)^{-1}, R = (1/k) sum_j w_j w_j^T, w_j ~ N(0, C), k = kappa d,
    C with eigenvalues ``eigs_C``: the deterministic equivalent E (R+nu)^{-1} ~ F = (a C + nu)^{-1} with
    a = 1 - 1/kappa + nu M/kappa (1/(1+e) of the Silverstein equation, using (1/k) tr R (R+nu)^{-1} = (1 - nu M)/kappa),
    so M = (1/d) sum_i 1/(a(M) lambda_i + nu). The root is bracketed in [max(0, (1-kappa)/nu), 1/nu] (a >= 0 there;
    the residual changes sign across it) and dM/dnu follows by implicit differentiation. C = c I reproduces
    theory.proportional.mp_stieltjes(nu, kappa, c) (tested)."""
    lam = np.asarray(eigs_C, float)
    if lam.ndim != 1 or lam.size == 0 or np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise InputError("C", "eigenvalues must be finite and >= 0")
    if not (kappa > 0 and nu > 0):
        raise InputError("kappa, nu", f"need kappa > 0 and nu > 0, got {kappa}, {nu}")
    g = 0.0 if np.isinf(kappa) else 1.0 / kappa

    def a_of(M: float) -> float:
        return 1.0 - g + g * nu * M

    def resid(M: float) -> float:
        return M - float(np.mean(1.0 / (a_of(M) * lam + nu)))

    lo = max(0.0, (1.0 - kappa) / nu) if g else 0.0
    hi = 1.0 / nu
    rlo, rhi = resid(lo), resid(hi)
    if rhi == 0.0:
        M = hi
    elif rlo == 0.0:
        M = lo
    elif rlo < 0 < rhi:
        M = optimize.brentq(resid, lo, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps, maxiter=500)
    else:  # pragma: no cover - the bracket is a theorem; say so if rounding breaks it
        raise NumericalFailure("resolvent_equivalent", f"no sign change on [{lo}, {hi}] ({rlo}, {rhi})",
                               "check that nu is not tiny relative to the eigenvalues of C")
    den = a_of(M) * lam + nu
    dh_dM = -float(np.mean(lam * g * nu / den**2))
    dh_dnu = -float(np.mean((lam * g * M + 1.0) / den**2))
    return float(M), dh_dnu / (1.0 - dh_dM)


def xi_root(eigs_C: np.ndarray, kappa: float, tau: float, c0: float) -> float:
    """xi > 0 with xi M(xi + c0) = 1 - tau (tau < 1; c0 = rho_tr/alpha): xi M(xi + c0) increases from 0 to 1."""
    if not (0 < tau < 1):
        raise InputError("tau", f"xi is defined for 0 < tau < 1, got {tau}")

    def f(xi: float) -> float:
        return xi * resolvent_equivalent(eigs_C, kappa, xi + c0)[0] - (1.0 - tau)

    hi = max(1.0, c0)
    while f(hi) < 0:
        hi *= 2.0
        if hi > 1e12:  # pragma: no cover
            raise NumericalFailure("xi_root", "no bracket below 1e12", "tau is too close to 0")
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


def alignment_error(C_tr: np.ndarray, C_te: np.ndarray, tau: float, alpha: float, kappa: float, rho: float) -> float:
    """Letey et al. 2025 error (theory.proportional.alignment_error_from_pieces) at task covariances C_tr (pretraining
    pool drawn from N(0, C_tr)) and C_te (test), with the resolvent pieces from ``resolvent_equivalent``."""
    C_tr = np.asarray(C_tr, float)
    C_te = np.asarray(C_te, float)
    d = C_tr.shape[0]
    if tau == 1:
        raise InputError("tau", "tau = 1 is the interpolation threshold (the formula has a pole)")
    lam, U = np.linalg.eigh(C_tr)
    lam = np.clip(lam, 0.0, None)
    rho_tr = float(np.trace(C_tr)) / d + rho
    rho_te = float(np.trace(C_te)) / d + rho
    xi = 0.0 if tau > 1 else xi_root(lam, kappa, tau, rho_tr / alpha)
    nu = rho_tr / alpha + xi
    M, Mp = resolvent_equivalent(lam, kappa, nu)
    g = 0.0 if np.isinf(kappa) else 1.0 / kappa
    f = 1.0 / ((1 - g + g * nu * M) * lam + nu)  # eigenvalues of F (in C_tr's eigenbasis)
    f2 = f * ((g * M + g * nu * Mp) * lam + 1.0) * f
    te = np.einsum("ij,ij->j", U, C_te @ U)  # diagonal of U^T C_te U
    return float(alignment_error_from_pieces(tau=tau, alpha=alpha, rho=rho, rho_te=rho_te, xi=xi, nu=nu, M=M, Mp=Mp,
                                             tr_te_F=float(te @ f) / d, tr_te_F2=float(te @ f2) / d))


# -- the finite-d pipeline of Lu et al. (reimplemented from the model recorded in notes/NEXT-CLAIMS.md §2) -------------

def sample_pool(rng: np.random.Generator, k: int, d: int, *, sphere: bool = True) -> np.ndarray:
    """k pretraining tasks (k x d): N(0, I), rescaled to |w| = sqrt(d) when ``sphere`` (the authors' pretraining law)."""
    W = rng.standard_normal((k, d))
    if sphere:
        W *= np.sqrt(d) / np.linalg.norm(W, axis=1, keepdims=True)
    return W


def features(X: np.ndarray, y: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """H_Z = x_q [ (d/ell) sum_i y_i x_i^T, (1/ell) sum_i y_i^2 ] flattened: X (B, ell, d), y (B, ell), xq (B, d)
    -> (B, d (d+1)), so that <Gamma, H_Z> = H @ Gamma.ravel() for Gamma (d, d+1)."""
    B, ell, d = X.shape
    u = np.einsum("bld,bl->bd", X, y) * (d / ell)  # (B, d)
    s = np.einsum("bl,bl->b", y, y) / ell  # (B,)
    f = np.concatenate([u, s[:, None]], axis=1)  # (B, d+1)
    return np.einsum("bi,bj->bij", xq, f).reshape(B, d * (d + 1))


def fit_gamma(rng: np.random.Generator, W: np.ndarray, n: int, ell: int, rho: float, *, lam: float = 0.0,
              batch: int = 4096) -> np.ndarray:
    """Gamma (d x (d+1)) fitted on n contexts, each with a task drawn uniformly from the pool W, x ~ N(0, I/d),
    noise rho on every label: argmin sum (y_q - <Gamma, H_Z>)^2 + (n/d) lam |Gamma|_F^2; lam = 0 is the ridgeless
    limit (least squares for n >= d(d+1), the minimum-norm interpolator below; the Gram matrix is
    ill-conditioned near n = d(d+1), where the ridgeless error itself diverges)."""
    k, d = W.shape
    p = d * (d + 1)
    Hs, ys = [], []
    done = 0
    while done < n:
        b = min(batch, n - done)
        w = W[rng.integers(0, k, size=b)]  # (b, d)
        X = rng.standard_normal((b, ell + 1, d)) / np.sqrt(d)  # (b, ell+1, d)
        y = np.einsum("bld,bd->bl", X, w) + np.sqrt(rho) * rng.standard_normal((b, ell + 1))  # (b, ell+1)
        Hs.append(features(X[:, :ell], y[:, :ell], X[:, ell]))
        ys.append(y[:, ell])
        done += b
    H = np.concatenate(Hs)  # (n, p)
    yq = np.concatenate(ys)  # (n,)
    if lam > 0:
        sol = np.linalg.solve(H.T @ H + (n / d) * lam * np.eye(p), H.T @ yq)
    elif n >= p:  # least squares by the normal equations (an SVD costs 10-30x more at these sizes)
        sol = np.linalg.solve(H.T @ H, H.T @ yq)
    else:  # minimum-norm interpolator H^T (H H^T)^{-1} y
        sol = H.T @ np.linalg.solve(H @ H.T, yq)
    if not np.all(np.isfinite(sol)):
        raise NumericalFailure("fit_gamma", "the Gram matrix of the features is singular",
                               "move n away from the interpolation threshold d (d+1) or use lam > 0")
    return sol.reshape(d, d + 1)


def pool_master_error(W: np.ndarray, ell: int, rho: float, test_cov: np.ndarray | None = None) -> float:
    """Test error on w ~ N(0, test_cov) (default I_d), noisy query, of the master optimum Gamma*(Sigma = I/d,
    Sigma_w = W^T W / k, n = ell, sigma2 = rho): reduced loss at Sigma_w = test_cov plus rho (numerics.one_layer.closed_form)."""
    k, d = W.shape
    S = np.eye(d) / d
    R = W.T @ W / k
    G = OneLayer(Setting.make(S, ell, Sigma_w=R, sigma2=rho)).gamma_star()
    return OneLayer(Setting.make(S, ell, Sigma_w=test_cov, sigma2=rho)).reduced_loss(G) + rho


def loglog_slope(ds, errs) -> float:
    """Least-squares slope of log|err| on log d."""
    return float(np.polyfit(np.log(np.asarray(ds, float)), np.log(np.abs(np.asarray(errs, float))), 1)[0])


def slope_se(ds, errs, ses) -> float:
    """Standard error of ``loglog_slope`` from the standard errors ``ses`` of the errors (delta method:
    se(log|e|) = se/|e|, the least-squares slope is linear in the log errors)."""
    l = np.log(np.asarray(ds, float))
    c = (l - l.mean()) / np.sum((l - l.mean()) ** 2)
    return float(np.sqrt(np.sum((c * np.asarray(ses, float) / np.abs(np.asarray(errs, float))) ** 2)))
