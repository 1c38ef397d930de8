"""[Wu et al. 2024, abstract and Sec. 5 as summarised] The optimal single-layer linear attention (one preconditioned GD
step, Gamma*) has nearly Bayes-optimal risk (optimally tuned ridge) at a fixed context length, under reasonable
signal-to-noise constraints.

Notation: Wu's x ~ N(0, H) is Sigma = H, beta ~ N(0, psi2 I) is Sigma_w = psi2 I, f = x^T Gamma (1/n) X^T y is the
canonical reduced predictor; Wu's risk E (f - y)^2 has a noisy query target, so R = sigma2 + L (canonical loss) and
the excess risk R - sigma2 is the canonical L; the Bayes excess risk is E tr(Sigma C(X)) (numerics.bayes).

Steps. Let a_i be the eigenvalues of Sigma^{1/2} Sigma_w Sigma^{1/2}, T = tr(Sigma Sigma_w), tau = T + sigma2.
(1) The optimum's excess risk in the eigenbasis: L* = sum_i a_i (a_i + tau) / ((n+1) a_i + tau) (float, against the
    master formula at random anisotropic settings), and for Sigma = I, Sigma_w = psi2 I the closed form
    d psi2 ((d+1) psi2 + sigma2) / ((n+d+1) psi2 + sigma2) from the master formula (exact, symbolic n, sigma2, psi2).
(2) Brackets of the Bayes excess risk, exact: OLS above (sigma2 d/(n-d-1), inverse Wishart, n > d+1) and Jensen
    below (J = sum_i a_i sigma2 / (n a_i + sigma2)). Hence, exactly, for every n:
        L* (n-d-1) / (d sigma2)  <=  L* / R_Bayes  <=  L* / J  <=  1 + (a_max + T) / sigma2  <=  1 + 2 T / sigma2,
    the last step termwise: (a + tau)(n a + sigma2) <= (a + tau)((n+1) a + tau) (difference (a + tau) a + (a + tau) T).
(3) Finding candidate 3 (d=5, n=20, sigma2=1/4, H = I, psi2 = 1): the ratio is in the exact bracket
    [40/3, 135/7] and the Monte Carlo Bayes risk gives 13.67; the notes' SNR sweep (sigma2 = 1, 5, 25) is reproduced.
(4) The SNR condition is necessary and n >> d does not replace it: at fixed d, n the lower bound -> infinity as
    sigma2 -> 0; as n -> infinity both bounds tend to 1 + (1 + 1/d) T / sigma2 (exact limits), not 1.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.bayes import bayes_risk
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps import N
from iclcheck.proofs.steps.bayes import check_bayes_within_bracket, isotropic_risks, jensen_lower_bound
from iclcheck.proofs.steps.moved import prior_scale, solve_tolerance, where
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.one_layer import SYMPY_OPS, reduced_M_formula
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "verify"]

SOURCE = ("[Wu, Zou, Chen, Braverman, Gu, Bartlett 2024, abstract; Sec. 5 (LSA vs ridge) as summarised by Zhang, Wu, "
          "Bartlett 2024] arXiv 2310.08391")
STATEMENT = ("x ~ N(0, H), beta ~ N(0, psi^2 I), y = x^T beta + eps: 'the pretrained model closely matches the Bayes "
             "optimal algorithm, i.e., optimally tuned ridge regression, by achieving nearly Bayes optimal risk on "
             "unseen tasks under a fixed context length' [abstract], 'under reasonable signal-to-noise constraints' "
             "[3P]: the excess risk of the optimal one-layer LSA is within a constant factor of the Bayes excess risk "
             "when the SNR psi^2 tr(H) / sigma^2 is bounded.")
NOTATION = ("Sigma = H, Sigma_w = psi^2 I, sigma2 = Wu's sigma^2; n = context length (training = test); Wu's risk "
            "has a noisy query, R = sigma2 + canonical L, so excess risk R - sigma2 = canonical L (no 1/2); Bayes = "
            "ridge lambda = sigma2/psi^2 (numerics.bayes.bayes_risk, noiseless-query units)")

ROUNDING = Tolerance(rtol=1e-10, reason="eigen-decomposition vs Cholesky solve of the same closed form (d <= 8)")
PSI2 = sp.Symbol("psi2", positive=True)
S2 = sp.Symbol("sigma2", positive=True)


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(samples=10_000, random_cases=12), thorough=dict(samples=60_000, random_cases=40))


def _spectral_lstar(Sigma, Sigma_w, n, s2):
    Sh = np.linalg.cholesky(Sigma)  # Sh^T W Sh has the eigenvalues of Sigma Sigma_w
    a = np.linalg.eigvalsh(Sh.T @ Sigma_w @ Sh)
    tau = a.sum() + s2
    return float(np.sum(a * (a + tau) / ((n + 1) * a + tau))), a


def _accepts(user: UserSetting) -> tuple[str, str] | None:
    st = user.setting
    if prior_scale(st) is None:
        return "Sigma_w", "its statement is about beta ~ N(0, psi^2 I): give a task covariance psi^2 I (diag:p,...,p)"
    if st.sigma2 <= 0:
        return "sigma2", "its statement needs label noise (the SNR psi^2 tr(H)/sigma^2 bounded): give --noise > 0"
    return None


def _at_setting(ctx: Context, user: UserSetting):
    """At the user's H = Sigma, n, psi^2, sigma^2 > 0: L* in the eigenbasis against the master formula, the exact
    bound L*/J <= 1 + (a_max + T)/sigma^2, the Monte Carlo Bayes risk inside [Jensen, OLS], and the ratio reported."""
    chk = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n, s2 = st.d, int(st.n), st.sigma2
    ps = prior_scale(st)
    assert ps is not None, "_accepts admits only Sigma_w = psi2 I"
    at = where(user) + f", psi^2={ps[0]:.6g}"
    L = OneLayer(st).min_loss()
    Ls, a = _spectral_lstar(st.Sigma, st.Sigma_w, n, s2)
    chk.close(f"L* = sum_i a_i (a_i + tau)/((n+1) a_i + tau) = master L* ({at})", Ls, L, solve_tolerance(st, max(L, 1.0)))
    J = jensen_lower_bound(st.Sigma, st.Sigma_w, n, s2)
    bound = 1 + (a.max() + a.sum()) / s2
    chk.bounded(f"L*/J <= 1 + (a_max + T)/sigma^2 ({at})", L / J - bound, 1e-12 * bound,
                detail=f"L*/J = {L / J:.6g} <= {bound:.6g}", computed=L / J, expected=bound)
    est = bayes_risk(st, rng=rng, samples=SIZES.at(ctx).samples)
    ols = s2 * d / (n - d - 1) if n > d + 1 else float("inf")
    check_bayes_within_bracket(chk, est, J, ols, at)
    lo, hi = est.interval
    note = (f"At your setting: L* = {L:.6g}, Bayes (ridge) excess risk {est.describe('.6g')}, ratio L*/R_Bayes "
            f"{L / est.value:.4g}" + (f" (interval [{L / hi:.4g}, {L / lo:.4g}])" if lo > 0 else "")
            + f"; the proven constant 1 + (a_max + T)/sigma^2 = {bound:.4g}.")
    return chk, note


def verify(ctx: Context):
    chk = Checker()
    rng = ctx.rng()
    samples = SIZES.at(ctx).samples
    # (1) L* in closed form
    for d in (1,) if not ctx.thorough else (1, 2, 3):
        I, W = sp.eye(d), PSI2 * sp.eye(d)
        M = reduced_M_formula(I, W, sp.zeros(d, d), sp.zeros(d, 1), S2, N, SYMPY_OPS)  # Gaussian: no H term
        G = W * M.inv()  # Gamma* = W S M^{-1}, S = I
        Lstar = sp.cancel(PSI2 * d - (G * PSI2).trace())  # tr(SW) - tr(Gamma S W S)
        chk.exact(f"isotropic L* = d psi2((d+1)psi2 + sigma2)/((n+d+1)psi2 + sigma2) from the master formula (d={d}, "
                  "symbolic n, sigma2, psi2)", Lstar, sp.cancel(isotropic_risks(d, N, S2, PSI2)["lsa"]))
    worst, spec_dev = 0.0, []
    for _ in range(SIZES.at(ctx).random_cases):
        d, n = int(rng.integers(1, 8)), int(rng.integers(1, 80))
        S, W = random_spd(d, float(10 ** rng.uniform(0, 2)), rng), random_spd(d, float(10 ** rng.uniform(0, 2)), rng)
        s2 = float(10 ** rng.uniform(-2, 1.5))
        L = OneLayer(Setting.make(S, n, Sigma_w=W, sigma2=s2)).min_loss()
        Ls, a = _spectral_lstar(S, W, n, s2)
        spec_dev.append((Ls, L))
        worst = max(worst, (L / jensen_lower_bound(S, W, n, s2)) / (1 + (a.max() + a.sum()) / s2))
    chk.close("L* = sum_i a_i (a_i + tau)/((n+1) a_i + tau) at random anisotropic settings",
              [v[0] for v in spec_dev], [v[1] for v in spec_dev], ROUNDING)
    # (2) the termwise inequality, exactly, and the bound at random settings
    a, T, n_ = sp.symbols("a T n", positive=True)
    tau = T + S2
    chk.exact("termwise: (a+tau)((n+1)a+tau) - (a+tau)(n a+sigma2) = (a+tau)(a+T) >= 0 (so L*/J <= 1+(a_max+T)/sigma2)",
              sp.expand((a + tau) * ((n_ + 1) * a + tau) - (a + tau) * (n_ * a + S2)), sp.expand((a + tau) * (a + T)))
    chk.bounded("L*/J <= 1 + (a_max + T)/sigma2 at random anisotropic settings (max of their ratio)", worst - 1,
                1e-12, detail=f"largest (L*/J) / (1 + (a_max + T)/sigma2) = {worst:.6f} over the drawn settings",
                computed=worst)
    # (3) finding candidate 3 and the notes' sweep (d = 5, n = 20, H = I, psi2 = 1; noted risks include sigma2)
    ratios = {}
    for s2, noted_lsa, noted_ridge, noted_ratio in ((sp.Rational(1, 4), 1.4405, 0.3369, 13.7), (1, 2.2963, 1.3241, 4.0),
                                                    (5, 6.7742, 6.2174, 1.46), (25, 28.0392, 27.9368, 1.035)):
        ex = isotropic_risks(5, 20, s2)
        st = Setting.make(np.eye(5), 20, sigma2=float(s2))
        L = OneLayer(st).min_loss()
        chk.close(f"LSA risk sigma2 + L* = the notes' {noted_lsa} (sigma2={s2})", float(s2) + L, noted_lsa,
                  rtol=0, atol=5e-5, reason="the notes round to 4 decimals")
        est = bayes_risk(st, rng=rng, samples=samples)
        check_bayes_within_bracket(chk, est, float(ex["jensen"]), float(ex["ols"]), f"sigma2={s2}")
        chk.within_ci(f"Bayes (ridge) risk = the notes' {noted_ridge} - sigma2 (sigma2={s2})", est.mc,
                      noted_ridge - float(s2), reason="the notes round to 4 decimals, far below the interval")
        lo, hi = est.interval
        r_lo, r_hi = L / hi, L / lo
        ratios[str(s2)] = (L / est.value, r_lo, r_hi, float(ex["lsa"] / ex["ols"]), float(ex["lsa"] / ex["jensen"]))
        rnd = {13.7: 0.05, 4.0: 0.05, 1.46: 0.005, 1.035: 0.0005}[noted_ratio]
        chk.decided(f"excess ratio L*/R_Bayes = the notes' {noted_ratio} (sigma2={s2})",
                    r_lo <= noted_ratio + rnd and noted_ratio - rnd <= r_hi,
                    f"ratio {L / est.value:.4g}, interval [{r_lo:.4g}, {r_hi:.4g}] from the Bayes interval; exact "
                    f"bracket [{ratios[str(s2)][3]:.4g}, {ratios[str(s2)][4]:.4g}]", computed=L / est.value,
                    expected=noted_ratio)
    ex = isotropic_risks(5, 20, sp.Rational(1, 4))
    chk.exact("candidate 3, exact bracket of the ratio at d=5, n=20, sigma2=1/4: [L*/OLS, L*/J] = [40/3, 135/7]",
              sp.Matrix([ex["lsa"] / ex["ols"], ex["lsa"] / ex["jensen"]]), sp.Matrix([sp.Rational(40, 3),
                                                                                       sp.Rational(135, 7)]))
    # (4) necessity of the SNR condition; n -> infinity does not help
    iso5 = isotropic_risks(5, 20, S2)
    lim0 = sp.limit(iso5["lsa"] / iso5["ols"], S2, 0, "+")
    chk.decided("at fixed d=5, n=20 the lower bound L*/OLS -> infinity as sigma2 -> 0 (no constant factor without an "
                "SNR condition)", lim0 == sp.oo, f"limit = {lim0} (sympy, exact)", computed=lim0, exact=True)
    dS = sp.Symbol("d", positive=True, integer=True)
    iso = isotropic_risks(dS, N, S2, PSI2)
    target = 1 + (1 + 1 / dS) * dS * PSI2 / S2  # 1 + (1 + 1/d) T / sigma2 with T = d psi2
    for name in ("ols", "jensen"):
        chk.exact(f"n -> infinity: L*/{'OLS' if name == 'ols' else 'J'} -> 1 + (1+1/d) T/sigma2 (symbolic d, "
                  "psi2, sigma2): n >> d does not make the ratio 1", sp.cancel(sp.limit(iso["lsa"] / iso[name], N, sp.oo)),
                  sp.cancel(target))
    r = ratios["1/4"]
    finding = (
        "Candidate finding 3 decided: at d=5, n=20, sigma2=1/4, H = I, psi2 = 1 the optimal one-layer LSA's excess risk "
        f"is {r[0]:.2f}x the Bayes (ridge) excess risk (Monte Carlo interval [{r[1]:.2f}, {r[2]:.2f}]; exact bracket "
        "[40/3, 135/7] = [13.33, 19.29] from the OLS and Jensen bounds); 4.0x at sigma2 = 1, 1.46x at 5, 1.035x at 25. "
        "Read without a condition ('nearly Bayes optimal' whatever the SNR) the statement is false (exact): "
        "L*/R_Bayes >= L*(n-d-1)/(d sigma2) -> infinity as sigma2 -> 0 at fixed d, n. The condition that makes it "
        "true, checked exactly for every Sigma, Sigma_w, n: L*/R_Bayes <= 1 + (lambda_max(Sigma Sigma_w) + "
        "tr(Sigma Sigma_w))/sigma2 <= 1 + 2 SNR with SNR = tr(Sigma Sigma_w)/sigma2 = psi2 tr(H)/sigma2, i.e. a "
        "constant factor whenever psi2 tr(H) <~ sigma2. A long context does not replace it (this corrects the notes' "
        "'or n >> d'): as n -> infinity the ratio tends to 1 + (1 + 1/d) SNR, not 1. Statement recorded from the "
        "abstract and a third-party summary: confirm in the paper's own Sec. 5 theorem that it states an SNR "
        "condition of this form (psi2 tr(H) <~ sigma2) and whether its comparison is of excess risks (R - sigma2).")
    return chk, finding


CLAIM = Claim(key="wu2024.near_bayes_optimal", title="one-layer LSA nearly Bayes optimal (SNR condition)",
              source=SOURCE, statement=STATEMENT, notation=NOTATION, verify=verify, provenance="READ+3P+DERIVED",
              parameters=("Sigma", "n", "Sigma_w", "sigma2"), at_setting=_at_setting, accepts=_accepts,
              fixed="the statement is for Gaussian x and beta ~ N(0, psi^2 I)")
