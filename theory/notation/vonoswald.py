"""von Oswald et al. (ICML 2023), arXiv 2212.07677, mapped to the canonical model (STATEMENTS.md section 0).

Their layout: tokens are columns e_j = (x_j, y_j) of E in R^{(N_x+N_y) x (N+1)}, the query token last,
initialised (x_test, -W_0 x_test) (with W_0 = 0 in their experiments: (x_test, 0)). One LSA layer,
with keys and values from the N context tokens only and no 1/N:

    e_j <- e_j + sum_h P_h W_{V,h} (sum_{i<=N} e_i e_i^T) W_{K,h}^T W_{Q,h} e_j,

and the prediction is -1 x the y-entry of the query token. Reference model: y = W x,
L(W) = (1/2N) sum_i ||W x_i - y_i||^2, one GD step Delta W = -(eta/N) sum_i (W x_i - y_i) x_i^T.

Map to the canonical model (Ahn et al.; Z_{l+1} = Z_l + (1/n) P Z M Z^T Q Z, TF = -[Z]_{d+1,n+1}) for
N_y = 1, one head:      n = N,    P_can = N * P W_V,    Q_can = W_K^T W_Q,
Z0 = E (same column layout, canonical query label slot 0 = their -W_0 x_test when W_0 = 0), and
TF = their prediction. Loss: they report 1/2 MSE on the query, i.e. 1/2 of the canonical f.

Data law as published: the paper text says x ~ U(-1, 1)^d; their code samples U(-r/2, r/2)^d with
r = input_range = 1. U(-r/2, r/2) has coordinate variance r^2 / 12 (Sigma = r^2/12 I; 'uniform' law).
Everything is generic: sympy matrices give exact results, numpy 2-d arrays give floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from iclcheck.theory import one_layer
from iclcheck.theory.one_layer import exact_inputs, reduced_loss_formula
from iclcheck.theory.setting import Setting

__all__ = [
    "ARXIV",
    "CODE_INPUT_RANGE",
    "PAPER_TEXT_INPUT_RANGE",
    "SETUP_D",
    "SETUP_N",
    "UNIFORM_KURTOSIS",
    "curvature_condition",
    "gdpp_weights",
    "lsa_layer",
    "prediction",
    "prop1_weights",
    "setup_gd_loss_exact",
    "setup_hand_formula",
    "to_canonical",
    "tokens",
    "uniform_variance",
]

ARXIV = "2212.07677"
CODE_INPUT_RANGE = sp.Integer(1)  # code: x ~ U(-1/2, 1/2)^d
PAPER_TEXT_INPUT_RANGE = sp.Integer(2)  # paper text: x ~ U(-1, 1)^d
SETUP_D = SETUP_N = 10  # d and N of their regression setup (vonoswald2023.setup)
UNIFORM_KURTOSIS = sp.Rational(9, 5)  # E s^4 for a standardised uniform coordinate


def uniform_variance(r: Any) -> Any:
    """Var of U(-r/2, r/2) = r^2 / 12."""
    return r**2 / 12


def _sym(*mats: Any) -> bool:
    return any(isinstance(m, sp.MatrixBase) for m in mats)


def _block(rows, sym: bool):
    return sp.BlockMatrix(rows).as_explicit() if sym else np.block(rows)


def _zeros(r, c, sym):
    return sp.zeros(r, c) if sym else np.zeros((r, c))


def _eye(k, sym):
    return sp.eye(k) if sym else np.eye(k)


def tokens(X: Any, Y: Any, xq: Any, W0: Any) -> Any:
    """E = [[x_1 .. x_N, x_test], [y_1 .. y_N, -W_0 x_test]].

    X: N x N_x (rows x_i^T), Y: N x N_y, xq: N_x x 1 (sympy) or (N_x,), W0: N_y x N_x."""
    if _sym(X, Y, xq, W0):
        xq = sp.Matrix(xq)
        top = sp.Matrix(X).T.row_join(xq)
        bottom = sp.Matrix(Y).T.row_join(-sp.Matrix(W0) @ xq)
        return top.col_join(bottom)
    X, Y, W0 = np.asarray(X, float), np.asarray(Y, float), np.asarray(W0, float)
    xq = np.asarray(xq, float).reshape(-1)
    top = np.column_stack([X.T, xq])  # (N_x, N+1)
    bottom = np.column_stack([Y.T, -W0 @ xq])  # (N_y, N+1)
    return np.vstack([top, bottom])


def prop1_weights(W0: Any, eta: Any, N: int) -> dict[str, Any]:
    """Proposition 1: W_K = W_Q = [[I_x, 0], [0, 0]], W_V = [[0, 0], [W_0, -I_y]], P = (eta/N) I."""
    sym = _sym(W0)
    Ny, Nx = W0.shape
    Ix, Iy = _eye(Nx, sym), _eye(Ny, sym)
    WK = _block([[Ix, _zeros(Nx, Ny, sym)], [_zeros(Ny, Nx, sym), _zeros(Ny, Ny, sym)]], sym)
    WV = _block([[_zeros(Nx, Nx, sym), _zeros(Nx, Ny, sym)], [W0, -1 * Iy]], sym)
    P = (eta / N) * _eye(Nx + Ny, sym)
    return {"W_K": WK, "W_Q": WK, "W_V": WV, "P": P}


def gdpp_weights(W: Any, eta: Any, gamma: Any, N: int) -> dict[str, Any]:
    """GD++: W_K = W_Q = [[I_x, 0], [0, 0]], W_V = [[I_x, 0], [W, -I_y]], P = [[-gamma I_x, 0], [0, (eta/N) I_y]]."""
    sym = _sym(W)
    Ny, Nx = W.shape
    Ix, Iy = _eye(Nx, sym), _eye(Ny, sym)
    WK = _block([[Ix, _zeros(Nx, Ny, sym)], [_zeros(Ny, Nx, sym), _zeros(Ny, Ny, sym)]], sym)
    WV = _block([[Ix, _zeros(Nx, Ny, sym)], [W, -1 * Iy]], sym)
    P = _block([[-gamma * Ix, _zeros(Nx, Ny, sym)], [_zeros(Ny, Nx, sym), (eta / N) * Iy]], sym)
    return {"W_K": WK, "W_Q": WK, "W_V": WV, "P": P}


def lsa_layer(E: Any, *, P: Any, W_K: Any, W_Q: Any, W_V: Any, N: int) -> Any:
    """One LSA layer as they define it, literally: e_j <- e_j + P V K^T q_j with V = W_V E_c, K = W_K E_c
    (E_c = the N context columns; no 1/N) and q_j = W_Q e_j, for every column j (query included)."""
    Ec = E[:, :N]  # (D, N) context tokens
    V = W_V @ Ec  # (D, N) values
    K = W_K @ Ec  # (D, N) keys
    Qm = W_Q @ E  # (D, N+1) queries
    return E + P @ V @ (K.T @ Qm)  # (D, N+1)


def prediction(E: Any, Nx: int, N: int) -> Any:
    """-1 x the y-entry of the query token (column N)."""
    return -1 * E[Nx:, N]


def to_canonical(*, P: Any, W_K: Any, W_Q: Any, W_V: Any, N: int) -> tuple[Any, Any]:
    """(P_can, Q_can) = (N P W_V, W_K^T W_Q): the canonical layer Z + (1/n) P_can Z M Z^T Q_can Z, n = N,
    equals theirs column by column (their update is P W_V (sum_i e_i e_i^T) W_K^T W_Q e_j)."""
    return N * (P @ W_V), W_K.T @ W_Q


def curvature_condition(lo: sp.Rational, hi: sp.Rational, gamma: sp.Rational) -> sp.Expr:
    """max / min of p(lambda) = lambda (1 - gamma lambda)^2 over [lo, hi] (exact): the condition number of the
    corrected Gram when its eigenvalues fill [lo, hi]. p rises to lambda = 1/(3 gamma), falls to 0 at 1/gamma."""
    p = lambda lam: lam * (1 - gamma * lam) ** 2  # noqa: E731
    cands = [lo, hi] + [c for c in (1 / (3 * gamma), 1 / gamma) if lo <= c <= hi]
    vals = [p(c) for c in cands]
    return max(vals) / min(vals) if min(vals) > 0 else sp.oo


def setup_gd_loss_exact(r: sp.Rational, *, half: bool = True) -> tuple[sp.Rational, sp.Rational]:
    """(eta*, loss at eta*) of one GD step from 0 for x ~ U(-r/2, r/2)^10, N = 10 (their setup), exactly
    (theory.one_layer); ``half``: their loss, 1/2 of the canonical one."""
    D, N = SETUP_D, SETUP_N
    s = uniform_variance(r)
    setting = Setting.make(s * sp.eye(D), N, covariates="uniform")
    S, W, Sh, km3, s2, n = exact_inputs(setting)
    eta = sp.Symbol("eta")
    L = sp.expand(reduced_loss_formula(S, W, Sh, km3, s2, n, eta * sp.eye(D), one_layer.SYMPY_OPS))
    eta_star = sp.solve(sp.diff(L, eta), eta)[0]
    val = L.subs(eta, eta_star)
    return eta_star, sp.nsimplify(val / 2 if half else val)


def setup_hand_formula(r: sp.Rational, *, d: int = SETUP_D, n: int = SETUP_N, kappa: sp.Rational = UNIFORM_KURTOSIS):
    """Independent hand derivation for isotropic product laws (coordinate variance s, fourth moment kappa s^2):
    E (eta g^T x_q - w^T x_q)^2 with g = (1/n) sum y_i x_i is minimised at eta* = n / (s (n + d + kappa - 2)),
    with minimum d s (d + kappa - 2) / (n + d + kappa - 2); returns (eta*, half of that)."""
    s = uniform_variance(r)
    den = n + d + kappa - 2
    return n / (s * den), d * s * (d + kappa - 2) / den / 2
