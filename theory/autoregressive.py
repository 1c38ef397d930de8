"""Exact Gaussian moments of the one-GD-step autoregressive predictor in dimension 1 (exact rationals).

Scalar sequence s_{k+1} = w s_k + eps_k, s_0 ~ N(0, v0), eps_k ~ N(0, sigma2), so (s_0, ..., s_T) is a centred
Gaussian vector with Var s_i = w^{2i} v0 + sigma2 sum_{m<i} w^{2m} and Cov(s_i, s_j) = w^{j-i} Var s_i (i <= j).
At position t the one-step-GD feature is g_t = sum_{t'<t} s_{t'+1} s_{t'} s_t and the target y_t = s_{t+1}
(numerics/autoregressive.py, d = 1). Isserlis' theorem gives E[y g], E[g^2] and E[y^2] exactly, hence the risk
E(y - eta g)^2 = a - 2 eta b + eta^2 c of every step eta, its per-position minimiser eta_t* = b/c and minimum
a - b^2/c. A random sign of w (the Haar law on O(1)) changes none of these (each monomial has even total degree in
the sign-flipped coordinates s_k -> (-1)^k s_k).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from iclcheck.theory.errors import InputError

__all__ = ["ar1_cov", "gaussian_moment", "one_step_moments", "rotation_gd_moments"]


def ar1_cov(T: int, w: Fraction, sigma2: Fraction, v0: Fraction = Fraction(1)) -> tuple[tuple[Fraction, ...], ...]:
    """Covariance (T+1) x (T+1) of (s_0, ..., s_T) as exact rationals."""
    if T < 0 or sigma2 < 0 or v0 < 0:
        raise InputError("ar1_cov", f"needs T >= 0, sigma2 >= 0, v0 >= 0, got T={T}, sigma2={sigma2}, v0={v0}")
    var = [Fraction(v0)]
    for _ in range(T):
        var.append(w * w * var[-1] + sigma2)
    return tuple(tuple(w ** abs(j - i) * var[min(i, j)] for j in range(T + 1)) for i in range(T + 1))


def gaussian_moment(C: tuple[tuple[Fraction, ...], ...], idx: tuple[int, ...]) -> Fraction:
    """E prod_k s_{idx[k]} for a centred Gaussian vector with covariance C (Isserlis: sum over pairings)."""

    @lru_cache(maxsize=None)
    def rec(rest: tuple[int, ...]) -> Fraction:
        if not rest:
            return Fraction(1)
        if len(rest) % 2:
            return Fraction(0)
        first, others = rest[0], rest[1:]
        total = Fraction(0)
        for k, j in enumerate(others):
            c = C[first][j]
            if c:
                total += c * rec(tuple(sorted(others[:k] + others[k + 1:])))
        return total

    return rec(tuple(sorted(idx)))


def one_step_moments(t: int, C: tuple[tuple[Fraction, ...], ...]) -> tuple[Fraction, Fraction, Fraction]:
    """(a, b, c) = (E y_t^2, E y_t g_t, E g_t^2) at position t >= 1 (module doc); C covers s_0..s_{t+1}."""
    if t < 1 or len(C) < t + 2:
        raise InputError("t", f"needs 1 <= t and a covariance of s_0..s_{{t+1}}, got t={t}, size {len(C)}")
    a = gaussian_moment(C, (t + 1, t + 1))
    b = sum((gaussian_moment(C, (t + 1, u + 1, u, t)) for u in range(t)), Fraction(0))
    c = sum((gaussian_moment(C, (u + 1, u, v + 1, v, t, t)) for u in range(t) for v in range(t)), Fraction(0))
    return a, b, c


def rotation_gd_moments(T: int) -> tuple[Fraction, Fraction, Fraction]:
    """(a, b, c) = (E|y|^2, E y^T g, E|g|^2) of the one-GD-step feature g = sum_{t=1}^T s_t s_{t-1}^T s_T for the
    target y = s_{T+1} on the rotation task (d = 2, s_t = R(theta)^t s_0, theta ~ U[0, 2 pi), |s_0| = 1).

    In complex notation s_t = e^{i t theta} z_0, s_{t-1}^T s_T = cos(k_t theta) with k_t = T + 1 - t >= 1, so
    y^T g = sum_t cos(k_t theta)^2, mean T/2; and |g|^2 = sum_{t,u} cos(k_t theta) cos(k_u theta) cos((k_t - k_u)
    theta), whose mean is 1/2 for t = u and 1/4 otherwise, in all T/2 + T(T-1)/4 = T(T+1)/4. Hence the best step
    eta* = b/c = 2/(T+1) and the best one-step-GD risk a - b^2/c = 1/(T+1)."""
    if T < 1:
        raise InputError("T", f"needs T >= 1, got {T}")
    return Fraction(1), Fraction(T, 2), Fraction(T * (T + 1), 4)
