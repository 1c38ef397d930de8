"""The condition-(11) family A_l = a_l Sigma^{-1}, B_l = b_l I (Ahn et al. Thm 4, GD++): exact loss, gradient,
THE optimiser, and the map from family coefficients to full (P_l, Q_l).

p(x) = prod_l (1 - a_l x T_l(x)^2), T_{l+1} = (1 - a_l b_l x T_l^2) T_l (theory.multilayer), f = E tr p(S)^2
by the exact spectral quadrature of degree 2 deg p.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from iclcheck.numerics.family_gd import optimal_gd
from iclcheck.numerics.finite_diff import hessian_from_gradient
from iclcheck.numerics.quadrature import FamilyProblem, _quad_loss, problem_from, spectral_quadrature
from iclcheck.theory.errors import InputError
from iclcheck.theory.multilayer import gdpp_degree

__all__ = ["GDPPOptimum", "family_params", "gdpp_loss", "gdpp_loss_grad", "optimal_gdpp"]


def _gdpp_p_at(a: Any, b: Any, x: np.ndarray) -> np.ndarray:
    """p(x) = prod_l (1 - a_l x T_l^2), T_{l+1} = (1 - a_l b_l x T_l^2) T_l at points x (real or complex a, b)."""
    T = np.ones_like(x, dtype=np.result_type(x, np.asarray(a), np.asarray(b)))
    p = np.ones_like(T)
    for l, al in enumerate(a):
        xT2 = x * T * T
        p = p * (1.0 - al * xT2)
        if l < len(a) - 1:
            T = (1.0 - al * b[l] * xT2) * T
    return p


def gdpp_loss(a: Any, b: Any, problem: Any) -> float:
    """Exact population loss under (11), A_l = a_l Sigma^{-1}, B_l = b_l I (b_{L-1} unused), via the
    exact spectral quadrature for degree 2 deg p."""
    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if b.size < a.size - 1:
        raise InputError("b coefficients", f"need at least L-1 = {a.size - 1} values, got {b.size}")
    x, w = spectral_quadrature(2 * gdpp_degree(a.size), n=pr.n, d=pr.d)
    return float(_quad_loss(_gdpp_p_at(a, b, x), x, w, pr))


def gdpp_loss_grad(a: Any, b: Any, problem: Any) -> tuple[np.ndarray, np.ndarray]:
    """(df/da, df/db) by complex-step differentiation of the quadrature form (exact to rounding);
    df/db_{L-1} = 0."""
    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    L = a.size
    b = np.concatenate([np.asarray(b, dtype=float).ravel()[: L - 1], np.zeros(1)])[:L]
    x, w = spectral_quadrature(2 * gdpp_degree(L), n=pr.n, d=pr.d)
    h = 1e-30
    ga, gb = np.zeros(L), np.zeros(L)
    for l in range(L):
        e = np.zeros(L, dtype=complex)
        e[l] = 1j * h
        ga[l] = _quad_loss(_gdpp_p_at(a + e, b.astype(complex), x), x, w, pr).imag / h
        if l < L - 1:
            gb[l] = _quad_loss(_gdpp_p_at(a.astype(complex), b + e, x), x, w, pr).imag / h
    return ga, gb


@dataclass(frozen=True)
class GDPPOptimum:
    a: np.ndarray
    b: np.ndarray  # length L; b_{L-1} does not enter the loss and is reported as 0
    loss: float
    gradient_norm: float
    attained: bool  # finite minimiser found with small gradient and bounded coefficients
    problem: FamilyProblem
    starts: int
    spread: float  # max loss difference among the best 5% of starts (a multistart agreement figure)


def _gdpp_split(theta: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    a = theta[:L]
    b = np.concatenate([theta[L:], [0.0]])
    return a, b


def optimal_gdpp(problem: Any, L: int, *, starts: int = 24, seed: int = 0) -> GDPPOptimum:
    """Minimise the GD++ loss over (a_0..a_{L-1}, b_0..b_{L-2}): multistart BFGS on the exact gradient,
    polished by a trust-region Newton method (Hessian by differences of the exact gradient).

    Not a certificate: the loss is a polynomial of degree 2 deg p in 2L-1 variables with many local
    minima for L = 3; we report the best of ``starts`` runs, its gradient norm and the agreement of the
    best runs (``spread``)."""
    pr = problem_from(problem)
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise InputError("L (number of layers)", f"must be a positive integer, got {L!r}")
    L = int(L)
    if L > 3:
        raise InputError("L (number of layers)", "the exact GD++ loss needs moments up to degree 80 for "
                         "L = 4; use L <= 3 (Monte Carlo beyond)")
    rng = np.random.default_rng(seed)
    a_gd = optimal_gd(pr, L).coefficients

    def fun(theta: np.ndarray) -> float:
        a, b = _gdpp_split(theta, L)
        return gdpp_loss(a, b, pr)

    def jac(theta: np.ndarray) -> np.ndarray:
        a, b = _gdpp_split(theta, L)
        ga, gb = gdpp_loss_grad(a, b, pr)
        return np.concatenate([ga, gb[: L - 1]])

    def hess(theta: np.ndarray) -> np.ndarray:
        return hessian_from_gradient(jac, theta, h=1e-6, relative=True)

    results = []
    for s in range(starts):
        if s == 0:
            x0 = np.concatenate([a_gd, np.zeros(L - 1)])
        else:
            x0 = np.concatenate([rng.uniform(0.05, 2.0, L), rng.uniform(-0.5, 1.5, L - 1)])
        r = optimize.minimize(fun, x0, jac=jac, method="BFGS", options={"gtol": 1e-12, "maxiter": 3000})
        x = r.x
        if L > 1:
            r2 = optimize.minimize(fun, x, jac=jac, hess=hess, method="trust-exact",
                                   options={"gtol": 1e-11, "maxiter": 200})
            if r2.fun <= r.fun:
                x = r2.x
        results.append((fun(x), x))
    results.sort(key=lambda t: t[0])
    best_val, best = results[0]
    top = [v for v, _ in results[: max(2, len(results) // 10)]]
    g = jac(best)
    a, b = _gdpp_split(best, L)
    attained = bool(np.linalg.norm(g) < 1e-6 * max(1.0, best_val) + 1e-9 and np.all(np.abs(best) < 1e3))
    return GDPPOptimum(a=a.copy(), b=b, loss=float(best_val), gradient_norm=float(np.linalg.norm(g)),
                       attained=attained, problem=pr, starts=starts, spread=float(max(top) - min(top)))



def family_params(Sigma: np.ndarray, a: Any, b: Any | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(Ps, Qs) of the canonical model for A_l = a_l Sigma^{-1} and (with b) B_l = b_l I:
    P_l = [[B_l, 0], [0, 1]] (B_l = 0 under (8)), Q_l = -[[A_l, 0], [0, 0]]."""
    Sigma = np.asarray(Sigma, dtype=float)
    d = Sigma.shape[0]
    Si = np.linalg.inv(Sigma)
    Si = (Si + Si.T) / 2
    a = np.ravel(np.asarray(a, dtype=float))
    Ps, Qs = [], []
    for l, al in enumerate(a):
        P = np.zeros((d + 1, d + 1))
        P[d, d] = 1.0
        if b is not None:
            P[:d, :d] = float(np.ravel(b)[l]) * np.eye(d)
        Q = np.zeros((d + 1, d + 1))
        Q[:d, :d] = -al * Si
        Ps.append(P)
        Qs.append(Q)
    return Ps, Qs

