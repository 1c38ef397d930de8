"""Exact full-matrix losses by Wick's theorem: E tr of words C_0 S C_1 S ... in S = (1/n) X^T X, and the
L-layer condition-(8) loss for arbitrary A_l (no restriction to a family)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from iclcheck.numerics.families.quadrature import problem_from
from iclcheck.theory.errors import InputError

__all__ = ["full_gd_loss", "word_expectation"]


@lru_cache(maxsize=16)
def _word_pairings(k: int) -> tuple[tuple[int, tuple[tuple[tuple[int, bool], ...], ...]], ...]:
    """Wick structure of E tr(C_0 S C_1 S ... C_{k-1} S), S = (1/n) sum_a x_a x_a^T, x_a ~ N(0, I).

    The trace is prod_t x_{a_t}^T C_t x_{a_{t+1}} (cyclic). Slots 2t (left of factor t, sample a_t) and
    2t+1 (right of factor t, sample a_{t+1}). A pairing of the 2k slots identifies sample labels (each
    class of labels contributes a factor n) and closes the coordinate indices into cycles, each a trace
    of a product of C_t or C_t^T. Returns, per pairing, (#label classes, cycles as ((t, transposed), ...))."""
    slots = list(range(2 * k))
    label = [t if s % 2 == 0 else (t + 1) % k for s in slots for t in [s // 2]]
    out = []

    def pairings(items):
        if not items:
            yield []
            return
        a = items[0]
        for i in range(1, len(items)):
            for rest in pairings(items[1:i] + items[i + 1:]):
                yield [(a, items[i]), *rest]

    for pr in pairings(slots):
        partner = {}
        par = list(range(k))

        def find(x: int, par: list[int] = par) -> int:
            while par[x] != x:
                par[x] = par[par[x]]
                x = par[x]
            return x

        for u, v in pr:
            partner[u], partner[v] = v, u
            ru, rv = find(label[u]), find(label[v])
            if ru != rv:
                par[ru] = rv
        classes = len({find(x) for x in range(k)})
        seen = [False] * (2 * k)
        cycles = []
        for s0 in slots:
            if seen[s0]:
                continue
            cyc = []
            s = s0
            while not seen[s]:
                t = s // 2
                other = s ^ 1  # the other slot of factor t
                seen[s] = seen[other] = True
                cyc.append((t, s % 2 == 1))  # entering at the right slot: traverse C_t transposed
                s = partner[other]
            cycles.append(tuple(cyc))
        out.append((classes, tuple(cycles)))
    return tuple(out)


def word_expectation(Cs: list[np.ndarray], n: int) -> float:
    """E tr(C_0 S C_1 S ... C_{k-1} S) for S = (1/n) X^T X, X (n x d) iid N(0, 1), exactly (Wick)."""
    k = len(Cs)
    if k == 0:
        raise InputError("word", "needs at least one matrix")
    total = 0.0
    CT = [C.T for C in Cs]
    for classes, cycles in _word_pairings(k):
        val = float(n) ** classes
        for cyc in cycles:
            M = np.eye(Cs[0].shape[0])
            for t, tr in cyc:
                M = M @ (CT[t] if tr else Cs[t])
            val *= np.trace(M)
            if val == 0.0:
                break
        total += val
    return total / float(n) ** k


def _mul_terms(P: list[tuple[np.ndarray, ...]], Q: list[tuple[np.ndarray, ...]]) -> list[tuple[np.ndarray, ...]]:
    """Product of two matrix polynomials in S; a term (C_0, ..., C_j) means C_0 S C_1 S ... S C_j."""
    return [(*p[:-1], p[-1] @ q[0], *q[1:]) for p in P for q in Q]


def full_gd_loss(As: list[np.ndarray], problem: Any, Bs: list[np.ndarray] | None = None) -> float:
    """Exact loss of L layers under (8) with arbitrary full matrices A_l (whitened frame: Sigma = I,
    w ~ N(0, I), noise sigma2), by Wick's theorem on the expanded words:
    f = E tr(M^T M) + (sigma2/n) E tr(R S R^T), M = prod_{l=L-1..0} (I - A_l^T S), R = sum_l N_l A_l^T,
    N_l = prod_{m=L-1..l+1} (I - A_m^T S). Cost grows like 4^L (2L-1)!!: meant for L <= 2 (L = 3 slow).
    For a covariance Sigma with w ~ N(0, Sigma^-1) pass Sigma^{1/2} A_l Sigma^{1/2} (whitening)."""
    if Bs is not None:
        raise InputError("B", "full-matrix exact loss is implemented for condition (8) only")
    pr = problem_from(problem)
    d = pr.d
    I = np.eye(d)
    Ms: list[tuple[np.ndarray, ...]] = [(I,)]
    R: list[tuple[np.ndarray, ...]] = []
    for A in As:
        step = [(I,), (-A.T, I)]  # I - A^T S
        Ms = _mul_terms(step, Ms)
        R = _mul_terms(step, R) + [(A.T,)]

    def tr_terms(T: list[tuple[np.ndarray, ...]]) -> float:
        tot = 0.0
        for term in T:
            if len(term) == 1:
                tot += float(np.trace(term[0]))
            else:
                tot += word_expectation([term[-1] @ term[0], *term[1:-1]], pr.n)
        return tot
    MT = [tuple(C.T for C in reversed(t)) for t in Ms]
    f = tr_terms(_mul_terms(MT, Ms))
    if pr.sigma2 and R:
        RT = [tuple(C.T for C in reversed(t)) for t in R]
        f += pr.sigma2 / pr.n * tr_terms(_mul_terms(_mul_terms(R, [(I, I)]), RT))
    return f

