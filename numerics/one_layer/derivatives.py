"""Exact gradient, Hessian-vector products and Hessian of the full-parameter one-layer loss.

Parameters that matter (theory/one_layer.py): theta = (b, c, Q11, q21) with b = P[d, :d], c = P[d, d],
Q11 = Q[:d, :d], q21 = Q[d, :d]; every other entry of P, Q leaves the output unchanged, so its
derivative is exactly zero. The flat vector is

    theta = (b [d], c [1], vec_rowmajor(Q11) [d^2], q21 [d])        (length (d+1)^2),

i.e. theta = (p, vec(Qd^T)) with p = P[d, :] the last row of P and Qd = Q[:, :d] (stored by rows of Q11,
then q21).

Gradient (derived by hand from ``full_loss_formula``; S, W symmetric; SWS = S W S, tau = tr(SW) + sigma2,
kap2 = tau^2 + 2 tr(SWSW), beta = S b, u = Q11^T beta, k12 = Q11 S q21, k22 = q21^T S q21,
Eb = b^T SWS b + c^2 kap2; T3 pieces al = S^{1/2} b, m = diag(S^{1/2} Q11 S Q11^T S^{1/2}),
g = S^{1/2} k12, nu = diag(S^{1/2} W S^{1/2}), kk = kappa - 3; a = (n+1)/n):

  grad of   a T1 :
    d/db   = a [2 S Q11 S u + 2 c tau S k12 + 2 c SWS Q11 S q21 + 2 k22 SWS b]
    d/dc   = a [2 c tr(Q11 S Q11^T SWS) + 2 tau beta^T k12 + 2 q21^T S Q11^T SWS b + 2 c k22 kap2]
    d/dQ11 = a [2 beta beta^T Q11 S + 2 c^2 SWS Q11 S + 2 c tau beta (S q21)^T + 2 c SWS b (S q21)^T]
    d/dq21 = a [2 c tau S Q11^T beta + 2 c S Q11^T SWS b + 2 Eb S q21]
  grad of   T2 / n  (t0 = tr(S Q11 S Q11^T), e0 = b^T S b, T2 = t0 e0 + c^2 tau t0 + k22 tau e0
                     + k22 c^2 kap2 + 4 c q21^T S Q11^T SWS b):
    d/db   = [2 t0 S b + 2 k22 tau S b + 4 c SWS Q11 S q21] / n
    d/dc   = [2 c tau t0 + 2 c k22 kap2 + 4 q21^T S Q11^T SWS b] / n
    d/dQ11 = [2 (e0 + c^2 tau) S Q11 S + 4 c SWS b (S q21)^T] / n
    d/dq21 = [2 (tau e0 + c^2 kap2) S q21 + 4 c S Q11^T SWS b] / n
  grad of   T3 / n  (T3 = sum kk [al^2 m + k22 al^2 nu + 4 c al g nu + c^2 m nu + 3 c^2 k22 nu^2]):
    d/db   = S^{1/2} [2 kk al (m + k22 nu) + 4 c kk g nu] / n
    d/dc   = [4 sum(kk al g nu) + 2 c sum(kk m nu) + 6 c k22 sum(kk nu^2)] / n
    d/dQ11 = [2 S^{1/2} diag(kk (al^2 + c^2 nu)) S^{1/2} Q11 S + 4 c S^{1/2} (kk al nu) (S q21)^T] / n
    d/dq21 = [2 (sum(kk al^2 nu) + 3 c^2 sum(kk nu^2)) S q21 + 4 c S Q11^T S^{1/2} (kk al nu)] / n
  grad of   cross = 2 b^T SWS q21 + 2 c tr(Q11 SWS):
    d/db = 2 SWS q21,  d/dc = 2 tr(Q11 SWS),  d/dQ11 = 2 c SWS,  d/dq21 = 2 SWS b.

Second order (Hessian-vector products, the dense Hessian): ``numerics/one_layer/hessian.py``.
"""

from __future__ import annotations

import numpy as np

