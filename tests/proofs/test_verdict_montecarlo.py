"""Checker.within_ci never lets a heavy-tailed Monte Carlo estimate confirm or refute a value."""

import numpy as np

from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.proofs.verdict import Checker, Status


def test_heavy_tailed_estimate_is_inconclusive_not_a_pass():
    rng = np.random.default_rng(0)
    v = rng.pareto(1.1, size=20000)  # tail index 1.1: infinite variance, the CLT interval is not honest
    est = estimate_from_values(v, nonnegative=True)
    assert not est.estimable
    true_mean = 1 / 0.1  # E Pareto(a) (Lomax) = 1/(a-1)
    step = Checker().within_ci("heavy", est, true_mean)
    assert step.status is Status.INCONCLUSIVE and "not estimable" in step.detail
    assert step.deviation is None and step.tolerance is None


def test_light_tailed_estimate_decides_by_its_interval():
    rng = np.random.default_rng(1)
    v = rng.exponential(2.0, size=20000)
    est = estimate_from_values(v, nonnegative=True)
    assert est.estimable and est.ci[0] >= 0
    chk = Checker()
    assert chk.within_ci("true mean", est, 2.0).status is Status.PASS
    assert chk.within_ci("wrong mean", est, 2.5).status is Status.FAIL
