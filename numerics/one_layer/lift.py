"""The lift in which the one-layer loss is a convex quadratic, shared by ``numerics.critical`` and
``numerics.certificate`` (neither imports the other).

The lift. With p = P[d, :] and Qd = Q[:, :d] the output is o = (1/n) p^T G Qd x_q = phi^T m where

    m = p (x) vec(Qd)          (m_{kij} = p_k Qd_{ij},  D = (d+1)^2 d entries; theta[d+1:] = vec_rowmajor(Qd)),
    phi_{kij} = (1/n) G_{ki} x_{q,j},       G = sum_i z_i z_i^T,

so f = E (phi^T m + w^T x_q)^2 = m^T A m + 2 a^T m + c0 with the moments

    A  = E phi phi^T = (1/n^2) E[G_{ki} G_{lr}] S_{js}     (positive semidefinite by construction),
    a  = E phi (w^T x_q) = E_w[ C_w[k, i] (S w)_j ],      c0 = tr(S W),
    E[G_{ki} G_{lr}] = n E[z_k z_i z_l z_r] + n (n - 1) E_w[C_w[k, i] C_w[l, r]],   C_w = E[z z^T | w].

Moments, from first principles and independently of ``theory.one_layer``. Conditional on w,
z = xi + e (w^T x) with xi = (x, eps) and e the last unit vector, so

    C_w = C0 + B(w) + (w^T S w) e e^T,   C0 = diag(S, sigma2),   B(w) = e u^T + u e^T,  u = (S w, 0),

a polynomial of degree <= 2 in w; the fourth moments given w are Isserlis' pairings of C_w plus
(kappa - 3) sum_j (A_w r_j)^{(x)4} with r_j = (S^{1/2} e_j, 0) and A_w r_j = r_j + (w^T S^{1/2} e_j) e.
The average over w ~ N(0, W) of these polynomials of degree <= 4 is taken *exactly* by Isserlis' theorem
for w (E w w^T = W, odd moments 0, E (w^T S w)^2 = tr(SW)^2 + 2 tr(SWSW)): closed tensor formulas in
(S, W, sigma2, S^{1/2}, kappa, n), O(d^4) work instead of the 3^d nodes of a Gauss-Hermite rule. The
same code runs on float64 arrays and on object arrays of ``fractions.Fraction`` (exact rational moments),
and every formula is a sum of products with nonnegative coefficients, so running it on entrywise
absolute values gives a majorant of the terms (used to bound rounding).

Symmetric reduction. G is symmetric, so only the part of m symmetric in (k, i) matters. With U_pair the
orthonormal basis of symmetric (d+1) x (d+1) matrices (pairs a <= b; 1 on the diagonal, 1/sqrt 2 off it)
and U = U_pair (x) I_d, the reduced moments are Kronecker products

    A_s = U^T A U = (G_s (x) S) / n^2,   G_s = U_pair^T E[G (x) G] U_pair   (P x P, P = (d+1)(d+2)/2),
    a_s = U^T a  (reshaped P x d: a_mat),

so the eigenvalues of A_s are lambda_i(G_s) lambda_j(S) / n^2. The 1/sqrt 2 is irrational: the exact
path uses the unnormalised basis (1 on both off-diagonal entries) instead, see ``pair_basis``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = [
    "MAX_LIFT_DIM",
    "LiftedLoss",
    "Moments",
    "invariant",
    "lift_memory_bytes",
    "lift_moments",
    "m_of",
    "pair_basis",
    "split_theta",
    "sym_coords",
]

MAX_LIFT_DIM = 40  # the reduced moments are P x P with P = (d+1)(d+2)/2 (861 at d = 40); the full D x D
# matrix LiftedLoss.A is only built on request (D = (d+1)^2 d: 8 D^2 bytes, 0.4 GB at d = 14)


def lift_memory_bytes(d: int, *, full: bool = False) -> int:
    """Peak memory of the lift's largest array: the (d+1)^4 tensors, or A (D x D) when ``full``."""
    k = d + 1
    D = k * k * d
    return 8 * (4 * k**4 + (D * D * 3 if full else 0))


