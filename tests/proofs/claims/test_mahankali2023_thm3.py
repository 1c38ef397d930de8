"""mahankali2023.thm3: confirmed; the closed forms of m and E[f^2 |x|^2] the claim compares against are recomputed
here by one-dimensional numerical quadrature (an independent route to the Gaussian integrals)."""

import numpy as np
from scipy import integrate

from iclcheck.proofs.verdict import Verdict


def _gauss(fn):
    return integrate.quad(lambda t: fn(t) * np.exp(-t * t / 2) / np.sqrt(2 * np.pi), -np.inf, np.inf)[0]


def test_verdict_and_moments_by_quadrature(claim_result):
    res = claim_result("mahankali2023.thm3")
    assert res.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in res.steps if s.status != "pass"]
    d, s2 = 3, 0.25
    g = {"relu": lambda t: max(t, 0.0), "cubic": lambda t: t**3}
    dg = {"relu": lambda t: float(t > 0), "cubic": lambda t: 3 * t * t}
    for fam in ("relu", "cubic"):
        m = _gauss(dg[fam]) ** 2
        e2 = _gauss(lambda t, f=g[fam]: f(t) ** 2 * t * t) + (d - 1) * _gauss(lambda t, f=g[fam]: f(t) ** 2) + s2 * d
        sm = [s for s in res.steps if s.name.startswith(f"closed form m = E_f|E_x f x|^2 ({fam}, d=3")][0]
        se = [s for s in res.steps if s.name.startswith(f"closed form E[(f^2+sigma^2)|x|^2] ({fam}, d=3")][0]
        assert abs(sm.expected - m) < 1e-8 and abs(se.expected - e2) < 1e-6
    assert any(s.name.startswith("power control") and s.status == "pass" for s in res.steps)
