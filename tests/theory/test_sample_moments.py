"""Exact Gaussian sample-covariance moments: the Stein recursion against Wick-pairing enumeration,
classical closed forms and Monte Carlo."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.theory.errors import InputError
from iclcheck.theory.sample_moments import (
    d_sym,
    n_sym,
    pairing_moment,
    sample_cov_moment,
    trace_moments,
    wishart_moment,
)


def _partitions(total):
    def rec(rem, mx):
        if rem == 0:
            yield ()
            return
        for k in range(min(rem, mx), 0, -1):
            for rest in rec(rem - k, k):
                yield (k, *rest)
    return list(rec(total, total))


@pytest.mark.parametrize("ks", [p for t in range(1, 6) for p in _partitions(t)])
def test_recursion_equals_pairing_enumeration_symbolic(ks):
    assert sp.expand(wishart_moment(ks, n=n_sym, d=d_sym) - pairing_moment(ks, n=n_sym, d=d_sym)) == 0


def test_classical_closed_forms():
    n, d = n_sym, d_sym
    assert sp.expand(wishart_moment((1,), n=n, d=d) - n * d) == 0
    assert sp.expand(wishart_moment((2,), n=n, d=d) - n * d * (n + d + 1)) == 0
    assert sp.expand(wishart_moment((3,), n=n, d=d) - n * d * (n**2 + d**2 + 3 * n * d + 3 * n + 3 * d + 4)) == 0
    # Var tr W = 2 n d (chi-square with nd degrees of freedom)
    assert sp.expand(wishart_moment((1, 1), n=n, d=d) - (n * d) ** 2 - 2 * n * d) == 0


def test_degree_six_against_enumeration_numeric():
    assert wishart_moment((6,), n=3, d=2) == pairing_moment((6,), n=3, d=2)
    assert wishart_moment((3, 2, 1), n=4, d=3) == pairing_moment((3, 2, 1), n=4, d=3)


@given(n=st.integers(1, 6), d=st.integers(1, 4), ks=st.lists(st.integers(0, 3), min_size=1, max_size=3))
@example(n=1, d=1, ks=[3, 0])
def test_numeric_equals_enumeration(n, d, ks):
    if sum(ks) > 5:
        ks = ks[:1]
    extra = d ** sum(1 for k in ks if k == 0)
    assert wishart_moment(ks, n=n, d=d) == pairing_moment(ks, n=n, d=d) * extra


def test_symbolic_and_numeric_agree_for_k12():
    m_sym = trace_moments(12, n=n_sym, d=d_sym)
    m_num = trace_moments(12, n=20, d=5)
    for a, b in zip(m_sym, m_num, strict=True):
        assert sp.simplify(sp.sympify(a).subs({n_sym: 20, d_sym: 5}) - b) == 0


def test_monte_carlo():
    rng = np.random.default_rng(11)
    n, d, B = 7, 3, 200_000
    X = rng.standard_normal((B, n, d))
    S = X.transpose(0, 2, 1) @ X / n  # (B, d, d)
    ev = np.linalg.eigvalsh(S)  # (B, d)
    z = 3.9  # two-sided 99.99% normal quantile: 8 checks, Bonferroni well below 1e-3 overall
    for ks in [(1,), (2,), (3,), (4,), (2, 1), (1, 1, 1), (3, 2)]:
        v = np.prod([np.sum(ev**k, axis=1) for k in ks], axis=0)
        mean, se = v.mean(), v.std(ddof=1) / np.sqrt(B)
        exact = float(sample_cov_moment(ks, n=n, d=d))
        assert abs(mean - exact) <= z * se, (ks, mean, exact, se)


def test_bad_input():
    with pytest.raises(InputError, match="n"):
        wishart_moment((2,), n=0, d=3)
    with pytest.raises(InputError, match="exponents"):
        wishart_moment((-1,), n=2, d=3)
    with pytest.raises(InputError, match="K"):
        trace_moments(-1, n=2, d=2)
