"""[Zhang, Frei, Bartlett 2024 (JMLR), Thm 4.5, as restated by a third-party note] Training on prompts whose
covariance Lambda_tau is drawn iid per prompt (diagonal, positive): the global minimum has
W^KQ ∝ (E Gamma_tau Lambda_tau^2)^{-1} E Lambda_tau^2; for M, N -> oo the prediction tends to
x_q^T (E Lambda^2)(E Lambda^3)^{-1}(E Lambda) w, which is <w, x_q>/3 for Exp(1) eigenvalues.

Checked (notes/NEXT-CLAIMS.md §1.4, tag 3P + DERIVED), w ~ N(0, I), noiseless:
(1) exact, symbolic N and symbolic moments mu_k = E lambda^k (iid coordinates): the minimiser over ALL d x d Gamma of
    the averaged master loss E_tau L_tau(Gamma) (theory.one_layer.reduced_loss_formula per Lambda_tau, averaged
    monomial by monomial) is diagonal, Gamma_ii = mu_2 / ((N+1)/N mu_3 + (mu_3 + (d-1) mu_2 mu_1)/N), and equals ZFB's
    (E Gamma_tau Lambda_tau^2)^{-1} E Lambda_tau^2 (d = 2, 3);
(2) Exp(1) (mu_k = k!): Gamma_ii = 2/(6 + (2d+10)/N) -> 1/3, e.g. 2/7 at d = 5, N = 20 (exact, symbolic N and d);
(3) exact limit N -> oo: Gamma* -> (E Lambda^3)^{-1} E Lambda^2, so with h -> Lambda_test w the prediction tends to
    x_q^T (E Lambda^2)(E Lambda^3)^{-1} Lambda_test w; for Lambda_test = E Lambda (= I for Exp(1)) that is the
    printed form, (1/3) <w, x_q>;
(4) the averaged loss at Gamma* by Monte Carlo of the literal forward pass, a fresh Exp(1) covariance per prompt
    (99.9% CI) - the global minimum is a statement about the reduced (Gamma) model: the averaged loss is a strictly
    convex quadratic in Gamma, so its stationary point is its unique minimiser (the gradient-flow convergence of the
    full (W^PV, W^KQ) parameters is not checked here).
"""

from __future__ import annotations

from math import factorial

import numpy as np
import sympy as sp

from iclcheck.numerics.model.forward import predict
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.numerics.model.montecarlo import mc_mean
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.steps.shift import NT, ZFB_NOTATION, limit_at_infinity, master_loss_symbolic
from iclcheck.proofs.verdict import Checker
from iclcheck.theory.notation.zhang import iid_average as _average
from iclcheck.theory.notation.zhang import thm4_5_averaged_optimum as averaged_optimum

__all__ = ["CLAIM", "averaged_optimum", "verify"]

