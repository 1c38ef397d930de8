"""Exact moments E[x^alpha] = E[prod_j x_j^alpha_j] of random vectors, for brute-force derivations.

Three laws, each a callable ``moments(alpha) -> value`` with a cache keyed by the exponent tuple:

- ``GaussianMoments(C)``: x ~ N(0, C). Isserlis / Wick: E[x^alpha] is the sum over perfect pairings
  of the multiset of indices of the products of covariances. Computed by the Gaussian integration-
  by-parts recursion (Stein's lemma), which groups equal pairings instead of listing them:

      E[x_i f(x)] = sum_j C_ij E[d_j f(x)]   ==>   E[x^(a + e_i)] = sum_j a_j C_ij E[x^(a - e_j)].

- ``IndependentMoments(coordinate_moments)``: independent coordinates, E[x^alpha] = prod_j m_j(alpha_j).
  ``IndependentMoments.scaled(variances, law)`` is x_j = sqrt(v_j) s_j with s_j iid standardized of a
  named law, so m_j(k) = v_j^(k/2) mu_k (k even; odd moments of the symmetric laws vanish). This is
  x = Sigma^{1/2} s for a diagonal Sigma, with no square roots left in the answer.

- ``LinearImageMoments(A, law)``: x = A s with s iid standardized (any A, e.g. A = Sigma^{1/2}).
  Joint cumulants of a linear image of independent coordinates are
  kappa(x_{a_1}, ..., x_{a_r}) = kappa_r(s) sum_i A_{a_1 i} ... A_{a_r i}, and a moment is the sum over
  set partitions of the positions of the product of the blocks' joint cumulants.

Entries (covariances, variances, A, the law's moments) may be sympy numbers or symbols, Fractions,
or elements of a sympy polynomial ring: only +, * and ** by non-negative integers are used, so the
same code serves exact rational arithmetic, symbolic Sigma and fast sparse-polynomial derivations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from math import comb, factorial
from typing import Any

import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from iclcheck.theory.errors import InputError

__all__ = [
    "GaussianMoments",
    "IndependentMoments",
    "LinearImageMoments",
    "LAWS",
    "cumulants_from_moments",
    "gaussian_expectation",
    "standardized_moment",
]

LAWS = ("gaussian", "uniform", "rademacher")


def standardized_moment(law: str, k: int) -> sp.Rational:
    """E s^k for s standardized (mean 0, variance 1) of the named symmetric law.

    gaussian: (k-1)!! ;  uniform on [-sqrt3, sqrt3]: 3^(k/2) / (k+1) ;  rademacher (+-1): 1  (k even), 0 (k odd).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InputError("moment order k", f"must be a non-negative integer, got {k!r}")
    if law not in LAWS:
        raise InputError("law", f"unknown law {law!r}; choose one of {', '.join(LAWS)}")
    if k % 2:
        return sp.Integer(0)
    if law == "gaussian":
        return sp.factorial2(k - 1) if k > 0 else sp.Integer(1)
    if law == "uniform":
        return sp.Integer(3) ** (k // 2) / (k + 1)
    return sp.Integer(1)


def cumulants_from_moments(mu: Callable[[int], Any], r_max: int) -> list[Any]:
    """[kappa_0 .. kappa_{r_max}] of a scalar law from its raw moments mu(k) (mu(0) = 1):
    kappa_r = mu_r - sum_{m=1}^{r-1} C(r-1, m-1) kappa_m mu_{r-m}."""
    kap: list[Any] = [0]
    for r in range(1, r_max + 1):
        val = mu(r)
        for m in range(1, r):
            val = val - comb(r - 1, m - 1) * kap[m] * mu(r - m)
        kap.append(val)
    return kap


def _check_alpha(alpha: Sequence[int], d: int) -> tuple[int, ...]:
    a = tuple(int(k) for k in alpha)
    if len(a) != d or any(k < 0 for k in a):
        raise InputError("exponent", f"need {d} non-negative integers, got {tuple(alpha)!r}")
    return a


class GaussianMoments:
    """E[x^alpha] for x ~ N(0, C) (Isserlis), cached. ``C``: d x d symmetric (nested sequence or Matrix)."""

    def __init__(self, C: Any, *, zero: Any = 0, one: Any = 1):
        rows = [list(C.row(i)) for i in range(C.rows)] if isinstance(C, sp.MatrixBase) else [list(r) for r in C]
        d = len(rows)
        if any(len(r) != d for r in rows):
            raise InputError("covariance C", "must be square")
        self.C = rows
        self.d = d
        self._zero, self._one = zero, one
        self._cache: dict[tuple[int, ...], Any] = {(0,) * d: one}

    def __call__(self, alpha: Sequence[int]) -> Any:
        return self._moment(_check_alpha(alpha, self.d))

    def _moment(self, a: tuple[int, ...]) -> Any:
        hit = self._cache.get(a)
        if hit is not None:
            return hit
        if sum(a) % 2:
            val = self._zero
        else:
            i = next(k for k, e in enumerate(a) if e)
            rest = list(a)
            rest[i] -= 1  # E[x_i x^rest] = sum_j rest_j C_ij E[x^(rest - e_j)]
            val = self._zero
            for j, e in enumerate(rest):
                if e == 0:
                    continue
                cij = self.C[i][j]
                if cij == 0:
                    continue
                sub = list(rest)
                sub[j] -= 1
                val = val + e * cij * self._moment(tuple(sub))
        self._cache[a] = val
        return val


class IndependentMoments:
    """E[x^alpha] = prod_j m_j(alpha_j) for independent coordinates; ``coordinate_moments[j](k) = E x_j^k``."""

    def __init__(self, coordinate_moments: Sequence[Callable[[int], Any]], *, one: Any = 1):
        self.m = list(coordinate_moments)
        self.d = len(self.m)
        self._one = one
        self._cache: dict[tuple[int, ...], Any] = {}

    @classmethod
    def scaled(cls, variances: Sequence[Any], law: str, *, one: Any = 1) -> IndependentMoments:
        """x_j = sqrt(v_j) s_j, s_j iid standardized of ``law``: E x_j^k = v_j^(k/2) mu_k for even k, else 0."""
        if law not in LAWS:
            raise InputError("law", f"unknown law {law!r}; choose one of {', '.join(LAWS)}")

        def coord(v: Any) -> Callable[[int], Any]:
            return lambda k: 0 if k % 2 else standardized_moment(law, k) * v ** (k // 2)

        return cls([coord(v) for v in variances], one=one)

    def __call__(self, alpha: Sequence[int]) -> Any:
        a = _check_alpha(alpha, self.d)
        hit = self._cache.get(a)
        if hit is None:
            hit = self._one
            for j, k in enumerate(a):
                if k:
                    hit = hit * self.m[j](k)
            self._cache[a] = hit
        return hit


class LinearImageMoments:
    """E[x^alpha] for x = A s, s iid standardized with moments ``law_moment(k)`` (or a law name).

    Moment = sum over set partitions pi of the positions of prod_{B in pi} kappa_|B| sum_i prod_{a in B} A_{a i}
    (blocks of size 1 vanish: kappa_1 = 0)."""

    def __init__(self, A: Any, law: str | Callable[[int], Any], *, zero: Any = 0, one: Any = 1):
        rows = [list(A.row(i)) for i in range(A.rows)] if isinstance(A, sp.MatrixBase) else [list(r) for r in A]
        self.A = rows
        self.d = len(rows)
        self.k = len(rows[0]) if rows else 0
        self._mu = (lambda k: standardized_moment(law, k)) if isinstance(law, str) else law
        self._zero, self._one = zero, one
        self._kappa: list[Any] = cumulants_from_moments(self._mu, 2)
        self._cache: dict[tuple[int, ...], Any] = {}
        self._block_cache: dict[tuple[int, ...], Any] = {}

    def _kap(self, r: int) -> Any:
        if r >= len(self._kappa):
            self._kappa = cumulants_from_moments(self._mu, r)
        return self._kappa[r]

    def _block(self, idx: tuple[int, ...]) -> Any:
        """Joint cumulant of (x_a)_{a in idx}: kappa_r sum_i prod_a A_{a i}."""
        hit = self._block_cache.get(idx)
        if hit is None:
            kap = self._kap(len(idx))
            if kap == 0:
                hit = self._zero
            else:
                tot = self._zero
                for i in range(self.k):
                    t = self._one
                    for a in idx:
                        t = t * self.A[a][i]
                    tot = tot + t
                hit = kap * tot
            self._block_cache[idx] = hit
        return hit

    def __call__(self, alpha: Sequence[int]) -> Any:
        a = _check_alpha(alpha, self.d)
        hit = self._cache.get(a)
        if hit is not None:
            return hit
        positions = [j for j, e in enumerate(a) for _ in range(e)]
        if not positions:
            val = self._one
        else:
            val = self._zero
            # multiset partitions of the index multiset: each distinct partition once, with its multiplicity
            for part in multiset_partitions(positions):
                if any(len(b) == 1 for b in part):
                    continue
                t = self._one
                for b in part:
                    t = t * self._block(tuple(b))
                    if t == 0:
                        break
                if t != 0:
                    val = val + _partition_count(positions, part) * t
        self._cache[a] = val
        return val


def _partition_count(positions: list[int], part: list[list[int]]) -> int:
    """How many set partitions of the labelled positions map onto this multiset partition.

    Labelled count = prod_j (alpha_j!) / (prod_B prod_j (B_j!) * prod over identical blocks (mult!))."""
    num = 1
    for c in Counter(positions).values():
        num *= factorial(c)
    den = 1
    for b in part:
        for c in Counter(b).values():
            den *= factorial(c)
    for c in Counter(tuple(b) for b in part).values():
        den *= factorial(c)
    return num // den


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
