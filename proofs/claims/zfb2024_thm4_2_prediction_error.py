"""[Zhang, Frei, Bartlett 2024 (JMLR), Thm 4.2 and Cor 4.3, as restated by a third-party note] The prediction error
of the trained LSA at test prompt length M (training length N), for any test law with x ~ N(0, Lambda).

Checked (notes/NEXT-CLAIMS.md §1.2, tag 3P + DERIVED):
(1) exact, symbolic N, M, sigma^2 and a symbolic symmetric Sigma_w: for linear-plus-noise targets y = w^T x + eps,
    the theorem's right-hand side averaged over w ~ N(0, Sigma_w) equals the master loss of Gamma_ZFB^{-1} at the
    test setting (numerics.one_layer.shift's formula, theory.one_layer.reduced_loss_formula at n = M) plus sigma^2. Both sides
    are c_0 + w^T B w for a fixed w and affine in Sigma_w after averaging; Sigma_w ranges over all symmetric matrices,
    so the identity holds for every fixed w (the theorem's form) - the §13 row "ZFB Thm 4.2 = master";
(2) the derived Monte Carlo example of NEXT-CLAIMS (d=3, N=10, M=7, fixed w, noise 0.3) evaluates to 1.24734;
(3) a nonlinear target y = w^T x + x_1^3/5 + eps: (a, Cov(xy), min_w E(w^T x - y)^2) from exact Gaussian moments,
    the theorem's value against Monte Carlo of the literal forward pass (99.9% CI);
(4) Cor 4.3 (noiseless, w ~ N(0, I)): the exact error is <= (d+1) tr Lambda / M + (1 + 2d + d^2 kappa) tr Lambda / N^2
    at random rational diagonal Lambda, N, M (rational arithmetic);
(5) exact: the 1/N^2 term vanishes as N -> oo at fixed M.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.forward import predict
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.numerics.model.montecarlo import mc_mean
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps.moved import solve_tolerance, use_exact
from iclcheck.proofs.steps.shift import (
    MT,
    NT,
    ZFB_NOTATION,
    gaussian_expectation,
    limit_at_infinity,
    master_loss_symbolic,
    zfb_trained_gamma,
)
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation.zhang import thm4_2_rhs as theorem_rhs
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "theorem_rhs"]

S2 = sp.Symbol("sigma2", nonnegative=True)
PRINTED5 = Tolerance(atol=5.1e-6, reason="NEXT-CLAIMS prints the formula's value to 5 decimals")
SOLVE = Tolerance(rtol=1e-12, atol=1e-15, reason="a diagonal inverse vs a Cholesky solve: rounding only")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(samples=40_000, random_cases=4), thorough=dict(samples=400_000, random_cases=12))


def _rhs_averaged(Lam: sp.Matrix, N, M, W: sp.Matrix, s2) -> sp.Expr:
    """The right-hand side for y = w^T x + eps averaged over w ~ N(0, W): a a^T -> W, Cov(xy) -> (tr(L W) + s2) L + L W L."""
    G2 = zfb_trained_gamma(Lam, N) ** 2
    t = Lam.trace()
    Sig = ((Lam * W).trace() + s2) * Lam + Lam * W * Lam
    B = G2 * Lam ** 3 + 2 * t * G2 * Lam ** 2 + t ** 2 * G2 * Lam
    return s2 + (Sig * G2 * Lam).trace() / M + (B * W).trace() / N ** 2


def _accepts(user: UserSetting) -> tuple[str, str] | None:
    st, te = user.setting, user.test
    if te is not None and not (np.array_equal(te.Sigma, st.Sigma) and np.array_equal(te.Sigma_w, st.Sigma_w)
                               and te.sigma2 == st.sigma2 and te.covariates == st.covariates):
        return "test", "its statement changes the prompt length only (test M): the test setting may change n, nothing else"
    return None


def _rhs_averaged_float(Lam: np.ndarray, G2: np.ndarray, M: int, N: int, W: np.ndarray, s2: float) -> float:
    """_rhs_averaged in floats, G2 = Gamma^-2 (the square of the trained canonical Gamma_ZFB^-1)."""
    t = float(np.trace(Lam))
    Sig = (float(np.trace(Lam @ W)) + s2) * Lam + Lam @ W @ Lam  # (d, d) Cov(xy) averaged over w
    B = G2 @ Lam @ Lam @ Lam + 2 * t * G2 @ Lam @ Lam + t ** 2 * G2 @ Lam  # (d, d)
    return s2 + float(np.trace(Sig @ G2 @ Lam)) / M + float(np.trace(B @ W)) / N ** 2


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """At the user's Lambda = Sigma, N = n (training: w ~ N(0, I), noiseless), test law y = w^T x + eps with the
    user's w ~ N(0, Sigma_w) and sigma^2, test length M = the test setting's n (default M = N): Thm 4.2's right-hand
    side averaged over w against the master loss of Gamma_ZFB^-1 at the test setting (exactly for exact inputs,
    d <= 6, and in floats); Cor 4.3's bound where it applies (Sigma_w = I, no noise)."""
    chk = Checker()
    st = user.setting
    d, N = st.d, int(st.n)
    M = int(user.test.n) if user.test is not None else N
    at = f"your Lambda, d={d}, N={N}, M={M}" + (f", sigma^2={st.sigma2:.6g}" if st.sigma2 else "")
    test = Setting.make(st.Sigma, M, Sigma_w=st.Sigma_w, sigma2=st.sigma2)
    if use_exact(st):
        Lam, W, s2 = st.Sigma_exact, st.Sigma_w_exact, st.sigma2_exact
        lhs = master_loss_symbolic(Lam, W, s2, sp.Integer(M), zfb_trained_gamma(Lam, sp.Integer(N))) + s2
        chk.exact(f"Thm 4.2 RHS (averaged over w ~ N(0, Sigma_w)) = master loss of Gamma_ZFB^-1 at M + sigma^2 ({at}, "
                  "exact)", sp.cancel(sp.expand(lhs - _rhs_averaged(Lam, sp.Integer(N), sp.Integer(M), W, s2))), 0)
    G = np.asarray(zfb_trained_gamma(st.Sigma, N), dtype=float)  # (d, d) the trained Gamma_ZFB^-1 (canonical)
    err = OneLayer(test).reduced_loss(G) + st.sigma2
    rhs = _rhs_averaged_float(st.Sigma, G @ G, M, N, st.Sigma_w, st.sigma2)
    chk.close(f"Thm 4.2 RHS = master loss of Gamma_ZFB^-1 at M + sigma^2 ({at}, float)", rhs, err,
              solve_tolerance(st, max(1.0, err)))
    if st.task_cov_kind == "identity" and st.sigma2 == 0:
        ev = np.linalg.eigvalsh(st.Sigma)
        t, kappa = float(ev.sum()), float(ev[-1] / ev[0])
        bound = (d + 1) * t / M + (1 + 2 * d + d ** 2 * kappa) * t / N ** 2
        chk.bounded(f"Cor 4.3: error <= (d+1) tr L/M + (1+2d+d^2 kappa) tr L/N^2 ({at})", err - bound, 0.0,
                    detail=f"error {err:.6g} vs bound {bound:.6g}", computed=err, expected=bound)
    return chk


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    # (1) exact identity with symbolic N, M, sigma^2, Sigma_w
    wa, wb, wc = sp.symbols("w11 w12 w22", real=True)
    W = sp.Matrix([[wa, wb], [wb, wc]])
    lams = [sp.diag(*[sp.Rational(int(v), 2) for v in rng.integers(1, 7, size=2)])]
    if ctx.thorough:
        lams.append(sp.diag(*[sp.Rational(int(v), 3) for v in rng.integers(1, 9, size=2)]))
    for Lam in lams:
        lhs = master_loss_symbolic(Lam, W, S2, MT, zfb_trained_gamma(Lam, NT)) + S2
        chk.exact(f"Thm 4.2 RHS (averaged over w ~ N(0, Sigma_w)) = master loss of Gamma_ZFB^-1 at test length M + sigma^2 "
                  f"(Lambda = {list(Lam.diagonal())}; symbolic N, M, sigma^2, Sigma_w)",
                  sp.cancel(sp.expand(lhs - _rhs_averaged(Lam, NT, MT, W, S2))), 0,
                  detail="exact; both sides are c_0 + w^T B w for fixed w, so equality for every symmetric Sigma_w is "
                         "equality for every fixed w")
    # (2) the derived Monte Carlo example: d=3, N=10, M=7, Lambda=diag(2,1,1/2), w=(0.7,-1.2,0.4), noise 0.3
    Lam3 = sp.diag(2, 1, sp.Rational(1, 2))
    w3 = sp.Matrix([sp.Rational(7, 10), sp.Rational(-6, 5), sp.Rational(2, 5)])
    s2e = sp.Rational(3, 10)
    Sig3 = ((w3.T * Lam3 * w3)[0, 0] + s2e) * Lam3 + Lam3 * w3 * w3.T * Lam3
    val = theorem_rhs(Lam3, 10, 7, w3, Sig3, s2e)
    via_master = master_loss_symbolic(Lam3, w3 * w3.T, s2e, sp.Integer(7), zfb_trained_gamma(Lam3, sp.Integer(10))) + s2e
    chk.exact("fixed w: Thm 4.2 RHS = master loss at Sigma_w = w w^T (the rank-one task law) + sigma^2 (d=3, N=10, M=7)",
              val - via_master, 0)
    chk.close("NEXT-CLAIMS' derived example (noise variance 0.3) = 1.24734", float(val), 1.24734, PRINTED5)
    # (3) a nonlinear target, y = w^T x + c x_1^3 + eps, by exact Gaussian moments vs the literal forward pass
    z = sp.symbols("z1 z2", real=True)
    Lam2 = sp.diag(1, sp.Rational(1, 2))
    wv, c, s2n, N2, M2 = sp.Matrix([sp.Rational(1, 2), -1]), sp.Rational(1, 5), sp.Rational(1, 5), 6, 4
    x = sp.Matrix([sp.sqrt(Lam2[0, 0]) * z[0], sp.sqrt(Lam2[1, 1]) * z[1]])
    f = (wv.T * x)[0, 0] + c * x[0] ** 3  # the noiseless part of y
    Exy = sp.Matrix([gaussian_expectation(x[i] * f, list(z)) for i in range(2)])
    a = Lam2.inv() * Exy
    Cxy = sp.Matrix(2, 2, lambda i, j: gaussian_expectation(x[i] * x[j] * f ** 2, list(z))
                    + s2n * Lam2[i, j]) - Exy * Exy.T
    min_err = gaussian_expectation((f - (a.T * x)[0, 0]) ** 2, list(z)) + s2n
    pred_err = float(theorem_rhs(Lam2, N2, M2, a, Cxy, min_err))
    G = np.array(zfb_trained_gamma(Lam2, sp.Integer(N2)), dtype=float)
    P = np.zeros((3, 3))
    P[2, 2] = 1.0
    Q = np.zeros((3, 3))
    Q[:2, :2] = -G.T
    sq = np.sqrt(np.array([1.0, 0.5]))
    wn, cn = np.array([0.5, -1.0]), 0.2

    def sq_err(r: np.random.Generator, m: int) -> np.ndarray:
        xs = r.standard_normal((m, M2 + 1, 2)) * sq  # (m, M+1, 2)
        ys = xs @ wn + cn * xs[..., 0] ** 3 + np.sqrt(0.2) * r.standard_normal((m, M2 + 1))  # (m, M+1)
        return (predict(build_prompts(xs[:, :M2], ys[:, :M2], xs[:, M2]), [P], [Q]) - ys[:, M2]) ** 2

    chk.within_ci(f"nonlinear target y = w^T x + x_1^3/5 + eps (N={N2}, M={M2}): theorem value {pred_err:.5g} vs "
                  "the literal forward pass", mc_mean(sq_err, samples=SIZES.at(ctx).samples, rng=rng),
                  pred_err, reason="(a, Cov(xy), min error) from exact Gaussian moments")
    # (4) Cor 4.3 on random rational diagonal Lambda (noiseless, w ~ N(0, I)), rational arithmetic
    worst = sp.Integer(0)
    cases = []
    for _ in range(SIZES.at(ctx).random_cases):
        d = int(rng.integers(1, 5))
        lam = [sp.Rational(int(v), int(rng.integers(1, 5))) for v in rng.integers(1, 30, size=d)]
        Lam, N, M = sp.diag(*lam), int(rng.integers(1, 40)), int(rng.integers(1, 40))
        err = master_loss_symbolic(Lam, sp.eye(d), 0, sp.Integer(M), zfb_trained_gamma(Lam, sp.Integer(N)))
        kappa, t = max(lam) / min(lam), sum(lam)
        bound = (d + 1) * t / M + (1 + 2 * d + d ** 2 * kappa) * t / N ** 2
        worst = max(worst, err / bound)
        cases.append(f"d={d} N={N} M={M}")
    chk.decided(f"Cor 4.3: exact error <= (d+1) tr L/M + (1+2d+d^2 kappa) tr L/N^2 ({'; '.join(cases)})", worst <= 1,
                f"largest error/bound = {float(worst):.4f} (rational arithmetic)", computed=float(worst), expected=1.0,
                exact=True)
    # (5) the 1/N^2 term vanishes as N -> oo at fixed M
    Lam = lams[0]
    lhs = master_loss_symbolic(Lam, sp.eye(2), 0, MT, zfb_trained_gamma(Lam, NT))
    Sig = Lam.trace() * Lam + Lam ** 2
    chk.exact("N -> oo at fixed M: error -> (1/M) tr(Cov(xy) Lambda^-1) (noiseless, w ~ N(0, I); exact limit)",
              sp.cancel(limit_at_infinity(lhs, NT) - (Sig * Lam.inv()).trace() / MT), 0)
    # the canonical Gamma of the trained LSA is the master optimum at the training setting (floats, random Lambda)
    A = rng.normal(size=(3, 3))
    Lf = A @ A.T / 3 + 0.3 * np.eye(3)
    chk.close("trained Gamma_ZFB^-1 = master Gamma* at (Lambda, N = 10) (random Lambda, floats)",
              zfb_trained_gamma(Lf, 10), OneLayer(Setting.make(Lf, 10)).gamma_star(), SOLVE)
    return chk


