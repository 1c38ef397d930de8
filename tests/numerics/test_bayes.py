"""numerics.bayes against independent routes: direct simulation of the estimators, the d x d ridge formula,
brute-force pool weights, and the literal LSA forward pass (numerics.model.lsa) for the pool optimum."""

import json

import numpy as np
import pytest

from iclcheck.numerics.bayes import (
    TaskPool,
    bayes_risk,
    dmmse_posterior_mean,
    dmmse_risk,
    ols_risk,
    pool_lsa_optimum,
    posterior_mean,
    ridge_risk,
)
from iclcheck.numerics.model.lsa import build_prompts, lsa_loss_and_grads
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

Z_MAX = 4.5  # |z| bound of a two-estimate comparison (a few tests, each at ~1e-5 false-alarm rate)


def _z(a_mean, a_se, b_mean, b_se):
    return abs(a_mean - b_mean) / np.hypot(a_se, b_se)


def _direct_risk(setting, predict_w, rng, B, tasks=None):
    """Mean and stderr of (w_hat^T x_q - w^T x_q)^2 over fully simulated prompts (w, X, eps, x_q all drawn)."""
    d, n = setting.d, setting.n
    Sh = np.linalg.cholesky(setting.Sigma)
    x = rng.standard_normal((B, n + 1, d)) @ Sh.T
    X, xq = x[:, :n], x[:, n]
    w = tasks(B) if tasks is not None else rng.standard_normal((B, d)) @ np.linalg.cholesky(setting.Sigma_w).T
    y = np.einsum("bnd,bd->bn", X, w) + np.sqrt(setting.sigma2) * rng.standard_normal((B, n))
    e = np.einsum("bd,bd->b", predict_w(X, y) - w, xq) ** 2
    return e.mean(), e.std(ddof=1) / np.sqrt(B)


def _ridge_dxd(X, y, Sigma_w, sigma2):  # the textbook d x d form (numerics.bayes uses the n x n one)
    A = np.swapaxes(X, 1, 2) @ X + sigma2 * np.linalg.inv(Sigma_w)
    return np.linalg.solve(A, np.einsum("bnd,bn->bd", X, y)[..., None])[..., 0]


