"""lu2024.error_functional: confirmed as recorded, with candidate finding 2 decided. Independent route: Monte Carlo of
the literal prediction <Gamma, H_Z> (features written out here) against the exact finite-d error and the finite-ell
functional."""

import numpy as np

from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.proofs.verdict import Status, Verdict
from iclcheck.theory.proportional import (
    error_functional,
    exact_error,
    task_moments_gaussian,
    task_moments_pool,
)


def test_verdict_and_finding(claim_result):
    res = claim_result("lu2024.error_functional")
    assert res.verdict is Verdict.CONFIRMED
    assert all(s.status is Status.PASS for s in res.steps)
    assert "2 rho |g|^2/d" in res.finding and "To confirm in the paper" in res.finding


def _mc_error(rng, Gamma, ell, rho, w):
    """Squared errors of y_q - <Gamma, H_Z> for tasks w (B, d), x ~ N(0, I/d), noise rho on every label."""
    B, d = w.shape
    X = rng.standard_normal((B, ell + 1, d)) / np.sqrt(d)
    y = np.einsum("bld,bd->bl", X, w) + np.sqrt(rho) * rng.standard_normal((B, ell + 1))
    u = (d / ell) * np.einsum("bld,bl->bd", X[:, :ell], y[:, :ell])
    s = np.mean(y[:, :ell] ** 2, axis=1)
    pred = np.einsum("bi,ij,bj->b", X[:, ell], Gamma[:, :d], u) + s * (X[:, ell] @ Gamma[:, d])
    return (y[:, ell] - pred) ** 2


def test_exact_error_against_monte_carlo():
    rng = np.random.default_rng(7)
    d, ell, rho = 5, 7, 0.3
    Gamma = rng.standard_normal((d, d + 1)) * 0.4
    mu = np.array([0.5, -1.0, 0.2, 0.0, 0.8])
    L = rng.standard_normal((d, d)) * 0.5
    C = L @ L.T + 0.2 * np.eye(d)
    w = mu + rng.standard_normal((300_000, d)) @ np.linalg.cholesky(C).T
    est = estimate_from_values(_mc_error(rng, Gamma, ell, rho, w))
    assert est.estimable and est.contains(exact_error(Gamma, ell, rho, task_moments_gaussian(mu, C, rho))), \
        est.describe()


def test_finite_ell_functional_against_monte_carlo_on_a_sphere_pool():
    rng = np.random.default_rng(8)
    d, ell, rho, k = 6, 4, 0.2, 3
    W = rng.standard_normal((k, d))
    W *= np.sqrt(d) / np.linalg.norm(W, axis=1, keepdims=True)
    Gamma = rng.standard_normal((d, d + 1)) * 0.3
    w = W[rng.integers(0, k, size=300_000)]
    est = estimate_from_values(_mc_error(rng, Gamma, ell, rho, w))
    tm = task_moments_pool(W, rho)
    value = error_functional(Gamma, ell / d, rho, tm.mean, tm.m2 - np.outer(tm.mean, tm.mean), ell=ell)
    assert est.estimable and est.contains(value), est.describe()


def test_code_corner_is_biased_by_2_rho_g2_over_d():
    """Large d, Lu's test law: the exact error minus the 1 + rho^2 variant approaches 2 rho |g|^2/d, the recorded
    (1+rho)^2 corner approaches 0 (both are O(1/d) away: the 1/ell, 1/d terms are a few units / 1024 < 5e-3)."""
    d, rho = 1024, 0.25
    Gamma = np.hstack([0.5 * np.eye(d), np.full((d, 1), 0.4)])
    ex = exact_error(Gamma, 2 * d, rho, task_moments_gaussian(np.zeros(d), np.eye(d), rho))
    rec = error_functional(Gamma, 2.0, rho, np.zeros(d), np.eye(d))
    code = error_functional(Gamma, 2.0, rho, np.zeros(d), np.eye(d), corner=1 + rho**2)
    assert abs(ex - rec) < 5e-3
    assert abs((ex - code) - 2 * rho * 0.16) < 5e-3
