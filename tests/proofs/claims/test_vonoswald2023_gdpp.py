"""vonoswald2023.gdpp: confirmed; the spectral map and the condition-number helper agree with floats."""

import numpy as np
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.numerics.algorithms.reference import gdpp_transform
from iclcheck.proofs.claims.vonoswald2023_gdpp import curvature_condition
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.notation import vonoswald as vo


def test_quick_profile_confirms(claim_result):
    r = claim_result("vonoswald2023.gdpp")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.status, s.detail) for s in r.steps]
    assert sum(s.exact for s in r.steps) >= 5


def test_curvature_condition_against_a_dense_grid():
    lo, hi, g = sp.Rational(1, 2), sp.Rational(9), sp.Rational(1, 20)
    lam = np.linspace(0.5, 9, 200001)
    p = lam * (1 - 0.05 * lam) ** 2
    assert np.isclose(float(curvature_condition(lo, hi, g)), p.max() / p.min(), rtol=1e-6)
    assert curvature_condition(sp.Integer(1), sp.Integer(30), sp.Rational(1, 20)) == sp.oo  # 1/gamma = 20 inside


def test_with_gamma_over_N_the_transform_would_differ():
    # Negative control: the canonical reading P x-block = -gamma (1/n outside) gives I - (gamma/N) XX^T.
    rng = np.random.default_rng(0)
    X, Y, W = rng.standard_normal((4, 2)), rng.standard_normal((4, 1)), rng.standard_normal((1, 2))
    xq = rng.standard_normal(2)
    w = vo.gdpp_weights(W, 0.3, 0.2, 4)
    E1 = vo.lsa_layer(vo.tokens(X, Y, xq, W), N=4, **w)
    wrong = (np.eye(2) - 0.2 / 4 * X.T @ X) @ X.T
    assert not np.allclose(E1[:2, :4], wrong)
    np.testing.assert_allclose(E1[:2, :4], (np.eye(2) - 0.2 * X.T @ X) @ X.T, rtol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), Nx=st.integers(1, 6), N=st.integers(1, 12), gamma=st.floats(0.0, 0.5))
@example(seed=0, Nx=10, N=10, gamma=0.179)
def test_literal_layer_is_gdpp_transform_plus_gd_step(seed, Nx, N, gamma):
    rng = np.random.default_rng(seed)
    X, Y = rng.uniform(-0.5, 0.5, (N, Nx)), rng.standard_normal((N, 1))
    xq, W = rng.uniform(-0.5, 0.5, Nx), rng.standard_normal((1, Nx))
    eta = 0.7
    E1 = vo.lsa_layer(vo.tokens(X, Y, xq, W), N=N, **vo.gdpp_weights(W, eta, gamma, N))
    Xn, xqn = gdpp_transform(X, xq, gamma=gamma)
    np.testing.assert_allclose(E1[:Nx], np.column_stack([Xn.T, xqn]), rtol=1e-10, atol=1e-12)
    dW = -(eta / N) * ((X @ W.T - Y).T @ X)  # GD step with the old inputs
    np.testing.assert_allclose(E1[Nx:, :N], Y.T - dW @ X.T, rtol=1e-10, atol=1e-12)
