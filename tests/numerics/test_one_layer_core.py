"""The closed-form one-layer loss against the literal forward pass (Monte Carlo, 99.9% CI) and
the reduced minimiser against the published Ahn et al. Thm 1 block (an independent route)."""

import numpy as np
import pytest

from iclcheck.numerics.model.montecarlo import mc_loss
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory import Setting


def _random_setting(rng, d, n, law, sigma2, prior):
    A = rng.standard_normal((d, d))
    S = A @ A.T + np.eye(d)
    W = None
    if prior == "given":
        B = rng.standard_normal((d, d))
        W = B @ B.T / d + 0.5 * np.eye(d)
    elif prior == "inv":
        W = "inv"
    return Setting.make(S, n, Sigma_w=W, sigma2=sigma2, covariates=law)


@pytest.mark.parametrize(
    "law,prior,sigma2,seed",
    [("gaussian", "given", 0.3, 0), ("uniform", "identity", 0.0, 1), ("rademacher", "inv", 0.5, 2)],
)
def test_closed_form_matches_literal_forward_pass(law, prior, sigma2, seed):
    rng = np.random.default_rng(seed)
    st = _random_setting(rng, 3, 4, law, sigma2, prior)
    d = st.d
    P = rng.standard_normal((d + 1, d + 1)) * 0.3
    Q = rng.standard_normal((d + 1, d + 1)) * 0.2
    exact = OneLayer(st).loss(P, Q)
    est = mc_loss(st, [P], [Q], samples=300_000, rng=rng, level=0.999)
    assert est.contains(exact), (exact, est.ci)


def test_gamma_star_is_ahn_thm1_block_for_gaussian_identity_prior():
    rng = np.random.default_rng(5)
    d, n = 4, 7
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.array([0.5, 1.0, 2.0, 4.0])
    S = U @ np.diag(lam) @ U.T
    st = Setting.make((S + S.T) / 2, n)
    expected = U @ np.diag(1.0 / ((n + 1) / n * lam + lam.sum() / n)) @ U.T
    np.testing.assert_allclose(OneLayer(st).gamma_star(), expected, rtol=1e-10, atol=1e-12)


# --- audit of the public numeric helpers, each against an independent route ---------------------------

from fractions import Fraction  # noqa: E402

import mpmath as mp  # noqa: E402

from iclcheck.numerics.linalg import _residual_dot2, refined_spd_inverse, sqrtm_psd  # noqa: E402
from iclcheck.numerics.one_layer.closed_form import check_params  # noqa: E402
from iclcheck.numerics.random_matrices import random_spd  # noqa: E402
from iclcheck.theory.errors import InputError, NumericalFailure  # noqa: E402


def _exact_reduced_loss(Sigma, n, Gamma, sigma2=Fraction(0)):
    """L(Gamma) = E (x_q^T Gamma (1/n) sum y_i x_i - w^T x_q)^2 for diagonal Sigma, W = I, Gaussian, in Fractions,
    written out by hand (not the library's formula): with T = Gamma Sigma (diag Sigma = lam),
    E[(1/n) sum y_i x_i | w] = Sigma w and Cov = (1/n)(Sigma w w^T Sigma + (w^T Sigma w + sigma2) Sigma), so
    L = E |Sigma^{1/2}(Gamma Sigma - I) w|^2 + (1/n) E tr(Gamma^T Sigma Gamma (Sigma w w^T Sigma + (w^T Sigma w
    + sigma2) Sigma))."""
    d = len(Sigma)
    lam = [Fraction(v) for v in Sigma]
    G = [[Fraction(Gamma[i][j]) for j in range(d)] for i in range(d)]
    A = [[sum(G[k][i] * lam[k] * G[k][j] for k in range(d)) for j in range(d)] for i in range(d)]  # Gamma^T S Gamma
    # E |S^1/2 (G S - I) w|^2 = sum_k sum_i lam_i ((G S - I)_{ik})^2
    bias = sum(lam[i] * (G[i][k] * lam[k] - (1 if i == k else 0)) ** 2 for i in range(d) for k in range(d))
    # (1/n) E tr(A (S w w^T S)) = (1/n) tr(A S S) ; (1/n) E (w^T S w + s2) tr(A S) = (1/n)(tr S + s2) tr(A S)
    trAS2 = sum(A[i][i] * lam[i] ** 2 for i in range(d))
    trAS = sum(A[i][i] * lam[i] for i in range(d))
    return bias + (trAS2 + (sum(lam) + sigma2) * trAS) / n


def test_reduced_loss_is_the_loss_at_any_gamma_and_min_loss_takes_no_gamma():
    # The bug: min_loss(Gamma) returned tr(S W) - <Gamma, S W S> (here 6 - 0.7 = 5.3), which is the loss
    # only at a stationary Gamma; the loss at 0.05 I is 4.765 (by hand below, and by the full loss f(P, Q)).
    Sigma, n = [1, 2, 3], 4
    ol = OneLayer(Setting.make(np.diag(Sigma).astype(float), n))
    G = 0.05 * np.eye(3)
    exact = _exact_reduced_loss(Sigma, n, [[Fraction(1, 20) if i == j else 0 for j in range(3)] for i in range(3)])
    assert ol.reduced_loss(G) == pytest.approx(float(exact), rel=1e-14)
    assert float(exact) != pytest.approx(6 - 0.05 * 14, rel=1e-3)
    P, Q = OneLayer.params_from_gamma(G, scale=2.0)  # full loss at the canonical point implementing Gamma
    assert ol.loss(P, Q) == pytest.approx(float(exact), rel=1e-13)
    with pytest.raises(TypeError):
        ol.min_loss(G)  # removed: tr(SW) - <Gamma, SWS> is the loss only at a stationary Gamma


