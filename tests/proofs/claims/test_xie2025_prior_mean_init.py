"""xie2025.prior_mean_init: confirmed; the three exact risks against Monte Carlo of their explicit predictors (common
prompts; GD from 0 and from mu by numerics.algorithms.reference.gd)."""

import numpy as np
import sympy as sp

from iclcheck.numerics.algorithms.reference import gd
from iclcheck.proofs.claims.xie2025_prior_mean_init import risks
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("xie2025.prior_mean_init")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_gd_risks_by_monte_carlo():
    d, n, B, s2 = 4, 6, 60_000, sp.Rational(1, 5)
    r0, _, rm, _ = risks(sp.Integer(4), d, n, s2)  # |mu|^2 = 4
    # the optimal steps: from the same quadratic (GD from 0 uses gamma on h; from mu on the residual)
    s = sp.Rational(n + d + 1, n)
    g0 = (4 + d) / (s * (4 + d) + s2 * sp.Rational(d, n))
    gm = d / (s * d + s2 * sp.Rational(d, n))
    rng = np.random.default_rng(0)
    mu = np.ones(d)
    X = rng.standard_normal((B, n, d))
    w = mu + rng.standard_normal((B, d))
    y = np.einsum("bnd,bd->bn", X, w) + np.sqrt(0.2) * rng.standard_normal((B, n))
    xq = rng.standard_normal((B, d))
    yq = np.einsum("bd,bd->b", xq, w)
    for step, w0, want in ((float(g0), None, r0), (float(gm), mu, rm)):
        wh = np.stack([gd(X[b], y[b], eta=step, steps=1, w0=w0) for b in range(2000)])
        e = (np.einsum("bd,bd->b", xq[:2000], wh) - yq[:2000]) ** 2
        assert abs(e.mean() - float(want)) < 3.29 * e.std(ddof=1) / np.sqrt(e.size)
