"""Critical-point search: the predicted point, the spurious rank-one minimum, the zero saddle, replay, and
reporting of non-converged runs. Expected losses come from independent routes (Eckart-Young on the
reduced loss, the certificate's lifted moments, tr(S W) at zero output)."""

from __future__ import annotations

import numpy as np
import pytest

from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics.critical import (
    _Backend,
    balance,
    classify,
    find_critical_points,
    invariant,
    run_start,
    start_point,
)
from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import n_params, pack, value_and_grad_flat
from iclcheck.numerics.one_layer.hessian import hessian_flat
from iclcheck.theory.setting import Setting


@pytest.fixture(scope="module")
def issue_setting():
    return OneLayer(Setting.make(parse_cov_spec("random:d=3,cond=10,seed=1", exact=False), 5))


@pytest.fixture(scope="module")
def issue_landscape(issue_setting):
    return find_critical_points(issue_setting, starts=24, seed=0)


def _rank_k_losses(ol):
    """Reduced loss L(Gamma) = |S^1/2 Gamma M^1/2 - T|_F^2 - |T|_F^2 + tr(SW), T = S^-1/2 SWS M^-1/2; by
    Eckart-Young its stationary values over rank-one Gamma are tr(SW) - sigma_i(T)^2."""
    Sh, Mh = sqrtm_psd(ol.S), sqrtm_psd(ol.M)
    T = np.linalg.solve(Sh, ol.SWS) @ np.linalg.inv(Mh)
    sv = np.linalg.svd(T, compute_uv=False)
    return float(np.trace(ol.SW)), sv


@pytest.mark.parametrize("cov", ["gaussian", "uniform", "rademacher"])
def test_lifted_backend_equals_closed_form_derivatives(cov):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 3))
    B = rng.normal(size=(3, 3))
    ol = OneLayer(Setting.make(A @ A.T + np.eye(3), 4, Sigma_w=B @ B.T + np.eye(3), sigma2=0.3, covariates=cov))
    be = _Backend(ol)
    assert be.lifted
    th = rng.normal(size=n_params(3))
    f1, g1 = be.value_grad(th)
    f2, g2 = value_and_grad_flat(ol, th)
    assert f1 == pytest.approx(f2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-12 * np.abs(g2).max())
    H2 = hessian_flat(ol, th)
    np.testing.assert_allclose(be.hess(th), H2, rtol=1e-9, atol=1e-11 * np.abs(H2).max())


def test_predicted_point_is_found_stationary_and_the_global_minimum(issue_setting, issue_landscape):
    ol, land = issue_setting, issue_landscape
    best = land.points[0]
    assert best.kind == "global-min" and best.index == 0 and best.n_zero == 0
    assert best.distance_to_predicted < 1e-7
    np.testing.assert_allclose(best.gamma, ol.gamma_star(), rtol=1e-6, atol=1e-9)
    assert best.grad_norm <= land.grad_tol
    assert best.loss == pytest.approx(ol.min_loss(), rel=1e-10)
    assert [p.kind for p in land.points].count("global-min") == 1


def test_spurious_rank_one_minimum_and_saddles_match_eckart_young(issue_setting, issue_landscape):
    """Finding: a strict local minimum that is not global. It has c = 0, Q11 = 0 (p = (b, 0), Qd = (0; q21)),
    so it implements the rank-one Gamma = -q21 b^T through the features sum_i y_i x_i x_q^T; its loss is the
    best rank-one reduced loss tr(SW) - sigma_1(T)^2, and sigma_2, sigma_3 give saddles."""
    c0, sv = _rank_k_losses(issue_setting)
    pts = issue_landscape.points
    local = [p for p in pts if p.kind == "local-min"]
    assert len(local) == 1
    assert local[0].loss == pytest.approx(c0 - sv[0] ** 2, rel=1e-10)
    assert local[0].reduced_form_residual == pytest.approx(2.0)  # b and q21 carry everything
    # strict modulo scaling: smallest restricted eigenvalue far above rounding (~1e-12 of the largest)
    assert local[0].n_zero == 0 and local[0].eigenvalues[0] > 1e-5 * local[0].eigenvalues[-1]
    losses = [p.loss for p in pts if p.kind == "saddle"]
    for s in sv[1:]:
        assert min(abs(x - (c0 - s**2)) for x in losses) < 1e-9 * c0


