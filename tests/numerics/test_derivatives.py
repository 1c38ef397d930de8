"""Gradient / HVP / Hessian of the full one-layer loss, checked two independent ways (table-driven):

* against sympy differentiation of ``theory.one_layer.full_loss_formula`` over symbols (d = 2, exact
  rational setting, exact point): the symbolic derivative never passes through the hand-derived formula;
* against central finite differences of the closed-form loss ``OneLayer.loss`` (d = 3, float settings),
  with a tolerance derived from the step: for a step h the central difference of f along e is
  f'(0) + h^2/6 f'''(0) exactly (f is a quartic, so the remainder has no higher term), plus rounding of
  at most ~ 4 eps max|f| / (2h). f'''(0) itself is computed exactly from the third-difference stencil
  [f(2H) - 2f(H) + 2f(-H) - f(-2H)] / (2 H^3), exact for quartics.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import sympy as sp

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import (
    grad_flat,
    loss_and_grad,
    loss_flat,
    n_params,
    pack,
    unpack,
)
from iclcheck.numerics.one_layer.hessian import hessian_flat, hvp_flat
from iclcheck.theory.errors import InputError
from iclcheck.theory.one_layer import SYMPY_OPS, exact_inputs, full_loss_formula
from iclcheck.theory.setting import Setting

EPS = np.finfo(float).eps

# (name, Sigma, n, Sigma_w, sigma2, covariates) -- exact rationals so that sympy differentiates exactly
SYMPY_CASES = [
    ("gauss-I", [[2, 1], [1, 3]], 3, None, 0, "gaussian"),
    ("gauss-inv-noise", [[2, 1], [1, 3]], 4, "inv", sp.Rational(1, 2), "gaussian"),
    ("gauss-given", [[1, 0], [0, 4]], 2, [[2, -1], [-1, 3]], sp.Rational(1, 3), "gaussian"),
    ("uniform-diag", [[1, 0], [0, 3]], 5, [[1, sp.Rational(1, 2)], [sp.Rational(1, 2), 2]], 1, "uniform"),
    ("rademacher-diag", [[2, 0], [0, 1]], 3, None, sp.Rational(1, 4), "rademacher"),
]


def _sym_theta(d: int):
    b = sp.Matrix(sp.symbols(f"b0:{d}"))
    c = sp.Symbol("c")
    Q11 = sp.Matrix(d, d, sp.symbols(f"q0:{d * d}"))
    q21 = sp.Matrix(sp.symbols(f"r0:{d}"))
    flat = list(b) + [c] + list(Q11) + list(q21)  # Q11 row-major, as numerics.one_layer.derivatives packs it
    return b, c, Q11, q21, flat


@pytest.mark.parametrize("name,Sigma,n,Sigma_w,sigma2,cov", SYMPY_CASES, ids=[c[0] for c in SYMPY_CASES])
def test_gradient_and_hessian_equal_sympy(name, Sigma, n, Sigma_w, sigma2, cov):
    setting = Setting.make(Sigma, n, Sigma_w=Sigma_w, sigma2=sigma2, covariates=cov)
    d = setting.d
    S, W, Sh, km3, s2, nn = exact_inputs(setting)
    b, c, Q11, q21, flat = _sym_theta(d)
    f = sp.expand(full_loss_formula(S, W, Sh, km3, s2, nn, b, c, Q11, q21, SYMPY_OPS))
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # fixed seed per case
    point = [sp.Rational(int(k), 4) for k in rng.integers(-8, 9, size=len(flat))]
    sub = dict(zip(flat, point, strict=True))
    g_exact = np.array([float(sp.diff(f, s).subs(sub)) for s in flat])
    H_exact = np.array([[float(sp.diff(f, s, t).subs(sub)) for t in flat] for s in flat])
    theta = np.array([float(x) for x in point])
    ol = OneLayer(setting)
    assert loss_flat(ol, theta) == pytest.approx(float(f.subs(sub)), rel=1e-12)
    # float evaluation of an exact polynomial: rounding only, relative to the size of the entries
    np.testing.assert_allclose(grad_flat(ol, theta), g_exact, rtol=1e-11, atol=1e-11 * np.abs(g_exact).max())
    np.testing.assert_allclose(hessian_flat(ol, theta), H_exact, rtol=1e-10, atol=1e-10 * np.abs(H_exact).max())


FD_CASES = [
    # (name, covariates, Sigma_w kind, sigma2, n, seed)
    ("gauss-I", "gaussian", None, 0.0, 5, 1),
    ("gauss-inv", "gaussian", "inv", 0.2, 3, 2),
    ("gauss-given", "gaussian", "given", 0.5, 7, 3),
    ("uniform-given", "uniform", "given", 0.1, 4, 4),
    ("rademacher-I", "rademacher", None, 0.0, 2, 5),
]


def _float_setting(cov, kind, sigma2, n, rng, d=3):
    A = rng.normal(size=(d, d))
    S = A @ A.T + 0.5 * np.eye(d)
    B = rng.normal(size=(d, d))
    Sw = {"given": B @ B.T / d + 0.3 * np.eye(d), "inv": "inv", None: None}[kind]
    return Setting.make(S, n, Sigma_w=Sw, sigma2=sigma2, covariates=cov)


@pytest.mark.parametrize("name,cov,kind,sigma2,n,seed", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_gradient_matches_central_differences_of_the_loss(name, cov, kind, sigma2, n, seed):
    rng = np.random.default_rng(seed)
    ol = OneLayer(_float_setting(cov, kind, sigma2, n, rng))
    d = ol.d
    theta = rng.normal(size=n_params(d))
    g = grad_flat(ol, theta)
    h, H3 = 1e-4, 1.0
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = 1.0

        def F(t, e=e):
            P, Q = unpack(theta + t * e, d)
            return ol.loss(P, Q)  # the closed form itself, not the code under test

        fd = (F(h) - F(-h)) / (2 * h)
        f3 = (F(2 * H3) - 2 * F(H3) + 2 * F(-H3) - F(-2 * H3)) / (2 * H3**3)
        fmax = max(abs(F(t)) for t in (-2 * H3, -H3, 0.0, H3, 2 * H3))
        tol = h**2 / 6 * abs(f3) + 4 * EPS * fmax / (2 * h) * 10  # truncation + rounding (x10 margin)
        tol += 8 * EPS * fmax / (2 * H3**3)  # rounding in the exact f''' stencil, scaled by h^2/6 < 1
        assert abs(g[i] - fd) <= tol, (i, g[i], fd, tol)


@pytest.mark.parametrize("name,cov,kind,sigma2,n,seed", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_hvp_is_linear_symmetric_and_matches_gradient_differences(name, cov, kind, sigma2, n, seed):
    rng = np.random.default_rng(100 + seed)
    ol = OneLayer(_float_setting(cov, kind, sigma2, n, rng))
    theta = rng.normal(size=n_params(ol.d))
    u, v = rng.normal(size=theta.size), rng.normal(size=theta.size)
    Hu, Hv = hvp_flat(ol, theta, u), hvp_flat(ol, theta, v)
    scale = np.abs(hessian_flat(ol, theta)).max()
    np.testing.assert_allclose(hvp_flat(ol, theta, 2 * u - 3 * v), 2 * Hu - 3 * Hv, atol=1e-10 * scale)
    assert u @ Hv == pytest.approx(v @ Hu, abs=1e-10 * scale * np.linalg.norm(u) * np.linalg.norm(v))
    # gradient differences along v: the gradient is a cubic in t, so the 4-point stencil
    # [8(g(h)-g(-h)) - (g(2h)-g(-2h))] / (12 h) is exact up to rounding for any h
    h = 0.5
    g = [grad_flat(ol, theta + t * v) for t in (-2 * h, -h, h, 2 * h)]
    np.testing.assert_allclose(Hv, (8 * (g[2] - g[1]) - (g[3] - g[0])) / (12 * h), atol=1e-9 * scale * 10)


def test_full_arrays_are_zero_on_entries_that_do_not_matter_and_pack_roundtrips():
    rng = np.random.default_rng(7)
    ol = OneLayer(_float_setting("gaussian", None, 0.0, 4, rng))
    d = ol.d
    P, Q = rng.normal(size=(d + 1, d + 1)), rng.normal(size=(d + 1, d + 1))
    f, dP, dQ = loss_and_grad(ol, P, Q)
    assert f == pytest.approx(ol.loss(P, Q), rel=1e-12)
    assert np.all(dP[:d, :] == 0) and np.all(dQ[:, d] == 0)
    theta = pack(P, Q)
    P2, Q2 = unpack(theta, d)
    assert ol.loss(P2, Q2) == pytest.approx(ol.loss(P, Q), rel=1e-12)
    np.testing.assert_array_equal(pack(P2, Q2), theta)
    np.testing.assert_array_equal(pack(dP, dQ), grad_flat(ol, theta))


def test_bad_shapes_raise_input_error():
    ol = OneLayer(Setting.make([[1, 0], [0, 2]], 3))
    with pytest.raises(InputError, match="theta"):
        grad_flat(ol, np.zeros(5))
    with pytest.raises(InputError, match="v"):
        hvp_flat(ol, np.zeros(9), np.zeros(4))


@pytest.mark.parametrize("cov", ["gaussian", "uniform", "rademacher"])
@pytest.mark.parametrize("d", [1, 4, 12])
def test_forward_mode_hvp_equals_polarisation_and_gradient_stencil(cov, d):
    """hvp_flat (forward mode) against two routes that only call the gradient: the polarisation identity
    (hvp_polarised) and the exact 4-point stencil of the cubic t -> grad f(theta + t v); and the operator
    form (intermediates cached) equals the one-shot form at several vectors."""
    from iclcheck.numerics.one_layer.hessian import hvp_operator, hvp_polarised

    rng = np.random.default_rng(zlib.crc32(f"{cov}-{d}".encode()))
    ol = OneLayer(_float_setting(cov, "given", 0.2, 6, rng, d=d))
    theta = rng.normal(size=n_params(d))
    op = hvp_operator(ol, theta)
    h = 0.5
    for _ in range(3):
        v = rng.normal(size=theta.size)
        Hv = hvp_flat(ol, theta, v)
        g = [grad_flat(ol, theta + t * v) for t in (-2 * h, -h, h, 2 * h)]
        stencil = (8 * (g[2] - g[1]) - (g[3] - g[0])) / (12 * h)
        scale = np.abs(stencil).max()
        np.testing.assert_allclose(Hv, hvp_polarised(ol, theta, v), rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(Hv, stencil, rtol=0, atol=1e-10 * scale)
        np.testing.assert_array_equal(op(v), Hv)


def test_diag_of_product_blas_route_equals_the_plain_diagonal():
    """diag(A B C) and diag(A B C^T): the einsum loop (small d) and the BLAS route (d >= BLAS_DIAG_MIN_D) against
    np.diag of the full product, formed independently."""
    from iclcheck.numerics.one_layer.closed_form import BLAS_DIAG_MIN_D, diag_of_product

    rng = np.random.default_rng(31)
    for d in (3, BLAS_DIAG_MIN_D - 1, BLAS_DIAG_MIN_D, 2 * BLAS_DIAG_MIN_D + 5):
        A, B, C = (rng.normal(size=(d, d)) for _ in range(3))
        scale = np.abs(A).max() * np.abs(B).max() * np.abs(C).max() * d * d
        np.testing.assert_allclose(diag_of_product(A, B, C), np.diag(A @ B @ C), rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(diag_of_product(A, B, C, transpose_C=True), np.diag(A @ B @ C.T), rtol=0,
                                   atol=1e-13 * scale)


@pytest.mark.parametrize("cov", ["uniform", "rademacher"])
def test_non_gaussian_loss_and_gradient_above_the_blas_size_equal_the_einsum_route(cov, monkeypatch):
    """At d = BLAS_DIAG_MIN_D + 8 the loss and gradient (BLAS diagonals) equal the same computation forced through
    the einsum loop (the route the small-d tests check against sympy), and the gradient matches central
    differences of the closed-form loss along random directions (the loss is a quartic in t: the 4-point
    stencil is exact up to rounding)."""
    import iclcheck.numerics.one_layer.closed_form as one_layer

    d = one_layer.BLAS_DIAG_MIN_D + 8
    rng = np.random.default_rng(zlib.crc32(cov.encode()))
    st = _float_setting(cov, "given", 0.2, 30, rng, d=d)
    theta = rng.normal(size=n_params(d)) / np.sqrt(d)
    f, g = loss_flat(OneLayer(st), theta), grad_flat(OneLayer(st), theta)
    monkeypatch.setattr(one_layer, "BLAS_DIAG_MIN_D", 10**9)
    ol_e = OneLayer(st)
    f_e, g_e = loss_flat(ol_e, theta), grad_flat(ol_e, theta)
    assert f == pytest.approx(f_e, rel=1e-12)
    np.testing.assert_allclose(g, g_e, rtol=0, atol=1e-12 * np.abs(g_e).max())
    h = 0.1
    for _ in range(3):
        v = rng.normal(size=theta.size) / np.sqrt(d)
        F = [ol_e.loss(*unpack(theta + t * v, d)) for t in (-2 * h, -h, h, 2 * h)]  # the closed form itself
        fd = (8 * (F[2] - F[1]) - (F[3] - F[0])) / (12 * h)
        assert g @ v == pytest.approx(fd, rel=1e-7)
