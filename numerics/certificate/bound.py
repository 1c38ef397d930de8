"""The rigorous float bound of ``numerics.certificate``: rounding margins, lambda_min, the bound from a point.

For ANY point Y [P, d] of the reduced lift (``numerics.one_layer.lift``), with r = A_s y + a_s and
lambda_lo <= lambda_min(A_s), F(m) >= F(y) - |r|^2 / lambda_lo for every m. ``float_bound`` evaluates the
right-hand side with explicit float64 rounding margins (gamma_K |terms|, the moment formulas run on
entrywise absolute values as majorants, Weyl's theorem for the eigenvalues), so whatever produced Y the
result is a proven lower bound. ``_decide`` turns (bound, attained value) into a certification decision.
Also here: the exact kernel quotient for Rademacher covariates and the outward decimal rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from iclcheck.numerics.one_layer.lift import LiftedLoss, lift_moments, pair_basis, reduced

__all__ = ["Certificate", "float_bound"]

_U = np.finfo(float).eps / 2


def _round_outward(x: float, sig: int, *, down: bool) -> float:
    """x rounded down (or up) to ``sig`` significant decimal digits, exactly (Fractions): a lower bound stays
    a lower bound, and the printed digits do not depend on the last bits of BLAS rounding."""
    if not math.isfinite(x) or x == 0:
        return x
    e = math.floor(math.log10(abs(x))) - sig + 1
    q = Fraction(10) ** e
    v = (math.floor(Fraction(x) / q) if down else math.ceil(Fraction(x) / q)) * q
    return float(v)  # the float nearest v lies on the same side of x as v (x is itself a float)


def gs_eigh(L) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues ascending, eigenvectors) of the lifted Gram matrix ``L.Gs`` (P x P), decomposed once per lift
    and kept on it: the proven lambda_min bound and the QP's Kronecker factor both read it (before, eigvalsh and
    then eigh of the same 861 x 861 matrix at d = 40: 0.27-0.5 s of a ~2 s ``certify``). LAPACK's symmetric eigensolver with vectors is backward
    stable like the one without: the computed eigenvalues are exact for G_s + E, |E|_2 <= 4 P u |G_s|_F."""
    c = L.__dict__.get("_gs_eigh")
    if c is None or c[0] is not L.Gs:
        lam, V = np.linalg.eigh(L.Gs)
        c = (L.Gs, lam, V)
        L.__dict__["_gs_eigh"] = c
    return c[1], c[2]


def _gamma(K: int) -> float:
    return K * _U / (1 - K * _U)



@dataclass(frozen=True)
class Certificate:
    lower_bound: float  # proven lower bound of f over all P, Q (nan when none is proven)
    predicted_loss: float  # f at the Gamma* point (closed form OneLayer.loss)
    predicted_upper: float  # a proven upper bound of f at the Gamma* point (lift + rounding margin)
    gap: float  # predicted_upper - lower_bound
    solver_gap: float  # primal - dual objective of the relaxation as solved (information)
    primal: float
    dual: float
    status: str
    solver: str
    dual_residual: float  # |r| / |a_s| at the solver's point (information; the bound accounts for it)
    lambda_lower: float  # proven lower bound of lambda_min(A_s) (float path)
    rounding_margin: float  # total margin subtracted from the float bound
    minimiser_distance: float  # solver point vs the predicted point's coordinates (0: relaxation tight)
    gap_tol: float  # absolute tolerance = gap_tol * predicted_upper
    certified: bool
    reason: str
    statement: str
    exact: bool = False
    exact_bound: Fraction | None = None
    exact_loss: Fraction | None = None



