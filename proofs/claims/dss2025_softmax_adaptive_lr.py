"""[Dragutinovic, Saxe, Singh 2025, abstract (as recorded)] softmax self-attention is kernel GD with a
context-adaptive learning rate (arXiv 2510.10425).

Setting: one softmax head, scores beta x_i^T W x_q, values the one-hot labels y_i. Derived identity: sum_i p_i y_i with
p_i = k(x_i, x_q) / sum_j k(x_j, x_q), k(x, x') = exp(beta x^T W x'), is one functional-GD step from f_0 = 0 on the
square loss with kernel k and the query-dependent step eta(x_q) = n / sum_j k(x_j, x_q) (numerics.attention.kernel_attention.
functional_gd, literal forward pass per class). Small temperature: sum_i p_i y_i = ybar + (beta/n) sum_i y_i (a_i - abar)
+ O(beta^2) (theory.softmax): linear SA on *centred* scores plus the context class frequencies, so softmax SA does not
contain linear SA as its beta -> 0 limit and 'softmax >= linear' is an empirical statement, not a family inclusion.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.attention.kernel_attention import functional_gd, predict
from iclcheck.numerics.classification import sample_classes, softmax_sa_output
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.softmax import small_beta_series

KEY = "dss2025.softmax_adaptive_lr"
SOURCE = "[Dragutinovic, Saxe, Singh 2025, abstract (as recorded); sections not read] arXiv 2510.10425"
STATEMENT = ("Softmax self-attention performs gradient descent on functionals in the kernel feature space with a "
             "context-adaptive learning rate (governed by a learned kernel width and learning rate); empirically "
             "softmax >= linear.")
NOTATION = (
    "One head, score beta x_i^T W x_q over the context (query not a key), value y_i (one-hot, one class at a time "
    "through the canonical model with c = 1, Q = [[beta W, 0], [0, 0]], P = -e e^T). Kernel k(x, x') = "
    "exp(beta x^T W x'); functional GD as in cheng2024.functional_gd with step eta(x_q) n^-1 sum_i r_i k(x_i, x_q)."
)
ROUNDING = Tolerance(atol=1e-13, reason="two O(n d) routes to the same convex combination: rounding only")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(random_cases=2), thorough=dict(random_cases=6))


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    worst = 0.0
    for _ in range(SIZES.at(ctx).random_cases):
        n, d, C = int(rng.integers(2, 25)), int(rng.integers(1, 5)), int(rng.integers(2, 5))
        beta = float(rng.uniform(0.2, 3.0))
        pr = sample_classes(rng, 20, n, d, C)
        Wm = rng.standard_normal((d, d)) / np.sqrt(d)
        out = softmax_sa_output(pr.X, pr.Y, pr.xq, Wm, beta)  # (B, C)
        XW = pr.X @ (beta * Wm)  # kernel exp(x_i^T beta W x_q) = exp of the linear kernel between x_i beta W and x_q
        k = np.exp(np.einsum("bnd,bd->bn", XW, pr.xq))
        eta = n / k.sum(axis=1)  # (B,) the context-adaptive step
        for c in range(C):
            fgd = np.array([functional_gd("exp", XW[b:b + 1], pr.Y[b:b + 1, :, c], pr.xq[b:b + 1], [eta[b]])[0]
                            for b in range(len(eta))])
            worst = max(worst, float(np.abs(fgd - out[:, c]).max()))
            Ps, Qs = np.zeros((1, d + 1, d + 1)), np.zeros((1, d + 1, d + 1))
            Ps[0, d, d], Qs[0, :d, :d] = -1.0, beta * Wm
            lit = predict("softmax", build_prompts(pr.X, pr.Y[..., c], pr.xq), Ps, Qs)
            worst = max(worst, float(np.abs(lit - out[:, c]).max()))
    chk.close("floats (spherical-means task): softmax SA = one functional-GD step with kernel exp(beta x^T W x') and "
              "step eta(x_q) = n / sum_j k(x_j, x_q); also = the literal forward pass, class by class", worst, 0.0,
              ROUNDING)
    ser, claimed, _ = small_beta_series(3)
    chk.exact("exact: sum_i p_i(beta) y_i = ybar + (beta/n) sum_i y_i (a_i - abar) + O(beta^2) (symbolic a, y; n = 3)",
              sp.expand(ser - claimed), 0)
    a, y = sp.symbols("a0:2"), sp.symbols("y0:2")
    b = sp.Symbol("beta")
    gap = sp.expand((sum(y) / 2 + b / 2 * sum(yi * (ai - sum(a) / 2) for ai, yi in zip(a, y, strict=True)))
                    - b / 2 * sum(yi * ai for ai, yi in zip(a, y, strict=True)))
    chk.decided("exact: the beta -> 0 limit is not linear SA: it differs from (beta/n) sum_i y_i a_i by ybar - beta "
                "abar ybar (n = 2), not identically 0", gap != 0, f"difference {gap}", exact=True)
    return chk, ("The adaptive step is eta(x_q) = n / sum_j exp(beta x_j^T W x_q). As beta -> 0 softmax SA becomes linear "
                 "SA on centred scores plus the context class frequencies ybar, not linear SA: 'softmax >= linear' is "
                 "an empirical statement about trained models, not a family inclusion (not checked here).")


CLAIM = Claim(key=KEY, title="softmax SA = kernel GD, adaptive step", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="READ+3P+DERIVED",
              locator="abstract and the first 2,000 characters of the arXiv HTML (2510.10425)",
              fixed="its statement is an identity for softmax attention on classification prompts (one-hot "
                    "labels), not regression data")
