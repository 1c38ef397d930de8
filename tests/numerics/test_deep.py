"""numerics.deep.conditioned: the Gram recursion against the literal forward pass draw by draw, and the conditioned estimator
against exact routes and against a literal-forward-pass Monte Carlo written out here (plain einsum of
Z + (1/n) P Z M Z^T Q Z), at L = 1..4, Gaussian and non-Gaussian covariates, masked and unmasked."""

from __future__ import annotations

import numpy as np
import pytest

from iclcheck.numerics.deep.conditioned import conditioned_loss, context_gram, controlled_loss, gram_forward
from iclcheck.numerics.deep.model_loss import model_loss
from iclcheck.numerics.families.gd import optimal_gd
from iclcheck.numerics.families.gdpp import family_params
from iclcheck.numerics.model.forward import sample_prompts
from iclcheck.numerics.model.lsa import LSA, forward
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

Z_CRIT = 4.0  # |difference| / combined stderr; two-sided p ~ 6e-5 per comparison


def literal_mc(st: Setting, Ps, Qs, *, sign: int = -1, mask: bool = True, samples: int, seed: int):
    """(mean, stderr) of (sign [Z_L]_{d+1,n+1} - w^T x_q)^2 by the layer formula over prompts of st's law."""
    rng = np.random.default_rng(seed)
    d, n = st.d, int(st.n)
    vals = []
    for _ in range(samples // 20_000):
        pr = sample_prompts(st, 20_000, rng)
        Z = pr.Z0
        Mk = np.ones(n + 1)
        if mask:
            Mk[n] = 0.0
        for P, Q in zip(Ps, Qs, strict=True):
            Z = Z + np.einsum("ij,bjk,blk,lm,bmq->biq", P, Z * Mk, Z, Q, Z, optimize=True) / n
        vals.append((sign * Z[:, d, n] - pr.yq) ** 2)
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))


def _near_family(st: Setting, L: int, scale: float, seed: int):
    """The condition-(8) optimum plus a general perturbation of every entry (light tails at these sizes)."""
    a = optimal_gd(st, L).coefficients
    Ps, Qs = (np.array(x) for x in family_params(st.Sigma, a))
    rng = np.random.default_rng(seed)
    D = st.d + 1
    return Ps + scale * rng.standard_normal((L, D, D)), Qs + scale * rng.standard_normal((L, D, D))


@pytest.mark.parametrize("L", [1, 2, 4])
@pytest.mark.parametrize("mask", [True, False])
def test_gram_recursion_is_the_literal_forward_pass(L, mask):
    st = Setting.make(random_spd(3, 3.0, np.random.default_rng(0)), 7, sigma2=0.2)
    rng = np.random.default_rng(L)
    Ps, Qs = 0.3 * rng.standard_normal((2, L, 4, 4))
    pr = sample_prompts(st, 50, rng)
    Z0 = pr.Z0
    n = 7
    ZL = forward(LSA(L=L, mask=mask), Z0, Ps, Qs)  # (B, D, n+1)
    G0 = Z0[:, :, :n] @ Z0[:, :, :n].transpose(0, 2, 1) / n
    zq = Z0[:, :, n]
    T, path = gram_forward(Ps, Qs, G0, zq=None if mask else zq / np.sqrt(n), keep=True)
    np.testing.assert_allclose(np.einsum("bij,bj->bi", T, zq), ZL[:, :, n], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.einsum("bij,bjk->bik", T, Z0)[:, :, :n] if mask else T @ Z0, ZL[:, :, :n]
                               if mask else ZL, rtol=1e-10, atol=1e-10)  # every column gets the same map
    np.testing.assert_array_equal(path[-1], T)


