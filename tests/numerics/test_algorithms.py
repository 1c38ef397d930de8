"""iclcheck.numerics.algorithms.reference against independent closed forms (normal equations, spectral formulas, KKT)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iclcheck.numerics.algorithms.reference import (
    gd,
    gdpp_transform,
    gram,
    newton_alpha,
    newton_iterates,
    newton_w,
    ols,
    one_step_predict,
    preconditioned_gd,
    ridge,
)
from iclcheck.theory.errors import InputError


def _prompts(rng, B, n, d):
    X = rng.standard_normal((B, n, d))
    y = rng.standard_normal((B, n))
    return X, y


def test_ols_solves_normal_equations_when_n_ge_d():
    X, y = _prompts(np.random.default_rng(1), 5, 12, 4)
    w = ols(X, y)
    for b in range(5):
        expected = np.linalg.solve(X[b].T @ X[b], X[b].T @ y[b])  # normal equations
        np.testing.assert_allclose(w[b], expected, rtol=1e-10, atol=1e-12)


def test_ols_is_minimum_norm_interpolant_when_n_lt_d():
    X, y = _prompts(np.random.default_rng(2), 3, 3, 7)
    w = ols(X, y)
    for b in range(3):
        np.testing.assert_allclose(X[b] @ w[b], y[b], atol=1e-10)  # interpolates
        a = np.linalg.solve(X[b] @ X[b].T, y[b])  # min-norm solution lies in the row space: w = X^T a
        np.testing.assert_allclose(w[b], X[b].T @ a, atol=1e-10)


def test_ridge_is_stationary():
    X, y = _prompts(np.random.default_rng(3), 4, 6, 5)
    lam = 0.3
    w = ridge(X, y, lam=lam)
    n = X.shape[1]
    grad = np.einsum("bnd,bn->bd", X, np.einsum("bnd,bd->bn", X, w) - y) / n + lam * w  # KKT
    np.testing.assert_allclose(grad, 0, atol=1e-12)
    with pytest.raises(InputError, match="lam"):
        ridge(X, y, lam=0.0)


def test_gd_matches_spectral_closed_form_and_tends_to_ols():
    rng = np.random.default_rng(4)
    X, y = _prompts(rng, 3, 20, 4)
    n = 20
    eta, k = 0.5, 7
    W = gd(X, y, eta=eta, steps=k, path=True)  # (k+1, B, d)
    for b in range(3):
        S = X[b].T @ X[b] / n
        g = X[b].T @ y[b] / n
        for j in range(k + 1):  # w_j = (I - (I - eta S)^j) S^{-1} g
            expected = (np.eye(4) - np.linalg.matrix_power(np.eye(4) - eta * S, j)) @ np.linalg.solve(S, g)
            np.testing.assert_allclose(W[j, b], expected, rtol=1e-9, atol=1e-12)
    w_long = gd(X, y, eta=eta, steps=400)
    np.testing.assert_allclose(w_long, ols(X, y), atol=1e-8)


def test_fu_unnormalised_gd_is_gd_with_step_n_eta():
    rng = np.random.default_rng(5)
    X, y = _prompts(rng, 1, 9, 3)
    X, y = X[0], y[0]
    eta_fu = 0.01
    w = np.zeros(3)
    for _ in range(5):  # w <- w - eta (S w - X^T y), the paper's unnormalised gradient
        w = w - eta_fu * (X.T @ X @ w - X.T @ y)
    np.testing.assert_allclose(gd(X, y, eta=9 * eta_fu, steps=5), w, rtol=1e-12)


def test_one_step_prediction_equals_one_preconditioned_step():
    rng = np.random.default_rng(6)
    X, y = _prompts(rng, 6, 5, 3)
    xq = rng.standard_normal((6, 3))
    G = rng.standard_normal((3, 3))
    w1 = preconditioned_gd(X, y, Gamma=G, steps=1)
    np.testing.assert_allclose(one_step_predict(X, y, xq, Gamma=G), np.einsum("bd,bd->b", xq, w1), rtol=1e-12)


def test_gdpp_transform_gram():
    rng = np.random.default_rng(7)
    X, _ = _prompts(rng, 2, 6, 3)
    xq = rng.standard_normal((2, 3))
    gamma = 0.05
    Xn, xqn = gdpp_transform(X, xq, gamma=gamma)
    for b in range(2):
        S = X[b].T @ X[b]
        A = np.eye(3) - gamma * S
        for i in range(6):  # per-token map, written out
            np.testing.assert_allclose(Xn[b, i], X[b, i] - gamma * S @ X[b, i], rtol=1e-12)
        np.testing.assert_allclose(xqn[b], A @ xq[b], rtol=1e-12)
        ev = np.linalg.eigvalsh(S)
        ev_new = np.linalg.eigvalsh(Xn[b].T @ Xn[b])
        np.testing.assert_allclose(np.sort(ev_new), np.sort(ev * (1 - gamma * ev) ** 2), rtol=1e-9, atol=1e-12)


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6), d=st.integers(1, 5))
def test_newton_converges_to_pseudo_inverse_with_code_alpha(seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    S = gram(X)
    a = newton_alpha(S, rule="code")
    Ms = newton_iterates(S, alpha=a, steps=60)
    P_range = np.linalg.pinv(S) @ S  # orthogonal projector onto range(S)
    np.testing.assert_allclose(Ms[-1] @ S, P_range, atol=1e-8)
    np.testing.assert_allclose(newton_w(X, y, steps=60)[-1], ols(X, y), atol=1e-7 * (1 + np.abs(ols(X, y)).max()))


def test_newton_matches_spectral_closed_form():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((7, 4))
    S = X.T @ X
    lam, U = np.linalg.eigh(S)
    a = 0.7 / lam.max() ** 2
    Ms = newton_iterates(S, alpha=a, steps=4)
    for k in range(5):  # m_k(lambda) = (1 - (1 - a lambda^2)^(2^k)) / lambda
        m = (1 - (1 - a * lam**2) ** (2**k)) / lam
        np.testing.assert_allclose(Ms[k], (U * m) @ U.T, rtol=1e-9, atol=1e-12)


def test_printed_alpha_annihilates_the_top_direction():
    S = np.diag([3.0, 1.0])
    a = newton_alpha(S, rule="printed")
    assert a == pytest.approx(2 / 9)
    M1 = newton_iterates(S, alpha=a, steps=1)[1]
    # eigenvalue 3: m_1 = m_0 (2 - m_0 * 3) with m_0 = 3a = 2/3 -> 0
    assert abs(M1[0, 0]) < 1e-15
    with pytest.raises(InputError, match="rule"):
        newton_alpha(S, rule="nope")


def test_single_prompt_shapes_and_bad_input():
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((5, 3)), rng.standard_normal(5)
    assert ols(X, y).shape == (3,)
    assert gd(X, y, eta=0.1, steps=3, path=True).shape == (4, 3)
    assert newton_w(X, y, steps=2).shape == (3, 3)
    with pytest.raises(InputError, match="y"):
        ols(X, y[:4])
    with pytest.raises(InputError, match="steps"):
        gd(X, y, eta=0.1, steps=-1)
    with pytest.raises(InputError, match="Gamma"):
        preconditioned_gd(X, y, Gamma=np.eye(2), steps=1)
