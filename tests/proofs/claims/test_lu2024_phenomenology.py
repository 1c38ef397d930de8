"""lu2024.phenomenology: confirmed as recorded (with a note on small kappa). Independent routes: the residue of Result 1
at tau = 1 in sympy (kappa = inf), and the written-out ridgeless pipeline at d = 8 peaking at n = d(d+1)."""

import numpy as np
import sympy as sp
from _lu_pipeline import pipeline_error, sphere_pool

from iclcheck.proofs.verdict import Status, Verdict
from iclcheck.theory.proportional import result1_expr


def test_verdict(claim_result):
    res = claim_result("lu2024.phenomenology")
    assert res.verdict is Verdict.CONFIRMED
    assert all(s.status is Status.PASS for s in res.steps)
    assert "not monotone in kappa" in res.finding


def test_pole_residue_in_sympy():
    """kappa = inf (kappa = 1/g, g = 0): (1 - tau) e -> the same positive constant from both sides of tau = 1."""
    tau, g = sp.symbols("tau g", positive=True)
    a, rho = sp.Integer(1), sp.Rational(1, 10)
    lo = sp.limit(((1 - tau) * result1_expr(tau, a, 1 / g, rho, below=True)).subs(g, 0), tau, 1, "-")
    hi = sp.limit(((tau - 1) * result1_expr(tau, a, 1 / g, rho, below=False)).subs(g, 0), tau, 1, "+")
    assert sp.simplify(lo - hi) == 0 and lo > 0


def _pipeline_error(rng, d, n, kappa, rho):
    return pipeline_error(rng, sphere_pool(rng, int(kappa * d), d), n, rho, min_norm=True)


def test_finite_d_pipeline_peaks_at_the_threshold():
    rng = np.random.default_rng(31)
    d = 8  # threshold n = d(d+1) = 72
    med = {n: np.median([_pipeline_error(rng, d, n, 2.0, 0.1) for _ in range(10)]) for n in (32, 60, 72, 84, 192)}
    assert med[72] > max(med[32], med[192]) * 3, med
    assert med[60] > med[32] and med[84] > med[192], med