def test_context_gram_has_the_conditional_mean_and_the_wishart_spread():
    st = Setting.make(np.array([[2.0, 0.3], [0.3, 1.0]]), 6, sigma2=0.5)
    w = np.tile([[0.7, -1.2]], (200_000, 1))
    G = context_gram(st, w, np.random.default_rng(1))  # (k, 3, 3)
    Cw = np.zeros((3, 3))  # covariance of a token given w: [[S, S w], [w^T S, w^T S w + sigma2]]
    Cw[:2, :2] = st.Sigma
    Cw[:2, 2] = Cw[2, :2] = st.Sigma @ w[0]
    Cw[2, 2] = w[0] @ st.Sigma @ w[0] + 0.5
    se = np.sqrt((Cw**2 + np.outer(np.diag(Cw), np.diag(Cw))) / 6 / w.shape[0])  # Var of a Wishart/n entry
    assert np.all(np.abs(G.mean(0) - Cw) <= Z_CRIT * se)
    var = G.var(0)
    np.testing.assert_allclose(var, (Cw**2 + np.outer(np.diag(Cw), np.diag(Cw))) / 6, rtol=0.03)


@pytest.mark.parametrize("law", ["gaussian", "uniform", "rademacher"])
def test_one_layer_conditioned_estimator_holds_the_closed_form(law):
    st = Setting.make(random_spd(3, 3.0, np.random.default_rng(2)), 9, sigma2=0.3, covariates=law)
    rng = np.random.default_rng(3)
    P, Q = 0.3 * rng.standard_normal((2, 4, 4))
    exact = OneLayer(st).loss(P, Q)
    est = conditioned_loss(st, P[None], Q[None], samples=200_000, seed=4)
    assert est.estimable and abs(est.mean - exact) <= Z_CRIT * est.stderr, (est.describe(), exact)


def test_gd_and_gdpp_family_conditioned_estimator_holds_the_exact_quadrature():
    st = Setting.make(random_spd(3, 2.0, np.random.default_rng(5)), 30, Sigma_w="inv", sigma2=0.1)
    for b in (None, [0.2, 0.1, 0.0]):
        Ps, Qs = (np.array(x) for x in family_params(st.Sigma, [0.5, 0.7, 0.9], b))
        ml = model_loss(st, Ps, Qs)
        assert ml.exact
        est = conditioned_loss(st, Ps, Qs, samples=200_000, seed=6)
        assert est.estimable and abs(est.mean - ml.value) <= Z_CRIT * est.stderr, (est.describe(), ml.value)


@pytest.mark.parametrize("L, d, law, mask, sign, n, scale", [
    (2, 3, "gaussian", True, -1, 30, 0.03),
    (3, 3, "gaussian", True, 1, 30, 0.03),
    (2, 2, "gaussian", False, -1, 60, 0.03),
    (2, 2, "uniform", True, -1, 30, 0.03),
    (2, 3, "rademacher", True, -1, 30, 0.03),
])
def test_general_weights_conditioned_estimator_agrees_with_the_literal_model(L, d, law, mask, sign, n, scale):
    st = Setting.make(random_spd(d, 2.0, np.random.default_rng(7)), n, Sigma_w="inv", sigma2=0.1)
    Ps, Qs = _near_family(st, L, scale, seed=8)
    if sign == 1:  # a PyTorch-layout model (readout +[Z]): -P of a family point with mixed signs, perturbed
        Ps, Qs = (np.array(x) for x in family_params(st.Sigma, [-0.5, 0.3, 0.2][:L]))
        rng = np.random.default_rng(8)
        Ps, Qs = -Ps + scale * rng.standard_normal(Ps.shape), Qs + scale * rng.standard_normal(Qs.shape)
    st = Setting.make(st.Sigma, n, Sigma_w="inv", sigma2=0.1, covariates=law)
    est = conditioned_loss(st, Ps, Qs, readout_sign=sign, mask=mask, samples=100_000, seed=9)
    m, se = literal_mc(st, Ps, Qs, sign=sign, mask=mask, samples=100_000, seed=10)
    assert est.estimable, est.describe()
    assert abs(est.mean - m) <= Z_CRIT * np.hypot(se, est.stderr), (est.describe(), m, se)
    if mask:  # Rao-Blackwell: x_q integrated, so the per-prompt spread is smaller than the literal one
        assert est.stderr < se


