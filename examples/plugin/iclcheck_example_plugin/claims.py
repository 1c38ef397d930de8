"""[example2024.min_loss] Sigma = I, w ~ N(0, I), Gaussian x, no noise: the minimal one-layer loss is
L* = d (d + 1) / (n + d + 1).

Derived from Ahn et al.'s eq. (7) (Gamma* = n/(n+d+1) I): L* = tr(Sigma_w Sigma) - tr(Gamma*^T Sigma Sigma_w Sigma)
= d - d n/(n+d+1). Steps: (1) the toolkit's exact minimal loss equals the formula for symbolic n, d = 1..3;
(2) float, random (d, n); (3) the literal forward pass at Gamma* (Monte Carlo, 99.9% CI) equals the formula.
Movable (``iclcheck verify example2024.min_loss --cov eye:D -n N``): Sigma = I only, any d and n.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.montecarlo import mc_loss
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, UserSetting
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.one_layer import min_loss_exact
from iclcheck.theory.setting import Setting

N = sp.Symbol("n", positive=True, integer=True)
ULPS = Tolerance(rtol=1e-12, atol=1e-15, reason="a Cholesky solve with a multiple of I: a few ulps")


def formula(n, d):
    """L* = d (d + 1) / (n + d + 1)."""
    return d * (d + 1) / (n + d + 1) if isinstance(n, (int, float)) else sp.Integer(d) * (d + 1) / (n + d + 1)


def _accepts(user: UserSetting):
    S = user.setting.Sigma
    return None if np.array_equal(S, np.eye(S.shape[0])) else ("Sigma", "the statement is about Sigma = I (eye:D)")


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    if ctx.setting is not None:  # the user's d and n
        st = ctx.moved.setting
        cases = [(st.d, int(st.n))]
    else:
        for d in (1, 2, 3):
            chk.exact(f"exact L* = d(d+1)/(n+d+1) (d={d}, symbolic n)", min_loss_exact(Setting.make(sp.eye(d), N)),
                      formula(N, d))
        cases = [(int(rng.integers(1, 8)), int(rng.integers(1, 60))) for _ in range(3)]
    for d, n in cases:
        chk.close(f"float L* = d(d+1)/(n+d+1) (d={d}, n={n})", OneLayer(Setting.make(np.eye(d), n)).min_loss(),
                  formula(n, d), ULPS)
    d, n = cases[0] if ctx.setting is not None else (2, 5)
    if n * d <= 400:
        st = Setting.make(np.eye(d), n)
        P, Q = OneLayer.params_from_gamma(n / (n + d + 1) * np.eye(d))
        est = mc_loss(st, [P], [Q], samples=100_000, rng=rng)
        chk.within_ci(f"literal forward pass at Gamma* = n/(n+d+1) I: loss = d(d+1)/(n+d+1) (d={d}, n={n})", est,
                      formula(n, d))
    return chk


CLAIM = Claim(key="example2024.min_loss", title="Sigma = I: L* = d(d+1)/(n+d+1)",
              source="[iclcheck example plugin, derived from Ahn et al. 2023, eq. (7)] arXiv 2306.00297",
              statement="Sigma = I, w ~ N(0, I), Gaussian x, no noise: the minimal one-layer loss is d(d+1)/(n+d+1).",
              notation="canonical model (iclcheck.theory.one_layer); Sigma_w = I, sigma2 = 0", verify=verify,
              provenance="DERIVED", parameters=("Sigma", "n"), accepts=_accepts,
              fixed="the statement is for Gaussian x, w ~ N(0, I) and no noise")