class _Margins:
    """Majorants for rounding: Gabs, aabs, cabs (terms' absolute sums) and data errors EG, Ea, Ec."""

    def __init__(self, L: LiftedLoss):
        ol = L.ol
        d, k = L.d, L.d + 1
        K = 16 * k + 64  # sequential flops per entry (einsum sums of <= k terms, U^T X U, kron)
        self.g = _gamma(K)
        S, W = np.abs(ol.S), np.abs(ol.W)
        dW = 0.0
        if ol.setting.task_cov_kind == "inverse":  # W = fl(S^-1): |W - S^-1|_2 <= |W| |E| / (1 - |E|)
            Eres = np.linalg.norm(np.eye(d) - ol.S @ ol.W, 2) + _gamma(4 * d) * np.linalg.norm(S @ W, 2)
            dW = np.inf if Eres >= 0.5 else float(np.linalg.norm(ol.W, 2) * Eres / (1 - Eres))
        dSh, Sh = 0.0, None
        if L.Sh is not None:  # |Sh - S^1/2|_2 <= |Sh^2 - S|_2 / (2 lambda_min(Sh) - ...)
            Sh = np.abs(L.Sh)
            res = np.linalg.norm(L.Sh @ L.Sh - ol.S, 2) + _gamma(4 * d) * np.linalg.norm(Sh @ Sh, 2)
            lo = float(np.linalg.eigvalsh(L.Sh)[0]) - _gamma(4 * d) * np.linalg.norm(L.Sh, 2)
            dSh = np.inf if lo <= 0 else 2 * res / lo
        kk = abs(L.kk)
        n = L.n
        base = lift_moments(S, W, abs(float(ol.sigma2)), n, kk, Sh)
        pert = lift_moments(S, W + dW, abs(float(ol.sigma2)), n, kk, None if Sh is None else Sh + dSh)
        Gb, ab = reduced(base)
        Gp, ap = reduced(pert)
        self.finite = bool(np.isfinite(Gp).all() and np.isfinite(ap).all())
        self.Gabs, self.aabs, self.cabs = Gp, ap, float(pert.c0)
        self.EG = 2 * self.g * Gp + (Gp - Gb)
        self.Ea = 2 * self.g * ap + (ap - ab)
        self.Ec = 2 * self.g * self.cabs + (float(pert.c0) - float(base.c0))
        self.S = S
        self.n = n


def _lambda_lower(L: LiftedLoss, M: _Margins) -> tuple[float, float, float]:
    """Proven lower bounds of lambda_min(G_s), lambda_min(S) and of lambda_min(A_s) = their product / n^2."""
    P, d = L.Gs.shape[0], L.d
    if not (M.finite and np.isfinite(L.Gs).all()):
        return -np.inf, -np.inf, -np.inf
    # the lift's G_s is decomposed once (the QP's factor reuses it); a quotient's (Rademacher) only needs eigenvalues
    ev = gs_eigh(L)[0] if isinstance(L, LiftedLoss) else np.linalg.eigvalsh(L.Gs)
    lg = float(ev[0]) - (4 * P * _U * np.linalg.norm(L.Gs) + np.linalg.norm(M.EG))
    S = L.moments.S
    ls = float(np.linalg.eigvalsh(S)[0]) - 4 * d * _U * np.linalg.norm(S)
    if lg <= 0 or ls <= 0:
        return lg, ls, -np.inf
    return lg, ls, lg * ls / L.n**2 * (1 - 4 * _U)


def _value_bounds(L: LiftedLoss, M: _Margins, Y: np.ndarray) -> tuple[float, float, float]:
    """(F(Y) computed, its rounding margin, a proven upper bound of |r|) at the point Y [P, d]."""
    n, S = L.n, L.moments.S
    Ya = np.abs(Y)
    AY = L.Gs @ Y @ S / n**2
    AYabs = M.Gabs @ Ya @ M.S / n**2
    F = float(np.sum(Y * AY) + 2 * np.sum(L.amat * Y) + L.c0)
    margin = float(
        M.g * (np.sum(Ya * AYabs) + 2 * np.sum(M.aabs * Ya) + M.cabs)
        + np.sum(Ya * (M.EG @ Ya @ M.S)) / n**2 + 2 * np.sum(M.Ea * Ya) + M.Ec
    ) * (1 + 8 * _U)
    r = AY + L.amat
    r_up = np.abs(r) + M.g * (AYabs + M.aabs) + M.EG @ Ya @ M.S / n**2 + M.Ea
    return F, margin, float(np.linalg.norm(r_up) * (1 + 4 * _U))


def float_bound(L: LiftedLoss, Y: np.ndarray, *, margins: _Margins | None = None,  # L: or a quotient
                lam: float | None = None) -> tuple[float, float]:
    """A proven lower bound of min F (hence of f over all P, Q) from ANY point Y [P, d], and the margin used.
    Returns (-inf, inf) when lambda_min(A_s) cannot be bounded away from 0."""
    M = margins or _Margins(L)
    lam = _lambda_lower(L, M)[2] if lam is None else lam
    Y = np.asarray(Y, dtype=float)
    if not (lam > 0) or not np.isfinite(Y).all():
        return -np.inf, np.inf
    F, margin, r_up = _value_bounds(L, M, Y)
    drop = r_up * r_up / lam
    bound = F - margin - drop
    return (float(bound) if math.isfinite(bound) else -np.inf), margin + drop



