"""[Mahankali et al. 2024, Thm 1] (reconstructed) x ~ N(0, I_d), w ~ N(0, I_d), y = w^T x + eps, eps ~ N(0, sigma^2):
the global minimiser of the one-layer LSA loss implements one GD step y_hat = eta (1/n) sum_i y_i x_i^T x_q with
eta = n / (n + d + 1 + sigma^2).

Steps: (1) derived Gamma* = W S M^{-1} equals eta I exactly, symbolic n AND symbolic sigma^2 (d = 1..4);
(2) float Gamma* at random (d, n, sigma^2); (3) the loss of the literal forward pass at the eta point equals
the closed-form minimum (Monte Carlo, 99.9% CI, with noise); (4) global over the full (P, Q) (the w -> -w,
eps -> -eps symmetry certificate of ahn2023.thm1, here with noise); (5) the notation map: under w ~ N(0, I/d)
the optimum is n / (n + 1 + d(1 + sigma^2)) (exact), so the printed eta is the w ~ N(0, I) normalisation.

At a user's setting (``Claim.at_setting``): Sigma = I_d (the statement's), any d, n and noise sigma^2 (Gaussian,
w ~ N(0, I)): Gamma* = eta I exactly (exact inputs, d <= 6) and in floats, the literal forward pass at the eta
point against L* (Monte Carlo, n d <= 400) and the full-space certificate (proofs.steps.moved.full_space_at).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.montecarlo import mc_loss
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps import S2, N, check_full_space_global, gamma_star_symbolic
from iclcheck.proofs.steps.moved import MC_MAX_ND, full_space_at, gamma_at, isotropic_scale
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation.mahankali import NOTATION, eta_printed, eta_w_over_d
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "verify"]

# notes/PROVENANCE-UPDATES.md: a third-party note states the minimiser on the un-normalised sum
UNNORMALISED = (" Un-normalised form: a third-party note states the predictor as eta' X^T y = eta' sum_i y_i x_i with "
                "eta' = 1/(n + d + 1 + sigma^2); that is the same predictor as eta (1/n) sum_i y_i x_i here, with "
                "eta = n eta' = n/(n + d + 1 + sigma^2).")

SOURCE = "[Mahankali, Hashimoto, Ma 2024, Thm 1 (reconstructed)] arXiv 2307.03576"
STATEMENT = ("x ~ N(0, I_d), w ~ N(0, I_d), y = w^T x + eps, eps ~ N(0, sigma^2): the global minimizer of the one-layer "
             "LSA pre-training loss implements one step of GD, y_hat = eta (1/n) sum_i y_i x_i^T x_q, "
             "eta = n / (n + d + 1 + sigma^2).")

ULPS = Tolerance(rtol=1e-12, atol=1e-15, reason="Cholesky inverse of a multiple of I: a few ulps")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(samples=150_000, d_end=4, float_cases=4),
                 thorough=dict(samples=400_000, d_end=5, float_cases=20))


def _accepts(user: UserSetting) -> tuple[str, str] | None:
    if isotropic_scale(user.setting) != 1.0:
        return "Sigma", "its statement is about x ~ N(0, I_d): give Sigma = I (eye:D)"
    return None


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """The run at a user's setting (Claim.at_setting)."""
    chk = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n, s2 = st.d, int(st.n), st.sigma2
    where = f"your d={d}, n={n}, sigma^2={s2:.6g}"
    P, Q = gamma_at(chk, st, "eta I", where, expected=eta_printed(n, d, s2) * np.eye(d), tol=ULPS,
                    exact=lambda: (gamma_star_symbolic(sp.eye(d), sp.eye(d), sp.Integer(n), st.sigma2_exact),
                                   eta_printed(sp.Integer(n), d, st.sigma2_exact) * sp.eye(d)))
    if n * d <= MC_MAX_ND:
        est = mc_loss(st, [P], [Q], samples=SIZES.at(ctx).samples, rng=rng)
        chk.within_ci(f"literal forward pass loss at the eta point = closed-form L* ({where})", est,
                      OneLayer(st).min_loss())
    full_space_at(chk, st, P, Q, rng=rng, thorough=ctx.thorough)
    return chk


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    for d in range(1, SIZES.at(ctx).d_end):
        I = sp.eye(d)
        chk.exact(f"derived Gamma* = eta I (d={d}, symbolic n and sigma^2)", gamma_star_symbolic(I, I, N, S2),
                  eta_printed(N, d, S2) * I)
    for _ in range(SIZES.at(ctx).float_cases):
        d, n, s2 = int(rng.integers(1, 10)), int(rng.integers(1, 100)), float(rng.uniform(0, 3))
        chk.close(f"float Gamma* = eta I (d={d}, n={n}, sigma^2={s2:.3g})",
                  OneLayer(Setting.make(np.eye(d), n, sigma2=s2)).gamma_star(),
                  eta_printed(n, d, s2) * np.eye(d), ULPS)
    # 3. literal forward pass at the eta point vs the closed-form minimum
    d, n, s2 = 3, 8, 0.5
    st = Setting.make(np.eye(d), n, sigma2=s2)
    P, Q = OneLayer.params_from_gamma(eta_printed(n, d, s2) * np.eye(d))
    est = mc_loss(st, [P], [Q], samples=SIZES.at(ctx).samples, rng=rng)
    chk.within_ci("literal forward pass loss at the eta point = closed-form L* (d=3, n=8, sigma^2=1/2)", est,
                  OneLayer(st).min_loss())
    # 4. global over the full (P, Q), with noise
    ex = Setting.make(sp.eye(2), 3, sigma2=sp.Rational(1, 2))
    P2, Q2 = OneLayer.params_from_gamma(eta_printed(4, 2, 0.7) * np.eye(2))
    check_full_space_global(chk, Setting.make(np.eye(2), 4, sigma2=0.7), ex, P2, Q2, rng=rng,
                            thorough=ctx.thorough)
    # 5. the notation map: the other prior normalisation
    for d in (1, 2, 3):
        chk.exact(f"w ~ N(0, I/d): derived optimum = n/(n+1+d(1+sigma^2)) (d={d}; printed eta is the N(0, I) form)",
                  gamma_star_symbolic(sp.eye(d), sp.eye(d) / d, N, S2), eta_w_over_d(N, d, S2) * sp.eye(d))
    return chk


CLAIM = Claim(key="mahankali2023.thm1", title="isotropic noisy: eta = n/(n+d+1+s2)", source=SOURCE,
              statement=STATEMENT, notation=NOTATION + UNNORMALISED, verify=verify, at_setting=_at_setting, salt=211,
              provenance="RECONSTRUCTED",
              locator="a third-party note: the minimiser as eta X^T y, eta = 1/(n+d+1+sigma^2) (theorem text not read)",
              parameters=("Sigma", "n", "sigma2"), accepts=_accepts,
              fixed="the statement is for x ~ N(0, I_d) and w ~ N(0, I_d)")
