"""Checks the Bayes-baseline claims share (wu2024.near_bayes_optimal, raventos2023.dmmse_ridge,
akyurek2023.ridge_bayes_constructions). A claim imports these, never another claim's module.

- ``check_ridge_is_posterior_mean``: for w ~ N(0, tau2 I) and noise sigma2 the ridge with lambda = sigma2 / tau2 is
  the posterior mean (the gradient of the log posterior vanishes there and its Hessian is -(X^T X/sigma2 + I/tau2)),
  exactly (rational arithmetic at random designs and sigma2, tau2) (NEXT-CLAIMS §13: "Akyurek / Raventos ridge lambda = sigma2 / tau2");
- ``check_bayes_within_bracket``: the Monte Carlo Bayes risk lies in its exact bracket [Jensen, OLS].

Re-exported from theory.bayes (their home): ``isotropic_risks`` (the exact one-layer optimum's loss and the exact
brackets of the Bayes risk for Sigma = I, Sigma_w = psi2 I) and ``jensen_lower_bound``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.proofs.verdict import Checker
from iclcheck.theory.bayes import (
    isotropic_risks,
    jensen_lower_bound,
    posterior_mean_exact,
    ridge_lambda,
)

__all__ = ["check_bayes_within_bracket", "check_ridge_is_posterior_mean", "isotropic_risks", "jensen_lower_bound"]


def check_ridge_is_posterior_mean(chk: Checker, rng: np.random.Generator, *, d: int = 2, n: int = 3,
                                  cases: int = 3) -> None:
    """Ridge with lambda = sigma2/tau2 is the posterior mean under w ~ N(0, tau2 I), by completing the square in exact
    rational arithmetic: log p(w | X, y) + (w - m)^T A (w - m) / 2 is the same constant at random points w, with
    m = the ridge and A = X^T X / sigma2 + I / tau2 (so the posterior is N(m, A^{-1})); at random integer designs and
    random rational sigma2, tau2 (``cases`` draws). Also the generalized ridge at Sigma_w = tau2 I equals m."""
    rows = []
    for _ in range(cases):
        X = sp.Matrix(n, d, [int(v) for v in rng.integers(-3, 4, size=n * d)])
        y = sp.Matrix(n, 1, [int(v) for v in rng.integers(-3, 4, size=n)])
        s2, t2 = (sp.Rational(int(rng.integers(1, 20)), int(rng.integers(1, 20))) for _ in range(2))
        m = (X.T * X + ridge_lambda(s2, t2) * sp.eye(d)).LUsolve(X.T * y)
        A = X.T * X / s2 + sp.eye(d) / t2

        def logpost(w, X=X, y=y, s2=s2, t2=t2):  # up to the normalising constant
            return -((y - X * w).T * (y - X * w))[0, 0] / (2 * s2) - (w.T * w)[0, 0] / (2 * t2)

        consts = set()
        for _ in range(3):
            w = sp.Matrix(d, 1, [sp.Rational(int(rng.integers(-9, 10)), int(rng.integers(1, 9))) for _ in range(d)])
            consts.add(logpost(w) + ((w - m).T * A * (w - m))[0, 0] / 2)
        same = len(consts) == 1 and posterior_mean_exact(X, y, t2 * sp.eye(d), s2) == m
        rows.append((same, f"sigma2={s2}, tau2={t2}"))
    chk.decided(f"ridge with lambda = sigma2/tau2 is the posterior mean under N(0, tau2 I): completing the square "
                f"exactly (the remainder is one constant at 3 random w), and the generalized ridge at Sigma_w = tau2 I "
                f"equals it (d={d}, n={n}, {cases} random designs)", all(ok for ok, _ in rows),
                "; ".join(f"{lab}: {'exact' if ok else 'FAILS'}" for ok, lab in rows), exact=True)


def check_bayes_within_bracket(chk: Checker, est, lower: float, upper: float, label: str) -> None:
    """The Monte Carlo Bayes risk's interval meets the exact bracket [lower, upper] (a disjoint interval fails)."""
    lo, hi = est.interval
    ok = hi >= lower and lo <= upper
    chk.decided(f"Monte Carlo Bayes risk inside its exact bracket [Jensen, OLS] ({label})", ok,
                f"{est.describe('.6g')} vs exact bracket [{lower:.6g}, {upper:.6g}]",
                computed=est.value, expected=[lower, upper])
