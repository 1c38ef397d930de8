"""numerics.model.lsa: every variant's VJP against central finite differences (one row per variant, its own
tolerance and seed), the linear variant against the exact one-layer loss, the multilayer signature."""

import numpy as np
import pytest

from iclcheck.numerics.model.forward import sample_prompts
from iclcheck.numerics.model.lsa import LSA, SCORES, forward, loss_and_grads, lsa_loss_and_grads, vjp
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

# (id, model, heads, mlp width, D, n, seed, rtol). Central differences with h = 1e-6 on O(1) data:
# truncation O(h^2 f''') ~ 1e-12 and rounding O(eps f / h) ~ 1e-10 relative; rtol 1e-6 leaves margin.
# ReLU rows: a kink within h of a sampled score has probability ~1e-6 per entry (seeded, fixed).
# softmax: exp of O(1) scores, same margins.
GRAD_CASES = [
    ("linear", LSA(L=3), 1, 0, 4, 5, 0, 1e-6),
    ("linear-nomask", LSA(L=2, mask=False), 1, 0, 3, 4, 1, 1e-6),
    ("linear-tied", LSA(L=3, tied=True), 1, 0, 3, 5, 2, 1e-6),
    ("linear-2heads-mlp", LSA(L=2, mlp=True), 2, 5, 4, 4, 3, 1e-6),
    ("linear-reassociated-2heads-mlp", LSA(L=2, mlp=True, reassociate=True), 2, 3, 4, 5, 8, 1e-6),
    ("linear-reassociated-nomask-tied", LSA(L=3, mask=False, tied=True, reassociate=True), 1, 0, 3, 4, 9, 1e-6),
    ("relu", LSA(L=2, score="relu"), 1, 0, 4, 6, 4, 1e-6),
    ("relu-nomask-mlp-tied", LSA(L=2, score="relu", mask=False, mlp=True, tied=True), 2, 3, 3, 5, 5, 1e-6),
    ("softmax", LSA(L=2, score="softmax"), 1, 0, 4, 5, 6, 1e-6),
    ("softmax-nomask-2heads", LSA(L=2, score="softmax", mask=False), 2, 0, 3, 4, 7, 1e-6),
    ("linear-causal-2heads", LSA(L=3, mask="causal"), 2, 0, 3, 5, 10, 1e-6),
    ("relu-causal-mean-mlp", LSA(L=2, score="relu", mask="causal-mean", mlp=True), 1, 3, 3, 5, 11, 1e-6),
    ("exp", LSA(L=2, score="exp"), 1, 0, 4, 5, 13, 1e-6),
    ("exp-query-as-key-3heads", LSA(L=2, score="exp", mask=False), 3, 0, 3, 4, 14, 1e-6),
    ("exp-causal-tied", LSA(L=2, score="exp", mask="causal", tied=True), 1, 0, 3, 4, 15, 1e-6),
    ("softmax-3heads-mlp-tied", LSA(L=2, score="softmax", mlp=True, tied=True), 3, 3, 3, 5, 16, 1e-6),
]


def test_every_variant_has_a_gradient_row():
    assert {m.score for _, m, *_ in GRAD_CASES} == set(SCORES)


