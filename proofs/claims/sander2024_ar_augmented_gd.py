"""[Sander, Giryes, Suzuki, Blondel, Peyre 2024, Sec. 4 (augmented tokens, commuting orthogonal W), as recalled] For
sequences s_{t+1} = W s_t with W in a commuting family of orthogonal matrices (2 x 2 rotation blocks) and augmented
tokens e_t = (s_t, s_{t-1}), the optimal one-layer linear transformer implements one GD step on the in-context
objective sum_t |s_{t+1} - W s_t|^2, and gradient flow converges to it.

Reading encoded (one rotation block): d = 2, s_t = R(theta)^t s_0, theta ~ U[0, 2 pi) (Haar on SO(2)), s_0 uniform
on the unit circle; tokens e_t = (s_t, s_{t-1}), t = 1..T; the layer predicts s_{T+1} as sum_t P e_t (e_t^T Q e_T)
(P 2 x 4, Q 4 x 4, any 1/T folded into Q); risk E|s_hat - s_{T+1}|^2 at the last position; T = 6.

Steps. (1) One GD step from W = 0 on 1/2 sum_{t<=T} |s_t - W s_{t-1}|^2 predicts eta g, g = sum_t s_t s_{t-1}^T s_T;
exactly (theory.autoregressive.rotation_gd_moments) E y^T g = T/2 and E|g|^2 = T(T+1)/4, so eta* = 2/(T+1) and the best
GD risk is 1/(T+1); checked against the exact quadrature (numerics.autoregressive.rotation_grid: a trapezoidal rule
exact for the trigonometric polynomials involved) at eta*, and at two other steps (which pins a, b and c).
(2) Preconditioners that commute with the family (A, B in span{I, J}, J the quarter turn) do not help one head:
the best sum_t A s_t s_{t-1}^T B s_T (alternating least squares) still has risk 1/(T+1); but two such heads are
exact, (1/T) sum_t [s_t s_{t-1}^T s_T - J s_t s_{t-1}^T J s_T] = s_{T+1} (complex notation: cos and sin parts). (3) The GD construction (P = [I 0], Q with eta* I in the key
block) has risk 1/(T+1) in the layer and a non-zero gradient there: it is not a critical point of the layer's
population loss. (4) Descending from it (L-BFGS on the exact population loss) reaches a critical point whose risk is
well below 1/(T+1); its prediction is alpha g + beta f with f = sum_t s_t s_t^T s_{T-1}, i.e. Q also uses the key
s_t against the query's s_{T-1} (the least-squares fit on (g, f) has the same risk). Under this reading the optimal
layer is not a (commutant-preconditioned) GD step on sum |s_{t+1} - W s_t|^2: the recorded statement fails. Gradient
flow is not run.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.optimize import minimize

from iclcheck.numerics.autoregressive import RotationGrid, augmented_layer_loss, rotation_grid
from iclcheck.proofs.registry import Claim, Context
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.autoregressive import rotation_gd_moments

__all__ = ["CLAIM", "verify"]

SOURCE = ("[Sander, Giryes, Suzuki, Blondel, Peyre 2024, Sec. 4 (augmented tokens, commuting orthogonal contexts), "
          "as recalled] arXiv 2402.05787")
STATEMENT = ("Sequences s_{t+1} = W s_t with W drawn from a commuting family of orthogonal matrices (block-diagonal 2x2 "
             "rotations). With augmented tokens e_t = (s_t, s_{t-1}) the optimal one-layer linear transformer "
             "implements one GD step on the in-context objective sum_t |s_{t+1} - W s_t|^2, and gradient flow "
             "converges to it.")
NOTATION = ("one rotation block: d = 2, W = R(theta), theta ~ U[0, 2 pi), |s_0| = 1 uniform; the layer is s_hat = "
            "sum_{t=1}^T P e_t (e_t^T Q e_T), e_t = (s_t, s_{t-1}) (values P e_t, keys e_t, query Q e_T; a 1/T or "
            "1/2 is absorbed in Q); GD from W = 0 on the halved 1/2 sum |s_t - W s_{t-1}|^2 with step eta (un-halved: "
            "eta/2); risk E|s_hat - s_{T+1}|^2 at the last position (un-halved); T = 6 context tokens")

ROUNDING = Tolerance(rtol=1e-9, atol=1e-12, reason="exact quadrature in floating point, a few hundred nodes: rounding")
CLAIMED = Tolerance(rtol=1e-6, reason="the optimal layer's risk should equal the best GD step's if the layer is a GD step;"
                    " L-BFGS converges to 1e-9 in the risk, so 1e-6 is far above its error")


def _features(G: RotationGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """g_{ij} (B, 4, 2), f (B, 2), g (B, 2) on the grid: s_t = E[:, t-1, :2], s_{t-1} = E[:, t-1, 2:]."""
    J = np.array([[0.0, -1.0], [1.0, 0.0]])
    st, sp_ = G.E[:, :, :2], G.E[:, :, 2:]  # (B, T, 2) each
    sT, sT1 = G.q[:, :2], G.q[:, 2:]  # (B, 2): s_T, s_{T-1}
    feats = []
    for i in range(2):
        for j in range(2):
            Ji, Jj = np.linalg.matrix_power(J, i), np.linalg.matrix_power(J, j)
            sc = np.einsum("bti,ij,bj->bt", sp_, Jj, sT)  # s_{t-1}^T J^j s_T
            feats.append(np.einsum("bt,btk->bk", sc, st) @ Ji.T)  # J^i sum_t s_t (.)
    g = feats[0]
    f = np.einsum("bt,btk->bk", np.einsum("bti,bi->bt", st, sT1), st)  # sum_t s_t s_t^T s_{T-1}
    return np.stack(feats, axis=1), f, g


def _lstsq_coef(F: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of y (B, 2) on the features F (B, k, 2) (scalar coefficients)."""
    A = np.einsum("bki,bli->kl", F, F)  # (k, k) Gram
    return np.asarray(np.linalg.solve(A, np.einsum("bki,bi->k", F, y)))


