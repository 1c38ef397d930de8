"""[Huang, Wang, Lee 2025, Thm 3.1 as restated by reviews] Without chain of thought a one-layer LSA cannot recover w*:
its weight error is of order d^2/n.

Steps of the argument (x ~ N(0, I_d), w* ~ N(0, I_d), noiseless; numerics.dynamics.cot's token layout):

1. Without CoT the output's w-block is (1/n) sum_i (A x_i + a y_i)(x_i^T u + y_i c): its part odd in w* is Gamma h,
   Gamma = c A + a u^T, h = S w*, and the rest is even, so E||w_hat - w*||^2 = E||Gamma h - w*||^2 + E||even||^2
   (Monte Carlo of the literal layer at random weights against the exact quadratic, 99.9% CI).
2. Over all Gamma the quadratic is minimised at Gamma* = E[w h^T] (E[h h^T])^{-1} = (E S^2)^{-1} = n/(n+d+1) I, with
   minimum d - tr Gamma* = d(d+1)/(n+d+1) (sympy, symbolic n and d, E tr S^2 = d n (n+d+1) / n^2 from the Wishart
   moments). It is attained (c = 1, A = Gamma*, a = u = 0; Monte Carlo) and equals one GD step with the best step
   (numerics.dynamics.gd_error, k = 1, an independent minimisation over the step).
3. "Of order d^2/n": for n >= d, d^2/(2n) <= d(d+1)/(n+d+1) <= 2 d^2/n (exact polynomial inequalities).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.dynamics.cot import (
    blocks,
    context_tokens,
    layer_output,
    no_cot_gamma,
    weight_class_optimum,
)
from iclcheck.numerics.dynamics.gd_error import gd_error
from iclcheck.numerics.model.montecarlo import mc_mean
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.sample_moments import wishart_moment
from iclcheck.theory.setting import Setting

NS, DS, MS, ES = sp.symbols("n d m e", positive=True, integer=True)
GOLDEN = Tolerance(rtol=1e-10, reason="a flat minimum located by golden section: the value to ~eps, not the step")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(samples=8_000), thorough=dict(samples=40_000))


def _no_cot_prediction(X, y, P, Q):
    B, n, d = X.shape
    Z = np.concatenate([context_tokens(X, y), np.zeros((B, 2 * d + 2, 1))], axis=2)
    Z[:, -1, -1] = 1.0  # the query token (0, 0, 0, 1)
    return layer_output(Z, P, Q, n)[:, blocks(d)["w"]]  # (B, d)


def verify(ctx: Context):
    chk = Checker()
    rng = ctx.rng()
    # 2. symbolic optimum
    ES2 = sp.cancel(wishart_moment((2,), n=NS, d=DS) / NS**2 / DS)  # E S^2 = ES2 I by isotropy
    gstar = sp.cancel(1 / ES2)
    chk.exact("Gamma* = (E S^2)^{-1} = n/(n+d+1) I (symbolic n, d; the difference cancels to 0)",
              sp.cancel(gstar - NS / (NS + DS + 1)), 0)
    chk.exact("min E||Gamma h - w*||^2 = d - tr Gamma* = d(d+1)/(n+d+1) (symbolic n, d; the difference cancels to 0)",
              sp.cancel(DS - DS * gstar - DS * (DS + 1) / (NS + DS + 1)), 0)
    d, n = 10, 20
    st = Setting.make(np.eye(d), n)
    bound = d * (d + 1) / (n + d + 1)
    chk.close("one GD step with the best step attains it (d=10, n=20; numerics.gd_error)",
              float(gd_error(st, 1, target="weights").error[0]), bound, GOLDEN)
    # 1. the odd/even split on the literal layer, at random weights; 2. attained
    D = 2 * d + 2
    samples = SIZES.at(ctx).samples
    d, n = 5, 12  # the Monte Carlo at a smaller size (the identities hold for every d, n)
    st = Setting.make(np.eye(d), n)
    D = 2 * d + 2
    G_opt, _ = weight_class_optimum(st)
    P0, Q0 = np.zeros((D, D)), np.zeros((D, D))
    b = blocks(d)
    P0[b["w"], b["x"]] = G_opt
    Q0[b["y"], b["f"]] = 1.0
    cases = [("random weights", 0.3 * rng.standard_normal((D, D)), 0.3 * rng.standard_normal((D, D)))]
    for what, P, Q in [*cases, ("Gamma* (c = 1, A = Gamma*)", P0, Q0)]:
        G = no_cot_gamma(P, Q, d)
        exact = float(np.trace(G @ G.T) * (n + d + 1) / n - 2 * np.trace(G) + d)  # E S^2 = (n+d+1)/n I, E S = I

        def draw(r, m, P=P, Q=Q, G=G):
            X = r.standard_normal((m, n, d))
            w = r.standard_normal((m, d))
            y = np.einsum("mnd,md->mn", X, w)
            h = np.einsum("mnd,mn->md", X, y) / n
            out = _no_cot_prediction(X, y, P, Q)
            even = out - h @ G.T
            return np.sum((out - w) ** 2, axis=1) - np.sum(even**2, axis=1)

        chk.within_ci(f"{what} (d={d}, n={n}): E||w_hat - w*||^2 - E||even part||^2 = E||Gamma_eff h - w*||^2 (literal layer)",
                      mc_mean(draw, samples=samples, rng=rng, batch=4000), exact)
    # 3. order d^2/n for n >= d (n = d + m)
    dd, nn = 1 + ES, 1 + ES + MS  # d = 1 + e, n = d + m with e, m >= 0
    lo = sp.expand(2 * nn * (dd + 1) - dd * (nn + dd + 1))  # 2n(d+1) - d(n+d+1)
    hi = sp.expand(2 * dd * (nn + dd + 1) - nn * (dd + 1))  # 2d(n+d+1) - n(d+1)
    chk.decided("d^2/(2n) <= d(d+1)/(n+d+1) <= 2 d^2/n for all n >= d (cleared denominators at d = 1 + e, "
                "n = d + m: polynomials in e, m >= 0 with non-negative coefficients)",
                all(c >= 0 for c in sp.Poly(lo, ES, MS).coeffs()) and all(c >= 0 for c in sp.Poly(hi, ES, MS).coeffs()),
                f"2n(d+1) - d(n+d+1) = {lo}; 2d(n+d+1) - n(d+1) = {hi}", exact=True)
    return chk


CLAIM = Claim(
    key="hwl2025.no_cot_lower_bound",
    title="no CoT: one layer's weight error is d(d+1)/(n+d+1)",
    source="[Huang, Wang, Lee 2025 (ICLR), Thm 3.1 as restated by the ICLR reviews] arXiv 2502.21212",
    statement="Thm 3.1: without chain of thought, a one-layer LSA can only implement one GD step and cannot "
              "recover w*: its error E||LSA(X, y)_w - w*||^2 is of order d^2/n.",
    notation="their prompt (x_i, y_i) tokens and a read-out token; here tokens (x, y, w, f) of numerics.cot, the "
             "query token (0, 0, 0, 1), output = the w-block of the last column, loss ||w_hat - w*||^2 (no 1/2); "
             "x ~ N(0, I_d), w* ~ N(0, I_d), noiseless; S = X^T X / n, h = X^T y / n.",
    verify=verify,
    provenance="3P+DERIVED",
    fixed="its statement is an order d^2/n, checked with symbolic n, d (x, w* ~ N(0, I), noiseless): not one "
          "(Sigma, n)",
)