@pytest.mark.parametrize("name,model,H,m,D,n,seed,rtol", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_vjp_matches_central_differences(name, model, H, m, D, n, seed, rtol):
    rng = np.random.default_rng(seed)
    L1 = 1 if model.tied else model.L
    params = {"Ps": rng.standard_normal((L1, H, D, D)) * 0.5, "Qs": rng.standard_normal((L1, H, D, D)) * 0.5}
    if model.mlp:
        params.update(W1s=rng.standard_normal((L1, m, D)) * 0.5, W2s=rng.standard_normal((L1, D, m)) * 0.5)
    Z0 = rng.standard_normal((3, D, n + 1))
    C = rng.standard_normal((3, D, n + 1))  # the loss <C, Z_L> tests every entry of the pull-back

    def f(p, Z):
        return float(np.sum(C * forward(model, Z, **p)))

    _, cache = forward(model, Z0, **params, keep=True)
    g = vjp(cache, C)
    h = 1e-6
    for key, arr in list(params.items()) + [("Z0", Z0)]:
        num = np.zeros(arr.size)
        for k in range(arr.size):
            e = np.zeros(arr.size)
            e[k] = h
            up, dn = dict(params), dict(params)
            Zu, Zd = Z0, Z0
            if key == "Z0":
                Zu, Zd = Z0 + e.reshape(Z0.shape), Z0 - e.reshape(Z0.shape)
            else:
                up[key], dn[key] = arr + e.reshape(arr.shape), arr - e.reshape(arr.shape)
            num[k] = (f(up, Zu) - f(dn, Zd)) / (2 * h)
        np.testing.assert_allclose(g[key].ravel(), num, rtol=rtol, atol=rtol * np.max(np.abs(num)), err_msg=key)


@pytest.mark.parametrize("mask", [True, False])
def test_reassociated_forward_equals_the_literal_one(mask):
    rng = np.random.default_rng(12)
    Ps, Qs = rng.standard_normal((3, 2, 5, 5)) * 0.4, rng.standard_normal((3, 2, 5, 5)) * 0.4
    W1, W2 = rng.standard_normal((3, 4, 5)) * 0.4, rng.standard_normal((3, 5, 4)) * 0.4
    Z0 = rng.standard_normal((7, 5, 9))
    lit = forward(LSA(L=3, mask=mask, mlp=True), Z0, Ps, Qs, W1, W2)
    re = forward(LSA(L=3, mask=mask, mlp=True, reassociate=True), Z0, Ps, Qs, W1, W2)
    np.testing.assert_allclose(re, lit, rtol=1e-12, atol=1e-12 * np.abs(lit).max())


def test_per_prompt_gradients_sum_to_the_batch_gradient():
    rng = np.random.default_rng(11)
    model = LSA(L=2, score="relu", mlp=True)
    Ps, Qs = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((2, 2, 4, 4))
    W1, W2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 3))
    Z0, yq = rng.standard_normal((5, 4, 7)), rng.standard_normal(5)
    lb, _, gb = loss_and_grads(model, Z0, yq, Ps, Qs, W1, W2)
    lp, _, gp = loss_and_grads(model, Z0, yq, Ps, Qs, W1, W2, per_prompt=True)
    assert lb == pytest.approx(lp.mean(), rel=1e-14)
    for k in ("Ps", "Qs", "W1s", "W2s"):
        np.testing.assert_allclose(gp[k].mean(axis=0), gb[k], rtol=1e-12, atol=1e-14)


def test_linear_variant_matches_the_exact_one_layer_loss():
    # Monte Carlo mean of (TF - y_q)^2 through lsa.forward at a random (P, Q) must hold the closed form
    # numerics.one_layer.closed_form.OneLayer.loss in its 99.9% interval (non-isotropic Sigma, noise, uniform law).
    rng = np.random.default_rng(21)
    A = rng.standard_normal((3, 3))
    st = Setting.make(A @ A.T / 3 + np.eye(3), 6, sigma2=0.3, covariates="uniform")
    P, Q = rng.standard_normal((4, 4)) * 0.5, rng.standard_normal((4, 4)) * 0.5
    exact = OneLayer(st).loss(P, Q)
    vals = []
    for _ in range(10):
        pr = sample_prompts(st, 20_000, rng)
        loss, _, _ = loss_and_grads(LSA(L=1), pr.Z0, pr.yq, P[None], Q[None], grad=False, per_prompt=True)
        vals.append(loss)
    v = np.concatenate(vals)
    half = 3.2905 * v.std(ddof=1) / np.sqrt(v.size)  # 99.9% normal interval
    assert abs(v.mean() - exact) < half, (v.mean(), exact, half)


