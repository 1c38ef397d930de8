"""[Wu, Zou, Chen, Braverman, Gu, Bartlett 2024, as summarised by the ICLR reviews] The pretrained single-layer
linear attention predicts optimally only when the test context length equals the pretraining one.

Checked (notes/NEXT-CLAIMS.md §4.3, the reviews' sentence; the paper's theorem text was not at hand):
(1) exact, symbolic n (train) and k (test): Gamma*_k^{-1} - Gamma*_n^{-1} = (1/k - 1/n)(H + (tr H + sigma^2/psi^2) I),
    so Gamma*_n is the test optimum only at k = n; the excess R(Gamma*_n; k) - R(Gamma*_k; k) = tr(D^T H D M_k) is
    > 0 for k != n (H, M_k positive definite) and, for the diagonal H below, factors as (k - n)^2 times a positive
    rational function (exact);
(2) the reduction to the master formula (numerics.one_layer.shift, OneLayer at the test length) reproduces the derived table
    of NEXT-CLAIMS §4.3 (d = 5, n = 20, H = I, psi^2 = 1, sigma^2 = 0.25) to its printed 4 decimals;
(3) exact limit k -> oo: R(Gamma*_n; k) -> sigma^2 + psi^2 tr(H (I - Gamma*_n H)^2), O(1/n^2) above sigma^2 (the
    same 1/N^2 floor as ZFB Thm 4.2), while R(Gamma*_k; k) -> sigma^2.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.one_layer.shift import shifted_loss
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps.moved import prior_scale, solve_tolerance, where
from iclcheck.proofs.steps.shift import WU_NOTATION, limit_at_infinity, wu_gamma_star
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.setting import Setting
from iclcheck.theory.shift import shifted_loss_exact

__all__ = ["CLAIM", "verify"]

NS, KS = sp.symbols("n k", positive=True, integer=True)
S2 = sp.Symbol("sigma2", nonnegative=True)
PSI2 = sp.Symbol("psi2", positive=True)
PRINTED = Tolerance(atol=5.5e-5, reason="the NEXT-CLAIMS table prints 4 decimals (half a unit of the last digit, and "
                    "a 1e-5 margin for its own rounding)")
# NEXT-CLAIMS §4.3: d = 5, n = 20, sigma^2 = 0.25, H = I, psi^2 = 1: test k -> (R(Gamma*_20; k), R(Gamma*_k; k))
TABLE = {5: (4.1616, 3.0278), 10: (2.3475, 2.1731), 20: (1.4405, 1.4405), 40: (0.9870, 0.9257), 80: (0.7602, 0.6123),
         1000: (0.5516, 0.2811)}


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(ks=(5, 40, 1000)), thorough=dict(ks=tuple(sorted(TABLE))))


def _accepts(user: UserSetting) -> tuple[str, str] | None:
    st, te = user.setting, user.test
    if prior_scale(st) is None:
        return "Sigma_w", "its statement is about beta ~ N(0, psi^2 I): give a task covariance psi^2 I (diag:p,...,p)"
    if te is not None and not (np.array_equal(te.Sigma, st.Sigma) and np.array_equal(te.Sigma_w, st.Sigma_w)
                               and te.sigma2 == st.sigma2 and te.covariates == st.covariates):
        return "test", "its statement is about the context length only: the test setting may change n, nothing else"
    return None


def _at_setting(ctx: Context, user: UserSetting) -> tuple[Checker, str]:
    """At the user's H = Sigma, n, psi^2, sigma^2 and test length k (the test setting's n; without one, k = n/2 and
    2n): the identity Gamma*_k^-1 - Gamma*_n^-1 = (1/k - 1/n)(H + (tr H + sigma^2/psi^2) I) in floats, and the
    excess R(Gamma*_n; k) - R(Gamma*_k; k) > 0 for k != n (= 0 at k = n)."""
    chk = Checker()
    st = user.setting
    d, n, s2 = st.d, int(st.n), st.sigma2
    ps = prior_scale(st)
    assert ps is not None, "_accepts admits only Sigma_w = psi2 I"
    psi2 = ps[0]
    ks = [int(user.test.n)] if user.test is not None else sorted({max(1, n // 2), 2 * n} - {n})
    H = st.Sigma
    lines = []
    for k in ks:
        te = Setting.make(st.Sigma, k, Sigma_w=st.Sigma_w, sigma2=s2, covariates=st.covariates)
        r = shifted_loss(st, te)
        lhs = np.linalg.inv(r.gamma_test) - np.linalg.inv(r.gamma)  # (d, d)
        rhs = (1 / k - 1 / n) * (H + (np.trace(H) + s2 / psi2) * np.eye(d))
        at = where(user) + f", psi^2={psi2:.6g}, test k={k}"
        chk.close(f"Gamma*_k^-1 - Gamma*_n^-1 = (1/k - 1/n)(H + (tr H + sigma^2/psi^2) I) ({at})", lhs, rhs,
                  solve_tolerance(st, float(np.max(np.abs(H + np.trace(H) * np.eye(d)))) + s2 / psi2))
        if k == n:
            chk.close(f"k = n: no excess ({at})", r.excess, 0.0, solve_tolerance(st, max(r.loss, 1.0)))
        else:
            chk.decided(f"k != n: excess R(Gamma*_n; k) - R(Gamma*_k; k) > 0 ({at})", r.excess > 0,
                        f"excess tr(D^T H D M_k) = {r.excess:.6g} (D = Gamma*_n - Gamma*_k)", computed=r.excess)
        lines.append(f"k={k}: R(Gamma*_n; k) = {r.loss + s2:.6g} vs R(Gamma*_k; k) = {r.test_optimum + s2:.6g}")
    return chk, "At your setting (noisy query: + sigma^2): " + "; ".join(lines) + "."


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    d = 2
    H = sp.diag(*[sp.Rational(int(v), 2) for v in rng.integers(1, 7, size=d)])
    inv_diff = (wu_gamma_star(H, KS, S2, PSI2).inv() - wu_gamma_star(H, NS, S2, PSI2).inv()
                - (1 / KS - 1 / NS) * (H + (H.trace() + S2 / PSI2) * sp.eye(d))).applyfunc(sp.cancel)
    chk.exact("Gamma*_k^-1 - Gamma*_n^-1 = (1/k - 1/n)(H + (tr H + sigma^2/psi^2) I) (symbolic n, k, sigma^2, psi^2)",
              inv_diff, sp.zeros(d, d), detail="exact; nonzero for k != n since H + c I is positive definite, so the "
              "test optimum Gamma*_k differs from the trained Gamma*_n exactly when k != n")
    s2q, psi2q = sp.Rational(int(rng.integers(0, 5)), 4), sp.Integer(1)
    train = Setting.make(H, NS, Sigma_w=psi2q * sp.eye(d), sigma2=s2q)
    test = Setting.make(H, KS, Sigma_w=psi2q * sp.eye(d), sigma2=s2q)
    loss, opt, excess = shifted_loss_exact(train, test)
    num, den = sp.fraction(sp.factor(excess))
    q, r = sp.div(sp.Poly(num, KS, NS), sp.Poly((KS - NS) ** 2, KS, NS))
    coeffs_pos = all(c > 0 for c in q.coeffs()) and all(c > 0 for c in sp.Poly(den, KS, NS).coeffs())
    chk.exact(f"excess R(Gamma*_n; k) - R(Gamma*_k; k) is divisible by (k - n)^2 (H = {list(H.diagonal())}, "
              f"sigma^2 = {s2q}, symbolic n, k)", r.as_expr(), 0)
    chk.decided("the cofactor is positive: numerator and denominator polynomials in (n, k) with positive coefficients",
                coeffs_pos, f"excess = (k - n)^2 ({q.as_expr()}) / ({sp.factor(den)}): > 0 for every k != n >= 1",
                exact=True)
    # the limit k -> oo
    lim = limit_at_infinity(loss, KS)
    G_n = wu_gamma_star(H, NS, s2q, psi2q)
    floor = psi2q * (H * (sp.eye(d) - G_n * H) ** 2).trace()
    chk.exact("k -> oo: R(Gamma*_n; k) - sigma^2 -> psi^2 tr(H (I - Gamma*_n H)^2) (exact limit, symbolic n)",
              sp.cancel(lim - floor), 0)
    chk.exact("k -> oo: the test optimum R(Gamma*_k; k) - sigma^2 -> 0 (exact limit)", limit_at_infinity(opt, KS), 0)
    lim2 = limit_at_infinity(NS ** 2 * floor, NS)
    chk.decided("the floor is exactly of order 1/n^2: n^2 psi^2 tr(H (I - Gamma*_n H)^2) has a finite nonzero limit",
                bool(lim2.is_finite) and lim2 != 0, f"lim n^2 * floor = {lim2} (exact limit)", exact=True)
    # the derived table of NEXT-CLAIMS §4.3, by numerics.one_layer.shift (the master formula at the test length)
    tr = Setting.make(np.eye(5), 20, sigma2=0.25)
    ks = list(SIZES.at(ctx).ks)
    got, want = [], []
    for k in ks:
        r_k = shifted_loss(tr, Setting.make(np.eye(5), k, sigma2=0.25))
        got += [r_k.loss + 0.25, r_k.test_optimum + 0.25]
        want += list(TABLE[k])
    chk.close(f"derived table (d=5, n=20, H=I, sigma^2=0.25) at k = {ks}: [R(Gamma*_20; k), R(Gamma*_k; k)] "
              "(noisy query: + sigma^2)", got, want, PRINTED)
    r5 = shifted_loss(tr, Setting.make(np.eye(5), 5, sigma2=0.25))
    g20 = float(shifted_loss(tr, tr).gamma[0, 0])
    sat = 0.25 + 5 * (1 - g20) ** 2  # sigma^2 + psi^2 tr(H (I - Gamma*_20 H)^2) at H = I, psi^2 = 1
    note = ("Confirmed as recorded (the reviews' sentence; the theorem text was not read): Gamma*_n is the test "
            "optimum only at k = n, exactly (Gamma*_k^-1 - Gamma*_n^-1 = (1/k - 1/n)(H + (tr H + sigma^2/psi^2) I)); the "
            "excess is (k - n)^2 times a positive rational function (checked for the diagonal H above, symbolic n, k). "
            f"Short test prompts hurt most: d=5, n=20, sigma^2=0.25: R = {r5.loss + 0.25:.4f} at k=5 vs "
            f"{r5.test_optimum + 0.25:.4f} for the k-trained optimum; long ones saturate at sigma^2 + psi^2 "
            f"tr(H (I - Gamma*_n H)^2) = {sat:.4f} (k -> oo, vs sigma^2 = 0.25 for Gamma*_k). "
            "To confirm in the paper's text: the exact statement (a theorem or a remark), "
            "whether the test prompt is normalised by 1/k (as here) or by the training 1/n.")
    return chk, note


CLAIM = Claim(key="wu2024.context_length_mismatch", title="optimal only when test length = training length",
              source="[Wu, Zou, Chen, Braverman, Gu, Bartlett 2024 (ICLR), context-length discussion as summarised by "
                     "the ICLR reviews; its section was not read (notes/NEXT-CLAIMS.md §4.3)] arXiv 2310.08391",
              statement="Optimal prediction is attainable only when the number of context examples matches that of the "
                        "pre-training phase; discrepancies between the two lead to sub-optimality.",
              notation=WU_NOTATION + " Test prompts of length k are normalised by 1/k (the layer's 1/n is the prompt's "
                       "own length); Gamma*_n is the master optimum at the training length n.",
              verify=verify, provenance="3P+DERIVED", parameters=("Sigma", "n", "Sigma_w", "sigma2", "test"),
              at_setting=_at_setting, accepts=_accepts,
              fixed="the statement is for Gaussian x and beta ~ N(0, psi^2 I)")
