"""numerics.dynamics.cot: the GD construction rolled out = GD (a loop written here), the teacher-forced gradient against central
differences, and Adam on the full (P, Q) teacher-forced on GD iterates learning a layer whose free rollout is GD."""

import numpy as np
import pytest

from iclcheck.numerics.dynamics.cot import (
    gd_iterates,
    gd_params,
    rollout,
    teacher_forced_loss_grad,
    train_cot,
)
from iclcheck.theory.errors import InputError


def _prompts(rng, B, n, d):
    X = rng.standard_normal((B, n, d))
    return X, np.einsum("bnd,bd->bn", X, rng.standard_normal((B, d)))


def test_gd_construction_rolls_out_gd():
    rng = np.random.default_rng(1)
    d, n, eta, k = 3, 8, 0.4, 5
    X, y = _prompts(rng, 16, n, d)
    w = np.zeros((16, d))
    for _ in range(k):  # the iteration written out
        w = w - eta * np.einsum("bni,bn->bi", X, np.einsum("bni,bi->bn", X, w) - y) / n
    P, Q = gd_params(d, eta)
    assert np.allclose(rollout(X, y, P, Q, k)[:, k], w, atol=1e-12)
    assert np.allclose(gd_iterates(X, y, eta, k)[:, k], w, atol=1e-12)


def test_teacher_forced_gradient_by_central_differences():
    rng = np.random.default_rng(2)
    d, n, k = 2, 5, 3
    D = 2 * d + 2
    P, Q = 0.3 * rng.standard_normal((D, D)), 0.3 * rng.standard_normal((D, D))
    X, y = _prompts(rng, 6, n, d)
    it = gd_iterates(X, y, 0.5, k)
    _, dP, dQ = teacher_forced_loss_grad(P, Q, X, y, it)
    h = 1e-6
    for (i, j) in [(3, 1), (4, 0), (2, 5)]:
        E = np.zeros((D, D))
        E[i, j] = h
        fdP = (teacher_forced_loss_grad(P + E, Q, X, y, it)[0] - teacher_forced_loss_grad(P - E, Q, X, y, it)[0]) / (2 * h)
        fdQ = (teacher_forced_loss_grad(P, Q + E, X, y, it)[0] - teacher_forced_loss_grad(P, Q - E, X, y, it)[0]) / (2 * h)
        assert dP[i, j] == pytest.approx(fdP, rel=1e-6, abs=1e-8)
        assert dQ[i, j] == pytest.approx(fdQ, rel=1e-6, abs=1e-8)


def test_teacher_forced_training_learns_a_layer_whose_rollout_is_gd():
    rng = np.random.default_rng(0)
    d, n, k, eta = 3, 10, 3, 10 / 14
    P, Q, losses = train_cot(d, n, k, eta, steps=1200, batch=64, lr=3e-3, rng=rng)
    assert losses[-50:].mean() < 1e-2 * losses[:10].mean()
    X, y = _prompts(rng, 400, n, d)
    ro, gd = rollout(X, y, P, Q, k), gd_iterates(X, y, eta, k)
    for i in range(1, k + 1):  # free-running (autoregressive) rollout vs GD, on fresh prompts
        rel = np.mean(np.sum((ro[:, i] - gd[:, i]) ** 2, axis=1)) / np.mean(np.sum(gd[:, i] ** 2, axis=1))
        assert rel < 1e-2, (i, rel)


def test_rollout_shape_check():
    with pytest.raises(InputError, match="P, Q"):
        rollout(np.zeros((1, 4, 2)), np.zeros((1, 4)), np.zeros((3, 3)), np.zeros((3, 3)), 1)
