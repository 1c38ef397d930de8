"""hwl2025.ood_band: the finite-n band edge against Monte Carlo of the literal iteration (the sign of the change of the
error between k = 1 and k = 2 at a scale c well outside the population band), and the population limit of the exact
finite-n error (long test prompts)."""

import numpy as np

from iclcheck.numerics.dynamics.gd_error import gd_error, mc_gd_error
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.setting import Setting


def test_verdict(claim_result):
    res = claim_result("hwl2025.ood_band")
    assert res.verdict is Verdict.CONFIRMED


def test_outside_the_band_the_literal_iteration_grows():
    """c = 4 > 2/eta = 3.1 (d = 2, n = 40): the literal iteration's mean error grows from k = 1 to k = 2."""
    st = Setting.make(4.0 * np.eye(2), 40)
    mc = mc_gd_error(st, 2, eta=40 / 43, target="weights", samples=20_000, rng=np.random.default_rng(9))
    assert mc[1].ci[0] > mc[0].ci[1]
    ex = gd_error(st, 2, eta=40 / 43, target="weights").error
    assert ex[1] > ex[0]


def test_long_prompts_reach_the_population_band_formula():
    d, n, c, k = 2, 20000, 1.5, 3
    eta = 0.5
    e = gd_error(Setting.make(c * np.eye(d), n), k, eta=eta, target="weights").error[k - 1]
    assert abs(e - d * (1 - eta * c) ** (2 * k)) < 1e-3
