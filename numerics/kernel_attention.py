"""Kernel attention in the one LSA model (``numerics.lsa``) and the functional gradient descent it implements
(Cheng, Chen, Sra 2024), plus the multi-head parametrisations other papers use (He et al. 2025's paired heads).

Attention kinds (``ATTENTION``): the scores of ``numerics.lsa.SCORES`` -- "linear", "relu", "exp" (h(k, q) =
exp(k^T Q q), summed with 1/n) and "softmax" (exp scores normalised over the keys of each query, no 1/n). Every
kernel is a function of the merged key-query product, so a head's (K, Q) enters as Q_merged = K^T Q and its
(V, O) as P = O V (``merge_heads``). The query as a key: ``LSA(mask=False)``.

Functional GD. With P_l = [[0, 0], [0, -eta_l]] and Q_l = [[b_l^2 I, 0], [0, 0]] every layer maps the label row as
(context token j, query q; r_j = y_j - f_l(x_j) the residual)

    r_j <- r_j - (eta_l / n) sum_i r_i h(b_l x_i, b_l x_j),        -f_l(x_q) <- -f_l(x_q) - (eta_l/n) sum_i r_i h(..)

so the canonical read-out -[Z_L]_{d+1,n+1} is f_L(x_q) of functional GD on (1/2n) sum_i (y_i - f(x_i))^2 in the
RKHS of h (the kernel sum includes i = j: the mask only removes the query). For softmax the "kernel" is the
normalised h(x_i, x_q) / sum_k h(x_k, x_q), which depends on the query and is not symmetric, and the step has no
1/n: f_{l+1}(x) = f_l(x) + eta_l sum_i r_i p_i(x). ``functional_gd`` computes these iterates directly from the
kernel matrix (an independent route to the forward pass); ``functional_gd_closed_form`` is the constant-step
closed form k_q^T g_L(K) y with g_L(lambda) = (1 - (1 - eta lambda / n)^L) / lambda (symmetric kernels).
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.kernels import kernel_matrix
from iclcheck.numerics.lsa import LSA, SCORES, forward
from iclcheck.theory.errors import InputError

__all__ = ["ATTENTION", "functional_gd", "functional_gd_closed_form", "functional_gd_weights", "head_outputs", "merge_heads",
           "paired_heads", "predict"]

ATTENTION = ("linear", "relu", "exp", "softmax")


def _attention(kind: str) -> str:
    if kind not in ATTENTION or kind not in SCORES:
        raise InputError("attention", f"unknown attention {kind!r}; choose one of {', '.join(ATTENTION)}")
    return kind


def merge_heads(K: np.ndarray, Q: np.ndarray, V: np.ndarray, O: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heads with their own key, query, value, output maps ((..., H, r, D), (..., H, r, D), (..., H, r, D),
    (..., H, D, r)) as the model's (P, Q) = (O V, K^T Q), each (..., H, D, D)."""
    K, Q, V, O = (np.asarray(a, float) for a in (K, Q, V, O))
    return O @ V, np.swapaxes(K, -1, -2) @ Q


def functional_gd_weights(d: int, etas, *, b=1.0) -> tuple[np.ndarray, np.ndarray]:
    """(Ps, Qs), each (L, d+1, d+1): layer l is one functional-GD step of size eta_l with kernel h(b_l x, b_l x')."""
    etas = np.atleast_1d(np.asarray(etas, float))
    bs = np.broadcast_to(np.asarray(b, float), etas.shape)
    L, D = etas.size, d + 1
    Ps, Qs = np.zeros((L, D, D)), np.zeros((L, D, D))
    Ps[:, d, d] = -etas
    Qs[:, :d, :d] = bs[:, None, None] ** 2 * np.eye(d)
    return Ps, Qs


def predict(kind: str, Z0: np.ndarray, Ps, Qs, *, mask: bool | str = True) -> np.ndarray:
    """The canonical read-out -[Z_L]_{d+1,n+1} (B,) of the model with attention ``kind`` (several heads: Ps, Qs of
    shape (L, H, D, D)), through the literal forward pass of numerics.lsa."""
    Ps = np.asarray(Ps, float)
    ZL = forward(LSA(L=Ps.shape[0], score=_attention(kind), mask=mask), Z0, Ps, Qs)
    return -ZL[:, -1, -1]