def test_zero_output_saddle_has_index_d_plus_one(issue_setting, issue_landscape):
    d = issue_setting.d
    zero = [p for p in issue_landscape.points if np.linalg.norm(invariant(p.theta, d)) < 1e-6]
    assert len(zero) == 1
    assert zero[0].loss == pytest.approx(float(np.trace(issue_setting.SW)), rel=1e-12)
    assert zero[0].kind == "saddle" and zero[0].index == d + 1


def test_starts_are_replayable_and_runs_deterministic(issue_setting):
    a = start_point(3, seed=5, start=7, scale=1.3)
    np.testing.assert_array_equal(a, start_point(3, seed=5, start=7, scale=1.3))
    assert not np.array_equal(a, start_point(3, seed=5, start=8, scale=1.3))
    r1 = run_start(issue_setting, a, method="descent", grad_tol=1e-8)
    r2 = run_start(issue_setting, a, method="descent", grad_tol=1e-8)
    np.testing.assert_array_equal(r1[0], r2[0])


def test_nonconverged_runs_are_reported_not_dropped(issue_setting):
    land = find_critical_points(issue_setting, starts=2, seed=0, grad_tol=1e-40, maxiter=5)
    assert len(land.runs) == 4 and len(land.nonconverged) == 4 and land.points == []
    assert all("grad f" in r.message for r in land.nonconverged)


def test_classification_is_invariant_under_rescaling(issue_setting):
    P, Q = issue_setting.params_from_gamma(issue_setting.gamma_star(), scale=1.0)
    th = pack(P, Q)
    ev0 = classify(issue_setting, th)
    for g in (0.1, 3.0, -2.0):
        t = th.copy()
        t[:4] *= g
        t[4:] /= g
        assert classify(issue_setting, t)[:2] == ev0[:2]
        np.testing.assert_allclose(invariant(t, 3), invariant(th, 3), atol=1e-12)
        np.testing.assert_allclose(np.abs(balance(t, 3)), np.abs(balance(th, 3)), rtol=1e-12)


@pytest.mark.parametrize(
    "kw,what",
    [({"starts": 0}, "starts"), ({"starts": 10_001}, "starts"), ({"starts": 2.5}, "starts"),
     ({"seed": -1}, "seed"), ({"seed": 2**63}, "seed")],
)
def test_search_options_are_bounded_before_any_work(issue_setting, kw, what, monkeypatch):
    import iclcheck.numerics.critical as crit
    from iclcheck.theory.errors import InputError

    def no_work(*a, **k):
        raise AssertionError("search started before the options were checked")

    monkeypatch.setattr(crit, "_Backend", no_work)
    with pytest.raises(InputError) as exc:
        find_critical_points(issue_setting, **kw)
    assert exc.value.what == what  # the library names its own parameter, not a CLI flag


def test_dimension_limit_of_the_search():
    from iclcheck.numerics.critical import MAX_CRITICAL_DIM
    from iclcheck.theory.errors import InputError

    ol = OneLayer(Setting.make(np.eye(MAX_CRITICAL_DIM + 1), 3))
    with pytest.raises(InputError, match=f"d <= {MAX_CRITICAL_DIM}"):
        find_critical_points(ol, starts=1)


def test_critical_and_certificate_share_the_lift_without_importing_each_other():
    import ast
    from pathlib import Path

    import iclcheck.numerics.certificate as c
    import iclcheck.numerics.critical as k

    for mod, other in ((c, "critical"), (k, "certificate")):
        tree = ast.parse(Path(mod.__file__).read_text())
        names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in names if m.endswith(f"numerics.{other}")], (mod.__name__, names)
        assert "iclcheck.numerics.one_layer.lift" in names