def test_posterior_mean_is_the_generalized_ridge():
    rng = np.random.default_rng(1)
    for n in (3, 7, 12):
        X, y = rng.standard_normal((4, n, 5)), rng.standard_normal((4, n))
        W = random_spd(5, 10.0, rng)
        np.testing.assert_allclose(posterior_mean(X, y, Sigma_w=W, sigma2=0.3), _ridge_dxd(X, y, W, 0.3),
                                   rtol=1e-9, atol=1e-12)  # two algebraically equal solves, condition <= ~1e3
    # sigma2 = 0 is the limit (minimum-norm interpolant for n < d)
    X, y = rng.standard_normal((3, 3, 5)), rng.standard_normal((3, 3))
    W = random_spd(5, 5.0, rng)
    np.testing.assert_allclose(posterior_mean(X, y, Sigma_w=W, sigma2=0.0),
                               posterior_mean(X, y, Sigma_w=W, sigma2=1e-10), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("Sigma,n,s2,law", [(np.eye(5), 20, 0.25, "gaussian"), ("spd", 9, 1.0, "gaussian"),
                                            (np.eye(4), 3, 0.5, "gaussian")])
def test_bayes_risk_matches_direct_simulation(Sigma, n, s2, law):
    rng = np.random.default_rng(7)
    S = random_spd(3, 5.0, rng) if isinstance(Sigma, str) else Sigma
    W = random_spd(S.shape[0], 3.0, rng)
    st = Setting.make(S, n, Sigma_w=W, sigma2=s2, covariates=law)
    est = bayes_risk(st, rng=np.random.default_rng(2), samples=20_000)
    assert not est.exact and est.mc.estimable
    m, se = _direct_risk(st, lambda X, y: _ridge_dxd(X, y, W, s2), np.random.default_rng(3), 200_000)
    assert _z(est.value, est.mc.stderr, m, se) < Z_MAX


def test_bayes_risk_d1_quadrature_and_noise_free_exact():
    st = Setting.make([[2]], 7, Sigma_w=[[3]], sigma2=0.5)
    est = bayes_risk(st, rng=np.random.default_rng(0))
    assert est.exact and est.interval[1] - est.interval[0] < 1e-10
    m, se = _direct_risk(st, lambda X, y: _ridge_dxd(X, y, st.Sigma_w, 0.5), np.random.default_rng(4), 400_000)
    assert abs(est.value - m) < Z_MAX * se
    assert bayes_risk(st, rng=np.random.default_rng(0), query_noise=True).value == pytest.approx(est.value + 0.5)
    z = bayes_risk(Setting.make(np.eye(3), 3, sigma2=0), rng=np.random.default_rng(0))
    assert z.exact and z.value == 0.0


def test_ols_limit_inverse_wishart():
    # independent: direct simulation of OLS; and Bayes / sigma2 -> d / (n - d - 1) as sigma2 -> 0
    st = Setting.make(np.diag([1.0, 2.0, 3.0]), 30, sigma2=0.1)
    ols = ols_risk(st)
    assert ols == pytest.approx(0.1 * 3 / 26, rel=1e-15)
    m, se = _direct_risk(st, lambda X, y: np.linalg.solve(np.swapaxes(X, 1, 2) @ X,
                                                          np.einsum("bnd,bn->bd", X, y)[..., None])[..., 0],
                         np.random.default_rng(5), 200_000)
    assert abs(m - ols) < Z_MAX * se
    loud = Setting.make(np.diag([1.0, 2.0, 3.0]), 30, sigma2=2.0)  # enough noise for the prior to matter
    assert bayes_risk(loud, rng=np.random.default_rng(6)).interval[1] < ols_risk(loud)  # Bayes beats OLS
    tiny = bayes_risk(Setting.make(np.diag([1.0, 2.0, 3.0]), 30, sigma2=1e-8), rng=np.random.default_rng(6))
    assert tiny.value / 1e-8 == pytest.approx(3 / 26, rel=5 * tiny.mc.stderr / tiny.value + 1e-6)
    with pytest.raises(InputError):
        ols_risk(Setting.make(np.eye(3), 4, sigma2=1))


def test_ridge_risk_is_bayes_risk_when_the_model_is_true_and_worse_otherwise():
    st = Setting.make(np.eye(4), 10, sigma2=0.5)
    b = bayes_risk(st, rng=np.random.default_rng(0))
    r = ridge_risk(st, Sigma_w_model=np.eye(4), sigma2_model=0.5, rng=np.random.default_rng(1))
    assert _z(b.value, b.mc.stderr, r.value, r.mc.stderr) < Z_MAX
    bad = ridge_risk(st, Sigma_w_model=np.eye(4), sigma2_model=5.0, rng=np.random.default_rng(1))
    assert bad.interval[0] > b.interval[1]


def test_dmmse_weights_brute_force_and_stable():
    rng = np.random.default_rng(3)
    pool = TaskPool(rng.standard_normal((6, 3)))
    X, y = rng.standard_normal((5, 4, 3)), rng.standard_normal((5, 4))
    brute = np.zeros((5, 3))
    for b in range(5):  # plain exponentials: the residuals are small here
        lik = np.array([np.exp(-np.sum((y[b] - X[b] @ w) ** 2) / (2 * 0.7)) for w in pool.W])
        brute[b] = lik @ pool.W / lik.sum()
    np.testing.assert_allclose(dmmse_posterior_mean(X, y, pool, 0.7), brute, rtol=1e-12, atol=1e-14)
    # tiny noise: plain exponentials underflow to 0/0; the logsumexp form picks the best-fitting task
    wq = dmmse_posterior_mean(X, y, pool, 1e-6)
    best = np.argmin(np.sum((y[:, :, None] - X @ pool.W.T) ** 2, axis=1), axis=1)
    np.testing.assert_allclose(wq, pool.W[best], atol=1e-12)
    # no context: the pool mean
    np.testing.assert_allclose(dmmse_posterior_mean(np.zeros((2, 0, 3)), np.zeros((2, 0)), pool, 1.0),
                               np.tile(pool.mean, (2, 1)), rtol=1e-14)


def test_dmmse_is_bayes_on_the_pool():
    rng = np.random.default_rng(4)
    pool = TaskPool.gaussian(8, 3, rng)
    st = Setting.make(np.eye(3), 4, sigma2=0.25)
    dm = dmmse_risk(pool, st, rng=np.random.default_rng(1), samples=20_000)
    # independent: the same risk by direct simulation with brute-force weights
    m, se = _direct_risk(st, lambda X, y: dmmse_posterior_mean(X, y, pool, 0.25), np.random.default_rng(2),
                         100_000, tasks=lambda B: pool.W[np.random.default_rng(9).integers(0, 8, B)])
    assert _z(dm.value, dm.mc.stderr, m, se) < Z_MAX
    # the posterior mean beats ridge on pool tasks (ridge's risk there depends only on E w w^T)
    pst = Setting.make(np.eye(3), 4, Sigma_w=pool.second_moment, sigma2=0.25)
    rr = ridge_risk(pst, Sigma_w_model=np.eye(3), sigma2_model=0.25, rng=np.random.default_rng(3))
    assert dm.interval[1] < rr.interval[0]
    # K = 1: the posterior is a point mass, risk 0
    one = dmmse_risk(TaskPool(np.ones((1, 3))), st, rng=np.random.default_rng(0), samples=1000)
    assert one.value == 0.0


def _pool_prompts(pool, st, B, rng):
    d, n = st.d, st.n
    x = rng.standard_normal((B, n + 1, d))
    X, xq = x[:, :n], x[:, n]
    w = pool.sample(B, rng)
    y = np.einsum("bnd,bd->bn", X, w) + np.sqrt(st.sigma2) * rng.standard_normal((B, n))
    return build_prompts(X, y, xq), np.einsum("bd,bd->b", xq, w)


def test_pool_lsa_optimum_literal_forward_pass_and_moments():
    rng = np.random.default_rng(5)
    st = Setting.make(np.eye(3), 6, sigma2=0.25)
    base = TaskPool(rng.standard_normal((4, 3)) + np.array([1.5, 0.0, 0.0]))  # nonzero mean
    sym = TaskPool(np.vstack([base.W, -base.W]))  # same E w w^T, odd moments 0
    G, L, pst = pool_lsa_optimum(base, st)
    G2, L2, _ = pool_lsa_optimum(sym, st)
    np.testing.assert_allclose(G, G2, rtol=1e-12)  # only E w w^T enters the reduced family
    P, Q = OneLayer.params_from_gamma(G)
    res = {}
    for name, pool in (("base", base), ("sym", sym)):
        Z0, yq = _pool_prompts(pool, st, 200_000, np.random.default_rng(11))
        loss, dP, dQ = lsa_loss_and_grads(Z0, yq, [P], [Q])
        assert abs(loss.mean() - L) < Z_MAX * loss.std(ddof=1) / np.sqrt(loss.size)  # L* by the forward pass
        gb = dP[:, 0, 3, :3]  # d f / d b (last row of P, first d entries)
        res[name] = np.max(np.abs(gb.mean(0)) / (gb.std(0, ddof=1) / np.sqrt(gb.shape[0])))
    assert res["sym"] < Z_MAX  # stationary in b for a sign-symmetric pool
    assert res["base"] > 10  # not stationary when the pool has a mean: first moments enter the full space
    with pytest.raises(InputError):
        pool_lsa_optimum(TaskPool(np.ones((2, 3))), st)


def test_precond_bayes_flag(capsys):
    """``precond --bayes``: one row with the Bayes risk and the LSA excess, JSON key 'bayes', exit 2 when out of
    range. Expected values: the d = 1 quadrature against its own direct simulation above; here L* comes from
    Ahn's isotropic formula L* = 1 - n/(n + d + 1 + sigma2) (d = 1, Sigma = Sigma_w = 1)."""
    from iclcheck.cli import main

    assert main(["precond", "--cov", "eye:1", "-n", "7", "--noise", "1/2", "--bayes", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    L = 1 - 7 / (7 + 1 + 1 + 0.5)
    assert out["loss"] == pytest.approx(L, rel=1e-12)
    b = out["bayes"]
    assert b["exact"] and b["lsa_excess"] == pytest.approx(L - b["risk"], abs=1e-9)
    m, se = _direct_risk(Setting.make([[1]], 7, sigma2=0.5), lambda X, y: _ridge_dxd(X, y, np.eye(1), 0.5),
                         np.random.default_rng(8), 400_000)
    assert abs(b["risk"] - m) < Z_MAX * se
    assert main(["precond", "--cov", "eye:3", "-n", "9", "--noise", "1", "--bayes"]) == 0
    row = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Bayes risk")]
    assert len(row) == 1 and "99.9% CI" in row[0] and "LSA excess" in row[0]
    assert main(["precond", "--cov", "eye:21", "-n", "9", "--bayes"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--bayes" in err[0]


def test_pool_optimum_reduces_to_the_master_formula():
    """NEXT-CLAIMS §13: a pool whose second moment is exactly Sigma_w gives the master-formula optimum for Sigma_w
    (the pool {+-sqrt(d) e_i} has E w w^T = I exactly); and a large Gaussian pool approaches it at rate ~ K^(-1/2)."""
    d = 3
    st = Setting.make(np.diag([1.0, 2.0, 0.5]), 7, sigma2=0.3)
    pool = TaskPool(np.sqrt(d) * np.vstack([np.eye(d), -np.eye(d)]))
    G, L, _ = pool_lsa_optimum(pool, st)
    one = OneLayer(st)
    np.testing.assert_allclose(G, one.gamma_star(), rtol=1e-12)
    assert L == pytest.approx(one.min_loss(), rel=1e-12)
    errs = [np.max(np.abs(pool_lsa_optimum(TaskPool.gaussian(K, d, np.random.default_rng(K)), st)[0]
                          - one.gamma_star())) for K in (100, 10_000)]
    assert errs[1] < errs[0] / 3  # 100x more tasks: ~10x closer (a factor 3 leaves room for the draw)


def test_noise_free_rademacher_counts_rank_deficient_designs():
    """sigma2 = 0, d = 2, n = 3 Rademacher rows: w is identified unless all rows are parallel (probability 1/4), and
    then the posterior covariance is I - r r^T / |r|^2 (trace 1): R_Bayes = 1/4 exactly (a counting argument)."""
    est = bayes_risk(Setting.make(np.eye(2), 3, sigma2=0, covariates="rademacher"), rng=np.random.default_rng(0),
                     samples=40_000)
    assert not est.exact and est.mc.contains(0.25)