import iclcheck.numerics.one_layer.closed_form as _one_layer
from iclcheck.numerics.one_layer.closed_form import OneLayer, check_params, diag_of_product
from iclcheck.theory.errors import InputError

__all__ = [
    "grad_flat",
    "loss_and_grad",
    "loss_flat",
    "n_params",
    "pack",
    "pack_parts",
    "unpack",
    "unpack_parts",
    "value_and_grad_flat",
]


def n_params(d: int) -> int:
    """Length of theta: b (d) + c (1) + Q11 (d^2) + q21 (d) = (d+1)^2."""
    return (d + 1) ** 2


def pack_parts(b: np.ndarray, c: float, Q11: np.ndarray, q21: np.ndarray) -> np.ndarray:
    return np.concatenate([np.ravel(b), [float(c)], np.ravel(Q11), np.ravel(q21)])


def unpack_parts(theta: np.ndarray, d: int) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """(b [d], c, Q11 [d, d], q21 [d]) from theta (views where possible)."""
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (n_params(d),):
        raise InputError("theta", f"must have length (d+1)^2 = {n_params(d)} for d={d}, got shape {theta.shape}")
    b = theta[:d]
    c = float(theta[d])
    Q11 = theta[d + 1 : d + 1 + d * d].reshape(d, d)
    q21 = theta[d + 1 + d * d :]
    return b, c, Q11, q21


