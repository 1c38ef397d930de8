"""SimE on identical / independent errors, the best-match map on a case with a known answer, and the
Gram-form GD++ recursion against a literal token-level von Oswald layer."""

import numpy as np
import pytest

from iclcheck.numerics.compare import best_match, gd_path, gdpp_recurrent_predict, prefix_errors, sim_e
from iclcheck.numerics.model.forward import sample_prompts
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


# --------------------------------------------------------------------- honest intervals
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(d=hst.integers(1, 4), n=hst.integers(2, 10), spread=hst.floats(0.0, 2.0), eta_frac=hst.floats(0.05, 1.6),
       steps=hst.integers(1, 10), samples=hst.integers(50, 1500), seed=hst.integers(0, 2**16))
@example(d=4, n=8, spread=2.0, eta_frac=1.0, steps=10, samples=1500, seed=0)  # the issue's diag:100,100,1,1 case
def test_no_interval_for_a_squared_error_is_negative(d, n, spread, eta_frac, steps, samples, seed):
    """Squared GD errors over random settings, up to step sizes past divergence (heavy tails): the interval of a
    non-negative quantity never goes below 0, and a heavy tail is reported, not given an interval."""
    from iclcheck.numerics.compare import estimate

    ev = 10.0 ** (spread * np.linspace(1, 0, d))  # eigenvalues from 10^spread down to 1
    st_ = Setting.make(np.diag(ev), n)
    rng = np.random.default_rng(seed)
    pr = sample_prompts(st_, samples, rng)
    eta = eta_frac * 2.0 / float(ev.max() * (1 + np.sqrt(d / n)) ** 2)
    preds = gd_path(pr.X, pr.y, pr.xq, steps=steps, Gamma=eta * np.eye(d))
    for p in preds:
        e = estimate((p - pr.yq) ** 2, nonnegative=True)
        lo, hi = e.ci
        assert lo >= 0.0 and hi >= lo
        assert e.estimable == (e.tail_note() == "")
        if not e.estimable:
            assert "mean not estimable" in e.describe() and "median" in e.describe()


def test_compare_issue_case_states_tuning_and_flags_steps_beyond_L():
    """compare --cov diag:100,100,1,1 -n 8 -L 2 --train-steps 0: eta optimal for L = 2 steps, steps > 2
    flagged, no negative interval, diverging steps reported as not estimable."""
    from iclcheck.numerics.compare import compare

    st_ = Setting.make(np.diag([100.0, 100.0, 1.0, 1.0]), 8)
    res = compare(st_, 2, samples=2000, rng=np.random.default_rng(0), train_steps=0, sim_prompts=0,
                  algorithms=("gd", "pgd", "ols"))
    gd = {c.name: c for c in res["curves"]}["gd"]
    assert "optimal for 2 steps" in gd.label and gd.params["eta_optimal_for_steps"] == 2
    assert gd.beyond() == [k > 2 for k in range(11)]
    for c in res["curves"]:
        for e in c.errors:
            assert e.ci[0] >= 0.0
    assert not gd.errors[-1].estimable  # the last steps diverge on rare prompts


def test_exact_family_errors_agree_with_monte_carlo_where_tails_are_light():
    """Family setting (w ~ N(0, Sigma^-1)): the exact per-step errors of pgd, opt-poly and GD++ lie in the
    Monte Carlo intervals of the literal paths (d=3, n=10, L=2: light tails)."""
    from iclcheck.numerics.compare import compare

    st_ = Setting.make(np.diag([1.0, 0.5, 0.25]), 10, Sigma_w="inv")
    res = compare(st_, 2, steps=3, samples=20_000, rng=np.random.default_rng(0), train_steps=0, sim_prompts=0,
                  algorithms=("pgd", "opt-poly", "gdpp"))
    checked = 0
    for c in res["curves"]:
        for e, x in zip(c.errors, c.exact, strict=True):
            assert x is not None
            if e.estimable:
                assert e.contains(x), (c.name, e.ci, x)
                checked += 1
    assert checked >= 7


def test_one_step_errors_are_exact_for_any_law_and_agree_with_monte_carlo():
    """Steps 0 and 1 of gd / pgd use the exact one-layer loss (uniform covariates, noise, Sigma_w = I); the
    literal paths' Monte Carlo intervals contain them."""
    from iclcheck.numerics.compare import compare

    st_ = Setting.make(np.diag([1.0, 2.0]), 6, sigma2=0.3, covariates="uniform")
    res = compare(st_, 2, steps=3, samples=40_000, rng=np.random.default_rng(1), train_steps=0, sim_prompts=0,
                  algorithms=("gd", "pgd"))
    for c in res["curves"]:
        assert c.exact[0] == pytest.approx(3.0)  # E (w^T x_q)^2 = tr(Sigma Sigma_w)
        assert c.exact[1] is not None and c.exact[2] is None  # beyond one step no closed form for this law
        for e, x in zip(c.errors[:2], c.exact[:2], strict=True):
            assert e.estimable and e.contains(x), (c.name, e.ci, x)
