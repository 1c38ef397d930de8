"""[Lu et al. 2024, Result 1, as implemented in the authors' code] The ridgeless ICL error of one-layer linear attention in
the proportional limit (context ell = alpha d, k = kappa d pretraining tasks, n = tau d^2 pretraining contexts, noise
rho), and its limits.

Steps: (1) the MP identity m' = k* m^2 (exact, sympy) that the tau > 1 branch rests on; (2) tau -> inf at finite kappa
equals the master formula with Sigma_w = the pool's second moment in the limit, x - 2 x^2 m + (1+x) x^2 m' + rho
(exact); (3) tau, kappa -> inf gives rho + (1+rho)/(alpha+1+rho) (exact limit) and (4) so does the one-layer master
formula as d -> inf (exact, symbolic d); (5) the toolkit's master formula at d = 8..64 (float) converges to that
limit at rate 1/d (log-log slope); (6) the reference table of notes/NEXT-CLAIMS.md §2.1 (4-5 digits) is reproduced;
(thorough) (7) the pool-trained master optimum at finite d converges to branch (2) at rate 1/d (mean over pools) and
(8) the authors' finite-d pipeline (ridgeless fit on tau d^2 contexts) converges to Result 1 at tau = 3.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.proportional import fit_gamma, sample_pool
from iclcheck.proofs.registry import Claim, Context
from iclcheck.proofs.steps.asym import (
    ALPHA,
    KAPPA,
    RHO,
    X,
    check_master_limit,
    check_mp_identity,
    check_rate,
    exact_mod_sqrt,
    mp_sqrt,
    pool_master_error,
)
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.proportional import (
    exact_error,
    pool_limit_e_icl,
    proportional_master_limit,
    result1_e_icl,
    result1_expr,
    task_moments_gaussian,
)

__all__ = ["CLAIM", "REFERENCE", "verify"]

SOURCE = ("[Lu, Letey, Zavatone-Veth, Maiti, Pehlevan 2024, Result 1 (as implemented: e_ICL_theory in "
          "Pehlevan-Group/icl-asymptotic:Linear/Fig1_Linear_Double_Descent/common.py); paper text not read] arXiv 2405.11751")
STATEMENT = ("x* = (1+rho)/alpha, M_kappa(x) = 2/((x+1-1/kappa) + sqrt((x+1-1/kappa)^2 + 4x/kappa)), m = M_kappa(x*), "
             "mu = x* M_{kappa/tau}(x*). tau < 1: e = tau(1+x*)/(1-tau) (1 - tau(1-mu)^2 - (x*-rho)/x* mu) - 2tau(1-mu) + "
             "rho + 1; tau > 1, k* = (1 - kappa (m/(kappa+m))^2)^-1: e = (k* - 1/(tau-1))(1+x*)(x* m)^2 + "
             "(3-2tau)/(tau-1) m x*^2 + ((1+rho)/(tau-1) m + 1) x* + rho m/(tau-1) + rho. Limits: tau, kappa -> inf "
             "gives rho + (1+rho)/(alpha+1+rho).")
NOTATION = ("Lu et al. -> canonical: x_i ~ N(0, I_d/d) is Sigma = I/d; test tasks w ~ N(0, I_d) (Sigma_w = I), pretraining "
            "tasks a pool of k = kappa d vectors with |w| = sqrt(d); noise variance rho on every label including the query "
            "target (sigma2 = rho, the error includes rho); context length ell = alpha d is the canonical n; features "
            "H_Z = x_q [(d/ell) sum y_i x_i^T, (1/ell) sum y_i^2], y_hat = <Gamma, H_Z>: the x-block of Gamma is "
            "Gamma_canonical / d; error = E (y_q - y_hat)^2, no 1/2; Gamma fitted by ridge with lambda -> 0 on n = tau d^2 "
            "contexts.")

# notes/NEXT-CLAIMS.md §2.1, alpha = 1, rho = 0.1: rows tau, columns kappa (0.5, 1, 2, 10, inf); recorded to 4-5 digits
REFERENCE = {0.5: (1.4829, 1.4875, 1.4875, 1.4862, 1.4857), 0.9: (5.887, 6.196, 6.282, 6.293, 6.286),
             1.1: (6.538, 6.862, 6.919, 6.883, 6.862), 2.0: (1.4710, 1.3881, 1.3210, 1.2620, 1.2476),
             10.0: (0.9706, 0.8475, 0.7681, 0.7068, 0.6931), 1e6: (0.9081, 0.7799, 0.6990, 0.6374, 0.6238)}
KAPPAS = (0.5, 1.0, 2.0, 10.0, np.inf)
TABLE = Tolerance(atol=5e-4, reason="the recorded table has 4 significant digits (half a unit of the 4th: <= 5e-4)")


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    check_mp_identity(chk)
    # (2) tau -> inf: with r = 1/(tau-1) the tau > 1 branch is affine in r (m, k*, x* do not depend on tau), so the
    # limit is r = 0
    r = sp.Symbol("r", positive=True)
    e_hi = result1_expr(1 + 1 / r, (1 + RHO) / X, KAPPA, RHO, below=False)
    exact_mod_sqrt(chk, "tau -> inf: Result 1 = master formula with Sigma_w = pool covariance, "
                   "x - 2x^2 m + (1+x) x^2 m' + rho", e_hi.subs(r, 0), pool_limit_e_icl((1 + RHO) / X, KAPPA, RHO),
                   mp_sqrt(X, KAPPA), detail="exact in symbolic x = (1+rho)/alpha, kappa, rho (sympy; the branch is "
                   "affine in r = 1/(tau-1); reduced modulo the MP square root)")
    # (3) then kappa -> inf: kappa = 1/g, continuous at g = 0 (the square root's argument is (x+1)^2 > 0 there)
    g = sp.Symbol("g", positive=True)
    e_inf = pool_limit_e_icl(ALPHA, 1 / g, RHO).subs(g, 0)
    chk.exact("tau, kappa -> inf: Result 1 -> rho + (1+rho)/(alpha+1+rho)", e_inf, proportional_master_limit(ALPHA, RHO),
              detail="exact in symbolic alpha, rho (sympy; kappa = 1/g, g -> 0 by continuity)")
    # (4) the master formula's own proportional limit
    check_master_limit(chk)
    # (5) the toolkit's master formula (float) at finite d converges at rate 1/d
    alpha, rho = 1.0, 0.1
    ds = (8, 16, 32, 64)
    lim = float(proportional_master_limit(alpha, rho))
    errs = []
    for d in ds:
        W = np.sqrt(d) * np.eye(d)  # a pool whose second moment is exactly I (kappa = 1, tau = inf): Sigma_w = I
        errs.append(pool_master_error(W, int(alpha * d), rho) - lim)
    check_rate(chk, "master formula at d = 8..64 (Sigma = I/d, Sigma_w = I, n = alpha d) -> the limit at rate 1/d",
               ds, errs, detail="alpha = 1, rho = 0.1; the finite-d error is a rational function of d (exact O(1/d))")
    # (6) the recorded reference table
    for t, row in REFERENCE.items():
        chk.close(f"reference row tau = {t:g} (alpha = 1, rho = 0.1, kappa = 0.5, 1, 2, 10, inf)",
                  result1_e_icl(t, 1.0, np.array(KAPPAS), 0.1), np.array(row), TABLE)
    if ctx.thorough:
        # (7) pools at finite d: mean over pools of the pool-trained master optimum -> branch (2), rate 1/d
        kappa = 2.0
        lim_pool = float(pool_limit_e_icl(alpha, kappa, rho))
        ds7, errs7, ses7 = (10, 20, 40, 80), [], []
        for d in ds7:
            v = [pool_master_error(sample_pool(rng, int(kappa * d), d), d, rho) for _ in range(200)]
            errs7.append(float(np.mean(v)) - lim_pool)
            ses7.append(float(np.std(v, ddof=1) / np.sqrt(len(v))))
        check_rate(chk, "pool-trained master optimum (kappa = 2, tau = inf), mean over 200 pools -> branch (2), rate 1/d",
                   ds7, errs7, ses=ses7)
        # (8) the authors' pipeline at tau = 3, kappa = 2: ridgeless fit, exact test error on N(0, I) tasks
        t8 = 3.0
        ds8, errs8, ses8 = (8, 12, 16, 24), [], []
        for d in ds8:
            tm = task_moments_gaussian(np.zeros(d), np.eye(d), rho)
            v = [exact_error(fit_gamma(rng, sample_pool(rng, int(kappa * d), d), int(t8 * d * d), d, rho), d, rho, tm)
                 for _ in range(12)]
            errs8.append(float(np.mean(v)) - float(result1_e_icl(t8, alpha, kappa, rho)))
            ses8.append(float(np.std(v, ddof=1) / np.sqrt(len(v))))
        check_rate(chk, "authors' pipeline (ridgeless Gamma on tau d^2 contexts, tau = 3, kappa = 2) -> Result 1, rate 1/d",
                   ds8, errs8, ses=ses8)
    return chk


CLAIM = Claim(key="lu2024.result1.e_icl", title="Result 1: proportional ridgeless e_ICL and its limits", source=SOURCE,
              statement=STATEMENT, notation=NOTATION, verify=verify, provenance="READ-code+DERIVED",
              fixed="its statement is a proportional limit (d -> oo with ell/d, k/d, n/d^2 fixed), not "
                    "a finite (Sigma, n)")
