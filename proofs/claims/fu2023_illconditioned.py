"""[Fu et al. 2024, ill-conditioned experiment] With kappa(Sigma) = 100 (half the eigenvalues 100,
half 1, random basis), d = 20, n = 40: the transformer still matches about 21 Newton iterations, while
GD needs about 2,000 steps to reach the same error.

Checked here: the algorithmic part only. The error level is the test error E (x_q^T w - w*^T x_q)^2
of Iterative Newton after 21 iterations (w_21 = M_21 X^T y, alpha = 1/||S S^T||_F as in their code);
we count the GD steps (unnormalised gradient, the largest constant step that is stable on every
sampled prompt, eta = 1/max lambda_max(S)) needed to reach it, on common prompts. "About 2,000" is
read as [1,000, 3,000]. The transformer part (a 12-layer GPT-2 trained on GPUs) is not checkable here.
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.algorithms.reference import gram, newton_w
from iclcheck.numerics.compare import estimate, gd_unnormalised_errors, split_spectrum_sigma
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker

D, N, KAPPA, NEWTON_ITERS = 20, 40, 100.0, 21
PUBLISHED_STEPS = 2000
ABOUT = (1000, 3000)  # "about 2,000" read with +-50% (the published count is a round number)
ABOUT_RTOL = (ABOUT[1] - PUBLISHED_STEPS) / PUBLISHED_STEPS  # |reach - 2000| / 2000 <= 0.5  <=>  reach in ABOUT


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(B=2000), thorough=dict(B=20_000))


def verify(ctx: Context) -> Checker:
    ck = Checker()
    rng = ctx.rng()
    B = SIZES.at(ctx).B
    Sigma = split_spectrum_sigma(D, KAPPA, rng)
    ev, U = np.linalg.eigh(Sigma)
    Sh = (U * np.sqrt(ev)) @ U.T
    X = rng.standard_normal((B, N, D)) @ Sh  # (B, n, d)
    xq = rng.standard_normal((B, D)) @ Sh
    w = rng.standard_normal((B, D))
    y = np.einsum("bnd,bd->bn", X, w)
    yq = np.einsum("bd,bd->b", xq, w)
    Wn = newton_w(X, y, steps=NEWTON_ITERS, alpha="code")  # (22, B, d)
    err_n = estimate((np.einsum("bd,bd->b", xq, Wn[-1]) - yq) ** 2)
    lam_max = np.linalg.eigvalsh(gram(X))[:, -1]
    eta = 1.0 / float(lam_max.max())
    ks = np.unique(np.round(np.geomspace(1, 50_000, 400)).astype(int))
    errs = gd_unnormalised_errors(X, y, xq, yq, eta=eta, ks=ks).mean(axis=1)  # (len(ks),)
    reach = ks[np.argmax(errs <= err_n.mean)] if np.any(errs <= err_n.mean) else None
    # the same count against the ends of the Newton error's CI (the GD error curve is on the same prompts)
    lo_k = ks[np.argmax(errs <= err_n.ci[1])] if np.any(errs <= err_n.ci[1]) else None
    hi_k = ks[np.argmax(errs <= max(err_n.ci[0], 0))] if np.any(errs <= max(err_n.ci[0], 0)) else None
    code_eta = 0.01
    code_err = gd_unnormalised_errors(X[:200], y[:200], xq[:200], yq[:200], eta=code_eta, ks=[10]).mean()
    name = "GD steps to reach the error of 21 Newton iterations (kappa = 100)"
    detail = (f"Newton-21 error {err_n.mean:.4g} (99.9% CI [{err_n.ci[0]:.4g}, {err_n.ci[1]:.4g}], {B} prompts); "
              f"GD with eta = 1/max lambda_max(S) = {eta:.3g} reaches it after {reach} steps (CI ends: {lo_k}..{hi_k}); "
              f"their code's step 0.01 has eta*lambda_max(S) ~ {code_eta * float(np.median(lam_max)):.0f} > 2 on this "
              f"Sigma and diverges (mean error after 10 steps {code_err:.3g}), so the published count cannot come "
              "from that step on an unnormalised kappa = 100 Sigma")
    if reach is None:  # GD never reached the Newton error within the step grid: no deviation to show
        ck.decided(name, False, detail, computed=reach, expected=PUBLISHED_STEPS)
    else:
        ck.bounded(name, abs(float(reach) - PUBLISHED_STEPS) / PUBLISHED_STEPS, ABOUT_RTOL, detail=detail,
                   computed=reach, expected=PUBLISHED_STEPS)
    ck.undecided("transformer (GPT-2, 12 layers) matches ~21 Newton iterations",
                 "not checkable on this machine: needs training a 12-layer, 8-head, width-256 GPT-2 on GPUs; the "
                 "iclcheck trainer covers linear self-attention only")
    return ck


CLAIM = Claim(
    key="fu2023.illconditioned",
    title="kappa=100: 21 Newton its vs 2,000 GD steps",
    source="[Fu et al. 2024, Sec. 5 ill-conditioned experiment] arXiv 2310.17086",
    statement="On ill-conditioned data (kappa = 100: half the eigenvalues 100, half 1, random basis) the "
    "transformer still matches about 21 Newton iterations, while GD needs about 2,000 steps.",
    notation="S = X^T X unnormalised; GD w_{k+1} = w_k - eta (S w_k - X^T y) (= numerics.algorithms.gd with eta*n); "
    "Newton M_0 = alpha S, M_{k+1} = 2M_k - M_k S M_k, w_k = M_k X^T y, alpha = 1/||S S^T||_F (code). "
    "w* ~ N(0, I), x ~ N(0, Sigma), noiseless; error = E (x_q^T w - y_q)^2.",
    verify=verify,
    fixed="its statement is the paper's experiment (kappa(Sigma) = 100, d = 20, n = 40)",
    salt=7,
)
