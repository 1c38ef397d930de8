"""numerics.dynamics.gd_error: the exact many-step GD error against the literal iteration (Monte Carlo), the one-layer optimum
at k = 1, and closed forms derived by hand."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iclcheck.numerics.dynamics.gd_error import MAX_STEPS, error_polynomials, gd_error, mc_gd_error
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting


def _spd(rng, d):
    A = rng.standard_normal((d, d))
    return A @ A.T / d + 0.3 * np.eye(d)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), target=st.sampled_from(["label", "weights"]))
def test_exact_error_matches_the_literal_iteration(seed, target):
    """Random Sigma, Sigma_w, noise, step; P = Sigma^-1; k = 1..3: the exact value lies in the 99.9% CI of the
    literal GD iteration on sampled prompts (steps small enough that the tails are light: checked, not assumed)."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 4))
    n = int(rng.integers(2 * d + 4, 16))
    s = Setting.make(_spd(rng, d), n, Sigma_w=_spd(rng, d), sigma2=float(rng.uniform(0, 0.5)))
    eta = float(rng.uniform(0.2, 0.5))
    ex = gd_error(s, 3, eta=eta, target=target, precondition="inverse")
    mc = mc_gd_error(s, 3, eta=eta, target=target, precondition="inverse", samples=60_000, rng=rng)
    decided = 0
    for k, (e, m) in enumerate(zip(ex.error, mc, strict=True), start=1):
        if m.heavy_tail:  # the Monte Carlo mean is not estimable here: it can neither confirm nor refute
            continue
        assert m.contains(e), (k, e, m.describe())
        decided += 1
    assert decided >= 2  # the comparison is decisive for most k


def test_plain_gd_isotropic_matches_monte_carlo_with_scale():
    """Plain GD (no preconditioner) at Sigma = 2 I: t = 2 eta enters through gamma = 2."""
    rng = np.random.default_rng(3)
    s = Setting.make(2 * np.eye(3), 9, sigma2=0.2)
    ex = gd_error(s, 4, eta=0.2, target="label")
    for e, m in zip(ex.error, mc_gd_error(s, 4, eta=0.2, target="label", samples=80_000, rng=rng), strict=True):
        assert m.contains(e), (e, m.describe())


@pytest.mark.parametrize("d,n,sigma2", [(1, 4, 0.0), (3, 10, 0.0), (4, 7, 0.5)])
def test_k1_optimal_step_is_the_one_layer_optimum(d, n, sigma2):
    """Sigma = Sigma_w = I: Gamma* is a multiple of I, so one GD step with the optimal step attains min_loss."""
    s = Setting.make(np.eye(d), n, sigma2=sigma2)
    r = gd_error(s, 1, target="label")
    ol = OneLayer(s)
    assert r.error[0] == pytest.approx(ol.min_loss(), rel=1e-12)
    assert r.eta[0] == pytest.approx(ol.gamma_star()[0, 0], rel=1e-6)  # a flat minimum: step to ~sqrt(eps)


def test_k1_preconditioned_is_the_one_layer_optimum_for_the_inverse_prior():
    """w ~ N(0, Sigma^-1): Gamma* = n/(n+d+1) Sigma^-1 (Ahn et al.), so P = Sigma^-1 with eta = n/(n+d+1) attains it."""
    rng = np.random.default_rng(0)
    d, n = 4, 9
    s = Setting.make(_spd(rng, d), n, Sigma_w="inv")
    r = gd_error(s, 1, eta=n / (n + d + 1), target="label", precondition="inverse")
    assert r.error[0] == pytest.approx(OneLayer(s).min_loss(), rel=1e-10)


def test_hand_derived_k1_polynomials():
    """U_1 = d - 2 t d + t^2 d (n+d+1)/n; V_1 = (d - t tr S)^2 averaged: E (tr S)^2 = d (nd + 2)/n (chi-square)."""
    d, n = 3, 5
    U, V, N = error_polynomials(1, n, d)
    assert U == (d, -2 * d, Fraction(d * (n + d + 1), n))
    assert V == (d * d, -2 * d * d, Fraction(d * (n * d + 2), n))
    assert N == (0, 0, d)  # t^2 E tr(S) = t^2 d


def test_weight_target_k1_optimum_is_d_d_plus_1_over_n_plus_d_plus_1():
    for d, n in [(2, 5), (10, 20), (5, 40)]:
        r = gd_error(Setting.make(np.eye(d), n), 1, target="weights")
        assert r.error[0] == pytest.approx(d * (d + 1) / (n + d + 1), rel=1e-12)


def test_fixed_step_error_is_u_shaped_and_flagged():
    """d = 10, n = 20, eta = n/(n+d+1): the error falls, then grows past its k = 1 value; the growth is flagged."""
    r = gd_error(Setting.make(np.eye(10), 20), 12, eta=20 / 31, target="weights")
    k = r.argmin
    assert 2 < k < 12 and np.all(np.diff(r.error[:k]) < 0) and np.all(np.diff(r.error[k - 1:]) > 0)
    assert r.first_worse is not None and r.error[-1] > 100 * r.error[0]
    assert r.heavy_tail[-1] and not r.heavy_tail[0]


def test_optimal_step_error_decreases():
    r = gd_error(Setting.make(np.eye(5), 12), 8, target="weights")
    assert np.all(np.diff(r.error) < 0)


def test_bad_input():
    s = Setting.make(np.diag([1.0, 2.0]), 5)
    with pytest.raises(InputError, match="precondition"):
        gd_error(s, 2)  # plain GD at a non-isotropic Sigma: not exact
    with pytest.raises(InputError, match="steps"):
        gd_error(s, MAX_STEPS + 1, precondition="inverse")
    with pytest.raises(InputError, match="target"):
        gd_error(s, 2, target="w", precondition="inverse")
    with pytest.raises(InputError, match="eta"):
        gd_error(s, 2, eta=-1.0, precondition="inverse")
    with pytest.raises(InputError, match="covariates"):
        gd_error(Setting.make(np.eye(2), 5, covariates="uniform"), 2)
