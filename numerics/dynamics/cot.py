"""Chain of thought in one linear self-attention layer, with a vector (weight-prediction) target (Huang, Wang, Lee 2025).

Tokens have D = 2d + 2 rows, blocks (x, y, w, f): a context token is (x_i, y_i, 0, 0), a CoT token (0, 0, w_j, 1).
The layer reads its output at the last token z:

    out(Z) = z + (1/n) sum_{tokens j} (P z_j) (z_j^T Q z),      n = the number of context tokens,

and the w-block of out is the next iterate. Rolled out autoregressively: Z_0 = [context, (0, 0, w_0 = 0, 1)], then
w_{i+1} = out(Z_i)_w and Z_{i+1} = [Z_i, (0, 0, w_{i+1}, 1)]. Without CoT the model is one application to
[context, (0, 0, 0, 1)].

The GD construction (``gd_params``): P[w, x] = -eta I, Q[x, w] = I, Q[y, f] = -1 (all else 0), so that
z_j^T Q z = x_j^T w_i - y_j for a context token and P z_j = 0 for a CoT token: out_w = w_i - eta (S w_i - h), one GD
step on (1/2n)||X w - y||^2 per CoT token.

Without CoT the w-block of the output is (1/n) sum_i (A x_i + a y_i)(x_i^T u + y_i c) with A = P[w, x],
a = P[w, y], u = Q[x, f], c = Q[y, f]: its odd part in (w*, eps) is Gamma_eff h, Gamma_eff = c A + a u^T, h = X^T y / n
(``no_cot_gamma``); the even part is orthogonal to any odd target, so over the whole class the weight error is at least
min_Gamma E||Gamma h - w*||^2 (``weight_class_optimum``: Gamma* = E[w* h^T] (E[h h^T])^{-1}).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["blocks", "context_tokens", "gd_params", "layer_output", "no_cot_gamma", "rollout", "teacher_forced_coefficients",
           "teacher_forced_inputs", "weight_class_optimum"]


def blocks(d: int) -> dict[str, slice]:
    """Row slices of the token blocks x, y, w, f."""
    return {"x": slice(0, d), "y": slice(d, d + 1), "w": slice(d + 1, 2 * d + 1), "f": slice(2 * d + 1, 2 * d + 2)}


def context_tokens(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(B, D, n) context tokens (x_i, y_i, 0, 0) from X (B, n, d), y (B, n)."""
    X, y = np.asarray(X, float), np.asarray(y, float)
    B, n, d = X.shape
    Z = np.zeros((B, 2 * d + 2, n))
    Z[:, :d, :] = X.transpose(0, 2, 1)
    Z[:, d, :] = y
    return Z


def _cot_token(w: np.ndarray) -> np.ndarray:
    B, d = w.shape
    z = np.zeros((B, 2 * d + 2))
    z[:, d + 1:2 * d + 1] = w
    z[:, -1] = 1.0
    return z


def layer_output(Z: np.ndarray, P: np.ndarray, Q: np.ndarray, n: int) -> np.ndarray:
    """out at the last token of Z (B, D, T): z + (1/n) sum_j (P z_j)(z_j^T Q z) over all T tokens."""
    z = Z[:, :, -1]  # (B, D)
    s = np.einsum("bdt,bd->bt", Z, z @ Q.T)  # (B, T) scores z_j^T Q z
    return z + np.einsum("bdt,bt->bd", P @ Z, s) / n  # (B, D)


def rollout(X: np.ndarray, y: np.ndarray, P: np.ndarray, Q: np.ndarray, steps: int) -> np.ndarray:
    """(B, steps + 1, d): w_0 = 0, w_1, ..., w_steps by the autoregressive CoT rollout of one layer (P, Q)."""
    X = np.asarray(X, float)
    B, n, d = X.shape
    D = 2 * d + 2
    if np.shape(P) != (D, D) or np.shape(Q) != (D, D):
        raise InputError("P, Q", f"must be {D} x {D} for d = {d} (token blocks x, y, w, f), got {np.shape(P)}, "
                         f"{np.shape(Q)}")
    Z = np.concatenate([context_tokens(X, y), _cot_token(np.zeros((B, d)))[:, :, None]], axis=2)
    ws = [np.zeros((B, d))]
    bw = blocks(d)["w"]
    for _ in range(int(steps)):
        w = layer_output(Z, P, Q, n)[:, bw]  # (B, d)
        ws.append(w)
        Z = np.concatenate([Z, _cot_token(w)[:, :, None]], axis=2)
    return np.stack(ws, axis=1)


