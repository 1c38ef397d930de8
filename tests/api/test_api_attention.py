"""iclcheck.loss with attention= and heads=: the route is named, the Monte Carlo value agrees with an independent
computation (the paired-head read-out from scores), two linear heads with a shared value row equal one merged head
(exact route), and bad input is an InputError."""

import numpy as np
import pytest

import iclcheck
from iclcheck.numerics.attention.kernel_attention import head_outputs
from iclcheck.theory.errors import InputError


def test_softmax_two_heads_route_and_value():
    st = iclcheck.setting(np.eye(2), 6, sigma2=0.1)
    D = 3
    P, Q = np.zeros((2, D, D)), np.zeros((2, D, D))
    Q[0, :2, :2], Q[1, :2, :2] = 0.7 * np.eye(2), -0.7 * np.eye(2)
    P[0, 2, 2], P[1, 2, 2] = -1.5, 1.5
    r = iclcheck.loss(st, P, Q, attention="softmax", heads=2, samples=40_000, seed=1)
    assert not r.exact and "attention=softmax, 2 heads" in r.method and "no exact route" in r.method
    lo, hi = r.interval
    rng = np.random.default_rng(5)  # independent draws, read-out from the scores only
    X, xq = rng.standard_normal((200_000, 6, 2)), rng.standard_normal((200_000, 2))
    w = rng.standard_normal((200_000, 2))
    y = np.einsum("bnd,bd->bn", X, w) + np.sqrt(0.1) * rng.standard_normal((200_000, 6))
    H = head_outputs(X, y, xq, [0.7, -0.7])
    e = (1.5 * (H[:, 0] - H[:, 1]) - np.einsum("bd,bd->b", xq, w)) ** 2
    half = 3.29 * e.std(ddof=1) / np.sqrt(e.size)
    assert lo - half <= e.mean() <= hi + half  # two 99.9% intervals overlap


def test_linear_heads_sharing_the_value_row_equal_one_merged_head():
    st = iclcheck.setting([[1, 0], [0, 2]], 5)
    rng = np.random.default_rng(2)
    P = np.zeros((2, 3, 3))
    P[:, 2, 2] = 1.0
    Q = rng.standard_normal((2, 3, 3)) * 0.3
    merged = iclcheck.loss(st, P[0], Q.sum(0))
    assert merged.exact
    mc = iclcheck.loss(st, P, Q, heads=2, samples=100_000, seed=3)
    assert "1 layer" in mc.method and mc.interval[0] <= merged.value <= mc.interval[1]


def test_bad_attention_inputs():
    st = iclcheck.setting(np.eye(2), 4)
    with pytest.raises(InputError, match="attention"):
        iclcheck.loss(st, np.zeros((3, 3)), np.zeros((3, 3)), attention="tanh")
    with pytest.raises(InputError, match="heads"):
        iclcheck.loss(st, np.zeros((3, 3)), np.zeros((3, 3)), attention="softmax", heads=0)
    with pytest.raises(InputError, match="shape"):
        iclcheck.loss(st, np.zeros((3, 3)), np.zeros((3, 3)), attention="softmax", heads=2)
