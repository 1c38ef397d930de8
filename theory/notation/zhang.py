"""Zhang, Frei, Bartlett (JMLR 2024), "Trained transformers learn linear models in-context": notation map.

Their model, as printed (STATEMENTS.md section 5): E = [[x_1 .. x_N x_q], [y_1 .. y_N 0]],
    f(E) = E + W^PV E (E^T W^KQ E) / N,          y_hat = +[f(E)]_{d+1, N+1},     loss = (1/2) E (y_hat - y_q)^2,
x ~ N(0, Lambda), w ~ N(0, I), no noise. Map to the canonical model (STATEMENTS.md section 0):
- N = n; the 1/N sits where the canonical 1/n sits (inside the residual update);
- sign of the prediction: canonical TF = -[Z_1]_{d+1,n+1}, theirs is +[f(E)]: take P = W^PV, Q = -W^KQ
  (equivalently P = -W^PV, Q = W^KQ);
- the 1/2 in the loss halves every loss value and moves no minimiser: their L = f / 2;
- no query mask: E E^T includes z_q z_q^T. Its contribution to y_hat is (W^PV[d+1, :d] x_q)(x_q^T W^KQ_11 x_q)/N
  (z_q has a 0 label), which is zero whenever the last row of W^PV has zero x-part, as at their solution
  W^PV = [[0,0],[0,u]], W^KQ = [[W11,0],[0,0]]; it is even under w -> -w, so it never lowers the loss;
- their Gamma := (1 + 1/N) Lambda + (1/N) tr(Lambda) I is the INVERSE of the canonical preconditioner:
  canonical Gamma = u W11^T with u W11 = Gamma_Zhang^{-1}.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from iclcheck.theory.one_layer import master_loss_symbolic

__all__ = ["NOTATION", "ZFB_NOTATION", "from_canonical", "iid_average", "reduced_flow", "thm4_2_rhs", "thm4_5_averaged_optimum",
           "to_canonical", "zfb_trained_gamma", "zhang_forward", "zhang_gamma", "zhang_solution"]

NOTATION = (
    "Zhang et al.: f(E) = E + W^PV E (E^T W^KQ E)/N (no query mask), y_hat = +[f(E)]_{d+1,N+1}, loss (1/2)E(y_hat-y)^2, "
    "x ~ N(0, Lambda), w ~ N(0, I). Canonical: n = N, P = W^PV, Q = -W^KQ (sign of the prediction), loss f = 2 L "
    "(the 1/2 moves no minimiser); the missing mask adds (W^PV[d+1,:d] x_q)(x_q^T W^KQ_11 x_q)/N, zero at their "
    "solution; their Gamma = (1+1/N) Lambda + tr(Lambda)/N I is the inverse of the canonical preconditioner."
)

# the map at test time (distribution-shift claims): the test length M takes the place of N
ZFB_NOTATION = (NOTATION + " At test time their 1/N becomes 1/M (M = the test prompt length), which is the "
                "canonical 1/n with n = M: a predictor trained at (Lambda, N) is the canonical Gamma = Gamma_ZFB^{-1} "
                "evaluated at the test setting (iclcheck.numerics.shift). Thm 4.2's error is un-halved, "
                "E(y_hat - y_q)^2 with a noisy query target: the canonical loss plus sigma2 (the canonical target "
                "w^T x_q is noiseless).")


def zhang_gamma(Lam: Any, N: Any) -> Any:
    """Their Gamma := (1 + 1/N) Lambda + (1/N) tr(Lambda) I (sympy Matrix or numpy array)."""
    if isinstance(Lam, sp.MatrixBase):
        return (1 + sp.Integer(1) / N) * Lam + Lam.trace() / N * sp.eye(Lam.shape[0])
    Lam = np.asarray(Lam, dtype=float)
    return (1 + 1 / N) * Lam + np.trace(Lam) / N * np.eye(Lam.shape[0])


def zhang_solution(Lam: Any, N: Any, *, u: Any = 1) -> tuple[Any, Any]:
    """Their global minimum: W^PV = [[0,0],[0,u]], W^KQ = [[Gamma^{-1}/u, 0],[0,0]] (so W^PV_22 W^KQ_11 = Gamma^{-1})."""
    G = zhang_gamma(Lam, N)
    if isinstance(G, sp.MatrixBase):
        d = G.shape[0]
        W_PV, W_KQ = sp.zeros(d + 1, d + 1), sp.zeros(d + 1, d + 1)
        W_PV[d, d] = u
        W_KQ[:d, :d] = G.inv() / u
        return W_PV, W_KQ
    d = G.shape[0]
    W_PV, W_KQ = np.zeros((d + 1, d + 1)), np.zeros((d + 1, d + 1))
    W_PV[d, d] = u
    W_KQ[:d, :d] = np.linalg.inv(G) / u
    return W_PV, W_KQ


def zhang_forward(E: np.ndarray, W_PV: np.ndarray, W_KQ: np.ndarray) -> np.ndarray:
    """Their literal model on a batch E (B, d+1, N+1): f(E) = E + W^PV E (E^T W^KQ E)/N, NO mask; returns
    y_hat = +[f(E)]_{d+1, N+1}, shape (B,). Written independently of numerics.forward on purpose."""
    E = np.asarray(E, dtype=float)
    N = E.shape[2] - 1
    att = E.transpose(0, 2, 1) @ (W_KQ @ E)  # (B, N+1, N+1) = E^T W^KQ E
    out = E + (W_PV @ E) @ att / N  # (B, d+1, N+1)
    return out[:, -1, -1]


def to_canonical(W_PV: Any, W_KQ: Any) -> tuple[Any, Any]:
    """(P, Q) = (W^PV, -W^KQ): the canonical parameters with the same prediction (up to the mask term)."""
    return W_PV, -W_KQ


def from_canonical(P: Any, Q: Any) -> tuple[Any, Any]:
    """(W^PV, W^KQ) = (P, -Q)."""
    return P, -Q


def reduced_flow(Lam: np.ndarray, Gam: np.ndarray):
    """The recorded reduced dynamics (Lemma 5.2) as an ODE right-hand side in y = (vec U, u)."""
    d = Lam.shape[0]
    GL, L2 = Gam @ Lam, Lam @ Lam

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        U, u = y[:d * d].reshape(d, d), y[-1]
        dU = -u ** 2 * GL @ U @ Lam + u * L2  # (d, d)
        du = -np.trace(u * GL @ U @ Lam @ U.T - L2 @ U.T)
        return np.concatenate([dU.ravel(), [du]])

    return rhs


def thm4_2_rhs(Lam: sp.Matrix, N, M, a: sp.Matrix, Sig: sp.Matrix, min_err) -> sp.Expr:
    """min_w E(<w, x_q> - y_q)^2 + (1/M) tr(Sigma Gamma^-2 Lambda) + (1/N^2)[|a|^2_{G^-2 L^3} + 2 tr(L) |a|^2_{G^-2 L^2}
    + tr(L)^2 |a|^2_{G^-2 L}] (a: d x 1; for an average over w pass a a^T's expectation through ``quad``)."""
    G2 = zfb_trained_gamma(Lam, N) ** 2  # Gamma^-2
    t = Lam.trace()
    q = (a.T * (G2 * Lam ** 3 + 2 * t * G2 * Lam ** 2 + t ** 2 * G2 * Lam) * a)[0, 0]
    return min_err + (Sig * G2 * Lam).trace() / M + q / N ** 2


def iid_average(expr: sp.Expr, lams: list[sp.Symbol], moments) -> sp.Expr:
    """E over iid lambda_i with E lambda^k = moments(k) of a polynomial in the lambdas."""
    poly = sp.Poly(sp.expand(expr), *lams)
    return sp.expand(sum(coeff * sp.Mul(*[moments(e) for e in exps]) for exps, coeff in poly.terms()))


def thm4_5_averaged_optimum(d: int, N, moments) -> sp.Matrix:
    """argmin over all d x d Gamma of E_tau L_tau(Gamma), L_tau the master loss at Lambda_tau = diag(lambda)."""
    lams = list(sp.symbols(f"lam0:{d}", positive=True))
    Gs = sp.Matrix(d, d, sp.symbols(f"g0:{d * d}"))
    L = master_loss_symbolic(sp.diag(*lams), sp.eye(d), 0, N, Gs)
    EL = iid_average(L, lams, moments)
    A, b = sp.linear_eq_to_matrix([sp.diff(EL, g) for g in Gs], list(Gs))  # the gradient is linear in Gamma
    from sympy.polys.matrices import DomainMatrix

    dA, db = DomainMatrix.from_Matrix(A), DomainMatrix.from_Matrix(b)
    K = dA.domain.unify(db.domain)
    K = K.get_field() if K.has_assoc_Field else K
    if dA.convert_to(K).rank() != d * d:
        raise ArithmeticError("the averaged loss is not strictly convex here (singular Hessian)")
    sol = dA.convert_to(K).lu_solve(db.convert_to(K)).to_Matrix()
    return sp.Matrix(d, d, list(sol)).applyfunc(sp.cancel)


def zfb_trained_gamma(Lam: Any, N: Any) -> Any:
    """The canonical Gamma of ZFB's trained LSA: Gamma_ZFB^{-1}, Gamma_ZFB = (1 + 1/N) Lambda + tr(Lambda)/N I."""
    G = zhang_gamma(Lam, N)
    return G.inv().applyfunc(sp.cancel) if isinstance(G, sp.MatrixBase) else np.linalg.inv(G)
