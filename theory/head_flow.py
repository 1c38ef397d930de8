"""Gradient flow of H softmax heads in the small-width regime (He et al. 2025's paired-head family, H > 2).

Head h has KQ = omega_h I and OV = mu_h on the label entry, so it outputs mu_h sum_i p_i(omega_h) y_i with p the
softmax of the scores omega_h a_i, a_i = x_i^T x_q. To first order in every omega_h (theory.softmax, item 2),

    yhat = S ybar + P B,   S = sum_h mu_h,   P = sum_h mu_h omega_h,   B = (1/n) sum_i y_i (a_i - abar),

so the population loss is a function L(S, P) of two sums (``leading_order_prediction``). For the canonical Gaussian
task (x ~ N(0, I_d), w ~ N(0, v I_d), context noise sigma2, query noise sq2) E[ybar B] = E[ybar y_q] = 0 (odd in x_q),
so L = a S^2 + c P^2 - 2 e P + v d + sq2 with a = E ybar^2 = (v d + sigma2)/n and (c, e) = (E B^2, E B y_q), the
centred one-step-GD moments of theory.softmax item 4 (``leading_order_loss``): every minimiser has S = 0 (zero-sum
OV) and P = e/c, and nothing else about the heads is fixed.

The gradient flow dmu_h/dt = -(L_S + L_P omega_h), domega_h/dt = -L_P mu_h moves the differences of two heads
(dmu, domega) = (mu_h - mu_k, omega_h - omega_k) by the same linear system for every pair (L_S cancels):
d(dmu)/dt = -L_P domega, d(domega)/dt = -L_P dmu. Hence (dmu)^2 - (domega)^2 is conserved for every pair, and
dmu + domega = (dmu + domega)(0) G(t), dmu - domega = (dmu - domega)(0) / G(t) with one gain
G(t) = exp(-int_0^t L_P) shared by all pairs (``pair_invariants``). From a generic small initialisation the heads'
deviations u_h - ubar (u = mu + omega) are scaled by one common factor: they keep their initial proportions, so no
head is driven to OV = 0 unless it starts there.
"""

from __future__ import annotations

import sympy as sp

from iclcheck.theory.softmax import one_step_gd_risk, small_beta_series

__all__ = ["flow_rhs", "leading_order_loss", "leading_order_prediction", "pair_invariants"]


def leading_order_prediction(n: int, H: int) -> tuple[sp.Expr, sp.Expr]:
    """(first-order series in the omega_h of sum_h mu_h sum_i p_i(omega_h) y_i, the claimed S ybar + P B), with
    symbolic scores a_i, labels y_i, omega_h, mu_h (n context tokens, H heads)."""
    ser, _, (a, y, beta) = small_beta_series(n, order=2)
    om, mu = sp.symbols(f"omega0:{H}"), sp.symbols(f"mu0:{H}")
    pred = sum((m * ser.subs(beta, w) for w, m in zip(om, mu, strict=True)), sp.Integer(0))
    abar = sum(a) / n
    S, P = sum(mu), sum(m * w for m, w in zip(mu, om, strict=True))
    return sp.expand(pred), sp.expand(S * sum(y) / n + P / n * sum(yi * (ai - abar) for ai, yi in zip(a, y, strict=True)))


def leading_order_loss(n, d, v, sigma2, sq2=0) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """(a, c, e, const) of L(S, P) = a S^2 + c P^2 - 2 e P + const (module doc), exact for rational inputs."""
    n, d, v, sigma2, sq2 = (sp.nsimplify(x) for x in (n, d, v, sigma2, sq2))
    m = n - 1  # the centred Wishart's degrees of freedom
    e = m * v * d / n
    c = m * d * (v * (m + d + 1) + sigma2) / n**2
    gamma, _ = one_step_gd_risk(n, d, v, sigma2, sq2, centred=True)
    if sp.simplify(gamma - e / c) != 0:  # pragma: no cover - the two derivations share their moments
        raise ArithmeticError("centred one-step GD moments disagree with theory.softmax")
    return (v * d + sigma2) / n, c, e, v * d + sq2


def flow_rhs(H: int) -> tuple[list[sp.Expr], tuple, tuple, sp.Function]:
    """(right-hand sides d(mu_h)/dt then d(omega_h)/dt, mu, omega, L) of the gradient flow of a generic L(S, P)."""
    om, mu = sp.symbols(f"omega0:{H}"), sp.symbols(f"mu0:{H}")
    Sx, Px = sp.symbols("S P")
    L = sp.Function("L")
    S, P = sum(mu), sum(m * w for m, w in zip(mu, om, strict=True))
    LS = sp.diff(L(Sx, Px), Sx).subs({Sx: S, Px: P})
    LP = sp.diff(L(Sx, Px), Px).subs({Sx: S, Px: P})
    return [-(LS + LP * w) for w in om] + [-LP * m for m in mu], mu, om, L


def pair_invariants(H: int) -> tuple[sp.Expr, sp.Expr]:
    """(d/dt [(mu_0 - mu_1)^2 - (omega_0 - omega_1)^2], the numerator of d/dt of the ratio (u_0 - u_1)/(u_2 - u_3),
    u = mu + omega) along the flow of a generic L(S, P) (both 0 exactly; H >= 4)."""
    rhs, mu, om, _ = flow_rhs(H)
    vel = dict(zip(list(mu) + list(om), rhs, strict=True))

    def ddt(expr: sp.Expr) -> sp.Expr:  # the time derivative of a polynomial in (mu, omega), expanded
        return sp.expand(sum(sp.diff(expr, s) * vel[s] for s in vel))

    inv = (mu[0] - mu[1]) ** 2 - (om[0] - om[1]) ** 2
    num, den = mu[0] + om[0] - mu[1] - om[1], mu[2] + om[2] - mu[3] - om[3]
    # d/dt (num/den) = (num' den - num den') / den^2: its numerator
    return ddt(inv), sp.expand(ddt(num) * den - num * ddt(den))
