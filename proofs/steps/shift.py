"""Checks and notation shared by the test-setting claims (ZFB 2024 Thm 4.2 / Sec 4.2 / Thm 4.5 / Thm 4.1's limit,
Wu et al. 2024). A claim imports these, never another claim's module.

- ``ZFB_NOTATION``: ZFB's notation map (theory.notation.zhang, the one zfb2024.thm4_1 uses) plus the test-time rules;
- ``zfb_trained_gamma``: the canonical preconditioner their trained LSA implements, Gamma_ZFB^{-1} (its home is
  theory.notation.zhang, re-exported here);
- ``master_loss_symbolic``: the master reduced loss (theory.one_layer.reduced_loss_formula) for Gaussian covariates
  with a task covariance that may be symbolic (Setting only takes numbers; its home is theory.one_layer, re-exported);
- ``gaussian_expectation``: exact E of a polynomial in iid N(0, 1) variables (moments (k-1)!!), an independent route
  for (a, Cov(xy)) of nonlinear targets;
- ``wu_gamma_star``: Wu et al.'s recorded Gamma* = ((n+1)/n H + (tr H + sigma2/psi2)/n I)^{-1}; ``WU_NOTATION``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from iclcheck.theory.notation.zhang import NOTATION as _ZHANG_NOTATION
from iclcheck.theory.notation.zhang import zfb_trained_gamma
from iclcheck.theory.one_layer import SYMPY_OPS, master_loss_symbolic, reduced_M_formula

__all__ = ["MT", "NT", "WU_NOTATION", "ZFB_NOTATION", "gaussian_expectation", "limit_at_infinity", "master_gamma_star_symbolic",
           "master_loss_symbolic", "wu_gamma_star",
           "zfb_trained_gamma"]

NT = sp.Symbol("N", positive=True, integer=True)  # training prompt length
MT = sp.Symbol("M", positive=True, integer=True)  # test prompt length

ZFB_NOTATION = (_ZHANG_NOTATION + " At test time their 1/N becomes 1/M (M = the test prompt length), which is the "
                "canonical 1/n with n = M: a predictor trained at (Lambda, N) is the canonical Gamma = Gamma_ZFB^{-1} "
                "evaluated at the test setting (iclcheck.numerics.shift). Thm 4.2's error is un-halved, "
                "E(y_hat - y_q)^2 with a noisy query target: the canonical loss plus sigma2 (the canonical target "
                "w^T x_q is noiseless).")

WU_NOTATION = ("Wu et al.: x ~ N(0, H), beta ~ N(0, psi^2 I), y = x^T beta + eps, eps ~ N(0, sigma^2); "
               "f(X, y, x; Gamma) = x^T Gamma (1/n) X^T y; risk R = E(f - y)^2 (un-halved, noisy query). Canonical: "
               "Sigma = H, Sigma_w = psi^2 I, sigma2 = sigma^2, n = the context length, the canonical Gamma is theirs "
               "(x_q^T Gamma h, h = (1/n) sum y_i x_i), R = L + sigma^2 (L the canonical, noiseless-target loss).")


def master_gamma_star_symbolic(S: sp.Matrix, W: sp.Matrix, sigma2: Any, n: Any) -> sp.Matrix:
    """The master optimum W S M^{-1} (theory.one_layer.reduced_M_formula), Gaussian covariates, entries cancelled
    (faster than steps.gamma_star_symbolic's simplify for symbolic sigma2, psi2)."""
    d = S.shape[0]
    M = reduced_M_formula(S, W, sp.zeros(d, d), sp.zeros(d, 1), sigma2, n, SYMPY_OPS)
    return (W * S * M.inv()).applyfunc(sp.cancel)


def limit_at_infinity(expr: Any, sym: sp.Symbol) -> Any:
    """lim_{sym -> oo} of a rational function of sym, exactly: substitute sym = 1/t, cancel, set t = 0 (sympy's
    ``limit`` is 10x slower to load and run for this case). Returns sp.oo when the denominator vanishes at t = 0."""
    t = sp.Dummy("t", positive=True)
    num, den = sp.fraction(sp.cancel(sp.together(sp.sympify(expr).subs(sym, 1 / t))))
    d0 = sp.expand(den).subs(t, 0)
    if d0 == 0:
        return sp.oo if sp.expand(num).subs(t, 0) != 0 else sp.limit(expr, sym, sp.oo)
    return sp.cancel(sp.expand(num).subs(t, 0) / d0)


def gaussian_expectation(expr: Any, zs: list[sp.Symbol]) -> Any:
    """E[expr] for iid standard normal zs, expr a polynomial in them (other symbols are constants): each monomial
    prod z_k^{e_k} has expectation prod (e_k - 1)!! for even e_k, 0 otherwise."""
    poly = sp.Poly(sp.expand(expr), *zs)
    total = sp.Integer(0)
    for exps, coeff in poly.terms():
        if any(e % 2 for e in exps):
            continue
        m = sp.Integer(1)
        for e in exps:
            m *= sp.factorial2(e - 1) if e > 0 else 1
        total += coeff * m
    return sp.expand(total)


def wu_gamma_star(H: Any, n: Any, sigma2: Any, psi2: Any) -> Any:
    """Wu et al.'s Gamma* as recorded: ((n+1)/n H + (tr H + sigma2/psi2)/n I)^{-1} (sympy)."""
    d = H.shape[0]
    return ((n + 1) / n * H + (H.trace() + sigma2 / psi2) / n * sp.eye(d)).inv().applyfunc(sp.cancel)
