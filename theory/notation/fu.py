"""Fu, Chen, Jia, Sharan (NeurIPS 2024), arXiv 2310.17086, mapped to the toolkit's conventions.

Data: X is n x d (rows x_i^T), S := X^T X (unnormalised), w* ~ N(0, I), noiseless. OLS w = S^+ X^T y.
Their GD w_{k+1} = w_k - eta (S w_k - X^T y) is numerics.algorithms.reference.gd with step n * eta on
R(w) = (1/2n)||Xw - y||^2. Iterative Newton (eq. 5): M_0 = alpha S, M_{k+1} = 2 M_k - M_k S M_k,
w_k = M_k X^T y with alpha = 2 / ||S S^T||_2 as printed (the released code uses 1 / ||S S^T||_F).

The Newton layer of Thm 5.1 (proof, as printed) acts on hidden states h_j = [T x_j; x_j] in R^{2d}
(columns of H in R^{2d x (n+1)}, the last column is the query, which never serves as key or value):

    h_i <- h_i + c * sum_m sum_{j<=n} ReLU(<Q_m h_i, K_m h_j>) V_m h_j,      c = 1/n (Bai et al.'s
    normalised ReLU attention, which Fu et al. build on) or c = 1 (plain sum),

with Q_m = Qt_m [[0, -(n/2) I], [0, 0]], K_m = Kt_m [[I, 0], [0, 0]], Qt_1^T Kt_1 = I, Qt_2^T Kt_2 = -I,
V_1 = V_2 = [[I, 0], [0, 0]] (as printed). Then <Q_1 h_i, K_1 h_j> = -(n/2) x_i^T T x_j =: a_ij and
<Q_2 h_i, K_2 h_j> = -a_ij. The canonical model has no counterpart of this block (it is a construction
about a ReLU-attention transformer, not the LSA of STATEMENTS.md section 0); nothing is re-scaled.
The weights and hidden states are generic (sympy matrices exact, numpy arrays floats); the layer maps here are
exact (sympy) only: theory imports no numerics, and the float layer is numerics.model.lsa (used by the claim).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from iclcheck.theory import newton as nt
from iclcheck.theory.errors import InputError

__all__ = [
    "ARXIV",
    "alpha_code",
    "alpha_printed",
    "correct_b3",
    "hidden_state",
    "init_heads",
    "mlp_double",
    "mlp_weights",
    "newton_block",
    "newton_layer_heads",
    "printed_b3",
    "relu_attention",
    "top_block",
]

ARXIV = "2310.17086"


def alpha_printed(eigenvalues: list[Any]) -> Any:
    """alpha = 2 / ||S S^T||_2 = 2 / lambda_max(S)^2 (eq. 5 as printed), from the eigenvalues of S."""
    return 2 / max(eigenvalues) ** 2


def alpha_code(eigenvalues: list[Any]) -> Any:
    """alpha = 1 / ||S S^T||_F = 1 / sqrt(sum lambda^4) (the authors' released code)."""
    tot = sum(lam**4 for lam in eigenvalues)
    return 1 / (sp.sqrt(tot) if isinstance(tot, sp.Basic) else np.sqrt(tot))


def printed_b3(*, alpha: sp.Expr, s: sp.Symbol) -> dict[int, sp.Expr]:
    """App. B.3 as printed: M_1 and M_2 as polynomials in S (here the commuting symbol s)."""
    return {
        1: 2 * alpha * s - 4 * alpha**2 * s**3,
        2: 4 * alpha * s - 12 * alpha**2 * s**3 + 16 * alpha**3 * s**5 - 16 * alpha**4 * s**7,
    }


def _is_sym(*mats: Any) -> bool:
    return any(isinstance(m, sp.MatrixBase) for m in mats)


def _zeros(r: int, c: int, sym: bool):
    return sp.zeros(r, c) if sym else np.zeros((r, c))


def _eye(k: int, sym: bool):
    return sp.eye(k) if sym else np.eye(k)


def _block(rows: list[list[Any]], sym: bool):
    return sp.BlockMatrix(rows).as_explicit() if sym else np.block(rows)


def _relu(A: sp.MatrixBase) -> sp.MatrixBase:
    return A.applyfunc(lambda a: sp.Max(a, 0))


def hidden_state(X: Any, T: Any, xq: Any) -> Any:
    """H = [[T X^T, T x_q], [X^T, x_q]] in R^{2d x (n+1)}: columns h_j = [T x_j; x_j], query last.

    X: n x d (rows x_i^T), T: d x d, xq: d x 1 (sympy) or (d,) (numpy)."""
    sym = _is_sym(X, T, xq)
    if sym:
        C = sp.Matrix(X).T.row_join(sp.Matrix(xq))  # (d, n+1)
        return (T @ C).col_join(C)
    C = np.column_stack([np.asarray(X, float).T, np.asarray(xq, float).reshape(-1)])  # (d, n+1)
    return np.vstack([np.asarray(T, float) @ C, C])  # (2d, n+1)


def top_block(H: Any, d: int) -> Any:
    """The top d rows of the hidden states (where T x_j lives)."""
    return H[:d, :]


def newton_layer_heads(d: int, n: int, *, variant: str = "printed", Qt: Any = None, Kt: Any = None,
                       exact: bool = True) -> list[tuple[Any, Any, Any]]:
    """[(Q_1, K_1, V_1), (Q_2, K_2, V_2)] of the Newton layer.

    variant="printed":   V_1 = V_2 = [[I, 0], [0, 0]] (as printed: heads combined as ReLU(a) + ReLU(-a)).
    variant="corrected": V_2 = -V_1, so the heads give ReLU(a) - ReLU(-a) = a.
    Qt, Kt: the free factors of head 1 (2d x 2d, Qt^T Kt = I); head 2 uses -Qt (so Qt_2^T Kt_2 = -I).
    Default Qt = Kt = I. With exact=True everything is a sympy matrix (n/2 as a Rational)."""
    if variant not in ("printed", "corrected"):
        raise InputError("variant", f"unknown Newton-layer variant {variant!r}; use 'printed' or 'corrected'")
    sym = exact
    Z, eye = _zeros(d, d, sym), _eye(d, sym)
    half_n = sp.Rational(n, 2) if sym else n / 2
    Qbase = _block([[Z, -half_n * eye], [Z, Z]], sym)  # [[0, -(n/2) I], [0, 0]]
    Kbase = _block([[eye, Z], [Z, Z]], sym)  # [[I, 0], [0, 0]]
    V = _block([[eye, Z], [Z, Z]], sym)
    Qt = _eye(2 * d, sym) if Qt is None else Qt
    Kt = _eye(2 * d, sym) if Kt is None else Kt
    heads = [(Qt @ Qbase, Kt @ Kbase, V), ((-1) * Qt @ Qbase, Kt @ Kbase, V if variant == "printed" else (-1) * V)]
    return heads


def relu_attention(H: sp.MatrixBase, heads: list[tuple[Any, Any, Any]], *, n: int,
                   normalise: str = "1/n") -> sp.MatrixBase:
    """One residual ReLU-attention layer, literally and exactly (sympy): for every token i (queries include
    the query token),

        h_i <- h_i + c sum_m sum_{j <= n} ReLU(<Q_m h_i, K_m h_j>) V_m h_j,   c = 1/n or 1.

    The float layer is numerics.model.lsa (ReLU score, query mask, P_m = V_m, Q = K_m^T Q_m: see the claim)."""
    if normalise not in ("1/n", "sum"):
        raise InputError("normalise", f"must be '1/n' or 'sum', got {normalise!r}")
    if not isinstance(H, sp.MatrixBase):
        raise InputError("H", "the exact layer map takes sympy matrices (floats: numerics.lsa)")
    Hc = H[:, :n]  # (2d, n) keys and values from the n context tokens only
    out = H
    c = sp.Rational(1, n) if normalise == "1/n" else 1
    for Q, K, V in heads:
        A = (Q @ H).T @ (K @ Hc)  # (n+1, n): A[i, j] = <Q h_i, K h_j>
        out = out + c * (V @ Hc) @ _relu(A).T  # (2d, n+1)
    return out


def mlp_weights(d: int, *, exact: bool = True) -> tuple[Any, Any]:
    """W_1 = [[I, 0], [-I, 0]], W_2 = [[I, -I], [0, 0]] (2d x 2d): h <- h + W_2 ReLU(W_1 h) maps the top
    block u to u + ReLU(u) - ReLU(-u) = 2u and leaves the bottom block unchanged."""
    Z, eye = _zeros(d, d, exact), _eye(d, exact)
    return _block([[eye, Z], [-1 * eye, Z]], exact), _block([[eye, -1 * eye], [Z, Z]], exact)


def mlp_double(H: sp.MatrixBase, d: int) -> sp.MatrixBase:
    """The MLP h <- h + W_2 ReLU(W_1 h) of ``mlp_weights``, exactly (sympy)."""
    if not isinstance(H, sp.MatrixBase):
        raise InputError("H", "the exact MLP map takes sympy matrices (floats: numerics.lsa)")
    W1, W2 = mlp_weights(d)
    return H + W2 @ _relu(W1 @ H)


def correct_b3(*, alpha: sp.Expr, s: sp.Symbol) -> dict[int, sp.Expr]:
    """M_1, M_2 from the recursion (what B.3 should read)."""
    ms = nt.newton_polys(2, alpha=alpha, s=s)
    return {1: ms[1], 2: ms[2]}


def newton_block(T, S):
    """The claimed top-block maps: (T - 1/2 T S T, 2T - T S T)."""
    half = sp.Rational(1, 2) if isinstance(T, sp.MatrixBase) else 0.5
    return T - half * T @ S @ T, 2 * T - T @ S @ T


def init_heads(d: int, n: int, alpha, *, variant: str) -> list[tuple[sp.Matrix, sp.Matrix, sp.Matrix]]:
    """The initialization layer of App. B.2, eq. (21): on h_j = [x_j; x_j], Q_1^T K_1 = -Q_2^T K_2 = [[I, 0], [0, 0]]
    (here Q_m = J, K_1 = J, K_2 = -J with J = [[I, 0], [0, 0]]) and values V_m = n alpha J: equal (as printed) or
    V_2 = -V_1 (corrected)."""
    J = sp.diag(sp.eye(d), sp.zeros(d, d))
    V = n * alpha * J
    return [(J, J, V), (J, -J, V if variant == "printed" else -V)]
