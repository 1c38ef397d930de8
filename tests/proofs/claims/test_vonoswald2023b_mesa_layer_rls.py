"""vonoswald2023b.mesa_layer_rls: confirmed (two seeds); the mesa layer equals ridge computed by another route (an
augmented least-squares problem [K_t; sqrt(lambda) I] W^T = [V_t; 0] solved by scipy's lstsq), and the
recursion's R_t is the inverse Gram matrix."""

import numpy as np
import pytest
from scipy import linalg

from iclcheck.numerics.autoregressive import mesa_layer, sample_ar
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.errors import InputError


@pytest.mark.parametrize("seed", [0, 3])
def test_confirmed(claim_result, seed):
    r = claim_result("vonoswald2023b.mesa_layer_rls", seed=seed)
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


@pytest.mark.parametrize("lam", [0.05, 1.0, 7.0])
def test_mesa_layer_is_augmented_least_squares(lam):
    rng = np.random.default_rng(11)
    B, T, dk, dv = 3, 15, 4, 2
    K, V, Q = rng.standard_normal((B, T, dk)), rng.standard_normal((B, T, dv)), rng.standard_normal((B, T, dk))
    out = mesa_layer(K, V, Q, lam)
    for b in range(B):
        for t in range(T):
            A = np.vstack([K[b, : t + 1], np.sqrt(lam) * np.eye(dk)])  # (t+1+dk, dk)
            rhs = np.vstack([V[b, : t + 1], np.zeros((dk, dv))])  # (t+1+dk, dv)
            Wt = linalg.lstsq(A, rhs)[0].T  # (dv, dk)
            np.testing.assert_allclose(out[b, t], Wt @ Q[b, t], rtol=1e-9, atol=1e-11)


def test_mesa_layer_on_the_ar_task_predicts_near_the_noise_floor():
    # with many pairs and a small lambda, ridge recovers W*: the next-token risk approaches d sigma2
    rng = np.random.default_rng(5)
    S, _ = sample_ar(400, 60, 3, rng, sigma2=0.01)
    pred = mesa_layer(S[:, :-2], S[:, 1:-1], S[:, 1:-1], 0.01)[:, -1]
    risk = np.mean(np.sum((S[:, -1] - pred) ** 2, axis=1))
    assert 0.03 * 0.9 < risk < 0.03 * 1.3, risk  # d sigma2 = 0.03 plus an O(d/T) estimation excess


def test_bad_lambda_is_an_input_error():
    with pytest.raises(InputError):
        mesa_layer(np.zeros((1, 2, 2)), np.zeros((1, 2, 1)), np.zeros((1, 2, 2)), 0.0)
