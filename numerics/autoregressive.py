"""Autoregressive in-context learning: linear dynamical sequences, the causal one-step-GD predictor, and the
mesa layer (causal recursive least squares by Sherman-Morrison).

Sequences s_0, ..., s_T in R^d with s_{t+1} = W s_t + eps_t (eps_t ~ N(0, sigma2 I), s_0 ~ N(0, I)), stored as
S (B, T+1, d). At position t the in-context data are the pairs (s_{t'}, s_{t'+1}), t' < t, and the query is s_t.

* One GD step from W = 0 on L_t(W) = 1/2 sum_{t'<t} |s_{t'+1} - W s_{t'}|^2 with step eta gives
  W_t = eta sum_{t'<t} s_{t'+1} s_{t'}^T and the prediction s_hat_{t+1} = W_t s_t (``gd_one_step``).
* The mesa layer: W_t = argmin_W 1/2 sum_{t'<=t} |v_{t'} - W k_{t'}|^2 + lambda/2 |W|_F^2 through the recursion
  R_t = R_{t-1} - R_{t-1} k_t k_t^T R_{t-1} / (1 + k_t^T R_{t-1} k_t), R_0 = I/lambda,
  W_t = W_{t-1} + (v_t - W_{t-1} k_t) (R_t k_t)^T, W_0 = 0, output W_t q_t (``mesa_layer``); ``ridge_direct``
  solves each W_t from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = ["RotationGrid", "ar_tokens", "augmented_layer_loss", "gd_one_step", "haar_orthogonal", "mesa_layer",
           "ridge_direct", "rotation_grid", "sample_ar"]


def haar_orthogonal(B: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """B Haar-distributed orthogonal d x d matrices (QR of a Gaussian matrix with the sign fix): (B, d, d)."""
    G = rng.standard_normal((B, d, d))  # (B, d, d)
    Qm, Rm = np.linalg.qr(G)
    return Qm * np.sign(np.einsum("bii->bi", Rm))[:, None, :]  # (B, d, d): columns scaled by sign(diag R)


def sample_ar(B: int, T: int, d: int, rng: np.random.Generator, *, sigma2: float, scale: float = 1.0,
              W: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(S, W): S (B, T+1, d) from s_{t+1} = W s_t + eps_t; W (B, d, d) is ``scale`` times a Haar orthogonal matrix
    unless given ((d, d) or (B, d, d))."""
    if B < 1 or T < 1 or d < 1 or sigma2 < 0:
        raise InputError("sample_ar", f"needs B, T, d >= 1 and sigma2 >= 0, got B={B}, T={T}, d={d}, sigma2={sigma2}")
    Wb = scale * haar_orthogonal(B, d, rng) if W is None else np.broadcast_to(np.asarray(W, float), (B, d, d))
    S = np.empty((B, T + 1, d))
    S[:, 0] = rng.standard_normal((B, d))
    eps = np.sqrt(sigma2) * rng.standard_normal((B, T, d))  # (B, T, d)
    for t in range(T):
        S[:, t + 1] = np.einsum("bij,bj->bi", Wb, S[:, t]) + eps[:, t]
    return S, np.array(Wb)


def gd_one_step(S: np.ndarray, eta: float = 1.0) -> np.ndarray:
    """P (B, T, d): P[:, t] = eta sum_{t'<t} s_{t'+1} s_{t'}^T s_t, the one-GD-step prediction of s_{t+1} (P[:, 0] = 0)."""
    S = np.asarray(S, float)
    outer = np.einsum("bti,btj->btij", S[:, 1:], S[:, :-1])  # (B, T, d, d): s_{t'+1} s_{t'}^T
    A = np.cumsum(outer, axis=1) - outer  # (B, T, d, d): sum over t' < t
    return eta * np.einsum("btij,btj->bti", A, S[:, :-1])  # (B, T, d)


def mesa_layer(K: np.ndarray, V: np.ndarray, Q: np.ndarray, lam: float) -> np.ndarray:
    """Outputs (B, T, dv) of the mesa layer: W_t q_t with W_t the ridge solution over t' <= t (module doc),
    computed by the Sherman-Morrison recursion. K, Q (B, T, dk); V (B, T, dv); lam > 0."""
    K, V, Q = (np.asarray(a, float) for a in (K, V, Q))
    if not lam > 0:
        raise InputError("lam", f"the mesa layer needs lambda > 0, got {lam!r}")
    B, T, dk = K.shape
    R = np.broadcast_to(np.eye(dk) / lam, (B, dk, dk)).copy()  # (B, dk, dk)
    W = np.zeros((B, V.shape[2], dk))  # (B, dv, dk)
    out = np.empty((B, T, V.shape[2]))
    for t in range(T):
        k = K[:, t]  # (B, dk)
        Rk = np.einsum("bij,bj->bi", R, k)  # (B, dk)
        R -= np.einsum("bi,bj->bij", Rk, Rk) / (1.0 + np.einsum("bi,bi->b", k, Rk))[:, None, None]
        gain = np.einsum("bij,bj->bi", R, k)  # (B, dk): R_t k_t
        W += np.einsum("bi,bj->bij", V[:, t] - np.einsum("bij,bj->bi", W, k), gain)
        out[:, t] = np.einsum("bij,bj->bi", W, Q[:, t])
    return out


