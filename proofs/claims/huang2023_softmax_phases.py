"""[Yu Huang, Yuan Cheng, Yingbin Liang 2023/24, abstract] one-layer softmax attention trained by gradient descent on
discrete-feature prompts: balanced features converge in two phases, and with imbalanced features the dominant ones
are learned first (arXiv 2310.05249).

Setting: K orthonormal features with probabilities p (here p = (0.6, 0.2, 0.1, 0.1), n = 10), x_i = v_{c_i},
w ~ N(0, I_K), y = w^T x, query x_q = v_k, one softmax head with KQ = diag(q). The population loss is an exact finite
sum over binomial counts (numerics.attention.softmax_discrete), checked against a Monte Carlo of the literal forward pass
(numerics.model.lsa); its coordinates decouple, so gradient flow from q = 0 reaches any level after a time given by one
quadrature per feature. The check: the dominant feature halves its loss first, then the next, in the order of p.
The phase counts (two / four) need the paper's definitions and are not checked.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from iclcheck.numerics.attention import softmax_discrete as sd
from iclcheck.numerics.attention.kernel_attention import predict
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker

KEY = "huang2023.softmax_phases"
SOURCE = "[Huang, Cheng, Liang 2023/24, abstract; theorem sections not read] arXiv 2310.05249"
STATEMENT = ("For one-layer softmax attention trained by GD on prompts of discrete features: with balanced features "
             "the prediction error converges to near zero in two phases; with imbalanced features the dominant "
             "features are learned first and the under-represented ones go through four phases.")
NOTATION = (
    "Features v_k = e_k in R^K, the canonical softmax head with Q = [[diag(q), 0], [0, 0]] and P = -e e^T (read-out "
    "-[Z]), no 1/n (weights normalised); labels y = w^T x with w ~ N(0, I_K), noiseless; loss E (yhat - y_q)^2 "
    "averaged over the query feature k ~ p. 'Learned' = the feature's loss L_k halfway from L_k(0) to inf_q L_k."
)
P_FEAT, N_CTX = np.array([0.6, 0.2, 0.1, 0.1]), 10


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(B=8_000), thorough=dict(B=40_000))


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    K, n = P_FEAT.size, N_CTX
    q = np.array([1.2, 0.4, -0.3, 0.8])
    B = SIZES.at(ctx).B
    c = rng.choice(K, size=(B, n + 1), p=P_FEAT)
    x = np.eye(K)[c]  # (B, n+1, K) one-hot features
    w = rng.standard_normal((B, K))
    y = np.einsum("bnk,bk->bn", x, w)
    Ps, Qs = np.zeros((1, K + 1, K + 1)), np.zeros((1, K + 1, K + 1))
    Ps[0, K, K], Qs[0, :K, :K] = -1.0, np.diag(q)
    err = (predict("softmax", build_prompts(x[:, :n], y[:, :n], x[:, n]), Ps, Qs) - y[:, n]) ** 2
    exact = sd.loss(q, P_FEAT, n)
    chk.within_ci(f"the exact binomial-sum loss at q = ({', '.join(f'{v:g}' for v in q)}) ({exact:.5f}) = Monte Carlo of the literal forward pass",
                  estimate_from_values(err, nonnegative=True), exact)
    times = []
    for k in range(K):
        L0, Linf = sd.feature_loss(0.0, P_FEAT, n, k), sd.feature_loss(40.0, P_FEAT, n, k)
        qs = brentq(lambda t, k=k, L0=L0, Linf=Linf: sd.feature_loss(t, P_FEAT, n, k) - (L0 + Linf) / 2, 0.0, 40.0,
                    xtol=1e-12)
        times.append(sd.time_to_reach(qs, P_FEAT, n, k))
    chk.decided("gradient flow from q = 0: features are learned in the order of their probability (dominant first)",
                times[0] < times[1] < min(times[2], times[3]), "times to halve the feature loss: " +
                ", ".join(f"p = {p:g}: {t:.3g}" for p, t in zip(P_FEAT, times, strict=True)))
    return chk, ("Dominant-first is confirmed on the exact population flow (the coordinates decouple); the phase "
                 "counts are not checked (their definitions are not read).")


CLAIM = Claim(key=KEY, title="softmax GD on discrete features: dominant first", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="READ+RECALLED+DERIVED",
              locator="abstract (arXiv 2310.05249)",
              fixed="its statement is about softmax on discrete one-hot features (here p = (0.6, 0.2, 0.1, "
                    "0.1), n = 10), not Gaussian x")
