"""Xie, Yuan, Rossi, Hannagan (2025), arXiv 2512.04268 (partial read): a task prior with non-zero mean.

Their setting in the canonical model: x ~ N(0, I_d), w ~ N(mu, I_d), y = w^T x + N(0, sigma2), query label
noiseless; with h = (1/n) X^T y and S = X^T X / n (Wishart moments E S = I, E S^2 = (n+d+1)/n I) the risks of the
one-layer predictors are quadratics in at most two coefficients, solved exactly here (``risks``).
"""

from __future__ import annotations

import sympy as sp

__all__ = ["risks"]


def risks(m, d, n, s2):
    """Exact optimal risks (GD from 0, LSA family, GD from mu) and the LSA optimum (alpha, gamma); m = |mu|^2."""
    s = sp.Rational(n + d + 1, n)  # E S^2 = s I
    a, g = sp.symbols("alpha gamma")
    R = (a**2 * s * m + g**2 * (s * (m + d) + s2 * sp.Rational(d, n)) + (m + d) + 2 * a * g * s * m - 2 * a * m
         - 2 * g * (m + d))
    sol = sp.solve([sp.diff(R, a), sp.diff(R, g)], [a, g], dict=True)[0]
    r_lsa = sp.simplify(R.subs(sol))
    g0 = sp.solve(sp.diff(R.subs(a, 0), g), g)[0]
    r_gd0 = sp.simplify(R.subs({a: 0, g: g0}))
    Rm = g**2 * (s * d + s2 * sp.Rational(d, n)) + d - 2 * g * d  # the residual problem u = w - mu ~ N(0, I)
    r_gdmu = sp.simplify(Rm.subs(g, sp.solve(sp.diff(Rm, g), g)[0]))
    return r_gd0, r_lsa, r_gdmu, (sol[a], sol[g])
