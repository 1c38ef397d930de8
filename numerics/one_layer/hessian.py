"""Exact Hessian-vector products and the dense Hessian of the full-parameter one-layer loss (the gradient,
the flat parameter vector theta and its packing: ``numerics/one_layer/derivatives.py``).

Hessian-vector products, exactly, at about the cost of one gradient (``hvp_flat``): forward mode over
the gradient. Every line of ``_loss_grad_parts`` is a sum of products of theta-dependent factors, so its
directional derivative along v = (db, dc, dQ11, dq21) is the same sum with the product rule applied line
by line (``_grad_tangent_parts``; e.g. d(Q11^T beta) = dQ11^T beta + Q11^T S db). The pass reuses the
primal intermediates (``hvp_operator`` caches them per point) and adds about as many small matrix
products as the gradient has: measured 1.4-1.6 gradient evaluations per product here (polarisation: 4).

An independent route (``hvp_polarised``, kept for tests): f is quadratic in p for fixed Qd and quadratic
in Qd for fixed p, so the gradient restricted to a line in one block is a polynomial of degree <= 2 and

    H v = [g(p + s v_p, Qd) - g(p - s v_p, Qd)] / (2 s) + [g(p, Qd + t v_Q) - g(p, Qd - t v_Q)] / (2 t)

exactly (the central difference of a quadratic is its derivative, whatever the step; only float rounding
remains, kept at the gradient's own level by s, t at the scale of (p, Qd)). Cost: four gradients.
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import _consts, grad_flat, n_params, pack_parts, unpack_parts
from iclcheck.theory.errors import InputError

__all__ = ["hessian_flat", "hvp_flat", "hvp_operator", "hvp_polarised"]


def _primal(ol: OneLayer, b, c, Q11, q21) -> dict:
    """The theta-dependent intermediates of the gradient that the tangent pass reuses (computed once per
    point: every HVP at the same theta then costs one tangent pass)."""
    K = _consts(ol)
    S, SWS = K.S, K.SWS
    P = {"b": b, "c": c, "Q11": Q11, "q21": q21, "beta": S @ b, "Sq": S @ q21, "SQ": S @ Q11, "QS": Q11 @ S,
         "SWSb": SWS @ b, "SWSQ": SWS @ Q11}
    P["u"] = Q11.T @ P["beta"]
    P["k12"] = Q11 @ P["Sq"]
    P["k22"] = float(q21 @ P["Sq"])
    P["QtSWSb"] = Q11.T @ P["SWSb"]
    P["tK"] = float(np.sum(P["SWSQ"] * P["QS"]))
    P["t0"] = float(np.sum(P["SQ"] * P["QS"]))
    P["e0"] = float(b @ P["beta"])
    P["Eb"] = float(b @ P["SWSb"]) + c * c * K.kap2
    P["Su"] = S @ P["u"]
    P["SQtSWSb"] = S @ P["QtSWSb"]
    P["WQs"] = P["SWSQ"] @ P["Sq"]
    P["SQS"] = P["SQ"] @ S
    P["SWSQS"] = P["SWSQ"] @ S
    P["bQS"] = P["beta"] @ P["QS"]
    if not K.gaussian:
        Sh = K.Sh
        P["al"] = Sh @ b
        P["ShQ"] = Sh @ Q11
        P["m"] = np.einsum("ij,jk,ik->i", P["ShQ"], S, P["ShQ"])
        P["g"] = Sh @ P["k12"]
        P["r"] = K.kk_nu * P["al"]
        P["rho"] = K.kk * (P["al"] ** 2 + c * c * K.nu)
        P["Shr"] = Sh @ P["r"]
        P["ShrhoSh"] = (Sh * P["rho"]) @ Sh
        P["SQtShr"] = S @ (Q11.T @ P["Shr"])
    return P


def _grad_tangent_parts(ol: OneLayer, P: dict, db, dc, dQ, dq):
    """The directional derivative of (df/db, df/dc, df/dQ11, df/dq21) along (db, dc, dQ, dq) at the point
    of the intermediates P (``_primal``): forward mode over ``_loss_grad_parts``, each line of which appears
    here differentiated by the product rule."""
    K = _consts(ol)
    S, SWS, tau, kap2, n, a = K.S, K.SWS, K.tau, K.kap2, K.n, K.a
    o = np.outer
    c, Q11 = P["c"], P["Q11"]
    beta, Sq, SQ, QS, k12, k22 = P["beta"], P["Sq"], P["SQ"], P["QS"], P["k12"], P["k22"]
    SWSb, SWSQ, QtSWSb, tK, t0, e0, Eb = P["SWSb"], P["SWSQ"], P["QtSWSb"], P["tK"], P["t0"], P["e0"], P["Eb"]
    Su, SQtSWSb, WQs, bQS = P["Su"], P["SQtSWSb"], P["WQs"], P["bQS"]
    # tangents (prefix d) of the intermediates
    dbeta = S @ db  # [d]
    dSq = S @ dq  # [d]
    dSQ = S @ dQ  # [d, d]
    dQS = dQ @ S  # [d, d]
    du = dQ.T @ beta + Q11.T @ dbeta  # [d]
    dk12 = dQ @ Sq + Q11 @ dSq  # [d]
    dk22 = 2 * float(dq @ Sq)
    dSWSb = SWS @ db  # [d]
    dSWSQ = SWS @ dQ  # [d, d]
    dQtSWSb = dQ.T @ SWSb + Q11.T @ dSWSb  # [d]
    dk12SW = float(dSq @ QtSWSb + Sq @ dQtSWSb)
    dbk12 = float(dbeta @ k12 + beta @ dk12)
    dtK = float(np.sum(dSWSQ * QS) + np.sum(SWSQ * dQS))
    dt0 = float(np.sum(dSQ * QS) + np.sum(SQ * dQS))
    de0 = 2 * float(db @ beta)
    dEb = 2 * float(db @ SWSb) + 2 * c * dc * kap2
    dSu = S @ du  # [d]
    dSQtSWSb = S @ dQtSWSb  # [d]
    dtrQSWS = float(np.sum(dQ * SWS))
    dWQs = dSWSQ @ Sq + SWSQ @ dSq
    dSWSbSq = o(dSWSb, Sq) + o(SWSb, dSq)  # d outer(SWSb, Sq)

    dgb = a * (2 * (dSQ @ Su + SQ @ dSu) + 2 * tau * (dc * (S @ k12) + c * (S @ dk12)) + 2 * (dc * WQs + c * dWQs)
               + 2 * (dk22 * SWSb + k22 * dSWSb))
    dgb += (2 * (dt0 * beta + t0 * dbeta) + 2 * tau * (dk22 * beta + k22 * dbeta) + 4 * (dc * WQs + c * dWQs)) / n
    dgb += 2 * (SWS @ dq)
    dgc = a * (2 * (dc * tK + c * dtK) + 2 * tau * dbk12 + 2 * dk12SW + 2 * kap2 * (dc * k22 + c * dk22))
    dgc += (2 * tau * (dc * t0 + c * dt0) + 2 * kap2 * (dc * k22 + c * dk22) + 4 * dk12SW) / n
    dgc += 2 * dtrQSWS
    dgQ = a * (
        2 * (o(dbeta, bQS) + o(beta, dbeta @ QS + beta @ dQS))
        + 4 * c * dc * P["SWSQS"] + 2 * c * c * (dSWSQ @ S)
        + 2 * tau * (dc * o(beta, Sq) + c * (o(dbeta, Sq) + o(beta, dSq)))
        + 2 * (dc * o(SWSb, Sq) + c * dSWSbSq)
    )
    dgQ += (2 * (de0 + 2 * c * dc * tau) * P["SQS"] + 2 * (e0 + c * c * tau) * (dSQ @ S)
            + 4 * (dc * o(SWSb, Sq) + c * dSWSbSq)) / n
    dgQ += 2 * dc * SWS
    dgq = a * (2 * tau * (dc * Su + c * dSu) + 2 * (dc * SQtSWSb + c * dSQtSWSb) + 2 * (dEb * Sq + Eb * dSq))
    dgq += (2 * (tau * de0 + 2 * c * dc * kap2) * Sq + 2 * (tau * e0 + c * c * kap2) * dSq
            + 4 * (dc * SQtSWSb + c * dSQtSWSb)) / n
    dgq += 2 * dSWSb

    if not K.gaussian:
        Sh, kk, nu, kk_nu, s_nu2 = K.Sh, K.kk, K.nu, K.kk_nu, K.s_nu2
        al, m, g, r, Shr = P["al"], P["m"], P["g"], P["r"], P["Shr"]
        dal = Sh @ db  # [d]
        dm = 2 * np.einsum("ij,jk,ik->i", Sh @ dQ, S, P["ShQ"])  # [d]
        dg = Sh @ dk12  # [d]
        dr = kk_nu * dal  # [d]
        dgb += Sh @ (2 * kk * (dal * (m + k22 * nu) + al * (dm + dk22 * nu)) + 4 * kk_nu * (dc * g + c * dg)) / n
        dgc += (4 * float(np.sum(dr * g + r * dg)) + 2 * (dc * float(np.sum(kk_nu * m)) + c * float(np.sum(kk_nu * dm)))
                + 6 * s_nu2 * (dc * k22 + c * dk22)) / n
        drho = kk * (2 * al * dal + 2 * c * dc * nu)
        dShr = Sh @ dr
        dgQ += (2 * ((Sh * drho) @ Sh) @ QS + 2 * P["ShrhoSh"] @ dQS
                + 4 * (dc * o(Shr, Sq) + c * (o(dShr, Sq) + o(Shr, dSq)))) / n
        ra = float(np.sum(r * al))
        dra = float(np.sum(dr * al + r * dal))
        dgq += (2 * (dra + 6 * c * dc * s_nu2) * Sq + 2 * (ra + 3 * c * c * s_nu2) * dSq
                + 4 * (dc * P["SQtShr"] + c * (S @ (dQ.T @ Shr)) + c * (S @ (Q11.T @ dShr)))) / n
    return dgb, float(dgc), dgQ, dgq


def hvp_flat(ol: OneLayer, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Hessian-vector product H(theta) v, exact: forward mode over the gradient (module docstring)."""
    theta = np.asarray(theta, dtype=float)
    v = np.asarray(v, dtype=float)
    if v.shape != theta.shape:
        raise InputError("v", f"must have the shape of theta {theta.shape}, got {v.shape}")
    return hvp_operator(ol, theta)(v)