def pack(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """theta from full (d+1)x(d+1) P, Q (entries that do not affect the output are dropped)."""
    d = np.asarray(P).shape[0] - 1
    P, Q = check_params(P, Q, d)
    return pack_parts(P[d, :d], P[d, d], Q[:d, :d], Q[d, :d])


def unpack(theta: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Full (P, Q), zero on the entries that do not affect the output."""
    return _embed(*unpack_parts(theta, d), d)


def _embed(b, c, Q11, q21, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q)-shaped arrays holding (b, c, Q11, q21) at their places and zero elsewhere."""
    P = np.zeros((d + 1, d + 1))
    Q = np.zeros((d + 1, d + 1))
    P[d, :d] = b
    P[d, d] = c
    Q[:d, :d] = Q11
    Q[d, :d] = q21
    return P, Q


class _Consts:
    """Setting-only pieces of the gradient, cached on the OneLayer object."""

    def __init__(self, ol: OneLayer):
        S, W = ol.S, ol.W
        self.S = S
        self.SWS = ol.SWS
        self.tau = float(np.trace(ol.SW) + ol.sigma2)
        self.kap2 = self.tau**2 + 2 * float(np.sum(ol.SW * ol.SW.T))  # tau^2 + 2 tr(SWSW)
        self.n = float(ol.n)
        self.a = (self.n + 1) / self.n
        self.gaussian = ol.setting.gaussian
        self.Y: np.ndarray | None = None  # Sh W Sh: made by the large non-Gaussian route on first use
        if not self.gaussian:
            self.Sh = ol.Sh
            self.kk = ol.km3[:, 0]  # [d]
            self.nu = diag_of_product(ol.Sh, W, ol.Sh)  # [d] diag(S^1/2 W S^1/2)
            self.kk_nu = self.kk * self.nu
            self.s_nu2 = float(np.sum(self.kk * self.nu**2))


def _consts(ol: OneLayer) -> _Consts:
    c = ol.__dict__.get("_deriv_consts")
    if c is None:
        c = _Consts(ol)
        ol.__dict__["_deriv_consts"] = c
    return c


def _loss_grad_parts(ol: OneLayer, b, c, Q11, q21) -> tuple[float, np.ndarray, float, np.ndarray, np.ndarray]:
    """(f, df/db, df/dc, df/dQ11, df/dq21); b, q21 1-d arrays. See the module docstring."""
    K = _consts(ol)
    if not K.gaussian and K.S.shape[0] >= _one_layer.BLAS_DIAG_MIN_D:
        return _loss_grad_parts_large(ol, K, b, c, Q11, q21)
    S, SWS, tau, kap2, n, a = K.S, K.SWS, K.tau, K.kap2, K.n, K.a
    beta = S @ b  # [d]
    Sq = S @ q21  # [d]
    SQ = S @ Q11  # [d, d]
    QS = Q11 @ S  # [d, d]
    u = Q11.T @ beta  # [d]
    k12 = Q11 @ Sq  # [d]
    k22 = float(q21 @ Sq)
    SWSb = SWS @ b  # [d]
    SWSQ = SWS @ Q11  # [d, d]
    QtSWSb = Q11.T @ SWSb  # [d]
    k12SWbeta = float(Sq @ QtSWSb)  # q21^T S Q11^T SWS b = k12^T S W beta
    bk12 = float(beta @ k12)
    tK11SWS = float(np.sum(SWSQ * QS))  # tr(Q11 S Q11^T SWS)
    t0 = float(np.sum(SQ * QS))  # tr(S Q11 S Q11^T)
    e0 = float(b @ beta)
    bSWSb = float(b @ SWSb)
    Eb = bSWSb + c * c * kap2
    SQtbeta = S @ u  # S Q11^T beta [d]
    SQtSWSb = S @ QtSWSb  # [d]

    T1 = float(u @ (S @ u)) + c * c * tK11SWS + 2 * c * tau * bk12 + 2 * c * k12SWbeta + k22 * Eb
    T2 = t0 * e0 + c * c * tau * t0 + k22 * tau * e0 + k22 * c * c * kap2 + 4 * c * k12SWbeta
    trQSWS = float(np.sum(Q11 * SWS))  # tr(Q11 SWS) (SWS symmetric)
    cross = 2 * float(b @ (SWS @ q21)) + 2 * c * trQSWS

    gb = a * (2 * (SQ @ (S @ u)) + 2 * c * tau * (S @ k12) + 2 * c * (SWSQ @ Sq) + 2 * k22 * SWSb)
    gb += (2 * t0 * beta + 2 * k22 * tau * beta + 4 * c * (SWSQ @ Sq)) / n
    gb += 2 * (SWS @ q21)
    gc = a * (2 * c * tK11SWS + 2 * tau * bk12 + 2 * k12SWbeta + 2 * c * k22 * kap2)
    gc += (2 * c * tau * t0 + 2 * c * k22 * kap2 + 4 * k12SWbeta) / n
    gc += 2 * trQSWS
    gQ = a * (
        2 * np.outer(beta, beta @ QS)  # 2 beta beta^T Q11 S
        + 2 * c * c * (SWSQ @ S)
        + 2 * c * tau * np.outer(beta, Sq)
        + 2 * c * np.outer(SWSb, Sq)
    )
    gQ += (2 * (e0 + c * c * tau) * (SQ @ S) + 4 * c * np.outer(SWSb, Sq)) / n
    gQ += 2 * c * SWS
    gq = a * (2 * c * tau * SQtbeta + 2 * c * SQtSWSb + 2 * Eb * Sq)
    gq += (2 * (tau * e0 + c * c * kap2) * Sq + 4 * c * SQtSWSb) / n
    gq += 2 * SWSb

    T3 = 0.0
    if not K.gaussian:
        Sh, kk, nu, kk_nu = K.Sh, K.kk, K.nu, K.kk_nu
        al = Sh @ b  # [d]
        ShQ = Sh @ Q11  # [d, d]
        m = diag_of_product(ShQ, S, ShQ, transpose_C=True)  # [d] diag(Sh Q11 S Q11^T Sh)
        g = Sh @ k12  # [d]
        al2 = al * al
        T3 = float(
            np.sum(kk * (al2 * m + k22 * al2 * nu + 4 * c * al * g * nu + c * c * m * nu))
            + 3 * c * c * k22 * K.s_nu2
        )
        r = kk_nu * al  # [d] kk al nu
        gb += Sh @ (2 * kk * al * (m + k22 * nu) + 4 * c * kk_nu * g) / n
        gc += (4 * float(np.sum(r * g)) + 2 * c * float(np.sum(kk_nu * m)) + 6 * c * k22 * K.s_nu2) / n
        rho = kk * (al2 + c * c * nu)  # [d]
        gQ += (2 * ((Sh * rho) @ Sh) @ QS + 4 * c * np.outer(Sh @ r, Sq)) / n
        gq += (2 * (float(np.sum(r * al)) + 3 * c * c * K.s_nu2) * Sq + 4 * c * (S @ (Q11.T @ (Sh @ r)))) / n

    f = a * T1 + T2 / n + T3 / n + cross + float(np.trace(ol.SW))
    return float(f), gb, float(gc), gQ, gq


def _loss_grad_parts_large(ol: OneLayer, K: _Consts, b, c, Q11, q21
                           ) -> tuple[float, np.ndarray, float, np.ndarray, np.ndarray]:
    """``_loss_grad_parts`` for non-Gaussian covariates from d = BLAS_DIAG_MIN_D on: the same terms with 5 d x d
    products instead of 9 (at d = 1000 the products are the cost). With Sh = S^{1/2}, X = Sh Q Sh and the setting's
    Y = Sh W Sh (cached): tr(S Q S Q^T) and diag(Sh Q S Q^T Sh) from X (|X|_F^2 and the row sums of X * X);
    tr(Q S Q^T SWS) = tr(X X^T Y) = sum(X * (Y X)); the three d x d terms of df/dQ11 that end in Q S,
    (c_1 SWS + c_2 S + c_3 Sh diag(rho) Sh) Q S = Sh (c_1 Y X + (c_2 + c_3 rho) * X) Sh; S Q S u as matrix-vector
    products; the rank-one terms as one d x 2 by 2 x d product. Below that size the original order of operations
    stays (the verify report's settings keep their bits)."""
    S, SWS, tau, kap2, n, a = K.S, K.SWS, K.tau, K.kap2, K.n, K.a
    Sh, kk, nu, kk_nu = K.Sh, K.kk, K.nu, K.kk_nu
    beta = S @ b  # [d]
    Sq = S @ q21  # [d]
    ShQ = Sh @ Q11  # [d, d]
    X = ShQ @ Sh  # [d, d] Sh Q11 Sh
    if K.Y is None:
        K.Y = Sh @ ol.W @ Sh  # [d, d] Sh W Sh, once per setting
    YX = K.Y @ X  # [d, d]
    u = Q11.T @ beta  # [d]
    k12 = Q11 @ Sq  # [d]
    k22 = float(q21 @ Sq)
    SWSb = SWS @ b  # [d]
    QtSWSb = Q11.T @ SWSb  # [d]
    k12SWbeta = float(Sq @ QtSWSb)
    bk12 = float(beta @ k12)
    tK11SWS = float(np.sum(X * YX))  # tr(Q11 S Q11^T SWS) = tr(X X^T Y)
    X2 = X * X  # [d, d]
    m = np.sum(X2, axis=1)  # [d] diag(Sh Q11 S Q11^T Sh)
    t0 = float(np.sum(m))  # tr(S Q11 S Q11^T) = |Sh Q11 Sh|_F^2
    e0 = float(b @ beta)
    bSWSb = float(b @ SWSb)
    Eb = bSWSb + c * c * kap2
    Su = S @ u  # [d]
    SQtbeta = Su  # S Q11^T beta
    SQtSWSb = S @ QtSWSb  # [d]
    SWSk12 = SWS @ k12  # [d] SWS Q11 S q21

    T1 = float(u @ Su) + c * c * tK11SWS + 2 * c * tau * bk12 + 2 * c * k12SWbeta + k22 * Eb
    T2 = t0 * e0 + c * c * tau * t0 + k22 * tau * e0 + k22 * c * c * kap2 + 4 * c * k12SWbeta
    trQSWS = float(np.sum(Q11 * SWS))
    SWSq = SWS @ q21  # [d]
    cross = 2 * float(b @ SWSq) + 2 * c * trQSWS

    gb = a * (2 * (S @ (Q11 @ Su)) + 2 * c * tau * (S @ k12) + 2 * c * SWSk12 + 2 * k22 * SWSb)
    gb += (2 * t0 * beta + 2 * k22 * tau * beta + 4 * c * SWSk12) / n
    gb += 2 * SWSq
    gc = a * (2 * c * tK11SWS + 2 * tau * bk12 + 2 * k12SWbeta + 2 * c * k22 * kap2)
    gc += (2 * c * tau * t0 + 2 * c * k22 * kap2 + 4 * k12SWbeta) / n
    gc += 2 * trQSWS
    gq = a * (2 * c * tau * SQtbeta + 2 * c * SQtSWSb + 2 * Eb * Sq)
    gq += (2 * (tau * e0 + c * c * kap2) * Sq + 4 * c * SQtSWSb) / n
    gq += 2 * SWSb

    al = Sh @ b  # [d]
    g = Sh @ k12  # [d]
    al2 = al * al
    T3 = float(np.sum(kk * (al2 * m + k22 * al2 * nu + 4 * c * al * g * nu + c * c * m * nu))
               + 3 * c * c * k22 * K.s_nu2)
    r = kk_nu * al  # [d]
    Shr = Sh @ r  # [d]
    gb += Sh @ (2 * kk * al * (m + k22 * nu) + 4 * c * kk_nu * g) / n
    gc += (4 * float(np.sum(r * g)) + 2 * c * float(np.sum(kk_nu * m)) + 6 * c * k22 * K.s_nu2) / n
    rho = kk * (al2 + c * c * nu)  # [d]
    gq += (2 * (float(np.sum(r * al)) + 3 * c * c * K.s_nu2) * Sq + 4 * c * (S @ (Q11.T @ Shr))) / n

    # df/dQ11: (2 a c^2 SWS + 2 (e0 + c^2 tau) / n S + 2 / n Sh diag(rho) Sh) Q11 S + rank-one terms + 2 c SWS,
    # the first part as Sh (2 a c^2 Y X + (2 (e0 + c^2 tau) / n + 2 / n rho) * X) Sh
    M = YX
    M *= 2 * a * c * c
    M += ((2 * (e0 + c * c * tau) / n) + (2 / n) * rho)[:, None] * X
    gQ = Sh @ (M @ Sh)  # [d, d]
    U = np.stack([beta, a * 2 * c * SWSb + 4 * c * SWSb / n + 4 * c * Shr / n], axis=1)  # [d, 2]
    V = np.stack([2 * a * ((beta @ Q11) @ S) + 2 * a * c * tau * Sq, Sq], axis=0)  # [2, d]
    gQ += U @ V
    gQ += (2 * c) * SWS

    f = a * T1 + T2 / n + T3 / n + cross + float(np.trace(ol.SW))
    return float(f), gb, float(gc), gQ, gq


def loss_and_grad(ol: OneLayer, P: np.ndarray, Q: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(f(P, Q), df/dP, df/dQ), gradients as full (d+1)x(d+1) arrays, exactly zero on entries that do not
    affect the output. O(d^3)."""
    d = ol.d
    P, Q = check_params(P, Q, d)
    f, gb, gc, gQ, gq = _loss_grad_parts(ol, P[d, :d].copy(), float(P[d, d]), Q[:d, :d].copy(), Q[d, :d].copy())
    dP, dQ = _embed(gb, gc, gQ, gq, d)
    return f, dP, dQ


def _value_grad_flat(ol: OneLayer, theta: np.ndarray) -> tuple[float, np.ndarray]:
    b, c, Q11, q21 = unpack_parts(theta, ol.d)
    f, gb, gc, gQ, gq = _loss_grad_parts(ol, b, c, Q11, q21)
    return f, pack_parts(gb, gc, gQ, gq)


def loss_flat(ol: OneLayer, theta: np.ndarray) -> float:
    """f(theta)."""
    return _value_grad_flat(ol, theta)[0]


def grad_flat(ol: OneLayer, theta: np.ndarray) -> np.ndarray:
    """grad f(theta), length (d+1)^2."""
    return _value_grad_flat(ol, theta)[1]


def value_and_grad_flat(ol: OneLayer, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """(f(theta), grad f(theta)) in one pass (what scipy.optimize wants with jac=True)."""
    return _value_grad_flat(ol, theta)
