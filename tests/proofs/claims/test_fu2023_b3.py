"""fu2023.b3: the printed M_1, M_2 are refuted; the recursion's polynomials and degrees are confirmed."""

from fractions import Fraction

import numpy as np
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.numerics.algorithms.reference import newton_iterates
from iclcheck.proofs.claims.fu2023_b3 import correct_b3
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory import newton as nt
from iclcheck.theory.notation import fu


def test_quick_profile(claim_result):
    r = claim_result("fu2023.b3")
    assert r.verdict is Verdict.REFUTED
    failed = [s.name for s in r.steps if s.status == "fail"]
    assert failed and all(n.startswith("as printed") for n in failed), failed
    assert "2 alpha S - alpha^2 S^3" in r.finding and "4 alpha S - 6 alpha^2 S^3 + 4 alpha^3 S^5 - alpha^4 S^7" in r.finding


def test_correct_polynomials_by_hand():
    a, s = sp.symbols("alpha s")
    c = correct_b3(alpha=a, s=s)
    assert sp.expand(c[1] - (2 * a * s - a**2 * s**3)) == 0
    assert sp.expand(c[2] - (4 * a * s - 6 * a**2 * s**3 + 4 * a**3 * s**5 - a**4 * s**7)) == 0


def test_float_matrix_recursion_agrees_with_correct_not_printed():
    # Independent route: numerics.algorithms.reference.newton_iterates on a random float S.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    S = X.T @ X
    al = 0.5 / np.linalg.eigvalsh(S).max() ** 2
    Ms = newton_iterates(S, alpha=al, steps=2)
    a, s = sp.symbols("alpha s")
    for k, poly in correct_b3(alpha=a, s=s).items():
        coeffs = sp.Poly(poly.subs(a, al), s).all_coeffs()[::-1]  # c_0, c_1, ...
        val = sum(float(c) * np.linalg.matrix_power(S, i) for i, c in enumerate(coeffs))
        np.testing.assert_allclose(val, Ms[k], rtol=1e-9, atol=1e-12)
    printed = fu.printed_b3(alpha=a, s=s)[1].subs(a, al)
    coeffs = sp.Poly(printed, s).all_coeffs()[::-1]
    val = sum(float(c) * np.linalg.matrix_power(S, i) for i, c in enumerate(coeffs))
    assert not np.allclose(val, Ms[1])


@given(k=st.integers(0, 5), alpha=st.fractions(min_value=Fraction(1, 100), max_value=2))
@example(k=1, alpha=Fraction(1, 2))
def test_recursion_equals_closed_form_and_degree(k, alpha):
    s = sp.Symbol("s")
    a = sp.Rational(alpha.numerator, alpha.denominator)
    m = nt.newton_polys(k, alpha=a, s=s)[-1]
    assert sp.expand(m - nt.newton_closed_form(k, alpha=a, s=s)) == 0
    assert sp.Poly(m, s).degree() == 2 ** (k + 1) - 1
