"""vonoswald2023.setup: the printed data law is refuted against the reported 0.2; the code's law reproduces it."""

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.claims.vonoswald2023_setup import gd_loss_exact, hand_formula
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.setting import Setting


def test_quick_profile_refutes_printed_law_and_confirms_code_law(claim_result):
    r = claim_result("vonoswald2023.setup")
    assert r.verdict is Verdict.REFUTED
    failed = [s.name for s in r.steps if s.status == "fail"]
    assert failed and all(name.startswith("as printed") for name in failed), failed
    assert all(s.status == "pass" for s in r.steps if s.name.startswith("corrected"))
    assert "245/1188" in r.finding and "U(-1/2,1/2)" in r.finding
    # the code's law is the released scope: every released step passes, every failing step is printed scope
    assert r.released_verdict is Verdict.CONFIRMED
    assert {s.scope for s in r.steps if s.status == "fail"} == {"printed"}
    assert {s.name.split(":")[0] for s in r.steps if s.scope == "released"} >= {"corrected (code law)"}
    assert "docstring" in r.finding and "factor 2" in r.finding


def test_axis_label_factor_two_of_the_released_notebook():
    # The notebook's label reads alpha as the half-width (x ~ U(-alpha, alpha)); the data use alpha as input_range
    # (x ~ U(-alpha/2, alpha/2)). Independent route: the exact one-step GD loss at the code's eta* scales with Var x,
    # so reading the label literally overstates the variance by 4 and the loss at fixed eta* by more than 4.
    r = sp.Integer(1)
    _, loss_code = gd_loss_exact(r)  # the data the plot's alpha = 1 point uses
    _, loss_label = gd_loss_exact(2 * r)  # what the label says (half-width 1 = input_range 2), at its own eta*
    assert loss_label == 4 * loss_code
    x = np.random.default_rng(0).uniform(-float(r) / 2, float(r) / 2, 200_000)  # create_reg_data's draw
    se = np.sqrt((1 / 80 - 1 / 144) / x.size)  # standard error of the sample variance: (mu_4 - sigma^4) / N
    assert abs(x.var() - 1 / 12) < 5 * se  # Var U(-1/2,1/2) = 1/12 (5 standard errors) ...
    assert abs(x.var() - 1 / 3) > 1000 * se  # ... not the label's Var U(-1,1) = 1/3


def test_exact_values():
    eta, loss = gd_loss_exact(sp.Integer(1))
    assert (eta, loss) == (sp.Rational(200, 33), sp.Rational(245, 1188))
    assert 0.15 <= float(loss) < 0.25
    assert gd_loss_exact(sp.Integer(2))[1] == 4 * loss  # the loss scales with Var x = r^2/12


def test_hand_formula_against_float_closed_form_for_gaussian_data():
    # Independent route: numerically minimise the float reduced loss over eta for Gaussian x ~ N(0, s I).
    s = 1 / 12
    one = OneLayer(Setting.make(np.eye(10) * s, 10))
    res = minimize_scalar(lambda e: one.reduced_loss(e * np.eye(10)), bounds=(0, 100), method="bounded",
                          options={"xatol": 1e-10})
    eta_h, half_h = hand_formula(sp.Integer(1), kappa=sp.Integer(3))
    assert np.isclose(res.x, float(eta_h), rtol=1e-6)
    assert np.isclose(res.fun / 2, float(half_h), rtol=1e-10)

