"""numerics.attention.kernel_attention: the literal forward pass of numerics.model.lsa with functional-GD weights equals the
functional-GD iterates computed from kernel matrices (every kernel, random data, 1e-12); the linear kernel is
plain GD (numerics.algorithms.reference.gd); the closed form and its ridgeless limit; heads with their own maps."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iclcheck.numerics.algorithms.reference import gd
from iclcheck.numerics.attention.kernel_attention import (
    ATTENTION,
    functional_gd,
    functional_gd_closed_form,
    functional_gd_weights,
    merge_heads,
    paired_heads,
    predict,
)
from iclcheck.numerics.attention.kernels import kernel_matrix, kernel_regression
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.theory.errors import InputError


def _data(rng, B, n, d):
    X = rng.standard_normal((B, n, d)) / np.sqrt(d)
    return X, rng.standard_normal((B, n)), rng.standard_normal((B, d)) / np.sqrt(d)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(ATTENTION), n=st.integers(1, 9), d=st.integers(1, 4),
       L=st.integers(1, 4))
def test_forward_pass_is_functional_gd(seed, kind, n, d, L):
    rng = np.random.default_rng(seed)
    X, y, xq = _data(rng, 3, n, d)
    etas, b = rng.uniform(0.1, 1.0, L), rng.uniform(0.5, 1.3, L)
    Ps, Qs = functional_gd_weights(d, etas, b=b)
    got = predict(kind, build_prompts(X, y, xq), Ps, Qs)
    want = functional_gd(kind, X, y, xq, etas, b=b)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * (1 + np.abs(want).max()))


def test_linear_kernel_is_plain_gd():
    # f_l(x) = w_l^T x with w_l the GD iterates on (1/2n)||Xw - y||^2 from 0 (numerics.algorithms.reference.gd)
    rng = np.random.default_rng(1)
    X, y, xq = _data(rng, 5, 6, 3)
    for L in (1, 3):
        w = np.stack([gd(X[b], y[b], eta=0.7, steps=L) for b in range(5)])
        np.testing.assert_allclose(functional_gd("linear", X, y, xq, [0.7] * L), np.einsum("bd,bd->b", w, xq),
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["linear", "relu", "exp"])
def test_closed_form_and_ridgeless_limit(kind):
    rng = np.random.default_rng(2)
    X, y, xq = _data(rng, 4, 5, 6)  # n < d: the linear kernel matrix is non-singular
    K = kernel_matrix(kind, X)
    kq = kernel_matrix(kind, X, xq[:, None, :])[..., 0]
    np.testing.assert_allclose(functional_gd_closed_form(K, kq, y, 0.9, 6), functional_gd(kind, X, y, xq, [0.9] * 6),
                               rtol=1e-11, atol=1e-12)
    lam_max = np.linalg.eigvalsh(K).max(axis=-1)
    eta = 5 / lam_max.max()  # 0 < eta lambda / n < 2 for every prompt (n = 5)
    lim = kernel_regression(K, kq, y)
    far = functional_gd_closed_form(K, kq, y, eta, 20_000)
    lam_min = np.linalg.eigvalsh(K).min()
    if kind != "relu" or lam_min > 1e-3:  # the ReLU kernel may be singular or indefinite
        np.testing.assert_allclose(far, lim, rtol=1e-6, atol=1e-8)


def test_heads_with_their_own_maps_by_hand():
    # One layer, two heads with K, Q, V, O of rank 2: the prediction is a sum over heads and keys of
    # (O V z_i)_{last} exp(<K z_i, Q z_q>) / n, checked token by token.
    rng = np.random.default_rng(3)
    d, n, H, r = 2, 4, 2, 2
    D = d + 1
    K, Q, V = (rng.standard_normal((1, H, r, D)) * 0.5 for _ in range(3))
    O = rng.standard_normal((1, H, D, r)) * 0.5
    X, y, xq = _data(rng, 1, n, d)
    Z = build_prompts(X, y, xq)[0]
    want = 0.0
    for h in range(H):
        for i in range(n):
            want += (O[0, h] @ V[0, h] @ Z[:, i])[-1] * np.exp((K[0, h] @ Z[:, i]) @ (Q[0, h] @ Z[:, n])) / n
    Ps, Qs = merge_heads(K, Q, V, O)
    assert predict("exp", Z[None], Ps, Qs)[0] == pytest.approx(-want, rel=1e-12)


def test_paired_heads_by_hand():
    rng = np.random.default_rng(4)
    X, y, xq = _data(rng, 3, 6, 2)
    omega, mu = 0.4, 1.3
    a = np.einsum("bnd,bd->bn", X, xq)
    p = np.exp(omega * a) / np.exp(omega * a).sum(-1, keepdims=True)
    m = np.exp(-omega * a) / np.exp(-omega * a).sum(-1, keepdims=True)
    want = mu * np.sum(y * (p - m), axis=-1)
    np.testing.assert_allclose(predict("softmax", build_prompts(X, y, xq), *paired_heads(2, omega, mu)), want,
                               rtol=1e-12)


def test_query_as_a_key_changes_the_prediction():
    rng = np.random.default_rng(5)
    X, y, xq = _data(rng, 2, 4, 3)
    Ps, Qs = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 4))
    Z = build_prompts(X, y, xq)
    assert not np.allclose(predict("exp", Z, Ps * 0.3, Qs * 0.3), predict("exp", Z, Ps * 0.3, Qs * 0.3, mask=False))


def test_unknown_attention_is_an_input_error():
    with pytest.raises(InputError, match="attention"):
        functional_gd("tanh", np.zeros((1, 2, 1)), np.zeros((1, 2)), np.zeros((1, 1)), [1.0])
