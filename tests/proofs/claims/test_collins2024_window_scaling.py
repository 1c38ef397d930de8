"""collins2024.window_scaling: confirmed (two seeds); the Nadaraya-Watson read-out against the literal forward pass and
its two window limits (omega = 0: the context mean; omega large: the nearest neighbour's label)."""

import numpy as np
import pytest

from iclcheck.numerics.attention.kernel_attention import head_outputs, predict
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.proofs.verdict import Verdict


@pytest.mark.parametrize("seed", [0, 3])
def test_confirmed(claim_result, seed):
    r = claim_result("collins2024.window_scaling", seed=seed)
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_read_out_and_window_limits():
    rng = np.random.default_rng(5)  # seed 0 puts two context points 0.3 degrees apart
    X = rng.standard_normal((3, 7, 2))
    X /= np.linalg.norm(X, axis=-1, keepdims=True)
    y, xq = rng.standard_normal((3, 7)), X[:, 0].copy()  # the query is context point 0: a unique nearest neighbour
    H = head_outputs(X, y, xq, [0.0, 3.0, 1e5])
    Ps, Qs = np.zeros((1, 3, 3)), np.zeros((1, 3, 3))
    Ps[0, 2, 2], Qs[0, :2, :2] = -1.0, 3.0 * np.eye(2)
    np.testing.assert_allclose(H[:, 1], predict("softmax", build_prompts(X, y, xq), Ps, Qs), rtol=1e-12)
    np.testing.assert_allclose(H[:, 0], y.mean(1), rtol=1e-12)
    nearest = np.argmax(np.einsum("bnd,bd->bn", X, xq), axis=1)
    np.testing.assert_allclose(H[:, 2], y[np.arange(3), nearest], rtol=1e-6)
