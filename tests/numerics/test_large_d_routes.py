"""The large-d routes of precond (issue 10, point 5), each against an independent route.

random_spd above CHOLQR_MIN_D builds Sigma = B B^T by one symmetric rank-k update; the Gaussian, Sigma_w = I
minimal loss is (tr S + tau <S, Gamma*>) / (n + 1) in O(d^2); the SPD inverse and the SPD check hand LAPACK the
F-ordered view of a symmetric matrix; the symmetry check works in row blocks."""

import mpmath as mp
import numpy as np
import pytest

from iclcheck.numerics.linalg import _spd_inverse, mirror_upper
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.random_matrices import CHOLQR_MIN_D, haar_orthogonal, random_spd
from iclcheck.theory import Setting
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import check_symmetric, max_asymmetry


def test_random_spd_large_d_is_the_product_u_lam_ut_and_exactly_symmetric():
    d, cond = CHOLQR_MIN_D + 7, 300.0
    S = random_spd(d, cond, np.random.default_rng(11))
    U = haar_orthogonal(d, np.random.default_rng(11))  # the same draw, then the plain product
    lam = np.logspace(0.0, np.log10(cond), d)
    ref = (U * lam) @ U.T
    assert S.flags.c_contiguous and np.array_equal(S, S.T)
    np.testing.assert_allclose(S, (ref + ref.T) / 2, rtol=0, atol=1e-13 * cond)
    ev = np.linalg.eigvalsh(S)
    np.testing.assert_allclose(ev, lam, rtol=1e-12)


def test_random_spd_small_d_keeps_the_earlier_matrices_bit_for_bit():
    d = 12
    U = haar_orthogonal(d, np.random.default_rng(4))
    lam = np.logspace(0.0, 1.0, d)
    S = (U * lam) @ U.T
    assert np.array_equal(random_spd(d, 10.0, np.random.default_rng(4)), (S + S.T) / 2)


def _mp_min_loss(S, n, sigma2):
    """tr((S^2 + tau S) ((n+1) S + tau I)^-1) at 50 digits for the very float S (W = I, Gaussian)."""
    mp.mp.dps = 50
    d = S.shape[0]
    Sm = mp.matrix(S.tolist())
    tau = sum(Sm[i, i] for i in range(d)) + mp.mpf(sigma2)
    C = (n + 1) * Sm + tau * mp.eye(d)
    X = (Sm * Sm + tau * Sm) * C**-1
    return sum(X[i, i] for i in range(d))


@pytest.mark.parametrize("n", [1, 3, 50, 10**6, 10**12])
def test_identity_prior_min_loss_against_50_digit_reference(n):
    S = random_spd(6, 80.0, np.random.default_rng(n % 97))
    one = OneLayer(Setting.make(S, n, sigma2=0.25))
    ref = _mp_min_loss(S, n, 0.25)
    assert abs(one.min_loss() - ref) <= 2e-15 * ref, (one.min_loss(), float(ref))
    # and the general route (1/n) tr(N Gamma*^T), which the closed form replaced for this case
    assert one.min_loss() == pytest.approx(float(np.sum(one.N * one.gamma_star().T)) / n, rel=1e-13)


def test_identity_prior_min_loss_large_d_agrees_with_the_general_route():
    S = random_spd(CHOLQR_MIN_D, 100.0, np.random.default_rng(2))
    one = OneLayer(Setting.make(S, 50, sigma2=0.3))
    G = one.gamma_star()
    assert G.flags.c_contiguous and np.array_equal(G, G.T)
    d = S.shape[0]
    ref = np.linalg.inv(S * 51 / 50 + (np.trace(S) + 0.3) / 50 * np.eye(d))  # (a S + b I)^-1 by LU
    np.testing.assert_allclose(G, ref, rtol=0, atol=1e-13 * np.abs(ref).max())
    assert one.min_loss() == pytest.approx(float(np.sum(one.N * G.T)) / 50, rel=1e-13)
    assert one.min_loss() == pytest.approx(one.reduced_loss(G), rel=1e-11)


def test_spd_inverse_overwrite_gives_the_same_bits_and_only_then_destroys_a():
    S = random_spd(CHOLQR_MIN_D, 50.0, np.random.default_rng(5))
    A = S.copy()
    X = _spd_inverse(A)
    assert np.array_equal(A, S)  # kept
    Y = _spd_inverse(A, overwrite=True)
    assert np.array_equal(X, Y) and X.flags.c_contiguous and np.array_equal(X, X.T)
    np.testing.assert_allclose(X @ S, np.eye(S.shape[0]), atol=1e-12)


def test_mirror_upper_copies_the_upper_triangle_down():
    A = np.random.default_rng(0).standard_normal((600, 600))
    ref = np.triu(A) + np.triu(A, 1).T
    assert np.array_equal(mirror_upper(A.copy()), ref)


def test_blocked_asymmetry_and_check_symmetric():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((700, 700))
    assert max_asymmetry(M) == np.max(np.abs(M - M.T))
    S = M + M.T
    assert check_symmetric(S, "Sigma", scale=1.0) is S  # exactly symmetric: no copy
    T = S.copy()
    T[3, 650] += 1e-14
    out = check_symmetric(T, "Sigma", scale=1.0)
    assert np.array_equal(out, out.T) and out[3, 650] == (T[3, 650] + T[650, 3]) / 2
    T[3, 650] += 1e-3
    with pytest.raises(InputError, match=r"not symmetric \(entry \[3,650\]"):
        check_symmetric(T, "Sigma", scale=1.0)
