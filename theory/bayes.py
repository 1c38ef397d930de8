"""Exact facts about the Bayes-optimal (posterior-mean) predictor for linear regression with a Gaussian prior.

Model (canonical, docs/model.md): w ~ N(0, Sigma_w), rows x_i of X (n x d) iid with covariance
Sigma and independent of w, y = X w + eps, eps ~ N(0, sigma2 I_n), query x_q independent, target w^T x_q.

- Posterior (any law of X, since X is independent of w): w | X, y ~ N(m, C) with
      C = (X^T X / sigma2 + Sigma_w^{-1})^{-1},   m = (X^T X + sigma2 Sigma_w^{-1})^{-1} X^T y,
  the generalized ridge; for Sigma_w = tau2 I it is ridge with lambda = sigma2 / tau2.
- Bayes risk (noiseless query target): R_Bayes = E_X tr(Sigma C)  (+ sigma2 for a noisy query target).
- OLS (Gaussian X, n > d + 1): E (X^T X)^{-1} = Sigma^{-1} / (n - d - 1) (inverse Wishart), so the OLS risk is
  sigma2 d / (n - d - 1) for every Sigma, and R_Bayes / sigma2 -> d / (n - d - 1) as sigma2 -> 0.
- A finite task pool {w_1..w_K} (uniform): every predictor linear in y has a squared error quadratic in w, so its
  risk depends on the pool only through its second moment E w w^T = (1/K) sum_k w_k w_k^T (``pool_second_moment``).

Only sympy is used here (exact, symbolic n allowed); the numerics live in ``numerics.bayes``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

__all__ = ["isotropic_risks", "jensen_lower_bound", "ols_risk_exact", "pool_second_moment", "posterior_mean_exact",
           "ridge_lambda", "sherman_morrison_inverse"]


def ols_risk_exact(d: int, n: Any, sigma2: Any) -> Any:
    """E (w_OLS - w)^T Sigma (w_OLS - w) = sigma2 tr(Sigma E (X^T X)^{-1}) = sigma2 d / (n - d - 1) for Gaussian
    rows (any Sigma), n > d + 1 (infinite for n <= d + 1). ``n`` may be a sympy Symbol."""
    n = sp.sympify(n)
    sigma2 = sp.sympify(sigma2)
    if n.is_number and not bool(n > d + 1):
        return sp.oo
    return sigma2 * d / (n - d - 1)


def ridge_lambda(sigma2: Any, tau2: Any) -> Any:
    """The ridge parameter of the Bayes predictor for w ~ N(0, tau2 I): lambda = sigma2 / tau2."""
    return sp.sympify(sigma2) / sp.sympify(tau2)


def posterior_mean_exact(X: sp.Matrix, y: sp.Matrix, Sigma_w: sp.Matrix, sigma2: Any) -> sp.Matrix:
    """The generalized ridge (X^T X + sigma2 Sigma_w^{-1})^{-1} X^T y, exactly."""
    return (X.T * X + sp.sympify(sigma2) * Sigma_w.inv()).inv() * X.T * y


def sherman_morrison_inverse(Ainv: sp.Matrix, u: sp.Matrix, v: sp.Matrix) -> sp.Matrix:
    """(A + u v^T)^{-1} from A^{-1} by Sherman-Morrison: A^{-1} - A^{-1} u v^T A^{-1} / (1 + v^T A^{-1} u)."""
    den = 1 + (v.T * Ainv * u)[0, 0]
    return Ainv - (Ainv * u * v.T * Ainv) / den


def pool_second_moment(W: Any) -> sp.Matrix:
    """(1/K) sum_k w_k w_k^T for the K x d matrix of pool vectors (rows), exactly."""
    Wm = sp.Matrix(W)
    return (Wm.T * Wm) / Wm.shape[0]


def isotropic_risks(d, n, sigma2, psi2=1) -> dict[str, sp.Expr]:
    """Sigma = I, Sigma_w = psi2 I (noiseless query target), exact: the one-layer optimum's loss
    L* = d psi2 ((d+1) psi2 + sigma2) / ((n+d+1) psi2 + sigma2), the OLS risk sigma2 d/(n-d-1) (>= Bayes) and the
    Jensen bound d sigma2 psi2 / (n psi2 + sigma2) (<= Bayes: E (A + B)^{-1} >= (E A + B)^{-1} for the Wishart A)."""
    d, n, s2, p2 = (sp.sympify(v) for v in (d, n, sigma2, psi2))
    return {"lsa": d * p2 * ((d + 1) * p2 + s2) / ((n + d + 1) * p2 + s2),
            "ols": ols_risk_exact(d, n, s2) if d.is_Integer else s2 * d / (n - d - 1),
            "jensen": d * s2 * p2 / (n * p2 + s2)}


def jensen_lower_bound(Sigma: np.ndarray, Sigma_w: np.ndarray, n: int, sigma2: float) -> float:
    """tr(Sigma (n Sigma / sigma2 + Sigma_w^{-1})^{-1}) <= R_Bayes (operator convexity of the inverse)."""
    return float(np.trace(Sigma @ np.linalg.inv(n * Sigma / sigma2 + np.linalg.inv(Sigma_w))))
