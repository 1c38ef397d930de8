"""theory/proportional.py and numerics/proportional.py: the MP branch and its stability, Result 1's vectorisation and
edges, the exact finite-d error against the toolkit's master formula, convergence rates of the finite-d master
formula to the proportional limits (a fitted log-log slope and an extrapolation, not a plot), the resolvent
equivalent, the ridgeless fit and the RAG risk's i.i.d. case."""

import mpmath
import numpy as np
import pytest

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.proportional import (
    alignment_error,
    features,
    fit_gamma,
    loglog_slope,
    pool_master_error,
    resolvent_equivalent,
    sample_pool,
    xi_root,
)
from iclcheck.theory.errors import InputError
from iclcheck.theory.proportional import (
    exact_error,
    mp_stieltjes,
    mp_stieltjes_deriv,
    pool_limit_e_icl,
    proportional_master_limit,
    rag_risk,
    result1_e_icl,
    task_moments_gaussian,
)
from iclcheck.theory.setting import Setting

GRID = [(x, k) for x in (1e-8, 1e-3, 0.3, 1.0, 7.0, 1e4, 1e8) for k in (1e-3, 0.2, 0.999, 1.0, 1.001, 5.0, 1e3)]


def _mp_root_mp(x, kappa, c=1.0):
    """The positive root of c g x M^2 + (x + c - c g) M - 1 = 0 at 50 digits (mpmath, the textbook formula)."""
    with mpmath.workdps(50):
        x, g, c = mpmath.mpf(x), 1 / mpmath.mpf(kappa), mpmath.mpf(c)
        b = x + c - c * g
        r1 = (-b + mpmath.sqrt(b * b + 4 * c * g * x)) / (2 * c * g * x)
        r2 = (-b - mpmath.sqrt(b * b + 4 * c * g * x)) / (2 * c * g * x)
        assert r2 < 0 < r1
        return r1


def test_mp_stieltjes_is_the_positive_root_to_full_precision():
    x = np.array([p[0] for p in GRID])
    k = np.array([p[1] for p in GRID])
    M = mp_stieltjes(x, k)  # vectorised
    ref = np.array([float(_mp_root_mp(a, b)) for a, b in GRID])
    np.testing.assert_allclose(M, ref, rtol=1e-13)  # the rationalised form has no cancellation at any x, kappa
    assert np.all(M > 0) and np.all(M <= 1 / x)
    np.testing.assert_allclose(mp_stieltjes(2.0, 3.0, c=0.5), float(_mp_root_mp(2.0, 3.0, 0.5)), rtol=1e-14)


def test_mp_derivative_against_mpmath_differentiation():
    for x, k in [(0.3, 0.5), (1.1, 2.0), (3.0, 10.0), (1e-4, 0.3)]:
        with mpmath.workdps(60):
            g = 1 / mpmath.mpf(k)

            def root(t, g=g):
                return (-(t + 1 - g) + mpmath.sqrt((t + 1 - g) ** 2 + 4 * g * t)) / (2 * g * t)

            ref = mpmath.diff(root, mpmath.mpf(x))
        np.testing.assert_allclose(mp_stieltjes_deriv(x, k), float(ref), rtol=1e-12)


def test_result1_vectorised_and_edges():
    tau = np.array([0.5, 1.0, 2.0, np.inf])[:, None]
    kappa = np.array([0.5, 2.0, np.inf])[None, :]
    e = result1_e_icl(tau, 1.0, kappa, 0.1)
    assert e.shape == (4, 3)
    assert np.all(np.isnan(e[1])) and np.all(np.isfinite(e[[0, 2, 3]]))
    np.testing.assert_allclose(e[3], pool_limit_e_icl(1.0, np.array([0.5, 2.0, np.inf]), 0.1), rtol=1e-14)
    np.testing.assert_allclose(e[3, 2], proportional_master_limit(1.0, 0.1), rtol=1e-14)
    np.testing.assert_allclose(result1_e_icl(1e12, 1.0, 1e12, 0.1), e[3, 2], rtol=1e-9)  # continuity at inf
    for bad in ((0.5, -1.0, 1.0, 0.1), (0.5, 1.0, 0.0, 0.1), (0.5, 1.0, 1.0, -0.1), (-1, 1, 1, 0)):
        with pytest.raises(InputError):
            result1_e_icl(*bad)


def test_exact_error_x_block_is_the_master_formula():
    """Gamma = [G, 0]: the exact finite-d error equals the toolkit's reduced loss at Gamma_canonical = d G (Sigma = I/d,
    Sigma_w = E[w w^T] of N(0, W), n = ell) plus the query noise."""
    rng = np.random.default_rng(3)
    d, ell, rho = 5, 7, 0.4
    L = rng.standard_normal((d, d))
    W = L @ L.T / d + 0.3 * np.eye(d)
    G = rng.standard_normal((d, d)) * 0.3
    ex = exact_error(np.hstack([G, np.zeros((d, 1))]), ell, rho, task_moments_gaussian(np.zeros(d), W, rho))
    ol = OneLayer(Setting.make(np.eye(d) / d, ell, Sigma_w=W, sigma2=rho))
    np.testing.assert_allclose(ex, ol.reduced_loss(d * G) + rho, rtol=1e-12)


