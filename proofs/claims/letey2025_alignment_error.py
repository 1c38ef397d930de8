"""[Letey, Zavatone-Veth, Lu, Pehlevan 2025, the ICL error under pretraining/test task-covariance mismatch, as
implemented in the authors' code] e_ICL(C_tr, C_te, tau, alpha, kappa, rho).

Steps: (1) the Marchenko-Pastur closed form is the positive root of its quadratic (exact), and at C_tr = c I the
deterministic equivalent M = (1/d) tr ((1 - 1/kappa + nu M/kappa) C_tr + nu)^{-1} (solved here by bracketing) is
that closed form; (2) at C_tr = C_te = I, tau > 1, the formula is Lu et al.'s Result 1 (exact in sympy, symbolic tau,
kappa, x, rho) and (3) at tau < 1 too (float, the root xi against Lu's mu); (4) it is affine in C_te (floats);
(5) tau -> inf with an anisotropic (power-law) C_tr: the master formula with Sigma_w = the sample covariance of
kappa d tasks drawn from N(0, C_tr), tested at C_te = I and at C_te = C_tr, converges to it at rate 1/d (mean over
pools; log-log slope); (thorough) (6) the same at larger d and (7) the finite-tau pipeline with a Gaussian C_tr pool.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.proportional import alignment_error, fit_gamma, resolvent_equivalent
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.steps.asym import (
    KAPPA,
    RHO,
    X,
    check_mp_branch,
    check_rate,
    exact_mod_sqrt,
    mp_sqrt,
    pool_master_error,
)
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.proportional import (
    alignment_error_from_pieces,
    exact_error,
    mp_stieltjes,
    mp_stieltjes_deriv,
    result1_e_icl,
    result1_expr,
    task_moments_gaussian,
)

__all__ = ["CLAIM", "power_law", "verify"]

SOURCE = ("[Letey, Zavatone-Veth, Lu, Pehlevan 2025, main result: ICL error under task-covariance mismatch (Section not read; "
          "as implemented: ICL_error in "
          "mletey/ICL-structured-data:Linear_Simulations/Error_Against_Kappa/optimal_ptr_isotropic_test/theory.py; "
          "the abstract read)] arXiv 2509.26551")
STATEMENT = ("rho_tr = tr C_tr/d + rho, rho_te = tr C_te/d + rho; xi = 0 if tau > 1, else the root of "
             "xi M(xi + rho_tr/alpha) + tau - 1 = 0; nu = rho_tr/alpha + xi, M = (1/d) E tr (R+nu)^-1, "
             "M' = -(1/d) E tr (R+nu)^-2 (R the sample covariance of kappa d tasks from N(0, C_tr)); "
             "F = ((1 - 1/kappa + nu M/kappa) C_tr + nu I)^-1, F2 = F ((M/kappa + nu M'/kappa) C_tr + I) F; "
             "idg = (rho + nu - nu^2 M - xi (1 - 2 nu M - nu^2 M')) / (tau - (1 - 2 xi M - xi^2 M')); "
             "e = rho + (rho_te/alpha)(1 + (idg - 2 nu) M + (xi idg - nu^2) M') + idg (1/d) tr(C_te F) - "
             "(idg xi - nu^2) (1/d) tr(C_te F2). At C_tr = C_te = I it is Lu et al.'s Result 1.")
NOTATION = ("as lu2024.result1.e_icl (x ~ N(0, I/d), noise rho on every label and the query, ell = alpha d, n = tau d^2 "
            "contexts, k = kappa d pretraining tasks), with pretraining tasks w ~ N(0, C_tr) (Gaussian, not "
            "sphere-normalised) and test tasks w ~ N(0, C_te); M, M' are the d -> inf deterministic equivalents (the "
            "authors' code estimates them by sampling R); the master formula's Sigma_w is the pool's second moment R.")

ROOT = Tolerance(rtol=1e-9, reason="brentq roots to ~1e-14 (xi and M), amplified by 1/(1-tau) <= 10 near the pole")
ROUNDING = Tolerance(rtol=1e-12, atol=1e-14, reason="the same affine form evaluated twice: rounding only")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(ds=(8, 12, 16, 24), pools=24), thorough=dict(ds=(10, 20, 40, 80), pools=100))


def power_law(d: int, p: float = 0.8) -> np.ndarray:
    """Eigenvalues proportional to (i+1)^-p, normalised to mean 1 (tr C/d = 1)."""
    lam = (np.arange(d) + 1.0) ** -p
    return lam * d / lam.sum()


def _pool_rate(chk: Checker, rng, ds, pools: int, *, aligned: bool, alpha: float, kappa: float, rho: float) -> None:
    errs, ses = [], []
    for d in ds:
        lam = power_law(d)
        C_tr = np.diag(lam)
        C_te = C_tr if aligned else np.eye(d)
        lim = alignment_error(C_tr, C_te, np.inf, alpha, kappa, rho)
        v = [pool_master_error(rng.standard_normal((int(kappa * d), d)) * np.sqrt(lam), int(alpha * d), rho, C_te)
             for _ in range(pools)]
        errs.append(float(np.mean(v)) - lim)
        ses.append(float(np.std(v, ddof=1) / np.sqrt(pools)))
    check_rate(chk, f"tau = inf, power-law C_tr, C_te = {'C_tr' if aligned else 'I'}: master formula with the sampled pool "
               f"covariance (mean of {pools} pools) -> e_ICL at rate 1/d", ds, errs, ses=ses,
               detail=f"alpha = {alpha}, kappa = {kappa}, rho = {rho}; eigenvalues of C_tr ~ (i+1)^-0.8")


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    # (1) MP branch, and the deterministic equivalent at C_tr = c I
    check_mp_branch(chk)
    dev = 0.0
    for c in (0.5, 2.0):
        for kappa in (0.3, 1.0, 4.0):
            for nu in (0.05, 1.0, 7.0):
                M, Mp = resolvent_equivalent(np.full(5, c), kappa, nu)
                dev = max(dev, abs(M / mp_stieltjes(nu, kappa, c) - 1), abs(Mp / mp_stieltjes_deriv(nu, kappa, c) - 1))
    chk.bounded("deterministic equivalent (bracketed fixed point) at C_tr = c I = the MP closed form and its derivative",
                dev, 1e-12, detail="largest relative difference over c in {0.5, 2}, kappa in {0.3, 1, 4}, "
                "nu in {0.05, 1, 7}; two algorithms, tolerance: brentq xtol 1e-15 and rounding")
    # (2) exact reduction at C_tr = C_te = I, tau > 1: xi = 0, nu = x = (1+rho)/alpha, F = M I (the MP fixed point)
    tau = sp.Symbol("tau", positive=True)
    g = 1 / KAPPA
    M, Mp = mp_stieltjes(X, KAPPA), mp_stieltjes_deriv(X, KAPPA)
    root = mp_sqrt(X, KAPPA)
    exact_mod_sqrt(chk, "C_tr = I: F = ((1 - 1/kappa + nu M/kappa) + nu)^-1 equals M (the MP fixed point)",
                   1 / ((1 - g + g * X * M) + X), M, root, detail="exact, symbolic x = nu, kappa (sympy)")
    F2 = M**2 * (g * M + g * X * Mp + 1)
    e_letey = alignment_error_from_pieces(tau=tau, alpha=(1 + RHO) / X, rho=RHO, rho_te=1 + RHO, xi=0, nu=X, M=M, Mp=Mp,
                                          tr_te_F=M, tr_te_F2=F2)
    exact_mod_sqrt(chk, "C_tr = C_te = I, tau > 1: Letey's e_ICL = Lu's Result 1", e_letey,
                   result1_expr(tau, (1 + RHO) / X, KAPPA, RHO, below=False), root,
                   detail="exact in symbolic tau, kappa, x = (1+rho)/alpha, rho (sympy, reduced modulo the MP root)")
    # (3) tau < 1 at C = I: Letey's root xi against Lu's mu = x M_{kappa/tau}(x)
    I = np.eye(6)
    grid = [(t, k) for t in (0.3, 0.6, 0.9) for k in (0.5, 2.0, 10.0)]
    chk.close("C_tr = C_te = I, tau < 1: Letey's e_ICL (root xi) = Lu's Result 1 (mu), 9 points",
              [alignment_error(I, I, t, 1.3, k, 0.2) for t, k in grid],
              [float(result1_e_icl(t, 1.3, k, 0.2)) for t, k in grid], ROOT)
    # (4) affine in C_te
    d = 8
    C_tr = np.diag(power_law(d))
    A, B = np.diag(rng.uniform(0.2, 2.0, d)), np.eye(d) * 0.7
    for t in (0.5, 3.0):
        chk.close(f"affine in C_te: e((A+B)/2) = (e(A)+e(B))/2 (tau = {t})", alignment_error(C_tr, (A + B) / 2, t, 1, 2, 0.1),
                  (alignment_error(C_tr, A, t, 1, 2, 0.1) + alignment_error(C_tr, B, t, 1, 2, 0.1)) / 2, ROUNDING)
    # (5) tau = inf, anisotropic: the pool-trained master optimum at finite d
    ds = SIZES.at(ctx).ds
    pools = SIZES.at(ctx).pools
    for aligned in (False, True):
        _pool_rate(chk, rng, ds, pools, aligned=aligned, alpha=1.0, kappa=2.0, rho=0.1)
    if ctx.thorough:
        # (7) finite tau = 3 with a power-law Gaussian pool: the authors' pipeline -> e_ICL, rate 1/d
        errs, ses, ds7 = [], [], (8, 12, 16)
        for d in ds7:
            lam = power_law(d)
            tm = task_moments_gaussian(np.zeros(d), np.eye(d), 0.1)
            v = [exact_error(fit_gamma(rng, rng.standard_normal((2 * d, d)) * np.sqrt(lam), 3 * d * d, d, 0.1), d, 0.1,
                             tm) for _ in range(16)]
            errs.append(float(np.mean(v)) - alignment_error(np.diag(lam), np.eye(d), 3.0, 1.0, 2.0, 0.1))
            ses.append(float(np.std(v, ddof=1) / 4))
        check_rate(chk, "tau = 3, power-law C_tr, C_te = I: the ridgeless pipeline -> e_ICL at rate 1/d", ds7, errs, ses=ses)
    return chk


CLAIM = Claim(key="letey2025.alignment_error", title="e_ICL under train/test task-covariance mismatch", source=SOURCE,
              statement=STATEMENT, notation=NOTATION, verify=verify, provenance="READ-code+DERIVED",
              fixed="its statement is a proportional limit (d -> oo) with its own train/test task "
                    "covariances, not a finite (Sigma, n)")
