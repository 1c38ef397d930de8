"""The certificate: its lifted moments (derived from first principles) reproduce the closed form, the bound
is a valid lower bound, it certifies the predicted point, and failures are reported as not certified."""

from __future__ import annotations

import numpy as np
import pytest

from iclcheck.numerics.certificate import LiftedLoss, certify
from iclcheck.numerics.derivatives import loss_flat, n_params
from iclcheck.numerics.one_layer import OneLayer
from iclcheck.theory.errors import InputError
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


def _setting(cov, prior, sigma2, n, d, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    B = rng.normal(size=(d, d))
    W = {"given": B @ B.T / d + 0.2 * np.eye(d), "inv": "inv", None: None}[prior]
    return Setting.make(A @ A.T + 0.3 * np.eye(d), n, Sigma_w=W, sigma2=sigma2, covariates=cov)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_lifted_quadratic_reproduces_the_closed_form(case):
    """Two derivations: Isserlis + Gauss-Hermite moments of the features vs theory.one_layer's formula."""
    ol = OneLayer(_setting(*case[1:]))
    L = LiftedLoss(ol)
    rng = np.random.default_rng(10)
    assert np.linalg.eigvalsh(L.A)[0] >= -1e-10 * np.abs(L.A).max()  # A = E phi phi^T is PSD
    for _ in range(5):
        th = rng.normal(size=n_params(ol.d))
        assert L.loss(th) == pytest.approx(loss_flat(ol, th), rel=1e-10)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_certificate_certifies_the_predicted_point(case):
    ol = OneLayer(_setting(*case[1:]))
    c = certify(ol)
    assert c.certified, c.reason
    assert c.status == "optimal" and c.solver == "CLARABEL"
    assert abs(c.gap) <= c.gap_tol
    assert c.predicted_loss == pytest.approx(ol.min_loss(), rel=1e-9)
    assert c.minimiser_distance < 1e-5  # the relaxation is tight at the predicted point
    # validity of the bound: no parameter point goes below it
    rng = np.random.default_rng(1)
    for _ in range(50):
        th = rng.normal(size=n_params(ol.d)) * rng.uniform(0.1, 3)
        assert loss_flat(ol, th) >= c.lower_bound - 1e-9 * max(1, abs(c.lower_bound))


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


def test_the_gap_tolerance_decides():
    """With a tolerance below float resolution the decision must follow |gap| <= tol and say why."""
    c = certify(OneLayer(_setting(*CASES[0][1:])), gap_tol=1e-300)
    assert c.gap_tol == pytest.approx(1e-300 * max(1.0, abs(c.predicted_loss)))
    assert c.certified == (abs(c.gap) <= c.gap_tol and abs(c.solver_gap) <= c.gap_tol)
    if not c.certified:
        assert "gap" in c.reason or "lower bound" in c.reason


def test_dimension_limit_is_an_input_error():
    with pytest.raises(InputError, match="d <= 6"):
        LiftedLoss(OneLayer(Setting.make(np.eye(7), 3)))
