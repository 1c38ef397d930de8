"""numerics.deep.exact_two_layer: the exact L = 2 loss with general weights against independent routes - the Wishart
moments against exact Gaussian moments (rational arithmetic) and sampled Grams; the (8) / (11) families against
Wick's theorem and the spectral quadrature; L = 1 against the one-layer closed form; general weights against a
Monte Carlo of the literal forward pass (model_loss.mc_literal, numerics.model.lsa) - plus the layer-rescaling
invariance and the inputs it refuses."""

from __future__ import annotations

from collections import Counter, defaultdict
from fractions import Fraction

import numpy as np
import pytest

from iclcheck.numerics.deep.exact_two_layer import (
    _graded,
    _pairs,
    applicable,
    two_layer_loss,
    wishart_moments,
)
from iclcheck.numerics.deep.model_loss import exact_route, mc_literal, model_loss
from iclcheck.numerics.families.gdpp import family_params
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting


def _double_factorial(k: int) -> int:
    return 0 if k % 2 else int(np.prod(np.arange(k - 1, 0, -2))) if k > 1 else 1


def _exact_moment(p: int, n: int, mono: list[tuple[int, int]]) -> Fraction:
    """E prod (H_ab - delta_ab), H = (1/n) sum_i v_i v_i^T, by expanding into the independent N(0, 1) entries v_ia
    and E v^k = (k-1)!! - rational arithmetic, no Wick recursion."""
    poly: dict[tuple, Fraction] = {(): Fraction(1)}
    for a, b in mono:
        new: dict[tuple, Fraction] = defaultdict(Fraction)
        for key, c in poly.items():
            for i in range(n):
                new[tuple(sorted((*key, (i, a), (i, b))))] += c / n
            if a == b:
                new[key] -= c
        poly = new
    total = Fraction(0)
    for key, c in poly.items():
        total += c * int(np.prod([_double_factorial(e) for e in Counter(key).values()]))
    return total


def _moment(p: int, n: int, exps: np.ndarray) -> float:
    keys, mu = wishart_moments(p, n)
    key = int(exps @ (9 ** np.arange(exps.size)))
    pos = int(np.searchsorted(keys, key))
    return float(mu[pos]) if pos < keys.size and keys[pos] == key else 0.0  # absent: parity class, moment 0


@pytest.mark.parametrize("p, n, K", [(1, 5, 8), (2, 2, 8), (2, 3, 8), (3, 2, 6), (3, 4, 5)])
def test_wishart_moments_are_the_exact_gaussian_moments(p, n, K):
    pairs, _ = _pairs(p)
    exps, _, _ = _graded(pairs.shape[0], K)
    rng = np.random.default_rng(p * 10 + n)
    pick = rng.choice(exps.shape[0], size=min(80, exps.shape[0]), replace=False)
    for i in pick:
        mono = [tuple(pairs[v]) for v in range(pairs.shape[0]) for _ in range(exps[i, v])]
        exact = _exact_moment(p, n, mono)
        assert _moment(p, n, exps[i]) == pytest.approx(float(exact), rel=1e-13, abs=1e-15), mono


def test_wishart_moments_match_sampled_grams():
    p, n, B = 3, 5, 400_000
    rng = np.random.default_rng(3)
    V = rng.standard_normal((B, n, p))
    Dl = np.einsum("bia,bic->bac", V, V) / n - np.eye(p)  # (B, p, p)
    pairs, _ = _pairs(p)
    exps, _, _ = _graded(pairs.shape[0], 4)
    for i in rng.choice(exps.shape[0], size=40, replace=False):
        vals = np.prod([Dl[:, a, b] ** e for (a, b), e in zip(pairs, exps[i], strict=True)], axis=0)
        se = vals.std(ddof=1) / np.sqrt(B)
        assert abs(vals.mean() - _moment(p, n, exps[i])) <= 4.5 * se + 1e-12, exps[i]


def _family_layers(As, Bs, cs, d):
    L = len(As)
    Ps, Qs = np.zeros((L, d + 1, d + 1)), np.zeros((L, d + 1, d + 1))
    for i, (A, B, c) in enumerate(zip(As, Bs, cs, strict=True)):
        Ps[i, :d, :d] = c * B
        Ps[i, d, d] = c
        Qs[i, :d, :d] = -A / c
    return Ps, Qs