def _decide(lower: float, upper: float, predicted: float, gap_tol: float, status: str,
            extra: list[str], rounding: float = 0.0) -> tuple[bool, float, float, list[str]]:
    reasons = list(extra)
    if status != "optimal" and not extra:
        reasons.append(f"solver status {status!r} is not 'optimal'")
    gap = upper - lower
    tol = gap_tol * upper if upper > 0 else 0.0
    if math.isfinite(lower) and (lower > upper or lower > predicted):
        reasons.append(f"contradiction: the bound {lower:.12g} is above the loss {min(upper, predicted):.12g} "
                       "attained at the Gamma* point (the dual point is not a valid certificate)")
    elif not math.isfinite(lower):
        if not extra:
            reasons.append("no lower bound could be proven")
    elif not upper > 0:
        reasons.append(f"the loss at Gamma* ({predicted:.3g}, upper bound {upper:.3g}) is at rounding level: "
                       "a relative gap cannot be certified")
    elif not gap <= tol:
        why = (f"; the gap is the float rounding margin ({rounding:.2g}): the loss is too small relative to "
               "the terms of the lift for float64 (an exact certificate may still succeed for rational inputs)"
               if rounding >= 0.5 * gap else "")
        reasons.append(f"gap {gap:.3g} > tolerance {tol:.3g} (gap_tol {gap_tol:g} relative to the loss){why}")
    return (not reasons), gap, tol, reasons



def _rademacher_quotient(L: LiftedLoss, M: _Margins):
    """Rademacher covariates: s_i^2 = 1, so for M = Sh^-1 D Sh^-1 with D diagonal and tr D = 0 the pair
    feature sum_ki M_ki G_ki = sum_l s_l^T D s_l = n tr D vanishes identically: those d - 1 directions
    (times R^d) span an exact kernel K of A_s on which a_s vanishes too (a = E phi t), so F is constant
    along K and inf F = inf over any complement of K. The complement is span(B) with B the orthonormal
    complement of the computed K~ (float B: the coordinates z of span(B) are exact, and B^T G B is bounded
    with its rounding like G itself). Returns (L_W, M_W, B, problem) with problem None when it applies."""
    from types import SimpleNamespace

    d, P = L.d, L.Gs.shape[0]
    k = d + 1
    assert L.Sh is not None, "LiftedLoss keeps Sh for non-Gaussian covariates (Rademacher: kappa - 3 = -2)"
    Shinv = np.linalg.inv(L.Sh)
    Kt = []
    for t in range(d - 1):
        D = np.zeros(d)
        D[t], D[t + 1] = 1.0, -1.0
        Mm = np.zeros((k, k))
        Mm[:d, :d] = (Shinv * D) @ Shinv
        Kt.append(pair_basis(d).T @ Mm.reshape(-1))
    Kt = np.array(Kt).T  # [P, d-1]
    Q, _ = np.linalg.qr(np.hstack([Kt, np.eye(P)]))
    Kq, B = Q[:, : d - 1], Q[:, d - 1 : P]  # orthonormal K~ and its complement [P, P - d + 1]
    ev = gs_eigh(L)[0]
    small = int(np.sum(ev <= 1e-9 * ev[-1]))
    kres = float(np.linalg.norm(L.Gs @ Kq) / np.linalg.norm(L.Gs))
    if small != d - 1 or kres > 1e-9:
        return None, None, None, (f"the lifted features have {small} numerically dependent directions (the "
                                  f"Rademacher structure explains {d - 1}, residual {kres:.1e})")
    Ba = np.abs(B)
    g = M.g
    LW = SimpleNamespace(Gs=B.T @ L.Gs @ B, amat=B.T @ L.amat, c0=L.c0, n=L.n, d=L.d, moments=L.moments)
    LW.Gs = (LW.Gs + LW.Gs.T) / 2
    GabsW = Ba.T @ M.Gabs @ Ba
    aabsW = Ba.T @ M.aabs
    MW = SimpleNamespace(
        g=g, S=M.S, n=M.n, finite=M.finite, cabs=M.cabs, Ec=M.Ec, Gabs=GabsW * (1 + 4 * P * _U),
        aabs=aabsW * (1 + 2 * P * _U),
        EG=Ba.T @ M.EG @ Ba + 4 * P * _U * GabsW, Ea=Ba.T @ M.Ea + 2 * P * _U * aabsW,
    )
    return LW, MW, B, None

