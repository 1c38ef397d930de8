"""zhang2025.attnS.escape_times: the flow's escape times against an independent route, the one-dimensional reduced ODE
of each direction integrated by quadrature (t = integral ds / (2 lambda^2 s^2 - 2 lambda m s^5) from s0 up to the
s where that direction's loss drop is half done)."""

import numpy as np
from scipy.integrate import quad

from iclcheck.proofs.verdict import Verdict


def test_verdict(claim_result):
    res = claim_result("zhang2025.attnS.escape_times")
    assert res.verdict is Verdict.CONFIRMED


def test_escape_times_match_the_reduced_ode(claim_result):
    res = claim_result("zhang2025.attnS.escape_times")
    step = next(s for s in res.steps if s.name.startswith("escape times (midpoint"))
    got = np.asarray(step.computed, float)
    lam = np.array([0.4, 0.3, 0.2, 0.1])
    N, s0 = 31, 3e-3
    m = (N + 1) / N * lam**2 + lam.sum() * lam / N
    want = []
    for lv, mv in zip(lam, m, strict=True):
        g_star = lv / mv  # the per-direction optimum of gamma = s^3
        s_half = (g_star * (1 - 2**-0.5)) ** (1 / 3)  # lambda m (gamma - g*)^2 = half the drop lambda m g*^2
        want.append(quad(lambda s, lv=lv, mv=mv: 1 / (2 * lv**2 * s**2 - 2 * lv * mv * s**5), s0, s_half,
                         limit=200)[0])
    assert np.allclose(got, want, rtol=2e-3), (got, want)
