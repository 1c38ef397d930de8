"""[Vladymyrov, von Oswald, Sandler, Ge 2024, abstract] linear transformers on noise-level mixtures: the
baselines they are measured against (arXiv 2402.14180).

Setting: x ~ N(0, I_d), w ~ N(0, I_d), y = w^T x + sigma_tau eps with sigma_tau drawn per prompt from a mixture
(here {0.5, 2} with probability 1/2 each), query label noiseless. The Bayes predictor is a posterior mixture of ridge
predictors (numerics.attention.kernels.noise_mixture_bayes: weights from the Gaussian marginal likelihood of y under each noise
level). The check orders the baselines by Monte Carlo with common random numbers: ridge with the prompt's own noise
level (lambda = sigma_tau^2, what a per-noise-level tuned ridge reaches; it knows sigma_tau) <= the Bayes mixture
(it does not) < the best single fixed lambda (chosen on half of the prompts, scored on the other half). The trained
transformers' risks are not checked here (no training).
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.attention.kernels import noise_mixture_bayes, ridge_weights
from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker

KEY = "vladymyrov2024.noise_mixture_bayes"
SOURCE = "[Vladymyrov, von Oswald, Sandler, Ge 2024, abstract and a review; sections not read] arXiv 2402.14180"
STATEMENT = ("On linear regression with a mixture of noise levels, linear transformers discover an algorithm that "
             "matches ridge regression tuned to the noise level (TUNEDRR) and beats ridge with a single fixed lambda "
             "and GD++.")
NOTATION = (
    "Canonical data with Sigma = Sigma_w = I, d = 4, n = 8, noise sd sigma_tau in {0.5, 2} (probability 1/2 each) per "
    "prompt, query label noiseless; ridge lambda = sigma^2 / w_var is the posterior mean given sigma. TUNEDRR is read as "
    "ridge with lambda tuned per noise level (the noise-oracle ridge); the Bayes mixture does not know sigma_tau."
)
LEVELS, PRIOR = np.array([0.5, 2.0]), np.array([0.5, 0.5])


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(B=6_000), thorough=dict(B=40_000))


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    d, n = 4, 8
    B = SIZES.at(ctx).B
    X = rng.standard_normal((B, n, d))
    w = rng.standard_normal((B, d))
    s = LEVELS[rng.integers(0, 2, size=B)]
    y = np.einsum("bnd,bd->bn", X, w) + s[:, None] * rng.standard_normal((B, n))
    xq = rng.standard_normal((B, d))
    yq = np.einsum("bd,bd->b", xq, w)
    # Rao-Blackwellised risks: given (X, y, sigma_tau) the posterior of w is N(m, C) with m the ridge weights at
    # lambda = sigma_tau^2; with x_q ~ N(0, I) a predictor with weights v has conditional risk ||v - m||^2 + tr C, so
    # its excess over the noise-oracle ridge is ||v - m||^2 >= 0 per prompt (exact), and differences are paired.
    m = ridge_weights(X, y, s**2)  # (B, d) the noise-oracle ridge = posterior mean given sigma_tau
    w_mix = noise_mixture_bayes(X, y, None, LEVELS, PRIOR)  # (B, d) the Bayes posterior mean of w
    ex_mix = np.sum((w_mix - m) ** 2, axis=1)
    half = B // 2
    lams = np.geomspace(0.05, 8.0, 12)
    ex_fix = np.stack([np.sum((ridge_weights(X, y, lam) - m) ** 2, axis=1) for lam in lams], axis=1)  # (B, 12)
    best = int(np.argmin(ex_fix[:half].mean(axis=0)))
    G = X.transpose(0, 2, 1) @ X + (s**2)[:, None, None] * np.eye(d)
    trC = (s**2) * np.trace(np.linalg.inv(G), axis1=1, axis2=2)  # tr Cov(w | data, sigma_tau)
    e_or = trC
    e1 = estimate_from_values(ex_mix, nonnegative=True)
    d2 = estimate_from_values(ex_fix[half:, best] - ex_mix[half:])
    raw = (np.einsum("bd,bd->b", xq, w_mix) - yq) ** 2 - (trC + ex_mix)
    chk.within_ci("the conditional risk tr C + ||w_mix - m||^2 (given X, y, sigma_tau) agrees with the raw squared error "
                  "of the mixture at the query (Monte Carlo, difference has mean 0)", estimate_from_values(raw), 0.0)
    chk.decided("the Bayes mixture's excess over the noise-oracle ridge (mean ||w_mix - m||^2) is positive",
                e1.ci[0] > 0, f"mean excess {e1.mean:.2g}, 99.9% CI [{e1.ci[0]:.2g}, {e1.ci[1]:.2g}] ({B} prompts)")
    chk.decided("the Bayes mixture beats the best single fixed lambda (chosen on the other half of the prompts)",
                d2.ci[0] > 0, f"fixed lambda = {lams[best]:.2g}: excess {ex_fix[half:, best].mean():.3f} vs "
                f"{ex_mix[half:].mean():.3f}; paired difference 99.9% CI [{d2.ci[0]:.2g}, {d2.ci[1]:.2g}] > 0")
    r_or, r_mix, r_fix = e_or.mean(), e_or.mean() + ex_mix.mean(), e_or[half:].mean() + ex_fix[half:, best].mean()
    gap = ex_mix.mean() / r_or
    return chk, (f"Baseline ladder at d = 4, n = 8, sigma in {{0.5, 2}}: noise-oracle ridge {r_or:.2f} < Bayes "
                 f"mixture {r_mix:.2f} < best fixed ridge {r_fix:.2f}. Read as the noise-oracle "
                 f"ridge, the Bayes risk is {gap:.0%} above TUNEDRR here, so a model that does not know sigma_tau cannot "
                 "match it exactly; the trained models are not checked.")


CLAIM = Claim(key=KEY, title="noise-mixture baselines: oracle < Bayes < ridge", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="READ+3P+DERIVED",
              locator="abstract (arXiv 2402.14180)",
              fixed="its statement is about a per-prompt mixture of noise levels (sd 0.5 or 2), which one "
                    "sigma2 cannot express")
