"""Exact L-layer losses on Ahn et al.'s families: special cases derived independently, the one-layer
closed form of the foundation, symmetry, and the certificate of the global optimum."""

import itertools

import numpy as np
import pytest
import sympy as sp

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.errors import InputError
from iclcheck.theory.multilayer import (
    a_symbols,
    gd_loss,
    gd_polynomial,
    gdpp_degree,
    gdpp_loss_at,
    gdpp_polynomial,
    optimal_gd_exact,
)
from iclcheck.theory.sample_moments import d_sym, n_sym
from iclcheck.theory.setting import Setting


def test_one_layer_by_hand():
    """L = 1: E|(I - aS) w|^2 + (sigma2/n) a^2 E tr S = d - 2ad + a^2 d (n+d+1)/n + sigma2 a^2 d / n
    (E tr S = d, E tr S^2 = d (n+d+1)/n), minimised at a = n / (n + d + 1 + sigma2) (Ahn eq. (7))."""
    (a,) = a_symbols(1)
    s2 = sp.Symbol("s2", positive=True)
    n, d = n_sym, d_sym
    f = gd_loss(1, n=n, d=d, sigma2=s2)
    by_hand = d - 2 * a * d + a**2 * d * (n + d + 1) / n + s2 * a**2 * d / n
    assert sp.simplify(f - by_hand) == 0
    a_star = sp.solve(sp.diff(f, a), a)
    assert len(a_star) == 1 and sp.simplify(a_star[0] - n / (n + d + 1 + s2)) == 0


@pytest.mark.parametrize("sigma2", [0, sp.Rational(1, 3)])
def test_one_layer_equals_foundation_closed_form(sigma2):
    """Gamma = a Sigma^{-1} in the foundation's reduced one-layer loss (non-isotropic Sigma, w ~ N(0, Sigma^-1))."""
    Sigma = [[2, 1, 0], [1, 2, 0], [0, 0, 1]]
    st = Setting.make(Sigma, 9, Sigma_w="inv", sigma2=sigma2)
    ol = OneLayer(st)
    for a in (0.3, 0.7, 1.4):
        exact = gd_loss(1, n=9, d=3, sigma2=sigma2, a=[sp.Rational(a).limit_denominator(100)])
        G = a * np.linalg.inv(st.Sigma)
        np.testing.assert_allclose(ol.reduced_loss(G), float(exact), rtol=1e-12)


def test_loss_is_symmetric_in_the_layers():
    a = a_symbols(3)
    f = gd_loss(3, n=n_sym, d=d_sym)
    for perm in itertools.permutations(a):
        assert sp.expand(f - f.subs(dict(zip(a, perm, strict=True)), simultaneous=True)) == 0


def test_gdpp_reduces_to_gd_and_degrees():
    a = sp.symbols("a0:3")
    assert [sp.expand(u - v) for u, v in zip(gdpp_polynomial(a, [0, 0]), gd_polynomial(a), strict=False)] == [0] * 4
    assert [gdpp_degree(L) for L in (1, 2, 3, 4)] == [1, 4, 13, 40]
    b = sp.symbols("b0:2")
    p = gdpp_polynomial(a, b)
    assert len(p) - 1 == 13
    # b_{L-1} never enters
    assert p == gdpp_polynomial(a, [*b, sp.Symbol("unused")])


def test_gdpp_L2_by_hand():
    """L = 2: p(x) = (1 - a0 x)(1 - a1 x (1 - a0 b0 x)^2)."""
    a0, a1, b0, x = sp.symbols("a0 a1 b0 x")
    p = gdpp_polynomial([a0, a1], [b0])
    expected = sp.Poly(sp.expand((1 - a0 * x) * (1 - a1 * x * (1 - a0 * b0 * x) ** 2)), x).all_coeffs()[::-1]
    assert [sp.expand(u - v) for u, v in zip(p, expected, strict=True)] == [0] * 5
    val = gdpp_loss_at([sp.Rational(1, 2), sp.Rational(3, 2)], [sp.Rational(4, 5)], n=20, d=5)
    assert val.is_Rational and val > 0


@pytest.mark.parametrize("L,sigma2", [(1, 0), (2, 0), (3, 0), (3, sp.Rational(1, 2)), (4, 0)])
def test_optimum_certified_and_stationary(L, sigma2):
    opt = optimal_gd_exact(L, n=20, d=5, sigma2=sigma2)
    assert opt.certified
    a_syms = a_symbols(L)
    f = gd_loss(L, n=20, d=5, sigma2=sigma2)
    vals = dict(zip(a_syms, opt.a_float(), strict=True))
    grad = [float(sp.diff(f, s).subs(vals)) for s in a_syms]
    assert max(abs(g) for g in grad) < 1e-9
    assert abs(float(f.subs(vals)) - float(opt.loss)) < 1e-12
    hess = np.array([[float(sp.diff(f, u, v).subs(vals)) for v in a_syms] for u in a_syms])
    assert np.linalg.eigvalsh(hess)[0] > 0


def test_optimum_lower_than_random_points():
    """Independent sanity route: the certified minimum is below the loss at 2000 random real a."""
    opt = optimal_gd_exact(3, n=20, d=5)
    f = sp.lambdify(a_symbols(3), gd_loss(3, n=20, d=5))
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 4, size=(2000, 3))
    assert np.min(f(*pts.T)) >= float(opt.loss)


def test_bad_input():
    with pytest.raises(InputError, match="L"):
        gd_loss(0, n=3, d=2)


def test_noise_can_make_the_optimal_filter_complex_rooted():
    """Finding: with label noise sigma2 = 10 (d = 5, n = 20, L = 2) the best degree-2 filter p has complex roots,
    so no real per-layer steps attain it; the best real steps (grid search, an independent route) coincide,
    a_0 = a_1 (a repeated root on the boundary of the real-rooted set), with a strictly larger loss."""
    opt = optimal_gd_exact(2, n=20, d=5, sigma2=10)
    assert opt.positive_definite and opt.a_roots is None and not opt.certified
    f = sp.lambdify(a_symbols(2), gd_loss(2, n=20, d=5, sigma2=10))
    g = np.linspace(0.0, 1.5, 301)
    X, Y = np.meshgrid(g, g)
    V = f(X, Y)
    i = np.unravel_index(np.argmin(V), V.shape)
    assert V[i] > float(opt.loss) + 0.05  # 1.996 vs 1.942
    assert abs(X[i] - Y[i]) <= 0.011  # equal steps, up to the grid spacing


@pytest.mark.slow
def test_noiseless_optimum_always_certified_sweep():
    """Kernel-polynomial argument, checked exactly on a grid: without noise the convex optimum is real-rooted
    with positive roots for every (d, n, L) tried (n < d included)."""
    for d in (1, 2, 3, 5, 8):
        for n in (1, 2, 3, 5, 8, 13, 20, 40):
            for L in (1, 2, 3, 4, 5):
                opt = optimal_gd_exact(L, n=n, d=d)
                assert opt.certified, (d, n, L)
                assert min(opt.a_float()) > 0