def test_one_prompt_by_hand():
    # d = 1, n = 1: Z0 = [[x, xq], [y, 0]], P = e e^T, Q = -[[g, 0], [0, 0]]: TF = (1/n) g x y xq.
    x, y, xq, g = 2.0, 3.0, 0.5, 0.7
    Z0 = np.array([[[x, xq], [y, 0.0]]])
    P = np.array([[[0.0, 0.0], [0.0, 1.0]]])
    Q = np.array([[[-g, 0.0], [0.0, 0.0]]])
    ZL = forward(LSA(L=1), Z0, P, Q)
    assert -ZL[0, 1, 1] == pytest.approx(g * x * y * xq, rel=1e-15)


def test_multilayer_signature_per_prompt_against_central_differences():
    # lsa_loss_and_grads has numerics.families's signature: (Z0, yq, Ps, Qs) -> loss (B,), dP, dQ (B, L, D, D);
    # prompt b's gradient is checked against central differences of prompt b's loss alone.
    rng = np.random.default_rng(3)
    st = Setting.make(np.diag([1.0, 2.0]), 4)
    pr = sample_prompts(st, 4, rng)
    Ps, Qs = rng.standard_normal((3, 3, 3)) * 0.5, rng.standard_normal((3, 3, 3)) * 0.5
    loss, dP, dQ = lsa_loss_and_grads(pr.Z0, pr.yq, list(Ps), list(Qs))
    assert loss.shape == (4,) and dP.shape == (4, 3, 3, 3) and dQ.shape == (4, 3, 3, 3)
    h = 1e-6
    for b in range(4):
        for which, arr, g in (("P", Ps, dP), ("Q", Qs, dQ)):
            num = np.zeros(arr.size)
            for k in range(arr.size):
                e = np.zeros(arr.size)
                e[k] = h
                e = e.reshape(arr.shape)
                args_u = (Ps + e, Qs) if which == "P" else (Ps, Qs + e)
                args_d = (Ps - e, Qs) if which == "P" else (Ps, Qs - e)
                num[k] = (lsa_loss_and_grads(pr.Z0, pr.yq, *args_u)[0][b]
                          - lsa_loss_and_grads(pr.Z0, pr.yq, *args_d)[0][b]) / (2 * h)
            np.testing.assert_allclose(g[b].ravel(), num, rtol=1e-6, atol=1e-6 * np.max(np.abs(num)))


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError):
        LSA(L=0)
    with pytest.raises(InputError):
        LSA(L=1, score="tanh")
    with pytest.raises(InputError):
        LSA(L=1, score="relu", reassociate=True)
    with pytest.raises(InputError):
        forward(LSA(L=2), np.zeros((1, 3, 4)), np.zeros((1, 3, 3)), np.zeros((1, 3, 3)))


def test_causal_mask_by_hand():
    """One linear layer, causal masks, checked entry by entry against explicit sums over the visible keys."""
    rng = np.random.default_rng(12)
    D, n = 3, 4
    Z0 = rng.standard_normal((1, D, n + 1))
    P, Q = rng.standard_normal((1, D, D)), rng.standard_normal((1, D, D))
    for mask, mean in (("causal", False), ("causal-mean", True)):
        got = forward(LSA(L=1, mask=mask), Z0, P, Q)[0]
        Z = Z0[0]
        for i in range(n + 1):
            keys = range(n) if i == n else range(i + 1)
            c = (len(keys) if mean else n)
            want = Z[:, i] + sum(P[0] @ Z[:, j] * (Z[:, j] @ Q[0] @ Z[:, i]) for j in keys) / c
            np.testing.assert_allclose(got[:, i], want, rtol=1e-12, atol=1e-12)
    with pytest.raises(InputError):
        LSA(L=1, mask="causal", score="softmax")
    with pytest.raises(InputError):
        LSA(L=1, mask="sideways")