@pytest.mark.parametrize("d, n, sigma2", [(2, 9, 0.0), (3, 9, 0.0), (3, 9, 0.4), (3, 2, 0.4)])  # n = 2: singular Gram
def test_condition_8_with_full_A_equals_wicks_theorem(d, n, sigma2):
    rng = np.random.default_rng(d)
    st = Setting.make(random_spd(d, 2.0, rng), n, Sigma_w="inv", sigma2=sigma2)
    As = [0.2 * rng.standard_normal((d, d)) + 0.3 * np.eye(d) for _ in range(2)]
    Ps, Qs = _family_layers(As, [np.zeros((d, d))] * 2, [1.3, -0.6], d)
    wick, how = exact_route(st, Ps, Qs)
    assert "Wick" in how
    assert two_layer_loss(st, Ps, Qs) == pytest.approx(wick, rel=1e-10)


@pytest.mark.parametrize("d, sigma2", [(2, 0.0), (3, 0.3)])
def test_condition_11_equals_the_spectral_quadrature(d, sigma2):
    st = Setting.make(random_spd(d, 2.0, np.random.default_rng(5)), 11, Sigma_w="inv", sigma2=sigma2)
    Ps, Qs = (np.array(x) for x in family_params(st.Sigma, [0.3, 0.5], [0.2, 0.0]))
    quad, how = exact_route(st, Ps, Qs)
    assert "condition (11)" in how
    assert two_layer_loss(st, Ps, Qs) == pytest.approx(quad, rel=1e-10)


@pytest.mark.parametrize("d, sigma2, prior", [(2, 0.0, None), (3, 0.3, "inv"), (3, 0.1, "given")])
def test_one_layer_equals_the_closed_form(d, sigma2, prior):
    rng = np.random.default_rng(10 + d)
    Sw = random_spd(d, 1.5, rng) if prior == "given" else prior
    st = Setting.make(random_spd(d, 2.0, rng), 7, Sigma_w=Sw, sigma2=sigma2)
    P, Q = 0.3 * rng.standard_normal((2, d + 1, d + 1))
    closed = OneLayer(st).loss(P, Q)
    zero = np.zeros_like(P)
    assert two_layer_loss(st, np.stack([P, zero]), np.stack([Q, zero])) == pytest.approx(closed, rel=1e-10)
    assert two_layer_loss(st, P[None], Q[None]) == pytest.approx(closed, rel=1e-10)


@pytest.mark.parametrize("d, sigma2, prior, sign", [(2, 0.0, None, -1), (3, 0.3, "given", 1), (4, 0.2, "inv", -1)])
def test_the_residual_polynomial_is_the_gram_recursion_at_any_point(d, sigma2, prior, sign):
    """Steps 1-3 without any expectation: the (xi, Delta) coefficients evaluated at a drawn (w, H) equal
    sign e^T A_1 A_0 E_x S - w^T S from numerics.deep.conditioned.gram_forward at G_0 = F_w H F_w^T, for general weights."""
    from iclcheck.numerics.deep.conditioned import gram_forward
    from iclcheck.numerics.deep.exact_two_layer import _residual
    from iclcheck.numerics.linalg import sqrtm_psd

    rng = np.random.default_rng(d)
    Sw = random_spd(d, 1.5, rng) if prior == "given" else prior
    st = Setting.make(random_spd(d, 2.0, rng), 7, Sigma_w=Sw, sigma2=sigma2)
    Ps, Qs = 0.5 * rng.standard_normal((2, 2, d + 1, d + 1))
    ch, rho = _residual(st, Ps, Qs, sign)
    p, S = ch.p, sqrtm_psd(st.Sigma)
    for _ in range(3):
        xi = rng.standard_normal(d)
        V = rng.standard_normal((5, p))
        H = V.T @ V / 5
        dv = np.array([(H - np.eye(p))[a, b] for a, b in ch.pairs])
        val = np.einsum("cij,i,j->c", rho, np.prod(xi ** ch.bx.exps, axis=1), np.prod(dv ** ch.bh.exps, axis=1))
        w = np.linalg.cholesky(st.Sigma_w) @ xi
        F = np.zeros((d + 1, p))
        F[:d, :d], F[d, :d] = S, w @ S
        if p > d:
            F[d, d] = np.sqrt(sigma2)
        T = gram_forward(Ps, Qs, (F @ H @ F.T)[None])[0]
        ref = sign * T[d, :d] @ S - w @ S
        np.testing.assert_allclose(val, ref, rtol=1e-11, atol=1e-11 * np.abs(ref).max())


