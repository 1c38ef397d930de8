"""Ahn, Cheng, Daneshmand, Sra (NeurIPS 2023), arXiv 2306.00297: their notation IS the canonical model.

Map to the canonical model (STATEMENTS.md section 0), item by item:
- prompt Z0 = [[x_1..x_n x_q], [y_1..y_n 0]] (columns are tokens), mask M = diag(I_n, 0): identical;
- Z_{l+1} = Z_l + (1/n) P_l Z_l M (Z_l^T Q_l Z_l): identical (the 1/n sits in the residual update);
- prediction TF = -[Z_L]_{d+1,n+1}, loss f = E (TF - w^T x_q)^2 with no 1/2: identical;
- one layer, P_0 = [[0,0],[0,1]], Q_0 = -[[B,0],[0,0]] predicts x_q^T B^T (1/n) sum_i y_i x_i, so the
  canonical preconditioner is Gamma = B^T (= B for the symmetric blocks the paper prints);
- condition (8): P_i = [[0,0],[0,1]], Q_i = -[[A_i,0],[0,0]]; Lemma 1's w_l^gd is in R^d;
- priors: x ~ N(0, Sigma), w ~ N(0, I) (Thm 1, 5) or N(0, Sigma^{-1}) (Thm 3, 4); no label noise;
- Thm 5 (ReLU attention) replaces Z^T Q Z by ReLU(Z^T Q Z) entrywise; its Q_0 = [[A,0],[0,0]] carries
  the sign inside A (printed A is negative definite).
- Their public code stores tokens as rows and uses code Q = -A (STATEMENTS.md section 6); not used here.

Everything below is the paper's printed formulas as sympy/numpy-agnostic functions, plus two derived
closed forms used by the checks (``relu_layer_loss``, ``odd_part_gamma``), each with its derivation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

__all__ = [
    "NOTATION",
    "eq7_scalar",
    "exact_forward",
    "lemma1_recursion",
    "odd_part_gamma",
    "released_forward",
    "relu_layer_loss",
    "thm1_block",
    "thm1_params",
    "thm5_params",
    "thm5_scalar",
]

NOTATION = (
    "Canonical model = Ahn et al.'s own: Z0 columns (x_i; y_i), query (x_q; 0), mask M = diag(I_n, 0), "
    "Z_{l+1} = Z_l + (1/n) P Z M Z^T Q Z, TF = -[Z_L]_{d+1,n+1}, f = E(TF - w^T x_q)^2 (no 1/2). "
    "One layer with P_0 = [[0,0],[0,1]], Q_0 = -[[B,0],[0,0]] predicts x_q^T B^T (1/n) sum y_i x_i, "
    "i.e. canonical Gamma = B^T."
)


def thm1_block(lams: list[Any], n: Any) -> sp.Matrix:
    """Printed Thm 1 block diag(1 / ((n+1)/n lambda_i + (1/n) sum_k lambda_k)) (to be conjugated by U)."""
    tr = sum(lams)
    return sp.diag(*[1 / (sp.Rational(1) * (n + 1) / n * lam + tr / n) for lam in lams])


def thm1_params(U: Any, lams: list[Any], n: Any) -> tuple[sp.Matrix, sp.Matrix]:
    """Printed (P_0, Q_0) of Thm 1: P_0 = [[0,0],[0,1]], Q_0 = -[[U block U^T, 0],[0,0]] (sympy)."""
    U = sp.Matrix(U)
    d = U.shape[0]
    B = U * thm1_block(lams, n) * U.T
    P = sp.zeros(d + 1, d + 1)
    P[d, d] = 1
    Q = sp.zeros(d + 1, d + 1)
    Q[:d, :d] = -B
    return P, Q


def eq7_scalar(n: Any, d: Any) -> sp.Expr:
    """Printed eq. (7): Q_0 = -(1 / ((n-1)/n + (d+2)/n)) [[I,0],[0,0]]; returns the scalar 1/((n-1)/n + (d+2)/n)."""
    return 1 / (sp.Rational(1) * (n - 1) / n + sp.Rational(1) * (d + 2) / n)


def thm5_scalar(n: Any, d: Any) -> sp.Expr:
    """Printed Thm 5 (reconstructed): A = -(2n / (2(d+2) + (n-1))) I_d; returns 2n / (2(d+2) + (n-1))."""
    return 2 * sp.Integer(1) * n / (2 * (d + 2) + (n - 1))


def lemma1_recursion(X: Any, y: Any, As: list[Any], *, transpose: bool = False) -> list[Any]:
    """The printed recursion of Lemma 1: w_0 = 0, w_{l+1} = w_l - A_l grad R(w_l) with
    R(w) = (1/2n) sum_i (w^T x_i - y_i)^2, grad R(w) = (1/n) X^T (X w - y). Returns [w_0, ..., w_L].

    X is n x d, y length n (column), A_l d x d; works for sympy matrices (exact) and numpy arrays.
    ``transpose=True`` uses A_l^T instead of A_l (the corrected form, see ahn2023.lemma1)."""
    n = X.shape[0]
    w = X[:1, :].T * 0  # d x 1 zero of the right type
    out = [w]
    for A in As:
        g = X.T @ (X @ w - y) / n
        w = w - (A.T if transpose else A) @ g
        out.append(w)
    return out


def relu_layer_loss(c: Any, B: Any, n: Any, d: Any) -> Any:
    """Derived: loss of one ReLU-attention layer with last row of P = (0, c), Q11 = B, q21 = 0, x, w ~ N(0, I).

    The prediction is TF = -c m_B, m_B = (1/n) sum_i y_i ReLU(x_i^T B x_q). Conditional on x_q = q,
    v = B q, Stein's lemma gives E[x ReLU(x^T v)] = v P(x^T v > 0) = v/2, and E[|x|^2 (x^T v)^2 1{x^T v>0}]
    = (1/2) E[|x|^2 (x^T v)^2] = (d+2)|v|^2 / 2 (symmetry x -> -x). Averaging over w ~ N(0, I) and q:
        E[m_B w^T x_q] = tr(B)/2,
        E[m_B^2]       = (1/n) (d+2)/2 |B|_F^2 + (n-1)/n |B|_F^2/4 = |B|_F^2 (2(d+2) + n - 1) / (4n),
    so f(c, B) = c^2 E[m_B^2] + 2c E[m_B w^T x_q] + d = c^2 |B|_F^2 K/(4n) + c tr(B) + d, K = 2(d+2)+n-1.
    ``B`` is a sympy Matrix (or anything with .trace() and elementwise squares via ``sum``)."""
    K = 2 * (d + 2) + n - 1
    fro2 = sum(v**2 for v in B)
    return c**2 * fro2 * K / (4 * n) + c * B.trace() + d


def odd_part_gamma(b: Any, c: Any, Q11: Any, q21: Any) -> Any:
    """The preconditioner of the w-odd part of a one-layer prediction (b, q21 as d x 1 columns).

    TF = -(1/n) sum_i (b^T x_i + c y_i)(x_i^T Q11 + y_i q21^T) x_q splits into the terms with exactly one
    label (odd under w -> -w, eps -> -eps) and the rest (even):
        TF_odd  = -(1/n) sum_i y_i x_i^T (c Q11 + b q21^T) x_q = x_q^T Gamma_eff (1/n) sum_i y_i x_i,
        Gamma_eff = -(c Q11 + b q21^T)^T,
        TF_even = -(1/n) sum_i [(b^T x_i)(x_i^T Q11 x_q) + c y_i^2 q21^T x_q].
    The data law is invariant under (w, eps) -> (-w, -eps) and the target is odd, so
    f(P, Q) = L(Gamma_eff) + E[TF_even^2] >= L(Gamma_eff) >= L*."""
    return -(c * Q11 + b @ q21.T).T


def exact_forward(X: sp.Matrix, y: sp.Matrix, xq: sp.Matrix, As: list[sp.Matrix]) -> list[sp.Expr]:
    """The literal L-layer forward pass under (8) in exact arithmetic (the definition, written out):
    Z_{l+1} = Z_l + (1/n) P_l Z_l M (Z_l^T Q_l Z_l). Returns [Z_l]_{d+1,n+1} for l = 0..L."""
    n, d = X.shape
    Z = sp.zeros(d + 1, n + 1)
    Z[:d, :n] = X.T
    Z[d, :n] = y.T
    Z[:d, n] = xq
    P = sp.zeros(d + 1, d + 1)
    P[d, d] = 1
    Mmask = sp.diag(*([1] * n + [0]))
    out = [Z[d, n]]
    for A in As:
        Q = sp.zeros(d + 1, d + 1)
        Q[:d, :d] = -A
        Z = Z + P * Z * Mmask * (Z.T * Q * Z) / n
        out.append(Z[d, n])
    return out


def released_forward(X: sp.Matrix, y: sp.Matrix, xq: sp.Matrix, As: list[sp.Matrix]) -> list[sp.Expr]:
    """The released code's forward pass (proofs/released.py, ahn2023.lemma1), written out exactly: tokens are the
    rows z_m of Zr ((n+1) x (d+1)), scores Attn[k, m] = z_k^T Q z_m (k the updated token), token k receives
    (1/n) sum_{m <= n} Attn[k, m] P z_m; P = [[0, 0], [0, 1]], Q = [[-A, 0], [0, 0]]. Returns [Z_l]_{d+1,n+1}."""
    n, d = X.shape
    Zr = sp.zeros(n + 1, d + 1)
    Zr[:n, :d] = X
    Zr[:n, d] = y
    Zr[n, :d] = xq.T
    P = sp.zeros(d + 1, d + 1)
    P[d, d] = 1
    Mmask = sp.diag(*([1] * n + [0]))
    out = [Zr[n, d]]
    for A in As:
        Q = sp.zeros(d + 1, d + 1)
        Q[:d, :d] = -A
        Attn = Zr * Q * Zr.T  # (n+1, n+1): Attn[k, m] = z_k^T Q z_m
        Zr = Zr + Attn * Mmask * Zr * P.T / n  # row k += (1/n) sum_m Attn[k, m] mask_m (P z_m)^T
        out.append(Zr[n, d])
    return out


def thm5_params(c: float, B: np.ndarray, b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """P with last row (b, c), Q with Q11 = B and every other entry 0."""
    d = B.shape[0]
    P = np.zeros((d + 1, d + 1))
    P[d, d] = c
    if b is not None:
        P[d, :d] = b
    Q = np.zeros((d + 1, d + 1))
    Q[:d, :d] = B
    return P, Q