def hvp_operator(ol: OneLayer, theta: np.ndarray):
    """v -> H(theta) v, with the point's intermediates computed once (MINRES, the dense Hessian: each product then
    costs one tangent pass, about one gradient)."""
    theta = np.asarray(theta, dtype=float)
    P = _primal(ol, *[x.copy() if isinstance(x, np.ndarray) else x for x in unpack_parts(theta, ol.d)])

    def hv(v: np.ndarray) -> np.ndarray:
        return pack_parts(*_grad_tangent_parts(ol, P, *unpack_parts(np.asarray(v, dtype=float), ol.d)))

    return hv


def hvp_polarised(ol: OneLayer, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H(theta) v by the polarisation identity of the module docstring (four gradients; an independent
    route to ``hvp_flat``)."""
    d = ol.d
    theta = np.asarray(theta, dtype=float)
    v = np.asarray(v, dtype=float)
    if v.shape != theta.shape:
        raise InputError("v", f"must have the shape of theta {theta.shape}, got {v.shape}")
    k = d + 1  # p = theta[:k], Qd = theta[k:]
    out = np.zeros_like(theta)
    for sl in (slice(0, k), slice(k, None)):
        vb = np.zeros_like(theta)
        vb[sl] = v[sl]
        nv = float(np.linalg.norm(vb))
        if nv == 0.0:
            continue
        s = max(float(np.linalg.norm(theta[sl])), 1.0) / nv  # step at the scale of the block
        gp = grad_flat(ol, theta + s * vb)
        gm = grad_flat(ol, theta - s * vb)
        out += (gp - gm) / (2 * s)
    return out


def hessian_flat(ol: OneLayer, theta: np.ndarray) -> np.ndarray:
    """Dense symmetric Hessian ((d+1)^2 x (d+1)^2) from exact HVPs on the basis (small d)."""
    N = n_params(ol.d)
    theta = np.asarray(theta, dtype=float)
    hv = hvp_operator(ol, theta)
    H = np.empty((N, N))
    e = np.zeros(N)
    for i in range(N):
        e[i] = 1.0
        H[:, i] = hv(e)
        e[i] = 0.0
    return (H + H.T) / 2
