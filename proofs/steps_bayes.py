"""Checks the Bayes-baseline claims share (wu2024.near_bayes_optimal, raventos2023.dmmse_ridge,
akyurek2023.ridge_bayes_constructions). A claim imports these, never another claim's module.

- ``check_ridge_is_posterior_mean``: for w ~ N(0, tau2 I) and noise sigma2 the ridge with lambda = sigma2 / tau2 is
  the posterior mean (the gradient of the log posterior vanishes there and its Hessian is -(X^T X/sigma2 + I/tau2)),
  exactly, with symbolic sigma2 and tau2 (NEXT-CLAIMS §13: "Akyurek / Raventos ridge lambda = sigma2 / tau2");
- ``isotropic_risks``: the exact one-layer optimum's loss and the exact brackets of the Bayes risk for Sigma = I,
  Sigma_w = psi2 I (OLS above, Jensen below), as sympy expressions;
- ``check_bayes_within_bracket``: the Monte Carlo Bayes risk lies in its exact bracket [Jensen, OLS].
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.proofs.verdict import Checker
from iclcheck.theory.bayes import ols_risk_exact, posterior_mean_exact, ridge_lambda

__all__ = ["check_bayes_within_bracket", "check_ridge_is_posterior_mean", "isotropic_risks", "jensen_lower_bound"]

SIGMA2 = sp.Symbol("sigma2", positive=True)
TAU2 = sp.Symbol("tau2", positive=True)


def check_ridge_is_posterior_mean(chk: Checker, rng: np.random.Generator, *, d: int = 2, n: int = 3) -> None:
    """Ridge with lambda = sigma2/tau2 is the posterior mean under w ~ N(0, tau2 I): exact, symbolic sigma2, tau2,
    at a random integer design (X, y)."""
    X = sp.Matrix(n, d, [int(v) for v in rng.integers(-3, 4, size=n * d)])
    y = sp.Matrix(n, 1, [int(v) for v in rng.integers(-3, 4, size=n)])
    lam = ridge_lambda(SIGMA2, TAU2)
    w_ridge = (X.T * X + lam * sp.eye(d)).inv() * X.T * y
    w = sp.Matrix(sp.symbols(f"w0:{d}"))
    logpost = -((y - X * w).T * (y - X * w))[0, 0] / (2 * SIGMA2) - (w.T * w)[0, 0] / (2 * TAU2)
    grad = sp.Matrix([sp.diff(logpost, wi) for wi in w]).subs(dict(zip(w, w_ridge, strict=True)))
    chk.exact(f"ridge with lambda = sigma2/tau2 zeroes the log-posterior gradient (d={d}, n={n}, symbolic sigma2, "
              "tau2)", grad, sp.zeros(d, 1))
    H = sp.hessian(logpost, list(w))
    chk.exact("log posterior is quadratic with Hessian -(X^T X/sigma2 + I/tau2): the posterior is Gaussian, its mean "
              "the ridge", H, -(X.T * X / SIGMA2 + sp.eye(d) / TAU2))
    chk.exact("the generalized ridge (X^T X + sigma2 Sigma_w^{-1})^{-1} X^T y at Sigma_w = tau2 I is the same ridge",
              posterior_mean_exact(X, y, TAU2 * sp.eye(d), SIGMA2), w_ridge)


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


def check_bayes_within_bracket(chk: Checker, est, lower: float, upper: float, label: str) -> None:
    """The Monte Carlo Bayes risk's interval meets the exact bracket [lower, upper] (a disjoint interval fails)."""
    lo, hi = est.interval
    ok = hi >= lower and lo <= upper
    chk.decided(f"Monte Carlo Bayes risk inside its exact bracket [Jensen, OLS] ({label})", ok,
                f"{est.describe('.6g')} vs exact bracket [{lower:.6g}, {upper:.6g}]",
                computed=est.value, expected=[lower, upper])
