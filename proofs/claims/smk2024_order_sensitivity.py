"""[Shen, Mishra, Khashabi 2024, abstract] in-context learning and gradient descent differ in their sensitivity to the
order of the demonstrations (arXiv 2310.08540).

What the toolkit can decide about the theory side: the ICL = GD constructions (von Oswald et al. Prop. 1; Ahn et
al.'s LSA with the query mask, any weights) and full-batch GD are exactly invariant under permutations of the context;
a causal LSA (Ding et al. 2024's mask, two layers) and single-pass online GD are order-dependent, and differently so.
So the contrast the paper measures in LLMs is between causal ICL and full-batch GD, not a property of the GD
constructions the theory uses. Checked in floats on random prompts (invariance to rounding; order dependence far above
rounding).
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.algorithms.reference import gd
from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance

KEY = "smk2024.order_sensitivity"
SOURCE = "[Shen, Mishra, Khashabi 2024, abstract; sections not read] arXiv 2310.08540"
STATEMENT = "ICL and GD have different sensitivity to the order in which they observe demonstrations."
NOTATION = (
    "ICL models: the canonical L-layer LSA with full random weights, prefix mask (query not a key; every context token "
    "sees every context token) or causal mask (context token i sees j <= i; mask='causal'). GD: full-batch GD on "
    "(1/2n)||Xw - y||^2 (numerics.algorithms.gd) and single-pass online GD w <- w - eta (w^T x_i - y_i) x_i in the "
    "context order. Order sensitivity: max |prediction(permuted context) - prediction| over random permutations."
)
INVARIANT = Tolerance(atol=1e-12, reason="sums in another order: rounding only (relative to 1 + |prediction|)")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(perms=3), thorough=dict(perms=6))


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    d, n, L, B, perms = 3, 8, 2, 4, SIZES.at(ctx).perms
    X, y, xq = rng.standard_normal((B, n, d)), rng.standard_normal((B, n)), rng.standard_normal((B, d))
    Ps, Qs = rng.standard_normal((L, d + 1, d + 1)) * 0.4, rng.standard_normal((L, d + 1, d + 1)) * 0.4

    def lsa(Xp, yp, mask):
        return -forward(LSA(L=L, mask=mask), build_prompts(Xp, yp, xq), Ps, Qs)[:, d, n]

    def full_gd(Xp, yp):
        return np.array([xq[b] @ gd(Xp[b], yp[b], eta=0.2, steps=5) for b in range(B)])

    def online(Xp, yp):
        w = np.zeros((B, d))
        for i in range(n):
            r = np.einsum("bd,bd->b", w, Xp[:, i]) - yp[:, i]
            w = w - 0.2 * r[:, None] * Xp[:, i]
        return np.einsum("bd,bd->b", w, xq)

    models = {"prefix LSA (2 layers, full weights)": lambda a, b: lsa(a, b, True),
              "causal LSA (2 layers, same weights)": lambda a, b: lsa(a, b, "causal"),
              "full-batch GD (5 steps)": full_gd, "online GD (one pass)": online}
    base = {k: f(X, y) for k, f in models.items()}
    sens = dict.fromkeys(models, 0.0)
    for _ in range(perms):
        p = rng.permutation(n)
        for k, f in models.items():
            out = f(X[:, p], y[:, p])
            sens[k] = max(sens[k], float(np.max(np.abs(out - base[k]) / (1 + np.abs(base[k])))))
    for k in ("prefix LSA (2 layers, full weights)", "full-batch GD (5 steps)"):
        chk.close(f"{k}: invariant under {perms} random permutations of the context", sens[k], 0.0, INVARIANT)
    for k in ("causal LSA (2 layers, same weights)", "online GD (one pass)"):
        chk.decided(f"{k}: order-dependent", sens[k] > 1e6 * INVARIANT.atol,
                    f"largest relative change under a permutation {sens[k]:.2g}")
    return chk, ("The GD constructions of the theory (prefix LSA) are exactly order-invariant, like full-batch GD; order "
                 "sensitivity comes with the causal mask (and single-pass online GD is order-sensitive too).")


CLAIM = Claim(key=KEY, title="ICL vs GD order sensitivity", source=SOURCE, statement=STATEMENT, notation=NOTATION,
              verify=verify, provenance="READ+DERIVED",
              locator="abstract (ICML 2024 poster 33845)",
              fixed="its statement is about reordering a given context (checked on random prompts and "
                    "weights), with no data setting")
