"""Scale: the certificate in the Kronecker eigenbasis gives the same proven bounds as the former dense QP
(computed here by that route) at d <= 6, and certifies von Oswald's (d = 10) and Fu's (d = 20) sizes
against the closed-form optimum of theory/numerics.one_layer (an independent route: no lift)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics import certificate as cert
from iclcheck.numerics.certificate_qp import _solve_qp_dense, y_from_dual
from iclcheck.numerics.derivatives import loss_flat, n_params
from iclcheck.numerics.lift import LiftedLoss
from iclcheck.numerics.one_layer import OneLayer
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
    # the closed-form optimum (numerics.one_layer, no lift) lies between the proven bound and the upper value
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