def teacher_forced_inputs(X: np.ndarray, y: np.ndarray, iterates: np.ndarray) -> list[np.ndarray]:
    """Teacher forcing: the prompts [context, CoT tokens of w_0..w_i] for i = 0..k-1 (given iterates (B, k+1, d)),
    whose layer outputs should be w_{i+1}."""
    Zc = context_tokens(X, y)
    toks = [_cot_token(iterates[:, i])[:, :, None] for i in range(iterates.shape[1] - 1)]
    return [np.concatenate([Zc, *toks[:i + 1]], axis=2) for i in range(len(toks))]


def gd_params(d: int, eta: float) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q) of the GD construction (module docstring): one CoT token = one GD step of size eta."""
    b = blocks(d)
    D = 2 * d + 2
    P, Q = np.zeros((D, D)), np.zeros((D, D))
    P[b["w"], b["x"]] = -eta * np.eye(d)
    Q[b["x"], b["w"]] = np.eye(d)
    Q[b["y"], b["f"]] = -1.0
    return P, Q


def no_cot_gamma(P: np.ndarray, Q: np.ndarray, d: int) -> np.ndarray:
    """Gamma_eff = c A + a u^T of the no-CoT output's odd part (module docstring)."""
    b = blocks(d)
    A = P[b["w"], b["x"]]  # (d, d)
    a = P[b["w"], b["y"]][:, 0]  # (d,)
    u = Q[b["x"], b["f"]][:, 0]  # (d,)
    c = float(Q[b["y"], b["f"]][0, 0])
    return c * A + np.outer(a, u)


def weight_class_optimum(setting: Setting) -> tuple[np.ndarray, float]:
    """(Gamma*, min E||Gamma h - w*||^2) for h = X^T y / n: Gamma* = E[w h^T] (E[h h^T])^{-1}; with x ~ N(0, Sigma),
    w ~ N(0, Sigma_w), noise sigma2: E[w h^T] = Sigma_w Sigma, E[h h^T] = E[S Sigma_w S] + (sigma2/n) Sigma,
    E[S W S] = ((n+1)/n) Sigma W Sigma + tr(Sigma W) Sigma / n (Gaussian fourth moments)."""
    if setting.n_is_symbolic or not setting.gaussian:
        raise InputError("setting", "the weight-target optimum is implemented for Gaussian covariates, numeric n")
    n = int(setting.n)
    S, W = setting.Sigma, setting.Sigma_w
    Ewh = W @ S
    Ehh = (n + 1) / n * S @ W @ S + np.trace(S @ W) / n * S + setting.sigma2 / n * S
    G = np.linalg.solve(Ehh.T, Ewh.T).T  # Ewh Ehh^{-1}
    return G, float(np.trace(W) - np.trace(G @ Ewh.T))


def teacher_forced_coefficients(k: int, n: int, d: int, eta: Any) -> tuple[Any, Any, Any]:
    """(A, B, C), exact: the population teacher-forced CoT loss of the diagonal ansatz P[w, x] = -v I, Q[x, w] = omega I,
    Q[y, f] = q (x ~ N(0, I), w* ~ N(0, I), noiseless) is A alpha^2 + 2 B alpha beta + C beta^2 with alpha = v omega -
    eta, beta = v q + eta: the residual at CoT token i is -alpha S w_i - beta h, w_i = (I - (I - eta S)^i) w*, h = S w*,
    summed over i = 0..k-1 (CoT tokens never score against each other under this ansatz: their x, y blocks are 0).
    A = sum_i E tr S^2 (I - (I - eta S)^i)^2, B = sum_i E tr S^2 (I - (I - eta S)^i), C = k E tr S^2."""
    from fractions import Fraction
    from math import comb

    from iclcheck.numerics.dynamics.gd_error import _m

    eta = Fraction(eta)

    def Etr(coef: dict[int, Fraction]) -> Fraction:  # E tr sum_j c_j S^j
        return sum((c * _m(j, n, d) for j, c in coef.items()), Fraction(0))

    A = B = Fraction(0)
    for i in range(k):
        # r_i(S) = I - (I - eta S)^i = -sum_{j=1..i} C(i, j) (-eta S)^j
        r = {j: -comb(i, j) * (-eta) ** j for j in range(1, i + 1)}
        r2: dict[int, Fraction] = {}
        for a, ca in r.items():
            for b, cb in r.items():
                r2[a + b] = r2.get(a + b, Fraction(0)) + ca * cb
        A += Etr({j + 2: c for j, c in r2.items()})
        B += Etr({j + 2: c for j, c in r.items()})
    C = k * _m(2, n, d)
    return A, B, C


