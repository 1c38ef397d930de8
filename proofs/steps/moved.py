"""Shared steps of claims moved to a user's setting (``Context.setting``; registry.UserSetting).

A moved claim checks its statement at the user's Sigma, n (and noise, prior, law where it declares them): exactly
where the inputs are exact and small, in floats with a tolerance from Sigma's condition number otherwise, and
the Monte Carlo / full-space steps only up to the sizes they stay fast at (beyond, the step is reported
undecided, so the verdict is inconclusive rather than confirmed without it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp

from iclcheck.proofs.registry import Context, UserSetting
from iclcheck.proofs.steps.common import check_full_space_global
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.setting import Setting

__all__ = ["EXACT_MAX_D", "FULL_SPACE_MAX_D", "FULL_SPACE_MAX_ND", "MC_MAX_ND", "full_space_at", "gamma_at",
           "isotropic_scale", "moved_setting", "prior_scale", "solve_tolerance", "use_exact", "where"]

EXACT_MAX_D = 6  # exact (rational, symbolic-free) Gamma* of a user's Sigma up to this d: well under a second
FULL_SPACE_MAX_D = 8  # the full-space certificate (Hessians of size (d+1)^2, Monte Carlo of the forward pass)
FULL_SPACE_MAX_ND = 400  # ... and n d: the forward pass costs samples x n x d (~1 s per 100k samples at 400)
MC_MAX_ND = FULL_SPACE_MAX_ND  # Monte Carlo steps of the moved claims: the same bound
EPS = float(np.finfo(float).eps)


def moved_setting(ctx: Context) -> Setting:
    """The user's data setting (ctx.setting is not None)."""
    return UserSetting.of(ctx.setting).setting


def use_exact(st: Setting) -> bool:
    """Exact steps at the user's setting: exact inputs and d <= EXACT_MAX_D."""
    return st.is_exact and st.d <= EXACT_MAX_D


def solve_tolerance(st: Setting, scale: float) -> Tolerance:
    """Two routes through SPD solves / eigendecompositions of matrices with condition number <= kappa(Sigma) (the
    one-layer M is (n+1)/n S W S + (tr(SW) + s2)/n S: for W = I or Sigma^-1 its condition number is at most
    kappa(Sigma)^2 resp. kappa(Sigma)): backward-stable, each entry's error <= c d kappa^2 eps |Gamma|_max."""
    ev = np.linalg.eigvalsh(st.Sigma)
    kappa = float(ev[-1] / ev[0])
    rtol = max(1e-12, 100.0 * st.d * kappa * kappa * EPS)
    return Tolerance(atol=rtol * scale, reason=f"two float routes through SPD solves, kappa(Sigma) = {kappa:.3g}, "
                     f"d = {st.d}: error <= 100 d kappa^2 eps = {rtol:.2g} relative to the largest entry")


def isotropic_scale(st: Setting) -> float | None:
    """c when Sigma = c I exactly (entry by entry), else None."""
    c = float(st.Sigma[0, 0])
    return c if np.array_equal(st.Sigma, c * np.eye(st.d)) else None


def prior_scale(st: Setting) -> tuple[float, sp.Expr | None] | None:
    """(psi2, exact psi2 or None) when the task prior is Sigma_w = psi2 I exactly (identity: psi2 = 1), else None."""
    if st.task_cov_kind == "identity":
        return 1.0, sp.Integer(1)
    if st.task_cov_kind != "given":
        return None
    c = float(st.Sigma_w[0, 0])
    if not np.array_equal(st.Sigma_w, c * np.eye(st.d)):
        return None
    return c, (st.Sigma_w_exact[0, 0] if st.Sigma_w_exact is not None else None)


def where(user: UserSetting) -> str:
    """'your Sigma, d=.., n=..' (with sigma^2 and L when they move): the suffix of a moved step's name."""
    st = user.setting
    out = f"your Sigma, d={st.d}, n={int(st.n)}"
    if st.sigma2 != 0:
        out += f", sigma^2={st.sigma2:.6g}"
    if user.L is not None:
        out += f", L={user.L}"
    return out


def full_space_at(chk: Checker, st: Setting, P: np.ndarray, Q: np.ndarray, *, rng: np.random.Generator,
                  thorough: bool, target: str = "the printed point") -> None:
    """The full-space global certificate (proofs.steps.check_full_space_global) at the user's setting, when its size
    allows (d <= FULL_SPACE_MAX_D, n d <= FULL_SPACE_MAX_ND); else an undecided step saying so. Its exact symmetry
    identity runs at the user's Sigma when exact and d <= 2, else at a small exact Sigma with the user's noise."""
    d, n = st.d, int(st.n)
    if d > FULL_SPACE_MAX_D or n * d > FULL_SPACE_MAX_ND:
        chk.undecided("global over the full (P, Q) at this setting",
                      f"not checked at d={d}, n={n}: the full-space certificate runs up to d <= {FULL_SPACE_MAX_D} "
                      f"and n d <= {FULL_SPACE_MAX_ND} (the reduced-family steps above are checked)")
        return
    if st.is_exact and d <= 2:
        ex = st
    else:
        s2 = st.sigma2_exact if st.sigma2_exact is not None else sp.nsimplify(st.sigma2, rational=True)
        ex = Setting.make(sp.Matrix([[2, 1], [1, 3]]), min(n, 3),
                          Sigma_w=None if st.task_cov_kind == "identity" else "inv", sigma2=s2)
    check_full_space_global(chk, st, ex, P, Q, rng=rng, thorough=thorough, target=target)


def gamma_at(chk: Checker, st: Setting, label: str, where: str, *, exact: Callable[[], tuple[sp.Matrix, sp.Matrix]],
             expected: np.ndarray, tol: Tolerance) -> tuple[np.ndarray, np.ndarray]:
    """The two Gamma* steps of a moved claim: ``exact()`` -> (derived, printed) sympy matrices compared exactly
    when ``use_exact(st)`` (called only then), and the float Gamma* against ``expected`` within ``tol``. Returns the
    canonical (P, Q) implementing ``expected`` (OneLayer.params_from_gamma), for the steps that follow."""
    from iclcheck.numerics.one_layer.closed_form import OneLayer

    if use_exact(st):
        derived, printed = exact()
        chk.exact(f"derived Gamma* = {label} ({where}, exact)", derived, printed)
    chk.close(f"float Gamma* = {label} ({where})", OneLayer(st).gamma_star(), expected, tol)
    return OneLayer.params_from_gamma(expected)
