"""numerics.families.restricted against independent routes: the binomial expansion of E tr (I - a S)^{2L} in the exact
Wishart moments, a brute-force search over rank-r factorisations, the closed-form one-layer optimum, and finite
differences for the separate-K/Q gradient."""

import math

import numpy as np
import pytest
from scipy import optimize

from iclcheck.numerics.families.restricted import (
    gd_beta_loss,
    kq_gamma,
    kq_loss_and_grad,
    optimal_tied_gd,
    plateau_losses,
    rank_restricted_optimum,
    saddle_flow,
    tied_gd_loss,
    tied_gd_loss_exact,
)
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.theory.errors import InputError
from iclcheck.theory.sample_moments import wishart_moments
from iclcheck.theory.setting import Setting


@pytest.mark.parametrize("d,n,L,a", [(2, 5, 1, 0.3), (3, 7, 2, 0.6), (5, 20, 3, 0.71)])
def test_tied_loss_is_the_binomial_expansion_in_wishart_moments(d, n, L, a):
    W = wishart_moments(2 * L, n=n, d=d)
    m = [w / n**k for k, w in enumerate(W)]  # E tr S^k
    want = sum(math.comb(2 * L, k) * (-a) ** k * m[k] for k in range(2 * L + 1))
    assert tied_gd_loss(a, L, (d, n)) == pytest.approx(want, rel=1e-11)
    sym, f = tied_gd_loss_exact(L, n=n, d=d)
    assert float(f.subs(sym, a)) == pytest.approx(want, rel=1e-11)


def test_tied_optimum_is_a_minimum_and_reduces_to_eq7():
    o1 = optimal_tied_gd((4, 9), 1)
    assert o1.a == pytest.approx(9 / 14, rel=1e-14)
    o = optimal_tied_gd((4, 9), 3)
    for da in (-1e-3, 1e-3, -0.1, 0.2):
        assert tied_gd_loss(o.a + da, 3, (4, 9)) > o.loss
    assert o.loss >= o.untied_loss - 1e-12  # tying cannot beat the untied optimum


def test_rank_restricted_optimum_against_brute_force():
    rng = np.random.default_rng(7)
    d, n = 3, 6
    s = Setting.make(random_spd(d, 8.0, rng), n, Sigma_w=random_spd(d, 3.0, rng), sigma2=0.3)
    ol = OneLayer(s)
    for r in range(d + 1):
        G, loss = rank_restricted_optimum(s, r)
        assert np.linalg.matrix_rank(G, tol=1e-10) == r
        assert ol.reduced_loss(G) == pytest.approx(loss, rel=1e-12, abs=1e-12)
        if r == 0:
            continue
        best = np.inf
        for _ in range(6):  # Gamma = U V^T, U, V of shape d x r, from random starts
            x0 = rng.standard_normal(2 * d * r)
            def f(x, r=r):
                return ol.reduced_loss(x[:d * r].reshape(d, r) @ x[d * r:].reshape(d, r).T)

            res = optimize.minimize(f, x0, method="BFGS", options={"gtol": 1e-10})
            best = min(best, res.fun)
        assert best >= loss - 1e-9  # nothing of rank r beats Eckart-Young
        assert best == pytest.approx(loss, rel=1e-6)  # and the search finds it
    np.testing.assert_allclose(rank_restricted_optimum(s, d)[0], ol.gamma_star(), rtol=1e-9, atol=1e-12)
    assert plateau_losses(s)[-1] == pytest.approx(ol.min_loss(), rel=1e-10)
    with pytest.raises(InputError):
        rank_restricted_optimum(s, d + 1)


def test_kq_gradient_by_central_differences():
    rng = np.random.default_rng(8)
    d, H, R = 3, 2, 2
    s = Setting.make(random_spd(d, 5.0, rng), 9)
    v, WK, WQ = rng.standard_normal(H), rng.standard_normal((H, R, d)), rng.standard_normal((H, R, d))
    _, (dv, dWK, dWQ) = kq_loss_and_grad(s, v, WK, WQ)
    h = 1e-6
    for arr, g in ((v, dv), (WK, dWK), (WQ, dWQ)):
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            fp = kq_loss_and_grad(s, v, WK, WQ)[0]
            arr[idx] = old - h
            fm = kq_loss_and_grad(s, v, WK, WQ)[0]
            arr[idx] = old
            assert (fp - fm) / (2 * h) == pytest.approx(g[idx], rel=1e-6, abs=1e-7)
    G = kq_gamma(v, WK, WQ)
    assert kq_loss_and_grad(s, v, WK, WQ)[0] == pytest.approx(OneLayer(s).reduced_loss(G), rel=1e-13)


def test_saddle_flow_descends_to_the_optimum():
    rng = np.random.default_rng(9)
    s = Setting.make(np.diag([0.5, 0.3, 0.2]), 15)
    fl = saddle_flow(s, heads=3, init=1e-2, dt=1.0, steps=20000, rng=rng)
    assert np.all(np.diff(fl.loss) <= 1e-12)  # gradient flow with a small step never goes up
    assert fl.loss[-1] == pytest.approx(OneLayer(s).min_loss(), rel=1e-6)


def test_gd_beta_at_the_mean_is_the_centred_master_loss():
    rng = np.random.default_rng(10)
    d = 3
    s = Setting.make(random_spd(d, 4.0, rng), 11, Sigma_w=random_spd(d, 2.0, rng), sigma2=0.2)
    G = rng.standard_normal((d, d))
    mu = rng.standard_normal(d)
    assert gd_beta_loss(s, G, mu, mu) == pytest.approx(OneLayer(s).reduced_loss(G), rel=1e-13)
    assert gd_beta_loss(s, G, mu + 0.1, mu) > gd_beta_loss(s, G, mu, mu)
