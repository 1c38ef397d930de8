"""ahn2023.eq7: confirmed; n/(n+d+1) recomputed here from eq. (7)'s printed fraction with Fractions."""

from fractions import Fraction

import sympy as sp

from iclcheck.proofs.claims.ahn2023_eq7 import N
from iclcheck.proofs.verdict import Verdict


def test_verdict_and_scalar(claim_result):
    res = claim_result("ahn2023.eq7")
    assert res.verdict is Verdict.CONFIRMED
    derived = [s for s in res.steps if s.name.startswith("derived Gamma* = eq. (7) scalar * I_")]
    assert len(derived) >= 3
    for s in derived:
        d = sp.Matrix(s.computed).shape[0]
        for n in (1, 2, 7, 50):
            printed = 1 / (Fraction(n - 1, n) + Fraction(d + 2, n))
            got = sp.Matrix(s.computed).subs(N, n)
            assert got == sp.Rational(printed.numerator, printed.denominator) * sp.eye(d)
