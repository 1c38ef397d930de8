"""[Ahn et al. 2023, Thm 3] L layers under condition (8), x ~ N(0, Sigma), w ~ N(0, Sigma^-1):
on S = {A_i = a_i Sigma^-1} the infimum of sum_i ||grad_{A_i} f||_F^2 (full matrix space) is 0.

Argument checked here, step by step, on a NON-isotropic Sigma (Ahn's section 4.3 construction):
1. whitening x = Sigma^{1/2} s maps (Sigma, A_i = a_i Sigma^-1, w ~ N(0, Sigma^-1)) to (I, a_i I, N(0, I)),
   checked sample by sample on the literal forward pass;
2. the restricted loss F(a) is the exact polynomial of theory.multilayer; its global minimum is certified
   (convex in the coefficients of prod (1 - a_l x), minimiser real-rooted) so the infimum is ATTAINED;
3. rotation invariance in the whitened frame gives grad_{A_i} f = (dF/da_i / d) Sigma on S: checked by
   Monte Carlo backprop through the literal model at a non-critical point of S (the prediction is far
   from 0 and matched entrywise), and by finite differences of the exact full-matrix loss (Wick, L = 2);
4. hence at a* the full gradient vanishes: MC gradient within its CI of 0 and exact FD gradient ~ 0.

At a user's setting (``Claim.at_setting``: Sigma, n, L (default 3), w ~ N(0, Sigma^-1) as stated; noise and other
laws are refused): the whitening identity on the literal forward pass at the user's Sigma, the certified restricted
optimum at (d, n, L) with dF/da = 0, and the exact full-matrix gradient (Wick) at the user's Sigma: every entry by
central differences for L = 2 (d <= 4), along random full directions for L = 3 (d <= 3); beyond, that step is
undecided (the Wick loss costs minutes at L = 4), so the verdict is inconclusive rather than confirmed without it.
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.families import (
    ahn_sigma,
    bonferroni_z,
    family_params,
    full_gd_loss,
    gd_critical_points,
    gd_loss,
    gd_loss_grad,
    mc_full_gradient,
    optimal_gd,
    whitening_matrix,
)
from iclcheck.numerics.finite_diff import central_gradient, directional_derivative
from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.model.forward import predict, sample_prompts
from iclcheck.numerics.model.montecarlo import mc_loss
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps import check_released_attention
from iclcheck.proofs.steps.moved import solve_tolerance
from iclcheck.proofs.verdict import Checker
from iclcheck.theory.multilayer import optimal_gd_exact
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "verify"]

SOURCE = "[Ahn et al. 2023, Thm 3] arXiv 2306.00297"
STATEMENT = ("x ~ N(0, Sigma), w ~ N(0, Sigma^-1), L layers with (8). With S the set where every A_i = a_i Sigma^-1, "
             "inf_{A in S} sum_i ||grad_{A_i} f(A)||_F^2 = 0 (gradients in the full matrix space); "
             "the infimum may not be attained.")
NOTATION = ("Canonical model of STATEMENTS.md section 0 (Ahn's own): P_i = [[0,0],[0,1]], Q_i = -[[A_i,0],[0,0]], "
            "Z_{l+1} = Z_l + (1/n) P Z M Z^T Q Z, TF = -[Z_L]_{d+1,n+1}, f = E (TF - w^T x_q)^2, no 1/2, no noise.")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(d_n_L=(3, 10, 3), samples=30_000),
                 thorough=dict(d_n_L=(5, 20, 3), samples=200_000))


def _fd_full_grad(Sigma: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    """Central differences (h = 1e-5) of the exact full-matrix loss f(A) = f_s(Sigma^{1/2} A Sigma^{1/2}) at
    A_l = a_l Sigma^-1, in every entry of every A_l: (L, d, d)."""
    d = Sigma.shape[0]
    Sh = sqrtm_psd(Sigma)
    Si = np.linalg.inv(Sigma)

    def f(As: np.ndarray) -> float:  # As (L, d, d)
        return full_gd_loss([Sh @ A @ Sh for A in As], (d, n))

    return central_gradient(f, np.array([al * Si for al in a]), h=1e-5)


MOVED_L_MAX = 20  # the certified restricted optimum (families.gd.MAX_GD_LAYERS)
WICK_FD = {2: 4, 3: 3}  # L -> the largest d at which the exact full-matrix gradient runs (seconds)


def _accepts(user: UserSetting) -> tuple[str, str] | None:
    if user.setting.task_cov_kind != "inverse":
        return "Sigma_w", "its statement is about w ~ N(0, Sigma^-1): give the task covariance Sigma^-1 ('inv')"
    if user.L is not None and user.L > MOVED_L_MAX:
        return "L", f"the certified restricted optimum runs up to L = {MOVED_L_MAX}"
    return None


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """Steps 1, 2 and the exact part of 3-4 at the user's Sigma, n and L."""
    chk = Checker()
    st = user.setting
    d, n, L = st.d, int(st.n), user.L or 3
    at = f"your Sigma, d={d}, n={n}, L={L}"
    Sigma = st.Sigma
    rng = ctx.rng()
    opt = optimal_gd_exact(L, n=n, d=d)
    chk.decided(f"restricted optimum certified ({at}): Hankel form > 0 and the minimising polynomial has L real roots",
                opt.certified, f"a* = {[round(v, 8) for v in opt.a_float()]}, F(a*) = {float(opt.loss):.10g}",
                computed=[float(v) for v in opt.a_float()], exact=True)
    a_star = optimal_gd(st, L).coefficients
    chk.close(f"dF/da_i = 0 at a* ({at})", gd_loss_grad(a_star, st), np.zeros(L), atol=1e-10,
              reason="a* rounded to double precision; F has O(1) Hessian")
    check_released_attention(chk, st, *family_params(Sigma, a_star), rng, what="the (8) optimum a*")
    pr = sample_prompts(st, 200, rng)
    a_test = a_star * rng.uniform(0.7, 1.3, size=L)
    Ps_w, Qs_w = family_params(np.eye(d), a_test)
    ours = predict(pr.Z0, *family_params(Sigma, a_test))
    chk.close(f"whitening: literal prediction with A = a Sigma^-1 equals whitened prompts with a I ({at})", ours,
              predict(np.linalg.solve(whitening_matrix(Sigma), pr.Z0), Ps_w, Qs_w),
              solve_tolerance(st, max(1.0, float(np.max(np.abs(ours))))))
    if WICK_FD.get(L, 0) < d:
        chk.undecided(f"exact full-matrix gradient at a* vanishes ({at})",
                      f"not checked at L={L}, d={d}: the exact (Wick) full-matrix loss runs at L = 2 (d <= 4) and "
                      "L = 3 (d <= 3) (the restricted steps above are checked)")
        return chk
    if L == 2:
        G = _fd_full_grad(Sigma, a_star, n)
        chk.close(f"exact full-matrix loss (Wick): gradient at a* vanishes in every entry ({at})", G, 0.0 * G,
                  atol=1e-6, reason="central differences with h = 1e-5 on an O(1) smooth function: error ~1e-9")
        a_off = a_star * np.array([0.7, 1.3])
        G = _fd_full_grad(Sigma, a_off, n)
        pred = np.array([gi / d * Sigma for gi in gd_loss_grad(a_off, st)])
        chk.close(f"exact full-matrix loss: gradient off a* equals (dF/da_i / d) Sigma ({at})", G, pred, atol=1e-6,
                  reason="central differences, h = 1e-5")
        return chk
    Sh, Si = sqrtm_psd(Sigma), np.linalg.inv(Sigma)
    A3 = np.array([al * Si for al in a_star])  # (3, d, d)
    dd = []
    for l in range(3):
        E = np.zeros_like(A3)
        E[l] = rng.standard_normal((d, d))
        dd.append(directional_derivative(lambda As: full_gd_loss([Sh @ A @ Sh for A in As], (d, n)), A3, E, h=1e-4))
    chk.close(f"exact full-matrix loss (Wick): directional derivatives at a* along random full E vanish ({at})",
              dd, [0.0] * 3, atol=1e-6, reason="central differences, h = 1e-4")
    return chk


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    d, n, L = SIZES.at(ctx).d_n_L
    eig = (1.0, 1.0, 0.25, 0.0625, 1.0) if d == 5 else (1.0, 0.25, 0.0625)
    Sigma = ahn_sigma(ctx.stream("sigma"), eig)
    st = Setting.make(Sigma, n, Sigma_w="inv")

    # 1. whitening on the literal forward pass, sample by sample
    rng = ctx.stream("whitening")
    pr = sample_prompts(st, 200, rng)
    a_test = np.array([0.5, 1.2, 0.8])
    Ps, Qs = family_params(Sigma, a_test)
    D = whitening_matrix(Sigma)
    Ps_w, Qs_w = family_params(np.eye(d), a_test)
    chk.close("whitening: literal prediction on Sigma-prompts with A = a Sigma^-1 equals whitened prompts with a I",
              predict(pr.Z0, Ps, Qs), predict(np.linalg.solve(D, pr.Z0), Ps_w, Qs_w), rtol=1e-9, atol=1e-12,
              reason="same arithmetic up to rounding of Sigma^{1/2} and its inverse")

    # 2. certified global minimum of the restricted loss (Ahn's d = 5, n = 20 and the check's d, n)
    for dd, nn in {(5, 20), (d, n)}:
        opt = optimal_gd_exact(L, n=nn, d=dd)
        H_ok = opt.positive_definite
        chk.decided(f"restricted optimum certified (d={dd}, n={nn}, L={L}): Hankel form > 0 (exact Sylvester "
                     "minors) and the minimising polynomial has L real roots (exact Sturm count)", opt.certified, f"a* = {[round(v, 8) for v in opt.a_float()]}, F(a*) = {float(opt.loss):.10g}; PD={H_ok}", computed=[float(v) for v in opt.a_float()], expected=None, exact=True)
    a_star = optimal_gd(st, L).coefficients
    chk.close("dF/da_i = 0 at a* (exact polynomial gradient at the rounded algebraic roots)",
              gd_loss_grad(a_star, st), np.zeros(L), atol=1e-10,
              reason="a* rounded to double precision; F has O(1) Hessian")

    # The Monte Carlo routes use L = 2, d = 3, n = 20: for L = 3 at n/d <= 4 the per-prompt gradients are
    # polynomials of degree ~7 in S with tails too heavy for a CLT interval at the 1e-4 level (observed:
    # Bonferroni |z| > 4 in a few of 10 seeds although the exact expectation is 0). L = 3 is covered by the
    # exact route below.
    dm, nm, Lm = 3, 20, 2
    Sig_m = ahn_sigma(ctx.stream("mc_sigma"), (1.0, 0.25, 0.0625))
    st_m = Setting.make(Sig_m, nm, Sigma_w="inv")
    a_m = optimal_gd(st_m, Lm).coefficients
    est = mc_loss(st_m, *family_params(Sig_m, a_m), samples=SIZES.at(ctx).samples,
                  rng=ctx.stream("mc_loss"))
    chk.within_ci(f"exact F(a*) inside the Monte Carlo CI of the literal model (d={dm}, n={nm}, L={Lm})", est,
                  gd_loss(a_m, st_m))

    # 3. full gradient on S equals (dF/da_i / d) Sigma, at a non-critical point (power) ...
    samples = SIZES.at(ctx).samples
    a_off = a_m * np.array([1.3, 0.75])
    g = mc_full_gradient(st_m, *family_params(Sig_m, a_off), samples=samples, rng=ctx.stream("mc_gradient_off"))
    dA, se = g.dA()
    pred = np.array([gi / dm * Sig_m for gi in gd_loss_grad(a_off, st_m)])
    zmax = float(np.max(np.abs(dA - pred) / se))
    thr = bonferroni_z(dA.size)
    power = float(np.max(np.abs(pred) / se))  # the z a zero gradient would show on the best entry
    chk.z_test("off-critical point of S: MC full gradient (backprop, literal model) = (dF/da_i / d) Sigma entrywise", zmax, thr, detail=f"max |z| = {zmax:.2f} <= {thr:.2f} (Bonferroni, {dA.size} entries, 99.9%); largest prediction/stderr = "
                 f"{power:.1f}", computed=dA, expected=pred)
    if power < thr + 2:
        chk.undecided("power of the gradient check", f"prediction only {power:.1f} stderr from 0 (< threshold + 2): a zero gradient would not be "
                     "reliably detected")

    # ... and at a*: the full gradient vanishes
    g = mc_full_gradient(st_m, *family_params(Sig_m, a_m), samples=samples, rng=ctx.stream("mc_gradient_at"))
    dA, se = g.dA()
    zmax = float(np.max(np.abs(dA) / se))
    chk.z_test("at a*: MC full gradient w.r.t. every A_i within its CI of 0", zmax, thr, detail=f"max |z| = {zmax:.2f} <= {thr:.2f}; max |grad| = {np.max(np.abs(dA)):.3g}, max stderr "
                 f"{np.max(se):.3g}", computed=dA, expected=0.0)

    # exact route: Wick expectation of the full-matrix loss (the Lemma 1 recursion equals the literal model
    # sample by sample, tests/numerics/test_multilayer.py), central differences in every entry
    d2, n2 = 3, 8
    Sigma2 = ahn_sigma(ctx.stream("wick_sigma"), (1.0, 0.25, 0.0625))
    a2 = optimal_gd((d2, n2), 2).coefficients
    G = _fd_full_grad(Sigma2, a2, n2)
    chk.close("exact full-matrix loss (Wick, L=2, non-isotropic Sigma): gradient at a* vanishes", G, 0.0 * G,
              atol=1e-6, reason="central differences with h = 1e-5 on an O(1) smooth function: error ~1e-9")
    a2o = a2 * np.array([0.7, 1.3])
    G = _fd_full_grad(Sigma2, a2o, n2)
    pred2 = np.array([gi / d2 * Sigma2 for gi in gd_loss_grad(a2o, (d2, n2))])
    chk.close("exact full-matrix loss: gradient off a* equals (dF/da_i / d) Sigma", G, pred2, atol=1e-6,
              reason="central differences, h = 1e-5")
    if ctx.thorough:  # census of the restricted critical points (Newton from random starts; not exhaustive)
        cps = gd_critical_points((5, 20), 3, starts=300, seed=ctx.seed)
        distinct = [t for t in cps if np.min(np.diff(t[0])) > 1e-5]
        ok = len(distinct) == 1 and all(neg >= 1 for a_, _, neg in cps if np.min(np.diff(a_)) <= 1e-5)
        chk.decided("census of restricted critical points (d=5, n=20, L=3): one with distinct a_i (the optimum), "
                     "all others have a repeated a_i and are saddles", ok, "; ".join(f"a={np.round(a_, 4).tolist()} F={f_:.6g} neg.eig={neg}" for a_, f_, neg in cps))
    if ctx.thorough:  # L = 3, exact directional derivatives along random full directions
        d3, n3 = 3, 20
        Sigma3 = ahn_sigma(ctx.stream("l3_sigma"), (1.0, 0.25, 0.0625))
        Sh3, Si3 = sqrtm_psd(Sigma3), np.linalg.inv(Sigma3)
        a3 = optimal_gd((d3, n3), 3).coefficients
        r = ctx.stream("l3_directions")
        derivs = []
        A3 = np.array([al * Si3 for al in a3])  # (3, d, d)
        for l in range(3):
            E = np.zeros_like(A3)
            E[l] = r.standard_normal((d3, d3))
            derivs.append(directional_derivative(lambda As: full_gd_loss([Sh3 @ A @ Sh3 for A in As], (d3, n3)), A3, E,
                                             h=1e-4))
        chk.close("exact full-matrix loss (Wick, L=3): directional derivatives at a* along random full E vanish",
                  derivs, [0.0] * 3, atol=1e-6, reason="central differences, h = 1e-4")

    finding = ("Confirmed, and sharper than stated: for Gaussian data without noise the infimum is attained. The "
               "restricted loss is a convex quadratic in the coefficients of p(x) = prod (1 - a_l x); its minimiser "
               "is the kernel polynomial of the expected spectral measure of S, which has L real positive roots "
               "1/a_l (orthogonal polynomials of x dmu on (0, inf)); certified exactly for the instances above.")
    check_released_attention(chk, st, *family_params(Sigma, a_star), ctx.stream("released"), what="the (8) optimum a*")
    return chk, finding


CLAIM_KEY = "ahn2023.thm3"
CLAIM = Claim(key=CLAIM_KEY, title="L-layer (8): critical point A_i = a_i Sigma^-1", source=SOURCE,
              statement=STATEMENT, notation=NOTATION, verify=verify, parameters=("Sigma", "n", "Sigma_w", "L"),
              at_setting=_at_setting, accepts=_accepts,
              fixed="the statement is for Gaussian x, w ~ N(0, Sigma^-1) and no noise",
              streams=dict(sigma=1, whitening=2, mc_loss=3, mc_gradient_off=4, mc_gradient_at=5, wick_sigma=6,
                           mc_sigma=7, l3_sigma=8, l3_directions=9, released=777))

