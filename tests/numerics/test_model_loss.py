"""numerics.deep.model_loss: every exact route against a brute-force Monte Carlo of the layer formula written out here
(an independent forward pass: plain einsum of Z + (1/n) P Z M Z^T Q Z, not numerics.model.lsa), plus metamorphic checks."""

from __future__ import annotations

import numpy as np
import pytest

from iclcheck.numerics.deep.model_loss import model_loss
from iclcheck.numerics.families.gdpp import family_params
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

Z_CRIT = 4.0  # |exact - MC mean| / stderr; two-sided p ~ 6e-5 per comparison


def brute_loss(st: Setting, Ps, Qs, *, sign: int = -1, mask: bool = True, samples: int, seed: int):
    """(mean, stderr) of (sign [Z_L]_{d+1,n+1} - w^T x_q)^2 over Gaussian prompts, by the literal layer formula."""
    rng = np.random.default_rng(seed)
    d, n = st.d, int(st.n)
    ev, U = np.linalg.eigh(st.Sigma)
    Sh = (U * np.sqrt(ev)) @ U.T
    Lw = np.linalg.cholesky(st.Sigma_w)
    vals = []
    for _ in range(samples // 20_000):
        B = 20_000
        x = rng.standard_normal((B, n + 1, d)) @ Sh  # (B, n+1, d)
        w = rng.standard_normal((B, d)) @ Lw.T  # (B, d)
        y = np.einsum("bnd,bd->bn", x[:, :n], w) + np.sqrt(st.sigma2) * rng.standard_normal((B, n))
        Z = np.zeros((B, d + 1, n + 1))
        Z[:, :d, :] = x.transpose(0, 2, 1)
        Z[:, d, :n] = y
        Mk = np.ones(n + 1)
        if mask:
            Mk[n] = 0.0
        for P, Q in zip(Ps, Qs, strict=True):
            Zm = Z * Mk  # (B, D, n+1) query column zeroed when masked
            Z = Z + np.einsum("ij,bjk,blk,lm,bmq->biq", P, Zm, Z, Q, Z, optimize=True) / n
        vals.append((sign * Z[:, d, n] - np.einsum("bd,bd->b", x[:, n], w)) ** 2)
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))


def _inv_setting(d=3, n=8, seed=0, sigma2=0.0):
    S = random_spd(d, 3.0, np.random.default_rng(seed))
    return Setting.make(S, n, Sigma_w="inv", sigma2=sigma2)


def _agree(ml, st, Ps, Qs, **kw):
    assert ml.exact, ml.method
    m, se = brute_loss(st, Ps, Qs, samples=100_000, seed=11, **kw)
    assert abs(ml.value - m) <= Z_CRIT * se, (ml.value, m, se, ml.method)


def test_one_layer_closed_form_matches_the_literal_model():
    st = Setting.make(random_spd(2, 4.0, np.random.default_rng(1)), 6, sigma2=0.25)
    rng = np.random.default_rng(2)
    P, Q = rng.normal(size=(3, 3)) * 0.4, rng.normal(size=(3, 3)) * 0.4
    ml = model_loss(st, P, Q)
    assert "closed form" in ml.method and ml.interval == (ml.value, ml.value)
    _agree(ml, st, [P], [Q])


def test_one_layer_plus_readout_is_exact_and_matches_the_literal_model():
    st = Setting.make(np.diag([1.0, 2.0]), 5)
    rng = np.random.default_rng(3)
    P, Q = rng.normal(size=(3, 3)) * 0.4, rng.normal(size=(3, 3)) * 0.4
    ml = model_loss(st, P, Q, readout_sign=1)
    _agree(ml, st, [P], [Q], sign=1)


def test_unmasked_one_layer_with_zero_query_row_is_exact():
    st = Setting.make(np.diag([1.0, 2.0]), 5)
    rng = np.random.default_rng(4)
    P, Q = rng.normal(size=(3, 3)) * 0.4, rng.normal(size=(3, 3)) * 0.4
    P[2, :2] = 0.0
    ml = model_loss(st, P, Q, mask=False)
    _agree(ml, st, [P], [Q], mask=False)
    P[2, 0] = 0.3  # the query term no longer vanishes: no exact route
    assert not model_loss(st, P, Q, mask=False, samples=1000).exact


