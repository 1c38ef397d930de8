"""Exact softmax-attention losses over a discrete feature law (Yu Huang, Yuan Cheng, Yingbin Liang 2023/24): finite
sums over binomial counts, no Monte Carlo.

Setting: K orthonormal features v_1..v_K (x_i = v_{c_i}, c_i ~ Cat(p)), w ~ N(0, I_K), y = w^T x (noiseless), a
query x_q = v_k with k ~ p, one softmax head with KQ = diag(q) on the features, so the score of token i is q_k
1[c_i = k]. Given the query feature k, with c = #{i : c_i = k} ~ Bin(n, p_k) and the other counts m_j multinomial
(n - c, pi_j = p_j / (1 - p_k)):

    yhat - w_k = (-(n - c) w_k + sum_j m_j w_j) / Z,      Z = c e^{q_k} + n - c,
    E_w (yhat - w_k)^2 = ((n - c)^2 + sum_j m_j^2) / Z^2,   E[sum_j m_j^2 | c] = (n - c)(1 - S_k) + (n - c)^2 S_k,

S_k = sum_{j != k} pi_j^2. So L_k(q) = sum_c Bin(c; n, p_k) N_k(c) / (c e^q + n - c)^2 and the population loss is
L(q) = sum_k p_k L_k(q_k): the coordinates decouple, and gradient flow dq_k/dt = -p_k L_k'(q_k) reaches a level
q* at the time t_k(q*) = int_0^{q*} dq / (p_k |L_k'(q)|) (one quadrature per feature).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats

from iclcheck.theory.errors import InputError

__all__ = ["feature_loss", "feature_loss_grad", "loss", "time_to_reach"]


def _check(p, n):
    p = np.asarray(p, float)
    if p.ndim != 1 or p.size < 2 or np.any(p <= 0) or not np.isclose(p.sum(), 1.0):
        raise InputError("p", f"feature probabilities must be positive and sum to 1, got {p!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError("n", f"must be a positive integer, got {n!r}")
    return p


def _terms(p: np.ndarray, n: int, k: int):
    c = np.arange(n + 1)
    pmf = stats.binom.pmf(c, n, p[k])
    pi = np.delete(p, k) / (1 - p[k])
    S = float(np.sum(pi**2))
    N = n - c
    return c, pmf * (N * (1 - S) + N**2 * S + N**2)


def feature_loss(q: float, p, n: int, k: int) -> float:
    """L_k(q): the expected squared error for query feature k at score q (module doc)."""
    p = _check(p, n)
    c, num = _terms(p, n, k)
    return float(np.sum(num / (c * np.exp(q) + n - c) ** 2))


def feature_loss_grad(q: float, p, n: int, k: int) -> float:
    """dL_k/dq = -2 sum_c Bin(c) N_k(c) c e^q / Z^3 (<= 0)."""
    p = _check(p, n)
    c, num = _terms(p, n, k)
    Z = c * np.exp(q) + n - c
    return float(np.sum(-2 * num * c * np.exp(q) / Z**3))


def loss(q, p, n: int) -> float:
    """L(q) = sum_k p_k L_k(q_k)."""
    p = _check(p, n)
    q = np.broadcast_to(np.asarray(q, float), p.shape)
    return float(sum(p[k] * feature_loss(q[k], p, n, k) for k in range(p.size)))


def time_to_reach(q_star: float, p, n: int, k: int) -> float:
    """The gradient-flow time for q_k to go from 0 to q_star (dq_k/dt = -p_k L_k'(q_k) > 0)."""
    p = _check(p, n)
    val, _ = integrate.quad(lambda q: 1.0 / (-p[k] * feature_loss_grad(q, p, n, k)), 0.0, q_star, limit=200)
    return float(val)
