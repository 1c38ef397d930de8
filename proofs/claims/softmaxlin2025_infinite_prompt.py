"""["Softmax as Linear Attention in the Large-Prompt Regime" 2025, abstract] infinite-prompt softmax attention is a
linear operator (arXiv 2512.11784).

Setting: x ~ N(0, Sigma), y = beta^T x + eps, one softmax head with score x_i^T W x_q and value y_i. The abstract
says softmax converges, as the prompt grows, to a linear operator on the input measure. For Gaussian x it is
explicit (Gaussian tilting, theory.softmax): the output tends to E[y e^{x^T a}] / E[e^{x^T a}] = beta^T Sigma W x_q
with a = W x_q -- linear attention with preconditioner Sigma W, whose risk is the n -> infinity limit of the one-layer
master formula with Q11 = -W. The finite-n error is O(n^-1/2) with the exact constant lim n E (yhat_n - yhat_inf)^2 =
exp(a^T Sigma a) ((beta^T Sigma a)^2 + beta^T Sigma beta + sigma2), checked by Monte Carlo at two prompt lengths.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.setting import Setting
from iclcheck.theory.softmax import tilting_limit, tilting_rate_constant

KEY = "softmaxlin2025.infinite_prompt"
SOURCE = ("[Softmax as Linear Attention in the Large-Prompt Regime: a Measure-based Perspective, 2025, abstract; sections not read] "
          "arXiv 2512.11784")
STATEMENT = ("In the infinite-prompt limit, softmax attention converges to a linear operator acting on the underlying "
             "input-token measure, with non-asymptotic concentration bounds for finite prompts.")
NOTATION = (
    "One softmax head with scores x_i^T W x_q over the n context tokens (the query not a key) and values y_i: the "
    "canonical layer with c = 1, Q = [[W, 0], [0, 0]], P = -e e^T (read-out -[Z]). Linear attention with the same W: "
    "canonical P = e e^T, Q11 = -W, prediction (1/n) sum_i y_i x_i^T W x_q. Setting: Gaussian x (the statement's "
    "measure), Sigma_w = I, noise sigma2 on the context labels."
)
SERIES = Tolerance(rtol=1e-8, reason="n (L_n - L_inf) is constant in n (L_n = L_inf + b/n exactly); float cancellation "
                   "at n = 1e5 costs ~1e-11")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(B=3_000), thorough=dict(B=20_000))


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    d = 2
    s = sp.symbols("s11 s12 s22")
    S = sp.Matrix([[s[0], s[1]], [s[1], s[2]]])
    b, W = sp.Matrix(sp.symbols("b0:2")), sp.Matrix(2, 2, sp.symbols("w0:4"))
    xq = sp.Matrix(sp.symbols("q0:2"))
    chk.exact("exact: E[y e^{x^T a}] / E[e^{x^T a}] = beta^T Sigma W x_q, a = W x_q (Gaussian MGF, symbolic Sigma, "
              "beta, W, x_q; d = 2; difference expanded)", sp.expand(tilting_limit(S, b, W * xq) - (b.T * S * W * xq)[0, 0]), 0)
    # the limit's risk is the n -> infinity limit of the linear-attention master formula
    d = 3
    A = rng.standard_normal((d, d))
    Sigma = A @ A.T / d + 0.5 * np.eye(d)
    Wm = rng.standard_normal((d, d)) * 0.3
    E = Sigma @ Wm - np.eye(d)
    L_inf = float(np.trace(E @ Sigma @ E.T))  # E_{beta, x_q} (beta^T (Sigma W - I) x_q)^2, Sigma_w = I
    P, Q = np.zeros((d + 1, d + 1)), np.zeros((d + 1, d + 1))
    P[d, d], Q[:d, :d] = 1.0, -Wm
    c = [n * (OneLayer(Setting.make(Sigma, n)).loss(P, Q) - L_inf) for n in (10, 1000, 100_000)]
    chk.close("the risk of the limit beta^T Sigma W x_q is the n -> infinity limit of the one-layer linear-attention "
              "master formula at Q11 = -W: n (L_n - L_inf) at n = 1e3, 1e5 equals its value at n = 10", c[1:],
              [c[0], c[0]], SERIES)
    # finite-n rate by Monte Carlo, fixed beta, W, x_q (a = W x_q kept moderate: lognormal weights, light tails)
    sigma2 = 0.25
    beta = rng.standard_normal(d) / np.sqrt(d)
    a = rng.standard_normal(d)
    a *= 0.5 / np.sqrt(a @ Sigma @ a)  # a^T Sigma a = 1/4
    lim = float(beta @ Sigma @ a)
    C = float(tilting_rate_constant(Sigma, beta, a, sigma2))
    Lc = np.linalg.cholesky(Sigma)
    B = SIZES.at(ctx).B
    for n in (50, 400):
        X = rng.standard_normal((B * n, d)) @ Lc.T  # (B n, d) one product, rows iid N(0, Sigma)
        y = (X @ beta + rng.standard_normal(B * n) * np.sqrt(sigma2)).reshape(B, n)
        e = np.exp(X @ a).reshape(B, n)  # (B, n) unnormalised weights
        dev = n * ((e * y).sum(axis=1) / e.sum(axis=1) - lim) ** 2
        chk.within_ci(f"n = {n}: n E (yhat_n - beta^T Sigma a)^2 = exp(a^T Sigma a) ((beta^T Sigma a)^2 + beta^T Sigma "
                      f"beta + sigma2) = {C:.4g} (the O(n^-1/2) rate with its constant)",
                      estimate_from_values(dev, nonnegative=True), C)
    return chk, ("For Gaussian tokens the linear operator is explicit: softmax attention with score matrix W tends to "
                 "linear attention with preconditioner Sigma W (no small-temperature expansion needed), at rate "
                 "n^-1/2 with the delta-method constant.")


CLAIM = Claim(key=KEY, title="infinite-prompt softmax = linear attention", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="READ+DERIVED",
              locator="abstract (arXiv 2512.11784 HTML)",
              fixed="its statement is the infinite-prompt limit n -> oo of softmax attention: there is no "
                    "finite n to move to")
