"""haar_orthogonal's CholeskyQR2 route (d >= CHOLQR_MIN_D) gives the same matrix as the Householder route (the Q of
Z = QR with R's diagonal positive is unique), up to rounding, and falls back to Householder on ill-conditioned Z."""

import numpy as np

from iclcheck.numerics.random_matrices import CHOLQR_MIN_D, _q_cholqr2, haar_orthogonal


def _householder(Z):
    Qm, R = np.linalg.qr(Z)
    return Qm * np.sign(np.diag(R))


def test_same_matrix_as_householder_and_orthogonal():
    d = CHOLQR_MIN_D
    Q = haar_orthogonal(d, np.random.default_rng(7))
    Z = np.random.default_rng(7).standard_normal((d, d))  # the same draw
    np.testing.assert_allclose(Q, _householder(Z), atol=1e-12)  # rounding of two backward-stable routes
    np.testing.assert_allclose(Q.T @ Q, np.eye(d), atol=1e-13)


def test_small_d_keeps_the_householder_route_bit_for_bit():
    Q = haar_orthogonal(20, np.random.default_rng(3))
    assert np.array_equal(Q, _householder(np.random.default_rng(3).standard_normal((20, 20))))


def test_ill_conditioned_falls_back():
    Z = np.random.default_rng(1).standard_normal((CHOLQR_MIN_D, CHOLQR_MIN_D))
    Z[:, 0] = Z[:, 1] * (1 + 1e-9)  # cond ~ 1e9 > 1e6
    assert _q_cholqr2(Z) is None
