"""[Mahankali et al. 2024, Thm 2] (reconstructed) x ~ N(0, Sigma), w ~ N(0, Sigma^{-1}), noise sigma^2: the minimiser
implements one step of preconditioned GD, y_hat = eta (1/n) sum_i y_i x_i^T Sigma^{-1} x_q, eta = n/(n+d+1+sigma^2).

Steps: (1) derived Gamma* = eta Sigma^{-1} exactly for rational non-diagonal Sigma (Cayley rotations), symbolic n
and sigma^2; (2) float, random Sigma (Haar rotations, spread spectra); (3) global over the full (P, Q) (symmetry
certificate of ahn2023.thm1 with W = Sigma^{-1}).
Extension beyond the paper (it assumes Gaussian x; reported as a note, never as a refutation): for x = Sigma^{1/2} s
with iid standardized non-Gaussian coordinates of fourth moment kappa, the optimum keeps the form eta' Sigma^{-1}
but eta' = n / (n + d + 1 + sigma^2 + kappa - 3): the printed eta holds only for kappa = 3. Checked exactly
(uniform, Rademacher, diagonal Sigma) and in floating point (non-diagonal Sigma).

At a user's setting (``Claim.at_setting``): any Sigma, n and noise, with the statement's prior w ~ N(0, Sigma^{-1})
(Sigma_w = 'inv', required) and Gaussian x (other laws are refused: the statement assumes them away):
Gamma* = eta Sigma^{-1} exactly (exact inputs, d <= 6) and in floats, and the full-space certificate.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps import S2, N, cayley, check_full_space_global, gamma_star_symbolic
from iclcheck.proofs.steps.moved import full_space_at, gamma_at, solve_tolerance
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation.mahankali import NOTATION, eta_non_gaussian, eta_printed
from iclcheck.theory.setting import KURTOSIS, Setting

__all__ = ["CLAIM", "eta_non_gaussian", "verify"]

# notes/PROVENANCE-UPDATES.md: a third-party note states the minimiser on the un-normalised sum
UNNORMALISED = (" Un-normalised form: a third-party note states the predictor as eta' X^T y = eta' sum_i y_i x_i with "
                "eta' = 1/(n + d + 1 + sigma^2); that is the same predictor as eta (1/n) sum_i y_i x_i here, with "
                "eta = n eta' = n/(n + d + 1 + sigma^2).")
SOURCE = "[Mahankali, Hashimoto, Ma 2024, Thm 2 (reconstructed)] arXiv 2307.03576"
STATEMENT = ("x ~ N(0, Sigma), w ~ N(0, Sigma^{-1}): the minimizer implements one step of preconditioned GD, "
             "y_hat = eta (1/n) sum_i y_i x_i^T Sigma^{-1} x_q, with the same eta = n / (n + d + 1 + sigma^2).")
FINDING = ("Extension beyond the paper's Gaussian assumption (not a refutation): with x = Sigma^{1/2} s, s iid "
           "standardized with fourth moment kappa (uniform 9/5, Rademacher 1), the optimum is still eta' Sigma^{-1} but "
           "eta' = n/(n+d+1+sigma^2+kappa-3) (exact); the printed eta is the kappa = 3 (Gaussian) case.")

TWO_SPD_SOLVES = Tolerance(rtol=1e-9, atol=1e-12,
                           reason="two SPD inversions with condition number <= 55: relative error << 1e-9")
SPD_COND6 = Tolerance(rtol=1e-9, atol=1e-12, reason="SPD solves with condition number 6")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(exact_cases=2, float_cases=4), thorough=dict(exact_cases=4, float_cases=20))


def _accepts(user: UserSetting) -> tuple[str, str] | None:
    if user.setting.task_cov_kind != "inverse":
        return "Sigma_w", "its statement is about w ~ N(0, Sigma^-1): give the task covariance Sigma_w = Sigma^-1 ('inv')"
    return None


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """The run at a user's setting (Claim.at_setting)."""
    chk = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n, s2 = st.d, int(st.n), st.sigma2
    where = f"your Sigma, d={d}, n={n}, sigma^2={s2:.6g}"
    S = st.Sigma_exact
    expected = eta_printed(n, d, s2) * np.linalg.inv(st.Sigma)
    P, Q = gamma_at(chk, st, "eta Sigma^-1", where, expected=expected,
                    tol=solve_tolerance(st, float(np.max(np.abs(expected)))),
                    exact=lambda: (gamma_star_symbolic(S, S.inv(), sp.Integer(n), st.sigma2_exact),
                                   eta_printed(sp.Integer(n), d, st.sigma2_exact) * S.inv()))
    full_space_at(chk, st, P, Q, rng=rng, thorough=ctx.thorough)
    return chk


