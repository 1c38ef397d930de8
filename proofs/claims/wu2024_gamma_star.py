"""[Wu, Zou, Chen, Braverman, Gu, Bartlett 2024 (recorded from memory; section not read)] The optimal one-step-GD preconditioner
of a single linear-attention layer and its risk, for x ~ N(0, H), beta ~ N(0, psi^2 I), noisy labels.

Checked (statement as recorded in notes/NEXT-CLAIMS.md §4.1, tag RECALLED + DERIVED):
(1) exact, symbolic n, sigma^2, psi^2: the recorded Gamma* equals the master optimum W S M^{-1} with Sigma = H,
    Sigma_w = psi^2 I (diagonal H and a rational rotated H) - the §13 consistency row "Wu Gamma* = master";
(2) exact: the recorded risk sigma^2 + psi^2 [tr H - tr(Gamma* H^2)] equals the master L* + sigma^2 (noisy query);
(3) exact: Gamma* is the unique minimiser (gradient of the master loss vanishes, Hessian form 2 tr(D^T H D M) > 0);
(4) metamorphic, exact: H -> U H U^T (rational rotation U) gives Gamma* -> U Gamma* U^T;
(5) floats at random H: the recorded formula vs numerics.one_layer.closed_form.OneLayer (Sigma_w = psi^2 I).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps import cayley
from iclcheck.proofs.steps.moved import prior_scale, solve_tolerance, use_exact, where
from iclcheck.proofs.steps.shift import (
    WU_NOTATION,
    master_gamma_star_symbolic,
    master_loss_symbolic,
    wu_gamma_star,
)
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.one_layer import gamma_star_exact, min_loss_exact
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "verify"]

N = sp.Symbol("n", positive=True, integer=True)
S2 = sp.Symbol("sigma2", nonnegative=True)
PSI2 = sp.Symbol("psi2", positive=True)
SOLVE = Tolerance(rtol=1e-11, atol=1e-14, reason="two d x d solves of a matrix with condition <= ~1e3: rounding only")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(symbolic_noise=False, random_cases=2),
                 thorough=dict(symbolic_noise=True, random_cases=6))


def _accepts(user: UserSetting) -> tuple[str, str] | None:
    if prior_scale(user.setting) is None:
        return "Sigma_w", "its statement is about beta ~ N(0, psi^2 I): give a task covariance psi^2 I (diag:p,...,p)"
    return None


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """At the user's H = Sigma, n, sigma^2 and psi^2 (Sigma_w = psi^2 I): the recorded Gamma* and risk against the
    master optimum, exactly (exact inputs, d <= 6) and in floats."""
    chk = Checker()
    st = user.setting
    n, d, s2 = int(st.n), st.d, st.sigma2
    ps = prior_scale(st)
    assert ps is not None, "_accepts admits only Sigma_w = psi2 I"
    psi2, psi2_ex = ps
    at = where(user) + f", psi^2={psi2:.6g}"
    if use_exact(st) and psi2_ex is not None:
        G = wu_gamma_star(st.Sigma_exact, sp.Integer(n), st.sigma2_exact, psi2_ex)
        chk.exact(f"recorded Gamma* = master W S M^-1 ({at}, exact)", (G - gamma_star_exact(st)).applyfunc(sp.cancel),
                  sp.zeros(d, d))
        risk = st.sigma2_exact + psi2_ex * (st.Sigma_exact.trace() - (G * st.Sigma_exact ** 2).trace())
        chk.exact(f"recorded risk sigma^2 + psi^2[tr H - tr(Gamma* H^2)] = master L* + sigma^2 ({at}, exact)",
                  sp.cancel(risk - min_loss_exact(st) - st.sigma2_exact), 0)
    H = st.Sigma
    G_rec = np.linalg.inv((n + 1) / n * H + (np.trace(H) + s2 / psi2) / n * np.eye(d))  # (d, d)
    one = OneLayer(st)
    chk.close(f"recorded Gamma* = OneLayer Gamma* ({at}, float)", G_rec, one.gamma_star(),
              solve_tolerance(st, float(np.max(np.abs(G_rec)))))
    risk = s2 + psi2 * (np.trace(H) - np.trace(G_rec @ H @ H))
    scale = psi2 * float(np.trace(H)) + s2
    chk.close(f"recorded risk = master L* + sigma^2 ({at}, float)", risk, one.min_loss() + s2,
              solve_tolerance(st, scale))
    return chk


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    U = cayley(sp.Matrix([[0, 1], [sp.Rational(-1, 2), 0]]))  # exact 2x2 rotation
    H0 = sp.diag(*[sp.Rational(int(k), 2) for k in rng.integers(1, 7, size=2)])
    s2q, psi2q = sp.Rational(int(rng.integers(1, 9)), 4), sp.Rational(int(rng.integers(1, 9)), 3)
    # (H, sigma^2, psi^2): fully symbolic noise and prior for a diagonal H; a rotated H with rational ones (symbolic
    # sigma^2, psi^2 there too in the thorough profile: the same identity, 1 s more of cancellation)
    H_rot = (U * H0 * U.T).applyfunc(sp.nsimplify)
    cases = [(H0, S2, PSI2), (H_rot, S2, PSI2) if SIZES.at(ctx).symbolic_noise else (H_rot, s2q, psi2q)]
    if ctx.thorough:
        cases.append((sp.diag(*[sp.Rational(int(k), 3) for k in rng.integers(1, 9, size=3)]), S2, PSI2))
    for H, s2, psi2 in cases:
        d = H.shape[0]
        kind = ("diagonal" if H.is_diagonal() else "rotated") + f" H, d={d}, symbolic n" + (
            ", sigma^2, psi^2" if s2 is S2 else f", sigma^2 = {s2}, psi^2 = {psi2}")
        G = wu_gamma_star(H, N, s2, psi2)
        chk.exact(f"recorded Gamma* = master W S M^-1 with Sigma = H, Sigma_w = psi^2 I ({kind})",
                  (G - master_gamma_star_symbolic(H, psi2 * sp.eye(d), s2, N)).applyfunc(sp.cancel), sp.zeros(d, d))
        if H.is_diagonal() or ctx.thorough:
            L = master_loss_symbolic(H, psi2 * sp.eye(d), s2, N, G)
            risk = s2 + psi2 * (H.trace() - (G * H * H).trace())
            chk.exact(f"recorded risk sigma^2 + psi^2[tr H - tr(Gamma* H^2)] = master L(Gamma*) + sigma^2 ({kind})",
                      sp.cancel(risk - (L + s2)), 0)
            Gs = sp.Matrix(d, d, sp.symbols(f"g0:{d * d}"))
            Lg = master_loss_symbolic(H, psi2 * sp.eye(d), s2, N, Gs)
            grad = sp.Matrix(d, d, [sp.diff(Lg, g) for g in Gs]).subs(dict(zip(Gs, G, strict=True)))
            chk.exact(f"gradient of the master risk vanishes at the recorded Gamma* ({kind})",
                      grad.applyfunc(sp.cancel), sp.zeros(d, d), detail="exact; the risk is a convex quadratic "
                      "(Hessian form 2 tr(D^T H D M), H, M positive definite): the stationary point is the minimiser")
    chk.exact(f"metamorphic: H -> U H U^T gives Gamma* -> U Gamma* U^T (exact rotation, sigma^2 = {s2q}, "
              f"psi^2 = {psi2q})", (wu_gamma_star((U * H0 * U.T).applyfunc(sp.nsimplify), N, s2q, psi2q)
                                    - U * wu_gamma_star(H0, N, s2q, psi2q) * U.T).applyfunc(sp.cancel), sp.zeros(2, 2))
    for _ in range(SIZES.at(ctx).random_cases):
        d, n = int(rng.integers(2, 7)), int(rng.integers(2, 60))
        H = random_spd(d, float(rng.uniform(1, 30)), rng)
        s2, psi2 = float(rng.uniform(0, 2)), float(rng.uniform(0.2, 3))
        G_rec = np.linalg.inv((n + 1) / n * H + (np.trace(H) + s2 / psi2) / n * np.eye(d))
        one = OneLayer(Setting.make(H, n, Sigma_w=psi2 * np.eye(d), sigma2=s2))
        chk.close(f"floats: recorded Gamma* = OneLayer Gamma* (d={d}, n={n}, sigma2={s2:.3g}, psi2={psi2:.3g})", G_rec,
                  one.gamma_star(), SOLVE)
    note = ("Confirmed as recorded (RECALLED statement): the recorded Gamma* and risk are exactly the master optimum "
            "with Sigma_w = psi^2 I and a noisy query (symbolic n, sigma^2, psi^2). Only the ratio sigma^2/psi^2 enters "
            "Gamma*, so a prior N(0, I/d) is the case psi^2 = 1/d (Gamma* then has d sigma^2 in place of "
            "sigma^2/psi^2). To confirm in the paper's text: the prior scale (psi^2 I or I/d), that 1/n sits inside f, "
            "and that the risk is un-halved with a noisy query (if halved, both risks are halved; Gamma* is unchanged).")
    return chk, note


CLAIM = Claim(key="wu2024.gamma_star", title="one-step-GD Gamma* with Sigma_w = psi^2 I",
              source="[Wu, Zou, Chen, Braverman, Gu, Bartlett 2024 (ICLR), the optimal Gamma* (statement recalled; its "
                     "section was not read: notes/NEXT-CLAIMS.md §4.1)] arXiv 2310.08391",
              statement="x ~ N(0, H), beta ~ N(0, psi^2 I), y = x^T beta + eps, eps ~ N(0, sigma^2); "
                        "f = x^T Gamma (1/n) X^T y, R(Gamma) = E(f - y)^2: Gamma* = ((n+1)/n H + (tr H + sigma^2/psi^2)/n "
                        "I)^{-1} and R(Gamma*) = sigma^2 + psi^2 [tr H - tr(Gamma* H^2)].",
              notation=WU_NOTATION, verify=verify, provenance="RECALLED+DERIVED",
              parameters=("Sigma", "n", "Sigma_w", "sigma2"), at_setting=_at_setting, accepts=_accepts,
              fixed="the statement is for Gaussian x and beta ~ N(0, psi^2 I)")