def teacher_forced_model(k: int, n: int, d: int, eta: Any):
    """The population teacher-forced CoT loss of the diagonal ansatz as a ``numerics.dynamics.flow.Model`` in (v, omega, q),
    with its conserved quantity v^2 - omega^2 - q^2 (the loss depends on v omega and v q only)."""
    from iclcheck.numerics.dynamics.flow import Model

    A, B, C = (float(x) for x in teacher_forced_coefficients(k, n, d, eta))
    e = float(eta)

    def lg(th: np.ndarray) -> tuple[float, np.ndarray]:
        v, om, q = th
        al, be = v * om - e, v * q + e
        fa, fb = 2 * (A * al + B * be), 2 * (B * al + C * be)
        return A * al * al + 2 * B * al * be + C * be * be, np.array([fa * om + fb * q, fa * v, fb * v])

    return Model("cot_diag", 3, lg, lambda th: np.array([th[0] ** 2 - th[1] ** 2 - th[2] ** 2]),
                 lambda th: {"v": th[0], "omega": th[1], "q": th[2], "v_omega": th[0] * th[1], "v_q": th[0] * th[2]})


def teacher_forced_loss_grad(P: np.ndarray, Q: np.ndarray, X: np.ndarray, y: np.ndarray, iterates: np.ndarray
                             ) -> tuple[float, np.ndarray, np.ndarray]:
    """(loss, dP, dQ): loss = mean over prompts of sum_i ||out_w(Z_i) - w_{i+1}||^2 on the teacher-forced prompts Z_i
    (``teacher_forced_inputs``), with its exact gradient: out = z + (1/n) P Z s, s = Z^T Q z, so
    dL/dP = (2/n) r (Z s)^T on the w-rows and dL/dQ = sum_t c_t z_t z^T with c_t = (2/n) r^T P_w z_t."""
    B, n, d = X.shape
    bw = blocks(d)["w"]
    Pw = P[bw]  # (d, D)
    loss, dP, dQ = 0.0, np.zeros_like(P), np.zeros_like(Q)
    for i, Z in enumerate(teacher_forced_inputs(X, y, iterates)):
        z = Z[:, :, -1]  # (B, D)
        s = np.einsum("bdt,bd->bt", Z, z @ Q.T)  # (B, T)
        Zs = np.einsum("bdt,bt->bd", Z, s)  # (B, D)
        r = z[:, bw] + Zs @ Pw.T / n - iterates[:, i + 1]  # (B, d)
        loss += float(np.mean(np.sum(r * r, axis=1)))
        dP[bw] += 2.0 / (n * B) * r.T @ Zs
        c = 2.0 / n * np.einsum("bi,bit->bt", r, np.einsum("ie,bet->bit", Pw, Z))  # (B, T)
        dQ += np.einsum("bt,bdt,be->de", c, Z, z) / B
    return loss, dP, dQ


def gd_iterates(X: np.ndarray, y: np.ndarray, eta: float, k: int) -> np.ndarray:
    """(B, k+1, d): w_0 = 0, ..., w_k of GD with step eta on each prompt (the teacher-forcing targets)."""
    B, n, d = X.shape
    S = np.einsum("bni,bnj->bij", X, X) / n
    h = np.einsum("bni,bn->bi", X, y) / n
    ws = [np.zeros((B, d))]
    for _ in range(int(k)):
        ws.append(ws[-1] - eta * (np.einsum("bij,bj->bi", S, ws[-1]) - h))
    return np.stack(ws, axis=1)


def train_cot(d: int, n: int, k: int, eta: float, *, steps: int, batch: int = 64, lr: float = 1e-2,
              init: float = 0.05, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam on the full (P, Q) of the CoT layer, teacher-forced on GD iterates of fresh Gaussian prompts (x ~ N(0, I),
    w* ~ N(0, I), noiseless). Returns (P, Q, losses per step)."""
    D = 2 * d + 2
    P, Q = init * rng.standard_normal((D, D)), init * rng.standard_normal((D, D))
    from iclcheck.numerics.training import adam_update  # the numpy trainer's Adam step

    mP, vP, mQ, vQ = (np.zeros((D, D)) for _ in range(4))
    losses = np.empty(steps)
    for t in range(1, steps + 1):
        X = rng.standard_normal((batch, n, d))
        y = np.einsum("bnd,bd->bn", X, rng.standard_normal((batch, d)))
        L, dP, dQ = teacher_forced_loss_grad(P, Q, X, y, gd_iterates(X, y, eta, k))
        losses[t - 1] = L
        P, mP, vP = adam_update(P, dP, mP, vP, t, lr)
        Q, mQ, vQ = adam_update(Q, dQ, mQ, vQ, t, lr)
    return P, Q, losses
