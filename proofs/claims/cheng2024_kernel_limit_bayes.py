"""[Cheng, Chen, Sra 2024, Sec. 4 (as recorded)] many functional-GD layers reach kernel regression, which is the
Bayes predictor when the attention kernel matches the labels' kernel (arXiv 2312.06528).

Setting: the functional-GD construction of cheng2024.functional_gd with a constant step eta. Claim (derived from
the recorded statement): for 0 < eta lambda_max(K) / n < 2, f_L(x_q) = k_q^T K^{-1} (I - (I - eta K / n)^L) y ->
k_q^T K^{-1} y (ridgeless kernel regression); if y ~ GP(0, K) with K = h (matching kernel) this is the posterior mean,
whose risk is the posterior variance K_qq - k^T K^{-1} k, and the layer-L risk given X is K_qq - 2 k^T G_L k +
k^T G_L K G_L k with G_L = K^{-1} (I - (I - eta K / n)^L) >= the posterior variance. Checked on Cheng et al.'s sphere
covariates (numerics.attention.kernels.sphere_covariates) with the exponential kernel exp(<x, x'> / d) by exact linear algebra
and Monte Carlo over GP labels; the ReLU kernel, whose labels Cheng et al.'s code draws from K_+ (absolute
eigenvalues), is reported separately.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.attention.kernel_attention import functional_gd, functional_gd_closed_form
from iclcheck.numerics.attention.kernels import (
    kernel_matrix,
    kernel_regression,
    sample_gp_labels,
    sphere_covariates,
)
from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance

KEY = "cheng2024.kernel_limit_bayes"
SOURCE = "[Cheng, Chen, Sra 2024, Sec. 4 and App. D (as recorded)] arXiv 2312.06528"
STATEMENT = ("With a constant step 0 < eta < 2n / lambda_max(K), the L-layer functional-GD transformer converges to "
             "kernel regression k_q^T K^{-1} y as L -> infinity; when the labels are a GP with the attention's kernel "
             "this is the Bayes-optimal (posterior-mean) predictor.")
NOTATION = (
    "K = [h(x_i, x_j)] (n x n, context), k_q = [h(x_i, x_q)], K_qq = h(x_q, x_q); h(x, x') = exp(<x, x'> / d) (their exp "
    "kernel, the scale 1/d folded into b_l^2) or max(0, <x, x'>). Labels (y, y_q) ~ N(0, K_+) over the n+1 points "
    "(K_+ = K for the PSD exp kernel; absolute eigenvalues for ReLU, their code's convention). Risk E (f_L(x_q) - y_q)^2."
)
ITER = Tolerance(rtol=1e-10, atol=1e-12, reason="the closed form (eigendecomposition) against L explicit iterations: "
                 "rounding of O(L n^2) flops")
LIMIT = Tolerance(rtol=1e-7, atol=1e-9, reason="(1 - t)^L <= 1e-14 at the chosen L; K^{-1} of kernel matrices with "
                  "condition numbers up to ~1e6 loses ~1e-10")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(B=1_500), thorough=dict(B=6_000))


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    d, n, L = 5, 8, 3
    B = SIZES.at(ctx).B
    X = sphere_covariates(rng, B, n + 1, d)  # (B, n+1, d)
    Kall = kernel_matrix("exp", X, scale=1 / d)  # (B, n+1, n+1)
    K, k, kqq = Kall[:, :n, :n], Kall[:, :n, n], Kall[:, n, n]
    y_all = sample_gp_labels(Kall, rng)  # (B, n+1) ~ N(0, K)
    y, yq = y_all[:, :n], y_all[:, n]
    lam, V = np.linalg.eigh(K)
    eta = 1.0 * n / lam[:, -1]  # eta lambda_max / n = 1: inside (0, 2)
    # 1. closed form = iterates (per prompt step; a handful of prompts)
    m = 50
    it = np.array([functional_gd("exp", X[b:b + 1, :n], y[b:b + 1], X[b:b + 1, n], [eta[b]] * L, b=np.sqrt(1 / d))[0]
                   for b in range(m)])
    cf = np.array([functional_gd_closed_form(K[b], k[b], y[b], eta[b], L) for b in range(m)])
    chk.close(f"the closed form k_q^T K^-1 (I - (I - eta K/n)^L) y = L = {L} iterates ({m} prompts)", cf, it, ITER)
    # 2. the limit L -> infinity is ridgeless kernel regression; the step condition is needed
    t_min = lam[:m, 0] / lam[:m, -1]
    Lbig = np.ceil(np.log(1e-14) / np.log1p(-t_min)).astype(int)
    far = np.array([functional_gd_closed_form(K[b], k[b], y[b], eta[b], int(Lbig[b])) for b in range(m)])
    lim = kernel_regression(K[:m], k[:m], y[:m])
    chk.close("L -> infinity (L with (1 - eta lambda_min / n)^L <= 1e-14): f_L(x_q) = k_q^T K^-1 y", far, lim, LIMIT)
    blow = np.array([functional_gd_closed_form(K[b], k[b], y[b], 2.2 * n / lam[b, -1], 400) for b in range(m)])
    chk.decided("the step condition is needed: eta lambda_max / n = 2.2 diverges (L = 400)",
                bool(np.median(np.abs(blow - lim)) > 1e6),
                f"median |f_400 - k^T K^-1 y| = {np.median(np.abs(blow - lim)):.0e}")
    # 3. the layer-L risk given X, by Monte Carlo over GP labels; >= the posterior variance, = at the limit
    a = np.einsum("bji,bj->bi", V, k)  # V^T k
    tt = eta[:, None] * lam / n
    g = (1 - (1 - tt) ** L) / lam  # G_L in the eigenbasis
    risk_L = kqq - 2 * np.sum(a * g * a, axis=1) + np.sum(a * g * lam * g * a, axis=1)
    post = kqq - np.sum(a * a / lam, axis=1)
    f_L = np.sum(a * g * np.einsum("bji,bj->bi", V, y), axis=1)
    chk.within_ci(f"layer-{L} risk: E[(f_L - y_q)^2 - (K_qq - 2 k^T G_L k + k^T G_L K G_L k)] = 0 (Monte Carlo over "
                  "covariates and GP labels)", estimate_from_values((f_L - yq) ** 2 - risk_L), 0.0)
    f_inf = kernel_regression(K, k, y)
    chk.within_ci("limit: E[(k^T K^-1 y - y_q)^2 - posterior variance] = 0 (the posterior mean's risk)",
                  estimate_from_values((f_inf - yq) ** 2 - post), 0.0)
    gap = risk_L - post
    chk.at_least(f"layer-{L} risk >= posterior variance on every prompt (exact per X: (G_L k - K^-1 k)^T K (..) >= 0)",
                 float(np.min(gap / (1 + post))), 0.0, slack=1e-12, detail=f"min over {B} prompts, relative to 1 + "
                 "posterior variance; slack = rounding")
    # 4. ReLU: not PSD; labels from K_+ (their code). A negative eigenvalue makes (1 - eta lambda / n)^L grow for every
    # eta > 0, so the L -> infinity limit does not exist there
    et, nn, mu_ = sp.symbols("eta n mu", positive=True)  # eigenvalue lambda = -mu < 0
    chk.decided("exact: a negative eigenvalue lambda = -mu of K gives a GD factor 1 - eta lambda / n = 1 + eta mu / n > 1 "
                "for all eta, n, mu > 0 (sympy assumptions)", bool(((1 + et * mu_ / nn) - 1).is_positive),
                "eta mu / n is positive for positive symbols", exact=True)
    lr = np.linalg.eigvalsh(kernel_matrix("relu", X[:, :n]))  # (B, n)
    indef = lr[:, 0] < -1e-12 * lr[:, -1]
    share = float(np.mean(indef))
    note = (f"ReLU kernel: the context kernel matrix is indefinite on {share:.0%} of prompts (d = 5, n = 8, their "
            "covariates); there functional GD diverges as L -> infinity for every eta > 0 (a negative eigenvalue lambda "
            "gives (1 - eta lambda / n)^L -> infinity), so the limit and the Bayes statement hold for PSD kernels "
            "(linear, exp) only. Their code draws ReLU-task labels from K_+ (absolute eigenvalues), so the matching "
            "ReLU attention is not the posterior mean there either.")
    return chk, note


CLAIM = Claim(key=KEY, title="functional GD -> kernel regression = Bayes", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="RECALLED+DERIVED",
              fixed="its statement is about GP labels with the attention's kernel (checked at d = 5, n = 8), "
                    "not linear regression")