def functional_gd(kind: str, X: np.ndarray, y: np.ndarray, xq: np.ndarray, etas, *, b=1.0,
                  path: bool = False) -> np.ndarray:
    """f_L(x_q) of functional GD from f_0 = 0 (module doc), computed from kernel matrices: X (B, n, d), y (B, n),
    xq (B, d) -> (B,), or with ``path`` the iterates f_1(x_q) .. f_L(x_q) (B, L)."""
    _attention(kind)
    X, y, xq = np.asarray(X, float), np.asarray(y, float), np.asarray(xq, float)
    etas = np.atleast_1d(np.asarray(etas, float))
    bs = np.broadcast_to(np.asarray(b, float), etas.shape)
    n = X.shape[-2]
    r = y.copy()  # (B, n) residuals y_i - f_l(x_i)
    f = np.zeros(len(y))  # (B,) f_l(x_q)
    out = []
    for eta, bl in zip(etas, bs, strict=True):
        base = "exp" if kind == "softmax" else kind
        Kc = kernel_matrix(base, X, scale=bl**2)  # (B, n, n) h(x_i, x_j)
        kq = kernel_matrix(base, X, xq[:, None, :], scale=bl**2)[..., 0]  # (B, n) h(x_i, x_q)
        if kind == "softmax":  # normalised over the keys i of each query (column)
            Kc = Kc / Kc.sum(axis=-2, keepdims=True)
            kq = kq / kq.sum(axis=-1, keepdims=True)
            step = eta
        else:
            step = eta / n
        f = f + step * np.einsum("bi,bi->b", r, kq)
        r = r - step * np.einsum("bi,bij->bj", r, Kc)
        out.append(f)
    return np.stack(out, axis=-1) if path else f


def functional_gd_closed_form(K: np.ndarray, kq: np.ndarray, y: np.ndarray, eta: float, L: int) -> np.ndarray:
    """k_q^T g_L(K) y with g_L(lambda) = (1 - (1 - eta lambda / n)^L) / lambda (= L eta / n at lambda = 0): L
    constant steps of functional GD from 0 for a symmetric kernel matrix K (..., n, n); -> ridgeless kernel
    regression k_q^T K^{-1} y as L -> infinity when 0 < eta lambda_max / n < 2 and K is non-singular."""
    K = np.asarray(K, float)
    n = K.shape[-1]
    lam, V = np.linalg.eigh((K + np.swapaxes(K, -1, -2)) / 2)
    t = eta * lam / n
    small = np.abs(t) < 1e-8  # series of (1 - (1-t)^L) / t = L - L(L-1)/2 t + ...
    g = np.where(small, L - L * (L - 1) / 2 * t, (1 - (1 - t) ** L) / np.where(small, 1.0, t)) * eta / n
    a = np.einsum("...ji,...j->...i", V, np.asarray(kq, float))
    c = np.einsum("...ji,...j->...i", V, np.asarray(y, float))
    return np.sum(a * g * c, axis=-1)


def paired_heads(d: int, omega: float, mu: float) -> tuple[np.ndarray, np.ndarray]:
    """He et al. 2025's two softmax heads as one layer (1, 2, d+1, d+1): KQ = +omega I and -omega I on the x block,
    OV last entry only and zero-sum (+mu, -mu), so the prediction is mu sum_i y_i [p_i(omega) - p_i(-omega)]."""
    D = d + 1
    Ps, Qs = np.zeros((1, 2, D, D)), np.zeros((1, 2, D, D))
    Qs[0, 0, :d, :d] = omega * np.eye(d)
    Qs[0, 1, :d, :d] = -omega * np.eye(d)
    Ps[0, 0, d, d] = -mu  # canonical read-out -[Z]: the head adds -mu sum y_i p_i(omega) to the query label
    Ps[0, 1, d, d] = mu
    return Ps, Qs


def head_outputs(X: np.ndarray, y: np.ndarray, xq: np.ndarray, omegas) -> np.ndarray:
    """sum_i y_i p_i(omega) for each omega, p = softmax_i(omega x_i^T x_q) over the context: the query read-out of one
    softmax head with KQ = omega I, OV = 1 on the label, computed from the scores only (O(B n d)), (B, len(omegas)).
    Equal to ``-predict("softmax", ...)`` of that head; Monte Carlo over many omegas shares the scores."""
    a = (np.asarray(X, float) @ np.asarray(xq, float)[:, :, None])[:, :, 0]  # (B, n) scores x_i^T x_q
    out = []
    for om in np.atleast_1d(np.asarray(omegas, float)):
        z = om * a
        e = np.exp(z - z.max(axis=-1, keepdims=True))  # (B, n)
        out.append(np.einsum("bn,bn->b", e, y) / e.sum(axis=-1))
    return np.stack(out, axis=-1)
