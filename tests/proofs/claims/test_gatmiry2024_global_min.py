"""gatmiry2024.global_min: the L = 1 rate against its closed form n (1 - n/(n+d+1)) -> d + 1, and the identity-prior
deviation from Sigma^-1 by the float one-layer optimum (numerics.one_layer.closed_form) with a fitted slope -1 in n."""

import numpy as np

from iclcheck.numerics.families.restricted import optimal_tied_gd
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.setting import Setting


def test_verdict(claim_result):
    res = claim_result("gatmiry2024.global_min")
    assert res.verdict is Verdict.CONFIRMED


def test_l1_rate_closed_form():
    d = 2
    for n in (40, 160, 640):
        a = optimal_tied_gd((d, n), 1, exact_untied=False).a
        assert abs(n * (1 - a) - n * (d + 1) / (n + d + 1)) < 1e-9


def test_identity_prior_deviation_slope():
    Sig = np.array([[2.0, 0.5], [0.5, 1.0]])
    ns = np.array([50, 200, 800, 3200])
    dev = []
    for n in ns:
        M = OneLayer(Setting.make(Sig, int(n))).gamma_star() @ Sig
        dev.append(np.linalg.norm(M - np.trace(M) / 2 * np.eye(2)))
    slope = np.polyfit(np.log(ns), np.log(dev), 1)[0]
    assert abs(slope + 1) < 0.05