CLAIM = Claim(key="zfb2024.thm4_2.prediction_error", title="error at test length M (train N), Cor 4.3 bound",
              source="[Zhang, Frei, Bartlett 2024 (JMLR), Thm 4.2 and Cor 4.3, restated in a third-party note "
                     "(notes/NEXT-CLAIMS.md §1.2)] arXiv 2306.09927",
              statement="x ~ N(0, Lambda), a := Lambda^-1 E[xy], Sigma := Cov(xy): E(y_hat_q - y_q)^2 = min_w E(<w, x_q> - "
                        "y_q)^2 + (1/M) tr(Sigma Gamma^-2 Lambda) + (1/N^2)[|a|^2_{Gamma^-2 Lambda^3} + 2 tr(Lambda) "
                        "|a|^2_{Gamma^-2 Lambda^2} + tr(Lambda)^2 |a|^2_{Gamma^-2 Lambda}]. Cor 4.3 (y = <w, x>, "
                        "w ~ N(0, I)): error <= (d+1) tr Lambda / M + (1 + 2d + d^2 kappa) tr Lambda / N^2.",
              notation=ZFB_NOTATION, verify=verify, provenance="3P+DERIVED",
              parameters=("Sigma", "n", "Sigma_w", "sigma2", "test"), at_setting=_at_setting, accepts=_accepts,
              fixed="the statement is for Gaussian x")
