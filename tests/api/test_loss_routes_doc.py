"""docs/api.md states which stacked layers have an exact loss route; each sentence is checked here against
``iclcheck.loss`` (``.exact`` and ``.method``), and the exact routes against a Monte Carlo of the forward pass."""

import numpy as np
import pytest

import iclcheck


def _layers(As, Bs, d):
    L = len(As)
    Ps, Qs = np.zeros((L, d + 1, d + 1)), np.zeros((L, d + 1, d + 1))
    for i, (A, B) in enumerate(zip(As, Bs, strict=True)):
        Ps[i, :d, :d] = B
        Ps[i, d, d] = 1.0
        Qs[i, :d, :d] = -A
    return Ps, Qs


D = 3
SIGMA = np.diag([1.0, 2.0, 0.5])
ST = iclcheck.setting(SIGMA, 10, Sigma_w="inv")
RNG = np.random.default_rng(5)
A_FULL = [0.2 * (M + M.T) / 2 + 0.3 * np.eye(D) for M in RNG.standard_normal((2, D, D))]


def _literal_mc(st, Ps, Qs, B, seed):
    """A Monte Carlo of the literal forward pass (numerics.model.lsa) at st (Gaussian data), tails checked."""
    from iclcheck.numerics.model.forward import sample_prompts
    from iclcheck.numerics.model.lsa import LSA, forward
    from iclcheck.numerics.model.montecarlo import estimate_from_values

    pr = sample_prompts(st, B, np.random.default_rng(seed))
    pred = -forward(LSA(L=len(Ps)), pr.Z0, list(Ps), list(Qs))[:, -1, -1]
    return estimate_from_values((pred - pr.yq) ** 2, nonnegative=True)


def test_two_layers_any_A_with_B_zero_is_exact_and_matches_monte_carlo():
    Ps, Qs = _layers(A_FULL, [np.zeros((D, D))] * 2, D)
    r = iclcheck.loss(ST, Ps, Qs)
    assert r.exact and "Wick" in r.method
    # another route: a Monte Carlo of the literal forward pass (numerics.model.lsa), its 99.9% interval holds the value
    from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
    from iclcheck.numerics.model.montecarlo import estimate_from_values

    rng = np.random.default_rng(11)
    B, n = 60_000, 10
    Sh = np.sqrt(SIGMA)  # diagonal
    X = rng.standard_normal((B, n, D)) @ Sh
    xq = rng.standard_normal((B, D)) @ Sh
    w = rng.standard_normal((B, D)) @ np.linalg.inv(Sh)  # w ~ N(0, Sigma^-1)
    y = np.einsum("bnd,bd->bn", X, w)
    pred = -forward(LSA(L=2), build_prompts(X, y, xq), list(Ps), list(Qs))[:, -1, -1]
    est = estimate_from_values((pred - np.einsum("bd,bd->b", xq, w)) ** 2, nonnegative=True)
    assert est.estimable and est.contains(r.value), (r.value, est.describe())


def _three(Ps, Qs):
    """The two layers and a third copy of the first: L = 3."""
    return np.concatenate([Ps, Ps[:1]]), np.concatenate([Qs, Qs[:1]])


@pytest.mark.parametrize("case, seed", [("B not a multiple of I", 12), ("B = 0.1 I with a general A", 13)])
def test_B_outside_the_families_is_exact_at_L_2_and_falls_back_to_monte_carlo_at_L_3(case, seed):
    if case == "B not a multiple of I":
        Ps, Qs = _layers([0.2 * np.linalg.inv(SIGMA)] * 2, [np.diag([0.1, -0.2, 0.3]), np.zeros((D, D))], D)
    else:
        Ps, Qs = _layers(A_FULL, [0.1 * np.eye(D), np.zeros((D, D))], D)
    r = iclcheck.loss(ST, Ps, Qs)
    assert r.exact and r.method.startswith("L = 2, general P_l, Q_l: exact")
    est = _literal_mc(ST, Ps, Qs, 60_000, seed=seed)
    assert est.estimable and est.contains(r.value), (r.value, est.describe())
    r3 = iclcheck.loss(ST, *_three(Ps, Qs), samples=4_000, seed=0)
    assert not r3.exact and "Monte Carlo" in r3.method


def test_general_weights_at_L_2_are_exact_within_the_bound_and_estimated_beyond_it():
    rng = np.random.default_rng(6)
    Ps, Qs = 0.1 * rng.standard_normal((2, 2, D + 1, D + 1))
    st = iclcheck.setting(SIGMA, 10, sigma2=0.2)  # w ~ N(0, I), label noise: d + 1 = 4 <= 5
    r = iclcheck.loss(st, Ps, Qs)
    assert r.exact and r.method.startswith("L = 2, general P_l, Q_l: exact")
    est = _literal_mc(st, Ps, Qs, 60_000, seed=14)
    assert est.estimable and est.contains(r.value), (r.value, est.describe())
    st5 = iclcheck.setting(np.eye(5), 10, sigma2=0.2)  # d + 1 = 6 > 5: no exact route
    P5, Q5 = 0.05 * rng.standard_normal((2, 2, 6, 6))
    r5 = iclcheck.loss(st5, P5, Q5, samples=4_000, seed=0)
    assert not r5.exact and "Monte Carlo" in r5.method and "no exact L = 2 route" in r5.method


def test_gdpp_family_is_exact():
    Ps, Qs = _layers([0.2 * np.linalg.inv(SIGMA), 0.3 * np.linalg.inv(SIGMA)], [0.1 * np.eye(D), np.zeros((D, D))], D)
    r = iclcheck.loss(ST, Ps, Qs)
    assert r.exact and "quadrature" in r.method
