"""The objective of ``numerics.critical``: value, gradient, Hessian and Hessian-vector products of the
one-layer loss f(theta) (``_Backend``), and the symmetry helpers (scaling orbit, mirror, balancing).

For d <= LIFTED_BACKEND_MAX_DIM the backend works through the lift f = m^T A m + 2 a^T m + c0 (an
independent derivation, A small); beyond, through the O(d^3) closed-form gradient of
``numerics.one_layer.derivatives`` with the forward-mode Hessian-vector products of ``numerics.one_layer.hessian`` (no D x D
matrix; the dense Hessian is built from HVPs only when asked, i.e. for small d).
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import n_params, pack, unpack_parts, value_and_grad_flat
from iclcheck.numerics.one_layer.hessian import hessian_flat, hvp_flat, hvp_operator
from iclcheck.numerics.one_layer.lift import LiftedLoss, invariant

__all__ = ["balance", "distance_to_predicted", "effective_gamma"]

LIFTED_BACKEND_MAX_DIM = 6  # the lifted backend holds A (D x D, D = (d+1)^2 d: 2.3 MB at d = 6)


class _Backend:
    """Value, gradient, Hessian of f(theta). For d <= LIFTED_BACKEND_MAX_DIM through the lift f = m^T A m + 2 a^T m
    + c0, m = p (x) q (q = theta[d+1:] = row-major Qd), whose derivatives are a few small tensor
    contractions (the lift is an independent derivation; tests check both backends agree); otherwise the
    O(d^3) closed-form gradient of ``numerics.one_layer.derivatives`` with exact HVPs."""

    def __init__(self, ol: OneLayer):
        self.ol, self.d = ol, ol.d
        self.k = ol.d + 1
        self.N = n_params(ol.d)
        self.lifted = ol.d <= LIFTED_BACKEND_MAX_DIM
        if self.lifted:
            L = LiftedLoss(ol)
            nq = self.k * ol.d
            self.A4 = L.A.reshape(self.k, nq, self.k, nq)  # [k, nq, k, nq]
            self.A = L.A
            self.a2 = L.a.reshape(self.k, nq)  # [k, nq]
            self.c0 = L.c0
            U = L.sym_basis  # [D, D_s]
            lam, V = np.linalg.eigh(U.T @ L.A @ U)
            keep = lam > 1e-12 * lam[-1]
            self.Fs = (V[:, keep] * np.sqrt(lam[keep])).T @ U.T  # [r, D]; |Fs m|^2 = m^T A m = E o^2

    def predictor(self, theta: np.ndarray, *, mirror: bool = False) -> np.ndarray:
        """Coordinates of the output o(theta) in an orthonormal basis of the features (lifted: |u - v| is the
        L2 distance sqrt(E (o_u - o_v)^2) between predictors); otherwise the tensor m_s itself."""
        m = invariant(theta, self.d)
        if mirror:
            m = _flip(m, self.d)
        return self.Fs @ m.reshape(-1) if self.lifted else m.reshape(-1)

    def rounding(self, theta: np.ndarray) -> float:
        """A bound on the float rounding in f(theta): 64 eps times the sum of the absolute terms."""
        eps = np.finfo(float).eps
        if self.lifted:
            m = np.abs(np.kron(theta[: self.k], theta[self.k :]))
            return float(64 * eps * (m @ np.abs(self.A) @ m + 2 * np.abs(self.a2).reshape(-1) @ m + self.c0))
        f, g = self.value_grad(theta)
        return float(64 * eps * (abs(f) + np.abs(g) @ np.abs(theta)))

    def hess_abs_norm(self, theta: np.ndarray) -> float:
        """||H_abs||_2, H_abs = the Hessian's formula with every term replaced by its absolute value (the sums of
        |terms| that bound each entry's rounding); beyond the lifted backend, ||H||_2 (no such formula at hand)."""
        if not self.lifted:
            return float(np.linalg.norm(self.hess(theta), 2))
        p, q = np.abs(theta[: self.k]), np.abs(theta[self.k :])
        A4 = np.abs(self.A4)
        R = np.einsum("ktls,l,s->kt", A4, p, q) + np.abs(self.a2)  # [k, nq]
        Hpp = 2 * np.einsum("r,krls,s->kl", q, A4, q)  # [k, k]
        Hqq = 2 * np.einsum("k,krls,l->rs", p, A4, p)  # [nq, nq]
        Hpq = 2 * R + 2 * np.einsum("krlt,r,l->kt", A4, q, p)  # [k, nq]
        return float(np.linalg.norm(np.block([[Hpp, Hpq], [Hpq.T, Hqq]]), 2))

    def value_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        if not self.lifted:
            return value_and_grad_flat(self.ol, theta)
        p, q = theta[: self.k], theta[self.k :]
        m = np.kron(p, q)  # [k * nq]
        v = self.A @ m  # [k * nq]
        R = v.reshape(self.k, -1) + self.a2  # [k, nq]
        f = float(m @ v + 2 * np.sum(self.a2 * np.outer(p, q)) + self.c0)
        return f, np.concatenate([2 * R @ q, 2 * R.T @ p])

    def grad(self, theta: np.ndarray) -> np.ndarray:
        return self.value_grad(theta)[1]

    def hess(self, theta: np.ndarray) -> np.ndarray:
        if not self.lifted:
            return hessian_flat(self.ol, theta)
        p, q = theta[: self.k], theta[self.k :]
        A4 = self.A4
        R = np.einsum("ktls,l,s->kt", A4, p, q) + self.a2  # [k, nq]
        Hpp = 2 * np.einsum("r,krls,s->kl", q, A4, q)  # [k, k]
        Hqq = 2 * np.einsum("k,krls,l->rs", p, A4, p)  # [nq, nq]
        Hpq = 2 * R + 2 * np.einsum("krlt,r,l->kt", A4, q, p)  # [k, nq]
        H = np.block([[Hpp, Hpq], [Hpq.T, Hqq]])
        return (H + H.T) / 2

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.hess(theta) @ v if self.lifted else hvp_flat(self.ol, theta, v)

    def hvp_op(self, theta: np.ndarray):
        """v -> H(theta) v for many v at one point (MINRES, the dense Hessian): the lifted Hessian once, or the
        forward-mode product with the point's intermediates cached (about one gradient per product)."""
        if self.lifted:
            H = self.hess(theta)
            return lambda v: H @ v
        return hvp_operator(self.ol, theta)

    @property
    def start_scale(self) -> float:
        """The scale of the starts: sqrt(2 |Gamma*|_F) (a point of the predicted form has |p| |Qd| ~ |Gamma*|)."""
        s = self.__dict__.get("_start_scale")
        if s is None:
            s = float(np.sqrt(2 * max(float(np.linalg.norm(self.ol.gamma_star())), 1e-12)))
            self.__dict__["_start_scale"] = s
        return s


