"""Exact moments against brute-force enumeration, exact integration, known constants and Monte Carlo."""

import itertools
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from iclcheck.theory.errors import InputError
from iclcheck.theory.moments import (
    GaussianMoments,
    IndependentMoments,
    LinearImageMoments,
    cumulants_from_moments,
    standardized_moment,
)


def _pairings(items):
    """All perfect matchings of a list (naive enumeration: (k-1)!! of them)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for i in range(len(rest)):
        for tail in _pairings(rest[:i] + rest[i + 1:]):
            yield [(first, rest[i]), *tail]


def _wick_by_enumeration(C, alpha):
    positions = [j for j, e in enumerate(alpha) for _ in range(e)]
    if len(positions) % 2:
        return 0
    total = 0
    for pairing in _pairings(positions):
        t = 1
        for a, b in pairing:
            t *= C[a][b]
        total += t
    return total


def _random_spd_rational(rng, d):
    A = [[rng.randint(-2, 2) for _ in range(d)] for _ in range(d)]
    return [
        [Fraction(sum(A[i][k] * A[j][k] for k in range(d)) + (3 if i == j else 0), rng.randint(1, 3)) for j in range(d)]
        for i in range(d)
    ]


def test_standard_gaussian_moments_are_the_known_constants():
    g = GaussianMoments([[1]])
    # E g^k for g ~ N(0,1): 1, 0, 1, 0, 3, 0, 15, 0, 105 (the double factorials (k-1)!!)
    assert [g((k,)) for k in range(9)] == [1, 0, 1, 0, 3, 0, 15, 0, 105]
    assert [standardized_moment("gaussian", k) for k in (2, 4, 6, 8)] == [1, 3, 15, 105]


def test_named_laws_moments_by_exact_integration_and_enumeration():
    s = sp.Symbol("s")
    r3 = sp.sqrt(3)
    for k in range(0, 9):
        uniform = sp.integrate(s**k, (s, -r3, r3)) / (2 * r3)  # density 1/(2 sqrt3) on [-sqrt3, sqrt3]
        assert sp.simplify(standardized_moment("uniform", k) - uniform) == 0
        rademacher = sp.Rational((1 + (-1) ** k), 2)  # (1^k + (-1)^k) / 2
        assert standardized_moment("rademacher", k) == rademacher
    assert standardized_moment("uniform", 4) == sp.Rational(9, 5)


@pytest.mark.parametrize("seed", range(4))
def test_isserlis_recursion_equals_pairing_enumeration(seed):
    rng = random.Random(seed)
    d = rng.randint(1, 4)
    C = _random_spd_rational(rng, d)
    mom = GaussianMoments(C)
    for _ in range(12):
        alpha = tuple(rng.randint(0, 3) for _ in range(d))
        if sum(alpha) > 8:
            continue
        assert mom(alpha) == _wick_by_enumeration(C, alpha), alpha


def test_isserlis_with_symbolic_covariance():
    a, b, c = sp.symbols("a b c")
    mom = GaussianMoments(sp.Matrix([[a, b], [b, c]]))
    assert sp.expand(mom((2, 2)) - (a * c + 2 * b**2)) == 0
    assert sp.expand(mom((3, 1)) - 3 * a * b) == 0
    assert sp.expand(mom((4, 2)) - (3 * a**2 * c + 12 * a * b**2)) == 0


def test_independent_scaled_coordinates_by_enumeration():
    v = [Fraction(1, 2), Fraction(3)]
    rad = IndependentMoments.scaled(v, "rademacher")
    for alpha in itertools.product(range(5), repeat=2):
        # x_j = sqrt(v_j) s_j with s uniform on {-1,1}^2: average over the four sign vectors
        expect = sp.Rational(0)
        for signs in itertools.product((-1, 1), repeat=2):
            t = sp.Integer(1)
            for j in range(2):
                t *= (sp.sqrt(sp.Rational(v[j].numerator, v[j].denominator)) * signs[j]) ** alpha[j]
            expect += t / 4
        assert sp.nsimplify(rad(alpha)) == sp.simplify(expect), alpha


def test_linear_image_rademacher_by_enumeration():
    A = sp.Matrix([[1, 2, 0], [-1, 1, 3]])  # x = A s, s in {-1,1}^3
    mom = LinearImageMoments(A, "rademacher")
    for alpha in [(2, 0), (0, 2), (1, 1), (2, 2), (4, 0), (3, 1), (1, 3), (4, 2), (3, 3), (2, 1)]:
        expect = sp.Integer(0)
        for signs in itertools.product((-1, 1), repeat=3):
            x = A @ sp.Matrix(signs)
            expect += x[0] ** alpha[0] * x[1] ** alpha[1]
        assert mom(alpha) == expect / 8, alpha


def test_linear_image_uniform_by_exact_integration():
    A = sp.Matrix([[1, 1], [0, 2]])
    mom = LinearImageMoments(A, "uniform")
    s1, s2 = sp.symbols("s1 s2")
    r3 = sp.sqrt(3)
    x = A @ sp.Matrix([s1, s2])
    for alpha in [(2, 2), (4, 0), (1, 3)]:
        integrand = sp.expand(x[0] ** alpha[0] * x[1] ** alpha[1])
        expect = sp.integrate(integrand, (s1, -r3, r3), (s2, -r3, r3)) / 12
        assert sp.simplify(mom(alpha) - expect) == 0, alpha


def test_linear_image_gaussian_is_isserlis_of_AAt():
    A = sp.Matrix([[1, 0, 2], [1, sp.sqrt(2), 0], [0, 1, 1]])
    lin = LinearImageMoments(A, "gaussian")
    iss = GaussianMoments(A @ A.T)
    for alpha in itertools.product(range(3), repeat=3):
        assert sp.expand(lin(alpha) - iss(alpha)) == 0, alpha


def test_cumulants_of_named_laws():
    k_g = cumulants_from_moments(lambda k: standardized_moment("gaussian", k), 8)
    assert k_g[2] == 1 and all(k == 0 for k in k_g[3:])
    k_u = cumulants_from_moments(lambda k: standardized_moment("uniform", k), 4)
    assert k_u[4] == sp.Rational(9, 5) - 3  # excess kurtosis of the uniform law is -6/5


def test_mixed_moment_against_monte_carlo():
    """E[x1^2 x2 x3] for x = A s with uniform s (mixed, non-Gaussian): exact value inside a 99.9% CLT interval."""
    A = sp.Matrix([[1, 0, 0], [1, 1, 0], [1, -1, 2]])
    exact = float(LinearImageMoments(A, "uniform")((2, 1, 1)))
    rng = np.random.default_rng(0)
    s = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(400_000, 3))  # (N, 3)
    x = s @ np.array(A, dtype=float).T  # (N, 3)
    v = x[:, 0] ** 2 * x[:, 1] * x[:, 2]  # (N,)
    half = 3.29 * v.std(ddof=1) / np.sqrt(v.size)  # 99.9% two-sided normal quantile
    assert abs(v.mean() - exact) <= half, (v.mean(), exact, half)


def test_bad_input_names_the_input():
    with pytest.raises(InputError, match="exponent"):
        GaussianMoments([[1]])((1, 2))
    with pytest.raises(InputError, match="law"):
        standardized_moment("cauchy", 2)
    with pytest.raises(InputError, match="moment order"):
        standardized_moment("gaussian", -1)