def split_theta(theta: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """p [d+1] and Qd [(d+1), d] (rows: Q11 rows then q21) from theta = (p, vec_rowmajor(Qd))."""
    theta = np.asarray(theta)
    k = d + 1
    return theta[:k], theta[k:].reshape(k, d)


def m_of(theta: np.ndarray, d: int) -> np.ndarray:
    """m = p (x) vec_rowmajor(Qd) [D] (works on object arrays too)."""
    p, Qd = split_theta(theta, d)
    return np.multiply.outer(p, Qd).reshape(-1)


def invariant(theta: np.ndarray, d: int) -> np.ndarray:
    """m_s(theta) [(d+1), (d+1), d]: the tensor p_k Qd_ij symmetrised in (k, i) (scale invariant)."""
    p, Qd = split_theta(theta, d)
    m = np.multiply.outer(p, Qd)  # [d+1, d+1, d]  p_k Qd_ij
    return (m + m.transpose(1, 0, 2)) / 2


def pairs(d: int) -> list[tuple[int, int]]:
    k = d + 1
    return [(a, b) for a in range(k) for b in range(a, k)]


def pair_basis(d: int, *, exact: bool = False) -> np.ndarray:
    """U_pair [(d+1)^2, P]: columns E_aa and (E_ab + E_ba) / sqrt 2 (orthonormal); with ``exact`` the
    off-diagonal columns are E_ab + E_ba (rational, orthogonal but not normalised)."""
    k = d + 1
    ps = pairs(d)
    if exact:
        from fractions import Fraction

        U = np.full((k * k, len(ps)), Fraction(0), dtype=object)
        one: Fraction | float = Fraction(1)
        off = one
    else:
        U = np.zeros((k * k, len(ps)))
        one, off = 1.0, 1 / np.sqrt(2)
    for c, (a, b) in enumerate(ps):
        if a == b:
            U[a * k + a, c] = one
        else:
            U[a * k + b, c] = U[b * k + a, c] = off
    return U


def sym_coords(m_sym: np.ndarray, d: int, *, exact: bool = False) -> np.ndarray:
    """Coordinates Y [P, d] of a (k, i)-symmetric tensor m [(d+1), (d+1), d] in the basis U_pair (x) I_d.
    Float: Y = U^T m (orthonormal). Exact: m = U Y with the unnormalised basis, so Y_(a,b) = m_ab."""
    k = d + 1
    M = np.asarray(m_sym).reshape(k * k, d)
    if exact:
        return np.array([M[a * k + b, :] for a, b in pairs(d)], dtype=object)
    return pair_basis(d).T @ M


def _zeros(shape: tuple[int, ...], like: np.ndarray) -> np.ndarray:
    if like.dtype == object:
        from fractions import Fraction

        return np.full(shape, Fraction(0), dtype=object)
    return np.zeros(shape)


@dataclass(frozen=True)
class Moments:
    """The lifted moments of one setting (float64 or Fraction object arrays).

    EGG [k, k, k, k] = E[G_ki G_lr];  a3 [k, k, d] = a reshaped (m_kij order);  c0 = tr(S W); S [d, d]."""

    EGG: np.ndarray
    a3: np.ndarray
    c0: Any
    S: np.ndarray
    n: Any


def lift_moments(S: np.ndarray, W: np.ndarray, sigma2: Any, n: Any, kk: Any, Sh: np.ndarray | None) -> Moments:
    """The moments of the module docstring by Isserlis' theorem over x, eps and w (exact formulas).

    S, W: [d, d]; sigma2 >= 0; n >= 1; kk = kappa - 3 (0: Gaussian, then Sh is not used); Sh = S^{1/2}.
    Works on float arrays and on object arrays of Fractions alike (no sqrt, no division but by n)."""
    d = S.shape[0]
    k = d + 1
    C0 = _zeros((k, k), S)
    C0[:d, :d] = S
    C0[d, d] = sigma2
    e = _zeros((k,), S)
    e[d] = e[d] + 1  # the y coordinate
    SW = S @ W
    SWS = SW @ S
    T = _zeros((k, k), S)
    T[:d, :d] = SWS  # E u u^T
    tw = np.trace(SW)
    Eq2 = tw * tw + 2 * np.trace(SW @ SW)  # E (w^T S w)^2
    E = np.multiply.outer(e, e)  # e e^T
    out = np.multiply.outer
    # E[C_w (x) C_w]: C0 C0 + tr(SW) (C0 E + E C0) + E[B (x) B] + E(q^2) E E   (odd terms vanish)
    EBB = (
        np.einsum("a,c,bd->abcd", e, e, T) + np.einsum("a,d,bc->abcd", e, e, T)
        + np.einsum("b,c,ad->abcd", e, e, T) + np.einsum("b,d,ac->abcd", e, e, T)
    )
    ECC = out(C0, C0) + tw * (out(C0, E) + out(E, C0)) + EBB + Eq2 * out(E, E)  # [k, k, k, k]
    # E_w Isserlis(C_w) = ECC_abcd + ECC_acbd + ECC_adbc
    E4 = ECC + ECC.transpose(0, 2, 1, 3) + ECC.transpose(0, 2, 3, 1)
    if Sh is not None and not (isinstance(kk, (int, float)) and kk == 0):
        # kk sum_j E[(r_j + g_j e)^(x)4], g_j ~ N(0, v_j), v_j = (Sh W Sh)_jj
        v = np.diagonal(Sh @ W @ Sh)  # [d]
        R = _zeros((k, d), S)
        R[:d, :] = Sh  # columns r_j
        r4 = np.einsum("aj,bj,cj,dj->abcd", R, R, R, R)
        ee = np.einsum("aj,bj,j->ab", R, R, v)  # sum_j v_j r_j r_j^T
        mix = (
            out(E, ee) + out(ee, E) + np.einsum("ac,bd->abcd", E, ee) + np.einsum("ac,bd->abcd", ee, E)
            + np.einsum("ad,bc->abcd", E, ee) + np.einsum("ad,bc->abcd", ee, E)
        )  # the 6 placements of two e's among four slots
        E4 = E4 + kk * (r4 + mix + 3 * np.sum(v * v) * out(E, E))
    EGG = n * E4 + n * (n - 1) * ECC  # [k, k, k, k]
    # a_{kij} = E[B_ki (S w)_j] = e_k (SWS)_ij + e_i (SWS)_kj  (padded rows)
    Tj = T[:, :d]  # [k, d]
    a3 = np.einsum("a,bj->abj", e, Tj) + np.einsum("b,aj->abj", e, Tj)
    return Moments(EGG=EGG, a3=a3, c0=tw, S=S, n=n)


def reduced(mo: Moments, *, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(G_s [P, P], a_mat [P, d]) with A_s = (G_s (x) S) / n^2 and a_s = vec(a_mat) in U_pair (x) I_d."""
    k = mo.EGG.shape[0]
    d = k - 1
    Gm = mo.EGG.reshape(k * k, k * k)
    if exact:
        U = pair_basis(d, exact=True)
        return U.T @ Gm @ U, U.T @ mo.a3.reshape(k * k, d)
    # U has one entry 1 (pair a = b) or two entries 1/sqrt 2 (rows a k + b and b k + a) per column, so U^T X U
    # is a gather by pair index: O(P^2) work instead of the dense products' O(P k^4) (0.85 s of certify at d = 40
    # for the three calls). Same operations as the dense product without its zero terms: w x_1 + w x_2 per entry.
    ia, ib, w, diag = _pair_index(d)
    Gs = _gather_rows(Gm, ia, ib, w, diag)  # [P, k^2] = U^T Gm
    Gs = _gather_rows(Gs.T, ia, ib, w, diag).T  # [P, P] = (U^T Gm) U
    amat = _gather_rows(mo.a3.reshape(k * k, d), ia, ib, w, diag)  # [P, d]
    return Gs, amat


def _pair_index(d: int) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Rows a k + b and b k + a of the pairs a <= b (``pairs`` order), the off-diagonal weight, diagonal mask."""
    k = d + 1
    a, b = np.triu_indices(k)  # row-major a <= b: the order of ``pairs``
    return a * k + b, b * k + a, float(1 / np.sqrt(2)), a == b


def _gather_rows(X: np.ndarray, ia: np.ndarray, ib: np.ndarray, w: float, diag: np.ndarray) -> np.ndarray:
    """U_pair^T X [P, ...] for X [(d+1)^2, ...]: row ia on the diagonal pairs, w X[ia] + w X[ib] off it."""
    out = w * X[ia] + w * X[ib]
    out[diag] = X[ia[diag]]
    return out


class LiftedLoss:
    """f = m^T A m + 2 a^T m + c0 in m = p (x) vec(Qd) (row-major Qd of shape (d+1, d)), float64.

    ``Gs``, ``amat``, ``c0`` are the reduced moments; ``A`` (D x D) and ``a`` (D) are built on first use."""

    def __init__(self, ol: Any):
        d = ol.d
        if d > MAX_LIFT_DIM:
            raise InputError("Sigma", f"the lifted loss is built for d <= {MAX_LIFT_DIM}, got d = {d}")
        self.ol, self.d, self.n = ol, d, float(ol.n)
        self.kk = float(ol.setting.kurtosis) - 3.0
        self.Sh = ol.Sh if self.kk != 0.0 else None
        self.moments = lift_moments(ol.S, ol.W, float(ol.sigma2), self.n, self.kk, self.Sh)
        self.Gs, self.amat = reduced(self.moments)
        self.Gs = (self.Gs + self.Gs.T) / 2
        self.c0 = float(self.moments.c0)

    @cached_property
    def A(self) -> np.ndarray:
        k, d, n = self.d + 1, self.d, self.n
        D = k * k * d
        A = (np.einsum("kilr,js->kijlrs", self.moments.EGG, self.moments.S) / n**2).reshape(D, D)
        return (A + A.T) / 2

    @cached_property
    def a(self) -> np.ndarray:
        return self.moments.a3.reshape(-1)

    @cached_property
    def sym_basis(self) -> np.ndarray:
        """Orthonormal U [D, D_s] = U_pair (x) I_d of tensors m_{kij} symmetric in (k, i)."""
        return np.kron(pair_basis(self.d), np.eye(self.d))

    def m_of(self, theta: np.ndarray) -> np.ndarray:
        return m_of(theta, self.d)

    def reduced_value(self, Y: np.ndarray) -> float:
        """F at the symmetric point with coordinates Y [P, d]: <Y, G_s Y S>/n^2 + 2 <a_mat, Y> + c0."""
        return float(np.sum(Y * (self.Gs @ Y @ self.moments.S)) / self.n**2 + 2 * np.sum(self.amat * Y) + self.c0)

    def loss(self, theta: np.ndarray) -> float:
        Y = sym_coords(invariant(np.asarray(theta, dtype=float), self.d), self.d)
        return self.reduced_value(Y)
