"""[Dragutinovic, Saxe, Singh 2025, abstract (as recorded)] linear self-attention on classification prompts
is one GD step on the in-context cross-entropy (arXiv 2510.10425).

Setting: one-hot labels y_i in R^C, the multinomial logistic model p(c | x) = softmax(W x)_c, the in-context loss
(1/n) sum_i CE(W x_i, y_i). Derived: its gradient at W = 0 is -(1/n) sum_i (y_i - 1/C 1) x_i^T, so one step of size
eta gives logits (eta/n) sum_i (y_i - 1/C 1) x_i^T x_q; the -1/C part adds the same number to every logit, so the class
probabilities (and the cross-entropy and accuracy) equal those of linear SA with values y_i and score x_i^T (eta I) x_q.
Checked exactly (sympy, symbolic inputs) and in floats on the spherical-means task (numerics.classification).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.classification import (
    accuracy,
    cross_entropy,
    linear_sa_logits,
    logistic_gd_step,
    sample_classes,
)
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance

KEY = "dss2025.linear_sa_ce_step"
SOURCE = "[Dragutinovic, Saxe, Singh 2025, abstract (as recorded); sections not read] arXiv 2510.10425"
STATEMENT = "Linear self-attention on in-context classification prompts implements one gradient-descent step on the " \
            "in-context cross-entropy loss."
NOTATION = (
    "Labels are one-hot rows y_i in R^C, the attention output a vector of C logits; linear SA: (1/n) sum_i y_i x_i^T "
    "Gamma x_q (value y_i, score x_i^T Gamma x_q); GD on L(W) = (1/n) sum_i -log softmax(W x_i)_{c_i} from W = 0 with step "
    "eta; Gamma = eta I (a preconditioned step: Gamma). Compared as class probabilities softmax(logits)."
)
ROUNDING = Tolerance(atol=1e-13, reason="class probabilities of two O(n d C) routes in double precision")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(random_cases=2), thorough=dict(random_cases=6))


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    n, d, C = 2, 2, 3
    X = sp.Matrix(n, d, sp.symbols(f"x0:{n * d}"))
    xq = sp.Matrix(sp.symbols(f"q0:{d}"))
    labels = [0, 2]
    Y = sp.Matrix(n, C, lambda i, c: 1 if labels[i] == c else 0)
    W = sp.Matrix(C, d, sp.symbols(f"w0:{C * d}"))
    eta = sp.Symbol("eta", positive=True)
    loss: sp.Expr = 0
    for i in range(n):
        z = W * X[i, :].T
        loss += sp.log(sum(sp.exp(z[c]) for c in range(C))) - z[labels[i]]
    loss = loss / n
    grad0 = sp.Matrix(C, d, lambda c, k: sp.diff(loss, W[c, k])).subs(dict.fromkeys(W, 0))
    claimed = -(Y - sp.ones(n, C) / C).T * X / n
    chk.exact("exact: grad of (1/n) sum CE at W = 0 = -(1/n) sum_i (y_i - 1/C) x_i^T (n = 2, d = 2, C = 3, symbolic x)",
              grad0, claimed)
    logits_gd = (-eta * grad0) * xq
    logits_sa = eta * Y.T * X * xq / n
    shift = logits_gd - logits_sa
    chk.exact("exact: the one-step logits minus the linear-SA logits are the same for every class (so the class "
              "probabilities agree)", shift - shift[0] * sp.ones(C, 1), sp.zeros(C, 1))
    # floats on the task
    worst, same_ce, same_acc = 0.0, 0.0, True
    for _ in range(SIZES.at(ctx).random_cases):
        n, d, C = int(rng.integers(2, 30)), int(rng.integers(1, 6)), int(rng.integers(2, 6))
        pr = sample_classes(rng, 50, n, d, C)
        et = float(rng.uniform(0.1, 3.0))
        W1 = logistic_gd_step(pr.X, pr.Y, et)  # (B, C, d)
        lg = np.einsum("bcd,bd->bc", W1, pr.xq)
        ls = linear_sa_logits(pr.X, pr.Y, pr.xq, et * np.eye(d))

        def probs(z):
            e = np.exp(z - z.max(-1, keepdims=True))
            return e / e.sum(-1, keepdims=True)

        worst = max(worst, float(np.abs(probs(lg) - probs(ls)).max()))
        same_ce = max(same_ce, float(np.abs(cross_entropy(lg, pr.cq) - cross_entropy(ls, pr.cq)).max()))
        same_acc &= bool(np.array_equal(accuracy(lg, pr.cq), accuracy(ls, pr.cq)))
    chk.close("floats (spherical-means task, random n, d, C, eta): class probabilities of one GD step = linear SA",
              worst, 0.0, ROUNDING)
    chk.close("floats: the same cross-entropy per prompt", same_ce, 0.0,
              Tolerance(atol=1e-12, reason="log-sum-exp of equal-up-to-shift logits: rounding only"))
    chk.decided("floats: the same accuracy per prompt", same_acc, "argmax of logits that differ by a per-prompt "
                "constant: identical on every prompt")
    return chk


CLAIM = Claim(key=KEY, title="linear SA = one GD step on cross-entropy", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="READ+3P+DERIVED",
              locator="abstract and the first 2,000 characters of the arXiv HTML (2510.10425)",
              fixed="its statement is an identity on classification prompts (one-hot labels, cross-entropy), "
                    "not regression data")