def test_pool_trained_master_formula_converges_at_rate_one_over_d():
    """tau = inf, kappa = 2: the mean over pools of the master optimum trained on the pool's second moment approaches
    x - 2x^2 m + (1+x) x^2 m' + rho like c/d: log-log slope within 0.3 of -1, and the weighted fit
    mean_d = e_inf + c/d gives e_inf within 3.29 standard errors of the formula."""
    rng = np.random.default_rng(9)
    alpha, kappa, rho = 1.0, 2.0, 0.1
    lim = float(pool_limit_e_icl(alpha, kappa, rho))
    ds, means, ses = (10, 20, 40), [], []
    for d in ds:
        v = [pool_master_error(sample_pool(rng, int(kappa * d), d), d, rho) for _ in range(150)]
        means.append(np.mean(v))
        ses.append(np.std(v, ddof=1) / np.sqrt(len(v)))
    assert abs(loglog_slope(ds, np.array(means) - lim) + 1) < 0.3, means
    A = np.stack([np.ones(3), 1 / np.asarray(ds, float)], 1) / np.asarray(ses)[:, None]
    coef, *_ = np.linalg.lstsq(A, np.asarray(means) / np.asarray(ses), rcond=None)
    assert abs(coef[0] - lim) < 3.29 * np.sqrt(np.linalg.inv(A.T @ A)[0, 0]), (coef, lim)


def test_master_formula_isotropic_rate_is_exactly_first_order():
    """Sigma_w = I: d (e_d - e_inf) tends to a constant (the O(1/d) coefficient), so the slope is -1 to 1e-2 at large d."""
    errs = [pool_master_error(np.sqrt(d) * np.eye(d), d, 0.1) - proportional_master_limit(1.0, 0.1) for d in (64, 128)]
    assert abs(loglog_slope((64, 128), errs) + 1) < 1e-2


def test_resolvent_equivalent_xi_and_alignment_inputs():
    lam = np.linspace(0.2, 3.0, 9)
    M, Mp = resolvent_equivalent(lam, 0.7, 0.4)
    a = 1 - 1 / 0.7 + 0.4 * M / 0.7
    np.testing.assert_allclose(M, np.mean(1 / (a * lam + 0.4)), rtol=1e-13)  # the fixed point
    h = 1e-6  # central difference of the fixed point in nu: O(h^2) ~ 1e-12 relative
    fd = (resolvent_equivalent(lam, 0.7, 0.4 + h)[0] - resolvent_equivalent(lam, 0.7, 0.4 - h)[0]) / (2 * h)
    np.testing.assert_allclose(Mp, fd, rtol=1e-6)
    xi = xi_root(lam, 2.0, 0.4, 0.8)
    np.testing.assert_allclose(xi * resolvent_equivalent(lam, 2.0, xi + 0.8)[0], 0.6, rtol=1e-12)
    with pytest.raises(InputError):
        alignment_error(np.eye(3), np.eye(3), 1.0, 1.0, 2.0, 0.1)
    with pytest.raises(InputError):
        resolvent_equivalent(np.array([-1.0, 1.0]), 1.0, 1.0)


def test_fit_gamma_ridgeless_branches():
    rng = np.random.default_rng(1)
    d, ell, rho = 4, 5, 0.2
    W = sample_pool(rng, 3, d)
    # below the threshold n < d(d+1) = 20: the minimum-norm interpolator fits the training contexts exactly
    r1, r2 = np.random.default_rng(7), np.random.default_rng(7)
    G = fit_gamma(r1, W, 12, ell, rho)
    w = W[r2.integers(0, 3, size=12)]
    X = r2.standard_normal((12, ell + 1, d)) / np.sqrt(d)
    y = np.einsum("bld,bd->bl", X, w) + np.sqrt(rho) * r2.standard_normal((12, ell + 1))
    H = features(X[:, :ell], y[:, :ell], X[:, ell])
    np.testing.assert_allclose(H @ G.ravel(), y[:, ell], atol=1e-9)
    np.testing.assert_allclose(G.ravel(), np.linalg.lstsq(H, y[:, ell], rcond=None)[0], atol=1e-8)  # minimum norm
    # above it: least squares
    r1, r2 = np.random.default_rng(8), np.random.default_rng(8)
    G = fit_gamma(r1, W, 200, ell, rho)
    w = W[r2.integers(0, 3, size=200)]
    X = r2.standard_normal((200, ell + 1, d)) / np.sqrt(d)
    y = np.einsum("bld,bd->bl", X, w) + np.sqrt(rho) * r2.standard_normal((200, ell + 1))
    H = features(X[:, :ell], y[:, :ell], X[:, ell])
    np.testing.assert_allclose(G.ravel(), np.linalg.lstsq(H, y[:, ell], rcond=None)[0], rtol=1e-8, atol=1e-10)


def test_rag_risk_iid_case_is_the_master_minimum():
    for d, n, s2 in ((5, 20, 0.3), (2, 3, 0.0)):
        np.testing.assert_allclose(rag_risk(d, n, 0.0, s2), OneLayer(Setting.make(np.eye(d), n, sigma2=s2)).min_loss(),
                                   rtol=1e-12)