def _general(d: int, n: int, sigma2: float, prior, seed: int):
    """Setting with Sigma = random_spd(d, 2) and a general model: the (8) model at a = (0.3, 0.5) with random
    x-blocks added to every P_l, Q_l (0.2 N(0, 1)) and every entry perturbed (0.02 N(0, 1)) - large enough that the
    second layer and the non-family entries move the loss by many interval widths, small enough for light tails."""
    rng = np.random.default_rng(100 * seed + d + n)
    Sw = random_spd(d, 1.5, rng) if prior == "given" else prior
    st = Setting.make(random_spd(d, 2.0, rng), n, Sigma_w=Sw, sigma2=sigma2)
    P0, Q0 = (np.array(x) for x in family_params(st.Sigma, (0.3, 0.5)))
    Ps = P0 + 0.02 * rng.standard_normal(P0.shape)
    Qs = Q0 + 0.02 * rng.standard_normal(Q0.shape)
    Ps[:, :d, :d] += 0.2 * rng.standard_normal((2, d, d))
    Qs[:, :d, :d] += 0.2 * rng.standard_normal((2, d, d))
    return st, Ps, Qs


# (d, n, sigma2, task prior, readout sign, seed): d = 2 and 3, with and without noise, Sigma random, w ~ N(0, I),
# N(0, Sigma^-1) or N(0, Sigma_w) for a random Sigma_w; the readout +1 rows flip P (the loss is not symmetric in it)
CASES = [(2, 40, 0.0, None, -1, 5), (2, 40, 0.0, "given", -1, 4), (2, 20, 0.5, "inv", -1, 0), (2, 40, 0.3, None, 1, 1),
         (3, 20, 0.0, "inv", 1, 1), (3, 20, 0.2, "inv", -1, 1), (3, 40, 0.2, None, -1, 1)]


@pytest.mark.parametrize("d, n, sigma2, prior, sign, seed", CASES)
def test_general_weights_agree_with_the_literal_forward_pass(d, n, sigma2, prior, sign, seed):
    st, Ps, Qs = _general(d, n, sigma2, prior, seed)
    exact = two_layer_loss(st, Ps, Qs, readout_sign=sign)
    est = mc_literal(st, Ps, Qs, readout_sign=sign, samples=100_000, seed=1)
    assert est.estimable, est.describe()
    assert est.contains(exact), (exact, est.describe())
    # the check has power: the interval excludes the loss of the first layer alone
    assert not est.contains(two_layer_loss(st, Ps[:1], Qs[:1], readout_sign=sign))
    ml = model_loss(st, Ps, Qs, readout_sign=sign)
    assert ml.exact and ml.value == exact and ml.method.startswith("L = 2, general P_l, Q_l: exact")


@pytest.mark.slow
def test_slow_general_weights_at_d_3_with_noise_agree_with_two_million_literal_prompts():
    st, Ps, Qs = _general(3, 20, 0.2, "inv", seed=1)
    exact = two_layer_loss(st, Ps, Qs)
    est = mc_literal(st, Ps, Qs, samples=2_000_000, seed=2)
    assert est.estimable, est.describe()
    assert est.contains(exact), (exact, est.describe())


def test_rescaling_each_layer_leaves_the_loss_unchanged():
    st, Ps, Qs = _general(3, 12, 0.3, "inv", seed=5)
    base = two_layer_loss(st, Ps, Qs)
    g = np.array([-2.5, 0.4])[:, None, None]
    assert two_layer_loss(st, Ps * g, Qs / g) == pytest.approx(base, rel=1e-12)
    assert two_layer_loss(st, Ps * g[::-1], Qs / g[::-1]) == pytest.approx(base, rel=1e-12)


def test_routes_it_refuses():
    st = Setting.make(np.eye(2), 6)
    Ps, Qs = 0.1 * np.ones((2, 2, 3, 3))
    with pytest.raises(InputError, match="unmasked"):
        two_layer_loss(st, Ps, Qs, mask=False)
    with pytest.raises(InputError, match="L <= 2"):
        two_layer_loss(st, np.concatenate([Ps, Ps]), np.concatenate([Qs, Qs]))
    assert "no Wishart law" in applicable(Setting.make(np.eye(2), 6, covariates="uniform"), 2)
    assert "d + [sigma2 > 0] <= 5" in applicable(Setting.make(np.eye(5), 6, sigma2=0.1), 2)
    assert applicable(Setting.make(np.eye(5), 6), 2) is None  # d = 5 without noise: p = 5
    with pytest.raises(InputError, match="readout_sign"):
        two_layer_loss(st, Ps, Qs, readout_sign=0)


def test_weights_that_overflow_float64_fall_back_to_the_monte_carlo_failure():
    from iclcheck.theory.errors import NumericalFailure

    st = Setting.make(np.eye(2), 6)
    big = np.full((2, 3, 3), 1e60)
    with pytest.raises(NumericalFailure, match="overflow"):
        model_loss(st, big, big, samples=1_000)
    with pytest.raises(InputError, match="non-finite"):
        two_layer_loss(st, np.full((2, 3, 3), np.nan), big)
