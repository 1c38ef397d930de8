"""The reduced moments G_s = U^T G U, a_mat = U^T a3 gathered by pair index (``lift.reduced``, issue 19) against two
other routes: the dense product with the orthonormal basis ``pair_basis``, and the exact path on Fractions (the
unnormalised basis, rescaled by 1/sqrt 2 per off-diagonal pair)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from iclcheck.numerics.one_layer.lift import Moments, pair_basis, pairs, reduced


def _moments(d: int, seed: int) -> Moments:
    k = d + 1
    rng = np.random.default_rng(seed)
    EGG = rng.integers(-50, 51, size=(k, k, k, k)).astype(float)  # integers: the Fraction route is exact
    a3 = rng.integers(-50, 51, size=(k, k, d)).astype(float)
    return Moments(EGG=EGG, a3=a3, c0=0.0, S=np.eye(d), n=1.0)


@pytest.mark.parametrize(("d", "seed"), [(1, 0), (2, 1), (3, 2), (6, 3)])
def test_gather_matches_dense_product(d: int, seed: int) -> None:
    mo = _moments(d, seed)
    k = d + 1
    U = pair_basis(d)  # [k^2, P]
    Gs, amat = reduced(mo)
    G_dense = U.T @ mo.EGG.reshape(k * k, k * k) @ U
    a_dense = U.T @ mo.a3.reshape(k * k, d)
    assert Gs.shape == G_dense.shape and amat.shape == a_dense.shape
    # both are sums of at most 4 products of the same factors: they differ by a few units of rounding at most
    scale = np.abs(mo.EGG).max()
    np.testing.assert_allclose(Gs, G_dense, rtol=0, atol=8 * np.finfo(float).eps * scale)
    np.testing.assert_allclose(amat, a_dense, rtol=0, atol=4 * np.finfo(float).eps * np.abs(mo.a3).max())


@pytest.mark.parametrize(("d", "seed"), [(1, 4), (2, 5), (3, 6)])
def test_gather_matches_exact_route(d: int, seed: int) -> None:
    mo = _moments(d, seed)
    frac = Moments(EGG=np.vectorize(Fraction, otypes=[object])(mo.EGG.astype(int)),
                   a3=np.vectorize(Fraction, otypes=[object])(mo.a3.astype(int)), c0=Fraction(0),
                   S=np.eye(d), n=Fraction(1))
    Ge, ae = reduced(frac, exact=True)  # unnormalised basis: columns E_ab + E_ba off the diagonal
    w = np.array([1.0 if a == b else 1 / np.sqrt(2) for a, b in pairs(d)])  # [P]
    Gs, amat = reduced(mo)
    # each entry sums <= 4 (G) or <= 2 (a) rounded products: absolute error a few eps times the largest term
    eps = np.finfo(float).eps
    np.testing.assert_allclose(Gs, w[:, None] * Ge.astype(float) * w[None, :], rtol=0,
                               atol=8 * eps * np.abs(mo.EGG).max())
    np.testing.assert_allclose(amat, w[:, None] * ae.astype(float), rtol=0, atol=4 * eps * np.abs(mo.a3).max())