MU = sp.symbols("mu1 mu2 mu3", positive=True)
DS = sp.Symbol("d", positive=True, integer=True)


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(ds=(2,), samples=30_000), thorough=dict(ds=(2, 3), samples=300_000))


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()

    def sym_moment(k: int):
        return sp.Integer(1) if k == 0 else MU[k - 1]

    solved = {}
    for d in SIZES.at(ctx).ds:
        G = solved[d] = averaged_optimum(d, NT, sym_moment)
        m1, m2, m3 = MU
        gii = m2 / ((NT + 1) / NT * m3 + (m3 + (d - 1) * m2 * m1) / NT)
        chk.exact(f"argmin over all Gamma of the averaged master loss is diagonal with Gamma_ii = mu2/((N+1)/N mu3 + "
                  f"(mu3 + (d-1) mu2 mu1)/N) (d={d}, symbolic N, moments)", (G - gii * sp.eye(d)).applyfunc(sp.cancel),
                  sp.zeros(d, d))
        # ZFB's form: (E Gamma_tau Lambda_tau^2)^{-1} E Lambda_tau^2, Gamma_tau = (N+1)/N Lambda + tr(Lambda)/N I
        lams = list(sp.symbols(f"lam0:{d}", positive=True))
        Lt = sp.diag(*lams)
        Gt = (NT + 1) / NT * Lt + Lt.trace() / NT * sp.eye(d)
        E_GL2 = (Gt * Lt ** 2).applyfunc(lambda e, lams=lams: _average(e, lams, sym_moment))
        E_L2 = (Lt ** 2).applyfunc(lambda e, lams=lams: _average(e, lams, sym_moment))
        chk.exact(f"= ZFB's (E Gamma_tau Lambda_tau^2)^-1 E Lambda_tau^2 (d={d}, symbolic N, moments)",
                  (E_GL2.inv() * E_L2 - G).applyfunc(sp.cancel), sp.zeros(d, d))
    # (2) Exp(1): mu_k = k!; symbolic d through the diagonal formula (the stationary point was derived above)
    exp_g = (2 / ((NT + 1) / NT * 6 + (6 + (DS - 1) * 2) / NT))
    chk.exact("Exp(1) moments 1, 2, 6: Gamma_ii = 2/(6 + (2d + 10)/N) (symbolic N, d)",
              sp.cancel(exp_g - 2 / (6 + (2 * DS + 10) / NT)), 0)
    chk.exact("Exp(1), d = 5, N = 20: Gamma_ii = 2/7", exp_g.subs({DS: 5, NT: 20}), sp.Rational(2, 7))
    chk.exact("Exp(1), d = 2: the solved averaged-loss minimiser at mu = (1, 2, 6) = 2/(6 + 14/N) I",
              (solved[2].subs({MU[0]: 1, MU[1]: 2, MU[2]: 6}) - 2 / (6 + 14 / NT) * sp.eye(2)).applyfunc(sp.cancel),
              sp.zeros(2, 2))
    # (3) limits
    lim = limit_at_infinity(exp_g, NT)
    chk.exact("N -> oo: Gamma_ii -> E lambda^2 / E lambda^3 = 1/3 (Exp(1), exact limit)", lim, sp.Rational(1, 3))
    chk.exact("prediction limit x_q^T (E L^2)(E L^3)^-1 (E L) w = (1/3) <w, x_q> for Exp(1) (E L = I)",
              sp.Integer(2) / 6 * 1, sp.Rational(1, 3))
    # (4) Monte Carlo of the literal forward pass, a fresh Exp(1) covariance per prompt
    d, N = 2, 10
    g_ex = exp_g.subs({DS: d, NT: N})  # exact 2/(6 + (2d+10)/N)
    g = float(g_ex)
    P = np.zeros((d + 1, d + 1))
    P[d, d] = 1.0
    Q = np.zeros((d + 1, d + 1))
    Q[:d, :d] = -g * np.eye(d)
    lams = list(sp.symbols(f"lam0:{d}", positive=True))
    EL = float(_average(master_loss_symbolic(sp.diag(*lams), sp.eye(d), 0, sp.Integer(N), g_ex * sp.eye(d)), lams,
                        lambda k: sp.Integer(factorial(k))))

    def sq_err(r: np.random.Generator, m: int) -> np.ndarray:
        lam = r.exponential(size=(m, 1, d))  # (m, 1, d) per-prompt covariance
        x = r.standard_normal((m, N + 1, d)) * np.sqrt(lam)
        w = r.standard_normal((m, d))
        y = np.einsum("bnd,bd->bn", x, w)
        return (predict(build_prompts(x[:, :N], y[:, :N], x[:, N]), [P], [Q]) - y[:, N]) ** 2

    est = mc_mean(sq_err, samples=SIZES.at(ctx).samples, rng=rng)
    chk.within_ci(f"averaged loss at Gamma* = {g:.4g} I by the literal forward pass, Exp(1) covariance per prompt "
                  f"(d={d}, N={N})", est, EL, reason="exact value from the Exp(1) moments")
    note = ("Confirmed as recorded for the limit point: the minimiser of the averaged one-layer loss over all Gamma is "
            "ZFB's (E Gamma_tau Lambda_tau^2)^-1 E Lambda_tau^2 (exact, symbolic N and moments), 2/(6 + (2d+10)/N) I "
            "for Exp(1) (2/7 at d = 5, N = 20), -> 1/3 I. The 1/3 shrinkage is the prediction at a test covariance "
            "equal to E Lambda (= I); at another fixed Lambda_test the limit is x_q^T (E L^2)(E L^3)^-1 Lambda_test w. "
            "Not checked: the gradient-flow convergence of the full (W^PV, W^KQ) parameters. To confirm in the paper's "
            "text: the moment conditions and whether the limit is stated for a fresh random or a fixed test covariance.")
    return chk, note


CLAIM = Claim(key="zfb2024.thm4_5.random_covariance", title="random covariance per prompt: shrinkage 1/3 (Exp(1))",
              source="[Zhang, Frei, Bartlett 2024 (JMLR), Thm 4.5, restated in a third-party note "
                     "(notes/NEXT-CLAIMS.md §1.4)] arXiv 2306.09927",
              statement="Train with Lambda_tau drawn iid per prompt (diagonal, positive, finite third moment): gradient "
                        "flow converges to a global minimum with W^KQ_* ∝ (E Gamma_tau Lambda_tau^2)^-1 E Lambda_tau^2, "
                        "Gamma_tau = (N+1)/N Lambda_tau + tr(Lambda_tau)/N I; for M, N -> oo the prediction tends to "
                        "x_q^T (E Lambda^2)(E Lambda^3)^-1 (E Lambda) w; with lambda_{tau,i} ~ Exp(1) it is <w, x_q>/3.",
              notation=ZFB_NOTATION + " Per prompt tau the covariates are N(0, Lambda_tau); the training loss is the "
                       "master loss averaged over Lambda_tau.", verify=verify, provenance="3P+DERIVED",
              fixed="its covariance is random per prompt (iid eigenvalues, e.g. Exp(1)), not one Sigma")
