"""[Zhang, Frei, Bartlett 2024, Thm 4.1] Gradient flow from their structured initialisation reaches a global minimum
with W^PV_22 W^KQ_11 = Gamma^{-1}, Gamma := (1 + 1/N) Lambda + (1/N) tr(Lambda) I_d, for x ~ N(0, Lambda), w ~ N(0, I).

Checked (the limit point, not the gradient-flow dynamics): (1) Gamma^{-1} equals the canonical derived optimum
Gamma* exactly (symbolic N; diagonal and rational-rotated Lambda); (2) their literal forward pass (no mask,
+ sign; theory.notation.zhang.zhang_forward, written separately) at their solution equals the canonical forward
pass at the mapped (P, Q) = (W^PV, -W^KQ) on random prompts, for several splits u of W^PV_22 W^KQ_11;
(3) away from their solution the two differ exactly by the unmasked query term (W^PV[d+1,:d] x_q)(x_q^T W^KQ_11 x_q)/N;
(4) their loss (1/2) E(y_hat - y)^2 at the solution, by Monte Carlo of THEIR forward pass, equals L*/2 (99.9% CI);
(5) global: that value is the minimum over the full (W^PV, W^KQ) space: in THEIR unmasked model the even part
(query term included) is orthogonal to the odd part (Monte Carlo of E[(y_hat - y)^2 - y_hat_even^2] = L(Gamma_eff) at
random weights), and ahn2023.thm1's certificate runs on their data law for the masked model.

At a user's setting (``Claim.at_setting``: Lambda = Sigma and N = n; Gaussian, w ~ N(0, I), noiseless): (1) exactly
(exact inputs, d <= 6) and in floats, (2)-(4) on the user's data law (n d <= 400), (5b) the full-space certificate.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.forward import predict, sample_prompts
from iclcheck.numerics.model.montecarlo import mc_mean
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps import cayley, check_full_space_global
from iclcheck.proofs.steps.moved import MC_MAX_ND, full_space_at, solve_tolerance, use_exact
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation.ahn import odd_part_gamma
from iclcheck.theory.notation.zhang import NOTATION, to_canonical, zhang_forward, zhang_gamma, zhang_solution
from iclcheck.theory.one_layer import gamma_star_exact
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "verify"]

SOURCE = "[Zhang, Frei, Bartlett 2024 (JMLR), Thm 4.1] arXiv 2306.09927"
STATEMENT = ("f(E) = E + W^PV E (E^T W^KQ E)/N, y_hat = [f(E)]_{d+1,N+1}, loss (1/2) E (y_hat - y)^2, x ~ N(0, Lambda), "
             "w ~ N(0, I): gradient flow from a small structured initialisation reaches a global minimum with "
             "W^PV_22 W^KQ_11 = Gamma^{-1}, Gamma := (1 + 1/N) Lambda + (1/N) tr(Lambda) I_d.")

NS = sp.Symbol("N", positive=True, integer=True)
REORDERED = Tolerance(atol=1e-10, reason="same products in another order; predictions are O(10): rounding ~1e-14")
DIFFERENCES = Tolerance(atol=1e-9, reason="differences of O(100) numbers: rounding ~1e-12")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(samples=100_000, exact_cases=2, unmasked_draws=1),
                 thorough=dict(samples=300_000, exact_cases=4, unmasked_draws=3))


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """The run at a user's setting (Claim.at_setting)."""
    chk = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n = st.d, int(st.n)
    where = f"your Lambda, d={d}, N={n}"
    if use_exact(st):
        chk.exact(f"Gamma^-1 = derived Gamma* ({where}, exact)", gamma_star_exact(st),
                  zhang_gamma(st.Sigma_exact, n).inv().applyfunc(sp.simplify))
    Gi = np.linalg.inv(zhang_gamma(st.Sigma, n))
    chk.close(f"Gamma^-1 = derived Gamma* ({where}, float)", OneLayer(st).gamma_star(), Gi,
              solve_tolerance(st, float(np.max(np.abs(Gi)))))
    W_PV, W_KQ = zhang_solution(st.Sigma, n)
    P, Q = to_canonical(W_PV, W_KQ)
    if n * d <= MC_MAX_ND:
        pr = sample_prompts(st, 256, rng)
        ours = predict(pr.Z0, [P], [Q])
        scale = max(1.0, float(np.max(np.abs(ours))) * d)
        chk.close(f"their forward pass at their solution = canonical forward at (W^PV, -W^KQ) ({where})",
                  zhang_forward(pr.Z0, W_PV, W_KQ), ours,
                  Tolerance(atol=1e-13 * scale, reason="the same products in another order: rounding ~1e-16 x d x "
                            "|prediction|, 1e-13 leaves margin"))

        def half_sq(r: np.random.Generator, m: int) -> np.ndarray:
            p = sample_prompts(st, m, r)
            return 0.5 * (zhang_forward(p.Z0, W_PV, W_KQ) - p.yq) ** 2

        est = mc_mean(half_sq, samples=SIZES.at(ctx).samples, rng=rng)
        chk.within_ci(f"their loss (1/2)E(y_hat - y)^2 at their solution (their forward pass) = L*/2 ({where})", est,
                      OneLayer(st).min_loss() / 2)
    full_space_at(chk, st, P, Q, rng=rng, thorough=ctx.thorough, target="their solution's")
    return chk


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    # 1. exact
    for _ in range(SIZES.at(ctx).exact_cases):
        d = int(rng.integers(1, 4))
        Lam = sp.diag(*[sp.Rational(int(k), 2) for k in rng.integers(1, 9, size=d)])
        chk.exact(f"Gamma^-1 = derived Gamma* (diagonal Lambda, d={d}, symbolic N)",
                  gamma_star_exact(Setting.make(Lam, NS)), zhang_gamma(Lam, NS).inv().applyfunc(sp.simplify))
    U = cayley(sp.Matrix([[0, 1], [sp.Rational(-1, 3), 1]]))
    Lam = (U * sp.diag(sp.Rational(1, 2), 3) * U.T).applyfunc(sp.nsimplify)
    n = int(rng.integers(1, 20))
    chk.exact(f"Gamma^-1 = derived Gamma* (rotated rational Lambda, N={n})", gamma_star_exact(Setting.make(Lam, n)),
              zhang_gamma(Lam, n).inv())
    # 2.-3. forward passes, their parameterisation vs ours
    d, n = 4, 10
    A = rng.normal(size=(d, d))
    Lf = A @ A.T / d + 0.5 * np.eye(d)
    st = Setting.make(Lf, n)
    pr = sample_prompts(st, 256, rng)
    for u in (1.0, -0.5, 3.0):
        W_PV, W_KQ = zhang_solution(Lf, n, u=u)
        P, Q = to_canonical(W_PV, W_KQ)
        chk.close(f"their forward pass at their solution (u = W^PV_22 = {u:g}) = canonical forward at (W^PV, -W^KQ)",
                  zhang_forward(pr.Z0, W_PV, W_KQ), predict(pr.Z0, [P], [Q]), REORDERED)
    W_PV, W_KQ = rng.normal(size=(d + 1, d + 1)), rng.normal(size=(d + 1, d + 1)) / d
    P, Q = to_canonical(W_PV, W_KQ)
    extra = (pr.xq @ W_PV[d, :d]) * np.einsum("bi,ij,bj->b", pr.xq, W_KQ[:d, :d], pr.xq) / n  # (B,)
    chk.close("random weights: theirs - ours = unmasked query term (W^PV[d+1,:d] x_q)(x_q^T W^KQ_11 x_q)/N",
              zhang_forward(pr.Z0, W_PV, W_KQ) - predict(pr.Z0, [P], [Q]), extra, DIFFERENCES)
    # 4. their loss at their solution by their forward pass = L*/2
    W_PV, W_KQ = zhang_solution(Lf, n)

    def half_sq(r: np.random.Generator, m: int) -> np.ndarray:
        p = sample_prompts(st, m, r)
        return 0.5 * (zhang_forward(p.Z0, W_PV, W_KQ) - p.yq) ** 2

    est = mc_mean(half_sq, samples=SIZES.at(ctx).samples, rng=rng)
    chk.within_ci("their loss (1/2)E(y_hat - y)^2 at their solution (their forward pass) = L*/2 (d=4, N=10)", est,
                  OneLayer(st).min_loss() / 2)
    # 5a. their UNMASKED model: the even part (including the query term) is orthogonal to the odd part
    for k in range(SIZES.at(ctx).unmasked_draws):
        W_PV, W_KQ = rng.normal(size=(d + 1, d + 1)) * 0.4, rng.normal(size=(d + 1, d + 1)) * 0.4 / d
        P, Q = to_canonical(W_PV, W_KQ)
        G_eff = odd_part_gamma(P[d, :d, None], P[d, d], Q[:d, :d], Q[d, :d, None])  # (d, d)

        def sq_minus_even(r: np.random.Generator, m: int, W_PV=W_PV, W_KQ=W_KQ, G_eff=G_eff) -> np.ndarray:
            p = sample_prompts(st, m, r)
            yhat = zhang_forward(p.Z0, W_PV, W_KQ)  # (m,)
            odd = np.einsum("bd,de,be->b", p.xq, G_eff, np.einsum("bnd,bn->bd", p.X, p.y) / n)  # (m,)
            return (yhat - p.yq) ** 2 - (yhat - odd) ** 2

        chk.within_ci(f"their unmasked model at random weights #{k + 1}: E[(y_hat - y)^2 - y_hat_even^2] = "
                      "L(Gamma_eff) (the cross term vanishes, so their loss >= L*/2)",
                      mc_mean(sq_minus_even, samples=SIZES.at(ctx).samples, rng=rng),
                      OneLayer(st).reduced_loss(G_eff))
    # 5b. global over the full space of the canonical (masked) model
    n2 = 4
    L2 = np.array([[1.5, 0.3], [0.3, 0.7]])
    P, Q = to_canonical(*zhang_solution(L2, n2))
    check_full_space_global(chk, Setting.make(L2, n2), Setting.make([[1, 0], [0, 2]], 3), P, Q, rng=rng,
                            thorough=ctx.thorough, target="their solution's")
    return chk


CLAIM = Claim(key="zfb2024.thm4_1", aliases=("zhang2024.thm4_1",), title="W^PV_22 W^KQ_11 = Gamma^-1 (limit point)",
              source=SOURCE,
              statement=STATEMENT, notation=NOTATION, verify=verify, at_setting=_at_setting, salt=307, parameters=("Sigma", "n"),
              fixed="the statement is for Gaussian x, w ~ N(0, I) and no noise")
