"""Checks the proportional-asymptotics claims share (Lu et al. 2024, Letey et al. 2025): the Marchenko-Pastur branch
and identities in sympy, the reductions to the one-layer master formula, and the finite-d convergence-rate fit.

- ``check_mp_branch``: M_kappa solves the MP quadratic exactly and is its positive root (the other is negative);
- ``check_mp_identity``: m' = k* m^2 exactly (the identity that turns the pool-covariance master formula into
  Result 1's tau -> inf branch);
- ``check_master_limit``: the one-layer master formula at Sigma = I/d, Sigma_w = I, n = alpha d tends to
  rho + (1+rho)/(alpha+1+rho) as d -> inf (symbolic d, exact);
- ``check_rate``: a log-log least-squares slope of |error| against d, within a stated window.

Re-exported from their homes: ``pool_master_error`` (the master optimum trained with Sigma_w = a pool's second
moment, tested on w ~ N(0, I_d)), ``loglog_slope`` and ``slope_se`` (numerics.proportional), ``mp_sqrt``
(theory.proportional).
"""

from __future__ import annotations

import sympy as sp

from iclcheck.numerics.proportional import loglog_slope, pool_master_error, slope_se
from iclcheck.proofs.verdict import Checker
from iclcheck.theory.proportional import mp_sqrt, mp_stieltjes, proportional_master_limit

__all__ = ["X", "KAPPA", "RHO", "ALPHA", "check_master_limit", "check_mp_branch", "exact_mod_sqrt", "mp_sqrt", "check_mp_identity", "check_rate",
           "loglog_slope", "slope_se", "RATE_WINDOW", "pool_master_error"]

X, KAPPA, RHO, ALPHA = sp.symbols("x kappa rho alpha", positive=True)


def exact_mod_sqrt(chk: Checker, name: str, computed, expected, root, *, detail: str) -> None:
    """Exact equality of two expressions that are rational in their symbols and one square root ``root``: with
    s = root, the numerator of computed - expected, reduced modulo s^2 = root^2, must vanish identically (fast,
    exact; avoids sympy's simplify on nested radicals)."""
    s = sp.Symbol("s_root", positive=True)
    diff = sp.together((computed - expected).subs(root, s))
    num = sp.expand(sp.numer(diff))
    rem = sp.Poly(num, s).rem(sp.Poly(s**2 - root**2, s)).as_expr()
    chk.exact(name, sp.expand(rem), 0, detail=detail)


def check_mp_branch(chk: Checker) -> None:
    """M = 2/(b + sqrt(b^2 + 4 x/kappa)), b = x + 1 - 1/kappa, solves (x/kappa) M^2 + b M - 1 = 0 (exact), and it is
    the positive root: the roots' product is -kappa/x < 0, so the other root is negative (checked exactly too).
    Both reduced modulo the square root (``exact_mod_sqrt``)."""
    M = mp_stieltjes(X, KAPPA)
    g = 1 / KAPPA
    root = mp_sqrt(X, KAPPA)
    exact_mod_sqrt(chk, "M_kappa(x) solves the Marchenko-Pastur quadratic (x/kappa) M^2 + (x + 1 - 1/kappa) M - 1 = 0",
                   g * X * M**2 + (X + 1 - g) * M - 1, 0, root, detail="exact in symbolic x, kappa > 0 (sympy)")
    b = X + 1 - g
    root2 = (-b - root) / (2 * g * X)
    exact_mod_sqrt(chk, "the other root is -kappa/(x M_kappa(x)) < 0, so M_kappa is the positive (Stieltjes) branch",
                   root2 * M, -KAPPA / X, root, detail="product of the roots = -kappa/x (Vieta), M_kappa > 0")


def check_mp_identity(chk: Checker) -> None:
    """m' = k* m^2 with m' = -dM/dx = lim (1/d) tr (R+x)^{-2} and k* = (1 - kappa (m/(kappa+m))^2)^{-1} (exact).

    Rational parametrisation of the MP curve: the quadratic g x m^2 + (x + 1 - g) m - 1 = 0 (g = 1/kappa) is linear
    in x, x = (1 - (1-g) m)/(g m^2 + m), so dM/dx = 1/(dx/dm) and the identity is one of rational functions of (m, g)
    (fast and exact; the closed forms of theory.proportional are compared with this curve in tests)."""
    m, g = sp.symbols("m g", positive=True)
    x = (1 - (1 - g) * m) / (g * m**2 + m)
    mprime = -1 / sp.diff(x, m)
    kstar = 1 / (1 - (1 / g) * (m / (1 / g + m)) ** 2)
    chk.exact("MP identity m' = k* m^2 (m' = (1/d) tr (R+x)^-2 in the limit, k* of Result 1)",
              sp.cancel(mprime - kstar * m**2), 0,
              detail="exact identity of rational functions of (m, 1/kappa) on the MP curve (sympy)")


def check_master_limit(chk: Checker) -> None:
    """Master formula, Sigma = I/d, Sigma_w = I, sigma2 = rho, n = alpha d: everything is a multiple of I, so
    M = ((n+1)/n) / d^2 + (1 + rho)/(n d), Gamma* = (1/d) M^{-1} I and L* + rho = 1 - Gamma*/d + rho; d -> inf."""
    d = sp.Symbol("d", positive=True)
    n = ALPHA * d
    Mm = (n + 1) / n / d**2 + (1 + RHO) / (n * d)
    gam = (1 / d) / Mm
    loss = 1 - 2 * gam / d + gam**2 * Mm + RHO  # tr(W S) = 1, tr(G S W S) = gam/d, tr(G M G^T S) = gam^2 Mm
    lim = sp.limit(loss, d, sp.oo)
    chk.exact("master formula (Sigma = I/d, Sigma_w = I, n = alpha d), d -> inf: rho + (1+rho)/(alpha+1+rho)", lim,
              proportional_master_limit(ALPHA, RHO), detail="exact limit in symbolic d, alpha, rho (sympy)")


RATE_WINDOW = 0.25  # |fitted slope - derived order| allowed for the higher-order terms (O(1/d^2) next to O(1/d)) at d >= 8


def check_rate(chk: Checker, name: str, ds, errs, *, ses=None, expected: float = -1.0, detail: str = "") -> None:
    """Pass iff the log-log slope of |errs| against ds is within RATE_WINDOW (+ 3.29 standard errors of the slope when
    the errors are Monte Carlo means with standard errors ``ses``) of ``expected`` (the derived order)."""
    s = loglog_slope(ds, errs)
    se = slope_se(ds, errs, ses) if ses is not None else 0.0
    window = RATE_WINDOW + 3.29 * se
    chk.bounded(name, abs(s - expected), window, computed=s, expected=expected,
                detail=f"log-log slope {s:.3f} of |error| vs d over d = {list(ds)} (errors "
                f"{', '.join(f'{e:.3g}' for e in errs)}); expected {expected} within {RATE_WINDOW} (higher-order terms)"
                + (f" + 3.29 x {se:.3f} (slope standard error from the Monte Carlo means)" if ses is not None else "")
                + (f"; {detail}" if detail else ""))