def _lstsq_risk(F: np.ndarray, y: np.ndarray) -> float:
    """Least-squares risk of y (B, 2) on the span of the features F (B, k, 2) with scalar coefficients."""
    coef = _lstsq_coef(F, y)
    r = np.einsum("k,bki->bi", coef, F) - y
    return float(np.mean(np.sum(r * r, axis=1)))


def verify(ctx: Context):
    chk = Checker()
    T = 6
    G = rotation_grid(T)
    a, b, c = rotation_gd_moments(T)
    eta = b / c
    best = a - b * b / c
    gd_feats, f, g = _features(G)
    # (1) the best GD step, exactly
    for e in (float(eta), 0.1, 0.5):
        r = np.mean(np.sum((e * g - G.y) ** 2, axis=1))
        chk.close(f"one-GD-step risk a - 2 eta b + eta^2 c with exact a = 1, b = T/2, c = T(T+1)/4 (T={T}) = exact "
                  f"quadrature at eta = {e:.4g}", r, float(a - 2 * Fraction(e) * b + Fraction(e) ** 2 * c), ROUNDING)
    chk.decided(f"best step eta* = b/c = 2/(T+1) = {eta} and best GD risk a - b^2/c = 1/(T+1) = {best} (exact "
                f"rationals, T={T})", eta == Fraction(2, T + 1) and best == Fraction(1, T + 1),
                "exact rationals compared", exact=True)
    # (2) commutant preconditioners do not help one head; two heads are exact
    Fij = gd_feats.reshape(-1, 2, 2, 2)  # (B, i, j, 2): J^i sum_t s_t s_{t-1}^T J^j s_T
    coef_b = np.array([1.0, 0.3])
    for _ in range(60):  # alternating least squares over a (fixed b), then b (fixed a): each step exact
        coef_a = _lstsq_coef(np.einsum("bijk,j->bik", Fij, coef_b), G.y)
        coef_b = _lstsq_coef(np.einsum("bijk,i->bjk", Fij, coef_a), G.y)
    pre = np.einsum("bijk,i,j->bk", Fij, coef_a, coef_b) - G.y
    chk.close("preconditioned GD A sum_t s_t s_{t-1}^T B s_T with A, B in span{I, J} (commuting with the rotations; "
              "alternating least squares) still has risk 1/(T+1)", float(np.mean(np.sum(pre**2, axis=1))),
              float(best), Tolerance(rtol=1e-8, reason="alternating least squares, 60 rounds: converged to rounding"))
    two_heads = (Fij[:, 0, 0] - Fij[:, 1, 1]) / T  # (B, 2): heads (I, I) and (J, J)
    chk.close("two heads are exact: (1/T) sum_t [s_t s_{t-1}^T s_T - J s_t s_{t-1}^T J s_T] = s_{T+1} for every "
              "rotation and start (all quadrature nodes)", two_heads, G.y, ROUNDING)
    # (3) the GD construction in the layer, and its gradient there
    P0 = np.hstack([np.eye(2), np.zeros((2, 2))])  # values s_t
    Q0 = np.zeros((4, 4))
    Q0[2:, :2] = float(eta) * np.eye(2)  # score s_{t-1}^T s_T
    L0, gP, gQ = augmented_layer_loss(P0, Q0, G.E, G.q, G.y)
    chk.close("the GD construction in the layer (P = [I 0], key block eta* I) has risk 1/(T+1)", L0, float(best),
              ROUNDING)
    gnorm = float(np.sqrt(np.sum(gP**2) + np.sum(gQ**2)))
    chk.decided(f"the layer's population gradient at the GD construction is not zero (|grad| = {gnorm:.3f} > 0.1): "
                "not a critical point, so not the optimal layer", gnorm > 0.1, "Frobenius norm of (dP, dQ)")

    # (4) descend from it
    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        L, dP, dQ = augmented_layer_loss(x[:8].reshape(2, 4), x[8:].reshape(4, 4), G.E, G.q, G.y)
        return L, np.concatenate([dP.ravel(), dQ.ravel()])

    res = minimize(fun, np.concatenate([P0.ravel(), Q0.ravel()]), jac=True, method="L-BFGS-B",
                   options={"maxiter": 500, "gtol": 1e-10, "ftol": 1e-15})
    L1, gfin = fun(res.x)
    chk.decided(f"descent from the GD construction stops at a critical point (|grad| < 1e-6) with risk {L1:.4f}",
                float(np.linalg.norm(gfin)) < 1e-6, "L-BFGS on the exact population loss")
    chk.close("that critical point's prediction lies in the span of g = sum_t s_t s_{t-1}^T s_T and f = sum_t s_t s_t^T "
              "s_{T-1}: the least-squares risk on (g, f) equals it", _lstsq_risk(np.stack([g, f], axis=1), G.y), L1,
              Tolerance(rtol=1e-6, reason="L-BFGS converges to about 1e-9 in the risk"))
    chk.close(f"optimal one-layer risk = best one-GD-step risk 1/(T+1) (T={T}), as the statement implies", L1,
              float(best), CLAIMED)
    finding = (f"Under the reading encoded (d = 2, Haar rotation, |s_0| = 1, loss at the last of T = {T} positions) "
               f"the best one-GD-step predictor has risk exactly 1/(T+1) = {float(best):.4f} (step 2/(T+1)), and "
               f"preconditioners commuting with the rotations do not improve it; the one-head layer linear attention on "
               f"the augmented tokens does better: a critical point with risk {L1:.4f}, predicting alpha sum_t s_t "
               f"s_{{t-1}}^T s_T + beta sum_t s_t s_t^T s_{{T-1}}; two heads (preconditioners I and J, the quarter turn) "
               f"predict s_{{T+1}} exactly. The statement is recalled, not read: the paper's "
               f"'one GD step' may be on another inner objective (e.g. with a preconditioner acting on the augmented "
               f"tokens), a different loss position or initial-state law; confirm in its text.")
    return chk, finding


CLAIM = Claim(key="sander2024.ar_augmented_gd", title="augmented-token AR layer vs one GD step",
              source=SOURCE, statement=STATEMENT, notation=NOTATION, verify=verify, provenance="RECALLED",
              fixed="its statement is about autoregressive sequences s_{t+1} = W s_t with rotation W, not "
                    "regression prompts (x, y)")
