"""Scale: the certificate in the Kronecker eigenbasis gives the same proven bounds as the former dense QP
(computed here by that route) at d <= 6, and certifies von Oswald's (d = 10) and Fu's (d = 20) sizes
against the closed-form optimum of theory/numerics.one_layer (an independent route: no lift)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics import certificate as cert
from iclcheck.numerics.certificate.qp import _solve_qp_dense, y_from_dual
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import loss_flat, n_params
from iclcheck.numerics.one_layer.lift import LiftedLoss
from iclcheck.theory.setting import Setting


def _ol(spec, n, **kw):
    return OneLayer(Setting.make(parse_cov_spec(spec, exact=False), n, **kw))


OLD_VS_NEW = [
    ("random:d=2,cond=3,seed=0", 3, {}),
    ("random:d=3,cond=10,seed=1", 5, {}),
    ("random:d=4,cond=30,seed=2", 8, {"sigma2": 0.5}),
    ("random:d=5,cond=10,seed=3", 6, {"Sigma_w": "inv"}),
    ("random:d=6,cond=10,seed=1", 20, {"covariates": "uniform"}),
    ("random:d=6,cond=5,seed=4", 10, {}),
]


@pytest.mark.parametrize("spec,n,kw", OLD_VS_NEW, ids=[c[0] for c in OLD_VS_NEW])
def test_kronecker_qp_gives_the_dense_qp_bound_at_small_d(spec, n, kw):
    ol = _ol(spec, n, **kw)
    L = LiftedLoss(ol)
    st, _, _, nu, F = _solve_qp_dense(L, "CLARABEL")  # the former route: dense kron factor, lstsq
    assert st == "optimal"
    old, _ = cert.float_bound(L, y_from_dual(L, F, nu))
    c = cert.certify(ol)
    assert c.certified, c.reason
    attained = ol.loss(*ol.params_from_gamma(ol.gamma_star()))
    # both are proven lower bounds of the same minimum; each is tight to the certificate's gap_tol (1e-6
    # relative) and the new one, rounded down to 10 digits, may sit at most that rounding below
    assert old <= attained and c.lower_bound <= attained
    assert abs(c.lower_bound - old) <= 1e-6 * attained
    assert c.lower_bound >= old - 1e-9 * attained - 10 ** (np.floor(np.log10(attained)) - 9)


@pytest.mark.parametrize("d,cov", [(10, "gaussian"), (10, "uniform"), (10, "rademacher"), (20, "gaussian"),
                                   (20, "uniform")])
def test_certify_at_von_oswald_and_fu_sizes(d, cov):
    ol = _ol(f"random:d={d},cond=10,seed=1", 20, covariates=cov, sigma2=0.1)
    t = time.perf_counter()
    c = cert.certify(ol)
    elapsed = time.perf_counter() - t
    assert c.certified, c.reason
    # the closed-form optimum (numerics.one_layer.closed_form, no lift) lies between the proven bound and the upper value
    assert c.lower_bound <= ol.min_loss() <= c.predicted_upper
    assert c.gap <= 1e-6 * c.predicted_upper
    rng = np.random.default_rng(d)
    for _ in range(20):  # no parameter point goes below the bound (closed-form loss)
        th = rng.normal(size=n_params(d)) * rng.uniform(0.05, 2)
        assert loss_flat(ol, th) >= c.lower_bound
    assert elapsed < 60  # the budget (measured ~0.4 s at d = 20 here)


def test_dual_point_in_the_eigenbasis_is_the_exact_stationary_point():
    """The KKT point of the diagonal QP solves G_s Y S = -n^2 a_mat (checked with a dense solve)."""
    ol = _ol("random:d=4,cond=10,seed=5", 7)
    L = LiftedLoss(ol)
    st, _, _, nu, F = cert._solve_qp(L, "CLARABEL")
    Y = y_from_dual(L, F, nu)
    Ystar = -L.n**2 * np.linalg.solve(L.Gs, L.amat) @ np.linalg.inv(L.moments.S)
    np.testing.assert_allclose(Y, Ystar, rtol=0, atol=1e-6 * np.abs(Ystar).max())


# -- critical points at scale -----------------------------------------------------------------------------
def _dense_hessian_by_polarisation(ol, theta):
    from iclcheck.numerics.one_layer.hessian import hvp_polarised

    N = theta.size
    H = np.column_stack([hvp_polarised(ol, theta, e) for e in np.eye(N)])
    return (H + H.T) / 2


def test_classification_beyond_small_d_matches_an_independent_dense_spectrum():
    """d = 11 (144 parameters, the Householder path): classify's spectrum equals the eigenvalues of the
    Hessian built from the polarisation HVPs (four gradients each, not the forward mode under test),
    restricted to t-perp by an SVD basis (not the reflector under test)."""
    from iclcheck.numerics.critical import _Backend, balance, classify

    ol = _ol("random:d=11,cond=10,seed=2", 6)
    be = _Backend(ol)
    rng = np.random.default_rng(0)
    theta = balance(rng.normal(size=n_params(11)), 11)
    _, _, ev = classify(be, theta)
    H = _dense_hessian_by_polarisation(ol, theta)
    k = 12
    t = np.concatenate([theta[:k], -theta[k:]])
    t /= np.linalg.norm(t)
    B = np.linalg.svd(np.eye(t.size) - np.outer(t, t))[0][:, : t.size - 1]
    ref = np.linalg.eigvalsh(B.T @ H @ B)
    np.testing.assert_allclose(ev, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_run_start_is_a_pure_function_of_setting_seed_and_start():
    """The sweep's unit of work: the same (setting, seed, start) gives bit-identical runs whether called on a
    Setting, a OneLayer or inside find_critical_points, and assemble_landscape ignores the order of runs."""
    from iclcheck.numerics.critical import assemble_landscape, find_critical_points, run_start

    s = Setting.make(parse_cov_spec("random:d=3,cond=10,seed=1", exact=False), 5)
    ol = OneLayer(s)
    a = run_start(s, 7, 2)
    b = run_start(ol, 7, 2)
    assert [r.method for r in a] == ["descent", "newton"]  # d <= 10: both by default
    for ra, rb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ra.theta, rb.theta)
        assert (ra.loss, ra.converged, ra.iterations) == (rb.loss, rb.converged, rb.iterations)
    land = find_critical_points(ol, starts=4, seed=7)
    runs = [r for k in (3, 1, 0, 2) for r in run_start(s, 7, k)]  # scheduled out of order
    land2 = assemble_landscape(ol, runs, starts=4, seed=7, grad_tol=land.grad_tol)
    assert [(p.kind, p.loss, p.count) for p in land.points] == [(p.kind, p.loss, p.count) for p in land2.points]
    for r1, r2 in zip(land.runs, land2.runs, strict=True):
        assert (r1.start, r1.method, r1.point) == (r2.start, r2.method, r2.point)
        np.testing.assert_array_equal(r1.theta, r2.theta)


@pytest.mark.parametrize("d,starts", [(20, 3), (50, 1)])
def test_descent_at_fu_size_and_d50_finds_the_certified_global_minimum(d, starts):
    """At d = 20 and d = 50 the descent starts reach the predicted point: its loss is the closed-form
    optimum (OneLayer.min_loss, no search), its Gamma is Gamma*, and at d = 20 the certificate proves it."""
    from iclcheck.numerics.critical import find_critical_points

    ol = _ol(f"random:d={d},cond=10,seed=1", 5)
    t = time.perf_counter()
    land = find_critical_points(ol, starts=starts, seed=0)
    elapsed = time.perf_counter() - t
    assert all(r.method == "descent" for r in land.runs)  # d > 10: no Newton saddle search by default
    best = land.points[0]
    assert best.kind == "global-min" and best.index == 0
    assert best.loss == pytest.approx(ol.min_loss(), rel=1e-10)
    np.testing.assert_allclose(best.gamma, ol.gamma_star(), rtol=0, atol=1e-6 * np.abs(ol.gamma_star()).max())
    assert best.eigenvalues.size == (d + 1) ** 2 - 1  # the whole restricted spectrum
    if d <= 20:
        c = cert.certify(ol)
        assert c.certified and c.lower_bound <= best.loss <= c.predicted_upper + 1e-9 * best.loss
    assert elapsed < 120 * starts  # generous: ~1-2 s per start plus ~6 s classification at d = 50 here
