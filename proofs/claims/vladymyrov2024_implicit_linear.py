"""[Vladymyrov, von Oswald, Sandler, Ge 2024, abstract] every layer of a linear transformer keeps an
implicit linear model (arXiv 2402.14180).

Setting: an L-layer linear self-attention model with full (unconstrained) P_l, Q_l and residual connections.
Claim: the prediction is <w_L, x_q> with w_L a function of the context alone. Derived condition: this holds exactly
when the query token is not a key or value (the canonical mask M): the context tokens then never see x_q and the
query's own update z_q += (1/n) P sum_i z_i z_i^T Q z_q is linear in z_q, layer after layer. With the query as a key
the output is a polynomial of degree 3^L in x_q. Checked exactly (sympy: the Hessian in a symbolic x_q vanishes and
the value at 0 is 0; the counterexample without the mask) and in floats (three layers, random full weights:
second differences along random lines; the implicit w read off at the basis vectors predicts at random queries).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance

KEY = "vladymyrov2024.implicit_linear"
SOURCE = "[Vladymyrov, von Oswald, Sandler, Ge 2024, abstract; Sec. 3 (the model's mask) not read] arXiv 2402.14180"
STATEMENT = ("Each layer of a linear transformer maintains a weight vector for an implicit linear regression problem: "
             "the prediction is <w_l, x_q> with w_l depending only on the context.")
NOTATION = (
    "Their linear transformer layer e_j += sum_h P_h W_V^h (sum_i e_i e_i^T) W_K^hT W_Q^h e_j is the canonical layer "
    "Z + (1/n) P Z M (Z^T Q Z) with P = n P_h W_V^h, Q = W_K^hT W_Q^h (full, unconstrained); M = diag(I_n, 0) when the "
    "query is not a key or value (mask=True), M = I when it is (mask=False). Prediction -[Z_L]_{d+1,n+1}."
)
SECOND_DIFF = Tolerance(atol=1e-10, reason="second differences of O(1) outputs in double precision, relative to "
                        "1 + max|yhat|: rounding only")
IMPLICIT = Tolerance(atol=1e-11, reason="the implicit w read off at the basis vectors, applied to random queries: "
                     "rounding only (relative to 1 + |yhat|)")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(B=3), thorough=dict(B=8))


def _layer(Z: sp.Matrix, P: sp.Matrix, Q: sp.Matrix, n: int, masked: bool) -> sp.Matrix:
    K = Z[:, :n] if masked else Z
    return Z + P * K * (K.T * Q * Z) / n


def _rational(rng: np.random.Generator, shape) -> sp.Matrix:
    return sp.Matrix(*shape, [sp.Rational(int(v), 4) for v in rng.integers(-4, 5, size=int(np.prod(shape)))])


def _exact(chk: Checker, rng: np.random.Generator) -> None:
    d, n, L = 2, 2, 2
    q = sp.Matrix(sp.symbols("q0:2"))
    X = _rational(rng, (d, n))
    y = _rational(rng, (1, n))
    Z0 = sp.Matrix.hstack(X.col_join(y), q.col_join(sp.zeros(1)))
    Ps = [_rational(rng, (d + 1, d + 1)) for _ in range(L)]
    Qs = [_rational(rng, (d + 1, d + 1)) for _ in range(L)]
    for masked in (True, False):
        Z = Z0
        for P, Q in zip(Ps if masked else Ps[:1], Qs, strict=False):  # the counterexample needs one layer only
            Z = _layer(Z, P, Q, n, masked)
        out = sp.expand(-Z[d, n])
        if masked:
            H = sp.hessian(out, list(q))
            at0 = out.subs(dict.fromkeys(q, 0))
            chk.exact("exact, query masked: the Hessian of yhat in a symbolic x_q vanishes (d = 2, n = 2, two layers, "
                      "random rational full P_l, Q_l)", H, sp.zeros(d, d))
            chk.exact("exact, query masked: yhat(x_q = 0) = 0, so yhat = <w, x_q>", at0, 0)
        else:
            deg = sp.Poly(out, *q).total_degree()
            chk.decided("exact counterexample, query as a key and value: yhat is not linear in x_q after one layer (the "
                        "condition is needed)", deg > 1, f"total degree of yhat in x_q is {deg} (same weights and context)",
                        exact=True)


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    _exact(chk, rng)
    d, n, L, B = 3, 6, 3, SIZES.at(ctx).B
    Ps = rng.standard_normal((L, d + 1, d + 1)) * 0.5
    Qs = rng.standard_normal((L, d + 1, d + 1)) * 0.5
    X, y = rng.standard_normal((B, n, d)), rng.standard_normal((B, n))
    u, v = rng.standard_normal((B, d)), rng.standard_normal((B, d))  # lines x_q = u + t v

    def yhat(xq, mask):
        return -forward(LSA(L=L, mask=mask), build_prompts(X, y, xq), Ps, Qs)[:, d, n]

    for mask in (True, False):
        f = [yhat(u + t * v, mask) for t in (-1.0, 0.0, 1.0)]
        sd = np.abs(f[0] - 2 * f[1] + f[2]) / (1 + np.max(np.abs(f), axis=0))
        if mask:
            chk.close(f"floats, query masked: second differences along {B} random lines (3 layers, full weights, d = 3, "
                      "n = 6)", float(sd.max()), 0.0, SECOND_DIFF)
        else:
            chk.decided("floats, query as a key: the same second differences are far from 0 (counterexample)",
                        bool(sd.max() > 1e3 * SECOND_DIFF.atol), f"largest relative second difference {sd.max():.1g}")
    W = np.stack([yhat(np.broadcast_to(e, (B, d)), True) for e in np.eye(d)], axis=1)  # (B, d) implicit w
    xq = rng.standard_normal((B, d))
    got = yhat(xq, True)
    want = np.einsum("bd,bd->b", W, xq)
    chk.close("floats: the implicit w (read off at the basis vectors) predicts yhat at random queries",
              float(np.max(np.abs(got - want) / (1 + np.abs(want)))), 0.0, IMPLICIT)
    return chk, ("Holds exactly when the query is not a key or value (the canonical mask); with the query attending to "
                 "itself the prediction is a polynomial of higher degree in x_q (counterexample above). A finding "
                 "only if the paper's architecture lets the query attend to itself (its Sec. 3 mask not read).")


CLAIM = Claim(key=KEY, title="linear transformers keep an implicit linear model", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="READ+DERIVED",
              locator="abstract (arXiv 2402.14180)",
              fixed="its statement is an identity for any context and weights (checked on random prompts), "
                    "with no data setting")