def verify(ctx: Context) -> tuple[Checker, str] | Checker:
    chk = Checker()
    rng = ctx.rng()
    # 1. exact, non-diagonal rational Sigma
    for _ in range(SIZES.at(ctx).exact_cases):
        d = int(rng.integers(2, 4))
        U = cayley(sp.Matrix(d, d, [sp.Rational(int(v), 2) for v in rng.integers(-2, 3, size=d * d)]))
        lams = [sp.Rational(int(k), 3) for k in rng.integers(1, 10, size=d)]
        S = (U * sp.diag(*lams) * U.T).applyfunc(sp.nsimplify)
        Si = S.inv()
        chk.exact(f"derived Gamma* = eta Sigma^-1 (d={d}, rational rotated Sigma, symbolic n and sigma^2)",
                  gamma_star_symbolic(S, Si, N, S2), eta_printed(N, d, S2) * Si)
    # 2. float
    for _ in range(SIZES.at(ctx).float_cases):
        d, n, s2 = int(rng.integers(1, 9)), int(rng.integers(1, 100)), float(rng.uniform(0, 2))
        U, _ = np.linalg.qr(rng.normal(size=(d, d)))
        S = U @ np.diag(np.exp(rng.uniform(-2, 2, size=d))) @ U.T
        S = (S + S.T) / 2
        st = Setting.make(S, n, Sigma_w="inv", sigma2=s2)
        chk.close(f"float Gamma* = eta Sigma^-1 (d={d}, n={n}, sigma^2={s2:.3g}, cond <= e^4)", OneLayer(st).gamma_star(),
                  eta_printed(n, d, s2) * np.linalg.inv(S), TWO_SPD_SOLVES)
    # 3. global over full (P, Q)
    S = np.array([[2.0, 0.5], [0.5, 1.0]])
    n, s2 = 4, 0.3
    P, Q = OneLayer.params_from_gamma(eta_printed(n, 2, s2) * np.linalg.inv(S))
    ex = Setting.make([[2, 1], [1, 3]], 3, Sigma_w="inv", sigma2=sp.Rational(1, 3))
    check_full_space_global(chk, Setting.make(S, n, Sigma_w="inv", sigma2=s2), ex, P, Q, rng=rng,
                            thorough=ctx.thorough)
    # extension: non-Gaussian covariates (beyond the paper)
    for law in ("uniform", "rademacher"):
        kappa = KURTOSIS[law]
        lams = [sp.Rational(1, 4), sp.Integer(1), sp.Rational(9, 4)]
        S = sp.diag(*lams)
        Sh = sp.diag(*[sp.sqrt(v) for v in lams])
        chk.exact(f"extension, {law} covariates (kappa={kappa}): Gamma* = eta' Sigma^-1, "
                  "eta' = n/(n+d+1+sigma^2+kappa-3) (exact, symbolic n and sigma^2)",
                  gamma_star_symbolic(S, S.inv(), N, S2, Sh=Sh, kurtosis=kappa),
                  eta_non_gaussian(N, 3, S2, kappa) * S.inv())
        d, n, s2 = 3, 7, 0.4
        U, _ = np.linalg.qr(rng.normal(size=(d, d)))
        Sf = U @ np.diag([0.5, 1.0, 3.0]) @ U.T
        st = Setting.make((Sf + Sf.T) / 2, n, Sigma_w="inv", sigma2=s2, covariates=law)
        chk.close(f"extension, {law}, non-diagonal Sigma (float): Gamma* = eta' Sigma^-1",
                  OneLayer(st).gamma_star(), eta_non_gaussian(n, d, s2, float(kappa)) * np.linalg.inv(st.Sigma),
                  SPD_COND6)
    return chk, FINDING


CLAIM = Claim(key="mahankali2023.thm2", title="non-isotropic: eta Sigma^-1", source=SOURCE, statement=STATEMENT,
              notation=NOTATION + UNNORMALISED + " Extension: non-Gaussian covariates x = Sigma^{1/2} s.", verify=verify,
              at_setting=_at_setting,
              salt=223, provenance="RECONSTRUCTED",
              locator="a third-party note: the minimiser as eta X^T y, eta = 1/(n+d+1+sigma^2) (theorem text not read)",
              parameters=("Sigma", "n", "Sigma_w", "sigma2"), accepts=_accepts,
              fixed="the statement is for Gaussian x (the non-Gaussian law is an extension checked at built-in "
              "settings only)")