def test_model_loss_routes_and_bad_estimator():
    st = Setting.make(np.diag([1.0, 0.5]), 12, Sigma_w="inv")
    Ps, Qs = _near_family(st, 3, 0.05, seed=11)  # L = 3: general weights have no exact route
    ml = model_loss(st, Ps, Qs, samples=20_000, seed=1, estimator="conditioned")
    assert not ml.exact and ml.method.startswith("conditioned Monte Carlo: x_q integrated exactly")
    lit = model_loss(st, Ps, Qs, samples=20_000, seed=1)  # the default stays the literal forward pass
    assert lit.method.startswith("Monte Carlo of the literal forward pass")
    assert abs(ml.value - lit.value) <= Z_CRIT * np.hypot(ml.estimate.stderr, lit.estimate.stderr)
    assert model_loss(st, Ps, Qs, samples=20_000, seed=1, estimator="conditioned").value == ml.value  # same seed
    import iclcheck

    api = iclcheck.loss(st, Ps, Qs, samples=20_000, seed=1)  # the API takes the conditioned route
    assert api.value == ml.value and api.method == ml.method
    with pytest.raises(InputError) as e:
        model_loss(st, Ps, Qs, estimator="exact")
    assert e.value.what == "estimator"


def test_rescaling_each_layer_leaves_the_conditioned_draws_unchanged():
    st = Setting.make(np.diag([1.0, 2.0]), 10, Sigma_w="inv")
    Ps, Qs = _near_family(st, 3, 0.05, seed=12)
    g = np.array([0.5, -2.0, 3.0])[:, None, None]
    a = conditioned_loss(st, Ps, Qs, samples=5_000, seed=3)
    b = conditioned_loss(st, Ps * g, Qs / g, samples=5_000, seed=3)
    assert b.mean == pytest.approx(a.mean, rel=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("L", [3, 4])
def test_slow_conditioned_interval_holds_the_literal_mean_at_L_3_4(L):
    st = Setting.make(random_spd(4, 2.0, np.random.default_rng(13)), 40, Sigma_w="inv", sigma2=0.05)
    Ps, Qs = _near_family(st, L, 0.02, seed=14)
    est = conditioned_loss(st, Ps, Qs, samples=1_000_000, seed=15)
    m, se = literal_mc(st, Ps, Qs, samples=1_000_000, seed=16)
    assert est.estimable
    assert abs(est.mean - m) <= Z_CRIT * np.hypot(se, est.stderr)


def test_the_control_variate_is_unbiased_and_pays_near_the_family():
    from iclcheck.numerics.deep.model_loss import family_control

    st = Setting.make(random_spd(3, 2.0, np.random.default_rng(17)), 40, Sigma_w="inv", sigma2=0.05)
    Ps, Qs = _near_family(st, 3, 0.005, seed=18)
    ctl = family_control(st, Ps, Qs)
    est, beta = controlled_loss(st, Ps, Qs, ctl, samples=100_000, seed=19)
    plain = conditioned_loss(st, Ps, Qs, samples=100_000, seed=20)
    m, se = literal_mc(st, Ps, Qs, samples=100_000, seed=21)
    assert beta is not None and est.estimable and plain.estimable
    assert est.stderr < 0.5 * plain.stderr  # the control cuts the spread near the family
    assert abs(est.mean - m) <= Z_CRIT * np.hypot(se, est.stderr)
    assert abs(est.mean - plain.mean) <= Z_CRIT * np.hypot(plain.stderr, est.stderr)
    # at a family point the control is the model itself: every draw equals the exact loss
    Pf, Qf = (np.array(x) for x in family_params(st.Sigma, ctl.Ps.shape[0] * [0.5]))
    at, b = controlled_loss(st, Pf, Qf, family_control(st, Pf, Qf), samples=2_000, seed=1)
    assert b == pytest.approx(1.0, rel=1e-9) and at.mean == pytest.approx(model_loss(st, Pf, Qf).value, rel=1e-9)
