"""lu2024.phenomenology: confirmed as recorded (with a note on small kappa). Independent routes: the residue of Result 1
at tau = 1 in sympy (kappa = inf), and the written-out ridgeless pipeline at d = 8 peaking at n = d(d+1)."""

import numpy as np
import sympy as sp

from iclcheck.proofs.verdict import Status, Verdict
from iclcheck.theory.proportional import exact_error, result1_expr, task_moments_gaussian


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
    k, ell = int(kappa * d), d
    W = rng.standard_normal((k, d))
    W *= np.sqrt(d) / np.linalg.norm(W, axis=1, keepdims=True)
    w = W[rng.integers(0, k, size=n)]
    X = rng.standard_normal((n, ell + 1, d)) / np.sqrt(d)
    y = (X @ w[:, :, None])[:, :, 0] + np.sqrt(rho) * rng.standard_normal((n, ell + 1))
    u = (d / ell) * (X[:, :ell] * y[:, :ell, None]).sum(1)
    s = (y[:, :ell] ** 2).mean(1, keepdims=True)
    H = (X[:, ell, :, None] * np.hstack([u, s])[:, None, :]).reshape(n, -1)
    G = np.linalg.pinv(H) @ y[:, ell]  # minimum-norm least squares on both sides of the threshold
    return exact_error(G.reshape(d, d + 1), ell, rho, task_moments_gaussian(np.zeros(d), np.eye(d), rho))


def test_finite_d_pipeline_peaks_at_the_threshold():
    rng = np.random.default_rng(31)
    d = 8  # threshold n = d(d+1) = 72
    med = {n: np.median([_pipeline_error(rng, d, n, 2.0, 0.1) for _ in range(10)]) for n in (32, 60, 72, 84, 192)}
    assert med[72] > max(med[32], med[192]) * 3, med
    assert med[60] > med[32] and med[84] > med[192], med
