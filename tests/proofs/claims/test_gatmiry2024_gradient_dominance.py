"""gatmiry2024.gradient_dominance: the PL constant by an independent route: explicit Euler on the tied loss of
numerics.families.restricted (theory.multilayer's family at equal coefficients), with the derivative by central differences; along
its tail (f - f*)/f'^2 tends to 1/(2 f''(a*)), f'' from the exact sympy polynomial of tied_gd_loss_exact."""

import sympy as sp

from iclcheck.numerics.families.restricted import optimal_tied_gd, tied_gd_loss, tied_gd_loss_exact
from iclcheck.proofs.verdict import Verdict


def test_verdict(claim_result):
    res = claim_result("gatmiry2024.gradient_dominance")
    assert res.verdict is Verdict.INCONCLUSIVE
    assert [s.status.value for s in res.steps].count("inconclusive") == 1


def test_pl_ratio_along_euler():
    d, n, L = 5, 20, 3
    opt = optimal_tied_gd((d, n), L)
    var, f_exact = tied_gd_loss_exact(L, n=n, d=d)
    fpp = float(sp.diff(f_exact, var, 2).subs(var, opt.a))
    a, h, eps = 0.0, 0.01, 1e-5
    ratios = []
    for _ in range(3000):
        g = (tied_gd_loss(a + eps, L, (d, n)) - tied_gd_loss(a - eps, L, (d, n))) / (2 * eps)
        gap = tied_gd_loss(a, L, (d, n)) - opt.loss
        if 1e-9 < gap < 1e-5:
            ratios.append(gap / g**2)
        a -= h * g
    assert abs(a - opt.a) < 1e-8
    assert ratios and abs(ratios[-1] * 2 * fpp - 1) < 1e-2