def ridge_direct(K: np.ndarray, V: np.ndarray, Q: np.ndarray, lam: float) -> np.ndarray:
    """The same outputs as ``mesa_layer``, each W_t = V_t^T K_t (K_t^T K_t + lam I)^{-1} solved from scratch."""
    K, V, Q = (np.asarray(a, float) for a in (K, V, Q))
    B, T, dk = K.shape
    out = np.empty((B, T, V.shape[2]))
    for t in range(T):
        G = np.einsum("bsi,bsj->bij", K[:, : t + 1], K[:, : t + 1]) + lam * np.eye(dk)  # (B, dk, dk)
        C = np.einsum("bsi,bsj->bij", V[:, : t + 1], K[:, : t + 1])  # (B, dv, dk)
        Wt = np.linalg.solve(G, C.transpose(0, 2, 1)).transpose(0, 2, 1)  # C G^{-1} (G symmetric)
        out[:, t] = np.einsum("bij,bj->bi", Wt, Q[:, t])
    return out


def ar_tokens(S: np.ndarray) -> np.ndarray:
    """Z (B, 3d, T+1) for ``numerics.model.lsa.forward``: column t is (s_t, s_{t-1}, 0) with s_{-1} = 0, the last column
    (t = T) the query position. Three blocks: current element, previous element, an empty output slot."""
    S = np.asarray(S, float)
    B, T1, d = S.shape
    Z = np.zeros((B, 3 * d, T1))
    Z[:, :d] = S.transpose(0, 2, 1)  # (B, d, T+1)
    Z[:, d:2 * d, 1:] = S[:, :-1].transpose(0, 2, 1)  # previous element
    return Z


@dataclass(frozen=True)
class RotationGrid:
    """Exact quadrature of the rotation task s_t = R(theta)^t s_0 in d = 2, theta ~ U[0, 2 pi) (Haar on SO(2)),
    s_0 = (cos phi, sin phi), phi ~ U[0, 2 pi). E (B, T, 4): augmented tokens e_t = (s_t, s_{t-1}), t = 1..T;
    q (B, 4) = e_T, the query; y (B, 2) = s_{T+1}, the target; equal weights 1/B."""

    E: np.ndarray
    q: np.ndarray
    y: np.ndarray


def rotation_grid(T: int) -> RotationGrid:
    """Equispaced nodes in theta and phi, enough of them that the mean over the nodes is the exact expectation of
    any squared error of a one-layer linear-attention prediction (a trigonometric polynomial of degree at most
    2(3T + 1) in theta and 6 in phi, averaged exactly by the trapezoidal rule with more nodes than its degree)."""
    if T < 1:
        raise InputError("T", f"needs T >= 1 context tokens, got {T}")
    mt, mp = 6 * T + 8, 8
    th = 2 * np.pi * np.arange(mt) / mt  # (mt,)
    ph = 2 * np.pi * np.arange(mp) / mp  # (mp,)
    TH, PH = (a.ravel() for a in np.meshgrid(th, ph, indexing="ij"))  # (B,), B = mt mp
    k = np.arange(-1, T + 2)  # s_{-1} .. s_{T+1}
    ang = PH[:, None] + k[None, :] * TH[:, None]  # (B, T+3)
    S = np.stack([np.cos(ang), np.sin(ang)], axis=-1)  # (B, T+3, 2): index j holds s_{j-1}
    E = np.concatenate([S[:, 2:T + 2], S[:, 1:T + 1]], axis=-1)  # (B, T, 4): (s_t, s_{t-1}), t = 1..T
    return RotationGrid(E=E, q=E[:, -1].copy(), y=S[:, T + 2].copy())


def augmented_layer_loss(P: np.ndarray, Q: np.ndarray, E: np.ndarray, q: np.ndarray, y: np.ndarray
                         ) -> tuple[float, np.ndarray, np.ndarray]:
    """(loss, dP, dQ) of the one-layer linear attention s_hat = sum_t P e_t (e_t^T Q q) on the augmented tokens,
    loss = mean |s_hat - y|^2 (un-halved); P (2, 4), Q (4, 4); E (B, T, 4), q (B, 4), y (B, 2)."""
    a = np.einsum("bti,ij,bj->bt", E, Q, q)  # (B, T): scores e_t^T Q q
    u = np.einsum("bt,bti->bi", a, E)  # (B, 4): sum_t a_t e_t
    r = u @ P.T - y  # (B, 2): residual
    B = r.shape[0]
    gP = 2 * r.T @ u / B  # (2, 4)
    ga = np.einsum("bti,bi->bt", E, 2 * r @ P / B)  # (B, T): dloss/da_t
    gQ = np.einsum("bt,bti,bj->ij", ga, E, q)  # (4, 4)
    return float(np.mean(np.sum(r * r, axis=1))), gP, gQ
