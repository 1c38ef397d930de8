"""[von Oswald et al. 2023b, Sec. 4 (the mesa-layer), as recalled] The mesa-layer computes the causal ridge solution
W_t = argmin_W 1/2 sum_{t'<=t} |v_{t'} - W k_{t'}|^2 + lambda/2 |W|_F^2 exactly, by a Sherman-Morrison recursion on
R_t = (sum_{t'<=t} k_{t'} k_{t'}^T + lambda I)^{-1}, and outputs W_t q_t.

Steps. (1) Exact rationals (d_k = 3, d_v = 2, T = 5, random integer tokens, rational lambda): the recursion
R_t = R_{t-1} - R_{t-1} k_t k_t^T R_{t-1} / (1 + k_t^T R_{t-1} k_t) from R_0 = I/lambda equals the inverse
(K_t^T K_t + lambda I)^{-1} at every t, and the gain update W_t = W_{t-1} + (v_t - W_{t-1} k_t)(R_t k_t)^T from W_0 = 0
equals the batch ridge solution V_t^T K_t (K_t^T K_t + lambda I)^{-1} at every t. (2) That solution is the minimiser:
the gradient (W K_t^T - V_t^T) K_t + lambda W of the halved objective vanishes there (exact), and the objective is
strictly convex (lambda > 0). (3) The layer as numerics computes it (numerics.autoregressive.mesa_layer, a batched
recursion) against a from-scratch solve at every position, on the paper's autoregressive task (keys s_{t-1}, values
s_t, queries s_t; d = 5, T = 40, 32 sequences with a Haar-orthogonal W*): rounding only. (4) The halving convention:
with the un-halved objective sum |v - W k|^2 + lambda' |W|^2 the same W_t needs lambda' = lambda (both terms scale by
2), so the recalled 1/2 factors change nothing (exact).
"""

from __future__ import annotations

import sympy as sp

from iclcheck.numerics.autoregressive import mesa_layer, ridge_direct, sample_ar
from iclcheck.proofs.registry import Claim, Context
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.bayes import sherman_morrison_inverse

__all__ = ["CLAIM", "verify"]

SOURCE = ("[von Oswald, Schlegel, Meulemans, Kobayashi, Niklasson, Zucchet, Scherrer, Miller, Sandler, Aguera y Arcas, "
          "Vladymyrov, Pascanu, Sacramento 2023b, Sec. 4 (the mesa-layer), as recalled] arXiv 2309.05858")
STATEMENT = ("The mesa-layer computes W_t = argmin_W 1/2 sum_{t'<=t} |v_{t'} - W k_{t'}|^2 + lambda/2 |W|_F^2 exactly, "
             "via a Sherman-Morrison recursion on R_t = (sum_{t'<=t} k_{t'} k_{t'}^T + lambda I)^{-1}, and outputs "
             "W_t q_t.")
NOTATION = ("k_t, v_t, q_t: the keys, values and queries of one head at position t (causal: W_t sees t' <= t); lambda > 0 "
            "the layer's regulariser, R_0 = I/lambda, W_0 = 0; the halved objective of the statement (the un-halved "
            "one gives the same W_t with the same lambda, step 4). On the autoregressive task of the paper "
            "(s_{t+1} = W* s_t + eps_t) k_t = s_{t-1}, v_t = s_t, q_t = s_t, so W_t q_t predicts s_{t+1}. Not the "
            "canonical regression model: no Sigma, n, Gamma here")

ROUNDING = Tolerance(rtol=1e-8, atol=1e-10, reason="recursion vs fresh solve at every t, d = 5, T = 40, lambda = 1: "
                     "condition numbers below 1e3, so rounding stays far below 1e-8")


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    # (1) exact rationals: the recursion against the batch ridge at every t
    dk, dv, T = 3, 2, 5
    K = sp.Matrix(T, dk, [int(v) for v in rng.integers(-3, 4, size=T * dk)])
    V = sp.Matrix(T, dv, [int(v) for v in rng.integers(-3, 4, size=T * dv)])
    lam = sp.Rational(int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    R, W = sp.eye(dk) / lam, sp.zeros(dv, dk)
    R_ok = W_ok = grad_ok = True
    for t in range(T):
        k, v = K[t, :].T, V[t, :].T
        R = sherman_morrison_inverse(R, k, k)
        W = W + (v - W * k) * (R * k).T
        Kt, Vt = K[: t + 1, :], V[: t + 1, :]
        G = Kt.T * Kt + lam * sp.eye(dk)
        R_ok &= R == G.inv()
        W_ok &= W == Vt.T * Kt * G.inv()
        grad_ok &= (W * Kt.T - Vt.T) * Kt + lam * W == sp.zeros(dv, dk)
    chk.decided(f"Sherman-Morrison recursion R_t = (K_t^T K_t + lambda I)^{{-1}} at every t = 1..{T} (exact rationals, "
                f"d_k={dk}, lambda={lam})", bool(R_ok), "each R_t compared entrywise with the inverse of the Gram matrix")
    chk.decided(f"gain update W_t = W_{{t-1}} + (v_t - W_{{t-1}} k_t)(R_t k_t)^T = batch ridge V_t^T K_t (K_t^T K_t + "
                f"lambda I)^{{-1}} at every t = 1..{T} (exact rationals, d_k={dk}, d_v={dv})", bool(W_ok),
                "each W_t compared entrywise with the from-scratch ridge solution")
    # (2) the minimiser: the gradient of the halved objective vanishes (strictly convex for lambda > 0)
    chk.decided("gradient (W_t K_t^T - V_t^T) K_t + lambda W_t of the halved objective vanishes at every t (exact): "
                "W_t is its unique minimiser (strictly convex, lambda > 0)", bool(grad_ok),
                "gradient of 1/2 sum |v - W k|^2 + lambda/2 |W|_F^2 evaluated at the recursion's W_t")
    # (3) the batched numerics on the autoregressive task
    S, _ = sample_ar(32, 40, 5, rng, sigma2=0.01)  # (32, 41, 5)
    keys, vals = S[:, :-1], S[:, 1:]  # (32, 40, 5): k_t = s_{t-1}, v_t = s_t
    chk.close("mesa_layer (batched Sherman-Morrison) = ridge solved from scratch at every position (keys s_{t-1}, "
              "values and queries s_t; d=5, T=40, 32 sequences, lambda=1)",
              mesa_layer(keys, vals, vals, 1.0), ridge_direct(keys, vals, vals, 1.0), ROUNDING)
    # (4) the halving convention
    w, kk, vv, lm = sp.symbols("w k v lambda", real=True)
    half = sp.solve(sp.diff((vv - w * kk) ** 2 / 2 + lm * w**2 / 2, w), w)[0]
    full = sp.solve(sp.diff((vv - w * kk) ** 2 + lm * w**2, w), w)[0]
    chk.exact("halved and un-halved objectives have the same minimiser with the same lambda (symbolic, d = 1)",
              sp.simplify(half - full), sp.Integer(0))
    return chk


CLAIM = Claim(key="vonoswald2023b.mesa_layer_rls", title="mesa-layer = causal ridge (Sherman-Morrison)",
              source=SOURCE, statement=STATEMENT, notation=NOTATION, verify=verify, provenance="RECALLED",
              fixed="its statement is an identity of the mesa-layer for any keys and values, with no data "
                    "setting")
