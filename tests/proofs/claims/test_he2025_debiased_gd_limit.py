"""he2025.debiased_gd_limit: confirmed; the centred-GD risk by an independent Monte Carlo (explicit centring, no
softmax); the small-width limit reached at the predicted O(omega^2) rate on one prompt."""

import numpy as np
import pytest
import sympy as sp

from iclcheck.numerics.attention.kernel_attention import paired_heads, predict
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.softmax import one_step_gd_risk


def test_confirmed_with_its_note(claim_result):
    r = claim_result("he2025.debiased_gd_limit")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]
    assert "17/70" in r.finding and "223/930" in r.finding


def test_centred_gd_risk_in_he_setting_by_monte_carlo():
    rng = np.random.default_rng(8)
    B, n, d = 100_000, 40, 5
    gamma, risk = one_step_gd_risk(n, d, sp.Rational(1, 5), sp.Rational(1, 10), sp.Rational(1, 10), centred=True)
    assert risk == sp.Rational(17, 70)
    X = rng.standard_normal((B, n, d))
    w = rng.standard_normal((B, d)) / np.sqrt(5)
    y = np.einsum("bnd,bd->bn", X, w) + rng.standard_normal((B, n)) * np.sqrt(0.1)
    xq = rng.standard_normal((B, d))
    yq = np.einsum("bd,bd->b", xq, w) + rng.standard_normal(B) * np.sqrt(0.1)
    Xc = X - X.mean(axis=1, keepdims=True)
    e = (float(gamma) / n * np.einsum("bd,bd->b", xq, np.einsum("bnd,bn->bd", Xc, y)) - yq) ** 2
    assert abs(e.mean() - 17 / 70) < 3.29 * e.std(ddof=1) / np.sqrt(B)


def test_small_width_limit_rate():
    rng = np.random.default_rng(9)
    X, y, xq = rng.standard_normal((1, 40, 5)), rng.standard_normal((1, 40)), rng.standard_normal((1, 5))
    Xc = X[0] - X[0].mean(0)
    lim = 2 * xq[0] @ Xc.T @ y[0] / 40  # (2 mu omega / n) x_q^T sum (x_i - xbar) y_i at mu omega = 1
    errs = [abs(predict("softmax", build_prompts(X, y, xq), *paired_heads(5, om, 1 / om))[0] - lim)
            for om in (0.02, 0.01)]
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.05)  # O(omega^3) / omega = O(omega^2)