@pytest.mark.parametrize("b", [None, [0.3, -0.2, 0.0]])
def test_gd_and_gdpp_family_quadrature_match_the_literal_model(b):
    st = _inv_setting(sigma2=0.1)
    Ps, Qs = family_params(st.Sigma, [0.2, 0.7, 0.4], b)
    Ps, Qs = np.array(Ps), np.array(Qs)
    Ps[1] *= 3.0  # P_1 = 3 [[b_1 I, 0], [0, 1]], Q_1 / 3: the same layer, read back as (P_1 / 3, 3 Q_1)
    Qs[1] /= 3.0
    ml = model_loss(st, Ps, Qs)
    assert ("(11)" if b else "(8)") in ml.method
    _agree(ml, st, Ps, Qs)


def test_two_layer_full_A_by_wick_matches_the_literal_model():
    st = _inv_setting(d=2, n=6, seed=5)
    rng = np.random.default_rng(6)
    Ps, Qs = np.zeros((2, 3, 3)), np.zeros((2, 3, 3))
    Ps[:, 2, 2] = 1.0
    Qs[:, :2, :2] = -rng.normal(size=(2, 2, 2)) * 0.3
    ml = model_loss(st, Ps, Qs)
    assert "Wick" in ml.method
    _agree(ml, st, Ps, Qs)


def test_general_weights_at_L_2_are_exact_and_match_the_literal_model():
    st = Setting.make(np.diag([1.0, 0.5]), 10)
    rng = np.random.default_rng(7)
    Ps, Qs = rng.normal(size=(2, 3, 3)) * 0.1, rng.normal(size=(2, 3, 3)) * 0.1
    ml = model_loss(st, Ps, Qs)
    assert ml.method.startswith("L = 2, general P_l, Q_l: exact")
    _agree(ml, st, Ps, Qs)


def test_general_weights_at_L_3_fall_back_to_monte_carlo_with_an_honest_interval():
    st = Setting.make(np.diag([1.0, 0.5]), 10)
    rng = np.random.default_rng(7)
    Ps, Qs = rng.normal(size=(3, 3, 3)) * 0.1, rng.normal(size=(3, 3, 3)) * 0.1
    ml = model_loss(st, Ps, Qs, samples=100_000, seed=3)
    assert not ml.exact and "Monte Carlo" in ml.method and ml.estimate is not None and ml.estimable
    lo, hi = ml.interval
    assert 0.0 <= lo <= ml.value <= hi
    m, se = brute_loss(st, Ps, Qs, samples=100_000, seed=12)
    assert abs(ml.value - m) <= Z_CRIT * np.hypot(se, ml.estimate.stderr)
    again = model_loss(st, Ps, Qs, samples=100_000, seed=3)
    assert again.value == ml.value  # same seed, same answer


def test_L_2_beyond_the_exact_bound_falls_back_and_says_why():
    st = Setting.make(np.eye(5), 10, sigma2=0.1)  # d + [sigma2 > 0] = 6 > 5
    rng = np.random.default_rng(8)
    Ps, Qs = rng.normal(size=(2, 2, 6, 6)) * 0.05
    ml = model_loss(st, Ps, Qs, samples=2_000, seed=0)
    assert not ml.exact and "no exact L = 2 route: d = 5 with label noise" in ml.method
    assert model_loss(st, Ps, Qs, samples=2_000, seed=0, mask=False).method.endswith(
        "no exact L = 2 route: unmasked model: the query is a key, the prediction is not linear in x_q")


def test_rescaling_P_and_Q_leaves_the_exact_loss_unchanged():
    st = _inv_setting()
    Ps, Qs = family_params(st.Sigma, [0.5, 0.9])
    base = model_loss(st, Ps, Qs).value
    for g in (0.5, 2.0, -1.5):
        Ps2 = [P * g for P in Ps]
        Qs2 = [Q / g for Q in Qs]
        assert model_loss(st, Ps2, Qs2).value == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize("P, Q, what", [
    (np.zeros((2, 2)), np.zeros((3, 3)), "P"),
    (np.zeros((2, 3, 3)), np.zeros((3, 3, 3)), "Q"),
    (np.full((3, 3), np.nan), np.zeros((3, 3)), "P"),
])
def test_bad_weights_are_input_errors(P, Q, what):
    st = Setting.make(np.eye(2), 4)
    with pytest.raises(InputError) as e:
        model_loss(st, P, Q)
    assert e.value.what == what