# -- symmetry helpers ---------------------------------------------------------------------------------
def _split(theta: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """p [d+1], Qd [(d+1), d] (rows: Q11 rows then q21)."""
    b, c, Q11, q21 = unpack_parts(theta, d)
    p = np.concatenate([b, [c]])
    Qd = np.vstack([Q11, q21[None, :]])
    return p, Qd


def _flip(m: np.ndarray, d: int) -> np.ndarray:
    """The invariant of the mirror point (b, c, Q11, q21) -> (-b, c, Q11, -q21): entries with both or neither
    of (k, i) equal to d (the features even in y) change sign."""
    out = m.copy()
    out[:d, :d, :] *= -1  # x-x features
    out[d, d, :] *= -1  # y-y feature
    return out


def balance(theta: np.ndarray, d: int) -> np.ndarray:
    """The representative of the scaling orbit with |p| = |Qd| (theta itself if either is zero)."""
    theta = np.array(theta, dtype=float)
    k = d + 1
    np_, nq = np.linalg.norm(theta[:k]), np.linalg.norm(theta[k:])
    if np_ == 0 or nq == 0:
        return theta
    g = np.sqrt(nq / np_)
    theta[:k] *= g
    theta[k:] /= g
    return theta


def effective_gamma(theta: np.ndarray, d: int) -> np.ndarray:
    """Gamma = -c Q11^T (exact preconditioner for reduced-form points; the stated definition otherwise)."""
    _, c, Q11, _ = unpack_parts(theta, d)
    return -c * Q11.T


def _reduced_form_residual(theta: np.ndarray, d: int) -> float:
    b, c, Q11, q21 = unpack_parts(theta, d)
    p_scale = np.hypot(np.linalg.norm(b), c)
    q_scale = np.hypot(np.linalg.norm(Q11), np.linalg.norm(q21))
    if p_scale == 0 or q_scale == 0:
        return 0.0
    return float(np.linalg.norm(b) / p_scale + np.linalg.norm(q21) / q_scale)


def _predicted_theta(ol: OneLayer) -> np.ndarray:
    P, Q = ol.params_from_gamma(ol.gamma_star())
    return balance(pack(P, Q), ol.d)


def distance_to_predicted(ol: OneLayer, theta: np.ndarray, *, m_star: np.ndarray | None = None) -> float:
    """|m_s(theta) - m_s(theta*)|_F / |m_s(theta*)|_F (invariant under P -> gamma P, Q -> Q / gamma)."""
    if m_star is None:
        m_star = invariant(_predicted_theta(ol), ol.d)
    return float(np.linalg.norm(invariant(theta, ol.d) - m_star) / np.linalg.norm(m_star))



def _scaling_direction(theta: np.ndarray, d: int) -> np.ndarray:
    """Unit tangent (p, -Qd) of the scaling orbit (zero vector when p = 0 or Qd = 0)."""
    k = d + 1
    t = np.concatenate([theta[:k], -theta[k:]])
    nt = np.linalg.norm(t)
    if nt == 0 or np.linalg.norm(theta[:k]) == 0 or np.linalg.norm(theta[k:]) == 0:
        return np.zeros_like(theta)
    return t / nt

