"""SimE on identical / independent errors, the best-match map on a case with a known answer, and the
Gram-form GD++ recursion against a literal token-level von Oswald layer."""

import numpy as np

from iclcheck.numerics.compare import best_match, gd_path, gdpp_recurrent_predict, prefix_errors, sim_e
from iclcheck.numerics.forward import sample_prompts
from iclcheck.theory.setting import Setting


def test_sim_e_identical_is_one_and_independent_is_zero():
    rng = np.random.default_rng(0)
    e = rng.standard_normal((5000, 12))
    assert abs(sim_e(e, e).mean - 1.0) < 1e-12
    est = sim_e(e, rng.standard_normal((5000, 12)))
    assert est.contains(0.0), est.ci


def test_best_match_recovers_gd_steps():
    st = Setting.make(np.eye(3), 10)
    pr = sample_prompts(st, 300, np.random.default_rng(1))
    G = 0.3 * np.eye(3)
    steps = prefix_errors(pr, lambda X, y, xq: gd_path(X, y, xq, steps=12, Gamma=G))  # (13, B, n)
    layers = steps[[2, 5, 9]]  # "layers" that are exactly GD steps 2, 5, 9
    idx, S = best_match(layers, steps)
    assert idx.tolist() == [2, 5, 9]
    np.testing.assert_allclose(S[[0, 1, 2], [2, 5, 9]], 1.0, rtol=1e-12)


def test_gdpp_gram_recursion_equals_token_level_layer():
    rng = np.random.default_rng(2)
    B, N, d, eta, gamma, K = 4, 7, 3, 0.8, 0.05, 3
    X = rng.uniform(-0.5, 0.5, (B, N, d))
    xq = rng.uniform(-0.5, 0.5, (B, d))
    y = rng.standard_normal((B, N))
    fast = gdpp_recurrent_predict(X, y, xq, eta=eta, gamma=gamma, layers=K)
    # literal: tokens e_j = (x_j, y_j), query (x_q, 0); e_j += P W_V sum_i e_i (W_K e_i)^T (W_Q e_j)
    Wk = np.zeros((d + 1, d + 1))
    Wk[:d, :d] = np.eye(d)
    Wv = np.eye(d + 1)
    Wv[d, d] = -1.0
    P = np.diag([-gamma] * d + [eta / N])
    for b in range(B):
        E = np.vstack([np.c_[X[b], y[b]], np.r_[xq[b], 0.0]])  # (N+1, d+1) rows are tokens
        for _ in range(K):
            ctx = E[:N]
            upd = np.array([P @ Wv @ sum(ctx[i] * ((Wk @ ctx[i]) @ (Wk @ E[j])) for i in range(N))
                            for j in range(N + 1)])
            E = E + upd
        assert abs(-E[N, d] - fast[b]) < 1e-10


def test_two_layer_gdpp_is_quadratic_in_eta():
    rng = np.random.default_rng(3)
    from iclcheck.numerics.compare import gdpp_two_layer_terms

    X = rng.uniform(-0.5, 0.5, (6, 9, 4))
    xq = rng.uniform(-0.5, 0.5, (6, 4))
    y = rng.standard_normal((6, 9))
    C = X.transpose(0, 2, 1) @ X
    b = np.einsum("bnd,bn->bd", X, y)
    u, v = gdpp_two_layer_terms(C, b, xq, N=9, gamma=0.07)
    for eta in (0.3, 1.7, 5.0):
        np.testing.assert_allclose(gdpp_recurrent_predict(X, y, xq, eta=eta, gamma=0.07, layers=2),
                                   eta * u - eta**2 * v, rtol=1e-12, atol=1e-12)
