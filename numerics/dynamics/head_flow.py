"""Integration of the small-width gradient flow of H softmax heads (theory/head_flow.py): L(S, P) = a S^2 + c P^2
- 2 e P + const with S = sum_h mu_h, P = sum_h mu_h omega_h, from a given initialisation, to convergence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from iclcheck.theory.errors import InputError

__all__ = ["HeadFlow", "integrate_head_flow"]


@dataclass(frozen=True)
class HeadFlow:
    """mu, omega (R, H): the final heads of R independent runs; mu0, omega0: their starts; t: the final time; grad
    (R,): |dL/d(mu, omega)| at the end; loss (R,): L - const at the end."""

    mu: np.ndarray
    omega: np.ndarray
    mu0: np.ndarray
    omega0: np.ndarray
    t: float
    grad: np.ndarray
    loss: np.ndarray


def _rhs(mu: np.ndarray, om: np.ndarray, a: float, c: float, e: float) -> tuple[np.ndarray, np.ndarray]:
    S, P = mu.sum(axis=-1, keepdims=True), np.sum(mu * om, axis=-1, keepdims=True)  # (R, 1) each
    LP = 2 * (c * P - e)
    return -(2 * a * S + LP * om), -LP * mu


def integrate_head_flow(mu0: np.ndarray, omega0: np.ndarray, a: float, c: float, e: float, *, t_max: float = 200.0,
                        rtol: float = 1e-10, atol: float = 1e-13) -> HeadFlow:
    """Gradient flow dmu_h/dt = -(2 a S + 2 (c P - e) omega_h), domega_h/dt = -2 (c P - e) mu_h up to ``t_max``
    (DOP853, tolerances rtol/atol) for R independent runs at once: mu0, omega0 of shape (R, H) (or (H,): one run).
    a, c > 0 (a positive-definite quadratic in (S, P))."""
    mu0, omega0 = np.atleast_2d(np.asarray(mu0, float)), np.atleast_2d(np.asarray(omega0, float))
    if mu0.shape != omega0.shape or mu0.ndim != 2 or not (a > 0 and c > 0):
        raise InputError("head_flow", f"needs mu0, omega0 of one shape (R, H) and a, c > 0, got {mu0.shape}, "
                         f"{omega0.shape}, a={a}, c={c}")
    R, H = mu0.shape

    def rhs(_t: float, z: np.ndarray) -> np.ndarray:
        Z = z.reshape(R, 2, H)
        dmu, dom = _rhs(Z[:, 0], Z[:, 1], a, c, e)
        return np.stack([dmu, dom], axis=1).ravel()

    sol = solve_ivp(rhs, (0.0, t_max), np.stack([mu0, omega0], axis=1).ravel(), method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:  # pragma: no cover - a smooth polynomial flow
        raise ArithmeticError(f"head flow integration failed: {sol.message}")
    Z = sol.y[:, -1].reshape(R, 2, H)
    mu, om = Z[:, 0], Z[:, 1]
    dmu, dom = _rhs(mu, om, a, c, e)
    S, P = mu.sum(axis=1), np.sum(mu * om, axis=1)
    return HeadFlow(mu=mu, omega=om, mu0=mu0, omega0=omega0, t=float(sol.t[-1]),
                    grad=np.sqrt(np.sum(dmu**2 + dom**2, axis=1)), loss=a * S**2 + c * P**2 - 2 * e * P)