@pytest.mark.parametrize("n", [1, 4, 10**6, 10**12, 10**15])
def test_min_loss_against_exact_rationals_for_any_n(n):
    # Gamma* and L* for diagonal Sigma, W = I, Gaussian, in Fractions: Gamma*_ii = 1/(a lam + b), by hand.
    lam = [Fraction(1), Fraction(5, 2), Fraction(7, 3)]
    s2 = Fraction(1, 3)
    a, b = Fraction(n + 1, n), (sum(lam) + s2) / n
    Gex = [[1 / (a * lam[i] + b) if i == j else Fraction(0) for j in range(3)] for i in range(3)]
    Lex = _exact_reduced_loss(lam, n, Gex, s2)
    ol = OneLayer(Setting.make(np.diag([float(v) for v in lam]), n, sigma2=float(s2)))
    # before: L* = tr(S) - (...)/a^2 lost log10(n) digits (1.5e-5 relative at n = 1e12)
    assert abs(ol.min_loss() - float(Lex)) <= 4e-16 * float(Lex)
    np.testing.assert_allclose(np.diag(ol.gamma_star()), [float(Gex[i][i]) for i in range(3)], rtol=4e-16)
    assert ol.reduced_loss(ol.gamma_star()) == pytest.approx(float(Lex), rel=1e-12 if n < 10**6 else 1e-3)


def _mp_inverse(A):
    mp.mp.dps = 50
    return mp.matrix(A.tolist()) ** -1


@pytest.mark.parametrize("d", [2, 5, 10, 20])
@pytest.mark.parametrize("log_cond", [10, 11, 11.9])
def test_inverse_prior_gamma_star_to_1e_minus_8_at_condition_1e12(d, log_cond):
    # The issue: at cond 1e10..1e12 the plain inverse missed 1e-8 in 12 of 21 cases (worst 8.1e-4 at d = 20).
    S = random_spd(d, 10.0**log_cond, np.random.default_rng(d))
    ol = OneLayer(Setting.make(S, 7, Sigma_w="inv", sigma2=0.5))
    G = ol.gamma_star()
    Wi = _mp_inverse(S)  # 50 digits, of the very float matrix given
    a, b = mp.mpf(8) / 7, (d + mp.mpf(0.5)) / 7
    worst = max(abs((G[i, j] - Wi[i, j] / (a + b)) / (Wi[i, j] / (a + b))) for i in range(d) for j in range(d))
    assert worst <= 1e-8, float(worst)
    Lref = (1 + d + mp.mpf(0.5)) * d / (7 * (a + b))  # L* = (1 + tau) d / (n (a + b)) with tau = d + sigma2
    assert abs(ol.min_loss() - Lref) <= 1e-14 * Lref


def test_residual_in_doubled_precision_is_exact_to_rounding():
    rng = np.random.default_rng(3)
    A = random_spd(6, 1e9, rng)
    X = np.linalg.inv(A)
    R = _residual_dot2(A, X)
    exact = [[(1 if i == j else 0) - sum(Fraction(A[i, k]) * Fraction(X[k, j]) for k in range(6)) for j in range(6)]
             for i in range(6)]
    u = 2.0**-53
    absdot = np.abs(A) @ np.abs(X)  # sum_k |A_ik X_kj|
    for i in range(6):
        for j in range(6):
            e = float(exact[i][j])
            # Dot2's bound (Ogita, Rump, Oishi 2005, Prop. 5.5): |res - r| <= u |r| + gamma_{n-1}^2 sum |a_k x_k|
            # (gamma_k = k u / (1 - k u)); with n = d + 1 terms (the 1 of I) and a margin of 2 on gamma.
            assert abs(R[i, j] - e) <= u * abs(e) + (2 * 7 * u) ** 2 * absdot[i, j], (R[i, j], e)
            assert abs(R[i, j] - e) <= 1e-9 * abs(e)  # i.e. far below the error of the plain double residual


def test_refined_inverse_and_sqrtm_against_mpmath():
    S = random_spd(8, 1e11, np.random.default_rng(5))
    Wi = _mp_inverse(S)
    X = refined_spd_inverse(S)
    assert max(abs((X[i, j] - Wi[i, j]) / Wi[i, j]) for i in range(8) for j in range(8)) <= 1e-12
    S2 = random_spd(5, 100.0, np.random.default_rng(6))
    R = sqrtm_psd(S2)
    np.testing.assert_allclose(R, R.T, atol=0)
    np.testing.assert_allclose(R @ R, S2, rtol=0, atol=1e-13 * np.abs(S2).max())
    assert np.all(np.linalg.eigvalsh(R) > 0)


def test_check_params_and_loss_overflow_are_reported():
    with pytest.raises(InputError, match="must be 3x3"):
        check_params(np.eye(2), np.eye(3), 2)
    with pytest.raises(InputError, match="non-finite"):
        check_params(np.full((3, 3), np.nan), np.eye(3), 2)
    ol = OneLayer(Setting.make(np.eye(2), 3))
    P, Q = np.full((3, 3), 1e100), np.full((3, 3), 1e100)
    with pytest.raises(NumericalFailure, match="overflows float64"):
        ol.loss(P, Q)
