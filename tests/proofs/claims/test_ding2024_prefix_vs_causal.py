"""ding2024.prefix_vs_causal: the causal and prefix limits against an independent route, a per-token loop of the
GD construction's updates (u_j <- u_j + eta c_j sum_{i <= j} (y_i - x_i^T u_i) x_i), without numerics.model.lsa."""

import numpy as np
import pytest

from iclcheck.numerics.families.restricted import causal_limit
from iclcheck.proofs.verdict import Verdict


def test_verdict(claim_result):
    res = claim_result("ding2024.prefix_vs_causal")
    assert res.verdict is Verdict.CONFIRMED
    assert res.provenance == "READ+3P+READ-code" and "theory_plots.py" in res.finding
    # the gap is not attributed to label noise alone: the authors' noiseless, non-centred setting is checked
    assert "non-centred" in res.finding and "only centred inputs without noise recover w" in res.finding
    step = next(s for s in res.steps if s.name.startswith("no label noise, the authors' inputs"))
    assert step.status.value == "pass"


def token_loop(X, y, eta, layers, *, causal, mean):
    n, d = X.shape
    U = np.zeros((n, d))  # per-token iterates
    uq = np.zeros(d)
    for _ in range(layers):
        r = y - np.einsum("jd,jd->j", X, U)  # residuals of the current layer, every token at once
        newU = U.copy()
        for j in range(n):
            keys = range(j + 1) if causal else range(n)
            c = 1.0 / (j + 1) if (causal and mean) else 1.0 / n
            newU[j] += eta * c * sum(r[i] * X[i] for i in keys)
        uq = uq + eta / n * X.T @ r
        U = newU
    return U, uq


@pytest.mark.parametrize("mean", [False, True])
def test_causal_limit_by_a_token_loop(mean):
    rng = np.random.default_rng(2308)
    n, d = 7, 2
    X = rng.standard_normal((n, d))
    X *= rng.uniform(0.7, 1.3, size=(n, 1)) / np.linalg.norm(X, axis=1, keepdims=True)  # |x_j| in [0.7, 1.3]
    y = X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n)
    c = 1.0 / np.arange(1, n + 1) if mean else np.full(n, 1.0 / n)
    kd = c * np.sum(X**2, axis=1)
    eta = 2.0 / (kd.min() + kd.max())
    rho_diag = np.max(np.abs(1 - eta * kd))
    U, uq = token_loop(X, y, eta, int(np.log(1e-14) / np.log(rho_diag)) + 100, causal=True, mean=mean)
    np.testing.assert_allclose(np.einsum("jd,jd->j", X, U), y, atol=1e-9)  # each token fits its own example
    u_limit, rho = causal_limit(X, y, eta, mean=mean)
    assert rho < 1
    np.testing.assert_allclose(uq, u_limit, rtol=1e-9, atol=1e-12)
    w_ols = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.linalg.norm(uq - w_ols) > 1e-3  # not least squares


def test_prefix_loop_reaches_least_squares():
    rng = np.random.default_rng(2309)
    n, d = 9, 3
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    eta = 1.0 / np.linalg.eigvalsh(X.T @ X / n).max()
    _, uq = token_loop(X, y, eta, 400, causal=False, mean=False)
    np.testing.assert_allclose(uq, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-9, atol=1e-12)


def authors_stationary(x, y):
    """The authors' loop (google-research/causallm_icl, theory_plots.py, draw_autoregressive_stationary), for one
    prompt: a_j = (y_j - sum_{i<j} a_i x_i^T x_j) / x_j^T x_j; the query's weight vector sum_i a_i x_i."""
    xtx = x @ x.T
    a = np.zeros(len(y))
    for j in range(len(y)):
        a[j] = (y[j] - sum(a[i] * xtx[i, j] for i in range(j))) / xtx[j, j]
    return x.T @ a


@pytest.mark.parametrize("mu", [0, 3])
def test_authors_recursion_equals_the_causal_limit_and_the_gap_without_noise(mu):
    rng = np.random.default_rng(40 + mu)
    n, d = 120, 16
    x = rng.uniform(size=(n, d)) * 2.0 + (mu - 1)  # the authors' U(o, o+2), o = mu - 1
    w = rng.standard_normal(d)
    y = x @ w  # noiseless, as in the authors' figure
    u_auth = authors_stationary(x, y)
    np.testing.assert_allclose(causal_limit(x, y, 0.04)[0], u_auth, rtol=1e-8, atol=1e-10)  # eta absorbed: any eta
    rel = np.sum((u_auth - w) ** 2) / np.sum(w * w)
    if mu == 0:
        assert rel < 1e-3  # centred: online GD (Kaczmarz) has converged after 120 examples
    else:
        assert rel > 1e-2  # non-centred: it has not, although the data are noiseless
