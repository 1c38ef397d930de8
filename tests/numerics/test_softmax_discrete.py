"""numerics.attention.softmax_discrete: the binomial-sum loss against brute-force enumeration of every context (independent of
the multinomial moment formula), its derivative against central differences, input errors."""

import itertools

import numpy as np
import pytest

from iclcheck.numerics.attention import softmax_discrete as sd
from iclcheck.theory.errors import InputError


def brute(q, p, n, k):
    # every context c in K^n with its probability; E_w over w ~ N(0, I): ((n - c_k)^2 + sum_j m_j^2) / Z^2
    total = 0.0
    for ctx in itertools.product(range(p.size), repeat=n):
        prob = float(np.prod(p[list(ctx)]))
        m = np.bincount(ctx, minlength=p.size)
        ck = m[k]
        Z = ck * np.exp(q) + n - ck
        total += prob * ((n - ck) ** 2 + np.sum(np.delete(m, k) ** 2)) / Z**2
    return total


@pytest.mark.parametrize("k", [0, 1, 2])
def test_binomial_sum_equals_enumeration(k):
    p = np.array([0.5, 0.3, 0.2])
    for q in (-0.7, 0.0, 1.3):
        assert sd.feature_loss(q, p, 4, k) == pytest.approx(brute(q, p, 4, k), rel=1e-12)


def test_gradient_by_central_differences():
    p = np.array([0.6, 0.2, 0.1, 0.1])
    h = 1e-6
    for q in (0.0, 0.9):
        num = (sd.feature_loss(q + h, p, 10, 1) - sd.feature_loss(q - h, p, 10, 1)) / (2 * h)
        assert sd.feature_loss_grad(q, p, 10, 1) == pytest.approx(num, rel=1e-7)


def test_bad_inputs():
    with pytest.raises(InputError):
        sd.loss(0.0, [0.5, 0.6], 3)
    with pytest.raises(InputError):
        sd.loss(0.0, [0.5, 0.5], 0)
