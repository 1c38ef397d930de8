"""[Collins, Parulekar, Mokhtari, Sanghavi, Shakkottai 2024, abstract] on low-rank linear problems softmax
attention learns to project onto the relevant subspace (arXiv 2402.11639).

Setting: x ~ N(0, I_d), d = 4, f(x) = w^T B^T x with B = e_1 (rank 1, shared by all tasks) and w ~ N(0, 1) per prompt,
y = f(x) + N(0, 0.3^2); one softmax head with M = a B B^T + b (I - B B^T). Exact (Gaussian tilting, theory.softmax):
the n -> infinity output is w^T B^T M x_q = a w^T B^T x_q, so the limit is unbiased iff a = 1, whatever b. At finite n
Monte Carlo (common random numbers over a grid of (a, b)) puts the optimum at a ~ 1 and b = 0: the attention keeps
only the subspace B. Covariates are Gaussian here (the statement's covariate law is not read); on the sphere the
projected score is not a distance kernel and the optimum keeps b > 0 (reported by the test, not a verdict).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker
from iclcheck.theory.softmax import tilting_limit

KEY = "collins2024.low_rank_projection"
SOURCE = "[Collins, Parulekar, Mokhtari, Sanghavi, Shakkottai 2024, abstract; sections not read] arXiv 2402.11639"
STATEMENT = ("On low-rank, linear problems, the attention unit learns to project onto the appropriate subspace before "
             "inference.")
NOTATION = (
    "Their attention softmax(x_i^T M x_q) with M = w_KQ-type matrix is the canonical softmax head Q = [[M, 0], [0, 0]], "
    "P = -e e^T; 'projects onto the subspace' read as: the optimal M is a B B^T (b = 0 on the complement). Gaussian "
    "covariates, d = 4, rank 1 (B = e_1), noise sd 0.3, query label noiseless."
)
A_GRID, B_GRID = (0.5, 1.0, 2.0), (0.0, 0.2, 0.5)
Z999 = 3.2905


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(B=2_500), thorough=dict(B=12_000))


def risks(rng: np.random.Generator, B: int, n: int, d: int = 4, sigma: float = 0.3) -> np.ndarray:
    """(B, len(A_GRID), len(B_GRID)) squared errors with common prompts across the grid."""
    x = rng.standard_normal((B, n + 1, d))
    w = rng.standard_normal(B)
    f = w[:, None] * x[:, :, 0]
    y = f[:, :n] + sigma * rng.standard_normal((B, n))
    s1 = x[:, :n, 0] * x[:, n, 0][:, None]  # (B, n) score on the subspace
    s2 = np.einsum("bnd,bd->bn", x[:, :n, 1:], x[:, n, 1:])  # (B, n) score on its complement
    E = np.empty((B, len(A_GRID), len(B_GRID)))
    for i, a in enumerate(A_GRID):
        for j, b in enumerate(B_GRID):
            z = a * s1 + b * s2
            e = np.exp(z - z.max(axis=1, keepdims=True))
            E[:, i, j] = (np.einsum("bn,bn->b", e, y) / e.sum(axis=1) - f[:, n]) ** 2
    return E


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    a, b = sp.symbols("a b", positive=True)
    q = sp.Matrix(sp.symbols("q0:3"))
    wv = sp.Symbol("w")
    P = sp.diag(1, 0, 0)
    M = a * P + b * (sp.eye(3) - P)
    lim = tilting_limit(sp.eye(3), sp.Matrix([wv, 0, 0]), M * q)
    chk.exact("exact: the infinite-prompt output is a w^T B^T x_q (independent of b; d = 3, rank 1, Sigma = I)",
              sp.expand(lim - a * wv * q[0]), 0)
    B = SIZES.at(ctx).B
    for n in (32, 128):
        E = risks(rng, B, n)
        m = E.mean(axis=0)
        i, j = np.unravel_index(int(np.argmin(m)), m.shape)
        leak = estimate_from_values(E[:, 1, 2] - E[:, 1, 0])  # a = 1: b = 0.5 against b = 0
        lo_a = estimate_from_values(E[:, 0, 0] - E[:, 1, 0])  # b = 0: a = 0.5 against a = 1
        hi_a = estimate_from_values(E[:, 2, 0] - E[:, 1, 0])  # b = 0: a = 2 against a = 1
        chk.decided(f"n = {n}: leaking to the complement (b = 0.5) is significantly worse than projecting (b = 0) at "
                    "a = 1", leak.ci[0] > 0, f"risk(1, 0.5) - risk(1, 0) = {leak.mean:.2g}, 99.9% CI lower end "
                    f"{leak.ci[0]:.2g} > 0 ({B} prompts; grid argmin (a, b) = ({A_GRID[i]}, {B_GRID[j]}))")
        chk.decided(f"n = {n}: at b = 0 the optimal scale is bracketed by (0.5, 2), around the tilting value a = 1",
                    lo_a.ci[0] > 0 and hi_a.ci[0] > 0, f"risk(0.5, 0) - risk(1, 0) = {lo_a.mean:.2g} (CI lower end "
                    f"{lo_a.ci[0]:.2g}); risk(2, 0) - risk(1, 0) = {hi_a.mean:.2g} (CI lower end {hi_a.ci[0]:.2g})")
    return chk, ("Gaussian covariates: the optimum projects (b = 0) and its scale a = 1 is the one the infinite-prompt "
                 "tilting limit makes unbiased. The paper's covariate law is not read.")


CLAIM = Claim(key=KEY, title="softmax attention projects onto the subspace", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="READ+3P+DERIVED",
              locator="abstract (ar5iv 2402.11639)",
              fixed="its statement is about softmax attention on a low-rank task; its check is written for "
                    "rank 1, d = 4, noise sd 0.3")
