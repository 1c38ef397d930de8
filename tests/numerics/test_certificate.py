"""The certificate: the Isserlis moments of the lift against two independent routes (a Gauss-Hermite tensor
rule over w and the closed form of theory.one_layer), the bound is proven for every installed solver and for
adversarially perturbed dual points, exact certificates check in rational arithmetic against
theory.one_layer's exact optimum, and the former crash / false-certificate cases are refused with a reason."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics import certificate as cert
from iclcheck.numerics.certificate import QP_SOLVERS, certify, float_bound, y_from_dual
from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import loss_flat, n_params
from iclcheck.numerics.one_layer.lift import LiftedLoss, invariant, sym_coords
from iclcheck.theory.errors import InputError
from iclcheck.theory.one_layer import min_loss_exact
from iclcheck.theory.setting import Setting

CASES = [
    # (name, covariates, task prior, sigma2, n, d, seed)
    ("gauss-I", "gaussian", None, 0.0, 5, 3, 0),
    ("gauss-inv-noise", "gaussian", "inv", 0.5, 2, 2, 1),
    ("gauss-given", "gaussian", "given", 0.2, 7, 3, 2),
    ("uniform-given", "uniform", "given", 0.1, 4, 3, 3),
    ("rademacher-I", "rademacher", None, 0.3, 3, 3, 4),
    ("gauss-d1", "gaussian", None, 0.0, 1, 1, 5),
]
FLOAT_CERTIFIABLE = CASES  # Rademacher (dependent features) through the exact kernel quotient


def _setting(cov, prior, sigma2, n, d, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    B = rng.normal(size=(d, d))
    W = {"given": B @ B.T / d + 0.2 * np.eye(d), "inv": "inv", None: None}[prior]
    return Setting.make(A @ A.T + 0.3 * np.eye(d), n, Sigma_w=W, sigma2=sigma2, covariates=cov)


def _hermite_A(ol: OneLayer) -> tuple[np.ndarray, np.ndarray]:
    """Independent route to (A, a): conditional Isserlis moments given w, averaged over w ~ N(0, W) by the
    3-node-per-coordinate Gauss-Hermite tensor rule (exact for degree <= 5 in each coordinate)."""
    d, k = ol.d, ol.d + 1
    S, W, n, s2 = ol.S, ol.W, float(ol.n), float(ol.sigma2)
    kk = float(ol.setting.kurtosis) - 3.0
    C0 = np.zeros((k, k))
    C0[:d, :d], C0[d, d] = S, s2
    R = np.zeros((k, d))
    R[:d, :] = sqrtm_psd(S)
    nodes, weights = np.polynomial.hermite_e.hermegauss(3)
    weights = weights / weights.sum()
    Wh = sqrtm_psd(W)
    E4, ECC, ECS = np.zeros((k,) * 4), np.zeros((k,) * 4), np.zeros((k, k, d))
    for idx in itertools.product(range(3), repeat=d):
        wt = float(np.prod(weights[list(idx)]))
        w = Wh @ nodes[list(idx)]
        Aw = np.eye(k)
        Aw[d, :d] = w
        C = Aw @ C0 @ Aw.T
        E4 += wt * (np.einsum("ab,cd->abcd", C, C) + np.einsum("ac,bd->abcd", C, C) + np.einsum("ad,bc->abcd", C, C))
        V = Aw @ R
        E4 += wt * kk * np.einsum("aj,bj,cj,dj->abcd", V, V, V, V)
        ECC += wt * np.einsum("ab,cd->abcd", C, C)
        ECS += wt * np.einsum("ab,j->abj", C, S @ w)
    EGG = n * E4 + n * (n - 1) * ECC
    D = k * k * d
    return (np.einsum("kilr,js->kijlrs", EGG, S) / n**2).reshape(D, D), ECS.reshape(D)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_isserlis_moments_match_quadrature_and_the_closed_form(case):
    ol = OneLayer(_setting(*case[1:]))
    L = LiftedLoss(ol)
    Aq, aq = _hermite_A(ol)
    # both are exact formulas evaluated in float64: agreement to rounding (relative to the entries' scale)
    np.testing.assert_allclose(L.A, Aq, rtol=0, atol=1e-12 * np.abs(Aq).max())
    np.testing.assert_allclose(L.a, aq, rtol=0, atol=1e-12 * np.abs(aq).max())
    rng = np.random.default_rng(10)
    for _ in range(5):
        th = rng.normal(size=n_params(ol.d))
        m = L.m_of(th)
        full = float(m @ L.A @ m + 2 * L.a @ m + L.c0)
        assert full == pytest.approx(loss_flat(ol, th), rel=1e-10)
        assert L.loss(th) == pytest.approx(loss_flat(ol, th), rel=1e-10)  # reduced (Kronecker) form


@pytest.mark.parametrize("case", FLOAT_CERTIFIABLE, ids=[c[0] for c in FLOAT_CERTIFIABLE])
def test_certificate_certifies_the_predicted_point(case):
    ol = OneLayer(_setting(*case[1:]))
    c = certify(ol)
    assert c.certified, c.reason
    assert c.status == "optimal" and c.solver == "CLARABEL"
    assert c.lower_bound <= c.predicted_loss <= c.predicted_upper
    assert 0 <= c.gap <= c.gap_tol == pytest.approx(1e-6 * c.predicted_upper)
    assert c.predicted_loss == pytest.approx(ol.min_loss(), rel=1e-9)
    assert c.minimiser_distance < 1e-5  # the relaxation is tight at the predicted point
    rng = np.random.default_rng(1)
    for _ in range(50):  # no parameter point goes below the bound
        th = rng.normal(size=n_params(ol.d)) * rng.uniform(0.1, 3)
        assert loss_flat(ol, th) >= c.lower_bound


def _installed_qp_solvers():
    import cvxpy as cp

    return [s for s in QP_SOLVERS if s in cp.installed_solvers()]


@pytest.mark.parametrize("solver", _installed_qp_solvers())
def test_every_installed_solver_certified_implies_a_true_bound(solver):
    """The issue's case: SCS's dual used to give a bound above the attained loss. Whatever the solver, a
    certified bound is <= f at the Gamma* point, and CLARABEL/OSQP/SCS certify this setting."""
    ol = OneLayer(Setting.make(parse_cov_spec("random:d=3,cond=10,seed=1", exact=False), 5))
    c = certify(ol, solver=solver)
    attained = ol.loss(*ol.params_from_gamma(ol.gamma_star()))
    if c.certified:
        assert c.lower_bound <= attained and c.lower_bound <= ol.min_loss()
    else:
        assert c.reason and c.statement.startswith("Not certified")
    if solver in ("CLARABEL", "OSQP", "SCS"):
        assert c.certified, c.reason


@pytest.mark.parametrize("case", FLOAT_CERTIFIABLE[:4], ids=[c[0] for c in FLOAT_CERTIFIABLE[:4]])
def test_adversarially_perturbed_dual_points_never_give_a_false_bound(case):
    ol = OneLayer(_setting(*case[1:]))
    L = LiftedLoss(ol)
    status, _, _, nu, F = cert._solve_qp(L, "CLARABEL")
    assert status == "optimal"
    attained = ol.loss(*ol.params_from_gamma(ol.gamma_star()))
    rng = np.random.default_rng(7)
    perturbed = [nu * (1 + 1e-7), -nu, 2 * nu, nu + 1e-12, np.zeros_like(nu)]
    for eps in (1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 1e-1, 10.0):
        perturbed.append(nu + eps * np.linalg.norm(nu) * rng.normal(size=nu.shape))
    for nu_p in perturbed:
        bound, _ = float_bound(L, y_from_dual(L, F, nu_p))
        assert bound <= attained, (bound, attained)
    # and the unperturbed dual is tight to the certificate's tolerance
    bound, _ = float_bound(L, y_from_dual(L, F, nu))
    assert attained - bound <= 1e-9 * attained


def test_a_bound_above_the_attained_loss_is_a_contradiction_not_a_certificate(monkeypatch):
    ol = OneLayer(_setting(*CASES[0][1:]))
    attained = ol.loss(*ol.params_from_gamma(ol.gamma_star()))
    monkeypatch.setattr(cert, "float_bound", lambda *a, **k: (attained * (1 + 1e-9), 0.0))
    c = certify(ol)
    assert not c.certified and "contradiction" in c.reason


def test_solver_failure_is_reported_not_certified(monkeypatch):
    import cvxpy as cp

    def boom(self, *a, **k):
        raise cp.error.SolverError("simulated failure")

    monkeypatch.setattr(cp.Problem, "solve", boom)
    c = certify(OneLayer(_setting(*CASES[0][1:])))
    assert not c.certified and c.status.startswith("solver_error")
    assert "Not certified" in c.statement


def test_inaccurate_status_is_not_certified(monkeypatch):
    import cvxpy as cp

    real = cp.Problem.solve

    def inaccurate(self, *a, **k):
        out = real(self, *a, **k)
        self._status = "optimal_inaccurate"
        return out

    monkeypatch.setattr(cp.Problem, "solve", inaccurate)
    c = certify(OneLayer(_setting(*CASES[0][1:])))
    assert not c.certified and "optimal_inaccurate" in c.reason


@pytest.mark.parametrize(
    "spec,n,why",
    [
        ("random:d=3,cond=1e11,seed=1", 4, "not provably positive"),  # was TypeError
        ("random:d=3,cond=100,seed=1", 10**12, ""),  # was certified with the bound above the loss
    ],
)
def test_former_crash_and_false_certificate_cases_are_not_certified(spec, n, why):
    ol = OneLayer(Setting.make(parse_cov_spec(spec, exact=False), n))
    c = certify(ol)
    assert not c.certified and why in c.reason
    assert c.statement.startswith("Not certified: ")


@pytest.mark.parametrize(
    "spec,n,why",
    [
        ("diag:1e-300", 4, "below 1e-40"),  # was AttributeError (moments underflow): now refused by Setting
        ("random:d=3,cond=100,seed=1", 10**30 - 1, "at most"),  # predicted loss at rounding level: n bounded
    ],
)
def test_former_crash_cases_out_of_float_scale_are_refused_as_input(spec, n, why):
    with pytest.raises(InputError, match=why):
        OneLayer(Setting.make(parse_cov_spec(spec, exact=False), n))


def test_rademacher_float_certifies_through_the_kernel_and_exact_agrees():
    ol = OneLayer(_setting(*CASES[4][1:]))
    L = LiftedLoss(ol)
    ev = np.linalg.eigvalsh(L.Gs)
    assert np.sum(ev <= 1e-9 * ev[-1]) == ol.d - 1  # the structural kernel (s_i^2 = 1), nothing else
    c = certify(ol)
    assert c.certified, c.reason
    assert c.lower_bound <= ol.loss(*ol.params_from_gamma(ol.gamma_star()))
    s = Setting.make(parse_cov_spec("diag:1,4,9/4"), 3, sigma2=Fraction(3, 10), covariates="rademacher")
    ce = certify(OneLayer(s), exact=True)
    assert ce.certified, ce.reason
    assert isinstance(ce.exact_bound, Fraction) and ce.exact_bound == ce.exact_loss
    assert ce.exact_loss == Fraction(str(min_loss_exact(s)))  # theory's exact reduced optimum, by sympy
    cf = certify(OneLayer(s))  # the float path on the same setting: a true bound within its tolerance
    assert cf.certified and cf.lower_bound <= float(ce.exact_loss) <= cf.lower_bound + cf.gap


@pytest.mark.parametrize("case", [CASES[0], CASES[3], CASES[4]], ids=["gauss", "uniform", "rademacher"])
def test_certify_with_adversarial_duals_is_never_false(case, monkeypatch):
    """Feed perturbed solver duals through certify itself (including the Rademacher quotient path)."""
    ol = OneLayer(_setting(*case[1:]))
    attained = ol.loss(*ol.params_from_gamma(ol.gamma_star()))
    real = cert._solve_qp
    rng = np.random.default_rng(3)
    for eps in (0.0, 1e-12, 1e-8, 1e-4, 1.0):
        def perturbed(L, solver, eps=eps):
            st, pr, du, nu, F = real(L, solver)
            return st, pr, du, nu + eps * np.linalg.norm(nu) * rng.normal(size=nu.shape), F

        monkeypatch.setattr(cert, "_solve_qp", perturbed)
        c = certify(ol)
        assert (not c.certified) or c.lower_bound <= attained
        if eps == 0.0:
            assert c.certified, c.reason


@pytest.mark.parametrize(
    "spec,n,cov,task",
    [("diag:1,2,3", 4, "gaussian", None), ("diag:1,4", 2, "uniform", None), ("diag:1/2,3", 5, "gaussian", "inv"),
     ("eye:1", 1, "gaussian", None)],
)
def test_exact_certificates_check_in_rational_arithmetic(spec, n, cov, task):
    s = Setting.make(parse_cov_spec(spec), n, Sigma_w=task, covariates=cov)
    ol = OneLayer(s)
    c = certify(ol, exact=True)
    assert c.certified and c.exact, c.reason
    assert isinstance(c.exact_bound, Fraction) and isinstance(c.exact_loss, Fraction)
    assert c.exact_bound == c.exact_loss == Fraction(str(min_loss_exact(s)))
    assert float(c.exact_bound) == pytest.approx(ol.min_loss(), rel=1e-12)


def test_exact_needs_a_rational_square_root_for_non_gaussian():
    s = Setting.make(parse_cov_spec("diag:2,3"), 3, covariates="uniform")
    with pytest.raises(InputError, match="rational"):
        certify(OneLayer(s), exact=True)


@pytest.mark.parametrize("tol", [0.0, -1.0, math.inf, math.nan, 0.5])
def test_gap_tolerance_must_be_finite_positive_and_small(tol):
    with pytest.raises(InputError, match="gap_tol"):
        certify(OneLayer(_setting(*CASES[0][1:])), gap_tol=tol)


def test_gap_tolerance_is_relative_and_decides():
    ol = OneLayer(_setting(*CASES[0][1:]))
    c = certify(ol, gap_tol=1e-15)
    assert c.gap_tol == pytest.approx(1e-15 * c.predicted_upper)
    assert c.certified == (c.gap <= c.gap_tol)
    if not c.certified:
        assert "gap" in c.reason


def test_dimension_limits_are_input_errors():
    with pytest.raises(InputError, match=f"d <= {cert.MAX_CERT_DIM}"):
        certify(OneLayer(Setting.make(np.eye(cert.MAX_CERT_DIM + 1), 3)))
    with pytest.raises(InputError, match="d <= 10"):
        certify(OneLayer(Setting.make(parse_cov_spec("eye:11"), 3)), exact=True)


def test_the_predicted_point_coordinates_reproduce_its_loss():
    """sym_coords/invariant of the Gamma* point reproduce f there (the upper value the certificate uses)."""
    ol = OneLayer(_setting(*CASES[2][1:]))
    L = LiftedLoss(ol)
    from iclcheck.numerics.one_layer.derivatives import pack

    th = pack(*ol.params_from_gamma(ol.gamma_star()))
    Y = sym_coords(invariant(th, ol.d), ol.d)
    assert L.reduced_value(Y) == pytest.approx(ol.min_loss(), rel=1e-12)
